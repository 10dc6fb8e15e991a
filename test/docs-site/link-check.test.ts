import { describe, expect, it } from 'vitest';
import { checkLinks, type SitePage } from '../../scripts/docs-site/links.js';
import { createMarkdown, pageUrl, renderEnv, siteTarget } from '../../scripts/docs-site/markdown.js';
import { readNav, sectionTable } from '../../scripts/docs-site/site.js';

const page = (url: string, body: string): SitePage => ({ url, html: `<!doctype html><html><body>${body}</body></html>` });

describe('the docs site link check', () => {
  const site = [
    page('/docs', '<h1 id="docs">Docs</h1><a href="/docs/operations#behind-a-reverse-proxy">proxy</a><a href="/docs/api">API</a>'),
    page('/docs/operations', '<h2 id="behind-a-reverse-proxy">Behind</h2><a href="#behind-a-reverse-proxy">here</a><a href="/docs/">home</a>'),
  ];

  it('accepts links to pages, to ids on them, to the same page, to site files and to known portal routes', () => {
    const extra = page('/docs/store', '<link href="/docs/assets/docs.css"><script src="/docs/pagefind/pagefind-ui.js"></script><a href="https://example.com/x#y">out</a><a href="mailto:a@b.c">mail</a>');
    expect(checkLinks([...site, extra], { files: ['/docs/assets/docs.css', '/docs/pagefind/pagefind-ui.js'], portalPaths: ['/docs/api'] })).toEqual([]);
  });

  it('reports a link to a page that does not exist, an anchor a page lacks, and an unknown file', () => {
    const broken = page(
      '/docs/broken',
      '<a href="/docs/operation">typo</a><a href="/docs/operations#behind-a-proxy">old anchor</a><a href="#nowhere">here</a><img src="/docs/images/missing.png">',
    );
    expect(checkLinks([...site, broken], { portalPaths: ['/docs/api'] })).toEqual([
      { page: '/docs/broken', link: '/docs/operation', problem: 'no page or file of the docs site has this address' },
      { page: '/docs/broken', link: '/docs/operations#behind-a-proxy', problem: '/docs/operations has no element with the id "behind-a-proxy"' },
      { page: '/docs/broken', link: '#nowhere', problem: '/docs/broken has no element with the id "nowhere"' },
      { page: '/docs/broken', link: '/docs/images/missing.png', problem: 'no page or file of the docs site has this address' },
    ]);
  });

  it('reports a portal path that is not a known route, and API reference links only when not allowed', () => {
    const pages = [page('/docs', '<a href="/v1/nothing">x</a><a href="/docs/api/">api</a>')];
    expect(checkLinks(pages, { portalPaths: ['/docs/api'] }).map((b) => b.link)).toEqual(['/v1/nothing']);
    expect(checkLinks(pages).map((b) => b.link)).toEqual(['/v1/nothing', '/docs/api/']);
  });

  it('decodes entities and percent-encoding before it compares, and reports bad encoding', () => {
    const pages = [
      page('/docs', '<h2 id="ünïcode">U</h2><a href="#%C3%BCn%C3%AFcode">ok</a><a href="/docs?a=1&amp;b=2#%C3%BCn%C3%AFcode">ok too</a><a href="#%E0%A4%A">bad</a>'),
    ];
    expect(checkLinks(pages)).toEqual([{ page: '/docs', link: '#%E0%A4%A', problem: 'is not a valid URL (bad percent-encoding)' }]);
  });

  it('checks links into the source repository against the repository', () => {
    const pages = [page('/docs', '<span data-repo-path="src/jobs/README.md">jobs</span><span data-repo-path="src/gone.md">gone</span>')];
    const files = new Set(['src/jobs/README.md']);
    expect(checkLinks(pages, { repositoryFile: (file) => files.has(file) })).toEqual([{ page: '/docs', link: 'src/gone.md', problem: 'no file of the repository has this path' }]);
  });
});

