/**
 * The low-level TLS engine: OpenSSL's nonblocking contract, one to one, with no I/O of its
 * own. Ciphertext from the peer goes in with {@link TlsEngine.feed}; ciphertext for the peer
 * comes out of {@link TlsEngine.takeOutput}; every step reports `'want-read'` (feed more
 * bytes, then call again) or `'want-write'` (take the output, then call again) exactly when
 * `SSL_get_error()` does.
 *
 * A minimal client loop:
 * ```ts
 * const engine = ctx.createEngine({ servername: 'example.com' });
 * for (;;) {
 *   const r = engine.handshake();
 *   send(engine.takeOutput());            // may be empty
 *   if (r === 'done') break;
 *   if (r === 'want-read') engine.feed(await receive());
 * }
 * ```
 * @module
 */
import { CONN_INFO, NULL, Status, type BytePtr, type ConnPtr, type Pointer } from './abi.js';
import { describeCertificate, type CertificateInfo } from './certificate.js';
import type { SecureContext } from './context.js';
import { TlsError, argError, formatOpenSSLError, received } from './errors.js';
import { STAGING_SIZE, outOfMemory, toBytes } from './memory.js';
import {
  CONTENT_TYPES, HANDSHAKE_TYPES, X509_V, decodeAlert, verifyCode, versionName, type TlsAlert,
} from './names.js';
import { NativeHandle, drainErrors, openSSLFailure } from './native.js';
import { checkBoolean, checkFunction, checkHostName, checkInteger, invalidType, outOfRange } from './validate.js';

/** What a step needs before it can make progress. */
export type Want = 'want-read' | 'want-write';

export interface EngineOptions {
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
  /** Client: a session saved from an earlier connection ({@link TlsEngine.getSession}) to resume. */
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

/** The cipher in use, as node's `tlsSocket.getCipher()` describes it. */
export interface CipherInfo {
  /** OpenSSL's name, e.g. 'TLS_AES_256_GCM_SHA384' or 'ECDHE-RSA-AES128-GCM-SHA256'. */
  readonly name: string;
  /** The IANA name, e.g. 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'. */
  readonly standardName: string;
  /** The protocol version, e.g. 'TLSv1.3'. */
  readonly version: string;
}

/**
 * What an engine negotiated and where it stands, read from OpenSSL in one call
 * ({@link TlsEngine.negotiated}). The high-level connection keeps the last one, so these stay
 * readable after it closes.
 */
export interface Negotiated {
  /** True once the handshake has completed. */
  readonly handshakeDone: boolean;
  /** e.g. 'TLSv1.3'; null before the handshake. */
  readonly protocol: string | null;
  /** The cipher, as node's getCipher(); null before the handshake. */
  readonly cipher: CipherInfo | null;
  /** The key-exchange group, e.g. 'X25519MLKEM768', 'x25519', 'secp256r1'; null if none. */
  readonly group: string | null;
  /** The ALPN protocol selected, or false (node's `alpnProtocol`). */
  readonly alpnProtocol: string | false;
  /** Server: the SNI name the client sent. Client: the name it sent. Null if none. */
  readonly servername: string | null;
  /** True when the peer presented a certificate that verified (node's `authorized`). */
  readonly authorized: boolean;
  /** Why the peer is not authorized, as node's code (e.g. 'CERT_HAS_EXPIRED'), or null. */
  readonly authorizationError: string | null;
  /** The X.509 verify result for the peer's certificate (0 is OK). */
  readonly verifyResult: number;
  /** OpenSSL's text for `verifyResult`, e.g. 'certificate has expired'; null when it is OK. */
  readonly verifyError: string | null;
  /** Where in the peer's chain verification first failed (0 is the leaf), or -1. */
  readonly verifyErrorDepth: number;
  /** The certificate name that matched the host (s_client's "Verified peername"), or null. */
  readonly peername: string | null;
  /** The signature scheme the peer signed the handshake with, e.g. 'ecdsa_secp256r1_sha256'. */
  readonly peerSignatureScheme: string | null;
  /** How many certificates the peer sent. */
  readonly peerCertificateCount: number;
  /** True when this connection resumed an earlier session (node's `isSessionReused()`). */
  readonly sessionReused: boolean;
  /** Client: how many sessions (TLS 1.3 tickets) have arrived; it changes when a newer one does. */
  readonly sessionCount: number;
  /** The last alert this side sent, if any. */
  readonly alertSent: TlsAlert | undefined;
  /** The last alert the peer sent, if any. */
  readonly alertReceived: TlsAlert | undefined;
  /** True once this side's close_notify is queued. */
  readonly closeSent: boolean;
  /** True once the peer's close_notify has been read. */
  readonly closeReceived: boolean;
}

/** One error certificate verification met: where in the chain, and OpenSSL's number. */
export interface VerifyFailure {
  readonly depth: number;
  readonly error: number;
}

const MAX_BUFFER = 1 << 20;

/**
 * The last instant OpenSSL can be told in this build: Emscripten 3.1.6's libc has a 32-bit
 * time_t, so certificate times and clocks end at 2038-01-19T03:14:07Z.
 */
const LAST_TIME_MS = (2 ** 31 - 1) * 1000;

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}


