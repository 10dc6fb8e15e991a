import type { Chunk } from 'luaparse';
import { SaxesParser } from 'saxes';
import { checkRcss, parseLua } from './content.js';
import { capFindings, finding, type Finding } from './findings.js';
import { LineIndex } from './lines.js';

/**
 * RML is XML-like markup (RmlUi): well-formed elements, the entities RmlUi knows, and two "CDATA
 * tags", <script> and <style>, whose content is raw Lua and RCSS. That content is cut out before
 * the markup is parsed (a Lua `a < b` is not markup) and checked as Lua and RCSS in its own right;
 * so are `on*` event attributes, which run as Lua too. Everything found is handed to the tier 3
 * analysis, so an inline script cannot hide what a .lua file could not.
 */

export interface RmlCheck {
  findings: Finding[];
  /** Parsed inline <script> blocks and `on*` attributes, at their real lines. */
  scripts: Chunk[];
  /** Attribute values and inline RCSS strings/url()s, for the URL checks. */
  literals: { text: string; line: number }[];
}

// RmlUi's named character references (the XML five are built into saxes).
const RML_ENTITIES = { nbsp: '\u00a0' };
// `[^<>]*`, not `[^>]*`: a run of `<script` with no `>` must not make every match scan to the end.
const CDATA_TAG = /<(script|style)(?=[\s/>])[^<>]*>/gi;
const SKIPPED = /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)/g;
const MAX_MARKUP_ERRORS = 100;
class TooManyErrors extends Error {}
/**
 * Inline scripts, styles and event handlers checked per file. Each is parsed on its own, so their
 * number, not only their size, sets the cost; a real document has a handful, and code in that
 * quantity belongs in .lua and .rcss files, where it is checked as a whole.
 */
export const MAX_INLINE_CODE = 1000;
const SCRIPT_END = /<\/script\s*>/gi;
const STYLE_END = /<\/style\s*>/gi;
const EVENT_ATTRIBUTE = /^on[a-z]/i;
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

interface Embedded {
  tag: 'script' | 'style';
  content: string;
  line: number;
}

