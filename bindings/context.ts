/**
 * Secure contexts: the configuration connections are made from, as `tls.createSecureContext`
 * makes in node:tls. Option names, defaults and validation messages follow node:tls.
 * @module
 */
import { NULL, VERIFY_FAIL_IF_NO_PEER_CERT, VERIFY_PEER, VERIFY_REPORT_ONLY, type CtxPtr, type StorePtr } from './abi.js';
import { TlsConnection, type ConnectionOptions } from './connection.js';
import { TlsError, formatOpenSSLError, useAfterFree } from './errors.js';
import type { Flavor, Instance } from './loader.js';
import { concatBytes, toBytes } from './memory.js';
import { drainErrors } from './openssl-errors.js';

/** PEM text, or DER/PEM bytes. */
export type CertificateInput = string | Uint8Array | ArrayBuffer;

/** TLS versions by node:tls name. Older ones are not built into this module's defaults. */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface SecureContextOptions {
  /** Make a server context. Default false (client). */
  isServer?: boolean;
  /**
   * Trusted CA certificates (PEM, possibly several per string, or DER). With none, no peer
   * certificate verifies, so a client must pass `ca` or turn verification off.
   */
  ca?: CertificateInput | readonly CertificateInput[];
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
  /** TLS 1.2 cipher list, in OpenSSL's syntax, e.g. 'ECDHE-ECDSA-AES128-GCM-SHA256'. */
  ciphers?: string;
  /** TLS 1.3 suites, colon-separated, e.g. 'TLS_CHACHA20_POLY1305_SHA256'. */
  ciphersuites?: string;
  /** Key-exchange groups in preference order, colon-separated, e.g. 'X25519MLKEM768:X25519'. */
  groups?: string;
  /** node:tls's name for `groups`. */
  ecdhCurve?: string;
  /** ALPN protocols in preference order, e.g. ['h2', 'http/1.1']. */
  ALPNProtocols?: readonly string[] | Uint8Array;
  /** Server: ask the client for a certificate. Default false. */
  requestCert?: boolean;
  /**
   * Client: fail the handshake when the server's certificate does not verify (default true).
   * Server: with `requestCert`, refuse clients without a verified certificate (default true).
   */
  rejectUnauthorized?: boolean;
}

const VERSIONS: Record<string, number> = { 'TLSv1': 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };
/** TLS 1.0 and 1.1 are built into the full flavor only. */
const FULL_ONLY_VERSIONS = new Set(['TLSv1', 'TLSv1.1']);

