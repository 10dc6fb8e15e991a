/**
 * /store: the catalog as people see it. Search (the store's full-text search), categories with
 * their counts, an order, and the apps a page at a time. Everything the visitor chose is in the
 * address (?q=&category=&sort=), so a search can be shared and the back button undoes a filter.
 */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useId, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Page } from '../../components/Page';
import { useUrlParams } from '../../components/useUrlParams';
import { EmptyState, ErrorState, Loading } from '../../components/states';
import { AppCard } from './AppCard';
import { categoryLabel, formatNumber } from './format';
import type { StoreSort } from './types';
import { ShowMore } from '../../components/ShowMore';

const PAGE_SIZE = 24;

const SORTS: { value: StoreSort; label: string; searchOnly?: boolean }[] = [
  { value: 'relevance', label: 'Best match', searchOnly: true },
  { value: 'popular', label: 'Most downloaded' },
  { value: 'new', label: 'Newest' },
  { value: 'updated', label: 'Recently updated' },
  { value: 'name', label: 'Name' },
];

export const STORE_APPS_KEY = ['/v1/store/apps'] as const;

export default function StorePage() {
  const { params, setParams, change: changeParams } = useUrlParams();
  const q = (params.get('q') ?? '').trim();
  const category = params.get('category') ?? '';
  const searching = q.length > 0;
  const requested = params.get('sort') as StoreSort | null;
  const sort: StoreSort = requested && SORTS.some((s) => s.value === requested && (searching || !s.searchOnly)) ? requested : searching ? 'relevance' : 'popular';

  /** A new address from the current one: empty values leave it, and paging starts over. */
  const change = (next: Record<string, string>) => changeParams(next);

  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get('q');
    // A new search starts in its best order; the category stays.
    change({ q: typeof value === 'string' ? value.trim() : '', sort: '' });
  };

  return (
    <Page title="Store" description="Apps for Mosis devices, checked and approved by reviewers.">
      <div className="store-layout">
        <aside className="store-sidebar">
          <Categories current={category} linkTo={(slug) => hrefWith(params, { category: slug })} />
        </aside>
        <div className="store-main">
          <div className="store-toolbar">
            <form role="search" className="store-search" onSubmit={search} aria-label="Search the store">
              <label htmlFor="store-q" className="visually-hidden">
                Search apps
              </label>
              {/* Keyed by the search: going back in history shows that search's words. */}
              <input key={q} id="store-q" type="search" name="q" defaultValue={q} placeholder="Search apps" maxLength={100} autoComplete="off" />
              <button type="submit" className="button button-primary">
                Search
              </button>
            </form>
            <SortSelect sort={sort} searching={searching} onChange={(value) => change({ sort: value })} />
          </div>
          <Results q={q} category={category} sort={sort} onClear={() => setParams(new URLSearchParams())} />
        </div>
      </div>
    </Page>
  );
}

function hrefWith(params: URLSearchParams, next: Record<string, string>): string {
  const merged = new URLSearchParams(params);
  for (const [key, value] of Object.entries(next)) {
    if (value === '') merged.delete(key);
    else merged.set(key, value);
  }
  const query = merged.toString();
  return query ? `/store?${query}` : '/store';
}

