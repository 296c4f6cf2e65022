/**
 * A Wisp client: many TCP streams over one WebSocket, each a {@link Transport} that
 * `connect()` takes like any other.
 *
 * Wisp (MercuryWorkshop's wisp-protocol, versions 1 and 2) is what browser users run when a
 * page needs TCP: a Wisp server (wisp-js, wisp-server-node, epoxy-server, ...) opens the TCP
 * connections, and one WebSocket carries all of them, with flow control and close reasons.
 * The TLS connection still runs end to end in the page; the server only ever sees ciphertext.
 *
 * ```ts
 * import { connect, WispClient } from 'openssl-tls-wasm';
 * const wisp = new WispClient('wss://proxy.example/wisp/');
 * const tls = await connect(wisp.connect('example.com', 443), { servername: 'example.com' });
 * ```
 *
 * What this client does about the protocol:
 * - **One WebSocket per client**, opened on the first `connect()` and shared by every stream.
 *   When it drops, every open stream fails (`ECONNRESET`) and the next `connect()` opens a new one.
 * - **Versions.** It asks for version 2 (the `wisp-v2` subprotocol): a server that answers
 *   with INFO speaks v2, one that answers with CONTINUE speaks v1. A server that refuses the
 *   subprotocol is tried once more without it. `version: 1` skips v2 altogether.
 * - **Password authentication (v2).** Sent when the server offers it and `password` is given;
 *   a server that requires it without credentials fails with `ERR_WISP_AUTH_REQUIRED`, one that
 *   refuses them with `ERR_WISP_AUTH_FAILED`.
 * - **Sending** honours the server's credit: never more DATA packets on a stream than its last
 *   CONTINUE allowed, so `writer.write()` waits while the server's buffer for that stream is full.
 * - **Receiving** cannot be paused per stream: Wisp has no receive window, and pausing the
 *   WebSocket would stall every other stream on it. Each stream therefore queues what its
 *   reader has not taken yet, up to `maxBuffered` bytes; a server that sends more than that
 *   fails the stream with `ERR_WISP_OVERRUN` (and is told so with CLOSE 0x81) instead of the
 *   client holding memory without bound.
 * - **Close reasons** become errors with node's codes where one fits (`ECONNREFUSED`,
 *   `EHOSTUNREACH`, `ENOTFOUND`, `ETIMEDOUT`, `EACCES`) and `ERR_WISP_*` otherwise; each
 *   carries the reason's number and name. A voluntary close (0x02) ends the readable cleanly.
 * - **Malformed packets** (short, truncated, text frames) fail every stream with
 *   `ERR_WISP_PROTOCOL` and close the WebSocket with the reason `malformed Wisp packet`.
 * @module
 */
import type { Transport, WebSocketLike } from './transports.js';

// ------------------------------------------------------------ the wire format

const CONNECT = 0x01;
const DATA = 0x02;
const CONTINUE = 0x03;
const CLOSE = 0x04;
const INFO = 0x05;
const PACKET_NAMES: Record<number, string> = { 1: 'CONNECT', 2: 'DATA', 3: 'CONTINUE', 4: 'CLOSE', 5: 'INFO' };
const STREAM_TCP = 0x01;
const HEADER = 5; // type (u8) + stream id (u32 little-endian)

const EXT_PASSWORD = 0x02;
const EXT_KEY = 0x03;
const EXT_MOTD = 0x04;

const REASON_VOLUNTARY = 0x02;
const REASON_CLIENT_ERROR = 0x81;

/**
 * Each close reason of the protocol: its name in the specification's list, node's error code
 * where one means the same thing, else `ERR_WISP_<NAME>`, and what it means.
 */
const REASONS: Record<number, readonly [name: string, code: string, meaning: string]> = {
  0x01: ['Unknown', 'ERR_WISP_UNKNOWN', 'closed for an unspecified reason'],
  0x02: ['Voluntary', 'EPIPE', 'closed by the other side'],
  0x03: ['NetworkError', 'ERR_WISP_NETWORK_ERROR', 'closed by a network error'],
  0x04: ['IncompatibleExtensions', 'ERR_WISP_INCOMPATIBLE_EXTENSIONS', 'the server and this client have incompatible extensions'],
  0x41: ['InvalidInfo', 'ERR_WISP_INVALID_INFO', 'the server refused the destination as invalid (a reserved address or a bad port)'],
  0x42: ['UnreachableHost', 'EHOSTUNREACH', 'the destination host is unreachable'],
  0x43: ['NoResponse', 'ETIMEDOUT', 'connecting timed out: the destination did not respond'],
  0x44: ['ConnRefused', 'ECONNREFUSED', 'the destination refused the connection'],
  0x47: ['TransferTimeout', 'ETIMEDOUT', 'the TCP transfer timed out'],
  0x48: ['HostBlocked', 'EACCES', 'the destination is blocked by the server\'s policy'],
  0x49: ['ConnThrottled', 'ERR_WISP_THROTTLED', 'the server is throttling connections'],
  0x81: ['ClientError', 'ERR_WISP_CLIENT_ERROR', 'closed for a client error'],
  0xc0: ['AuthBadPassword', 'ERR_WISP_AUTH_FAILED', 'the server refused the username and password'],
  0xc1: ['AuthBadSignature', 'ERR_WISP_AUTH_FAILED', 'the server refused the key signature'],
  0xc2: ['AuthMissingCredentials', 'ERR_WISP_AUTH_REQUIRED', 'the server requires credentials and none were sent'],
};

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
const isIpLiteral = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
const encoder = new TextEncoder();