function version(name: string | undefined, option: string, flavor: Flavor): number {
  if (name === undefined) return 0;
  const v = VERSIONS[name];
  if (v !== undefined && (flavor === 'full' || !FULL_ONLY_VERSIONS.has(name))) return v;
  throw Object.assign(
    new TypeError(v !== undefined
      ? `${option} '${name}' needs the 'full' flavor (OpenSSL.load({ flavor: 'full' })): this build negotiates TLSv1.2 and TLSv1.3 only`
      : `'${name}' is not a valid TLS protocol version`),
    { code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' },
  );
}

/** ALPN wire format: each name prefixed by its length, as node:tls accepts it. */
export function alpnWire(protocols: readonly string[] | Uint8Array): Uint8Array {
  if (protocols instanceof Uint8Array) return protocols;
  const parts = protocols.map((p) => {
    const b = new TextEncoder().encode(p);
    if (b.length === 0 || b.length > 255) {
      throw new TypeError(`ALPN protocol names must be 1 to 255 bytes long, got '${p}'`);
    }
    return b;
  });
  const out = new Uint8Array(parts.reduce((n, b) => n + 1 + b.length, 0));
  let i = 0;
  for (const b of parts) {
    out[i++] = b.length;
    out.set(b, i);
    i += b.length;
  }
  return out;
}

const registry = typeof FinalizationRegistry === 'undefined' ? undefined
  : new FinalizationRegistry<() => void>((release) => release());

/**
 * A client or server configuration. Make connections from it with {@link createConnection};
 * free it with {@link free} (or `using`) once no more are needed: connections already made
 * keep what they need.
 */
export class SecureContext {
  readonly isServer: boolean;
  readonly #inst: Instance;
  #ptr: CtxPtr;
  readonly #options: SecureContextOptions;

  /**
   * @internal Use `OpenSSL.createSecureContext`. `trustStore` is a shared store (the bundled
   * roots) to trust when `options.ca` is not given.
   */
  constructor(inst: Instance, options: SecureContextOptions = {}, trustStore?: StorePtr) {
    this.#inst = inst;
    this.#options = options;
    this.isServer = options.isServer === true;
    const x = inst.exports;
    const min = version(options.minVersion, 'minVersion', inst.flavor);
    const max = version(options.maxVersion, 'maxVersion', inst.flavor);
    if (min && max && min > max) {
      throw Object.assign(new TypeError(`minVersion '${options.minVersion}' is higher than maxVersion '${options.maxVersion}'`),
        { code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' });
    }
    if (options.key !== undefined && options.cert === undefined) throw new TypeError('key was given without cert');
    if (options.cert !== undefined && options.key === undefined) throw new TypeError('cert was given without key');
    if (this.isServer && options.cert === undefined) throw new TypeError('a server context needs cert and key');

    const ptr = x.ow_ctx_new(this.isServer ? 1 : 0);
    if (ptr === NULL) throw this.#error('creating the context');
    this.#ptr = ptr;
    try {
      if (trustStore !== undefined && options.ca === undefined) this.#check(x.ow_ctx_use_store(ptr, trustStore), 'ca');
      this.#configure(options, min, max);
    } catch (e) {
      x.ow_ctx_free(ptr);
      this.#ptr = NULL as CtxPtr;
      throw e;
    }
    registry?.register(this, () => x.ow_ctx_free(ptr), this);
  }

  #error(what: string): TlsError {
    const errors = drainErrors(this.#inst.exports, this.#inst.heap);
    // Some setters (groups, for one) refuse a value without queuing an error.
    if (errors.length === 0) return new TlsError(`${what}: OpenSSL does not accept this value`, { code: 'ERR_TLS_INVALID_OPTION' });
    return new TlsError(`${what}: ${formatOpenSSLError(errors[0])}`, { errors });
  }

  #check(r: number, what: string): void {
    if (r < 0) throw this.#error(what);
  }

  #configure(o: SecureContextOptions, min: number, max: number): void {
    const { exports: x, heap } = this.#inst;
    const p = this.#ptr;
    const rejectUnauthorized = o.rejectUnauthorized !== false;
    // As node:tls: rejectUnauthorized: false still verifies (chain and name) and reports the
    // result in authorized/authorizationError; it only stops a failure from ending the handshake.
    const relaxed = rejectUnauthorized ? 0 : VERIFY_REPORT_ONLY;
    if (this.isServer) {
      const mode = o.requestCert ? VERIFY_PEER | (rejectUnauthorized ? VERIFY_FAIL_IF_NO_PEER_CERT : relaxed) : 0;
      this.#check(x.ow_ctx_set_verify(p, mode), 'requestCert');
    } else {
      this.#check(x.ow_ctx_set_verify(p, VERIFY_PEER | relaxed), 'rejectUnauthorized');
    }
    if (min || max) this.#check(x.ow_ctx_set_versions(p, min, max), 'minVersion/maxVersion');
    const strings: [keyof SecureContextOptions, string | undefined, (c: CtxPtr, s: never) => number][] = [
      ['ciphers', o.ciphers, x.ow_ctx_set_ciphers],
      ['ciphersuites', o.ciphersuites, x.ow_ctx_set_ciphersuites],
      ['groups', o.groups ?? o.ecdhCurve, x.ow_ctx_set_groups],
    ];
    for (const [name, value, set] of strings) {
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
      heap.withCString(value, false, (s) => this.#check(set(p, s as never), `${name} '${value}'`));
    }
    for (const ca of list(o.ca)) {
      heap.withBytes(toBytes(ca), false, (b, n) => this.#check(x.ow_ctx_add_ca(p, b, n), 'ca'));
    }
    if (o.cert !== undefined && o.key !== undefined) {
      const chain = concatPem(list(o.cert));
      heap.withBytes(chain, false, (b, n) => this.#check(x.ow_ctx_use_cert_chain(p, b, n), 'cert'));
      heap.withBytes(toBytes(o.key), true, (b, n) =>
        heap.withCString(o.passphrase, true, (pass) => this.#check(x.ow_ctx_use_key(p, b, n, pass), 'key')));
    }
    if (o.ALPNProtocols !== undefined) {
      const wire = alpnWire(o.ALPNProtocols);
      heap.withBytes(wire, false, (b, n) => this.#check(x.ow_ctx_set_alpn(p, b, n), 'ALPNProtocols'));
    }
  }

  /** @internal */
  get pointer(): CtxPtr {
    if (this.#ptr === NULL) throw useAfterFree('SecureContext');
    return this.#ptr;
  }

  /** @internal */
  get instance(): Instance {
    return this.#inst;
  }

  /** The options this context was made with. */
  get options(): Readonly<SecureContextOptions> {
    return this.#options;
  }

  /**
   * A new connection in this context's role. A client needs `servername` (or `host`) to
   * check the server's identity, unless `rejectUnauthorized: false` was given.
   */
  createConnection(options: ConnectionOptions = {}): TlsConnection {
    return new TlsConnection(this, options);
  }

  /** Frees the context. Calling it again does nothing. */
  free(): void {
    if (this.#ptr === NULL) return;
    registry?.unregister(this);
    this.#inst.exports.ow_ctx_free(this.#ptr);
    this.#ptr = NULL as CtxPtr;
  }

  [Symbol.dispose](): void {
    this.free();
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
