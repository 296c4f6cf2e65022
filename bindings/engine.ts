/**
 * The low-level TLS connection: OpenSSL's nonblocking contract, one to one, with no I/O of
 * its own. Ciphertext from the peer goes in with {@link TlsConnection.feed}; ciphertext for
 * the peer comes out of {@link TlsConnection.takeOutput}; every step reports `'want-read'`
 * (feed more bytes, then call again) or `'want-write'` (take the output, then call again)
 * exactly when `SSL_get_error()` does.
 *
 * A minimal client loop:
 * ```ts
 * const conn = ctx.createConnection({ servername: 'example.com' });
 * for (;;) {
 *   const r = conn.handshake();
 *   send(conn.takeOutput());            // may be empty
 *   if (r === 'done') break;
 *   if (r === 'want-read') conn.feed(await receive());
 * }
 * ```
 * @module
 */
import { Io, NULL, type BytePtr, type ConnPtr } from './abi.js';
import type { SecureContext } from './context.js';
import {
  TlsError, decodeAlert, formatOpenSSLError, useAfterFree, verifyCode, type TlsAlert,
} from './errors.js';
import type { Instance } from './loader.js';
import { STAGING_SIZE, outOfMemory, toBytes } from './memory.js';
import { drainErrors } from './openssl-errors.js';

/** What a step needs before it can make progress. */
export type Want = 'want-read' | 'want-write';

export interface ConnectionOptions {
  /**
   * Client: the server name, sent as SNI and checked against the certificate. An IP address
   * is checked but, as RFC 6066 requires, not sent as SNI.
   */
  servername?: string;
  /**
   * Client: the name or IP address the certificate must match, when it differs from
   * `servername` (node:tls's `host`). Defaults to `servername`.
   */
  host?: string;
  /**
   * Bytes of buffer in each direction between OpenSSL and the transport. Defaults to
   * OpenSSL's 17 KiB, room for one full record; feeding or writing more waits for the other
   * side to be drained first, which is what bounds memory.
   */
  bufferSize?: number;
  /** Client: a session saved from an earlier connection ({@link TlsConnection.getSession}) to resume. */
  session?: Uint8Array;
  /**
   * Client: let OpenSSL check the certificate's name against `host` during the handshake
   * (default true). Turned off only when the caller checks the identity itself, as the
   * high-level `checkServerIdentity` option does.
   */
  checkHost?: boolean;
  /**
   * Called with each protocol message this side sends or receives, as OpenSSL's message
   * callback sees it (so TLS 1.3's encrypted handshake is visible). Delivered after the step
   * that produced it returns, never from inside OpenSSL.
   */
  onmessage?: (event: TlsMessageEvent) => void;
  /** Called with each key-log line in the SSLKEYLOGFILE format (for Wireshark). Secret. */
  onkeylog?: (line: string) => void;
  /** Certificates are verified as at this time (ms since the epoch) instead of the clock's. */
  verifyTime?: number;
}

/** One protocol message, from OpenSSL's message callback. */
export interface TlsMessageEvent {
  readonly direction: 'sent' | 'received';
  /** 'handshake', 'alert', 'change_cipher_spec', 'application_data', 'record_header' or 'inner_content_type'. */
  readonly contentType: string;
  /** For handshake messages: 'ClientHello', 'ServerHello', 'Finished', ... */
  readonly message?: string;
  /** The protocol version, e.g. 0x0304. */
  readonly version: number;
  readonly bytes: Uint8Array;
}

const CONTENT_TYPES: Record<number, string> = {
  20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data',
  256: 'record_header', 257: 'inner_content_type',
};
const HANDSHAKE_TYPES: Record<number, string> = {
  0: 'HelloRequest', 1: 'ClientHello', 2: 'ServerHello', 4: 'NewSessionTicket', 5: 'EndOfEarlyData',
  8: 'EncryptedExtensions', 11: 'Certificate', 12: 'ServerKeyExchange', 13: 'CertificateRequest',
  14: 'ServerHelloDone', 15: 'CertificateVerify', 16: 'ClientKeyExchange', 20: 'Finished',
  22: 'CertificateStatus', 24: 'KeyUpdate', 254: 'message_hash',
};

