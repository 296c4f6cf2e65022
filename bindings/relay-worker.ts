/**
 * The relay as a Cloudflare Worker: the same two modes (`?target=host:port` and Wisp) and the
 * same policy as the Node relay (`openssl-tls-wasm/relay`), on Cloudflare's edge, so that it
 * scales past one machine. The Worker accepts the WebSocket (`WebSocketPair`) and opens the
 * TCP side with `cloudflare:sockets`' `connect()`. It runs in workerd and under wrangler; it
 * cannot be imported in Node.
 *
 * Deployed as is, it is configured by its environment (wrangler `[vars]`, secrets):
 *
 * ```toml
 * # wrangler.toml
 * name = "tls-relay"
 * main = "node_modules/openssl-tls-wasm/dist/relay-worker.js"
 * compatibility_date = "2025-01-01"
 * [vars]
 * RELAY_ALLOW = "example.com:443 *.example.org:443"
 * RELAY_ORIGINS = "https://app.example"
 * ```
 *
 * Variables: `RELAY_ALLOW` (required; entries separated by spaces or commas), `RELAY_ORIGINS`,
 * `RELAY_ALLOW_PRIVATE` (`true`), `RELAY_MODES` (`target,wisp`), `RELAY_PATH`, `RELAY_MOTD`,
 * `RELAY_PASSWORDS` (a JSON object of username to password: make it a secret), `RELAY_DOH`
 * (the DNS-over-HTTPS JSON endpoint that names are resolved with, default Cloudflare's, or
 * `off`), and each limit of {@link RelayLimits} as `RELAY_` and its name in capitals with
 * underscores (`RELAY_MAX_STREAMS_PER_CLIENT`, `RELAY_IDLE_TIMEOUT`, ...).
 *
 * Or from code, with options as the Node relay takes them:
 *
 * ```ts
 * import { createWorkerRelay } from 'openssl-tls-wasm/relay/worker';
 * export default createWorkerRelay({ allow: ['example.com:443'], origins: ['https://app.example'] });
 * ```
 *
 * Names are resolved before connecting, so that every address can be checked against the
 * policy (a Worker has no DNS API: it asks a DNS-over-HTTPS server), and the Worker connects
 * to the checked address. With `RELAY_DOH=off`, names are handed to `connect()` unresolved,
 * which only exact allowlist entries accept (wildcards then reach public IP addresses only).
 *
 * Limits are counted per isolate: Cloudflare runs many, so `maxWebSockets` and the rest hold
 * for each, not for the whole deployment.
 * @module
 */
import { connect as connectSocket } from 'cloudflare:sockets';
import { type Network, type PeerSocket, RelayCore, type RelayEvent } from './relay-core.js';
import { DEFAULT_LIMITS, type RelayLimits, RelayPolicy, type RelayPolicyOptions, type Resolver } from './relay-policy.js';

export type { RelayEvent } from './relay-core.js';
export type { RelayLimits, RelayPolicyOptions } from './relay-policy.js';

export interface WorkerRelayOptions extends RelayPolicyOptions {
  /** Relay only WebSocket requests for this path (Wisp clients may add a `/`); others get 404. Default: every path. */
  path?: string;
  /**
   * The DNS-over-HTTPS endpoint (JSON API, `?name=&type=`) names are resolved with, or `'off'`
   * to hand names to `connect()` unresolved (then only exact entries reach names). Default
   * `https://cloudflare-dns.com/dns-query`.
   */
  doh?: string;
  /** Called for each connection opened, refused and closed (e.g. `console.log`, for Workers Logs). */
  onEvent?: (event: RelayEvent) => void;
}

/** A Worker's fetch handler. */
export interface WorkerRelay {
  fetch(request: Request, env?: unknown, ctx?: unknown): Promise<Response>;
}

const DEFAULT_DOH = 'https://cloudflare-dns.com/dns-query';

