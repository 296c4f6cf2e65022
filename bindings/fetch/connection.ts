/**
 * What the HTTP/1.1 and HTTP/2 connections share: the request as they take it, the response
 * head as they return it, the byte channel under them, and the helpers for timers and aborts.
 * Private to the package.
 * @module
 */
import { HttpError } from './module.js';

/** A byte channel to the server: a TLS stream, or the transport itself for http: URLs. */
export interface Channel {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** The protocol ALPN chose (`'h2'`, `'http/1.1'`), or false. */
  readonly alpn: string | false;
  /** Ends the channel at once (and the socket under it). */
  close(): void;
  /** Let the runtime exit while this channel is idle (node sockets), and undo that. */
  unref?(): void;
  ref?(): void;
}

/** A request ready for the wire. Header names are lower case; `host` is not among them. */
export interface WireRequest {
  method: string;
  url: URL;
  headers: [string, string][];
  /** Bytes (sent with a content-length), a stream (chunked in HTTP/1.1), or none. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  signal: AbortSignal | undefined;
  /** Milliseconds to wait for the response's head, and between two pieces of its body (0: none). */
  headersTimeout: number;
  bodyTimeout: number;
}

/** A response's head, and its body as it arrives. */
export interface WireResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  /** null when the response has no body by definition (HEAD, 204, 304). */
  body: ReadableStream<Uint8Array> | null;
  /** The trailers, once the body has been read to its end. */
  trailers: Promise<[string, string][]>;
  /** `'http/1.1'` or `'h2'`. */
  protocol: string;
}

/** A connection to one origin, as the pool sees it. */
export interface Connection {
  readonly protocol: 'http/1.1' | 'h2';
  /** True while it can take another request now. */
  readonly available: boolean;
  readonly closed: boolean;
  /** Requests in flight. */
  readonly active: number;
  /** Takes the connection for a request (`available` must be true); `request` follows at once. */
  reserve(): void;
  request(req: WireRequest): Promise<WireResponse>;
  close(): void;
}

/** Called by a connection when it may take requests again, or has closed. */
export interface PoolHooks {
  changed(conn: Connection): void;
}

/** The error for a request aborted by its signal: the signal's reason, as fetch rejects with. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * `promise`, failing with an ETIMEDOUT HttpError after `ms` (0: never), or with the signal's
 * reason when it aborts. `onFail` runs on either, before the rejection.
 */
export function bounded<T>(promise: Promise<T>, ms: number, what: string, signal?: AbortSignal,
                           onFail?: (e: unknown) => void): Promise<T> {
  if (ms <= 0 && !signal) return promise;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fail = (e: unknown) => { cleanup(); onFail?.(e); reject(e); };
    const onAbort = () => fail(abortReason(signal!));
    const cleanup = () => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (ms > 0) timer = setTimeout(() => fail(new HttpError(`${what} timed out after ${ms} ms`, 'ETIMEDOUT')), ms);
    promise.then((v) => { cleanup(); resolve(v); }, (e) => { cleanup(); reject(e); });
  });
}

/**
 * Whether `e` (or an error in its chain of causes) is Cloudflare Workers refusing to let one
 * request use what another made: Workers tie every socket, and every promise, to the request
 * that made it, so a connection pooled by one request is dead to the next. The runtime refuses
 * the write (or the promise a write waits behind) before anything goes out.
 */
export function crossRequest(e: unknown): boolean {
  for (let x = e, depth = 0; x instanceof Error && depth < 8; x = x.cause, depth++) {
    if (x.message.includes('Cannot perform I/O on behalf of a different request')
        || x.message.includes('This promise was created by a request that has since ended')) return true;
  }
  return false;
}

/** The error a broken transport becomes: the cause kept, its code (ECONNRESET...) carried. */
export function transportError(what: string, cause: unknown): HttpError {
  if (cause instanceof HttpError) return cause;
  if (crossRequest(cause)) {
    // Sent again on a new connection: idempotent requests only, since on HTTP/2 the failing
    // connection may also carry another request's streams that did go out.
    const e = new HttpError(`${what}: the connection belongs to another Worker request (Workers let a request use only the sockets it opened)`,
      'ERR_WORKERS_CROSS_REQUEST', { cause });
    e.retryable = 'idempotent';
    return e;
  }
  const code = typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : 'ECONNRESET';
  const why = cause instanceof Error ? cause.message : String(cause ?? 'closed');
  return new HttpError(`${what}: ${why}`, code, { cause });
}

/** Methods whose request may be sent twice without harm (RFC 9110 section 9.2.2). */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

const utf8 = new TextEncoder();
export const toBytes = (s: string) => utf8.encode(s);

/** The chunks, one after another. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
