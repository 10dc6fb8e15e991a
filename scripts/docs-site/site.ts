import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { slug } from 'github-slugger';
import { pageUrl, siteTarget } from './markdown.js';

/**
 * What the docs site is made of: every Markdown file under docs/, and the navigation, which is
 * the index page's own lists (docs/README.md): each `## ` section with a list of links is a
 * section of the sidebar, in the order written there. One place says what the guides hold.
 */

export const INDEX_SOURCE = 'docs/README.md';

export interface SourcePage {
  /** Repository path, `docs/operations.md`. */
  source: string;
  /** Site URL, `/docs/operations`. */
  url: string;
  markdown: string;
}

export interface NavItem {
  title: string;
  href: string;
}

export interface NavSection {
  title: string;
  items: NavItem[];
}

/** Every `.md` file under `docs/` (sorted), with its text. Other files are the site's assets. */
export async function readSources(root: string): Promise<{ pages: SourcePage[]; assets: string[] }> {
  const entries = await readdir(path.join(root, 'docs'), { recursive: true, withFileTypes: true });
  const pages: SourcePage[] = [];
  const assets: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const source = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (source.endsWith('.md')) pages.push({ source, url: pageUrl(source), markdown: await readFile(path.join(root, source), 'utf8') });
    else assets.push(source);
  }
  pages.sort((a, b) => a.source.localeCompare(b.source));
  return { pages, assets: assets.sort() };
}

const SECTION = /^##\s+(.+?)\s*$/;
const ITEM = /^[-*]\s+\[([^\]]+)\]\(([^)\s]+)\)/;

/** The sidebar: the `## ` sections of the index page that list links (`- [Title](page.md): …`), in order. */
export function readNav(indexMarkdown: string, source = INDEX_SOURCE): NavSection[] {
  const sections: NavSection[] = [];
  let current: NavSection | undefined;
  let fenced = false;
  for (const line of indexMarkdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const heading = SECTION.exec(line);
    if (heading) {
      current = { title: plain(heading[1] ?? ''), items: [] };
      sections.push(current);
      continue;
    }
    const item = ITEM.exec(line);
    if (item && current) {
      const target = siteTarget(item[2] ?? '', source);
      if (target.kind === 'repository') throw new Error(`${source}: the navigation links to ${target.path}, which is not part of the docs site`);
      current.items.push({ title: plain(item[1] ?? ''), href: target.href });
    }
  }
  return sections.filter((section) => section.items.length > 0);
}

/** Inline Markdown a title may carry (`code`, *emphasis*), as plain text. */
function plain(text: string): string {
  return text.replace(/[`*_]/g, '');
}

/**
 * `<!-- docs-site:include-table FILE#heading -->` on a line of its own: the first table of that
 * section of FILE (a path relative to the page), so a table written once (the configuration in the
 * README) is also a page of the site. The page is split there; each part keeps its own source, so
 * links resolve against the file they were written in.
 */
export const INCLUDE_TABLE = /^<!--\s*docs-site:include-table\s+(\S+?)#(\S+)\s*-->\s*$/;

export interface PagePart {
  source: string;
  markdown: string;
}

export async function resolveIncludes(root: string, page: SourcePage): Promise<PagePart[]> {
  const parts: PagePart[] = [];
  let text: string[] = [];
  const flush = () => {
    if (text.length > 0) parts.push({ source: page.source, markdown: text.join('\n') });
    text = [];
  };
  for (const line of page.markdown.split('\n')) {
    const include = INCLUDE_TABLE.exec(line);
    if (!include) {
      text.push(line);
      continue;
    }
    flush();
    const file = path.posix.normalize(path.posix.join(path.posix.dirname(page.source), include[1] ?? ''));
    const markdown = await readFile(path.join(root, file), 'utf8').catch((err: unknown) => {
      throw new Error(`${page.source}: cannot include a table of ${file}`, { cause: err });
    });
    parts.push({ source: file, markdown: sectionTable(markdown, include[2] ?? '', `${page.source}: ${file}#${include[2] ?? ''}`) });
  }
  flush();
  return parts;
}

/** The first table (consecutive lines starting with `|`) under the heading whose GitHub id is `id`. */
export function sectionTable(markdown: string, id: string, where: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{1,6}\s/.test(line) && slug(line.replace(/^#+\s+/, '').replace(/[`*_]/g, '')) === id);
  if (start === -1) throw new Error(`${where}: no heading with the id ${id}`);
  const level = /^#+/.exec(lines[start] ?? '')?.[0].length ?? 1;
  const table: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const heading = /^(#+)\s/.exec(line);
    if (heading && (heading[1]?.length ?? 0) <= level) break;
    if (line.startsWith('|')) table.push(line);
    else if (table.length > 0) break;
  }
  if (table.length === 0) throw new Error(`${where}: the section has no table`);
  return table.join('\n');
}
