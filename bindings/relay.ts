/**
 * A WebSocket-to-TCP relay, so that a browser (which cannot open TCP sockets) can run TLS to a
 * server through it: the page opens a WebSocket to the relay, the relay opens a TCP connection
 * to the target, and bytes flow both ways unchanged. The TLS connection runs end to end between
 * the page (`connect(ws, ...)` from this package) and the server, so the relay only ever sees
 * ciphertext; it never loads OpenSSL. Node only (also Deno and Bun through their node:
 * modules).
 *
 * ```ts
 * import { createRelay } from 'openssl-tls-wasm/relay';
 * const relay = await createRelay({ port: 8080, allow: ['example.com:443'] });
 * // in the browser: connect(new WebSocket('ws://127.0.0.1:8080/?target=example.com:443'), { servername: 'example.com' })
 * ```
 *
 * The rules:
 * - The target is the WebSocket URL's `target` query parameter, `host:port` (`[v6addr]:port`
 *   for IPv6), given exactly once. It must be in `allow`; the host is compared without regard
 *   to case, the port as a number. Anything else is accepted as a WebSocket and then closed
 *   with code **4003** and a reason such as `target localhost:9999 is not allowed`: a browser
 *   cannot read the HTTP status of a refused upgrade, but it can read a close code and reason.
 * - Only binary frames carry data. A text frame closes the WebSocket with **1003**.
 * - The target closing its side closes the WebSocket with **1000** (after the data before it);
 *   a TCP error (refused, reset, timed out, unresolvable) closes it with **1011** and a reason
 *   that names the error, e.g. `ECONNREFUSED (localhost:8443)`.
 * - The WebSocket closing ends the TCP connection (FIN after the data already relayed), and
 *   destroys it if the target does not close within a few seconds.
 * - Backpressure holds both ways: the TCP socket is paused while the WebSocket's
 *   `bufferedAmount` is above `highWaterMark`, and the WebSocket stops being read while the
 *   TCP socket's buffer is full.
 * @module
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export interface RelayOptions {
  /**
   * The targets that may be reached, each `host:port` (`[::1]:443` for IPv6), such as
   * `'localhost:8443'`. Required and not empty: the relay never connects anywhere else.
   */
  allow: Iterable<string>;
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
   * Relay only WebSocket requests for this path (e.g. `'/relay'`). Others get HTTP 404 on a
   * server of the relay's own; on a `server` given, they are left to its other 'upgrade'
   * listeners (or get 404 when it has none). Default: every path.
   */
  path?: string;
  /**
   * Web origins whose pages may use the relay, e.g. `['https://app.example']`. A browser
   * always sends its page's origin; a request from another origin is closed with 4003.
   * Requests without an `Origin` header (not from a browser) are accepted. Default: any.
   */
  origins?: Iterable<string>;
  /** Milliseconds to wait for the TCP connection; then close with 1011 `ETIMEDOUT`. Default 10000. */
  connectTimeout?: number;
  /** Bytes queued on the WebSocket before the TCP socket is paused. Default 64 KiB. */
  highWaterMark?: number;
  /** The largest WebSocket message accepted, in bytes (larger ones close with 1009). Default 1 MiB. */
  maxPayload?: number;
  /** Called for each connection opened, refused and closed: for logs. */
  onEvent?: (event: RelayEvent) => void;
}

/** What {@link RelayOptions.onEvent} is told. `client` is the remote address and port. */
export type RelayEvent =
  | { type: 'open'; id: number; client: string; target: string }
  | { type: 'refused'; client: string; code: number; reason: string }
  | {
    type: 'close'; id: number; client: string; target: string;
    /** The WebSocket close code: sent by the relay, or received from the client. */
    code: number; reason: string;
    /** Bytes relayed from the client to the target, and from the target to the client. */
    bytesUp: number; bytesDown: number;
  };

/** A running relay. */
export interface Relay {
  /** The port it listens on (the `server`'s, when attached to one). */
  readonly port: number;
  /** Where clients connect, without the target: e.g. `ws://127.0.0.1:8080/`. */
  readonly url: string;
  /** Connections being relayed now (refused ones are not counted). */
  readonly connections: number;
  /**
   * Stops accepting connections, closes those open (WebSocket code 1001, TCP destroyed) and,
   * unless attached to a `server`, stops listening. Resolves when all of it is done.
   */
  close(): Promise<void>;
}

