/**
 * The HTTP module (openssl-http.wasm: llhttp and nghttp2) and the two objects made from it: an
 * HTTP/1.1 response parser ({@link H1Parser}) and an HTTP/2 client session ({@link H2Session}).
 * Private to the package: only this file calls the module's exports (declared in
 * wasm/http/abi.h). Both objects are sans-IO, like the TLS engine: bytes in, events and bytes
 * out, no I/O of their own.
 * @module
 */
import { EventKind, HTTP_SIGNATURES, NULL, Status, type H1Ptr, type H2Ptr, type HttpExports, type OutPtr } from '../http-abi.js';
import { instantiateModule, type WasmSource } from '../loader.js';
import { Heap } from '../memory.js';

/** A failure of the HTTP layer, with a code in node's style (`HPE_*` from llhttp, `ERR_HTTP2_*`). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly code: string;
  /** @internal The request was not processed by the server and may be sent again on a new connection. */
  retryable: 'unprocessed' | 'idempotent' | false = false;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** One loaded HTTP module. */
export interface HttpModule {
  readonly exports: HttpExports;
  readonly heap: Heap;
  /** e.g. "llhttp 9.2.1, nghttp2 1.64.0". */
  readonly versions: string;
}

let shared: Promise<HttpModule> | undefined;

/**
 * Loads the HTTP module (openssl-http.wasm), which every FetchClient shares; the first call's
 * `wasm` wins, and a failed load is retried. Clients load it on first use, from beside this
 * file or their `httpWasm` option; call it first where that file cannot be found, as in a
 * Worker, whose modules have no URL:
 *
 * ```ts
 * import httpWasm from 'openssl-tls-wasm/openssl-http.wasm'; // a WebAssembly.Module in Workers
 * await loadHttpModule(httpWasm);
 * ```
 */
export function loadHttpModule(wasm?: WasmSource): Promise<HttpModule> {
  if (!shared) {
    shared = (async () => {
      const exports = await instantiateModule<HttpExports>(wasm, 'openssl-http.wasm', HTTP_SIGNATURES);
      const heap = new Heap(exports);
      return { exports, heap, versions: heap.cstring(exports.ow_http_versions()) ?? '' };
    })();
    shared.catch(() => { shared = undefined; });
  }
  return shared;
}

/** An event from a parser (the format is in wasm/http/abi.h). */
export interface HttpEvent {
  kind: number;
  flags: number;
  stream: number;
  a: number;
  b: number;
  bytes: Uint8Array;
}

/** Reads the queued events: one copy out of wasm memory, then views of it. */
function readEvents(mod: HttpModule, take: (out: OutPtr) => number, clear: () => void): HttpEvent[] {
  const [ptr, [len]] = mod.heap.withOut(1, take);
  if (len === 0 || ptr === NULL) return [];
  const buf = mod.heap.copyOut(ptr as never, len);
  clear();
  const view = new DataView(buf.buffer);
  const events: HttpEvent[] = [];
  for (let at = 0; at + 20 <= buf.length;) {
    const n = view.getUint32(at + 16, true);
    events.push({
      kind: buf[at], flags: buf[at + 1], stream: view.getInt32(at + 4, true),
      a: view.getInt32(at + 8, true), b: view.getInt32(at + 12, true), bytes: buf.subarray(at + 20, at + 20 + n),
    });
    at += 20 + n + ((4 - (n % 4)) % 4);
  }
  return events;
}

