/**
 * The app an insight page is about: the app (GET /v1/apps/{app_id}, under the key the developer's
 * app pages use) and the shared breadcrumb, identity and section links of every app page.
 */
import { useQuery } from '@tanstack/react-query';
import { appQuery } from '../../components/appQueries';
import { AppSectionNav } from '../../components/AppSectionNav';

export function useApp(appId: string) {
  return useQuery(appQuery(appId));
}

export function AppNav({ appId }: { appId: string }) {
  const app = useApp(appId);
  return <AppSectionNav appId={appId} app={app.data} />;
}
