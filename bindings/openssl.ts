/**
 * The entry point: an {@link OpenSSL} instance is one wasm instance of OpenSSL 3.5, with its
 * own memory, error queue, random generator and clock.
 * @module
 */
import { describeCertificate, type CertificateInfo } from './certificate.js';
import { SecureContext, type SecureContextOptions } from './context.js';
import { instantiate, type Flavor, type Instance, type LoadOptions } from './loader.js';
import { TrustStore, rootStore, type CertificateInput } from './store.js';

export class OpenSSL {
  readonly #inst: Instance;

  private constructor(inst: Instance) {
    this.#inst = inst;
  }

  /**
   * Loads a new, independent instance. Most programs want one shared instance: see
   * {@link getOpenSSL}. Separate instances are for isolation (tests with their own clock).
   */
  static async load(options: LoadOptions = {}): Promise<OpenSSL> {
    return new OpenSSL(await instantiate(options));
  }

  /** @internal The instance's exports and heap, for the package's own modules. */
  get instance(): Instance {
    return this.#inst;
  }

  /** OpenSSL's version text, e.g. "OpenSSL 3.5.7 27 Jan 2026". */
  get version(): string {
    return this.#inst.version;
  }

  /**
   * A client or server configuration; see {@link SecureContextOptions}.
   *
   * @example
   * ```ts
   * using server = openssl.createSecureContext({ isServer: true, cert: chainPem, key: keyPem });
   * using client = openssl.createSecureContext({ ca: caPem });
   * ```
   */
  createSecureContext(options: SecureContextOptions = {}): SecureContext {
    return new SecureContext(this.#inst, options);
  }

  /** A set of CA certificates that many contexts of this instance share (pass it as `ca`). */
  createTrustStore(certificates: readonly CertificateInput[]): TrustStore {
    return new TrustStore(this.#inst, certificates);
  }

  /**
   * The bundled Mozilla root certificates as a shared store, loaded and parsed on first use:
   * what `connect()` trusts when no `ca` is given.
   *
   * @example
   * ```ts
   * const ctx = openssl.createSecureContext({ ca: await openssl.rootStore() });
   * ```
   */
  rootStore(): Promise<TrustStore> {
    return rootStore(this.#inst);
  }

  /** A DER certificate as OpenSSL reads it, in the shape of node's `getPeerCertificate()`. */
  describeCertificate(der: Uint8Array): CertificateInfo {
    return describeCertificate(this.#inst, der);
  }

  /** Which build of the module this instance runs: `'small'` (the default) or `'full'`. */
  get flavor(): Flavor {
    return this.#inst.flavor;
  }

  /** Bytes of the wasm heap currently allocated (for leak checks and benchmarks). */
  heapUsed(): number {
    return this.#inst.exports.ow_heap_used() >>> 0;
  }

  /** Bytes of wasm memory reserved; it grows as needed and never shrinks. */
  get memorySize(): number {
    return this.#inst.exports.memory.buffer.byteLength;
  }
}

const shared = new Map<Flavor, Promise<OpenSSL>>();

/**
 * The shared instance of a flavor (`options.flavor`, default `'small'`), loaded on first use
 * from its file beside this package (or from `options.wasm`). Concurrent callers share one
 * load; a failed load is retried by the next call. Options are used by the first call for
 * each flavor only.
 */
export function getOpenSSL(options?: LoadOptions): Promise<OpenSSL> {
  const flavor = options?.flavor ?? 'small';
  let pending = shared.get(flavor);
  if (!pending) {
    pending = OpenSSL.load(options);
    shared.set(flavor, pending);
    pending.catch(() => { shared.delete(flavor); });
  }
  return pending;
}