/** The cipher in use, as node's `tlsSocket.getCipher()` describes it. */
export interface CipherInfo {
  /** OpenSSL's name, e.g. 'TLS_AES_256_GCM_SHA384' or 'ECDHE-RSA-AES128-GCM-SHA256'. */
  readonly name: string;
  /** The IANA name, e.g. 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'. */
  readonly standardName: string;
  /** The protocol version, e.g. 'TLSv1.3'. */
  readonly version: string;
}

const VERSION_NAMES: Record<number, string> = {
  0x0300: 'SSLv3', 0x0301: 'TLSv1', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3',
};

const MAX_BUFFER = 1 << 20;

const registry = typeof FinalizationRegistry === 'undefined' ? undefined
  : new FinalizationRegistry<() => void>((release) => release());

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/**
 * One TLS connection, client or server, as its {@link SecureContext} decides. Free it with
 * {@link free} or `using`; a FinalizationRegistry frees forgotten ones, but only eventually.
 *
 * Errors are sticky, as in OpenSSL: once a step throws a {@link TlsError}, every later step
 * throws the same error. Output that OpenSSL queued before failing (such as the alert it sent)
 * can still be taken with {@link takeOutput}.
 */
export class TlsConnection {
  readonly isServer: boolean;
  readonly #inst: Instance;
  #ptr: ConnPtr;
  #failure: TlsError | undefined;
  readonly #host: string | undefined;

