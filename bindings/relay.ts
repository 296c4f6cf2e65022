/**
 * A WebSocket-to-TCP relay, so that a browser (which cannot open TCP sockets) can run TLS to a
 * server through it. It speaks two protocols on the same port:
 *
 * - **`?target=host:port`**: one WebSocket, one TCP connection, bytes unchanged (what
 *   `connect(new WebSocket(...))` and websockify-style clients use);
 * - **Wisp** (v1 and v2, MercuryWorkshop's wisp-protocol): one WebSocket carries many TCP
 *   streams, with flow control and close reasons (what {@link WispClient}, epoxy-tls,
 *   libcurl.js and wisp-js's client use). A WebSocket without `?target` speaks Wisp.
 *
 * The TLS connection runs end to end between the page and the server, so the relay only ever
 * sees ciphertext; it never loads OpenSSL. Node only (also Deno and Bun through their node:
 * modules); `openssl-tls-wasm/relay/worker` is the same relay as a Cloudflare Worker.
 *
 * ```ts
 * import { createRelay } from 'openssl-tls-wasm/relay';
 * const relay = await createRelay({ port: 8080, allow: ['example.com:443', '*.example.org:443'] });
 * // in the browser: connect(new WebSocket('ws://127.0.0.1:8080/?target=example.com:443'), { servername: 'example.com' })
 * // or:             connect(new WispClient('ws://127.0.0.1:8080/').connect('example.com', 443), { servername: 'example.com' })
 * ```
 *
 * The policy (relay-policy.ts) holds for every connection in both modes: the allowlist
 * (`host:port`, `*.domain:port`, `*:port`), names resolved once with every answer checked (a
 * wildcard never reaches loopback or private addresses unless `allowPrivate`), the origins, the
 * limits and the timeouts. What a client sees:
 * - `?target` mode: a refused target or origin is accepted as a WebSocket and closed with
 *   **4003** and a reason such as `target localhost:9999 is not allowed` (a browser cannot read
 *   the HTTP status of a refused upgrade, but it can read a close code and reason); a text frame
 *   closes with **1003**; the target closing closes with **1000** after its data; a TCP error
 *   with **1011** and a reason naming it (`ECONNREFUSED (localhost:8443)`); a limit with
 *   **1013**; an idle connection with **4008**.
 * - Wisp: each stream is refused or closed with Wisp's reasons: 0x48 blocked, 0x41 invalid,
 *   0x42 unreachable or unresolvable, 0x43 connect timed out, 0x44 refused, 0x47 idle, 0x49 over
 *   a limit, 0x03 another network error, 0x02 the target closed.
 * - Backpressure holds both ways: TCP sockets are paused while the WebSocket's
 *   `bufferedAmount` is above `highWaterMark`; in `?target` mode the WebSocket stops being read
 *   while TCP is backed up, and in Wisp each stream gets `wispBufferSize` packets of credit.
 * @module
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { promises as dns } from 'node:dns';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type Network, type PeerSocket, RelayCore, type RelayEvent, type TcpConnection } from './relay-core.js';
import { RelayPolicy, type RelayPolicyOptions, type Resolver, shown } from './relay-policy.js';
import { fromSocket } from './transports.js';

export type { RelayEvent } from './relay-core.js';
export type { RelayLimits, RelayPolicyOptions, Resolver } from './relay-policy.js';
export { DEFAULT_LIMITS } from './relay-policy.js';

export interface RelayOptions extends RelayPolicyOptions {
  /** The port to listen on (0 for any free one). Give either `port` or `server`. */
  port?: number;
  /** The address to listen on. Default `'127.0.0.1'`: only this machine can use the relay. */
  host?: string;
  /**
   * Attach to this HTTP(S) server's 'upgrade' event instead of listening (e.g. the server that
   * serves the page). The relay does not close it.
   */
  server?: HttpServer | HttpsServer;
  /**
   * Relay only WebSocket requests for this path (e.g. `'/relay'`; Wisp clients may add a `/`).
   * Others get HTTP 404 on a server of the relay's own; on a `server` given, they are left to
   * its other 'upgrade' listeners (or get 404 when it has none). Default: every path.
   */
  path?: string;
  /**
   * What counts as one client for the per-client limits. Default: the TCP peer's address.
   * Behind a reverse proxy, return the address it forwards (e.g. from `X-Forwarded-For`).
   */
  clientAddress?: (req: IncomingMessage) => string;
  /**
   * Resolves a name to its addresses (default: the system's, `dns.lookup` with every answer).
   * Whatever it returns is checked against the policy before the relay connects to it.
   */
  resolve?: Resolver;
  /** Called for each connection opened, refused and closed, and each Wisp session: for logs. */
  onEvent?: (event: RelayEvent) => void;
}

