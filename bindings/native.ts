/**
 * What every object backed by native (wasm) memory shares: one way to free it, `using` and
 * `Symbol.dispose`, a FinalizationRegistry backstop for forgotten objects, and a clear error
 * for use after free; and reading OpenSSL's error queue. Private to the package: only the
 * low-level layer (contexts, engines, stores, the test PKI) calls the module's exports.
 * @module
 */
import { NULL, type Pointer, type ShimExports } from './abi.js';
import { TlsError, formatOpenSSLError, useAfterFree, type OpenSSLError } from './errors.js';
import type { Instance } from './loader.js';

/** The most entries kept from one failure; OpenSSL's own queue holds 16. */
const MAX_ERRORS = 16;

/** Empties OpenSSL's error queue, oldest entry first. */
export function drainErrors(inst: Instance): OpenSSLError[] {
  const { exports: x, heap } = inst;
  const errors: OpenSSLError[] = [];
  for (;;) {
    const [packed, [lib, reason, data]] = heap.withOut(3, (p) =>
      x.ow_err_get(p, (p + 4) as typeof p, (p + 8) as typeof p) >>> 0);
    if (packed === 0) break;
    if (errors.length < MAX_ERRORS) {
      errors.push({
        packed, library: heap.cstring(lib as Pointer<'char'>), reason: heap.cstring(reason as Pointer<'char'>),
        data: heap.cstring(data as Pointer<'char'>),
      });
    }
  }
  return errors;
}

/**
 * The error for a failed call: `what` and OpenSSL's first error, with the whole queue. Some
 * setters refuse a value without queuing an error: then the message says so.
 */
export function openSSLFailure(inst: Instance, what: string): TlsError {
  const errors = drainErrors(inst);
  if (errors.length === 0) return new TlsError(`${what}: OpenSSL does not accept this value`, { code: 'ERR_TLS_INVALID_OPTION' });
  return new TlsError(`${what}: ${formatOpenSSLError(errors[0])}`, { errors });
}

type Release = { free: (x: ShimExports, p: number) => void; x: ShimExports; p: number };

const registry = typeof FinalizationRegistry === 'undefined' ? undefined
  : new FinalizationRegistry<Release>(({ free, x, p }) => free(x, p));

/**
 * An object that owns one native pointer. A subclass validates its arguments first (nothing is
 * allocated yet, so a throw leaks nothing), then allocates and calls {@link adopt}; if its
 * configuration fails after that, it calls {@link free} before rethrowing.
 */
export abstract class NativeHandle<P extends Pointer<string>> {
  readonly #inst: Instance;
  readonly #kind: string;
  #ptr: P = NULL as P;
  #release: ((x: ShimExports, p: P) => void) | undefined;

  protected constructor(inst: Instance, kind: string) {
    this.#inst = inst;
    this.#kind = kind;
  }

  /** @internal The instance this object lives in. */
  get instance(): Instance {
    return this.#inst;
  }

  /** Takes ownership of `ptr`, which `release` frees. */
  protected adopt(ptr: P, release: (x: ShimExports, p: P) => void): void {
    this.#ptr = ptr;
    this.#release = release;
    registry?.register(this, { free: release as Release['free'], x: this.#inst.exports, p: ptr }, this);
  }

  /** @internal The native pointer; throws `ERR_USE_AFTER_FREE` once freed. */
  get pointer(): P {
    if (this.#ptr === NULL) throw useAfterFree(this.#kind);
    return this.#ptr;
  }

  /** True until {@link free} is called. */
  get alive(): boolean {
    return this.#ptr !== NULL;
  }

  /** Frees the native state now. Calling it again does nothing. */
  free(): void {
    if (this.#ptr === NULL) return;
    const p = this.#ptr;
    this.#ptr = NULL as P;
    registry?.unregister(this);
    this.#release?.(this.#inst.exports, p);
  }

  [Symbol.dispose](): void {
    this.free();
  }
}
