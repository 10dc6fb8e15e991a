import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './server-process.js';

export const HAPROXY = process.env['HAPROXY_BIN'] ?? '/usr/sbin/haproxy';

/** Which backend answered, as the balancer tells the client (absent on the balancer's own error pages). */
export const SERVED_BY = 'x-served-by';

export interface Balancer {
  readonly url: string;
  output(): string;
  /** Resolves once a request reached each named server through the balancer (health checks passed). */
  waitForServers(names: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface BalancedServer {
  name: string;
  port: number;
}

/**
 * The HAProxy configuration of a portal deployment behind a load balancer, as docs/scale-out.md
 * would have an operator write it: round robin, a health check on /readyz, and short timeouts.
 *
 * A request that cannot reach its server (a dead instance refuses the connection) is sent to
 * another (`retries` + `option redispatch`); a GET or HEAD whose server died after taking it
 * (no answer at all) is sent again too (`retry-on`), but never a request with another method: a
 * POST in flight on an instance that dies fails with a 502, as it must, since it may have been done.
 * Every answer names its server in X-Served-By, so the test knows which instance served what.
 */
export function haproxyConfig(port: number, servers: readonly BalancedServer[]): string {
  return [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 500ms',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout queue 5s',
    '  timeout http-request 10s',
    '  # A busy instance is slow to answer its health check, not down: both instances probe the one',
    '  # bucket and database, so a stall there (the whole suite on 2 cores) must not take both out at',
    '  # once. A dead instance is found by its refused connections (retries, redispatch), not by checks.',
    '  timeout check 5s',
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '  # One connection per request to a server: a connection reused after its server died would fail a POST that never reached it.',
    '  option http-server-close',
    '  http-reuse never',
    'frontend portal',
    `  bind 127.0.0.1:${port}`,
    '  default_backend instances',
    'backend instances',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server check inter 500ms fastinter 200ms downinter 200ms fall 3 rise 1',
    '  http-request disable-l7-retry unless METH_GET || METH_HEAD',
    `  http-response set-header ${SERVED_BY} %s`,
    ...servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`),
    '',
  ].join('\n');
}

/** Starts HAProxy (HAPROXY_BIN, else /usr/sbin/haproxy) on a free 127.0.0.1 port in front of `servers`. */
export async function startBalancer(servers: readonly BalancedServer[]): Promise<Balancer> {
  if (!existsSync(HAPROXY)) throw new Error(`HAProxy is not installed at ${HAPROXY} (apt-get install haproxy, or set HAPROXY_BIN)`);
  const dir = await mkdtemp(path.join(tmpdir(), 'mosis-haproxy-'));
  const port = await freePort();
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, haproxyConfig(port, servers));
  // -db: in the foreground, logs to stderr.
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output = () => Buffer.concat(chunks).toString('utf8');
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  return {
    url,
    output,
    async waitForServers(names) {
      const seen = new Set<string>();
      const deadline = Date.now() + 15_000;
      while (names.some((n) => !seen.has(n))) {
        if (child.exitCode !== null) throw new Error(`HAProxy exited:\n${output()}`);
        if (Date.now() > deadline) throw new Error(`the balancer did not reach ${names.filter((n) => !seen.has(n)).join(', ')}:\n${output()}`);
        try {
          const res = await fetch(`${url}/healthz`);
          await res.arrayBuffer();
          const by = res.headers.get(SERVED_BY);
          if (res.ok && by) seen.add(by);
        } catch {
          // not listening yet
        }
        if (names.some((n) => !seen.has(n))) await sleep(20);
      }
    },
    stop,
  };
}
