/**
 * The button under a list that loads its next page (a react-query infinite query), and what the
 * list says when that page fails: every list pages the same way, and none drops a failed page
 * without a word.
 */
import type { UseInfiniteQueryResult } from '@tanstack/react-query';
import { ErrorState } from './states';

type NextPages = Pick<UseInfiniteQueryResult, 'hasNextPage' | 'isFetchingNextPage' | 'isFetchNextPageError' | 'error' | 'fetchNextPage'>;

export function ShowMore({ query, label, busyLabel = 'Loading…' }: { query: NextPages; label: string; busyLabel?: string }) {
  const more = () => void query.fetchNextPage();
  if (query.isFetchNextPageError) return <ErrorState error={query.error} onRetry={more} title="The next page could not be loaded" />;
  if (!query.hasNextPage) return null;
  return (
    <button type="button" className="button" onClick={more} disabled={query.isFetchingNextPage} aria-busy={query.isFetchingNextPage || undefined}>
      {query.isFetchingNextPage ? busyLabel : label}
    </button>
  );
}
