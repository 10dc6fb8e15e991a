/**
 * The web UI's entry: the theme, the data cache, the router and the route table. Everything else
 * loads with the page that needs it (routes.tsx).
 */
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { isApiProblem } from './api/problem';
import { AppRoutes } from './routes';
import { SESSION_KEY } from './session/session';
import { applyTheme } from './theme/theme';
import './styles.css';

applyTheme();

/**
 * A 401 from any call means the session ended (idle timeout, signed out elsewhere, password
 * changed): ask who is signed in again, and the guards send the person to sign in.
 */
function onApiError(error: unknown, queryKey?: readonly unknown[]): void {
  if (isApiProblem(error) && error.code === 'unauthorized' && queryKey?.[0] !== SESSION_KEY[0]) {
    void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
  }
}

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: (error, query) => onApiError(error, query.queryKey) }),
  mutationCache: new MutationCache({ onError: (error) => onApiError(error) }),
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // A refusal (4xx) will not change on retry; a 5xx or a dropped connection may.
      retry: (failures, error) => failures < 2 && (!isApiProblem(error) || error.status === 0 || error.status >= 500),
    },
  },
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
