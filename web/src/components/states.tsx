/**
 * The three states every page shows besides its content: loading, empty and error. `QueryState`
 * picks between loading, error and the content for a react-query result.
 */
import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { Link } from 'react-router';
import { ApiProblem, isApiProblem } from '../api/problem';

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}…</span>
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <h2>{title}</h2>
      {children ? <div className="state-body">{children}</div> : null}
      {action ? <div className="state-action">{action}</div> : null}
    </div>
  );
}

/** What a failed request says, with a way to try again; what to do next for the problems that have an answer. */
export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const problem = isApiProblem(error) ? error : ApiProblem.network(error);
  return (
    <div className="state state-error" role="alert">
      <h2>{title ?? problem.title}</h2>
      <p>{problem.detail}</p>
      <NextStep problem={problem} />
      {problem.requestId ? <p className="muted small">Request id: <code>{problem.requestId}</code></p> : null}
      {onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

function NextStep({ problem }: { problem: ApiProblem }) {
  switch (problem.code) {
    case 'two_factor_required':
      return <p><Link to="/settings/security">Turn on two-factor authentication</Link> in your settings.</p>;
    case 'two_factor_session_required':
      return <p><Link to="/sign-out">Sign out</Link> and sign in again with your two-factor code.</p>;
    case 'unauthorized':
      return <p><Link to={`/sign-in?return_to=${encodeURIComponent(window.location.pathname)}`}>Sign in</Link> to continue.</p>;
    default:
      return null;
  }
}

/**
 * Loading, then the error (with retry) or the content:
 *   <QueryState query={apps}>{(data) => <AppList apps={data.items} />}</QueryState>
 */
export function QueryState<T>({ query, children, loading }: { query: UseQueryResult<T>; children: (data: T) => ReactNode; loading?: string }) {
  if (query.isPending) return <Loading {...(loading ? { label: loading } : {})} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}