function packet(type: number, stream: number, payload: Uint8Array | number[] = []): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, stream, true);
  out.set(payload, HEADER);
  return out;
}

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);

// ------------------------------------------------------------ errors

/** What a {@link WispError} knows besides its message. */
export interface WispErrorDetails {
  code: string;
  /** The Wisp close reason the server sent, e.g. 0x44. */
  closeReason?: number;
  /** The stream's destination. */
  host?: string;
  port?: number;
  cause?: unknown;
}

/**
 * A Wisp failure: a stream the server closed with a reason, the WebSocket dropping or not
 * opening, a failed handshake or authentication, a malformed packet, or a server that sent
 * more than a stream may queue.
 *
 * `code` is node's where one fits: `ECONNREFUSED`, `EHOSTUNREACH`, `ENOTFOUND` (a name the
 * server could not resolve), `ETIMEDOUT`, `EACCES` (blocked by the server's policy),
 * `ECONNRESET` (the WebSocket dropped); otherwise `ERR_WISP_*`, such as
 * `ERR_WISP_NETWORK_ERROR`, `ERR_WISP_AUTH_REQUIRED`, `ERR_WISP_PROTOCOL`, `ERR_WISP_OVERRUN`.
 *
 * @example
 * ```ts
 * try {
 *   await connect(wisp.connect('127.0.0.1', 9), { servername: 'localhost' });
 * } catch (e) {
 *   // TlsError: the transport failed: the Wisp server could not connect to 127.0.0.1:9:
 *   //   the destination refused the connection (0x44 ConnRefused)
 *   e.code;                          // 'ECONNREFUSED'
 *   e.cause.closeReasonName;         // 'ConnRefused'
 * }
 * ```
 */
export class WispError extends Error {
  override readonly name = 'WispError';
  readonly code: string;
  /** The Wisp close reason the server sent (e.g. 0x44), if this error comes from one. */
  readonly closeReason: number | undefined;
  /** Its name in the protocol's list (e.g. `'ConnRefused'`), if known. */
  readonly closeReasonName: string | undefined;
  /** The stream's destination, when the error belongs to one stream. */
  readonly host: string | undefined;
  readonly port: number | undefined;

  constructor(message: string, details: WispErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.closeReason = details.closeReason;
    this.closeReasonName = details.closeReason === undefined ? undefined : REASONS[details.closeReason]?.[0];
    this.host = details.host;
    this.port = details.port;
  }
}

/**
 * The error for close reason `reason` on the stream to host:port (or, without a host, the
 * whole connection). `opening`: nothing had arrived on the stream yet.
 */
function reasonError(reason: number, where: { host?: string; port?: number }, opening = false): WispError {
  const known = REASONS[reason];
  let [name, code, meaning] = known ?? [`Reason${hex(reason)}`, `ERR_WISP_CLOSE_${hex(reason).toUpperCase().replace('0X', '0x')}`, 'closed for a reason this client does not know'];
  // Wisp has one reason for "unreachable" and "does not resolve": for a name, the latter is
  // the likely one, and node says ENOTFOUND for it.
  if (reason === 0x42 && where.host !== undefined && !isIpLiteral(where.host)) {
    code = 'ENOTFOUND';
    meaning = 'the destination\'s name does not resolve, or the host is unreachable';
  }
  const target = where.host === undefined ? 'the Wisp server closed the connection'
    : `the Wisp server ${opening ? 'could not connect to' : 'closed the stream to'} ${where.host}:${where.port}`;
  return new WispError(`${target}: ${meaning} (${hex(reason)} ${name})`, { code, closeReason: reason, ...where });
}

// ------------------------------------------------------------ the client

/** Makes the client's WebSocket, asking for these subprotocols (`['wisp-v2']`, or none). */
export type WebSocketFactory = (protocols: string[]) => WebSocketLike;

