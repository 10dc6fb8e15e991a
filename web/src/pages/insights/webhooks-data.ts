/** Reading an app's webhooks and their delivery logs: the query keys and hooks the two webhook pages share. */
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

/** An app has at most 20 webhooks (docs/webhooks.md): one page of 100 is all of them. */
export const MAX_WEBHOOKS = 20;

export function webhooksKey(appId: string) {
  return ['/v1/apps/{app_id}/webhooks', appId, { limit: 100 }] as const;
}

export function useWebhooks(appId: string) {
  return useQuery({
    queryKey: webhooksKey(appId),
    queryFn: ({ signal }) => unwrap(api.GET('/v1/apps/{app_id}/webhooks', { params: { path: { app_id: appId }, query: { limit: 100 } }, signal })),
  });
}

export function webhookPath(appId: string, webhookId: string): string {
  return `/apps/${encodeURIComponent(appId)}/webhooks/${encodeURIComponent(webhookId)}`;
}

export function deliveriesKey(appId: string, webhookId: string) {
  return ['/v1/apps/{app_id}/webhooks/{webhook_id}/deliveries', appId, webhookId] as const;
}