  /** @internal Use `SecureContext.createConnection`. */
  constructor(ctx: SecureContext, options: ConnectionOptions = {}) {
    this.#inst = ctx.instance;
    this.isServer = ctx.isServer;
    const x = this.#inst.exports;
    const size = options.bufferSize ?? 0;
    if (!Number.isInteger(size) || size < 0 || size > MAX_BUFFER) {
      throw new RangeError(`bufferSize must be an integer from 0 to ${MAX_BUFFER}, got ${size}`);
    }
    const { servername, host = servername } = options;
    if (this.isServer && (servername !== undefined || options.host !== undefined)) {
      throw new TypeError('servername and host are client options');
    }
    if (!this.isServer && host === undefined && ctx.options.rejectUnauthorized !== false) {
      throw new TypeError(
        "a client needs servername (or host) to check the server's certificate; " +
        'pass rejectUnauthorized: false to the context to connect without verification');
    }
    for (const [k, v] of [['servername', servername], ['host', host]] as const) {
      if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new TypeError(`${k} must be a non-empty string`);
    }
    const ptr = x.ow_conn_new(ctx.pointer, size);
    if (ptr === NULL) throw this.#error('creating the connection');
    this.#ptr = ptr;
    this.#host = host;
    const sni = servername !== undefined && !isIp(servername) ? servername : undefined;
    const heap = this.#inst.heap;
    // The name is checked even with rejectUnauthorized: false: the result then shows in
    // authorized/authorizationError instead of failing the handshake (as node:tls).
    const checkHost = options.checkHost !== false;
    const fail = (e: Error) => {
      x.ow_conn_free(ptr);
      this.#ptr = NULL as ConnPtr;
      return e;
    };
    const ok = heap.withCString(sni, false, (s) =>
      heap.withCString(checkHost ? host : undefined, false, (h) => x.ow_conn_set_host(ptr, s, h)));
    if (ok < 0) throw fail(this.#error(`servername '${servername ?? host}'`));
    if (options.session !== undefined) {
      if (this.isServer) throw fail(new TypeError('session is a client option'));
      if (!(options.session instanceof Uint8Array)) throw fail(new TypeError('session must be a Uint8Array from getSession()'));
      const r = heap.withBytes(options.session, true, (b, n) => x.ow_conn_set_session(ptr, b, n));
      if (r < 0) throw fail(this.#error('session'));
    }
    const what = (options.onmessage ? 1 : 0) | (options.onkeylog ? 2 : 0);
    if (what) {
      if (x.ow_conn_set_events(ptr, what) < 0) throw fail(this.#error('tracing'));
      this.#onmessage = options.onmessage;
      this.#onkeylog = options.onkeylog;
    }
    if (options.verifyTime !== undefined) {
      if (!Number.isFinite(options.verifyTime) || options.verifyTime < 0) throw fail(new RangeError('verifyTime must be a time in ms since the epoch'));
      x.ow_conn_set_verify_time(ptr, Math.floor(options.verifyTime / 1000));
    }
    registry?.register(this, () => x.ow_conn_free(ptr), this);
  }

  #onmessage: ((e: TlsMessageEvent) => void) | undefined;
  #onkeylog: ((line: string) => void) | undefined;

  /** Hands queued trace and key-log events to their callbacks, outside any OpenSSL call. */
  #deliver(): void {
    if (!this.#onmessage && !this.#onkeylog) return;
    const { exports: x, heap } = this.#inst;
    const p = this.#ptr;
    if (p === NULL) return;
    const [buf, [len]] = heap.withOut(1, (out) => x.ow_conn_events(p, out));
    if (buf === NULL || len === 0) return;
    const events = heap.copyOut(buf, len);
    x.ow_conn_events_clear(p);
    const dv = new DataView(events.buffer);
    const decoder = new TextDecoder();
    // Every event reaches its callback even if an earlier one threw; the first throw is
    // rethrown once all are delivered (and the copy, which may hold key-log secrets, wiped).
    let thrown: { error: unknown } | undefined;
    for (let i = 0; i + 12 <= events.length;) {
      const kind = events[i];
      const n = dv.getUint32(i + 6, true);
      const bytes = events.slice(i + 12, i + 12 + n);
      try {
        if (kind === 2) this.#onkeylog?.(decoder.decode(bytes));
        else if (kind === 1 && this.#onmessage) {
          const type = dv.getUint16(i + 4, true);
          const contentType = CONTENT_TYPES[type] ?? String(type);
          this.#onmessage({
            direction: events[i + 1] ? 'sent' : 'received',
            contentType,
            message: type === 22 && bytes.length > 0 ? HANDSHAKE_TYPES[bytes[0]] ?? `handshake_${bytes[0]}` : undefined,
            version: dv.getUint16(i + 2, true),
            bytes,
          });
        }
      } catch (error) {
        thrown ??= { error };
      }
      events.fill(0, i, i + 12 + n);
      i += 12 + n;
    }
    if (thrown) throw thrown.error;
  }

  get #p(): ConnPtr {
    if (this.#ptr === NULL) throw useAfterFree('TlsConnection');
    return this.#ptr;
  }

  #error(what: string): TlsError {
    const errors = drainErrors(this.#inst.exports, this.#inst.heap);
    return new TlsError(`${what}: ${errors.length ? formatOpenSSLError(errors[0]) : 'unknown error'}`, { errors });
  }

  /** Builds the error for a failed step from the error queue, verify result and alerts. */
  #fail(status: number): TlsError {
    const x = this.#inst.exports;
    const p = this.#p;
    const errors = drainErrors(x, this.#inst.heap);
    const alertSent = decodeAlert(x.ow_conn_alert(p, 0));
    const alertReceived = decodeAlert(x.ow_conn_alert(p, 1));
    const verifyResult = x.ow_conn_verify_result(p);
    const verifyFailed = errors.some((e) => e.reason === 'certificate verify failed') && verifyResult !== 0;
    const details = { errors, alertSent, alertReceived };
    let e: TlsError;
    if (verifyFailed) {
      const verifyError = this.#inst.heap.cstring(x.ow_verify_error_string(verifyResult)) ?? `X.509 error ${verifyResult}`;
      e = new TlsError(this.#verifyMessage(verifyResult, verifyError),
        { ...details, code: verifyCode(verifyResult), verifyResult, verifyError });
    } else if (errors.length > 0) {
      const text = formatOpenSSLError(errors[0]);
      e = new TlsError(alertReceived && alertReceived.level === 'fatal'
        ? `${text} (the peer sent alert ${alertReceived.name})` : text, details);
    } else if (status === Io.Syscall) {
      e = new TlsError('the transport closed without a TLS close_notify', { ...details, code: 'ECONNRESET' });
    } else {
      e = new TlsError(`TLS failure (SSL_get_error ${-status})`, details);
    }
    this.#failure = e;
    return e;
  }

  #verifyMessage(result: number, text: string): string {
    if ((result === 62 || result === 64) && this.#host !== undefined) {
      const san = this.peerSubjectAltName;
      const what = result === 64 ? 'IP' : 'Host';
      // node:tls's wording, so code that matched on it keeps working.
      return `Hostname/IP does not match certificate's altnames: ${what}: ${this.#host}. ` +
        (san ? `is not in the cert's altnames: ${san}` : 'The certificate has no subjectAltName');
    }
    return text;
  }