/** A WebSocket class: the global one, or the `ws` package's. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface WispClientOptions {
  /**
   * The WebSocket class to use with a URL (default: the global `WebSocket`, in browsers,
   * Deno, Bun and Node 22+). On Node 20, pass the `ws` package's.
   */
  WebSocket?: WebSocketConstructor;
  /** The newest Wisp version to use: 2 (default; v1 servers still work) or 1. */
  version?: 1 | 2;
  /** The username for Wisp v2 password authentication (default `''`). */
  username?: string;
  /** The password for Wisp v2 password authentication, sent only to a server that offers it. */
  password?: string;
  /** Milliseconds to open the WebSocket and finish the Wisp handshake (default 10000). */
  connectTimeout?: number;
  /**
   * Bytes a stream's readable holds before it reports backpressure, and bytes the WebSocket
   * may buffer before writes wait (default 64 KiB).
   */
  highWaterMark?: number;
  /**
   * The most a stream queues for a reader that is behind, in bytes (default 1 MiB). The server
   * cannot be asked to pause one stream, so past this the stream fails with `ERR_WISP_OVERRUN`.
   * `Infinity` turns the limit off.
   */
  maxBuffered?: number;
}

/** What the server said in the handshake. */
export interface WispServerInfo {
  /** The protocol version in use: 1 or 2. */
  readonly version: 1 | 2;
  /** The server's message of the day (v2 MOTD extension), if it sent one. */
  readonly motd: string | undefined;
  /** The extension ids the server announced (v2), e.g. `[0x01, 0x04]`. */
  readonly extensions: readonly number[];
  /** Each new stream's initial credit: how many DATA packets the server buffers per stream. */
  readonly bufferSize: number;
}

const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
const DEFAULT_MAX_BUFFERED = 1024 * 1024;
/** The largest DATA payload sent; larger writes are split (servers buffer by packets). */
const MAX_PACKET = 64 * 1024;

/**
 * A client for one Wisp server. It opens the WebSocket on the first {@link connect} and
 * keeps it for every later stream; when the WebSocket drops, the open streams fail and the
 * next `connect()` opens a new one.
 *
 * @example In a browser, against a wisp-js or wisp-server-node server:
 * ```ts
 * import { connect, WispClient } from 'openssl-tls-wasm';
 * const wisp = new WispClient('wss://proxy.example/wisp/');
 * const tls = await connect(wisp.connect('example.com', 443), { servername: 'example.com' });
 * ```
 *
 * @example On Node 20 (no global WebSocket), with the `ws` package, and with credentials:
 * ```ts
 * import { WebSocket } from 'ws';
 * const wisp = new WispClient('ws://127.0.0.1:5001/', { WebSocket, username: 'me', password: 'secret' });
 * const info = await wisp.ready();           // { version: 2, motd, extensions, bufferSize }
 * ```
 *
 * @example With a factory, for headers or any other WebSocket option:
 * ```ts
 * const wisp = new WispClient((protocols) => new WebSocket('wss://proxy.example/wisp/', protocols, { headers }));
 * ```
 */
export class WispClient {
  readonly #factory: WebSocketFactory;
  readonly #label: string;
  readonly #options: Options;
  #session: Session | undefined;
  #opened = 0;

  constructor(server: string | URL | WebSocketFactory, options: WispClientOptions = {}) {
    const {
      version = 2, username = '', password, connectTimeout = DEFAULT_TIMEOUT,
      highWaterMark = DEFAULT_HIGH_WATER_MARK, maxBuffered = DEFAULT_MAX_BUFFERED,
    } = options;
    if (version !== 1 && version !== 2) throw new TypeError(`version must be 1 or 2, not ${String(version)}`);
    if (encoder.encode(username).length > 255) throw new TypeError('username: at most 255 bytes of UTF-8');
    if (password !== undefined && encoder.encode(password).length > 65535) throw new TypeError('password: at most 65535 bytes of UTF-8');
    for (const [name, v] of [['connectTimeout', connectTimeout], ['highWaterMark', highWaterMark], ['maxBuffered', maxBuffered]] as const) {
      if (typeof v !== 'number' || !(v > 0)) throw new TypeError(`${name} must be a positive number`);
    }
    this.#options = { version, username, password, connectTimeout, highWaterMark, maxBuffered };
    if (typeof server === 'function') {
      this.#factory = server;
      this.#label = 'the Wisp server';
    } else {
      const url = new URL(String(server));
      if (!/^(wss?|https?):$/.test(url.protocol)) throw new TypeError(`a Wisp server URL is ws: or wss:, not ${url.protocol}`);
      url.protocol = url.protocol.replace(/^http/, 'ws');
      const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (!Ctor) throw new TypeError('this runtime has no global WebSocket: pass one as the WebSocket option (e.g. the ws package\'s)');
      const href = url.href;
      this.#factory = (protocols) => new Ctor(href, protocols);
      // Credentials in the URL stay out of error messages.
      this.#label = `the Wisp server at ${url.protocol}//${url.host}${url.pathname}`;
    }
  }

