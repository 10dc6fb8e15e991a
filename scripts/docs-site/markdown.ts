import path from 'node:path/posix';
import GithubSlugger from 'github-slugger';
import MarkdownIt, { type Env, type MarkdownIt as Markdown, type StateCore, type Token } from 'markdown-it';

/**
 * Markdown to HTML for the docs site: CommonMark with GitHub's tables, headings given the ids
 * GitHub gives them (so `operations.md#behind-a-reverse-proxy` works on GitHub and on the site),
 * and links rewritten from the Markdown files' relative paths to the site's URLs.
 */

/** What one page's rendering collects; shared by the parts of a page rendered from other files. */
export interface RenderEnv extends Env {
  /** Repository path of the Markdown being rendered: `docs/operations.md`, `README.md`. */
  source: string;
  /** Gives each heading of the page its GitHub id, unique within the page. */
  slugger: GithubSlugger;
  headings: Heading[];
}

export interface Heading {
  level: number;
  id: string;
  text: string;
}

export function renderEnv(source: string): RenderEnv {
  return { source, slugger: new GithubSlugger(), headings: [] };
}

/** Where a link of a Markdown file points, once the site is built. */
export type SiteTarget =
  | { kind: 'external'; href: string }
  | { kind: 'site'; href: string }
  /** A file of the repository outside docs/ (src/jobs/README.md): not on the site. */
  | { kind: 'repository'; path: string };

/** The site's URL of a Markdown page of docs/: `docs/README.md` → `/docs`, `docs/a/b.md` → `/docs/a/b`. */
export function pageUrl(source: string): string {
  const slug = pageSlug(source);
  return slug === '' ? '/docs' : `/docs/${slug}`;
}

/** `docs/operations.md` → `operations`; `docs/README.md` → '' (the index); `docs/a/README.md` → `a`. */
export function pageSlug(source: string): string {
  if (!source.startsWith('docs/') || !source.endsWith('.md')) throw new Error(`${source} is not a Markdown file of docs/`);
  const slug = source.slice('docs/'.length, -'.md'.length);
  if (slug === 'README') return '';
  return slug.endsWith('/README') ? slug.slice(0, -'/README'.length) : slug;
}

/**
 * Maps a link written in `source` to where it points on the site. Relative links are resolved
 * against the file's folder, as GitHub does: into docs/ they become site URLs, elsewhere in the
 * repository they stay repository paths. Absolute paths (`/docs/api`) are the portal's own routes.
 */
export function siteTarget(href: string, source: string): SiteTarget {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) return { kind: 'external', href };
  if (href.startsWith('#') || href.startsWith('/')) return { kind: 'site', href };
  const cut = href.search(/[?#]/);
  const file = cut === -1 ? href : href.slice(0, cut);
  const rest = cut === -1 ? '' : href.slice(cut);
  const resolved = path.normalize(path.join(path.dirname(source), decodeURI(file)));
  if (!resolved.startsWith('docs/')) return { kind: 'repository', path: resolved };
  if (resolved.endsWith('.md')) return { kind: 'site', href: `${pageUrl(resolved)}${rest}` };
  return { kind: 'site', href: `/docs/${encodeURI(resolved.slice('docs/'.length))}${rest}` };
}

function inlineText(token: Token | undefined): string {
  return (token?.children ?? [])
    .filter((child) => child.type === 'text' || child.type === 'code_inline')
    .map((child) => child.content)
    .join('');
}

/** Heading ids, as GitHub makes them: lowercase, punctuation dropped, spaces to hyphens, `-1` for a repeat. */
function headingIds(state: StateCore): void {
  const env = state.env as RenderEnv;
  state.tokens.forEach((token, i) => {
    if (token.type !== 'heading_open') return;
    const text = inlineText(state.tokens[i + 1]);
    const id = env.slugger.slug(text);
    token.attrSet('id', id);
    env.headings.push({ level: Number(token.tag.slice(1)), id, text });
  });
}

/** Links and images point where the site has them; a link to a repository file becomes a marked span. */
function siteLinks(state: StateCore): void {
  const env = state.env as RenderEnv;
  for (const block of state.tokens) {
    const children = block.children ?? [];
    children.forEach((token, i) => {
      const attribute = token.type === 'link_open' ? 'href' : token.type === 'image' ? 'src' : null;
      if (attribute === null) return;
      const target = siteTarget(String(token.attrGet(attribute) ?? ''), env.source);
      if (target.kind !== 'repository') {
        token.attrSet(attribute, target.href);
        return;
      }
      if (token.type === 'image') throw new Error(`${env.source}: the image ${target.path} is outside docs/, so the site cannot serve it`);
      // Not on the site: say where it is in the repository rather than link to nothing.
      token.tag = 'span';
      token.attrs = [
        ['class', 'repo-path'],
        ['title', `In the source repository: ${target.path}`],
        ['data-repo-path', target.path],
      ];
      const close = children.slice(i + 1).find((t) => t.type === 'link_close');
      if (close) close.tag = 'span';
    });
  }
}

/** The renderer of every page: one instance, its rules pure functions of the source and its env. */
export function createMarkdown(): Markdown {
  // html: the docs are the project's own files (errors.md carries a generator's comment).
  const md = new MarkdownIt({ html: true, linkify: false, typographer: false });
  md.core.ruler.push('heading_ids', headingIds);
  md.core.ruler.push('site_links', siteLinks);
  const render = md.renderer.renderToken.bind(md.renderer);
  // A link beside each heading to copy; left out of the search index.
  md.renderer.rules.heading_close = (tokens, idx, options) => {
    const id = tokens[idx - 2]?.attrGet('id');
    const anchor = id ? ` <a class="anchor" href="#${md.utils.escapeHtml(String(id))}" aria-label="Link to this section" data-pagefind-ignore>#</a>` : '';
    return `${anchor}${render(tokens, idx, options)}`;
  };
  // Wide tables (the configuration) scroll on their own instead of widening the page.
  md.renderer.rules.table_open = (tokens, idx, options) => `<div class="table-wrap">${render(tokens, idx, options)}`;
  md.renderer.rules.table_close = (tokens, idx, options) => `${render(tokens, idx, options)}</div>`;
  return md;
}
