/**
 * Loading the OpenSSL wasm module: from bytes, a URL, a `Response` or a compiled
 * `WebAssembly.Module`, the same way in Node 20+, Deno 2, Bun 1.x and browsers. There is no
 * Emscripten JavaScript glue: the module is built with -sSTANDALONE_WASM and imports only the
 * few WASI/env functions answered here.
 * @module
 */
import { PRODUCTION_SIGNATURES, Status, type ShimExports } from './abi.js';
import { TlsError } from './errors.js';
import { Heap } from './memory.js';
import { drainErrors } from './native.js';

/** Where the module's bytes come from. */
export type WasmSource =
  | string
  | URL
  | Response
  | PromiseLike<Response>
  | ArrayBuffer
  | ArrayBufferView
  | WebAssembly.Module;

/**
 * The builds of the module. `'small'` (the default, `openssl.wasm`) has TLS 1.2 and 1.3 with
 * the algorithms the web uses; `'full'` (`openssl-full.wasm`, about 1.6 times the download) has
 * everything: TLS 1.0/1.1, DHE and PSK suites, DSA, ML-DSA and SLH-DSA, Camellia, ARIA, SM2/3/4.
 */
export type Flavor = 'small' | 'full';

const FLAVORS: readonly Flavor[] = ['small', 'full'];

export interface LoadOptions {
  /**
   * The module to load. Defaults to the `flavor`'s file beside this one (read from disk for
   * `file:` URLs, fetched otherwise). Pass a compiled `WebAssembly.Module` where fetching
   * code is not allowed (Cloudflare Workers), or bytes you have already.
   */
  wasm?: WasmSource;
  /**
   * Which build to load when `wasm` is not given: `'small'` (the default) or `'full'`. When
   * `wasm` is given, the module says which flavor it is and this, if set, must match.
   */
  flavor?: Flavor;
  /**
   * The wall clock OpenSSL sees (certificate validity, ticket lifetimes), in milliseconds
   * since the epoch. Defaults to `Date.now()`.
   */
  now?: () => number;
  /**
   * Where OpenSSL's entropy comes from. `'host'` (the default) is `crypto.getRandomValues`.
   *
   * TEST ONLY: `{ testOnlySeed }` makes every random byte OpenSSL uses a function of the seed,
   * so two runs with the same seed (and the same clock) produce byte-identical transcripts.
   * Keys, nonces and tickets are then predictable by anyone who knows the seed: never use it
   * for anything but tests. No other value is accepted.
   */
  entropy?: 'host' | { testOnlySeed: string | Uint8Array };
}

/** A deterministic byte stream from a seed (xoshiro128**; not cryptographic, test only). */
function seededRandom(seed: string | Uint8Array): (out: Uint8Array) => void {
  const bytes = typeof seed === 'string' ? new TextEncoder().encode(seed) : seed;
  // Mix the seed into four 32-bit words (FNV-1a style, then splitmix32 per word).
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    h = (h + 0x9e3779b9) >>> 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    s[i] = (z ^ (z >>> 16)) >>> 0;
  }
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const next = () => {
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11);
    return r;
  };
  return (out) => {
    for (let i = 0; i < out.length; i += 4) {
      const r = next();
      for (let j = 0; j < 4 && i + j < out.length; j++) out[i + j] = (r >>> (8 * j)) & 0xff;
    }
  };
}

function entropySource(option: LoadOptions['entropy']): (out: Uint8Array) => void {
  if (option === undefined || option === 'host') {
    return (out) => {
      for (let i = 0; i < out.length; i += MAX_RANDOM_CHUNK) crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + MAX_RANDOM_CHUNK)));
    };
  }
  const keys = typeof option === 'object' && option !== null ? Object.keys(option) : [];
  if (keys.length === 1 && keys[0] === 'testOnlySeed') {
    const seed = (option as { testOnlySeed: unknown }).testOnlySeed;
    if (typeof seed === 'string' || seed instanceof Uint8Array) return seededRandom(seed);
  }
  throw new TypeError("entropy must be 'host' or { testOnlySeed: string | Uint8Array } (deterministic, for tests only)");
}

/** One instance of the OpenSSL module: its own memory, error queue, DRBG and clock. */
export interface Instance {
  readonly exports: ShimExports;
  readonly heap: Heap;
  /** e.g. "OpenSSL 3.5.7 27 Jan 2026". */
  readonly version: string;
  /** Which build this is: see {@link Flavor}. */
  readonly flavor: Flavor;
}

// Each flavor's URL is written out (not computed) so that bundlers see and copy both files.
const defaultWasmUrl = (flavor: Flavor): URL => flavor === 'full'
  ? new URL('./openssl-full.wasm', import.meta.url)
  : new URL('./openssl.wasm', import.meta.url);