/** The WebSocket close codes the relay sends. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INTERNAL_ERROR: 1011,
  FORBIDDEN: 4003,
} as const;

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** After the WebSocket closes, how long the target may take to close before it is destroyed. */
const LINGER = 5000;
/** On close(), how long clients get to answer the close frame before they are cut. */
const CLOSE_GRACE = 1000;

interface Target {
  /** As written in the allowlist: lowercase host, port as a number. */
  readonly key: string;
  /** For net.connect: without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
}

const TARGET = /^(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?):([0-9]{1,5})$/i;

/** `host:port` parsed and normalized, or undefined when it is not one. */
function parseTarget(s: string): Target | undefined {
  const m = TARGET.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const name = m[1].toLowerCase();
  const host = name.startsWith('[') ? name.slice(1, -1) : name;
  if (name.startsWith('[') && net.isIPv6(host) === false) return undefined;
  return { key: `${name}:${port}`, host, port };
}

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455 5.5): longer ones are cut. */
function fitReason(s: string): string {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= 123) return s;
  let out = s.slice(0, 120);
  while (enc.encode(out + '...').length > 123) out = out.slice(0, -1);
  return out + '...';
}

/** A target as it may be shown in a reason: printable and not too long. */
const shown = (s: string) => JSON.stringify(s.length > 64 ? s.slice(0, 64) + '...' : s).slice(1, -1);

/** What an error is called in a close reason: node's code (ECONNREFUSED) when there is one. */
function errorName(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code) return code;
  return e instanceof Error ? e.message : String(e);
}

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

/**
 * Starts a relay. Resolves once it is listening (or attached to `server`). Throws a
 * `TypeError` for bad options, such as an allowlist entry that is not `host:port`.
 */
