/**
 * Loading the OpenSSL wasm module: from bytes, a URL, a `Response` or a compiled
 * `WebAssembly.Module`, the same way in Node 20+, Deno 2, Bun 1.x and browsers. There is no
 * Emscripten JavaScript glue: the module is built with -sSTANDALONE_WASM and imports only the
 * few WASI/env functions answered here.
 * @module
 */
import { SHIM_FUNCTIONS, type ShimExports } from './abi.js';
import { TlsError } from './errors.js';
import { Heap } from './memory.js';
import { drainErrors } from './openssl-errors.js';

/** Where the module's bytes come from. */
export type WasmSource =
  | string
  | URL
  | Response
  | PromiseLike<Response>
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module;

export interface LoadOptions {
  /**
   * The module to load. Defaults to `openssl.wasm` beside this file (read from disk for
   * `file:` URLs, fetched otherwise). Pass a compiled `WebAssembly.Module` where fetching
   * code is not allowed (Cloudflare Workers), or bytes you have already.
   */
  wasm?: WasmSource;
  /**
   * The wall clock OpenSSL sees (certificate validity, ticket lifetimes), in milliseconds
   * since the epoch. Defaults to `Date.now()`.
   */
  now?: () => number;
}

/** One instance of the OpenSSL module: its own memory, error queue, DRBG and clock. */
export interface Instance {
  readonly exports: ShimExports;
  readonly heap: Heap;
  /** e.g. "OpenSSL 3.5.7 27 Jan 2026". */
  readonly version: string;
}

const defaultWasmUrl = (): URL => new URL('./openssl.wasm', import.meta.url);

/** Compiled modules by URL, so a second instance from the same place skips compilation. */
const compiled = new Map<string, Promise<WebAssembly.Module>>();

async function readFileUrl(url: URL): Promise<Uint8Array> {
  // A variable specifier keeps bundlers from trying to include node:fs in browser builds.
  const specifier = 'node:fs/promises';
  const fs = (await import(/* @vite-ignore */ specifier)) as {
    readFile(u: URL): Promise<Uint8Array>;
  };
  return fs.readFile(url);
}

async function compileResponse(res: Response): Promise<WebAssembly.Module> {
  if (!res.ok) throw new TlsError(`cannot load openssl.wasm: HTTP ${res.status} for ${res.url}`, { code: 'ERR_WASM_LOAD' });
  if (typeof WebAssembly.compileStreaming === 'function'
      && res.headers.get('content-type')?.split(';')[0].trim() === 'application/wasm') {
    return WebAssembly.compileStreaming(res);
  }
  // Servers that send another MIME type still work, just without streaming compilation.
  return WebAssembly.compile(await res.arrayBuffer());
}

async function compile(source: WasmSource | undefined): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    return WebAssembly.compile(source as BufferSource);
  }
  if (source === undefined || typeof source === 'string' || source instanceof URL) {
    const url = source === undefined ? defaultWasmUrl()
      : source instanceof URL ? source
      : new URL(source, typeof location === 'object' ? location.href : import.meta.url);
    const key = url.href;
    let pending = compiled.get(key);
    if (!pending) {
      pending = url.protocol === 'file:'
        ? readFileUrl(url).then((bytes) => WebAssembly.compile(bytes as BufferSource))
        : fetch(url).then(compileResponse);
      compiled.set(key, pending);
      pending.catch(() => compiled.delete(key)); // a failed load may be retried
    }
    return pending;
  }
  return compileResponse(await source);
}

function loadError(what: string, cause: unknown): TlsError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new TlsError(`cannot load openssl.wasm: ${what}: ${why}`, { code: 'ERR_WASM_LOAD', cause });
}

const WASI_ESUCCESS = 0;
const WASI_EBADF = 8;
const WASI_EINVAL = 28;
const WASI_ENOSYS = 52;
const MAX_RANDOM_CHUNK = 65536; // crypto.getRandomValues' limit per call

/**
 * The module's imports. `memory()` is late-bound: the memory is the module's own export.
 */