function flavorOption(flavor: unknown): Flavor | undefined {
  if (flavor === undefined || FLAVORS.includes(flavor as Flavor)) return flavor as Flavor | undefined;
  throw new TypeError(`flavor must be ${FLAVORS.map((f) => `'${f}'`).join(' or ')}; got ${String(flavor)}`);
}

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

async function compileResponse(res: Response, name: string): Promise<WebAssembly.Module> {
  if (!res.ok) throw new TlsError(`cannot load ${name}: HTTP ${res.status} for ${res.url}`, { code: 'ERR_WASM_LOAD' });
  if (typeof WebAssembly.compileStreaming === 'function'
      && res.headers.get('content-type')?.split(';')[0].trim() === 'application/wasm') {
    return WebAssembly.compileStreaming(res);
  }
  // Servers that send another MIME type still work, just without streaming compilation.
  return WebAssembly.compile(await res.arrayBuffer());
}

/**
 * `defaultUrl` is called only when no source is given: where `import.meta.url` is undefined (a
 * Worker bundle), the module must come as `options.wasm`, and saying so beats "Invalid URL".
 */
async function compile(source: WasmSource | undefined, defaultUrl: () => URL, name: string): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    return WebAssembly.compile(source as BufferSource);
  }
  if (source === undefined || typeof source === 'string' || source instanceof URL) {
    const url = source === undefined ? defaultLocation(defaultUrl, name)
      : source instanceof URL ? source
      : new URL(source, typeof location === 'object' ? location.href : import.meta.url);
    const key = url.href;
    let pending = compiled.get(key);
    if (!pending) {
      pending = url.protocol === 'file:'
        ? readFileUrl(url).then((bytes) => WebAssembly.compile(bytes as BufferSource))
        : fetch(url).then((res) => compileResponse(res, name));
      compiled.set(key, pending);
      pending.catch(() => compiled.delete(key)); // a failed load may be retried
    }
    return pending;
  }
  return compileResponse(await source, name);
}

function defaultLocation(defaultUrl: () => URL, name: string): URL {
  try {
    return defaultUrl();
  } catch (e) {
    throw new TlsError(`cannot load ${name}: this runtime gives modules no URL to find it beside them (a bundled Worker, say): `
      + `pass the module as the wasm option (in Workers, import ${name} as a WebAssembly.Module)`, { code: 'ERR_WASM_LOAD', cause: e });
  }
}