  /** Copies as much of `bytes` as fits into the staging buffer: its address and the count. */
  #stage(bytes: Uint8Array): [BytePtr, number] {
    const heap = this.#inst.heap;
    const buf = heap.staging();
    const n = Math.min(bytes.length, STAGING_SIZE);
    heap.u8().set(bytes.subarray(0, n), buf);
    return [buf, n];
  }

  /** Turns a step's status into its result, or throws. */
  #step<T>(status: number, ok: (n: number) => T): T | Want {
    this.#deliver();
    if (status >= 0) return ok(status);
    if (status === Io.WantRead) return 'want-read';
    if (status === Io.WantWrite) return 'want-write';
    throw this.#fail(status);
  }

  #live(): ConnPtr {
    const p = this.#p;
    if (this.#failure) throw this.#failure;
    return p;
  }

  /**
   * Advances the handshake: `'done'`, or what it waits for. Throws {@link TlsError} when the
   * handshake fails (bad certificate, alert from the peer, garbage on the wire).
   */
  handshake(): 'done' | Want {
    const p = this.#live();
    return this.#step(this.#inst.exports.ow_conn_handshake(p), () => 'done' as const);
  }

  /**
   * Gives OpenSSL ciphertext that arrived from the peer. Returns how many bytes it took,
   * which is fewer than given when its buffer is full: call {@link read} or
   * {@link handshake} to let it process them, then feed the rest.
   */
  feed(data: Uint8Array | ArrayBuffer): number {
    const p = this.#live();
    if (typeof data === 'string') throw new TypeError('feed() takes ciphertext bytes, not a string');
    const bytes = toBytes(data);
    if (bytes.length === 0) return 0;
    const [buf, n] = this.#stage(bytes);
    const r = this.#inst.exports.ow_conn_feed(p, buf, n);
    if (r === -2) throw outOfMemory(n);
    if (r < 0) throw new TlsError('cannot feed: the transport was already ended with feedEnd()', { code: 'ERR_TLS_FEED_AFTER_END' });
    return r;
  }

  /** Tells OpenSSL the transport has ended: no more ciphertext will come. */
  feedEnd(): void {
    this.#inst.exports.ow_conn_feed_eof(this.#p);
  }

  /** Bytes of ciphertext waiting to be sent. */
  get pendingOutput(): number {
    return this.#inst.exports.ow_conn_pending_out(this.#p);
  }

  /** Takes all ciphertext waiting to be sent (an empty array when there is none). */
  takeOutput(): Uint8Array {
    const p = this.#p;
    const { exports: x, heap } = this.#inst;
    const pending = x.ow_conn_pending_out(p);
    if (pending <= 0) return new Uint8Array(0);
    const out = new Uint8Array(pending);
    const buf = heap.staging();
    let got = 0;
    while (got < pending) {
      const n = x.ow_conn_drain(p, buf, Math.min(STAGING_SIZE, pending - got));
      if (n <= 0) break;
      out.set(heap.u8().subarray(buf, buf + n), got);
      got += n;
    }
    return got === pending ? out : out.subarray(0, got);
  }

  /**
   * Reads decrypted application data: up to `max` bytes (one record's worth at most), or
   * `'want-read'` when more ciphertext must be fed first, or `'closed'` once the peer has
   * sent close_notify. A transport that ended without close_notify throws (truncation).
   */
  read(max = 16384): Uint8Array | Want | 'closed' {
    const p = this.#live();
    if (!Number.isInteger(max) || max <= 0) throw new RangeError(`max must be a positive integer, got ${max}`);
    const { exports: x, heap } = this.#inst;
    const buf: BytePtr = heap.staging();
    const status = x.ow_conn_read(p, buf, Math.min(max, STAGING_SIZE));
    if (status === Io.ZeroReturn) {
      this.#deliver();
      return 'closed';
    }
    return this.#step(status, (n) => heap.copyOut(buf, n));
  }

  /**
   * Encrypts application data. Returns how many bytes were taken (at least one record's
   * worth, maybe fewer than given), or `'want-write'` when the output must be taken first,
   * or `'want-read'` (during a handshake). Call again with the rest.
   */
  write(data: Uint8Array | ArrayBuffer | string): number | Want {
    const p = this.#live();
    const bytes = toBytes(data);
    if (bytes.length === 0) return 0;
    const x = this.#inst.exports;
    const [buf, n] = this.#stage(bytes);
    try {
      return this.#step(x.ow_conn_write(p, buf, n), (m) => m);
    } finally {
      x.ow_cleanse(buf, n);
    }
  }

  /** Decrypted bytes ready to read without feeding more. */
  get pendingInput(): number {
    return this.#inst.exports.ow_conn_pending_in(this.#p);
  }

  /**
   * Sends close_notify: `'sent'` when ours is queued (take the output) and the peer's has not
   * arrived yet, `'done'` when both have been exchanged.
   */
  shutdown(): 'sent' | 'done' | Want {
    const p = this.#live();
    return this.#step(this.#inst.exports.ow_conn_shutdown(p), (r) => (r === 1 ? 'done' as const : 'sent' as const));
  }

  /** True once the handshake has completed. */
  get handshakeDone(): boolean {
    return this.#inst.exports.ow_conn_handshake_done(this.#p) === 1;
  }

  /** The negotiated protocol, e.g. 'TLSv1.3', or null before the handshake (node's getProtocol()). */
  get protocol(): string | null {
    if (!this.handshakeDone) return null;
    const v = this.#inst.exports.ow_conn_version(this.#p);
    return VERSION_NAMES[v] ?? `0x${v.toString(16)}`;
  }

  /** The negotiated cipher, or null before the handshake (node's getCipher()). */
  get cipher(): CipherInfo | null {
    const { exports: x, heap } = this.#inst;
    const p = this.#p;
    const name = heap.cstring(x.ow_conn_cipher(p));
    if (name === null || !this.handshakeDone) return null;
    return { name, standardName: heap.cstring(x.ow_conn_cipher_standard(p)) ?? name, version: this.protocol ?? 'unknown' };
  }

  /** The key-exchange group, e.g. 'X25519MLKEM768', 'x25519', 'secp256r1'; null if none. */
  get group(): string | null {
    return this.#inst.heap.cstring(this.#inst.exports.ow_conn_group(this.#p));
  }

  /** The ALPN protocol selected, or false (as node's `alpnProtocol`). */
  get alpnProtocol(): string | false {
    const { exports: x, heap } = this.#inst;
    const p = this.#p;
    const [n, [ptr]] = heap.withOut(1, (out) => x.ow_conn_alpn(p, out));
    return n > 0 ? new TextDecoder().decode(heap.u8().subarray(ptr, ptr + n)) : false;
  }

  /** Server: the SNI name the client sent. Client: the name it sent. Null if none. */
  get servername(): string | null {
    return this.#inst.heap.cstring(this.#inst.exports.ow_conn_servername(this.#p));
  }

  /** The X.509 verify result for the peer's certificate (0 is OK). */
  get verifyResult(): number {
    return this.#inst.exports.ow_conn_verify_result(this.#p);
  }

  /** True when the peer presented a certificate that verified (node's `authorized`). */
  get authorized(): boolean {
    return this.handshakeDone && this.verifyResult === 0 && this.#inst.exports.ow_conn_peer_cert_count(this.#p) > 0;
  }

  /**
   * Why the peer is not authorized, as node's `authorizationError` code (e.g.
   * 'CERT_HAS_EXPIRED'), or null when it is.
   */
  get authorizationError(): string | null {
    if (this.authorized) return null;
    const v = this.verifyResult;
    if (v !== 0) return verifyCode(v);
    return this.handshakeDone ? 'NO_PEER_CERTIFICATE' : null;
  }

  /** Where in the peer's chain verification first failed (0 is the leaf), or -1. */
  get verifyErrorDepth(): number {
    return this.#inst.exports.ow_conn_verify_error_depth(this.#p);
  }

  /** OpenSSL's text for {@link verifyResult}, e.g. 'certificate has expired'; null when it is OK. */
  get verifyError(): string | null {
    const v = this.verifyResult;
    return v === 0 ? null : this.#inst.heap.cstring(this.#inst.exports.ow_verify_error_string(v));
  }

  /** The signature scheme the peer signed the handshake with, e.g. 'ecdsa_secp256r1_sha256'. */
  get peerSignatureScheme(): string | null {
    return this.#inst.heap.cstring(this.#inst.exports.ow_conn_peer_signature(this.#p));
  }

  /** True when this connection resumed an earlier session. */
  get sessionReused(): boolean {
    return this.#inst.exports.ow_conn_session_reused(this.#p) === 1;
  }

  /**
   * The session to resume later with the `session` option, as bytes (secret: it holds keys),
   * or undefined when there is none yet. With TLS 1.3 a client has one only once it has read
   * the server's session tickets, which arrive after the handshake.
   */
  getSession(): Uint8Array | undefined {
    const { exports: x, heap } = this.#inst;
    const p = this.#p;
    const [der, [len]] = heap.withOut(1, (out) => x.ow_conn_get_session(p, out));
    if (der === NULL) return undefined;
    const out = heap.copyOut(der, len);
    heap.free(der, len);
    return out;
  }

  /** How many sessions (TLS 1.3 tickets) this client has received; it changes when a newer one arrives. */
  get sessionCount(): number {
    return this.#inst.exports.ow_conn_session_count(this.#p);
  }

  /** The peer leaf's subjectAltName, e.g. 'DNS:localhost, IP Address:127.0.0.1', or null. */
  get peerSubjectAltName(): string | null {
    const { exports: x, heap } = this.#inst;
    const p = x.ow_conn_peer_san(this.#p);
    const s = heap.cstring(p);
    heap.free(p);
    return s;
  }

  /** The last alert this side sent, if any. */
  get alertSent(): TlsAlert | undefined {
    return decodeAlert(this.#inst.exports.ow_conn_alert(this.#p, 0));
  }

  /** The last alert the peer sent, if any. */
  get alertReceived(): TlsAlert | undefined {
    return decodeAlert(this.#inst.exports.ow_conn_alert(this.#p, 1));
  }

  /** The peer's certificates as DER, leaf first, as the peer sent them. */
  peerCertificates(): Uint8Array[] {
    const { exports: x, heap } = this.#inst;
    const p = this.#p;
    const count = x.ow_conn_peer_cert_count(p);
    const certs: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const [der, [len]] = heap.withOut(1, (out) => x.ow_conn_peer_cert(p, i, out));
      if (der === NULL) throw this.#error(`reading peer certificate ${i}`);
      certs.push(heap.copyOut(der, len));
      heap.free(der);
    }
    return certs;
  }

  /** The error that ended this connection, if one did. */
  get error(): TlsError | undefined {
    return this.#failure;
  }

  /** True until {@link free} is called. */
  get alive(): boolean {
    return this.#ptr !== NULL;
  }

  /** Frees the connection's native state. Calling it again does nothing. */
  free(): void {
    if (this.#ptr === NULL) return;
    registry?.unregister(this);
    this.#inst.exports.ow_conn_free(this.#ptr);
    this.#ptr = NULL as ConnPtr;
  }

  [Symbol.dispose](): void {
    this.free();
  }
}
