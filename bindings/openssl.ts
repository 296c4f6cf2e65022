/**
 * The entry point: an {@link OpenSSL} instance is one wasm instance of OpenSSL 3.5, with its
 * own memory, error queue, random generator and clock.
 * @module
 */
import { SecureContext, type SecureContextOptions } from './context.js';
import { instantiate, type Instance, type LoadOptions } from './loader.js';

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

  /** A client or server configuration; see {@link SecureContextOptions}. */
  createSecureContext(options: SecureContextOptions = {}): SecureContext {
    return new SecureContext(this.#inst, options);
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

let shared: Promise<OpenSSL> | undefined;

/**
 * The shared instance, loaded on first use from `openssl.wasm` beside this package (or from
 * `options.wasm`). Concurrent callers share one load; a failed load is retried by the next
 * call. Options are used by the first call only.
 */
export function getOpenSSL(options?: LoadOptions): Promise<OpenSSL> {
  if (!shared) {
    shared = OpenSSL.load(options);
    shared.catch(() => { shared = undefined; });
  }
  return shared;
}
