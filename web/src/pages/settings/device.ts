/**
 * A session's device as people name it ("Firefox on Linux", "mosis CLI") from its User-Agent. A
 * rough reading, for recognising one's own devices, not for deciding anything.
 */
import type { Schemas } from '../../api/types';

type AccountSession = Schemas['AccountSession'];

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bHeadlessChrome\//, 'Headless Chrome'],
  [/\bChrom(?:e|ium)\/|\bCriOS\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

const SYSTEMS: [RegExp, string][] = [
  [/\bAndroid\b/, 'Android'],
  [/\biPhone\b|\biPad\b|\biOS\b/, 'iOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

function first(table: [RegExp, string][], text: string): string | undefined {
  return table.find(([pattern]) => pattern.test(text))?.[1];
}

export function deviceName(session: Pick<AccountSession, 'kind' | 'user_agent'>): string {
  const agent = session.user_agent ?? '';
  if (session.kind === 'api') {
    const cli = /^mosis\/([\w.-]+)/.exec(agent);
    if (cli) return `mosis CLI ${cli[1]}`;
    return agent === '' ? 'API sign-in' : `API sign-in (${agent.split(/[\s/]/)[0]})`;
  }
  if (agent === '') return 'Unknown browser';
  const browser = first(BROWSERS, agent) ?? 'A browser';
  const system = first(SYSTEMS, agent);
  return system ? `${browser} on ${system}` : browser;
}