  /**
   * Opens a TCP stream to `host`:`port` through the server, at once: the CONNECT goes out
   * when the WebSocket is ready, and data written before then waits for it. Failures (the
   * server refusing, the WebSocket not opening) arrive as errors on the stream.
   */
  connect(host: string, port: number): WispStream {
    if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`port must be an integer from 1 to 65535, not ${String(port)}`);
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    return new WispStream(this.#current(), bare, port, this.#options);
  }

  /**
   * Opens the WebSocket if it is not open and resolves once the handshake is done, with what
   * the server announced. Rejects as a stream would (timeout, authentication, ...).
   */
  ready(): Promise<WispServerInfo> {
    return this.#current().ready;
  }

  /** The handshake's result while a WebSocket is open and ready, else undefined. */
  get info(): WispServerInfo | undefined {
    return this.#session?.info;
  }

  /** How many WebSockets this client has opened (a new one after each drop). */
  get connections(): number {
    return this.#opened;
  }

  /** The streams open on the current WebSocket. */
  get streams(): number {
    return this.#session?.streamCount ?? 0;
  }

  /**
   * Closes the WebSocket; streams still open fail with `ECONNRESET`. A later `connect()`
   * opens a new one.
   */
  close(): void {
    this.#session?.fail(new WispError(`the WispClient was closed (${this.#label})`, { code: 'ECONNRESET' }), 1000);
    this.#session = undefined;
  }

  #current(): Session {
    let session = this.#session;
    if (!session || session.dead) {
      session = new Session(this.#factory, this.#label, this.#options, () => {
        if (this.#session === session) this.#session = undefined;
      }, () => { this.#opened++; });
      this.#session = session;
      session.start();
    }
    return session;
  }
}

type SessionState = 'opening' | 'handshake' | 'ready' | 'closed';
/** The client's options with their defaults filled in. */
type Options = Required<Omit<WispClientOptions, 'WebSocket' | 'password'>> & { password: string | undefined };

/** One WebSocket and the streams on it. */
class Session {
  state: SessionState = 'opening';
  info: WispServerInfo | undefined;
  /** What ended the session. */
  failure: Error | undefined;
  readonly ready: Promise<WispServerInfo>;
  readonly #streams = new Map<number, StreamCore>();
  readonly #pending: StreamCore[] = [];
  #ws: WebSocketLike | undefined;
  #resolveReady!: (info: WispServerInfo) => void;
  #rejectReady!: (e: Error) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;
  #serverInfo: { version: number; extensions: number[]; motd: string | undefined } | undefined;
  #sentCredentials = false;
  #triedWithoutSubprotocol = false;

  constructor(
    readonly factory: WebSocketFactory,
    readonly label: string,
    readonly options: Options,
    readonly onDead: () => void,
    readonly onOpen: () => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // the streams report it
  }

