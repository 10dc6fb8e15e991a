/**
 * Every page of the web UI and its URL, in one table. Pages are code-split: each is a
 * `lazy(() => import('./pages/…'))` with a default export, so the first load carries only the
 * shell and the page it opens.
 *
 * Add a page: write web/src/pages/<area>/<Name>Page.tsx (default export), add its lazy import and
 * its <Route> in the section of its area below, behind the guard it needs. URLs the portal's mails
 * link to (verify-email, reset-password, a version, a webhook, /review, /review/:versionId,
 * /settings/notifications, /) and /device?user_code=… (which the API hands to `mosis login`) must
 * keep working: tests follow them.
 */
import { lazy } from 'react';
import { Route, Routes } from 'react-router';
import { AppLayout } from './layout/AppLayout';
import { RequireRole, RequireSignIn } from './session/guards';

// Public
const HomePage = lazy(() => import('./pages/HomePage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));
const StorePage = lazy(() => import('./pages/store/StorePage'));
const StoreAppPage = lazy(() => import('./pages/store/StoreAppPage'));

// Accounts
const SignInPage = lazy(() => import('./pages/auth/SignInPage'));
const RegisterPage = lazy(() => import('./pages/auth/RegisterPage'));
const VerifyEmailPage = lazy(() => import('./pages/auth/VerifyEmailPage'));
const ForgotPasswordPage = lazy(() => import('./pages/auth/ForgotPasswordPage'));
const ResetPasswordPage = lazy(() => import('./pages/auth/ResetPasswordPage'));
const SignOutPage = lazy(() => import('./pages/auth/SignOutPage'));
const DevicePage = lazy(() => import('./pages/auth/DevicePage'));

// Developer
const AppsPage = lazy(() => import('./pages/developer/AppsPage'));
const NewAppPage = lazy(() => import('./pages/developer/NewAppPage'));
const AppOverviewPage = lazy(() => import('./pages/developer/AppOverviewPage'));
const AppListingPage = lazy(() => import('./pages/developer/AppListingPage'));
const VersionsPage = lazy(() => import('./pages/developer/VersionsPage'));
const NewVersionPage = lazy(() => import('./pages/developer/NewVersionPage'));
const VersionPage = lazy(() => import('./pages/developer/VersionPage'));

// Insights: analytics, crashes, webhooks, notifications (and the email settings of notifications)
const AnalyticsPage = lazy(() => import('./pages/insights/AnalyticsPage'));
const CrashesPage = lazy(() => import('./pages/insights/CrashesPage'));
const CrashGroupPage = lazy(() => import('./pages/insights/CrashGroupPage'));
const WebhooksPage = lazy(() => import('./pages/insights/WebhooksPage'));
const WebhookPage = lazy(() => import('./pages/insights/WebhookPage'));
const NotificationsPage = lazy(() => import('./pages/insights/NotificationsPage'));
const NotificationPreferencesPage = lazy(() => import('./pages/insights/NotificationPreferencesPage'));

// Settings
const ProfilePage = lazy(() => import('./pages/settings/ProfilePage'));
const SecurityPage = lazy(() => import('./pages/settings/SecurityPage'));
const ApiKeysPage = lazy(() => import('./pages/settings/ApiKeysPage'));
const SigningKeysPage = lazy(() => import('./pages/settings/SigningKeysPage'));

// Admin
const AdminUsersPage = lazy(() => import('./pages/admin/UsersPage'));
const AdminAuditPage = lazy(() => import('./pages/admin/AuditPage'));
const AdminJobsPage = lazy(() => import('./pages/admin/JobsPage'));

// Review
const ReviewQueuePage = lazy(() => import('./pages/review/ReviewQueuePage'));
const ReviewPage = lazy(() => import('./pages/review/ReviewPage'));

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<AppLayout />}>
        {/* Public: anyone, signed in or not. */}
        <Route index element={<HomePage />} />
        {/* The store as people see it; /store/:packageId is the link a developer shares. */}
        <Route path="store" element={<StorePage />} />
        <Route path="store/:packageId" element={<StoreAppPage />} />

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
          <Route path="apps/new" element={<NewAppPage />} />
          <Route path="apps/:appId" element={<AppOverviewPage />} />
          <Route path="apps/:appId/listing" element={<AppListingPage />} />
          <Route path="apps/:appId/versions" element={<VersionsPage />} />
          <Route path="apps/:appId/versions/new" element={<NewVersionPage />} />
          {/* Mailed: a version's checks, review decision, halted rollout. */}
          <Route path="apps/:appId/versions/:versionId" element={<VersionPage />} />
          {/* Developer pages go here: apps/new, apps/:appId (overview), apps/:appId/listing,
              apps/:appId/versions, apps/:appId/versions/new, apps/:appId/versions/:versionId (mailed),
              apps/:appId/analytics, apps/:appId/crashes, apps/:appId/webhooks,
              apps/:appId/webhooks/:webhookId (mailed), notifications. */}
          {/* Insights. */}
          <Route path="apps/:appId/analytics" element={<AnalyticsPage />} />
          <Route path="apps/:appId/crashes" element={<CrashesPage />} />
          <Route path="apps/:appId/crashes/:groupId" element={<CrashGroupPage />} />
          <Route path="apps/:appId/webhooks" element={<WebhooksPage />} />
          <Route path="apps/:appId/webhooks/:webhookId" element={<WebhookPage />} />
          <Route path="notifications" element={<NotificationsPage />} />
          <Route path="settings/notifications" element={<NotificationPreferencesPage />} />
          {/* Settings: profile, password / 2FA / sessions, API keys, signing keys (notifications above). */}
          <Route path="settings" element={<ProfilePage />} />
          <Route path="settings/security" element={<SecurityPage />} />
          <Route path="settings/api-keys" element={<ApiKeysPage />} />
          <Route path="settings/signing-keys" element={<SigningKeysPage />} />
          {/* Accounts: the device sign-in of `mosis login` (RFC 8628), /device?user_code=… as the API prints it. */}
          <Route path="device" element={<DevicePage />} />
        </Route>

        {/* Reviewers and admins: review (mailed), review/:versionId (mailed). */}
        <Route element={<RequireRole roles={['reviewer', 'admin']} />}>
          <Route path="review" element={<ReviewQueuePage />} />
          <Route path="review/:versionId" element={<ReviewPage />} />
        </Route>

        {/* Admins: admin (users), admin/audit, admin/jobs. */}
        <Route element={<RequireRole roles={['admin']} />}>
          <Route path="admin" element={<AdminUsersPage />} />
          <Route path="admin/audit" element={<AdminAuditPage />} />
          <Route path="admin/jobs" element={<AdminJobsPage />} />
        </Route>

        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