/** The smallest module using a SIMD value (a function returning v128.const 0). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);

/** Whether this runtime has WebAssembly SIMD, which the module needs (wasm/fast/). */
export function hasWasmSimd(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

function loadError(what: string, cause: unknown, name = 'openssl.wasm'): TlsError {
  let why = cause instanceof Error ? cause.message : String(cause);
  if (/code generation disallowed/i.test(why)) {
    why += ` (this runtime compiles no wasm at run time, as in Cloudflare Workers: import ${name} as a module, which gives a WebAssembly.Module, and pass that)`;
  }
  return new TlsError(`cannot load ${name}: ${what}: ${why}`, { code: 'ERR_WASM_LOAD', cause });
}

const WASI_ESUCCESS = 0;
const WASI_EBADF = 8;
const WASI_EINVAL = 28;
const WASI_EIO = 29;
const WASI_ENOSYS = 52;
const MAX_RANDOM_CHUNK = 65536; // crypto.getRandomValues' limit per call

/**
 * The module's imports. `memory()` is late-bound: the memory is the module's own export.
 */
function imports(mod: WebAssembly.Module, memory: () => WebAssembly.Memory, now: () => number,
                 random: (out: Uint8Array) => void, virtualClock: boolean, entropyFailure: { last?: unknown },
                 name = 'openssl.wasm') {
  const view = () => new DataView(memory().buffer);
  const start = now();
  const wasi: Record<string, (...a: never[]) => unknown> = {
    random_get(ptr: number, len: number): number {
      // Entropy for OpenSSL's seed source (wasm/shim/entropy.c). A host source that throws must
      // not unwind through OpenSSL's frames: it is an I/O error, which fails the DRBG (never
      // weakens it), and the host's error is kept for the message.
      try {
        random(new Uint8Array(memory().buffer, ptr, len));
        return WASI_ESUCCESS;
      } catch (e) {
        entropyFailure.last = e;
        return WASI_EIO;
      }
    },
    clock_time_get(id: number, _precision: bigint, out: number): number {
      let ns: bigint;
      if (id === 0) { // CLOCK_REALTIME
        const ms = now();
        ns = BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6));
      } else if (id === 1) { // CLOCK_MONOTONIC: follows a virtual clock too, for reproducible runs
        ns = BigInt(Math.round((virtualClock ? now() - start : performance.now()) * 1e6));
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
      throw new TlsError(`${name} called ${imp.module}.${imp.name}, which this loader does not provide`, { code: 'ERR_WASM_IMPORT' });
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
  entropySource(options.entropy); // refuse bad options before any work
  const wantFlavor = flavorOption(options.flavor);
  let mod: WebAssembly.Module;
  try {
    mod = await compile(options.wasm, () => defaultWasmUrl(wantFlavor ?? 'small'), 'openssl.wasm');
  } catch (e) {
    if (e instanceof TlsError) throw e;
    if (!hasWasmSimd()) {
      throw loadError('compiling', new Error('this runtime has no WebAssembly SIMD, which openssl.wasm needs '
        + '(Node 16.4+, Deno, Bun, Chrome 91+, Firefox 89+, Safari 16.4+)'));
    }
    throw loadError('compiling', e);
  }
  let exports: ShimExports | undefined;
  const memory = () => {
    if (!exports) throw new TlsError('openssl.wasm called an import before it was instantiated', { code: 'ERR_WASM_LOAD' });
    return exports.memory;
  };
  let inst: WebAssembly.Instance;
  const entropyFailure: { last?: unknown } = {};
  try {
    inst = await WebAssembly.instantiate(mod, imports(mod, memory, options.now ?? Date.now,
      entropySource(options.entropy), options.now !== undefined, entropyFailure));
  } catch (e) {
    throw loadError('instantiating', e);
  }
  exports = inst.exports as unknown as ShimExports;
  const missing = Object.keys(PRODUCTION_SIGNATURES)
    .filter((f) => typeof (exports as unknown as Record<string, unknown>)[f] !== 'function');
  if (missing.length > 0) {
    throw new TlsError(`openssl.wasm does not match these bindings: missing ${missing.join(', ')}`, { code: 'ERR_WASM_LOAD' });
  }
  exports._initialize?.();
  const heap = new Heap(exports);
  const version = heap.cstring(exports.ow_openssl_version()) ?? 'OpenSSL';
  const flavor = heap.cstring(exports.ow_flavor()) as Flavor;
  if (exports.ow_init() !== Status.OK) {
    const errors = drainErrors({ exports, heap, flavor, version });
    const host = entropyFailure.last;
    if (host !== undefined) {
      throw new TlsError(`OpenSSL failed to initialize: the entropy source failed: ${host instanceof Error ? host.message : String(host)}`,
        { errors, code: 'ERR_OPENSSL_ENTROPY', cause: host });
    }
    const why = errors.map((e) => e.reason).filter(Boolean).join('; ') || 'unknown error';
    throw new TlsError(`OpenSSL failed to initialize: ${why}`, { errors, code: 'ERR_OPENSSL_INIT' });
  }
  if (wantFlavor !== undefined && flavor !== wantFlavor) {
    throw new TlsError(`cannot load openssl.wasm: asked for the '${wantFlavor}' flavor, but this module is the '${flavor}' flavor`, { code: 'ERR_WASM_LOAD' });
  }
  return { exports, heap, flavor, version };
}

/**
 * @internal Compiles (once per source) and instantiates another standalone module of this
 * package, with the same imports as OpenSSL's (the host clock; no entropy), and checks that it
 * exports every function in `signatures`. The fetch entry loads openssl-http.wasm this way.
 */
export async function instantiateModule<T>(source: WasmSource | undefined, defaultUrl: () => URL, name: string,
                                           signatures: Record<string, string>): Promise<T> {
  let mod: WebAssembly.Module;
  try {
    mod = await compile(source, defaultUrl, name);
  } catch (e) {
    throw e instanceof TlsError ? e : loadError('compiling', e, name);
  }
  let exports: Record<string, unknown> | undefined;
  const memory = () => {
    if (!exports) throw new TlsError(`${name} called an import before it was instantiated`, { code: 'ERR_WASM_LOAD' });
    return exports.memory as WebAssembly.Memory;
  };
  const noEntropy = () => { throw new TlsError(`${name} has no entropy source`, { code: 'ERR_WASM_IMPORT' }); };
  try {
    exports = (await WebAssembly.instantiate(mod, imports(mod, memory, Date.now, noEntropy, false, {}, name))).exports;
  } catch (e) {
    throw loadError('instantiating', e, name);
  }
  const missing = Object.keys(signatures).filter((f) => typeof exports![f] !== 'function');
  if (missing.length > 0) {
    throw new TlsError(`${name} does not match these bindings: missing ${missing.join(', ')}`, { code: 'ERR_WASM_LOAD' });
  }
  (exports._initialize as (() => void) | undefined)?.();
  return exports as T;
}
