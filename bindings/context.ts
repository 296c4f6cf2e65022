/**
 * Secure contexts: the configuration engines and connections are made from, as
 * `tls.createSecureContext` makes in node:tls. Option names, defaults and validation messages
 * follow node:tls.
 * @module
 */
import { NULL, type CtxPtr } from './abi.js';
import { TlsEngine, type EngineOptions } from './engine.js';
import type { Flavor, Instance } from './loader.js';
import { concatBytes, toBytes } from './memory.js';
import { VERSIONS } from './names.js';
import { NativeHandle, openSSLFailure } from './native.js';
import { TrustStore, type CertificateInput } from './store.js';
import {
  checkBoolean, checkInteger, checkPemOrDer, checkString, invalidType, toAlpnWire,
} from './validate.js';

export type { CertificateInput } from './store.js';

/** TLS versions by node:tls name. TLS 1.0 and 1.1 are in the 'full' flavor only. */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface SecureContextOptions {
  /** Make a server context. Default false (client). */
  isServer?: boolean;
  /**
   * Trusted CA certificates: PEM (possibly several per string), DER, or a shared
   * {@link TrustStore}. A context made with no `ca` trusts nothing, so a client must pass `ca`
   * or turn verification off; `connect()` passes the bundled Mozilla roots instead
   * (`await openssl.rootStore()`).
   */
  ca?: CertificateInput | readonly CertificateInput[] | TrustStore;
  /** This side's certificate, then any intermediates (PEM chain, or DER leaf). */
  cert?: CertificateInput | readonly CertificateInput[];
  /** The private key for `cert`: PEM or DER; PKCS#8 (encrypted or not), PKCS#1 or SEC1. */
  key?: CertificateInput;
  /** Passphrase for an encrypted `key`. */
  passphrase?: string;
  /** Lowest version to negotiate. Default 'TLSv1.2'. */
  minVersion?: TlsVersion;
  /** Highest version to negotiate. Default 'TLSv1.3'. */
  maxVersion?: TlsVersion;
  /**
   * TLS 1.2 cipher list, in OpenSSL's syntax, e.g. 'ECDHE-ECDSA-AES128-GCM-SHA256'. The default
   * is OpenSSL's with ChaCha20-Poly1305 first: 'CHACHA20:ALL:!COMPLEMENTOFDEFAULT:!eNULL'.
   */
  ciphers?: string;
  /**
   * TLS 1.3 suites, colon-separated. The default is OpenSSL's three with ChaCha20-Poly1305
   * first: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384'.
   */
  ciphersuites?: string;
  /**
   * Key-exchange groups in preference order, colon-separated, e.g. 'X25519MLKEM768:X25519'
   * (node:tls's name; OpenSSL calls them groups, and they include post-quantum KEMs).
   */
  ecdhCurve?: string;
  /**
   * ALPN protocols in preference order, e.g. ['h2', 'http/1.1'] (names of 1 to 255 bytes, as
   * strings or bytes), or the list in wire format; at most 32 KiB in all.
   */
  ALPNProtocols?: readonly (string | Uint8Array)[] | Uint8Array;
  /** Server: ask the client for a certificate. Default false. */
  requestCert?: boolean;
  /**
   * Client: fail the handshake when the server's certificate does not verify (default true).
   * Server: with `requestCert`, refuse clients without a verified certificate (default true);
   * `ca` must then say which CAs issue client certificates.
   */
  rejectUnauthorized?: boolean;
  /**
   * Server: how many sessions it keeps for resumption by session ID (TLS 1.2 clients without
   * tickets). Each takes about 1 KB of wasm memory, which never shrinks, so the default is
   * small: {@link DEFAULT_MAX_CACHED_SESSIONS}. 0 turns the cache off. (TLS 1.3 and ticket
   * resumption keep nothing on the server.) The name is node's (`https.Agent`).
   */
  maxCachedSessions?: number;
  /** Server: seconds a session may be resumed, cached or in a ticket. Default 300, as node:tls. */
  sessionTimeout?: number;
  /**
   * Server: choose the cipher by the server's order of preference rather than the client's.
   * Default true, as node:tls. This package's default lists put ChaCha20-Poly1305 first, since
   * wasm has no AES instructions and runs it several times faster than AES-GCM, so a server
   * picks it whenever the client offers it; with your own `ciphers`/`ciphersuites` and AES
   * first, a client that puts ChaCha20 first still gets it (OpenSSL's prioritize-ChaCha).
   */
  honorCipherOrder?: boolean;
}

/** The server's session cache size when `maxCachedSessions` is not given. */
export const DEFAULT_MAX_CACHED_SESSIONS = 256;
/** node:tls's default `sessionTimeout`, in seconds. */
const DEFAULT_SESSION_TIMEOUT = 300;

