/**
 * Node-style streams for the TLS connection: a `Duplex` that drops into anything taking a
 * socket, such as `https.request({ createConnection })`, `http2.connect`'s `createConnection`,
 * or database drivers. Works in Node, Deno and Bun (their node:stream).
 *
 * ```ts
 * import https from 'node:https';
 * import net from 'node:net';
 * import { connectDuplex } from 'openssl-tls-wasm/node';
 *
 * https.get('https://example.com/', {
 *   createConnection: () => connectDuplex(net.connect(443, 'example.com'), { servername: 'example.com' }),
 * }, (res) => res.pipe(process.stdout));
 * ```
 * @module
 */
import { Duplex } from 'node:stream';
import { checkExportArguments, notEstablished } from './engine.js';
import { connect, type ConnectOptions, type PeerCertificate, type TlsStream } from './tls.js';
import type { TransportLike } from './transports.js';

/** A Duplex over a TLS connection, with the parts of `tls.TLSSocket` that callers look at. */
export class TlsDuplex extends Duplex {
  /** Set once the handshake is done. */
  secureConnection: TlsStream | undefined;
  readonly encrypted = true;
  connecting = true;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #reading = false;
  readonly #ready: Promise<TlsStream>;

  /** A Duplex over a TLS stream, or one being established (writes wait for the handshake). */
  constructor(pending: TlsStream | Promise<TlsStream>) {
    super({ allowHalfOpen: false });
    this.#ready = Promise.resolve(pending).then((tls) => {
      this.secureConnection = tls;
      this.#reader = tls.readable.getReader();
      this.#writer = tls.writable.getWriter();
      this.connecting = false;
      this.emit('connect');
      this.emit('secureConnect');
      return tls;
    });
    this.#ready.catch((e) => this.destroy(e));
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    void this.#ready.then(async () => {
      try {
        for (;;) {
          const { value, done } = await this.#reader!.read();
          if (done) {
            this.push(null);
            return;
          }
          if (!this.push(value)) return; // resumes when the consumer calls _read again
        }
      } finally {
        this.#reading = false;
      }
    }).catch((e) => this.destroy(e));
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.#ready.then(() => this.#writer!.write(chunk)).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.#ready.then(() => this.#writer!.close()).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const tls = this.secureConnection;
    if (!tls) return cb(err);
    tls.close().then(() => cb(err), () => cb(err));
  }

  // tls.TLSSocket's accessors, answered by the TLS stream once the handshake is done.
  /** e.g. 'TLSv1.3', as `tlsSocket.getProtocol()`. */
  getProtocol(): string | null { return this.secureConnection?.getProtocol() ?? null; }
  /** As `tlsSocket.getCipher()`. */
  getCipher() { return this.secureConnection?.getCipher() ?? null; }
  /** As `tlsSocket.getEphemeralKeyInfo()`. */
  getEphemeralKeyInfo() { return this.secureConnection?.getEphemeralKeyInfo() ?? {}; }
  /** As `tlsSocket.alpnProtocol`. */
  get alpnProtocol(): string | false { return this.secureConnection?.alpnProtocol ?? false; }
  /** As `tlsSocket.authorized`. */
  get authorized(): boolean { return this.secureConnection?.authorized ?? false; }
  /** As `tlsSocket.authorizationError`. */
  get authorizationError(): string | null { return this.secureConnection?.authorizationError ?? null; }
  /** As `tlsSocket.servername`. */
  get servername(): string | null { return this.secureConnection?.servername ?? null; }
  /** The latest session, as `tlsSocket.getSession()`. */
  getSession(): Uint8Array | undefined { return this.secureConnection?.getSession(); }
  /** As `tlsSocket.isSessionReused()`. */
  isSessionReused(): boolean { return this.secureConnection?.isSessionReused() ?? false; }
  /** As `tlsSocket.getPeerCertificate(detailed)`. */
  getPeerCertificate(detailed = false): PeerCertificate | Record<string, never> {
    return this.secureConnection?.getPeerCertificate(detailed) ?? {};
  }

  /**
   * As `tlsSocket.exportKeyingMaterial(length, label[, context])` (RFC 5705), with node's
   * errors: `ERR_TLS_INVALID_STATE` before the handshake is done.
   */
  exportKeyingMaterial(length: number, label: string, context?: ArrayBufferView): Uint8Array {
    const tls = this.secureConnection;
    if (tls) return tls.exportKeyingMaterial(length, label, context);
    checkExportArguments(length, label, context);
    throw notEstablished();
  }

  // What http and other socket users call on sockets; meaningless above TLS, so no-ops.
  setTimeout(ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
}

/**
 * Starts a TLS client connection over `transport` and returns a Duplex at once; writes wait
 * for the handshake, and a failed handshake destroys the Duplex with the {@link TlsError}.
 * (To wrap a connection already made, e.g. one a server accepted: `new TlsDuplex(tls)`.)
 */
export function connectDuplex(transport: TransportLike, options: ConnectOptions = {}): TlsDuplex {
  return new TlsDuplex(connect(transport, options));
}
