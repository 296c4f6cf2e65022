/**
 * The high-level API: TLS over any transport, with the shape of `Deno.TlsConn` and of
 * Cloudflare's sockets (a WHATWG `readable`/`writable` pair of plaintext and a `closed`
 * promise) and node:tls's option names.
 *
 * ```ts
 * import { connect } from 'openssl-tls-wasm';
 * const tls = await connect(socketOrWebSocket, { servername: 'example.com', ALPNProtocols: ['http/1.1'] });
 * const writer = tls.writable.getWriter();
 * await writer.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'));
 * for await (const chunk of tls.readable) console.log(new TextDecoder().decode(chunk));
 * ```
 * @module
 */
import { describeCertificate, type CertificateInfo } from './certificate.js';
import type { SecureContext, SecureContextOptions } from './context.js';
import { checkExportArguments, notEstablished, type CipherInfo, type Negotiated, type TlsEngine, type TlsMessageEvent } from './engine.js';
import { TlsError, aborted, argError, handshakeTimedOut, received, type TlsAlert } from './errors.js';
import { getOpenSSL, OpenSSL } from './openssl.js';
import { toTransport, transportClosed, type Transport, type TransportLike } from './transports.js';

/**
 * The peer's certificate as node's `getPeerCertificate()` returns it; with `detailed`, each
 * links to its issuer's (`issuerCertificate`), a self-signed root to itself.
 */
export interface PeerCertificate extends CertificateInfo {
  readonly issuerCertificate?: PeerCertificate;
}

export interface ConnectOptions extends SecureContextOptions {
  /** The server's name: sent as SNI (unless an IP address) and checked against its certificate. */
  servername?: string;
  /** The name or IP the certificate must match, when it is not `servername`. */
  host?: string;
  /** A context to reuse (node:tls's `secureContext`); the context options above are then ignored. */
  secureContext?: SecureContext;
  /** A session from an earlier connection's `getSession()` or `onsession`, to resume. */
  session?: Uint8Array;
  /** Called with each new session the server sends, to save for resumption (node's 'session' event). */
  onsession?: (session: Uint8Array) => void;
  /**
   * Checks the server's identity after the handshake instead of OpenSSL's built-in name
   * check; return an Error to refuse the connection. The chain is still verified.
   */
  checkServerIdentity?: (hostname: string, cert: CertificateInfo) => Error | undefined;
  /** The OpenSSL instance to use; defaults to the shared one. */
  openssl?: OpenSSL;
  /** Bytes buffered between OpenSSL and the transport in each direction (default 17 KiB). */
  bufferSize?: number;
  /** Each protocol message sent or received (TLS 1.3's encrypted handshake included). */
  onmessage?: (event: TlsMessageEvent) => void;
  /** Each key-log line, SSLKEYLOGFILE format, for Wireshark. Secret: never log it in production. */
  onkeylog?: (line: string) => void;
  /**
   * Milliseconds the handshake may take; past them `connect()` rejects with
   * `ERR_TLS_HANDSHAKE_TIMEOUT` and the transport is closed. 0 or absent: no limit.
   */
  timeout?: number;
  /**
   * Aborts the connection: before the handshake is done `connect()` rejects with an
   * `AbortError` (code `ABORT_ERR`, the signal's reason as `cause`); after, the connection fails
   * with it and the transport is closed (as node's `net.connect({ signal })`).
   */
  signal?: AbortSignal;
}

/** node:tls's default `handshakeTimeout`: 120 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 120_000;
/** How many handshakes a server runs at once by default (about 48 KiB of heap each while they last). */
export const DEFAULT_MAX_CONCURRENT_HANDSHAKES = 256;

export interface ServerOptions extends SecureContextOptions {
  openssl?: OpenSSL;
  bufferSize?: number;
  onmessage?: (event: TlsMessageEvent) => void;
  onkeylog?: (line: string) => void;
  /**
   * Milliseconds a client has to finish its handshake (node's name and default, 120000);
   * past them `accept()` rejects with `ERR_TLS_HANDSHAKE_TIMEOUT`, the transport is closed and
   * the connection's memory returned. `Infinity` turns it off.
   */
  handshakeTimeout?: number;
  /**
   * Handshakes in progress at once (default 256). `accept()` beyond it rejects at once with
   * `ERR_TLS_TOO_MANY_HANDSHAKES` and closes the transport, before any memory is taken, so
   * stalled clients cannot hold more than this many engines.
   */
  maxConcurrentHandshakes?: number;
}

