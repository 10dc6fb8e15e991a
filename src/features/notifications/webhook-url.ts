import { isIP } from 'node:net';
import type { FieldError } from '../../shared/index.js';
import { addressRefusal } from './outbound-address.js';
import { webhooksError } from './webhooks.errors.js';
import { MAX_WEBHOOK_URL_LENGTH } from './webhooks.schemas.js';

/**
 * The rules a webhook URL meets when it is set, as the normalized URL to store: absolute https
 * (http only with WEBHOOK_ALLOW_HTTP), no user:password@ (it would sit in every log of the
 * receiver's proxy; put a token in the path or check the signature instead), no #fragment (never
 * sent anyway), and an IP literal host must be a public address (WEBHOOK_ALLOW_PRIVATE lifts
 * that). A host name is judged at each delivery, by what it resolves to then.
 */
export function checkWebhookUrl(raw: string, options: { allowHttp: boolean; allowPrivate: boolean }): string {
  const refuse = (message: string) => {
    const errors: FieldError[] = [{ path: 'body.url', message }];
    return webhooksError('webhook_url_invalid', `The webhook URL ${message}.`, errors);
  };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('must be an absolute URL');
  }
  if (url.protocol === 'http:' && !options.allowHttp) throw refuse('must use https (this portal does not allow plain http)');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse('must use https');
  if (url.username !== '' || url.password !== '') throw refuse('must not carry a user name or password (user:password@)');
  if (raw.includes('#')) throw refuse('must not have a #fragment');
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) throw refuse(`must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  if (!options.allowPrivate) {
    // A trailing dot is the same name, fully qualified: "localhost." is still loopback.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    if (isIP(host) !== 0) {
      const why = addressRefusal(host);
      if (why !== null) throw refuse(`may not point at ${host}: ${why}`);
    } else if (host === 'localhost' || host.endsWith('.localhost')) {
      // RFC 6761: always the loopback interface, whatever DNS says.
      throw refuse(`may not point at ${host}, which is the portal's own machine`);
    }
  }
  return url.href;
}
