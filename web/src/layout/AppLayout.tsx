/**
 * The frame of every page: the skip link, the header (brand, navigation by role, notifications,
 * account), the main landmark the pages render into, and the footer.
 */
import { Suspense } from 'react';
import { Outlet } from 'react-router';
import { Loading } from '../components/states';
import { Header } from './Header';
import { VerifyEmailBanner } from './VerifyEmailBanner';

export function AppLayout() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        <VerifyEmailBanner />
        {/* Pages are split into their own chunks: this shows while one loads. */}
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
      <footer className="site-footer">
        <span>Mosis Portal</span>
        <a href="/docs">Documentation</a>
        <a href="/docs/api">API reference</a>
      </footer>
    </>
  );
}