/** Per-connection bounds on the handshake, for `connect()` and `accept()`. */
export interface HandshakeLimits {
  /** As `ConnectOptions.timeout`; for `accept()` it replaces the server's `handshakeTimeout`. */
  timeout?: number;
  /** As `ConnectOptions.signal`. */
  signal?: AbortSignal;
}

/** Checks `timeout` (a number of ms, 0 for none, Infinity allowed) and `signal`, with node's codes. */
function checkLimits(name: string, timeout: unknown, signal: unknown): void {
  if (timeout !== undefined) {
    if (typeof timeout !== 'number') {
      throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" property must be of type number. ${received(timeout)}`);
    }
    if (Number.isNaN(timeout) || timeout < 0) {
      throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= 0. Received ${timeout}`);
    }
  }
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && 'aborted' in signal
      && typeof (signal as AbortSignal).addEventListener === 'function')) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "signal" property must be an instance of AbortSignal. ${received(signal)}`);
  }
}

/**
 * Connects as a TLS client over `transport` and resolves once the handshake is done. Rejects
 * with a {@link TlsError} when it fails (certificate, alert, transport closed). Without `ca`,
 * Mozilla's root certificates are trusted (`openssl.rootStore()`).
 *
 * @example
 * ```ts
 * import net from 'node:net';
 * import { connect } from 'openssl-tls-wasm';
 *
 * const tls = await connect(net.connect(443, 'example.com'), { servername: 'example.com' });
 * console.log(tls.getProtocol(), tls.getCipher()?.name, tls.authorized);
 * await tls.close();
 * ```
 */
export async function connect(transport: TransportLike, options: ConnectOptions = {}): Promise<TlsStream> {
  checkLimits('timeout', options.timeout, options.signal);
  // Adapt the transport first, before any await, so that nothing it reports (a WebSocket's
  // close code and reason, say) happens before anyone listens.
  const t = toTransport(transport);
  try {
    if (options.signal?.aborted) throw aborted(options.signal.reason);
    return await connectOver(t, options);
  } catch (e) {
    t.readable.cancel(e).catch(() => {});
    t.writable.abort(e).catch(() => {});
    throw e;
  }
}

/**
 * The options of connect() that are the connection's own, not its context's. With these alone
 * (or none), a client's context is the same every time: the defaults and the bundled roots.
 */
const CONNECTION_OPTIONS: ReadonlySet<string> = new Set([
  'servername', 'host', 'secureContext', 'session', 'onsession', 'checkServerIdentity', 'openssl',
  'bufferSize', 'onmessage', 'onkeylog', 'timeout', 'signal',
]);

/** Each instance's default client context, made on first use and kept for its lifetime (as its root store is). */
const defaultContexts = new WeakMap<OpenSSL, Promise<SecureContext>>();

function defaultClientContext(openssl: OpenSSL): Promise<SecureContext> {
  let pending = defaultContexts.get(openssl);
  if (pending === undefined) {
    pending = openssl.rootStore().then((ca) => openssl.createSecureContext({ isServer: false, ca }));
    defaultContexts.set(openssl, pending);
    pending.catch(() => defaultContexts.delete(openssl));
  }
  return pending;
}

async function connectOver(transport: Transport, options: ConnectOptions): Promise<TlsStream> {
  const openssl = options.openssl ?? await getOpenSSL();
  // A connection with default context options shares one context per instance instead of
  // making one (about 150 µs of CPU) for every connection.
  const defaults = options.secureContext === undefined
    && Object.entries(options).every(([k, v]) => v === undefined || CONNECTION_OPTIONS.has(k));
  let shared = defaults ? await defaultClientContext(openssl) : undefined;
  if (shared !== undefined && !shared.alive) {
    defaultContexts.delete(openssl);
    shared = await defaultClientContext(openssl);
  }
  const owned = options.secureContext === undefined && shared === undefined;
  const ctx = options.secureContext ?? shared ?? openssl.createSecureContext({
    ...options, isServer: false, ca: options.ca ?? await openssl.rootStore(),
  });
  let engine: TlsEngine;
  try {
    engine = ctx.createEngine({
      servername: options.servername,
      host: options.host,
      session: options.session,
      bufferSize: options.bufferSize,
      checkHost: options.checkServerIdentity === undefined,
      onmessage: options.onmessage,
      onkeylog: options.onkeylog,
    });
  } finally {
    if (owned) ctx.free(); // the engine keeps what it needs
  }
  const tls = new TlsStream(engine, transport, options, { timeout: options.timeout, signal: options.signal });
  await tls.handshake();
  return tls;
}