export function checkRml(bytes: Buffer, file: string): RmlCheck {
  const result: RmlCheck = { findings: [], scripts: [], literals: [] };
  const malformed = (message: string, line?: number) => {
    result.findings.push(finding('rml_malformed', line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`, line === undefined ? { file } : { file, line }));
    return result;
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return malformed('is not UTF-8 text');
  }

  const cut = cutEmbedded(text);
  if ('unclosed' in cut) return malformed(`<${cut.unclosed.tag}> is never closed`, cut.unclosed.line);

  const markup = parseMarkup(cut.markup);
  if (markup.error !== null) malformed(markup.error.message, markup.error.line);
  let inline = 0;
  for (const attribute of markup.attributes) {
    result.literals.push({ text: attribute.value, line: attribute.line });
    // Event handlers run as Lua. One that does not parse is an error, not something to skip:
    // otherwise code our parser cannot read (but Lua might) would escape the analysis.
    if (EVENT_ATTRIBUTE.test(attribute.name) && ++inline <= MAX_INLINE_CODE) {
      const lua = parseLua(Buffer.from(attribute.value, 'utf8').toString('latin1'), file, attribute.line);
      if (lua.ok) result.scripts.push(lua.chunk);
      else result.findings.push(lua.finding);
    }
  }

  for (const script of markup.scriptSources) {
    if (!URL_SCHEME.test(script.src)) continue;
    const message = `${file}:${script.line}: <script src="${script.src}"> loads code from outside the package, which cannot be checked`;
    result.findings.push(finding('lua_dynamic_code', message, { file, line: script.line }));
  }

  for (const embedded of cut.embedded) {
    if (embedded.content.trim() === '' || ++inline > MAX_INLINE_CODE) continue;
    if (embedded.tag === 'style') {
      const rcss = checkRcss(embedded.content, file, embedded.line);
      result.findings.push(...rcss.findings);
      result.literals.push(...rcss.literals);
      continue;
    }
    const lua = parseLua(Buffer.from(embedded.content, 'utf8').toString('latin1'), file, embedded.line);
    if (lua.ok) result.scripts.push(lua.chunk);
    else result.findings.push(lua.finding);
  }
  // Blocking, so the code past the limit, which was not analysed, cannot reach a device unseen.
  if (inline > MAX_INLINE_CODE) malformed(`has ${inline} inline scripts, styles and event handlers; at most ${MAX_INLINE_CODE} are checked, so move the code into .lua and .rcss files`);
  result.findings = capFindings(result.findings);
  return result;
}

/**
 * Blanks out the content of <script> and <style> (keeping line breaks) and returns it separately.
 * One pass: comments/CDATA sections and tags are both found in text order, so whether a tag sits in
 * a skipped section is known by walking the two lists together, and lines come from one index.
 */
function cutEmbedded(text: string): { markup: string; embedded: Embedded[] } | { unclosed: { tag: string; line: number } } {
  const lines = new LineIndex(text);
  const skipped = text.matchAll(SKIPPED);
  let section = skipped.next();
  const inSkipped = (offset: number) => {
    while (!section.done && section.value.index + section.value[0].length <= offset) section = skipped.next();
    return !section.done && section.value.index <= offset;
  };

  const embedded: Embedded[] = [];
  const markup: string[] = [];
  let copied = 0;
  CDATA_TAG.lastIndex = 0;
  for (let match = CDATA_TAG.exec(text); match !== null; match = CDATA_TAG.exec(text)) {
    if (inSkipped(match.index) || match[0].endsWith('/>')) continue;
    const tag = (match[1] ?? '').toLowerCase() as 'script' | 'style';
    const contentStart = match.index + match[0].length;
    const close = tag === 'script' ? SCRIPT_END : STYLE_END;
    close.lastIndex = contentStart;
    const end = close.exec(text);
    if (end === null) return { unclosed: { tag, line: lines.lineOf(match.index) } };
    const content = text.slice(contentStart, end.index);
    embedded.push({ tag, content, line: lines.lineOf(contentStart) });
    markup.push(text.slice(copied, contentStart), content.replace(/[^\n]/g, ' '));
    copied = end.index;
    CDATA_TAG.lastIndex = end.index;
  }
  markup.push(text.slice(copied));
  return { markup: markup.join(''), embedded };
}

interface Markup {
  error: { message: string; line: number } | null;
  attributes: { name: string; value: string; line: number }[];
  /** `src` of every <script>. */
  scriptSources: { src: string; line: number }[];
}

/**
 * Well-formedness with saxes. A document with an XML declaration or doctype is parsed as a
 * document (one root); anything else as a fragment, so templates with several roots are fine.
 */
function parseMarkup(markup: string): Markup {
  const document = /^\s*<(\?xml|!DOCTYPE)/i.test(markup);
  const parser = new SaxesParser(document ? {} : { fragment: true });
  Object.assign(parser.ENTITIES, RML_ENTITIES);
  const result: Markup = { error: null, attributes: [], scriptSources: [] };
  let errors = 0;
  parser.on('error', (error) => {
    errors += 1;
    result.error ??= { message: error.message.replace(/^\d+:\d+: /, ''), line: parser.line };
    // Only the first problem is shown; a file of nothing but broken tags need not be read to the end.
    if (errors > MAX_MARKUP_ERRORS) throw new TooManyErrors();
  });
  parser.on('attribute', (attribute) => result.attributes.push({ name: attribute.name, value: attribute.value, line: parser.line }));
  parser.on('opentag', (tag) => {
    const src = tag.attributes['src'];
    if (tag.name.toLowerCase() === 'script' && typeof src === 'string') result.scriptSources.push({ src, line: parser.line });
  });
  try {
    parser.write(markup).close();
  } catch (error) {
    if (!(error instanceof TooManyErrors)) throw error;
  }
  if (result.error !== null && errors > 1) {
    const more = errors > MAX_MARKUP_ERRORS ? `more than ${MAX_MARKUP_ERRORS} more problems` : `${errors - 1} more problem${errors > 2 ? 's' : ''}`;
    result.error.message += ` (and ${more})`;
  }
  return result;
}