/** A running relay. */
export interface Relay {
  /** The port it listens on (the `server`'s, when attached to one). */
  readonly port: number;
  /** Where clients connect, without a target: e.g. `ws://127.0.0.1:8080/` (also the Wisp URL). */
  readonly url: string;
  /** TCP connections being relayed now: `?target` connections and Wisp streams (refused ones are not counted). */
  readonly connections: number;
  /** WebSockets open now. */
  readonly webSockets: number;
  /**
   * Stops accepting connections, closes those open (WebSocket code 1001, TCP destroyed) and,
   * unless attached to a `server`, stops listening. Resolves when all of it is done.
   */
  close(): Promise<void>;
}

/** The WebSocket close codes the relay sends in `?target` mode. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  FORBIDDEN: 4003,
  IDLE: 4008,
} as const;

/** On close(), how long clients get to answer the close frame before they are cut. */
const CLOSE_GRACE = 1000;

function remote(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return `${a.includes(':') ? `[${a}]` : a}:${req.socket.remotePort ?? '?'}`;
}

/** Answers a request the relay will not upgrade, and closes its socket. */
function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.once('error', () => {});
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n`
    + `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** The request's path and its `target` query values. */
function parseUrl(raw: string | undefined): { pathname: string; targets: string[] } {
  const url = raw ?? '/';
  const q = url.indexOf('?');
  return {
    pathname: q < 0 ? url : url.slice(0, q),
    targets: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).getAll('target'),
  };
}

/** Node's DNS and TCP, for the core. */
export const nodeNetwork: Network = {
  async resolve(name) {
    return (await dns.lookup(name, { all: true, verbatim: true })).map((a) => a.address);
  },
  connect(address, port, signal) {
    return new Promise<TcpConnection>((resolve, reject) => {
      const socket = net.connect({ host: address, port });
      const onAbort = () => {
        socket.destroy();
        reject(Object.assign(new Error('connect aborted'), { code: 'ECONNABORTED' }));
      };
      const onError = (e: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', onError);
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        const t = fromSocket(socket);
        resolve({ readable: t.readable, writable: t.writable, close: () => socket.destroy() });
      });
    });
  },
};

/** A `ws` WebSocket as the core's peer. */
function wsPeer(ws: WebSocket): PeerSocket & { gone(): void } {
  const waiters: Array<{ limit: number; resolve: () => void }> = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount <= waiters[i].limit) waiters.splice(i, 1)[0].resolve();
    }
  };
  return {
    send(data) {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: true }, check);
    },
    close(code, reason) {
      if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
      ws.close(code, reason);
      ws.resume(); // a paused WebSocket could not read the client's answer to the close frame
    },
    drained(limit) {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount <= limit) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ limit, resolve }));
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    gone() {
      for (const w of waiters.splice(0)) w.resolve();
    },
  };
}

/**
 * Starts a relay. Resolves once it is listening (or attached to `server`). Throws a
 * `TypeError` for bad options, such as an allowlist entry that is not `host:port`.
 */