/**
 * A TLS server: one context serves every connection it accepts over any transport, so sessions
 * made by one connection can be resumed by the next (TLS 1.3 tickets and TLS 1.2 session IDs).
 * Made by {@link createServer}.
 */
export class TlsServer {
  readonly #ctx: SecureContext;
  readonly #options: ServerOptions;
  readonly #handshakeTimeout: number;
  readonly #maxHandshakes: number;
  #handshaking = 0;

  /** @internal Use {@link createServer}. */
  constructor(context: SecureContext, options: ServerOptions) {
    this.#ctx = context;
    this.#options = options;
    this.#handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.#maxHandshakes = options.maxConcurrentHandshakes ?? DEFAULT_MAX_CONCURRENT_HANDSHAKES;
  }

  /** Handshakes in progress now (those `accept()` has started and not finished). */
  get handshaking(): number {
    return this.#handshaking;
  }

  /**
   * Runs the server side of the handshake over `transport`; resolves when it is done. The
   * handshake has the server's `handshakeTimeout` (or `limits.timeout`) to finish, and is
   * aborted by `limits.signal`; a failure closes the transport.
   *
   * @example
   * ```ts
   * net.createServer(async (socket) => {
   *   const tls = await server.accept(socket);
   *   await tls.readable.pipeTo(tls.writable);    // echo
   * }).listen(8443);
   * ```
   */
  async accept(transport: TransportLike, limits: HandshakeLimits = {}): Promise<TlsStream> {
    checkLimits('timeout', limits.timeout, limits.signal);
    const t = toTransport(transport);
    const refuse = (e: Error) => {
      t.readable.cancel(e).catch(() => {});
      t.writable.abort(e).catch(() => {});
      return e;
    };
    if (!this.#ctx.alive) {
      throw refuse(Object.assign(new Error('the server is closed'), { code: 'ERR_SERVER_NOT_RUNNING' }));
    }
    if (limits.signal?.aborted) throw refuse(aborted(limits.signal.reason));
    if (this.#handshaking >= this.#maxHandshakes) {
      throw refuse(new TlsError(`too many handshakes in progress (maxConcurrentHandshakes: ${this.#maxHandshakes})`,
        { code: 'ERR_TLS_TOO_MANY_HANDSHAKES' }));
    }
    const { bufferSize, onmessage, onkeylog } = this.#options;
    let engine: TlsEngine;
    try {
      engine = this.#ctx.createEngine({ bufferSize, onmessage, onkeylog });
    } catch (e) {
      throw refuse(e as Error);
    }
    this.#handshaking++;
    try {
      const tls = new TlsStream(engine, t, {}, { timeout: limits.timeout ?? this.#handshakeTimeout, signal: limits.signal });
      await tls.handshake();
      return tls;
    } finally {
      this.#handshaking--;
    }
  }

  /** Stops accepting: later `accept()` calls fail. Connections already accepted go on. Idempotent. */
  close(): void {
    this.#ctx.free();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A TLS server with one context for every connection it accepts.
 *
 * @example
 * ```ts
 * import net from 'node:net';
 * import { createServer } from 'openssl-tls-wasm';
 *
 * const server = await createServer({ cert: chainPem, key: keyPem, ALPNProtocols: ['http/1.1'] });
 * net.createServer(async (socket) => {
 *   const tls = await server.accept(socket);
 *   const writer = tls.writable.getWriter();
 *   await writer.write(new TextEncoder().encode(`hello over ${tls.getProtocol()}\n`));
 *   await writer.close();
 * }).listen(8443, '127.0.0.1');
 * ```
 */
export async function createServer(options: ServerOptions): Promise<TlsServer> {
  const { handshakeTimeout, maxConcurrentHandshakes } = options;
  if (handshakeTimeout !== undefined) {
    if (typeof handshakeTimeout !== 'number') {
      throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "options.handshakeTimeout" property must be of type number. ${received(handshakeTimeout)}`);
    }
    if (!(handshakeTimeout > 0)) {
      throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "options.handshakeTimeout" is out of range. It must be > 0. Received ${handshakeTimeout}`);
    }
  }
  if (maxConcurrentHandshakes !== undefined && !(Number.isInteger(maxConcurrentHandshakes) && maxConcurrentHandshakes > 0)) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE',
      `The value of "options.maxConcurrentHandshakes" is out of range. It must be a positive integer. Received ${String(maxConcurrentHandshakes)}`);
  }
  const openssl = options.openssl ?? await getOpenSSL();
  return new TlsServer(openssl.createSecureContext({ ...options, isServer: true }), options);
}

const MAX_READ = 16384;

/**
 * A transport's failure as a TlsError that keeps its code (ECONNREFUSED, ETIMEDOUT, ...) and
 * its message, as node:tls passes a socket's error on; the transport's error is the cause.
 */
function transportFailure(e: unknown): TlsError {
  if (e instanceof TlsError) return e;
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'ECONNRESET';
  return new TlsError(e instanceof Error ? e.message : `the transport failed: ${String(e)}`, { code, cause: e });
}

/** node:tls's error for a transport that ends before the handshake completes. */
function disconnected(cause?: TlsError): TlsError {
  return new TlsError('Client network socket disconnected before secure TLS connection was established',
    { code: 'ECONNRESET', errors: cause?.errors, cause });
}

/**
 * A TLS connection over a transport, established (or being established) by {@link connect} or
 * {@link TlsServer.accept}. Plaintext is read from `readable` and written to `writable`;
 * `closed` settles when the connection is over. What was negotiated is read with node:tls's
 * accessors (`getProtocol()`, `getCipher()`, `authorized`, ...), which keep answering after the
 * connection has closed. `await using` closes it.
 */
export class TlsStream {
  /** Decrypted bytes from the peer; ends at the peer's close_notify. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to encrypt and send; closing it sends close_notify. */
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves when the connection has closed cleanly; rejects with the error that ended it. */
  readonly closed: Promise<void>;