function SortSelect({ sort, searching, onChange }: { sort: StoreSort; searching: boolean; onChange: (value: StoreSort) => void }) {
  const id = useId();
  return (
    <div className="store-sort">
      <label htmlFor={id}>Sort by</label>
      <select id={id} value={sort} onChange={(event) => onChange(event.target.value as StoreSort)}>
        {SORTS.filter((s) => searching || !s.searchOnly).map((s) => (
          <option key={s.value} value={s.value}>
            {s.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** The categories with their numbers of apps; the current one is marked. A failure here leaves the catalog usable. */
function Categories({ current, linkTo }: { current: string; linkTo: (slug: string) => string }) {
  const categories = useQuery({
    queryKey: ['/v1/store/categories'],
    queryFn: ({ signal }) => unwrap(api.GET('/v1/store/categories', { signal })),
    staleTime: 60_000,
  });
  const items = categories.data?.items ?? [];
  return (
    <nav aria-labelledby="store-categories" className="store-categories">
      <h2 id="store-categories">Categories</h2>
      {categories.isPending ? (
        <Loading label="Loading categories" />
      ) : categories.isError ? (
        <p className="muted small">
          The categories could not be loaded.{' '}
          <button type="button" className="link-button" onClick={() => void categories.refetch()}>
            Try again
          </button>
        </p>
      ) : (
        <ul>
          <li>
            <Link to={linkTo('')} aria-current={current === '' ? 'true' : undefined}>
              All apps
            </Link>
          </li>
          {items.map((item) => (
            <li key={item.category}>
              <Link to={linkTo(item.category)} aria-current={current === item.category ? 'true' : undefined}>
                <span>{categoryLabel(item.category)}</span>
                <span className="store-count">
                  <span aria-hidden="true">{formatNumber(item.apps)}</span>
                  <span className="visually-hidden">
                    , {formatNumber(item.apps)} app{item.apps === 1 ? '' : 's'}
                  </span>
                </span>
              </Link>
            </li>
          ))}
          {current !== '' && !items.some((item) => item.category === current) ? (
            <li>
              <Link to={linkTo(current)} aria-current="true">
                {categoryLabel(current)}
              </Link>
            </li>
          ) : null}
        </ul>
      )}
    </nav>
  );
}

function Results({ q, category, sort, onClear }: { q: string; category: string; sort: StoreSort; onClear: () => void }) {
  const query = { ...(q ? { q } : {}), ...(category ? { category } : {}), sort, limit: PAGE_SIZE };
  const apps = useInfiniteQuery({
    queryKey: [...STORE_APPS_KEY, query],
    queryFn: ({ pageParam, signal }) => unwrap(api.GET('/v1/store/apps', { params: { query: { ...query, ...(pageParam ? { cursor: pageParam } : {}) } }, signal })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    staleTime: 60_000,
  });
  const heading = q ? `Results for “${q}”` : category ? categoryLabel(category) : 'All apps';
  const items = apps.data?.pages.flatMap((page) => page.items) ?? [];

  let body;
  if (apps.isPending) body = <Loading label="Loading apps" />;
  // A failed next page keeps the apps already shown (below); only a failed first page replaces them.
  else if (apps.isError && items.length === 0) body = <ErrorState error={apps.error} onRetry={() => void apps.refetch()} />;
  else if (items.length === 0)
    body = q ? (
      <EmptyState
        title="No apps match your search"
        action={
          <button type="button" className="button" onClick={onClear}>
            Show all apps
          </button>
        }
      >
        <p>
          Nothing {category ? `in ${categoryLabel(category)} ` : ''}matches “{q}”. Each word matches the start of a word in an app’s name, summary, description or package id:
          try fewer or shorter words.
        </p>
      </EmptyState>
    ) : category ? (
      <EmptyState title={`No apps in ${categoryLabel(category)} yet`} action={<Link to="/store">Show all apps</Link>} />
    ) : (
      <EmptyState title="The store is empty" action={<Link to="/apps/new">Publish the first app</Link>}>
        <p>No app has been published yet. Developers upload signed packages, pass review and publish here.</p>
      </EmptyState>
    );
  else
    body = (
      <>
        <ul className="store-grid">
          {items.map((app) => (
            <AppCard key={app.package_id} app={app} />
          ))}
        </ul>
        <ShowMore query={apps} label="Show more apps" busyLabel="Loading more apps…" />
      </>
    );

  return (
    <section aria-labelledby="store-results" className="store-results">
      <h2 id="store-results">{heading}</h2>
      {/* Said once the list changes, for screen readers: the grid itself is not live. */}
      <p className="muted small" role="status">
        {apps.isSuccess ? `${items.length === 0 ? 'No' : formatNumber(items.length)} app${items.length === 1 ? '' : 's'}${apps.hasNextPage ? ' shown, more below' : ''}` : ''}
      </p>
      {body}
    </section>
  );
}
