/**
 * Every page of the web UI and its URL, in one table. Pages are code-split: each is a
 * `lazy(() => import('./pages/…'))` with a default export, so the first load carries only the
 * shell and the page it opens.
 *
 * Add a page: write web/src/pages/<area>/<Name>Page.tsx (default export), add its lazy import and
 * its <Route> in the section of its area below, behind the guard it needs. URLs the portal's mails
 * link to (verify-email, reset-password, a version, a webhook, /review, /review/:versionId,
 * /settings/notifications, /) must keep working: tests follow them.
 */
import { lazy } from 'react';
import { Route, Routes } from 'react-router';
import { AppLayout } from './layout/AppLayout';
import { RequireRole, RequireSignIn } from './session/guards';

// Public
const HomePage = lazy(() => import('./pages/HomePage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));

// Accounts
const SignInPage = lazy(() => import('./pages/auth/SignInPage'));
const RegisterPage = lazy(() => import('./pages/auth/RegisterPage'));
const VerifyEmailPage = lazy(() => import('./pages/auth/VerifyEmailPage'));
const ForgotPasswordPage = lazy(() => import('./pages/auth/ForgotPasswordPage'));
const ResetPasswordPage = lazy(() => import('./pages/auth/ResetPasswordPage'));
const SignOutPage = lazy(() => import('./pages/auth/SignOutPage'));

// Developer
const AppsPage = lazy(() => import('./pages/developer/AppsPage'));

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<AppLayout />}>
        {/* Public: anyone, signed in or not. */}
        <Route index element={<HomePage />} />
        {/* Store pages (/store, /store/:packageId) go here. */}

        {/* Accounts: the mails link to /verify-email?token=… and /reset-password?token=…. */}
        <Route path="sign-in" element={<SignInPage />} />
        <Route path="register" element={<RegisterPage />} />
        <Route path="verify-email" element={<VerifyEmailPage />} />
        <Route path="forgot-password" element={<ForgotPasswordPage />} />
        <Route path="reset-password" element={<ResetPasswordPage />} />
        <Route path="sign-out" element={<SignOutPage />} />

        {/* Signed in: developers (every account is one). */}
        <Route element={<RequireSignIn />}>
          <Route path="apps" element={<AppsPage />} />
          {/* Developer pages go here: apps/new, apps/:appId (overview), apps/:appId/listing,
              apps/:appId/versions, apps/:appId/versions/new, apps/:appId/versions/:versionId (mailed),
              apps/:appId/analytics, apps/:appId/crashes, apps/:appId/webhooks,
              apps/:appId/webhooks/:webhookId (mailed), notifications. */}
          {/* Settings pages go here: settings (profile), settings/security (password, 2FA, sessions),
              settings/api-keys, settings/signing-keys, settings/notifications (mailed). */}
        </Route>

        {/* Reviewers and admins: review (mailed), review/:versionId (mailed). */}
        <Route element={<RequireRole roles={['reviewer', 'admin']} />}>{null}</Route>

        {/* Admins: admin (users), admin/audit, admin/jobs. */}
        <Route element={<RequireRole roles={['admin']} />}>{null}</Route>

        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