  readonly #conn: TlsEngine;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #options: ConnectOptions;
  #inbox: Uint8Array | undefined;
  #filling: Promise<boolean> | undefined;
  #transportEnded = false;
  #handshake: Promise<void> | undefined;
  #failure: Error | undefined;
  #sentClose = false;
  #receivedClose = false;
  #finished = false;
  #sessions = 0;
  #lastSession: Uint8Array | undefined;
  #info: Negotiated | undefined;
  #peerChain: Uint8Array[] = [];
  #verifiedChain: Uint8Array[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #resolveClosed!: () => void;
  #rejectClosed!: (e: Error) => void;
  #readController: ReadableStreamDefaultController<Uint8Array> | undefined;
  #writeController: WritableStreamDefaultController | undefined;
  readonly #limits: HandshakeLimits;
  #rejectHandshake: ((e: Error) => void) | undefined;
  #unlisten: (() => void) | undefined;

  /** @internal Use {@link connect} or {@link TlsServer.accept}. */
  constructor(conn: TlsEngine, transport: Transport, options: ConnectOptions, limits: HandshakeLimits = {}) {
    this.#conn = conn;
    this.#options = options;
    this.#limits = limits;
    this.#writer = transport.writable.getWriter();
    this.#reader = transport.readable.getReader();
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {}); // an unobserved failure must not crash the process
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => { this.#readController = c; },
      pull: (c) => this.#pull(c),
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      start: (c) => { this.#writeController = c; },
      write: (chunk) => this.#write(chunk),
      close: () => this.#closeWrite(),
      abort: () => this.close(),
    });
  }

  /** The low-level engine, for anything not exposed here (freed once the connection closes). */
  get engine(): TlsEngine {
    return this.#conn;
  }

  // ------------------------------------------------------------ moving ciphertext

  /** Sends all pending ciphertext; waits while the transport pushes back. */
  async #flush(): Promise<void> {
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    if (!this.#conn.alive) return;
    const out = this.#conn.takeOutput();
    if (out.length > 0) await this.#writer.write(out).catch((e) => { throw transportFailure(e); });
  }