describe('the docs site Markdown', () => {
  const render = (markdown: string, source = 'docs/operations.md') => createMarkdown().render(markdown, renderEnv(source));

  it('gives headings the ids GitHub gives them, so links written for GitHub work on the site', () => {
    const html = render('# Operating Mosis Portal\n\n## Behind a reverse proxy\n\n### `TRUST_PROXY` values\n\n## Behind a reverse proxy\n\n## Start, readiness, shutdown');
    expect([...html.matchAll(/<h\d id="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'operating-mosis-portal',
      'behind-a-reverse-proxy',
      'trust_proxy-values',
      'behind-a-reverse-proxy-1',
      'start-readiness-shutdown',
    ]);
  });

  it('rewrites links between Markdown files into site addresses and marks repository files', () => {
    const html = render('[a](accounts.md#secrets-at-rest) [b](../src/jobs/README.md) [c](https://example.com) [d](/docs/api) [e](#here) [f](grafana.json)');
    expect(html).toContain('href="/docs/accounts#secrets-at-rest"');
    expect(html).toContain('<span class="repo-path" title="In the source repository: src/jobs/README.md" data-repo-path="src/jobs/README.md">b</span>');
    expect(html).toContain('href="https://example.com"');
    expect(html).toContain('href="/docs/api"');
    expect(html).toContain('href="#here"');
    expect(html).toContain('href="/docs/grafana.json"');
  });

  it('resolves links from the file they are written in', () => {
    expect(siteTarget('docs/operations.md#the-container', 'README.md')).toEqual({ kind: 'site', href: '/docs/operations#the-container' });
    expect(siteTarget('../README.md', 'docs/configuration.md')).toEqual({ kind: 'repository', path: 'README.md' });
    expect(siteTarget('README.md', 'docs/configuration.md')).toEqual({ kind: 'site', href: '/docs' });
    expect(pageUrl('docs/README.md')).toBe('/docs');
    expect(pageUrl('docs/guides/a.md')).toBe('/docs/guides/a');
  });

  it('renders GitHub tables, scrollable', () => {
    expect(render('| a | b |\n|---|---|\n| 1 | 2 |')).toMatch(/<div class="table-wrap"><table>[\s\S]*<td>1<\/td>[\s\S]*<\/table>\n<\/div>/);
  });
});

describe('the docs site navigation', () => {
  it('is the index page: its link lists under ## headings, in order', () => {
    const nav = readNav(
      [
        '# Docs',
        'Intro with a [link](operations.md) that is no menu entry.',
        '## Operator guide',
        '- [Install on a Synology NAS](install-synology.md): step by step,',
        '  continued on a second line.',
        '- [Operating the portal](operations.md#start): start.',
        '## Notes',
        'Text only.',
        '## Developer guide',
        '* [The `mosis` CLI](getting-started.md)',
        '- [API reference](/docs/api)',
      ].join('\n'),
    );
    expect(nav).toEqual([
      {
        title: 'Operator guide',
        items: [
          { title: 'Install on a Synology NAS', href: '/docs/install-synology' },
          { title: 'Operating the portal', href: '/docs/operations#start' },
        ],
      },
      {
        title: 'Developer guide',
        items: [
          { title: 'The mosis CLI', href: '/docs/getting-started' },
          { title: 'API reference', href: '/docs/api' },
        ],
      },
    ]);
  });

  it('includes a table by the id of its section', () => {
    const readme = '# R\n\n## Quick start\n\n| x |\n|---|\n\n## Configuration\n\nEvery setting.\n\n| variable | default |\n|---|---|\n| `PORT` | `8080` |\n\nAfter.\n\n## Commands\n\n| c |\n|---|';
    expect(sectionTable(readme, 'configuration', 'test')).toBe('| variable | default |\n|---|---|\n| `PORT` | `8080` |');
    expect(() => sectionTable(readme, 'nothing', 'test')).toThrow('no heading with the id nothing');
  });
});