export async function createRelay(options: RelayOptions): Promise<Relay> {
  const policy = new RelayPolicy(options);
  if ((options.port === undefined) === (options.server === undefined)) {
    throw new TypeError('give either port or server');
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    throw new TypeError(`port: ${options.port} is not a port number`);
  }
  if (options.path !== undefined && !options.path.startsWith('/')) {
    throw new TypeError(`path: ${JSON.stringify(options.path)} must start with /`);
  }
  const host = options.host ?? '127.0.0.1';
  const network = options.resolve ? { ...nodeNetwork, resolve: options.resolve } : nodeNetwork;
  const core = new RelayCore(policy, network, options.onEvent);
  const clientAddress = options.clientAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? '?');

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false, // ciphertext does not compress
    maxPayload: Math.max(policy.limits.maxPayload, policy.limits.wispMaxPacket),
    clientTracking: false,
    handleProtocols: (protocols, req) => RelayCore.protocol(parseUrl(req.url).targets, [...protocols]) ?? false,
  });

  const owned = options.server === undefined;
  const server = options.server ?? createServer((_req, res) => {
    const body = 'This is a WebSocket-to-TCP relay: open a WebSocket to ?target=host:port, or speak Wisp to /\n';
    res.writeHead(426, {
      Connection: 'close', Upgrade: 'websocket',
      'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  });

  /** Every WebSocket accepted and not yet closed. */
  const live = new Set<WebSocket>();
  let closing = false;

  const pathMatches = (pathname: string) => options.path === undefined || pathname === options.path
    || (!options.path.endsWith('/') && pathname === `${options.path}/`);

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { pathname, targets } = parseUrl(req.url);
    if (!pathMatches(pathname)) {
      // On a shared server, other listeners may own this path.
      if (owned || server.listenerCount('upgrade') <= 1) rejectUpgrade(socket, 404, `no relay at ${shown(pathname)}`);
      return;
    }
    if (closing) return rejectUpgrade(socket, 503, 'the relay is shutting down');
    wss.handleUpgrade(req, socket, head, (ws) => {
      live.add(ws);
      const peer = wsPeer(ws);
      const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      const session = core.accept(peer, {
        client: remote(req), clientKey: clientAddress(req), origin: req.headers.origin, targets, protocols,
      });
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        session.message(isBinary ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes.toString());
      });
      ws.on('error', () => {}); // ws closes the connection itself (e.g. 1009, bad frames); 'close' follows
      ws.on('close', (code: number, reason: Buffer) => {
        live.delete(ws);
        peer.gone();
        session.closed(code, reason.toString());
      });
    });
  }

  server.on('upgrade', onUpgrade);
  if (owned) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      server.off('upgrade', onUpgrade);
      throw e;
    }
  }

  const address = () => {
    const a = server.address();
    return typeof a === 'object' && a !== null ? a : undefined;
  };

  return {
    get port() { return address()?.port ?? 0; },
    get url() {
      const a = address();
      const h = owned ? host : a?.address ?? host;
      const shownHost = h.includes(':') ? `[${h}]` : h;
      const scheme = 'setSecureContext' in server ? 'wss' : 'ws';
      return `${scheme}://${shownHost}:${a?.port ?? 0}${options.path ?? '/'}`;
    },
    get connections() { return core.connections; },
    get webSockets() { return live.size; },
    async close() {
      if (closing) return;
      closing = true;
      server.off('upgrade', onUpgrade);
      const stopped = owned
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : Promise.resolve();
      const sockets = [...live];
      core.shutdown();
      for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.close(CloseCode.GOING_AWAY, 'the relay is shutting down');
      // Clients get a moment to answer the close frame; then they are cut.
      await new Promise<void>((resolve) => {
        const check = () => sockets.every((ws) => ws.readyState === ws.CLOSED);
        if (check()) return resolve();
        const timer = setTimeout(() => {
          for (const ws of sockets) ws.terminate();
          resolve();
        }, CLOSE_GRACE);
        for (const ws of sockets) {
          ws.once('close', () => {
            if (check()) {
              clearTimeout(timer);
              resolve();
            }
          });
        }
      });
      if (owned) (server as HttpServer).closeAllConnections?.();
      await stopped;
      wss.close();
    },
  };
}