  /**
   * Feeds ciphertext: what is left over from the last transport read, else the next one.
   * False once the transport has ended and OpenSSL has been told so.
   */
  #fill(): Promise<boolean> {
    if (this.#inbox) {
      const n = this.#conn.feed(this.#inbox);
      this.#inbox = n < this.#inbox.length ? this.#inbox.subarray(n) : undefined;
      return Promise.resolve(true);
    }
    if (this.#transportEnded) return Promise.resolve(false);
    this.#filling ??= (async () => {
      try {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await this.#reader.read();
        } catch (e) {
          // Keep the transport's own code (a Wisp stream's ECONNREFUSED, say), as node:tls does.
          throw this.#failure ?? transportFailure(e);
        }
        if (chunk.done) {
          this.#transportEnded = true;
          if (this.#conn.alive) this.#conn.feedEnd();
          return true; // let OpenSSL see the end: a clean close or a truncation
        }
        const n = this.#conn.feed(chunk.value);
        if (n < chunk.value.length) this.#inbox = chunk.value.subarray(n);
        return true;
      } finally {
        this.#filling = undefined;
      }
    })();
    return this.#filling;
  }

  /** Ends the connection with an error: every pending and later operation sees it. */
  #fail(e: unknown): Error {
    const err = e instanceof Error ? e : new TlsError(String(e));
    if (this.#failure) return this.#failure;
    this.#failure = err;
    // Best effort: let the alert OpenSSL queued reach the peer before the transport goes.
    const out = this.#conn.alive ? this.#conn.takeOutput() : new Uint8Array(0);
    const last = out.length ? this.#writer.write(out).catch(() => {}) : Promise.resolve();
    void last.then(() => this.#writer.abort(err).catch(() => {}));
    this.#reader.cancel(err).catch(() => {});
    try { this.#readController?.error(err); } catch {}
    try { this.#writeController?.error(err); } catch {}
    this.#finish(err);
    return err;
  }

  #finish(err?: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#unlisten?.();
    if (err) this.#rejectHandshake?.(err); // a handshake waiting on a stalled transport ends now
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    // The last word on what happened (alerts, close_notify) outlives the engine.
    if (this.#conn.alive) this.#info = this.#conn.negotiated();
    this.#conn.free();
    if (err) this.#rejectClosed(err);
    else this.#resolveClosed();
  }

  /** Keeps the newest session (TLS 1.3 tickets arrive after the handshake) and reports it. */
  #checkSessions(): void {
    if (!this.#conn.alive || this.#conn.isServer) return;
    const n = this.#conn.sessionCount;
    if (n === this.#sessions) return;
    this.#sessions = n;
    const s = this.#conn.getSession();
    if (!s) return;
    this.#lastSession = s;
    this.#options.onsession?.(s);
  }

  // ------------------------------------------------------------ handshake

  /**
   * Runs the handshake once; later calls return the same promise. It ends when the
   * handshake does, or at once when the connection fails: a timeout or an abort does not
   * wait for a stalled transport.
   */
  handshake(): Promise<void> {
    this.#handshake ??= this.#bounded();
    return this.#handshake;
  }

  /** The handshake under the connection's limits: its timeout, and its signal (for life). */
  #bounded(): Promise<void> {
    const { timeout, signal } = this.#limits;
    const failed = new Promise<never>((_, reject) => { this.#rejectHandshake = reject; });
    failed.catch(() => {});
    if (signal) {
      const onAbort = () => this.#fail(aborted(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#unlisten = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
    const timer = timeout && Number.isFinite(timeout)
      ? setTimeout(() => this.#fail(handshakeTimedOut()), timeout) : undefined;
    if (this.#failure) return Promise.reject(this.#failure);
    return Promise.race([this.#runHandshake(), failed]).finally(() => {
      clearTimeout(timer);
      this.#rejectHandshake = undefined;
    });
  }

  async #runHandshake(): Promise<void> {
    try {
      for (;;) {
        const r = this.#conn.handshake();
        if (r === 'done') break;
        await this.#flush();
        if (r === 'want-read' && !(await this.#fill())) throw disconnected();
      }
      this.#peerChain = this.#conn.peerCertificates();
      this.#verifiedChain = this.#conn.verifiedCertificates();
      this.#checkIdentity();
      this.#info = this.#conn.negotiated();
      this.#checkSessions();
      // A client's last flight waits one turn of the event loop, so that the first
      // application data written right after connect() leaves in the same transport write.
      if (this.#conn.pendingOutput > 0) {
        if (this.#conn.isServer) await this.#flush();
        else this.#flushTimer = setTimeout(() => { this.#flush().catch((e) => this.#fail(e)); }, 0);
      }
    } catch (e) {
      // OpenSSL's "unexpected eof" here means the peer hung up mid-handshake: say so as node does.
      throw this.#fail(this.#transportEnded && e instanceof TlsError && e.reason === 'unexpected eof while reading'
        ? disconnected(e) : e);
    }
  }

  #checkIdentity(): void {
    const check = this.#options.checkServerIdentity;
    if (!check || this.#options.rejectUnauthorized === false) return;
    const hostname = this.#options.host ?? this.#options.servername ?? '';
    const leaf = this.#conn.peerCertificate();
    const err = leaf === undefined ? new TlsError('the server sent no certificate') : check(hostname, leaf);
    if (err) throw err;
  }

  // ------------------------------------------------------------ plaintext streams

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      await this.handshake();
      for (;;) {
        if (this.#failure) throw this.#failure;
        const r = this.#conn.read(MAX_READ);
        if (this.#conn.pendingOutput > 0) await this.#flush(); // alerts, key updates
        this.#checkSessions();
        if (r instanceof Uint8Array) {
          controller.enqueue(r);
          return;
        }
        if (r === 'closed') {
          this.#receivedClose = true;
          controller.close();
          if (this.#sentClose) await this.#closeTransport();
          else void this.#awaitTransportEnd();
          return;
        }
        if (r === 'want-read' && !(await this.#fill())) {
          throw new TlsError('the transport ended without a TLS close_notify', { code: 'ECONNRESET' });
        }
      }
    } catch (e) {
      throw this.#fail(e);
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('write() takes Uint8Array chunks');
    try {
      await this.handshake();
      let rest = chunk;
      while (rest.length > 0) {
        if (this.#failure) throw this.#failure;
        const r = this.#conn.write(rest);
        if (typeof r === 'number') rest = rest.subarray(r);
        await this.#flush();
        if (r === 'want-read' && !(await this.#fill())) throw transportFailure(transportClosed('the transport ended'));
      }
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Sends close_notify (TLS's half-close); the transport closes once the peer's arrives too. */
  async #closeWrite(): Promise<void> {
    try {
      await this.handshake();
      if (!this.#sentClose && this.#conn.alive) {
        this.#sentClose = true;
        this.#conn.shutdown();
        await this.#flush();
      }
      if (this.#receivedClose || this.#transportEnded) await this.#closeTransport();
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /**
   * After the peer's close_notify this side may still write (TLS half-close). Once the peer
   * also ends the transport nothing more can be sent, so the connection closes by itself and
   * `closed` settles.
   */
  async #awaitTransportEnd(): Promise<void> {
    try {
      while (!this.#finished && !this.#transportEnded) {
        if (this.#filling) await this.#filling;
        else if (!(await this.#fill())) break;
      }
    } catch {
      // The transport failed after a clean TLS close: nothing was lost.
    }
    if (!this.#finished) await this.close().catch(() => {});
  }

  async #closeTransport(): Promise<void> {
    if (this.#finished) return;
    await this.#flush().catch(() => {});
    await this.#writer.close().catch(() => {});
    this.#reader.cancel().catch(() => {});
    this.#finish();
  }

  /**
   * Closes the connection: sends close_notify if it has not been sent, then closes the
   * transport without waiting for the peer's. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#finished) return this.#failure ? undefined : this.closed;
    try {
      if (this.#conn.alive && this.#conn.handshakeDone && !this.#sentClose && !this.#failure) {
        this.#sentClose = true;
        this.#conn.shutdown();
      }
    } catch {
      // The connection failed already; closing it is all that is left.
    }
    try { this.#readController?.close(); } catch {}
    try { this.#writeController?.error(transportClosed('the connection was closed')); } catch {}
    await this.#closeTransport();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ------------------------------------------------------------ what was negotiated
  // node:tls's accessors, read from the engine's snapshot (taken at the end of the handshake
  // and again when the connection ends), so they keep answering after it closes.

  /** e.g. 'TLSv1.3'; null before the handshake (node's `getProtocol()`). */
  getProtocol(): string | null { return this.#info?.protocol ?? null; }
  /** The cipher (node's `getCipher()`); null before the handshake. */
  getCipher(): CipherInfo | null { return this.#info?.cipher ?? null; }
  /**
   * The key exchange, as node's `getEphemeralKeyInfo()`: `{ name }` with OpenSSL's group name
   * (e.g. 'X25519MLKEM768', 'x25519'); empty before the handshake.
   */
  getEphemeralKeyInfo(): { name?: string } {
    const group = this.#info?.group;
    return group ? { name: group } : {};
  }
  /** The ALPN protocol, or false (node's `alpnProtocol`). */
  get alpnProtocol(): string | false { return this.#info?.alpnProtocol ?? false; }
  /** True when the peer's certificate verified (node's `authorized`). */
  get authorized(): boolean { return this.#info?.authorized ?? false; }
  /** Why the peer is not authorized, as node's code, or null (node's `authorizationError`). */
  get authorizationError(): string | null { return this.#info?.authorizationError ?? null; }
  /** The SNI name (server side: what the client asked for). */
  get servername(): string | null { return this.#info?.servername ?? null; }
  /** True when this connection resumed a session (node's `isSessionReused()`). */
  isSessionReused(): boolean { return this.#info?.sessionReused ?? false; }
  /** The last alert this side sent; kept after the connection closes. */
  get alertSent(): TlsAlert | undefined { return this.#live()?.alertSent; }
  /** The last alert the peer sent; kept after the connection closes. */
  get alertReceived(): TlsAlert | undefined { return this.#live()?.alertReceived; }

  /** The engine's state now while it lives, else the last snapshot. */
  #live(): Negotiated | undefined {
    return this.#conn.alive ? this.#conn.negotiated() : this.#info;
  }

  /** The peer's certificates as DER, leaf first, as it sent them. */
  peerCertificates(): Uint8Array[] { return this.#peerChain.map((c) => c.slice()); }

  /**
   * The peer's certificate as node's `getPeerCertificate()` returns it (an empty object when
   * there is none); with `detailed`, linked to its issuers through `issuerCertificate`.
   *
   * @example
   * ```ts
   * const cert = tls.getPeerCertificate();
   * console.log(cert.subject.CN, cert.valid_to, cert.fingerprint256);
   * ```
   */
  getPeerCertificate(detailed = false): PeerCertificate | Record<string, never> {
    if (this.#peerChain.length === 0) return {};
    const openssl = this.#conn.instance;
    // As node: the leaf's issuers as verification found them (among what the peer sent, then
    // in the trusted CAs), up to the trust anchor, which is its own issuer.
    const verified = this.#verifiedChain;
    const sameLeaf = verified.length > 0 && verified[0].length === this.#peerChain[0].length
      && verified[0].every((b, i) => b === this.#peerChain[0][i]);
    const path = !detailed ? this.#peerChain.slice(0, 1) : sameLeaf ? verified : this.#peerChain;
    const chain: PeerCertificate[] = path.map((der) => ({ ...describeCertificate(openssl, der) }));
    if (detailed) {
      chain.forEach((c, i) => {
        const next = chain[i + 1] ?? (c.issuerText === c.subjectText ? c : undefined);
        if (next) (c as { issuerCertificate?: PeerCertificate }).issuerCertificate = next;
      });
    }
    return chain[0];
  }


  /**
   * Keying material exported from the connection as RFC 5705 defines it, with node's
   * signature and errors (`tlsSocket.exportKeyingMaterial(length, label[, context])`): both ends
   * that give the same arguments get the same bytes. Throws `ERR_TLS_INVALID_STATE` once the
   * connection has closed.
   *
   * @example
   * ```ts
   * const binding = tls.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', undefined);
   * ```
   */
  exportKeyingMaterial(length: number, label: string, context?: ArrayBufferView): Uint8Array {
    if (this.#conn.alive) return this.#conn.exportKeyingMaterial(length, label, context);
    checkExportArguments(length, label, context); // the argument errors first, as node
    throw notEstablished();
  }

  /**
   * The newest session, to pass as `session` to a later `connect()`; undefined until the
   * server has sent one (with TLS 1.3, after some data has been read).
   */
  getSession(): Uint8Array | undefined {
    if (this.#conn.alive) this.#checkSessions();
    return this.#lastSession ?? (this.#conn.alive ? this.#conn.getSession() : undefined);
  }
}