  /** Opens the WebSocket; the handshake must be done within connectTimeout. */
  start(): void {
    this.#timer = setTimeout(() => {
      const what = this.state === 'opening' ? 'did not open the WebSocket' : 'did not finish the Wisp handshake';
      this.fail(new WispError(`${this.label} ${what} within ${this.options.connectTimeout} ms`, { code: 'ETIMEDOUT' }), 1000);
    }, this.options.connectTimeout);
    this.#open(this.options.version === 2 ? ['wisp-v2'] : []);
  }

  get dead(): boolean {
    return this.state === 'closed';
  }

  get streamCount(): number {
    return this.#streams.size + this.#pending.length;
  }

  #open(protocols: string[]): void {
    let ws: WebSocketLike;
    try {
      ws = this.factory(protocols);
      ws.binaryType = 'arraybuffer';
    } catch (e) {
      this.fail(new WispError(`could not create the WebSocket for ${this.label}: ${e instanceof Error ? e.message : String(e)}`,
        { code: 'ERR_WISP_WEBSOCKET', cause: e }));
      return;
    }
    this.#ws = ws;
    this.onOpen();
    ws.addEventListener('error', () => {}); // the close event that follows says what happened
    ws.addEventListener('open', () => {
      if (this.#ws === ws && this.state === 'opening') this.state = 'handshake';
    });
    ws.addEventListener('message', (ev: { data: unknown }) => {
      if (this.#ws !== ws || this.state === 'closed') return;
      if (this.state === 'opening') this.state = 'handshake'; // a polyfill that skipped 'open'
      try {
        this.#receive(ev.data);
      } catch (e) {
        // A bug here must not become an uncaught exception in the WebSocket's event handler.
        this.fail(new WispError(`the Wisp client failed on a packet: ${e instanceof Error ? e.message : String(e)}`,
          { code: 'ERR_WISP_PROTOCOL', cause: e }), 1011, 'Wisp client error');
      }
    });
    ws.addEventListener('close', (ev: { code?: number; reason?: string }) => {
      if (this.#ws !== ws || this.state === 'closed') return;
      const how = `code ${ev.code ?? 'unknown'}${ev.reason ? `: ${ev.reason}` : ''}`;
      if (this.state === 'opening') {
        // A server that does not take the wisp-v2 subprotocol fails the upgrade: try v1 once.
        if (protocols.length > 0 && !this.#triedWithoutSubprotocol) {
          this.#triedWithoutSubprotocol = true;
          this.#open([]);
          return;
        }
        this.fail(new WispError(`could not open the WebSocket to ${this.label} (${how})`, { code: 'ECONNREFUSED' }));
      } else if (this.state === 'handshake') {
        const hint = this.#sentCredentials ? '; it had just been sent the username and password: were they refused?' : '';
        this.fail(new WispError(`${this.label} closed the WebSocket during the Wisp handshake (${how})${hint}`,
          { code: this.#sentCredentials ? 'ERR_WISP_AUTH_FAILED' : 'ECONNRESET' }));
      } else {
        this.fail(new WispError(`the WebSocket to ${this.label} closed (${how}); every stream on it is lost`, { code: 'ECONNRESET' }));
      }
    });
  }

  /** Sends one packet; false (and the session failed) if the WebSocket would not take it. */
  send(bytes: Uint8Array): boolean {
    if (this.state !== 'ready' || !this.#ws) return false;
    try {
      this.#ws.send(bytes);
      return true;
    } catch (e) {
      this.fail(new WispError(`the WebSocket to ${this.label} refused a packet: ${e instanceof Error ? e.message : String(e)}`,
        { code: 'ECONNRESET', cause: e }));
      return false;
    }
  }

  /** Waits while the WebSocket holds more than highWaterMark bytes it has not sent. */
  async drain(): Promise<void> {
    while (this.state === 'ready' && (this.#ws?.bufferedAmount ?? 0) > this.options.highWaterMark) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Registers a stream: CONNECT now if the handshake is done, else when it is. */
  add(stream: StreamCore): void {
    if (this.state === 'closed') return;
    if (this.state === 'ready') this.#start(stream);
    else this.#pending.push(stream);
  }

  /** Forgets a stream; sends CLOSE with `reason` if the server knows it. */
  remove(stream: StreamCore, reason?: number): void {
    const i = this.#pending.indexOf(stream);
    if (i >= 0) {
      this.#pending.splice(i, 1);
      return;
    }
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    if (reason !== undefined) this.send(packet(CLOSE, stream.id, [reason]));
  }

  #start(stream: StreamCore): void {
    let id = this.#nextId;
    while (id === 0 || this.#streams.has(id)) id = id >= 0xffffffff ? 1 : id + 1;
    this.#nextId = id >= 0xffffffff ? 1 : id + 1;
    stream.id = id;
    stream.credit = this.info!.bufferSize;
    this.#streams.set(id, stream);
    const host = encoder.encode(stream.host);
    const payload = new Uint8Array(3 + host.length);
    payload[0] = STREAM_TCP;
    new DataView(payload.buffer).setUint16(1, stream.port, true);
    payload.set(host, 3);
    if (this.send(packet(CONNECT, id, payload))) stream.started();
  }

  /**
   * Ends the session: every stream fails with `err`, the WebSocket is closed (1002 for a
   * protocol error where the WebSocket allows it: the WHATWG one takes only 1000 and
   * 3000-4999, so there it is 1000 with the reason), and the client will open a new one on
   * the next connect().
   */
  fail(err: Error, wsCode = 1000, wsReason = ''): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.failure = err;
    clearTimeout(this.#timer);
    this.#rejectReady(err);
    const streams = [...this.#pending, ...this.#streams.values()];
    this.#pending.length = 0;
    this.#streams.clear();
    for (const s of streams) s.fail(err);
    const ws = this.#ws;
    if (ws) {
      try {
        ws.close(wsCode, wsReason);
      } catch {
        try { ws.close(1000, wsReason); } catch { /* already closing */ }
      }
    }
    this.onDead();
  }

  #protocolError(what: string): void {
    this.fail(new WispError(`${this.label} sent a malformed packet: ${what}`, { code: 'ERR_WISP_PROTOCOL' }), 1002, 'malformed Wisp packet');
  }

  #receive(data: unknown): void {
    let bytes: Uint8Array;
    if (typeof data === 'string') return this.#protocolError('a text frame (Wisp packets are binary frames)');
    if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]') bytes = new Uint8Array(data as ArrayBuffer);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else return this.#protocolError(`a message of type ${Object.prototype.toString.call(data)} (expected binary data)`);
    if (bytes.length < HEADER) return this.#protocolError(`a packet of ${bytes.length} bytes, shorter than the 5-byte header`);
    const type = bytes[0];
    const id = u32(bytes, 1);
    const payload = bytes.subarray(HEADER);
    if (this.state === 'handshake') this.#handshakePacket(type, id, payload);
    else if (this.state === 'ready') this.#packet(type, id, payload);
  }

  #handshakePacket(type: number, id: number, payload: Uint8Array): void {
    const name = PACKET_NAMES[type] ?? `type ${hex(type)}`;
    if (id !== 0) return this.#protocolError(`a ${name} packet for stream ${id} before the handshake was done`);
    switch (type) {
      case INFO:
        if (this.#serverInfo) return this.#protocolError('a second INFO packet during the handshake');
        if (this.options.version === 1) return; // we did not offer v2: wait for CONTINUE
        return this.#info(payload);
      case CONTINUE: {
        if (payload.length < 4) return this.#protocolError(`a CONTINUE packet with ${payload.length} payload bytes (needs 4)`);
        const bufferSize = u32(payload, 0);
        const s = this.#serverInfo;
        this.info = Object.freeze({
          version: s ? 2 : 1, motd: s?.motd, extensions: Object.freeze(s?.extensions ?? []), bufferSize,
        } as const);
        this.state = 'ready';
        clearTimeout(this.#timer);
        this.#resolveReady(this.info);
        for (const stream of this.#pending.splice(0)) this.#start(stream);
        return;
      }
      case CLOSE:
        if (payload.length < 1) return this.#protocolError('a CLOSE packet without a reason');
        return this.fail(reasonError(payload[0], {}), 1000);
      default:
        return this.#protocolError(`a ${name} packet during the handshake (expected INFO or CONTINUE)`);
    }
  }

  /** The server's INFO (v2): parse its extensions, check authentication, answer with ours. */
  #info(payload: Uint8Array): void {
    if (payload.length < 2) return this.#protocolError(`an INFO packet of ${payload.length} bytes (needs at least 2)`);
    const extensions: Array<{ id: number; data: Uint8Array }> = [];
    for (let i = 2; i < payload.length;) {
      if (payload.length - i < 5) return this.#protocolError('an INFO packet whose last extension record is cut short');
      const id = payload[i];
      const len = u32(payload, i + 1);
      if (len > payload.length - i - 5) {
        return this.#protocolError(`an INFO packet whose extension ${hex(id)} claims ${len} bytes but has ${payload.length - i - 5}`);
      }
      extensions.push({ id, data: payload.subarray(i + 5, i + 5 + len) });
      i += 5 + len;
    }
    const find = (id: number) => extensions.find((e) => e.id === id);
    const pw = find(EXT_PASSWORD);
    const key = find(EXT_KEY);
    const motd = find(EXT_MOTD);
    // Draft 2 announced password auth with no payload (always required); later drafts send a
    // "required" byte. Key auth always has one.
    const passwordRequired = pw !== undefined && (pw.data.length === 0 || pw.data[0] !== 0);
    const keyRequired = key !== undefined && key.data.length > 0 && key.data[0] !== 0;
    const havePassword = this.options.password !== undefined;
    if ((passwordRequired && !havePassword) || (keyRequired && !(pw && havePassword))) {
      const what = pw ? 'a username and password (Wisp v2 password authentication): pass the username and password options'
        : 'key authentication, which this client does not support';
      this.fail(new WispError(`${this.label} requires ${what}`, { code: 'ERR_WISP_AUTH_REQUIRED' }), 1000);
      return;
    }
    this.#serverInfo = {
      version: payload[0],
      extensions: extensions.map((e) => e.id),
      motd: motd ? new TextDecoder().decode(motd.data) : undefined,
    };
    const ours: Uint8Array[] = [];
    if (pw && havePassword) {
      const user = encoder.encode(this.options.username);
      const pass = encoder.encode(this.options.password);
      const data = new Uint8Array(3 + user.length + pass.length);
      data[0] = user.length;
      new DataView(data.buffer).setUint16(1, pass.length, true);
      data.set(user, 3);
      data.set(pass, 3 + user.length);
      ours.push(extension(EXT_PASSWORD, data));
      this.#sentCredentials = true;
    }
    if (motd) ours.push(extension(EXT_MOTD, new Uint8Array(0)));
    const body = new Uint8Array(2 + ours.reduce((n, e) => n + e.length, 0));
    body[0] = 2;
    body[1] = 0;
    let at = 2;
    for (const e of ours) { body.set(e, at); at += e.length; }
    try {
      this.#ws!.send(packet(INFO, 0, body));
    } catch (e) {
      this.fail(new WispError(`could not answer ${this.label}'s INFO: ${e instanceof Error ? e.message : String(e)}`, { code: 'ECONNRESET', cause: e }));
    }
  }

  #packet(type: number, id: number, payload: Uint8Array): void {
    const stream = this.#streams.get(id);
    switch (type) {
      case DATA:
        if (id === 0) return this.#protocolError('a DATA packet for stream 0');
        // A stream closed here may still get what the server sent before it saw our CLOSE.
        stream?.receive(payload);
        return;
      case CONTINUE:
        if (payload.length < 4) return this.#protocolError(`a CONTINUE packet with ${payload.length} payload bytes (needs 4)`);
        stream?.setCredit(u32(payload, 0));
        return;
      case CLOSE:
        if (payload.length < 1) return this.#protocolError(`a CLOSE packet for stream ${id} without a reason`);
        if (id === 0) return this.fail(reasonError(payload[0], {}), 1000);
        if (stream) {
          this.#streams.delete(id);
          stream.remoteClose(payload[0]);
        }
        return;
      default:
        // A late INFO (draft-2 servers send it after CONTINUE), or a packet of an extension
        // this client does not use: the protocol says to drop it.
        return;
    }
  }
}

function extension(id: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = id;
  new DataView(out.buffer).setUint32(1, data.length, true);
  out.set(data, 5);
  return out;
}

// ------------------------------------------------------------ streams

/** One stream's state, shared by its readable and writable. */
class StreamCore {
  id = 0;
  credit = 0;
  state: 'pending' | 'open' | 'closed' = 'pending';
  peakBuffered = 0;
  error: Error | undefined;
  readController!: ReadableStreamDefaultController<Uint8Array>;
  writeController!: WritableStreamDefaultController;
  #pendingError: Error | undefined;
  #readDone = false;
  #received = false;
  #wake: Array<() => void> = [];
  #resolveClosed!: () => void;
  #rejectClosed!: (e: Error) => void;
  readonly closed: Promise<void>;

  constructor(readonly session: Session, readonly host: string, readonly port: number, readonly options: Options) {
    this.closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {}); // the streams report it too
  }

  get where() {
    return { host: this.host, port: this.port };
  }

  get buffered(): number {
    if (this.#readDone) return 0;
    return Math.max(0, this.options.highWaterMark - (this.readController.desiredSize ?? this.options.highWaterMark));
  }

  started(): void {
    if (this.state === 'pending') this.state = 'open';
  }

  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  /** Resolves when credit arrives or the stream closes. */
  waitForCredit(): Promise<void> {
    return new Promise((resolve) => this.#wake.push(resolve));
  }

  setCredit(n: number): void {
    this.credit = n;
    if (n > 0) this.#notify();
  }

  receive(payload: Uint8Array): void {
    if (this.#readDone || this.state === 'closed' || payload.length === 0) return;
    this.#received = true;
    this.readController.enqueue(payload);
    const queued = this.buffered;
    if (queued > this.peakBuffered) this.peakBuffered = queued;
    if (queued > this.options.maxBuffered) {
      const err = new WispError(`the Wisp server sent more on the stream to ${this.host}:${this.port} than its reader took: `
        + `${queued} bytes waiting, over the ${this.options.maxBuffered}-byte limit (Wisp cannot pause one stream: `
        + 'read it faster, or raise maxBuffered)', { code: 'ERR_WISP_OVERRUN', ...this.where });
      this.session.remove(this, REASON_CLIENT_ERROR);
      this.fail(err, true);
    }
  }

  /** The server closed the stream. A voluntary close ends the readable after its data. */
  remoteClose(reason: number): void {
    if (reason === REASON_VOLUNTARY) {
      this.#end(new WispError(`the Wisp server closed the stream to ${this.host}:${this.port}`, { code: 'EPIPE', closeReason: reason, ...this.where }));
      return;
    }
    // Closed before anything arrived: most likely the server could not open it, and says why.
    this.fail(reasonError(reason, this.where, !this.#received));
  }

  /** Ends the stream cleanly: the readable closes after its data, writes fail with `err`. */
  #end(writeError: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.error = writeError;
    this.#notify();
    try { this.writeController.error(writeError); } catch { /* already errored */ }
    if (!this.#readDone) {
      this.#readDone = true;
      try { this.readController.close(); } catch { /* already closed */ }
    }
    this.#resolveClosed();
  }

  /**
   * Fails the stream. Data already queued is still delivered before the error unless
   * `immediate` (an overrun drops it), so a peer's last TLS alert is not lost.
   */
  fail(err: Error, immediate = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.error = err;
    this.#notify();
    try { this.writeController.error(err); } catch { /* already errored */ }
    if (!this.#readDone) {
      if (immediate || this.buffered === 0) {
        this.#readDone = true;
        try { this.readController.error(err); } catch { /* already closed */ }
      } else {
        this.#pendingError = err;
      }
    }
    this.#rejectClosed(err);
  }

  /** The readable's pull: raise an error held back until the queue was read. */
  pull(): void {
    if (this.#pendingError && this.buffered === 0) {
      const err = this.#pendingError;
      this.#pendingError = undefined;
      this.#readDone = true;
      try { this.readController.error(err); } catch { /* already closed */ }
    }
  }

  /** Closed from this side (writable closed, readable cancelled, or aborted). */
  closeLocally(reason?: unknown): void {
    if (this.state === 'closed') {
      this.#readDone = true;
      return;
    }
    this.session.remove(this, REASON_VOLUNTARY);
    const err = new WispError(`the Wisp stream to ${this.host}:${this.port} is closed`, { code: 'EPIPE', ...this.where });
    if (reason !== undefined && !this.#readDone) {
      this.#readDone = true;
      try { this.readController.error(reason); } catch { /* already closed */ }
    }
    this.#end(err);
  }

  cancelled(): void {
    this.#readDone = true;
  }
}

/**
 * One TCP stream through a Wisp server: a {@link Transport}, so `connect(stream, options)`
 * runs TLS over it. Made by {@link WispClient.connect}.
 *
 * Wisp has no half-close: closing the writable closes the whole stream (CLOSE 0x02), as
 * cancelling the readable does. The server closing it voluntarily ends the readable.
 *
 * @example Raw bytes, without TLS:
 * ```ts
 * const stream = wisp.connect('127.0.0.1', 7);
 * const writer = stream.writable.getWriter();
 * await writer.write(new TextEncoder().encode('ping'));   // waits while the server's credit is used up
 * const { value } = await stream.readable.getReader().read();
 * ```
 */
export class WispStream implements Transport {
  /** What the server sends on this stream; ends when it closes the stream voluntarily. */
  readonly readable: ReadableStream<Uint8Array>;
  /** What to send; each write waits for the server's credit. Closing it closes the stream. */
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves when the stream has closed cleanly, rejects with the error that ended it. */
  readonly closed: Promise<void>;
  /** The destination, as sent in CONNECT. */
  readonly host: string;
  readonly port: number;
  readonly #core: StreamCore;

  /** @internal Use {@link WispClient.connect}. */
  constructor(session: Session, host: string, port: number, options: Options) {
    const core = new StreamCore(session, host, port, options);
    this.#core = core;
    this.host = host;
    this.port = port;
    this.closed = core.closed;
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => { core.readController = c; },
      pull: () => core.pull(),
      cancel: () => {
        core.cancelled();
        core.closeLocally();
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark }));
    this.writable = new WritableStream<Uint8Array>({
      start: (c) => { core.writeController = c; },
      write: (chunk) => this.#write(chunk),
      close: () => core.closeLocally(),
      abort: (reason) => core.closeLocally(reason ?? new WispError('the stream was aborted', { code: 'ECONNABORTED' })),
    }, new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark }));
    session.add(core);
    if (session.dead) core.fail(session.failure ?? new WispError('the Wisp session is closed', { code: 'ECONNRESET' }));
  }

  /** The stream id (0 until the CONNECT has been sent). */
  get id(): number {
    return this.#core.id;
  }

  /** DATA packets the server will still take on this stream before its next CONTINUE. */
  get credit(): number {
    return this.#core.credit;
  }

  /** Bytes received and not yet read. */
  get bufferedAmount(): number {
    return this.#core.buffered;
  }

  /** The most that has been queued for the reader at once, in bytes. */
  get peakBufferedAmount(): number {
    return this.#core.peakBuffered;
  }

  async #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('write() takes Uint8Array chunks');
    const core = this.#core;
    try {
      await core.session.ready;
    } catch (e) {
      throw core.error ?? e;
    }
    for (let at = 0; at < chunk.length; at += MAX_PACKET) {
      while (core.state === 'open' && core.credit <= 0) await core.waitForCredit();
      if (core.state !== 'open') throw core.error ?? new WispError('the Wisp stream is closed', { code: 'EPIPE', ...core.where });
      core.credit--;
      if (!core.session.send(packet(DATA, core.id, chunk.subarray(at, at + MAX_PACKET)))) {
        throw core.error ?? new WispError('the Wisp WebSocket is closed', { code: 'ECONNRESET', ...core.where });
      }
      await core.session.drain();
    }
  }
}
