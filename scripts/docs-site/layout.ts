import type { NavItem, NavSection } from './site.js';

/**
 * The one layout of every page: a header with the search box, the sidebar of the guides, the page.
 * Everything it loads is under /docs (the portal's CSP allows scripts from 'self' only, and a NAS
 * may have no internet): the stylesheet and script of the site, and Pagefind's search UI.
 */

export const SITE_NAME = 'Mosis Portal docs';

/**
 * /docs/assets/docs.js: starts Pagefind's search UI in the header, over the index built with the
 * site, fetched from the portal itself, so search works with no internet. A file of its own: the
 * CSP allows no inline script. (Kept here as text so the linter, which sees TypeScript, has nothing to parse.)
 */
export const SITE_SCRIPT = `'use strict';
(function () {
  var box = document.getElementById('search');
  if (!box || typeof window.PagefindUI !== 'function') return;
  new window.PagefindUI({ element: box, bundlePath: '/docs/pagefind/', showSubResults: true, showImages: false, resetStyles: false });
})();
`;

export interface PageView {
  url: string;
  title: string;
  /** Repository path of the page's Markdown, shown at its foot. */
  source: string | null;
  body: string;
  nav: NavSection[];
  /** Whether the page's text goes into the search index (not the 404 page). */
  searchable: boolean;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function navList(section: NavSection, url: string): string {
  const items = section.items.map((item) => {
    const current = item.href === url ? ' aria-current="page"' : '';
    return `<li><a href="${escapeHtml(item.href)}"${current}>${escapeHtml(item.title)}</a></li>`;
  });
  return `<h2>${escapeHtml(section.title)}</h2>\n<ul>\n${items.join('\n')}\n</ul>`;
}

/** The pages before and after this one in the sidebar's order. */
function neighbours(nav: NavSection[], url: string): { previous?: NavItem; next?: NavItem } {
  const pages = nav.flatMap((section) => section.items).filter((item) => item.href.startsWith('/docs') && !item.href.includes('#'));
  const at = pages.findIndex((item) => item.href === url);
  if (at === -1) return {};
  return { previous: pages[at - 1], next: pages[at + 1] };
}

export function renderPage(view: PageView): string {
  const { previous, next } = neighbours(view.nav, view.url);
  const pager = [
    previous ? `<a class="previous" href="${escapeHtml(previous.href)}">← ${escapeHtml(previous.title)}</a>` : '<span></span>',
    next ? `<a class="next" href="${escapeHtml(next.href)}">${escapeHtml(next.title)} →</a>` : '<span></span>',
  ].join('');
  const title = view.url === '/docs' ? SITE_NAME : `${view.title} · ${SITE_NAME}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/pagefind/pagefind-ui.css">
<link rel="stylesheet" href="/docs/assets/docs.css">
<script src="/docs/pagefind/pagefind-ui.js" defer></script>
<script src="/docs/assets/docs.js" defer></script>
</head>
<body>
<header class="site-header">
<a class="site-name" href="/docs">${escapeHtml(SITE_NAME)}</a>
<div id="search" class="search" role="search" aria-label="Search the documentation"><noscript>Search needs JavaScript; every page is listed in the menu.</noscript></div>
</header>
<div class="site">
<nav class="sidebar" aria-label="Documentation">
${view.nav.map((section) => navList(section, view.url)).join('\n')}
</nav>
<main${view.searchable ? ' data-pagefind-body' : ''}>
${view.body}
<footer class="page-footer" data-pagefind-ignore>
<nav class="pager" aria-label="Previous and next page">${pager}</nav>
${view.source ? `<p class="source">Source: <code>${escapeHtml(view.source)}</code></p>` : ''}
</footer>
</main>
</div>
</body>
</html>
`;
}