/** A header's bytes as a string, one character per byte (HTTP's field values are bytes). */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** Copies `bytes` into a scratch buffer of the module's heap, grown as needed, for one call. */
class Scratch {
  #p = 0;
  #size = 0;
  constructor(readonly mod: HttpModule) {}
  put(bytes: Uint8Array): number {
    if (bytes.length > this.#size) {
      this.free();
      this.#size = Math.max(bytes.length, 16384);
      this.#p = this.mod.heap.alloc(this.#size);
    }
    this.mod.heap.u8().set(bytes, this.#p);
    return this.#p;
  }
  free(): void {
    if (this.#p) this.mod.heap.free(this.#p as never);
    this.#p = 0;
    this.#size = 0;
  }
}

const registry = typeof FinalizationRegistry === 'undefined' ? undefined
  : new FinalizationRegistry<() => void>((release) => release());

const noMemory = () => new HttpError('out of wasm memory in the HTTP module', 'ERR_WASM_OUT_OF_MEMORY');

/**
 * An HTTP/1.1 response parser: llhttp, reset for each response with {@link start}. Bodies
 * come back as views of the caller's own chunk (no copy out of wasm).
 */
export class H1Parser {
  readonly #mod: HttpModule;
  #p: H1Ptr;
  readonly #scratch: Scratch;

  constructor(mod: HttpModule, maxHeaderSize: number) {
    this.#mod = mod;
    this.#p = mod.exports.ow_h1_new(maxHeaderSize);
    if (this.#p === NULL) throw noMemory();
    this.#scratch = new Scratch(mod);
    const p = this.#p, scratch = this.#scratch;
    registry?.register(this, () => { mod.exports.ow_h1_free(p); scratch.free(); }, this);
  }

  /** Before each response; `head` when the request was HEAD (the response has no body). */
  start(head: boolean): void {
    this.#mod.exports.ow_h1_start(this.#alive(), head ? 1 : 0);
  }

  /**
   * Parses a chunk of the response: the events, and how many bytes were consumed (fewer than
   * the chunk's length when bytes follow the final response).
   */
  execute(chunk: Uint8Array): { consumed: number; events: HttpEvent[] } {
    const x = this.#mod.exports, p = this.#alive();
    const ptr = this.#scratch.put(chunk);
    const r = x.ow_h1_execute(p, ptr as never, chunk.length);
    const events = this.#events();
    if (r < 0) throw this.#error(r);
    return { consumed: r, events };
  }

  /** The transport ended: a close-delimited body ends, a response cut short fails. */
  finish(): HttpEvent[] {
    const r = this.#mod.exports.ow_h1_finish(this.#alive());
    const events = this.#events();
    if (r !== Status.OK) throw this.#error(r);
    return events;
  }

  #events(): HttpEvent[] {
    const x = this.#mod.exports, p = this.#p;
    return readEvents(this.#mod, (out) => x.ow_h1_events(p, out), () => x.ow_h1_events_clear(p));
  }

  #error(r: number): HttpError {
    if (r === Status.ERR_NO_MEMORY) return noMemory();
    const x = this.#mod.exports, heap = this.#mod.heap;
    const name = heap.cstring(x.ow_h1_error_name(this.#p)) ?? 'HPE_UNKNOWN';
    const reason = heap.cstring(x.ow_h1_error_reason(this.#p)) ?? 'unknown error';
    return new HttpError(`the server's HTTP/1.1 response is malformed: ${reason} (${name})`, name);
  }

  #alive(): H1Ptr {
    if (this.#p === NULL) throw new HttpError('the HTTP/1.1 parser has been freed', 'ERR_USE_AFTER_FREE');
    return this.#p;
  }

  free(): void {
    if (this.#p === NULL) return;
    registry?.unregister(this);
    this.#mod.exports.ow_h1_free(this.#p);
    this.#scratch.free();
    this.#p = NULL;
  }
}

/** HTTP/2 error codes by number (RFC 9113 section 7). */
export const H2_CANCEL = 8;
export const H2_REFUSED_STREAM = 7;
export const H2_NO_ERROR = 0;

/**
 * An HTTP/2 client session: nghttp2. Frames to send come from {@link output}; bytes received
 * go to {@link feed}, which returns the events they carried.
 */
export class H2Session {
  readonly #mod: HttpModule;
  #s: H2Ptr;
  readonly #scratch: Scratch;

  constructor(mod: HttpModule, { streamWindow, connectionWindow, maxHeaderListSize }:
  { streamWindow: number; connectionWindow: number; maxHeaderListSize: number }) {
    this.#mod = mod;
    this.#s = mod.exports.ow_h2_new(streamWindow, connectionWindow, maxHeaderListSize);
    if (this.#s === NULL) throw noMemory();
    this.#scratch = new Scratch(mod);
    const s = this.#s, scratch = this.#scratch;
    registry?.register(this, () => { mod.exports.ow_h2_free(s); scratch.free(); }, this);
  }

  get alive(): boolean {
    return this.#s !== NULL;
  }

  /** Submits a request; headers are [name, value] pairs, pseudo-headers first. The stream id. */
  request(headers: readonly (readonly [string, string])[], hasBody: boolean): number {
    const enc = new TextEncoder();
    const parts: Uint8Array[] = [];
    for (const [n, v] of headers) parts.push(enc.encode(n), new Uint8Array(1), latin1Bytes(v), new Uint8Array(1));
    const block = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
    let at = 0;
    for (const p of parts) { block.set(p, at); at += p.length; }
    const r = this.#mod.heap.withBytes(block, false, (p, n) => this.#mod.exports.ow_h2_request(this.#alive(), p, n, hasBody ? 1 : 0));
    if (r < 0) throw this.#error(r, 'submitting the request');
    return r;
  }

  /** Queues request body bytes for a stream; `end` ends it. False when the stream is gone. */
  data(stream: number, bytes: Uint8Array, end: boolean): boolean {
    const r = this.#mod.heap.withBytes(bytes, false, (p, n) => this.#mod.exports.ow_h2_data(this.#alive(), stream, p, n, end ? 1 : 0));
    if (r === Status.ERR_ARGUMENT) return false;
    if (r !== Status.OK) throw this.#error(r, 'sending the request body');
    return true;
  }

  /** Body bytes queued for a stream and not yet sent (0 once the stream is gone). */
  pending(stream: number): number {
    return Math.max(0, this.#mod.exports.ow_h2_data_pending(this.#alive(), stream));
  }

  feed(chunk: Uint8Array): HttpEvent[] {
    const x = this.#mod.exports, s = this.#alive();
    const ptr = this.#scratch.put(chunk);
    const r = x.ow_h2_feed(s, ptr as never, chunk.length);
    const events = this.#events();
    if (r < 0) throw this.#error(r, 'reading the server\'s frames');
    return events;
  }

  /**
   * Frames to send (empty when there are none), and the events sending them caused (a stream
   * closes once both sides have ended it, which may happen as its last frame goes out).
   */
  output(): { bytes: Uint8Array; events: HttpEvent[] } {
    const x = this.#mod.exports, s = this.#alive();
    const [ptr, [len]] = this.#mod.heap.withOut(1, (out) => x.ow_h2_output(s, out));
    const bytes = ptr === NULL || len === 0 ? new Uint8Array(0) : this.#mod.heap.copyOut(ptr as never, len);
    const events = this.#events();
    if (ptr === NULL) throw this.#error(Status.ERR_PROTOCOL, 'writing frames');
    return { bytes, events };
  }

  /** The caller took `n` bytes of a stream's body: reopen the windows by that much. */
  consume(stream: number, n: number): void {
    if (n > 0 && this.#s !== NULL) this.#mod.exports.ow_h2_consume(this.#s, stream, n);
  }

  reset(stream: number, code: number): void {
    if (this.#s !== NULL) this.#mod.exports.ow_h2_reset(this.#s, stream, code);
  }

  goaway(code: number): void {
    if (this.#s !== NULL) this.#mod.exports.ow_h2_goaway(this.#s, code);
  }

  get wantRead(): boolean { return this.#s !== NULL && this.#mod.exports.ow_h2_want_read(this.#s) === 1; }
  get wantWrite(): boolean { return this.#s !== NULL && this.#mod.exports.ow_h2_want_write(this.#s) === 1; }

  /** The name of an HTTP/2 error code, as node prints it: `NGHTTP2_PROTOCOL_ERROR`. */
  codeName(code: number): string {
    return `NGHTTP2_${this.#mod.heap.cstring(this.#mod.exports.ow_h2_error_code_name(code >>> 0)) ?? code}`;
  }

  #events(): HttpEvent[] {
    const x = this.#mod.exports, s = this.#s;
    return readEvents(this.#mod, (out) => x.ow_h2_events(s, out), () => x.ow_h2_events_clear(s));
  }

  #error(r: number, what: string): HttpError {
    if (r === Status.ERR_NO_MEMORY) return noMemory();
    const x = this.#mod.exports;
    const code = this.#s === NULL ? 0 : x.ow_h2_last_error(this.#s);
    const text = this.#mod.heap.cstring(x.ow_h2_strerror(code)) ?? 'unknown error';
    return new HttpError(`HTTP/2 failed ${what}: ${text}`, 'ERR_HTTP2_ERROR');
  }

  #alive(): H2Ptr {
    if (this.#s === NULL) throw new HttpError('the HTTP/2 session has been freed', 'ERR_USE_AFTER_FREE');
    return this.#s;
  }

  free(): void {
    if (this.#s === NULL) return;
    registry?.unregister(this);
    this.#mod.exports.ow_h2_free(this.#s);
    this.#scratch.free();
    this.#s = NULL;
  }
}

/** A string of byte-valued characters (a header value) as its bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export { EventKind };