/** TLS 1.0 and 1.1 are built into the full flavor only. */
const FULL_ONLY_VERSIONS = new Set(['TLSv1', 'TLSv1.1']);

function version(name: unknown, option: 'minVersion' | 'maxVersion', flavor: Flavor): number {
  if (name === undefined) return 0;
  const v = typeof name === 'string' ? VERSIONS[name] : undefined;
  if (v !== undefined && (flavor === 'full' || !FULL_ONLY_VERSIONS.has(name as string))) return v;
  throw Object.assign(
    new TypeError(v !== undefined
      ? `${option} '${name}' needs the 'full' flavor (OpenSSL.load({ flavor: 'full' })): this build negotiates TLSv1.2 and TLSv1.3 only`
      : `${JSON.stringify(name) ?? String(name)} is not a valid ${option === 'minVersion' ? 'minimum' : 'maximum'} TLS protocol version`),
    { code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' },
  );
}

/**
 * ALPN wire format (each name prefixed by its length) from node's forms: an array of names
 * (strings or bytes), or the wire format itself; checked as node checks it.
 */
export function alpnWire(protocols: readonly (string | Uint8Array)[] | Uint8Array): Uint8Array {
  return toAlpnWire('options.ALPNProtocols', protocols);
}

/**
 * A client or server configuration. Make engines from it with {@link createEngine}; free it
 * with {@link free} (or `using`) once no more are needed: engines already made keep what they
 * need.
 *
 * @example
 * ```ts
 * using ctx = openssl.createSecureContext({ ca: caPem, ALPNProtocols: ['h2', 'http/1.1'] });
 * using engine = ctx.createEngine({ servername: 'example.com' });
 * ```
 */
export class SecureContext extends NativeHandle<CtxPtr> {
  readonly isServer: boolean;
  readonly #options: SecureContextOptions;

  /** @internal Use `openssl.createSecureContext()`. */
  constructor(inst: Instance, options: SecureContextOptions = {}) {
    super(inst, 'SecureContext');
    this.#options = options;
    this.isServer = options.isServer === true;
    // Everything that can be checked is checked before anything is allocated.
    const min = version(options.minVersion, 'minVersion', inst.flavor);
    const max = version(options.maxVersion, 'maxVersion', inst.flavor);
    if (min && max && min > max) {
      throw Object.assign(new TypeError(`minVersion '${options.minVersion}' is higher than maxVersion '${options.maxVersion}'`),
        { code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' });
    }
    for (const name of ['ciphers', 'ciphersuites', 'ecdhCurve', 'passphrase'] as const) checkString(`options.${name}`, options[name]);
    for (const name of ['isServer', 'requestCert', 'rejectUnauthorized', 'honorCipherOrder'] as const) checkBoolean(`options.${name}`, options[name]);
    if (options.ca instanceof TrustStore) {
      if (options.ca.instance !== inst) throw new TypeError('ca is a TrustStore of another OpenSSL instance');
    } else {
      checkPemOrDer('options.ca', options.ca);
    }
    checkPemOrDer('options.cert', options.cert);
    checkPemOrDer('options.key', options.key, { array: false });
    if (options.key !== undefined && options.cert === undefined) throw new TypeError('key was given without cert');
    if (options.cert !== undefined && options.key === undefined) throw new TypeError('cert was given without key');
    if (this.isServer && options.cert === undefined) throw new TypeError('a server context needs cert and key');
    if (this.isServer && options.requestCert && options.rejectUnauthorized !== false && options.ca === undefined) {
      throw Object.assign(new TypeError(
        'requestCert with rejectUnauthorized refuses every client unless ca names the CAs that issue client ' +
        'certificates: give ca (or rejectUnauthorized: false to accept and inspect unverified client certificates)'),
      { code: 'ERR_TLS_REQUEST_CERT_WITHOUT_CA' });
    }
    for (const name of ['maxCachedSessions', 'sessionTimeout'] as const) {
      checkInteger(`options.${name}`, options[name], 0, 2 ** 31 - 1);
      if (!this.isServer && options[name] !== undefined) throw invalidType(`options.${name}`, 'given to a server context only', options[name]);
    }
    const alpn = options.ALPNProtocols === undefined ? undefined : toAlpnWire('options.ALPNProtocols', options.ALPNProtocols);

    const x = inst.exports;
    const ptr = this.isServer ? x.ow_ctx_new_server() : x.ow_ctx_new_client();
    if (ptr === NULL) throw openSSLFailure(inst, 'creating the context');
    this.adopt(ptr, (x, p) => x.ow_ctx_free(p));
    try {
      this.#configure(options, min, max, alpn);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  #check(status: number, what: string): void {
    if (status < 0) throw openSSLFailure(this.instance, what);
  }

  #configure(o: SecureContextOptions, min: number, max: number, alpn: Uint8Array | undefined): void {
    const { exports: x, heap } = this.instance;
    const p = this.pointer;
    // As node:tls: rejectUnauthorized: false still verifies (chain and name) and reports the
    // result in authorized/authorizationError; it only stops a failure from ending the handshake.
    const reject = o.rejectUnauthorized !== false;
    if (this.isServer && o.requestCert) {
      this.#check(reject ? x.ow_ctx_require_peer_cert(p) : x.ow_ctx_request_peer_cert(p), 'requestCert');
    }
    if (this.isServer) {
      if (o.honorCipherOrder === false) this.#check(x.ow_ctx_honor_client_order(p), 'honorCipherOrder');
      this.#check(x.ow_ctx_set_session_cache_size(p, o.maxCachedSessions ?? DEFAULT_MAX_CACHED_SESSIONS), 'maxCachedSessions');
      this.#check(x.ow_ctx_set_session_timeout(p, o.sessionTimeout ?? DEFAULT_SESSION_TIMEOUT), 'sessionTimeout');
    }
    if (!reject) this.#check(x.ow_ctx_report_verify_only(p), 'rejectUnauthorized');
    if (min) this.#check(x.ow_ctx_set_min_version(p, min), 'minVersion');
    if (max) this.#check(x.ow_ctx_set_max_version(p, max), 'maxVersion');
    const lists = [
      ['ciphers', o.ciphers, x.ow_ctx_set_ciphers],
      ['ciphersuites', o.ciphersuites, x.ow_ctx_set_ciphersuites],
      ['ecdhCurve', o.ecdhCurve, x.ow_ctx_set_groups],
    ] as const;
    for (const [name, value, set] of lists) {
      if (value !== undefined) heap.withCString(value, false, (s) => this.#check(set(p, s), `${name} '${value}'`));
    }
    if (o.ca instanceof TrustStore) {
      this.#check(x.ow_ctx_use_store(p, o.ca.pointer), 'ca');
    } else {
      for (const ca of list(o.ca)) {
        heap.withBytes(toBytes(ca), false, (b, n) => this.#check(x.ow_ctx_add_ca(p, b, n), 'ca'));
      }
    }
    if (o.cert !== undefined && o.key !== undefined) {
      const chain = concatPem(list(o.cert));
      heap.withBytes(chain, false, (b, n) => this.#check(x.ow_ctx_use_cert_chain(p, b, n), 'cert'));
      heap.withBytes(toBytes(o.key), true, (b, n) =>
        heap.withCString(o.passphrase, true, (pass) => this.#check(x.ow_ctx_use_key(p, b, n, pass), 'key')));
    }
    if (alpn !== undefined) heap.withBytes(alpn, false, (b, n) => this.#check(x.ow_ctx_set_alpn(p, b, n), 'ALPNProtocols'));
  }

  /** The options this context was made with. */
  get options(): Readonly<SecureContextOptions> {
    return this.#options;
  }

  /**
   * A new engine in this context's role. A client needs `servername` (or `host`) to check the
   * server's identity, unless the context was made with `rejectUnauthorized: false`.
   *
   * @example
   * ```ts
   * const client = clientCtx.createEngine({ servername: 'example.com' });
   * const server = serverCtx.createEngine();
   * ```
   */
  createEngine(options: EngineOptions = {}): TlsEngine {
    return new TlsEngine(this, options);
  }
}

function list<T>(v: T | readonly T[] | undefined): readonly T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v as T];
}

const PEM_START = '-----BEGIN ';

/** DER bytes as a PEM block with the given label. */
export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  let bin = '';
  for (let i = 0; i < der.length; i += 0x8000) bin += String.fromCharCode(...der.subarray(i, i + 0x8000));
  const b64 = btoa(bin).replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function isPem(b: Uint8Array): boolean {
  const head = new TextDecoder().decode(b.subarray(0, 64)).trimStart();
  return head.startsWith(PEM_START);
}

/** One buffer for a certificate chain: PEM pieces (DER ones converted) joined, or a lone DER leaf. */
function concatPem(parts: readonly CertificateInput[]): Uint8Array {
  if (parts.length === 1) return toBytes(parts[0]);
  const bytes = parts.map(toBytes).map((b) => (isPem(b) ? b : new TextEncoder().encode(derToPem(b))));
  const nl = new Uint8Array([10]);
  return concatBytes(bytes.flatMap((b) => [b, nl]));
}
