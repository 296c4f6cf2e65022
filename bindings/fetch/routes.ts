/**
 * How the fetch client reaches `host:port`: a TCP socket where the runtime has one (node:net in
 * Node, Deno and Bun; `cloudflare:sockets` in Workers), a stream through a Wisp server, a
 * WebSocket to this package's relay, or a function of your own.
 * @module
 */
import { fromSocket, fromWebSocket, toTransport, type SocketLike, type Transport, type TransportLike, type WebSocketLike } from '../transports.js';
import type { WebSocketConstructor, WispClient } from '../wisp.js';

/** What a route function may return: a transport, or one with hooks to close it and to let the runtime exit while it idles. */
export interface Dialed {
  transport: TransportLike;
  close?(): void;
  ref?(): void;
  unref?(): void;
}

/** Your own way to reach `host:port`: any transport (see `connect`'s). */
export type DialFunction = (host: string, port: number, options: { signal: AbortSignal }) =>
  TransportLike | Dialed | Promise<TransportLike | Dialed>;

/**
 * The route to servers:
 * - `'tcp'`: node:net (Node, Deno, Bun); the default there.
 * - `'cloudflare-sockets'`: `connect()` from `cloudflare:sockets` (Workers); the default there.
 * - a `WispClient`: a TCP stream through its Wisp server, for each connection.
 * - `{ relay }`: a WebSocket to this package's relay, `relay?target=host:port`.
 * - a function `(host, port, { signal }) => transport`.
 */
export type Route = 'tcp' | 'cloudflare-sockets' | WispClient | { relay: string | URL; WebSocket?: WebSocketConstructor } | DialFunction;

/** A connected transport and its hooks. */
export interface Link {
  transport: Transport;
  close(): void;
  ref?(): void;
  unref?(): void;
}

/** The route this runtime has by itself, if any. */
export function defaultRoute(): Route | undefined {
  const g = globalThis as { navigator?: { userAgent?: string }; process?: { versions?: { node?: string } }; Deno?: unknown; Bun?: unknown };
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return 'cloudflare-sockets';
  if (g.Deno !== undefined || g.Bun !== undefined || g.process?.versions?.node !== undefined) return 'tcp';
  return undefined;
}

const isWisp = (r: unknown): r is WispClient =>
  typeof r === 'object' && r !== null && typeof (r as WispClient).connect === 'function' && typeof (r as WispClient).ready === 'function';

/** Checks a route before anything connects, so a wrong option fails at once. */
export function checkRoute(route: unknown): Route | undefined {
  if (route === undefined || route === 'tcp' || route === 'cloudflare-sockets' || typeof route === 'function' || isWisp(route)) return route as Route | undefined;
  if (typeof route === 'object' && route !== null && 'relay' in route) return route as Route;
  throw new TypeError("transport must be 'tcp', 'cloudflare-sockets', a WispClient, { relay: url } or a function (host, port) => transport");
}

/** Runs a dynamic import whose name bundlers must leave alone (node:net in a browser build). */
const load = (specifier: string): Promise<any> => import(/* @vite-ignore */ specifier);

/** Connects to `host:port` by `route`. */
export async function dial(route: Route, host: string, port: number, signal: AbortSignal): Promise<Link> {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host; // an IPv6 literal as URL.hostname has it
  if (route === 'tcp') {
    const net = await load('node:net');
    const socket = net.connect({ host: bare, port }) as SocketLike & { ref(): void; unref(): void; once: SocketLike['once'] };
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => { socket.destroy(); reject(signal.reason); };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => { signal.removeEventListener('abort', onAbort); resolve(); });
      socket.once('error', (e: Error) => { signal.removeEventListener('abort', onAbort); reject(e); });
    });
    return { transport: fromSocket(socket), close: () => socket.destroy(), ref: () => socket.ref(), unref: () => socket.unref() };
  }
  if (route === 'cloudflare-sockets') {
    const { connect } = await load('cloudflare:sockets');
    const socket = connect({ hostname: bare, port }) as Transport & { opened: Promise<unknown>; close(): Promise<void> };
    await socket.opened;
    return { transport: socket, close: () => { socket.close().catch(() => {}); } };
  }
  if (isWisp(route)) {
    const stream = route.connect(bare, port);
    return { transport: stream, close: () => closeQuietly(stream) };
  }
  if (typeof route === 'function') {
    const r = await route(bare, port, { signal });
    const dialed: Dialed = typeof r === 'object' && r !== null && 'transport' in r ? r as Dialed : { transport: r as TransportLike };
    const transport = toTransport(dialed.transport);
    return { transport, close: dialed.close?.bind(dialed) ?? (() => closeQuietly(transport)), ref: dialed.ref?.bind(dialed), unref: dialed.unref?.bind(dialed) };
  }
  const WS = route.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WS) throw new TypeError('this runtime has no WebSocket: give { relay, WebSocket } (the ws package\'s, say)');
  const url = new URL(route.relay);
  url.searchParams.set('target', `${host}:${port}`);
  const ws = new WS(url.href) as WebSocketLike;
  return { transport: fromWebSocket(ws), close: () => { try { ws.close(); } catch { /* closed */ } } };
}

function closeQuietly(t: Transport): void {
  t.readable.cancel().catch(() => {});
  t.writable.abort().catch(() => {});
}