/** workerd's server-side WebSocket, as much as the relay uses. */
interface WorkerWebSocket {
  accept(): void;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
  readonly bufferedAmount?: number;
  addEventListener(type: 'message', listener: (ev: { data: ArrayBuffer | string }) => void): void;
  addEventListener(type: 'close', listener: (ev: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (ev: unknown) => void): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A resolver over a DNS-over-HTTPS JSON endpoint: A and AAAA records. */
export function dohResolver(endpoint: string): Resolver {
  return async (name) => {
    const ask = async (type: 'A' | 'AAAA'): Promise<string[]> => {
      const url = new URL(endpoint);
      url.searchParams.set('name', name);
      url.searchParams.set('type', type);
      let answer: { Status?: number; Answer?: Array<{ type: number; data: string }> };
      try {
        const res = await fetch(url, { headers: { accept: 'application/dns-json' } });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        answer = await res.json();
      } catch (e) {
        throw Object.assign(new Error(`resolving ${name}: ${e instanceof Error ? e.message : String(e)}`), { code: 'EAI_AGAIN' });
      }
      if (answer.Status === 3) return []; // NXDOMAIN
      if (answer.Status !== 0) throw Object.assign(new Error(`resolving ${name}: DNS status ${answer.Status}`), { code: 'EAI_AGAIN' });
      const want = type === 'A' ? 1 : 28;
      return (answer.Answer ?? []).filter((a) => a.type === want).map((a) => a.data);
    };
    const [v4, v6] = await Promise.all([ask('A'), ask('AAAA')]);
    const all = [...v4, ...v6];
    if (all.length === 0) throw Object.assign(new Error(`${name} does not resolve`), { code: 'ENOTFOUND' });
    return all;
  };
}

/** Cloudflare's TCP sockets, for the core. */
function workerNetwork(resolve: Resolver): Network {
  return {
    resolve,
    async connect(address, port, signal) {
      const socket = connectSocket({ hostname: address.includes(':') ? `[${address}]` : address, port }, { allowHalfOpen: false });
      const onAbort = () => { socket.close().catch(() => {}); };
      signal.addEventListener('abort', onAbort);
      try {
        await socket.opened;
      } catch (e) {
        socket.close().catch(() => {});
        throw e;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      return { readable: socket.readable, writable: socket.writable, close: () => { socket.close().catch(() => {}); } };
    },
  };
}

function workerPeer(ws: WorkerWebSocket): PeerSocket {
  const OPEN = 1;
  return {
    send(data) {
      if (ws.readyState !== OPEN) return;
      try { ws.send(data); } catch { /* closed meanwhile */ }
    },
    close(code, reason) {
      if (ws.readyState !== OPEN) return;
      try { ws.close(code, reason); } catch { /* closed meanwhile */ }
    },
    async drained(limit) {
      // workerd counts what waits to be sent; the WebSocket has no event for it draining.
      while (ws.readyState === OPEN && (ws.bufferedAmount ?? 0) > limit) await sleep(5);
    },
  };
}

/** A Worker fetch handler that relays, with these options. Throws a TypeError for bad options. */
export function createWorkerRelay(options: WorkerRelayOptions): WorkerRelay {
  const policy = new RelayPolicy(options);
  if (options.path !== undefined && !options.path.startsWith('/')) throw new TypeError(`path: ${JSON.stringify(options.path)} must start with /`);
  const doh = options.doh ?? DEFAULT_DOH;
  if (doh !== 'off') {
    try {
      new URL(doh);
    } catch {
      throw new TypeError(`doh: ${JSON.stringify(doh)} is not a URL (or 'off')`);
    }
  }
  const resolve: Resolver = doh === 'off' ? async (name) => [name] : dohResolver(doh);
  const core = new RelayCore(policy, workerNetwork(resolve), options.onEvent);
  const path = options.path;
  const pathMatches = (p: string) => path === undefined || p === path || (!path.endsWith('/') && p === `${path}/`);

  return {
    async fetch(request) {
      const url = new URL(request.url);
      if (!pathMatches(url.pathname)) return new Response(`no relay at ${url.pathname}\n`, { status: 404 });
      if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
        return new Response('This is a WebSocket-to-TCP relay: open a WebSocket to ?target=host:port, or speak Wisp to /\n', {
          status: 426, headers: { Upgrade: 'websocket', 'Content-Type': 'text/plain; charset=utf-8' },
        });
      }
      const targets = url.searchParams.getAll('target');
      const protocols = (request.headers.get('Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      const Pair = (globalThis as unknown as { WebSocketPair: new () => Record<0 | 1, WorkerWebSocket> }).WebSocketPair;
      const pair = new Pair();
      const [client, server] = [pair[0], pair[1]];
      server.accept();
      const address = request.headers.get('CF-Connecting-IP') ?? 'unknown';
      const session = core.accept(workerPeer(server), {
        client: address, clientKey: address, origin: request.headers.get('Origin'), targets, protocols,
      });
      server.addEventListener('message', (ev) => session.message(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data)));
      server.addEventListener('close', (ev) => session.closed(ev.code, ev.reason));
      server.addEventListener('error', () => session.closed(1006, 'WebSocket error'));
      const protocol = RelayCore.protocol(targets, protocols);
      return new Response(null, {
        status: 101, webSocket: client, headers: protocol ? { 'Sec-WebSocket-Protocol': protocol } : {},
      } as ResponseInit);
    },
  };
}

/** `RELAY_MAX_STREAMS_PER_CLIENT` for `maxStreamsPerClient`. */
const envName = (key: string) => `RELAY_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** The options a Worker's environment gives (see the module's documentation). */
export function optionsFromEnv(env: Record<string, unknown>): WorkerRelayOptions {
  const text = (name: string) => (typeof env[name] === 'string' && (env[name] as string).trim() !== '' ? (env[name] as string).trim() : undefined);
  const list = (name: string) => text(name)?.split(/[\s,]+/).filter(Boolean);
  const options: WorkerRelayOptions = { allow: list('RELAY_ALLOW') ?? [] };
  const origins = list('RELAY_ORIGINS');
  if (origins) options.origins = origins;
  const modes = list('RELAY_MODES');
  if (modes) options.modes = modes as Array<'target' | 'wisp'>;
  const allowPrivate = text('RELAY_ALLOW_PRIVATE');
  if (allowPrivate !== undefined) options.allowPrivate = /^(1|true|yes)$/i.test(allowPrivate);
  options.path = text('RELAY_PATH');
  options.motd = text('RELAY_MOTD');
  options.doh = text('RELAY_DOH');
  const passwords = text('RELAY_PASSWORDS');
  if (passwords !== undefined) {
    try {
      options.passwords = JSON.parse(passwords);
    } catch {
      throw new TypeError('RELAY_PASSWORDS: a JSON object of username to password');
    }
  }
  for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof RelayLimits>) {
    const v = text(envName(key));
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TypeError(`${envName(key)}: ${JSON.stringify(v)} is not a number`);
    options[key] = n;
  }
  if (/^(1|true|yes)$/i.test(text('RELAY_LOG') ?? '')) options.onEvent = (e) => console.log(JSON.stringify(e));
  return options;
}

/** One relay per environment object (an isolate keeps its env), made on the first request. */
const relays = new WeakMap<object, WorkerRelay | Error>();

/** The Worker itself, configured by its environment. */
export default {
  async fetch(request: Request, env: Record<string, unknown> = {}, ctx?: unknown): Promise<Response> {
    let relay = relays.get(env);
    if (relay === undefined) {
      try {
        relay = createWorkerRelay(optionsFromEnv(env));
      } catch (e) {
        relay = e instanceof Error ? e : new Error(String(e));
      }
      relays.set(env, relay);
    }
    if (relay instanceof Error) {
      return new Response(`the relay is misconfigured: ${relay.message.replace(/^allow:/, 'RELAY_ALLOW:')}\n`, { status: 500 });
    }
    return relay.fetch(request, env, ctx);
  },
};
