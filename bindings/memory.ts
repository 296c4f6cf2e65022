/**
 * Moving bytes and strings across the wasm boundary. Private to the package.
 *
 * Two rules keep this safe:
 * - A view of wasm memory goes stale when the memory grows (its buffer is detached), and any
 *   call into OpenSSL may grow it. `u8()` always hands out a view of the current buffer; never
 *   hold one across a call into the module.
 * - Every allocation made for a call is freed on every path, including throws, and wiped
 *   first when it may have held a secret (keys, passphrases, plaintext).
 * @module
 */
import { NULL, type BytePtr, type CStr, type Owned, type OutPtr, type Pointer, type ShimExports } from './abi.js';
import { TlsError } from './errors.js';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Size of the per-instance staging buffer that ciphertext and plaintext pass through. */
export const STAGING_SIZE = 64 * 1024;

export class Heap {
  readonly #x: ShimExports;
  #view: Uint8Array;
  #staging: BytePtr = NULL;

  constructor(exports: ShimExports) {
    this.#x = exports;
    this.#view = new Uint8Array(exports.memory.buffer);
  }

  /** A view of all of wasm memory, fresh if the memory has grown since the last one. */
  u8(): Uint8Array {
    if (this.#view.byteLength === 0 || this.#view.buffer !== this.#x.memory.buffer)
      this.#view = new Uint8Array(this.#x.memory.buffer);
    return this.#view;
  }

  /** An unsigned 32-bit little-endian integer at `p` (wasm is little-endian). */
  u32(p: number): number {
    return this.i32(p) >>> 0;
  }

  /** A signed 32-bit little-endian integer at `p`. */
  i32(p: number): number {
    const m = this.u8();
    return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
  }

  /** Allocates `n` bytes; throws rather than hand back NULL. */
  alloc(n: number): Owned<'uint8_t'> {
    const p = this.#x.ow_malloc(n);
    if (p === NULL) throw outOfMemory(n);
    return p;
  }

  /** Frees memory the caller owns, wiping `wipe` bytes of it first (0 for data that is not secret). */
  free(p: Owned<string>, wipe = 0): void {
    if (p === NULL) return;
    if (wipe > 0) this.#x.ow_cleanse(p, wipe);
    this.#x.ow_free(p);
  }

  /** Copies `n` owned bytes out of wasm memory, then frees them (wiped first when `secret`). */
  takeBytes(p: Owned<'uint8_t'>, n: number, secret: boolean): Uint8Array {
    try {
      return this.copyOut(p, n);
    } finally {
      this.free(p, secret ? n : 0);
    }
  }

  /** Reads an owned NUL-terminated string, then frees it; null for NULL. */
  takeString(p: Owned<'char'>): string | null {
    try {
      return this.cstring(p);
    } finally {
      this.free(p);
    }
  }

  /**
   * A buffer of STAGING_SIZE bytes kept for the instance's lifetime: the TLS I/O calls copy
   * through it instead of allocating per call. Safe because calls into wasm never interleave.
   */
  staging(): BytePtr {
    if (this.#staging === NULL) this.#staging = this.alloc(STAGING_SIZE);
    return this.#staging;
  }

  /** Copies `n` bytes out of wasm memory at `p` into a new array that JS owns. */
  copyOut(p: Pointer<string>, n: number): Uint8Array {
    return this.u8().slice(p, p + n);
  }

  /** Reads a NUL-terminated UTF-8 string; null for a NULL pointer. */
  cstring(p: CStr): string | null {
    if (p === NULL) return null;
    const m = this.u8();
    let end = p;
    while (m[end] !== 0) end++;
    return utf8Decoder.decode(m.subarray(p, end));
  }

  /**
   * Runs `fn` with `bytes` copied into wasm memory, then frees the copy (wiped when
   * `secret`). An empty array still gets a valid, one-byte allocation.
   */
  withBytes<T>(bytes: Uint8Array, secret: boolean, fn: (p: BytePtr, n: number) => T): T {
    const p = this.alloc(bytes.length);
    try {
      this.u8().set(bytes, p);
      return fn(p as BytePtr, bytes.length);
    } finally {
      this.free(p, secret ? bytes.length : 0);
    }
  }

  /** Runs `fn` with `s` as a NUL-terminated string in wasm memory (NULL for null/undefined). */
  withCString<T>(s: string | null | undefined, secret: boolean, fn: (p: CStr) => T): T {
    if (s == null) return fn(NULL as CStr);
    const bytes = utf8Encoder.encode(s);
    if (bytes.includes(0)) throw new TypeError('string must not contain NUL characters');
    const p = this.alloc(bytes.length + 1);
    try {
      const m = this.u8();
      m.set(bytes, p);
      m[p + bytes.length] = 0;
      return fn(p as number as CStr);
    } finally {
      this.free(p, secret ? bytes.length + 1 : 0);
    }
  }

  /**
   * Runs `fn` with `words` zeroed 32-bit out-parameters (the first at `p`, the next at `p + 4`,
   * ...); returns its result and their values.
   */
  withOut<T>(words: number, fn: (p: OutPtr) => T): [T, number[]] {
    const p = this.alloc(words * 4);
    try {
      this.u8().fill(0, p, p + words * 4);
      const r = fn(p as number as OutPtr);
      const out: number[] = [];
      for (let i = 0; i < words; i++) out.push(this.u32(p + i * 4));
      return [r, out];
    } finally {
      this.free(p);
    }
  }
}

/** The error for an allocation of `n` bytes that wasm memory could not satisfy. */
export function outOfMemory(n: number): TlsError {
  return new TlsError(`out of wasm memory (allocating ${n} bytes)`, { code: 'ERR_WASM_OUT_OF_MEMORY' });
}

/** UTF-8 bytes of a string, or the bytes themselves. */
export function toBytes(data: string | ArrayBufferView | ArrayBuffer): Uint8Array {
  if (typeof data === 'string') return utf8Encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError('expected a string, an ArrayBuffer or an ArrayBufferView');
}

/** The chunks, one after another, in one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let i = 0;
  for (const b of parts) {
    out.set(b, i);
    i += b.length;
  }
  return out;
}
