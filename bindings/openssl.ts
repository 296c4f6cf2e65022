/**
 * The entry point: an {@link OpenSSL} instance is one wasm instance of OpenSSL 3.5, with its
 * own memory, error queue, random generator and clock.
 * @module
 */
import { describeCertificate, type CertificateInfo } from './certificate.js';
import { SecureContext, type SecureContextOptions } from './context.js';
import { instantiate, type Flavor, type Instance, type LoadOptions, type ShippedFiles } from './loader.js';
import { TlsError } from './errors.js';
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

  /** @internal Loads one of `files` (the testing modules) as {@link load} loads the production ones. */
  static async loadShipped(options: LoadOptions, files: ShippedFiles): Promise<OpenSSL> {
    return new OpenSSL(await instantiate(options, files));
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

/** The shared instance of each flavor, and the options it was asked for with. */
const shared = new Map<Flavor, { pending: Promise<OpenSSL>; options: LoadOptions }>();

/** Whether two values of a load option ask for the same thing (URLs and strings by address). */
function sameOption(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const href = (v: unknown) => (v instanceof URL ? v.href : typeof v === 'string' ? v : undefined);
  return href(a) !== undefined && href(a) === href(b);
}

/**
 * The shared instance of a flavor (`options.flavor`, default `'small'`), loaded on first use
 * from its file beside this package (or from `options.wasm`). Concurrent callers share one
 * load; a failed load is retried by the next call.
 *
 * The shared instance is the one `connect()` and `createServer()` use, so its options are set
 * once, by the first call: a later call that gives `wasm` or `now` other than the first one's
 * is refused (`ERR_SHARED_INSTANCE_OPTIONS`) rather than ignored; calls without options always
 * get it. It always takes its entropy from the host: seeded entropy is refused here and is
 * only for instances made for it (`OpenSSL.load`, the testing `Sandbox`).
 *
 * @example
 * ```ts
 * const openssl = await getOpenSSL();                    // the small flavor
 * const full = await getOpenSSL({ flavor: 'full' });     // the full flavor's shared instance
 * ```
 */
export function getOpenSSL(options: LoadOptions = {}): Promise<OpenSSL> {
  if (typeof options.entropy === 'object' && options.entropy !== null) {
    return Promise.reject(new TlsError(
      'the shared instance takes its entropy from the host: seeded entropy ({ testOnlySeed }) makes keys '
      + 'predictable, and connect() and createServer() use the shared instance. Make a separate instance for '
      + 'it with OpenSSL.load({ entropy }) (or the testing Sandbox\'s seed) and pass it as the openssl option',
      { code: 'ERR_INVALID_ARG_VALUE' }));
  }
  const flavor = options.flavor ?? 'small';
  const entry = shared.get(flavor);
  if (entry) {
    const differs = (['wasm', 'now'] as const).filter((k) => options[k] !== undefined && !sameOption(options[k], entry.options[k]));
    if (differs.length > 0) {
      return Promise.reject(new TlsError(
        `getOpenSSL(): the shared '${flavor}' instance was already asked for with other options (${differs.join(', ')}); `
        + 'give them to the first call (before any connect()), or make a separate instance with OpenSSL.load(options)',
        { code: 'ERR_SHARED_INSTANCE_OPTIONS' }));
    }
    return entry.pending;
  }
  const pending = OpenSSL.load(options);
  const mine = { pending, options: { ...options } };
  shared.set(flavor, mine);
  pending.catch(() => { if (shared.get(flavor) === mine) shared.delete(flavor); });
  return pending;
}
