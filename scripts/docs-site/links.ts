/**
 * The link check of the built docs site: every link and every resource a page names must exist:
 * a page of the site (and, with a #fragment, an element with that id on it), a file of the site,
 * a route of the portal outside the site (the API reference), or, for a link to the source
 * repository, a file of the repository. External links (https:, mailto:) are not followed.
 */

export interface SitePage {
  /** `/docs`, `/docs/operations` */
  url: string;
  html: string;
}

export interface LinkCheckOptions {
  /** URLs of the site's other files (`/docs/assets/docs.css`, `/docs/pagefind/pagefind-ui.js`). */
  files?: Iterable<string>;
  /** Paths of the portal that are not part of the site but may be linked to (`/docs/api`). */
  portalPaths?: Iterable<string>;
  /** Whether a repository path (`src/jobs/README.md`) names a file; without it repository links are not checked. */
  repositoryFile?: (path: string) => boolean;
}

export interface BrokenLink {
  /** The page the link is on. */
  page: string;
  /** The link as written in the HTML. */
  link: string;
  problem: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

function decodeAttribute(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos|#39);/g, (_, name: string) => ENTITIES[name] ?? '');
}

function attributes(html: string, name: string): string[] {
  // The pages are the build's own HTML: attributes are double-quoted.
  const pattern = new RegExp(`\\s${name}="([^"]*)"`, 'g');
  return [...html.matchAll(pattern)].map((match) => decodeAttribute(match[1] ?? ''));
}

/** The ids of the elements of a page: what a `#fragment` may name. */
export function idsOf(html: string): Set<string> {
  return new Set(attributes(html, 'id'));
}

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** `/docs/` and `/docs` are the same page. */
function normalise(pathname: string): string {
  return pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
}

export function checkLinks(pages: readonly SitePage[], options: LinkCheckOptions = {}): BrokenLink[] {
  const byUrl = new Map(pages.map((page) => [normalise(page.url), page]));
  const ids = new Map<string, Set<string>>();
  const idsOfPage = (page: SitePage) => {
    let set = ids.get(page.url);
    if (!set) ids.set(page.url, (set = idsOf(page.html)));
    return set;
  };
  const files = new Set(options.files ?? []);
  const portalPaths = [...(options.portalPaths ?? [])];
  const outsideSite = (pathname: string) => portalPaths.some((p) => pathname === p || pathname.startsWith(`${p}/`));
  const broken: BrokenLink[] = [];

  for (const page of pages) {
    const report = (link: string, problem: string) => broken.push({ page: page.url, link, problem });
    const links = [...attributes(page.html, 'href'), ...attributes(page.html, 'src')];
    for (const link of links) {
      const url = new URL(link, `http://portal.invalid${page.url}`);
      if (url.origin !== 'http://portal.invalid') continue;
      const pathname = decode(url.pathname);
      const fragment = url.hash === '' ? '' : decode(url.hash.slice(1));
      if (pathname === null || fragment === null) {
        report(link, 'is not a valid URL (bad percent-encoding)');
        continue;
      }
      if (outsideSite(pathname)) continue;
      const target = byUrl.get(normalise(pathname));
      if (target) {
        if (fragment !== '' && !idsOfPage(target).has(fragment)) report(link, `${target.url} has no element with the id "${fragment}"`);
        continue;
      }
      if (files.has(pathname)) continue;
      report(link, pathname.startsWith('/docs') ? 'no page or file of the docs site has this address' : 'is neither a page of the docs site nor a known route of the portal');
    }
    if (options.repositoryFile) {
      for (const file of attributes(page.html, 'data-repo-path')) {
        if (!options.repositoryFile(file)) report(file, 'no file of the repository has this path');
      }
    }
  }
  return broken;
}