export async function createRelay(options: RelayOptions): Promise<Relay> {
  const allowed = new Set<string>();
  for (const entry of options.allow ?? []) {
    const t = typeof entry === 'string' ? parseTarget(entry) : undefined;
    if (!t) throw new TypeError(`allow: ${JSON.stringify(entry)} is not host:port`);
    allowed.add(t.key);
  }
  if (allowed.size === 0) throw new TypeError('allow: list at least one host:port the relay may connect to');
  if ((options.port === undefined) === (options.server === undefined)) {
    throw new TypeError('give either port or server');
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    throw new TypeError(`port: ${options.port} is not a port number`);
  }
  if (options.path !== undefined && !options.path.startsWith('/')) {
    throw new TypeError(`path: ${JSON.stringify(options.path)} must start with /`);
  }
  const origins = options.origins === undefined ? undefined : new Set(options.origins);
  const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  const host = options.host ?? '127.0.0.1';
  const onEvent = options.onEvent ?? (() => {});

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false, // ciphertext does not compress
    maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    clientTracking: false,
  });

  const owned = options.server === undefined;
  const server = options.server ?? createServer((_req, res) => {
    const body = 'This is a WebSocket-to-TCP relay: open a WebSocket to ?target=host:port\n';
    res.writeHead(426, {
      Connection: 'close', Upgrade: 'websocket',
      'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  });

  /** Open WebSockets, each with what ends it on close(). */
  const live = new Map<WebSocket, () => void>();
  let nextId = 1;
  let relaying = 0;
  let closing = false;

  function refuse(ws: WebSocket, client: string, reason: string): void {
    const why = fitReason(reason);
    live.set(ws, () => {});
    ws.on('error', () => {});
    ws.on('close', () => live.delete(ws));
    ws.on('message', () => {}); // ignored: nothing is relayed
    ws.close(CloseCode.FORBIDDEN, why);
    onEvent({ type: 'refused', client, code: CloseCode.FORBIDDEN, reason: why });
  }

  function relay(ws: WebSocket, client: string, target: Target): void {
    const id = nextId++;
    let bytesUp = 0;
    let bytesDown = 0;
    let pausedForWs = false;
    let closeSent: { code: number; reason: string } | undefined;
    let lingerTimer: ReturnType<typeof setTimeout> | undefined;

    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    relaying++;
    onEvent({ type: 'open', id, client, target: target.key });

    const connectTimer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`connect ETIMEDOUT ${target.key}`), { code: 'ETIMEDOUT' }));
    }, connectTimeout);
    socket.once('connect', () => clearTimeout(connectTimer));

    /** Closes the WebSocket once, unless the client is closing it already. */
    const closeWs = (code: number, reason: string) => {
      if (closeSent || ws.readyState !== ws.OPEN) return;
      closeSent = { code, reason: fitReason(reason) };
      ws.close(closeSent.code, closeSent.reason);
      ws.resume(); // a paused WebSocket could not read the client's answer to the close frame
    };

    live.set(ws, () => {
      closeWs(CloseCode.GOING_AWAY, 'the relay is shutting down');
      socket.destroy();
    });

    // Client to target.
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (closeSent) return;
      if (!isBinary) {
        closeWs(CloseCode.UNSUPPORTED_DATA, 'binary frames only');
        socket.destroy();
        return;
      }
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      bytesUp += chunk.length;
      if (!socket.write(chunk) && !ws.isPaused) {
        // The target is not keeping up: stop reading the WebSocket until its buffer drains.
        ws.pause();
        socket.once('drain', () => ws.resume());
      }
    });

    // Target to client.
    const sent = () => {
      if (pausedForWs && ws.bufferedAmount <= highWaterMark) {
        pausedForWs = false;
        socket.resume();
      }
    };
    socket.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      bytesDown += chunk.length;
      ws.send(chunk, { binary: true }, sent);
      if (ws.bufferedAmount > highWaterMark && !pausedForWs) {
        // The client is not keeping up: stop reading the target until the WebSocket drains.
        pausedForWs = true;
        socket.pause();
      }
    });
    socket.on('end', () => closeWs(CloseCode.NORMAL, 'the target closed the connection'));
    socket.on('error', (e) => closeWs(CloseCode.INTERNAL_ERROR, `${errorName(e)} (${target.key})`));
    socket.on('close', () => {
      clearTimeout(connectTimer);
      clearTimeout(lingerTimer);
      closeWs(CloseCode.NORMAL, 'the target closed the connection');
    });

    ws.on('error', () => {}); // ws closes the connection itself (e.g. 1009, bad frames); 'close' follows
    ws.on('close', (code: number, reason: Buffer) => {
      live.delete(ws);
      relaying--;
      if (socket.connecting || closing) socket.destroy();
      else if (!socket.destroyed) {
        socket.end();
        socket.resume(); // what still arrives is dropped, so that the target's FIN is seen
        lingerTimer = setTimeout(() => socket.destroy(), LINGER);
        lingerTimer.unref?.();
      }
      const by = closeSent ?? { code, reason: reason.toString() };
      onEvent({ type: 'close', id, client, target: target.key, code: by.code, reason: by.reason, bytesUp, bytesDown });
    });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    if (options.path !== undefined && pathname !== options.path) {
      // On a shared server, other listeners may own this path.
      if (owned || server.listenerCount('upgrade') <= 1) rejectUpgrade(socket, 404, `no relay at ${shown(pathname)}`);
      return;
    }
    if (closing) return rejectUpgrade(socket, 503, 'the relay is shutting down');
    const client = remote(req);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const origin = req.headers.origin;
      if (origins !== undefined && origin !== undefined && !origins.has(origin)) {
        return refuse(ws, client, `origin ${shown(origin)} is not allowed`);
      }
      const given = query.getAll('target');
      if (given.length !== 1) {
        return refuse(ws, client, given.length === 0 ? 'no target: connect to ?target=host:port' : 'give one target');
      }
      const target = parseTarget(given[0]);
      if (!target || !allowed.has(target.key)) return refuse(ws, client, `target ${shown(given[0])} is not allowed`);
      relay(ws, client, target);
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
    get connections() { return relaying; },
    async close() {
      if (closing) return;
      closing = true;
      server.off('upgrade', onUpgrade);
      const stopped = owned
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : Promise.resolve();
      const sockets = [...live.keys()];
      for (const [ws, shutdown] of [...live]) {
        shutdown();
        if (ws.readyState === ws.OPEN) ws.close(CloseCode.GOING_AWAY, 'the relay is shutting down');
      }
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