function imports(mod: WebAssembly.Module, memory: () => WebAssembly.Memory, now: () => number) {
  const view = () => new DataView(memory().buffer);
  const wasi: Record<string, (...a: never[]) => unknown> = {
    random_get(ptr: number, len: number): number {
      // Entropy for OpenSSL's seed source (wasm/seed.c); a throw here fails the DRBG, never weakens it.
      const bytes = new Uint8Array(memory().buffer, ptr, len);
      for (let i = 0; i < len; i += MAX_RANDOM_CHUNK)
        crypto.getRandomValues(bytes.subarray(i, Math.min(len, i + MAX_RANDOM_CHUNK)));
      return WASI_ESUCCESS;
    },
    clock_time_get(id: number, _precision: bigint, out: number): number {
      let ns: bigint;
      if (id === 0) { // CLOCK_REALTIME
        const ms = now();
        ns = BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6));
      } else if (id === 1) { // CLOCK_MONOTONIC
        ns = BigInt(Math.round(performance.now() * 1e6));
      } else {
        return WASI_EINVAL;
      }
      view().setBigUint64(out, ns, true);
      return WASI_ESUCCESS;
    },
    environ_sizes_get(count: number, size: number): number {
      // An empty environment: OpenSSL's getenv() (OPENSSL_CONF and friends) finds nothing.
      view().setUint32(count, 0, true);
      view().setUint32(size, 0, true);
      return WASI_ESUCCESS;
    },
    environ_get: () => WASI_ESUCCESS,
    fd_close: () => WASI_EBADF,
    proc_exit(code: number): never {
      throw new TlsError(`OpenSSL aborted the wasm module (exit code ${code})`, { code: 'ERR_WASM_ABORT' });
    },
  };
  const env: Record<string, (...a: never[]) => unknown> = {
    emscripten_notify_memory_growth: () => {}, // Heap.u8() notices the new buffer by itself
    __syscall_getuid32: () => 0,
    __syscall_geteuid32: () => 0,
    __syscall_getgid32: () => 0,
    __syscall_getegid32: () => 0,
    // No file system: directory lookups and stat() fail as "not implemented".
    __syscall_getdents64: () => -WASI_ENOSYS,
    __syscall_stat64: () => -WASI_ENOSYS,
  };
  const result: Record<string, Record<string, unknown>> = { wasi_snapshot_preview1: wasi, env };
  // Anything else a future build imports fails loudly at the call, not at instantiation.
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.kind !== 'function') continue;
    const ns = (result[imp.module] ??= {});
    ns[imp.name] ??= () => {
      throw new TlsError(`openssl.wasm called ${imp.module}.${imp.name}, which this loader does not provide`, { code: 'ERR_WASM_IMPORT' });
    };
  }
  return result as WebAssembly.Imports;
}

/**
 * Compiles (once per source) and instantiates a fresh OpenSSL instance, then initializes
 * OpenSSL and seeds its DRBG from the host. Throws {@link TlsError} with code
 * `ERR_WASM_LOAD` when the module cannot be had, or the OpenSSL error when it does not start.
 */
export async function instantiate(options: LoadOptions = {}): Promise<Instance> {
  let mod: WebAssembly.Module;
  try {
    mod = await compile(options.wasm);
  } catch (e) {
    if (e instanceof TlsError) throw e;
    throw loadError('compiling', e);
  }
  let exports: ShimExports | undefined;
  const memory = () => {
    if (!exports) throw new TlsError('openssl.wasm called an import before it was instantiated', { code: 'ERR_WASM_LOAD' });
    return exports.memory;
  };
  let inst: WebAssembly.Instance;
  try {
    inst = await WebAssembly.instantiate(mod, imports(mod, memory, options.now ?? Date.now));
  } catch (e) {
    throw loadError('instantiating', e);
  }
  exports = inst.exports as unknown as ShimExports;
  const missing = SHIM_FUNCTIONS.filter((f) => typeof (exports as unknown as Record<string, unknown>)[f] !== 'function');
  if (missing.length > 0) {
    throw new TlsError(`openssl.wasm does not match these bindings: missing ${missing.join(', ')}`, { code: 'ERR_WASM_LOAD' });
  }
  exports._initialize?.();
  const heap = new Heap(exports);
  if (exports.ow_init() !== 1) {
    const errors = drainErrors(exports, heap);
    const why = errors.map((e) => e.reason).filter(Boolean).join('; ') || 'unknown error';
    throw new TlsError(`OpenSSL failed to initialize: ${why}`, { errors, code: 'ERR_OPENSSL_INIT' });
  }
  return { exports, heap, version: heap.cstring(exports.ow_openssl_version()) ?? 'OpenSSL' };
}