/** The largest `length` exportKeyingMaterial() takes (node's limit is 2^32 - 1; this one keeps it within the heap). */
export const MAX_EXPORT_LENGTH = 1 << 20;

/** node's checks of exportKeyingMaterial's arguments, with its codes and messages. */
export function checkExportArguments(length: unknown, label: unknown, context: unknown): void {
  if (typeof length !== 'number') {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "length" argument must be of type number. ${received(length)}`);
  }
  if (!Number.isInteger(length)) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be an integer. Received ${length}`);
  }
  if (length < 1 || length > MAX_EXPORT_LENGTH) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE',
      `The value of "length" is out of range. It must be >= 1 && <= ${MAX_EXPORT_LENGTH}. Received ${length}`);
  }
  if (typeof label !== 'string') {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "label" argument must be of type string. ${received(label)}`);
  }
  if (context !== undefined && !ArrayBuffer.isView(context)) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE',
      `The "context" argument must be an instance of Buffer, TypedArray, or DataView. ${received(context)}`);
  }
}

/** node's error for asking a connection that is not (or no longer) established. */
export function notEstablished(): TlsError {
  return new TlsError('TLS socket connection must be securely established', { code: 'ERR_TLS_INVALID_STATE' });
}

/**
 * One TLS engine, client or server, as its {@link SecureContext} decides. Free it with
 * {@link free} or `using`; a FinalizationRegistry frees forgotten ones, but only eventually.
 *
 * Errors are sticky, as in OpenSSL: once a step throws a {@link TlsError}, every later step
 * throws the same error. Output that OpenSSL queued before failing (such as the alert it sent)
 * can still be taken with {@link takeOutput}.
 */
export class TlsEngine extends NativeHandle<ConnPtr> {
  readonly isServer: boolean;
  readonly #host: string | undefined;
  readonly #onmessage: ((e: TlsMessageEvent) => void) | undefined;
  readonly #onkeylog: ((line: string) => void) | undefined;
  #failure: TlsError | undefined;
  #done = false;

  /** @internal Use `SecureContext.createEngine`. */
  constructor(ctx: SecureContext, options: EngineOptions = {}) {
    super(ctx.instance, 'TlsEngine');
    this.isServer = ctx.isServer;
    // Every option is checked before the native engine exists, so a bad one leaks nothing.
    checkInteger('options.bufferSize', options.bufferSize, 0, MAX_BUFFER);
    const size = options.bufferSize ?? 0;
    const { servername, host = servername } = options;
    checkHostName('options.servername', servername);
    checkHostName('options.host', options.host);
    if (this.isServer && (servername !== undefined || options.host !== undefined)) {
      throw new TypeError('servername and host are client options');
    }
    if (!this.isServer && host === undefined && ctx.options.rejectUnauthorized !== false) {
      throw new TypeError(
        "a client needs servername (or host) to check the server's certificate; " +
        'pass rejectUnauthorized: false to the context to connect without verification');
    }
    if (options.session !== undefined) {
      if (this.isServer) throw new TypeError('session is a client option');
      if (!(options.session instanceof Uint8Array)) throw invalidType('options.session', 'an instance of Uint8Array (from getSession())', options.session);
    }
    if (options.verifyTime !== undefined && (!Number.isFinite(options.verifyTime) || options.verifyTime < 0)) {
      throw new RangeError('verifyTime must be a time in ms since the epoch');
    }
    if (options.verifyTime !== undefined && options.verifyTime > LAST_TIME_MS) {
      throw outOfRange(`verifyTime ${new Date(options.verifyTime).toISOString()} is after ${new Date(LAST_TIME_MS).toISOString()}, ` +
        "the last second this build's 32-bit time_t holds (Emscripten 3.1.6)");
    }
    for (const name of ['onmessage', 'onkeylog'] as const) checkFunction(`options.${name}`, options[name]);
    checkBoolean('options.checkHost', options.checkHost);
    this.#host = host;
    this.#onmessage = options.onmessage;
    this.#onkeylog = options.onkeylog;

    const inst = this.instance;
    const { exports: x, heap } = inst;
    const ptr = x.ow_conn_new(ctx.pointer, size);
    if (ptr === NULL) throw openSSLFailure(inst, 'creating the engine');
    this.adopt(ptr, (x, p) => x.ow_conn_free(p));
    try {
      const check = (status: number, what: string) => {
        if (status < 0) throw openSSLFailure(inst, what);
      };
      // The name is checked even with rejectUnauthorized: false: the result then shows in
      // authorized/authorizationError instead of failing the handshake (as node:tls).
      if (servername !== undefined && !isIp(servername)) {
        heap.withCString(servername, false, (s) => check(x.ow_conn_set_sni(ptr, s), `servername '${servername}'`));
      }
      if (host !== undefined && options.checkHost !== false) {
        heap.withCString(host, false, (h) => check(x.ow_conn_set_verify_host(ptr, h), `host '${host}'`));
      }
      if (options.session !== undefined) {
        heap.withBytes(options.session, true, (b, n) => check(x.ow_conn_set_session(ptr, b, n), 'session'));
      }
      if (this.#onmessage) check(x.ow_conn_enable_trace(ptr), 'onmessage');
      if (this.#onkeylog) check(x.ow_conn_enable_keylog(ptr), 'onkeylog');
      if (options.verifyTime !== undefined) check(x.ow_conn_set_verify_time(ptr, Math.floor(options.verifyTime / 1000)), 'verifyTime');
    } catch (e) {
      this.free();
      throw e;
    }
  }

  /** Hands queued trace and key-log events to their callbacks, outside any OpenSSL call. */
  #deliver(): void {
    if (!this.#onmessage && !this.#onkeylog) return;
    const { exports: x, heap } = this.instance;
    const p = this.pointer;
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
          this.#onmessage({
            direction: events[i + 1] ? 'sent' : 'received',
            contentType: CONTENT_TYPES[type] ?? String(type),
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

  /** Builds the error for a failed step from the error queue, verify result and alerts. */
  #fail(status: number): TlsError {
    const inst = this.instance;
    const errors = drainErrors(inst);
    const info = this.negotiated();
    const details = { errors, alertSent: info.alertSent, alertReceived: info.alertReceived };
    const verifyFailed = errors.some((e) => e.reason === 'certificate verify failed') && info.verifyResult !== X509_V.OK;
    let e: TlsError;
    if (verifyFailed) {
      const verifyError = info.verifyError ?? `X.509 error ${info.verifyResult}`;
      e = new TlsError(this.#verifyMessage(info.verifyResult, verifyError),
        { ...details, code: verifyCode(info.verifyResult), verifyResult: info.verifyResult, verifyError, verifyFailures: this.verifyFailures() });
    } else if (errors.length > 0) {
      const text = formatOpenSSLError(errors[0]);
      e = new TlsError(info.alertReceived?.level === 'fatal'
        ? `${text} (the peer sent alert ${info.alertReceived.name})` : text, details);
    } else if (status === Status.ERR_TRANSPORT) {
      e = new TlsError('the transport closed without a TLS close_notify', { ...details, code: 'ECONNRESET' });
    } else {
      e = new TlsError(`TLS failure (status ${status})`, details);
    }
    this.#failure = e;
    return e;
  }

  #verifyMessage(result: number, text: string): string {
    if ((result === X509_V.HOSTNAME_MISMATCH || result === X509_V.IP_ADDRESS_MISMATCH) && this.#host !== undefined) {
      const leaf = this.peerCertificates()[0];
      const san = leaf === undefined ? undefined : describeCertificate(this.instance, leaf).subjectaltname;
      const what = result === X509_V.IP_ADDRESS_MISMATCH ? 'IP' : 'Host';
      // node:tls's wording, so code that matched on it keeps working.
      return `Hostname/IP does not match certificate's altnames: ${what}: ${this.#host}. ` +
        (san ? `is not in the cert's altnames: ${san}` : 'The certificate has no subjectAltName');
    }
    return text;
  }

  /** Copies as much of `bytes` as fits into the staging buffer: its address and the count. */
  #stage(bytes: Uint8Array): [BytePtr, number] {
    const heap = this.instance.heap;
    const buf = heap.staging();
    const n = Math.min(bytes.length, STAGING_SIZE);
    heap.u8().set(bytes.subarray(0, n), buf);
    return [buf, n];
  }

  /** Turns a step's status into its result, or throws. */
  #step<T>(status: number, ok: (n: number) => T): T | Want {
    this.#deliver();
    if (status >= 0) return ok(status);
    if (status === Status.WANT_READ) return 'want-read';
    if (status === Status.WANT_WRITE) return 'want-write';
    throw this.#fail(status);
  }

  #live(): ConnPtr {
    const p = this.pointer;
    if (this.#failure) throw this.#failure;
    return p;
  }

  /**
   * Advances the handshake: `'done'`, or what it waits for. Throws {@link TlsError} when the
   * handshake fails (bad certificate, alert from the peer, garbage on the wire).
   *
   * @example
   * ```ts
   * let r = engine.handshake();          // 'want-read': the ClientHello is in takeOutput()
   * socket.write(engine.takeOutput());
   * ```
   */
  handshake(): 'done' | Want {
    const p = this.#live();
    const r = this.#step(this.instance.exports.ow_conn_handshake(p), () => 'done' as const);
    if (r === 'done') this.#done = true;
    return r;
  }

  /**
   * Gives OpenSSL ciphertext that arrived from the peer. Returns how many bytes it took,
   * which is fewer than given when its buffer is full: call {@link read} or
   * {@link handshake} to let it process them, then feed the rest.
   *
   * @example
   * ```ts
   * let rest = chunkFromTheNetwork;
   * while (rest.length > 0) {
   *   rest = rest.subarray(engine.feed(rest));
   *   if (rest.length > 0) drainPlaintext(engine);   // engine.read() until 'want-read'
   * }
   * ```
   */
  feed(data: Uint8Array | ArrayBuffer): number {
    const p = this.#live();
    if (typeof data === 'string') throw new TypeError('feed() takes ciphertext bytes, not a string');
    const bytes = toBytes(data);
    if (bytes.length === 0) return 0;
    const [buf, n] = this.#stage(bytes);
    const r = this.instance.exports.ow_conn_feed(p, buf, n);
    if (r === Status.ERR_NO_MEMORY) throw outOfMemory(n);
    if (r === Status.ERR_ENDED) throw new TlsError('cannot feed: the transport was already ended with feedEnd()', { code: 'ERR_TLS_FEED_AFTER_END' });
    if (r < 0) throw new TlsError(`feed failed (status ${r})`);
    return r;
  }

  /**
   * Tells OpenSSL the transport has ended: no more ciphertext will come.
   *
   * @example
   * ```ts
   * socket.on('end', () => { engine.feedEnd(); pump(); });  // a step then sees 'closed' or a truncation
   * ```
   */
  feedEnd(): void {
    this.instance.exports.ow_conn_feed_end(this.pointer);
  }

  /** Bytes of ciphertext waiting to be sent. */
  get pendingOutput(): number {
    return this.instance.exports.ow_conn_pending_output(this.pointer);
  }

  /**
   * Takes all ciphertext waiting to be sent (an empty array when there is none).
   *
   * @example
   * ```ts
   * const out = engine.takeOutput();
   * if (out.length > 0) socket.write(out);
   * ```
   */
  takeOutput(): Uint8Array {
    const p = this.pointer;
    const { exports: x, heap } = this.instance;
    const pending = x.ow_conn_pending_output(p);
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
   *
   * @example
   * ```ts
   * for (let r = engine.read(); r instanceof Uint8Array; r = engine.read()) received.push(r);
   * ```
   */
  read(max = 16384): Uint8Array | Want | 'closed' {
    const p = this.#live();
    if (!Number.isInteger(max) || max <= 0) throw new RangeError(`max must be a positive integer, got ${max}`);
    const { exports: x, heap } = this.instance;
    const buf = heap.staging();
    const status = x.ow_conn_read(p, buf, Math.min(max, STAGING_SIZE));
    if (status === Status.CLOSED) {
      this.#deliver();
      return 'closed';
    }
    return this.#step(status, (n) => heap.copyOut(buf, n));
  }

  /**
   * Encrypts application data. Returns how many bytes were taken (at least one record's
   * worth, maybe fewer than given), or `'want-write'` when the output must be taken first,
   * or `'want-read'` (during a handshake). Call again with the rest.
   *
   * @example
   * ```ts
   * let rest = new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n');
   * while (rest.length > 0) {
   *   const r = engine.write(rest);
   *   socket.write(engine.takeOutput());
   *   if (typeof r === 'number') rest = rest.subarray(r);
   * }
   * ```
   */
  write(data: Uint8Array | ArrayBuffer | string): number | Want {
    const p = this.#live();
    const bytes = toBytes(data);
    if (bytes.length === 0) return 0;
    const x = this.instance.exports;
    const [buf, n] = this.#stage(bytes);
    try {
      return this.#step(x.ow_conn_write(p, buf, n), (m) => m);
    } finally {
      x.ow_cleanse(buf, n);
    }
  }

  /** Decrypted bytes ready to read without feeding more. */
  get pendingInput(): number {
    return this.instance.exports.ow_conn_pending_input(this.pointer);
  }

  /**
   * Sends close_notify: `'sent'` when ours is queued (take the output) and the peer's has not
   * arrived yet, `'done'` when both have been exchanged.
   *
   * @example
   * ```ts
   * engine.shutdown();                    // 'sent'
   * socket.end(engine.takeOutput());
   * ```
   */
  shutdown(): 'sent' | 'done' | Want {
    const p = this.#live();
    return this.#step(this.instance.exports.ow_conn_shutdown(p), (r) => (r === 1 ? 'done' as const : 'sent' as const));
  }

  /** True once the handshake has completed. */
  get handshakeDone(): boolean {
    this.pointer; // use after free is an error here too
    return this.#done;
  }

  /**
   * What was negotiated and where the engine stands, read in one call into the module.
   *
   * @example
   * ```ts
   * const { protocol, cipher, alpnProtocol, authorized } = engine.negotiated();
   * ```
   */
  negotiated(): Negotiated {
    const { exports: x, heap } = this.instance;
    const p = this.pointer;
    const buf = heap.staging();
    if (x.ow_conn_get_info(p, buf as number as Pointer<'ow_conn_info'>) !== Status.OK) throw openSSLFailure(this.instance, 'reading the connection state');
    const i32 = (f: { offset: number }) => heap.i32(buf + f.offset);
    const str = (f: { offset: number }) => heap.cstring(heap.u32(buf + f.offset) as Pointer<'char'>);
    const F = CONN_INFO;
    const done = i32(F.handshakeDone) === 1;
    const protocol = done ? versionName(i32(F.version)) : null;
    const cipherName = str(F.cipher);
    const alpnLen = i32(F.alpnLen);
    const alpnPtr = heap.u32(buf + F.alpn.offset);
    const verifyResult = i32(F.verifyResult);
    const peerCertificateCount = i32(F.peerCertCount);
    const authorized = done && verifyResult === X509_V.OK && peerCertificateCount > 0;
    return {
      handshakeDone: done,
      protocol,
      cipher: cipherName === null || !done ? null
        : { name: cipherName, standardName: str(F.cipherStandard) ?? cipherName, version: protocol ?? 'unknown' },
      group: str(F.group),
      alpnProtocol: alpnLen > 0 ? new TextDecoder().decode(heap.u8().subarray(alpnPtr, alpnPtr + alpnLen)) : false,
      servername: str(F.servername),
      authorized,
      authorizationError: authorized ? null
        : verifyResult !== X509_V.OK ? verifyCode(verifyResult) : done ? 'NO_PEER_CERTIFICATE' : null,
      verifyResult,
      verifyError: verifyResult === X509_V.OK ? null : heap.cstring(x.ow_verify_error_string(verifyResult)),
      verifyErrorDepth: i32(F.verifyErrorDepth),
      peername: str(F.peername),
      peerSignatureScheme: str(F.peerSignature),
      peerCertificateCount,
      sessionReused: i32(F.sessionReused) === 1,
      sessionCount: i32(F.sessionCount),
      alertSent: decodeAlert(i32(F.alertSent)),
      alertReceived: decodeAlert(i32(F.alertReceived)),
      closeSent: i32(F.closeSent) === 1,
      closeReceived: i32(F.closeReceived) === 1,
    };
  }

  /**
   * Client: how many sessions (TLS 1.3 tickets) have arrived; it changes when a newer one does.
   * One counter, not the whole {@link negotiated} snapshot: cheap enough to ask after every read.
   */
  get sessionCount(): number {
    return Math.max(0, this.instance.exports.ow_conn_session_count(this.pointer));
  }

  /**
   * The session to resume later with the `session` option, as bytes (secret: it holds keys),
   * or undefined when there is none yet. With TLS 1.3 a client has one only once it has read
   * the server's session tickets, which arrive after the handshake.
   */
  getSession(): Uint8Array | undefined {
    const { exports: x, heap } = this.instance;
    const p = this.pointer;
    const [der, [len]] = heap.withOut(1, (out) => x.ow_conn_get_session(p, out));
    return der === NULL ? undefined : heap.takeBytes(der, len, true);
  }

  /**
   * Keying material exported from the connection's secrets as RFC 5705 defines it (RFC 8446
   * section 7.5 in TLS 1.3): `length` bytes for `label` and, if given, `context` (an empty
   * context differs from none). With node's signature and errors
   * (`tlsSocket.exportKeyingMaterial`); both ends that give the same arguments get the same bytes.
   * Throws `ERR_TLS_INVALID_STATE` before the handshake is done.
   *
   * @example
   * ```ts
   * const binding = engine.exportKeyingMaterial(32, 'EXPORTER-my-protocol');
   * ```
   */
  exportKeyingMaterial(length: number, label: string, context?: ArrayBufferView): Uint8Array {
    checkExportArguments(length, label, context);
    const p = this.#live();
    if (!this.#done) throw notEstablished();
    const { exports: x, heap } = this.instance;
    const labelBytes = new TextEncoder().encode(label);
    const ctxBytes = context === undefined ? new Uint8Array(0)
      : new Uint8Array(context.buffer, context.byteOffset, context.byteLength);
    const out = heap.alloc(length);
    try {
      const status = heap.withBytes(labelBytes, false, (l, ln) => heap.withBytes(ctxBytes, false, (c, cn) =>
        x.ow_conn_export_keying_material(p, out, length, l, ln, c, cn, context === undefined ? 0 : 1)));
      if (status === Status.ERR_ARGUMENT) throw notEstablished();
      if (status !== Status.OK) {
        // node's error: OpenSSL's own line, e.g. a TLS 1.2 label RFC 5705 reserves.
        const errors = drainErrors(this.instance);
        throw new TlsError(errors.length ? formatOpenSSLError(errors[0]) : 'Key export failed', { errors });
      }
      return heap.copyOut(out, length);
    } finally {
      heap.free(out, length);
    }
  }

  /** The peer's certificates as DER, leaf first, as the peer sent them (also after a failed verification). */
  peerCertificates(): Uint8Array[] {
    const { exports: x, heap } = this.instance;
    const p = this.pointer;
    // Until the first index past the end (NULL): asking for the count would take the whole
    // negotiated() snapshot, which costs more than the copies (this runs once per handshake).
    const certs: Uint8Array[] = [];
    for (let i = 0; ; i++) {
      const [der, [len]] = heap.withOut(1, (out) => x.ow_conn_peer_cert(p, i, out));
      if (der === NULL) {
        if (i < x.ow_conn_peer_cert_count(p)) throw openSSLFailure(this.instance, `reading peer certificate ${i}`);
        return certs;
      }
      certs.push(heap.takeBytes(der, len, false));
    }
  }

  /**
   * The chain verification built, as DER: the leaf, its issuers as OpenSSL found them (among
   * what the peer sent and in the trusted CAs), and the trust anchor when one was found. After
   * a failed verification, as far as it got; empty when verification did not run.
   */
  verifiedCertificates(): Uint8Array[] {
    const { exports: x, heap } = this.instance;
    const p = this.pointer;
    const certs: Uint8Array[] = [];
    for (let i = 0; ; i++) {
      const [der, [len]] = heap.withOut(1, (out) => x.ow_conn_verified_cert(p, i, out));
      if (der === NULL) return certs;
      certs.push(heap.takeBytes(der, len, false));
    }
  }

  /** The peer's leaf certificate described (node's getPeerCertificate() fields), or undefined. */
  peerCertificate(): CertificateInfo | undefined {
    const leaf = this.peerCertificates()[0];
    return leaf === undefined ? undefined : describeCertificate(this.instance, leaf);
  }

  /**
   * Every error certificate verification met, in OpenSSL's order: with `rejectUnauthorized:
   * false` verification goes on past each one (as `openssl s_client` reports them).
   */
  verifyFailures(): VerifyFailure[] {
    const { exports: x, heap } = this.instance;
    const [pairs, [count]] = heap.withOut(1, (out) => x.ow_conn_verify_errors(this.pointer, out));
    const out: VerifyFailure[] = [];
    for (let i = 0; i < count; i++) out.push({ depth: heap.i32(pairs + 8 * i), error: heap.i32(pairs + 8 * i + 4) });
    return out;
  }

  /** The error that ended this engine, if one did. */
  get error(): TlsError | undefined {
    return this.#failure;
  }
}
