/**
 * `fetch()` over this package's TLS: a {@link FetchClient} holds the route to servers, the TLS
 * options and a pool of connections per origin, and its `fetch` takes and returns the
 * platform's own `Request`, `Response` and `Headers`.
 * @module
 */
import type { SecureContext, SecureContextOptions } from '../context.js';
import type { WasmSource } from '../loader.js';
import { getOpenSSL, type OpenSSL } from '../openssl.js';
import { connect, type TlsStream } from '../tls.js';
import {
  abortReason, bounded, IDEMPOTENT, type Channel, type Connection, type WireRequest, type WireResponse,
} from './connection.js';
import { Http1Connection } from './h1.js';
import { Http2Connection } from './h2.js';
import { HttpError, loadHttpModule, type HttpModule } from './module.js';
import { checkRoute, defaultRoute, dial, type Route } from './routes.js';

export interface FetchClientOptions {
  /**
   * How to reach a server's `host:port` (see {@link Route}): `'tcp'` (the default in Node,
   * Deno and Bun), `'cloudflare-sockets'` (the default in Workers), a `WispClient`,
   * `{ relay: 'wss://relay.example/' }`, or a function returning a transport. Browsers have no
   * default: give a Wisp client or a relay.
   */
  transport?: Route;
  /** CAs to trust instead of the bundled Mozilla roots (node:tls's `ca`). */
  ca?: SecureContextOptions['ca'];
  /** A client certificate chain and its key, for servers that ask for one. */
  cert?: SecureContextOptions['cert'];
  key?: SecureContextOptions['key'];
  passphrase?: string;
  /** false: connect even when the certificate does not verify (for tests only). Default true. */
  rejectUnauthorized?: boolean;
  /** ALPN, in order of preference; default `['h2', 'http/1.1']`. `['http/1.1']` never uses HTTP/2. */
  ALPNProtocols?: readonly string[];
  /** Any other TLS option (`minVersion`, `ecdhCurve`, `ciphers`, ...), as for `createSecureContext`. */
  tls?: Omit<SecureContextOptions, 'isServer' | 'requestCert'>;
  /** The OpenSSL instance to use; default the shared one. */
  openssl?: OpenSSL;
  /** Where openssl-http.wasm comes from (as `LoadOptions.wasm`); default beside this file. */
  httpWasm?: WasmSource;
  /** Connections per origin at most (HTTP/1.1 runs one request per connection). Default 6. */
  maxConnectionsPerOrigin?: number;
  /** An idle connection closes after this many ms. Default 30000. */
  idleTimeout?: number;
  /** ms to connect and finish the TLS handshake. Default 30000. */
  connectTimeout?: number;
  /** ms from sending a request to its response's head. Default 300000; 0 for none. */
  headersTimeout?: number;
  /** ms between two pieces of a response body. Default 300000; 0 for none. */
  bodyTimeout?: number;
  /** The largest response header section accepted, in bytes. Default 64 KiB. */
  maxHeaderSize?: number;
  /** HTTP/2 receive windows: per stream (default 1 MiB) and for the connection (default 8 MiB). */
  http2?: { streamWindow?: number; connectionWindow?: number };
}

/** Redirects followed at most, as the fetch standard says. */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

interface Waiter {
  resolve(c: Connection): void;
  reject(e: unknown): void;
}

/** The connections of one origin, and the requests waiting for one. */
interface Origin {
  key: string;
  secure: boolean;
  host: string;
  port: number;
  conns: Connection[];
  connecting: number;
  waiters: Waiter[];
  /** A connection here negotiated HTTP/1.1: open more in parallel rather than wait for HTTP/2. */
  http1: boolean;
  session: Uint8Array | undefined;
}

const trailersOf = new WeakMap<Response, Promise<Headers>>();

/**
 * A response's trailers (the fields after a chunked HTTP/1.1 body, or HTTP/2's trailing
 * HEADERS), once its body has been read to the end; empty Headers when there were none.
 */
export function trailers(response: Response): Promise<Headers> {
  return trailersOf.get(response) ?? Promise.resolve(new Headers());
}

/** A number option: a finite value at least `min`, or the default. */
function num(options: object, name: string, dflt: number, min = 0): number {
  const v = (options as Record<string, unknown>)[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= min) || Number.isNaN(v)) throw new TypeError(`${name} must be a number >= ${min}; got ${String(v)}`);
  return v;
}

/**
 * An HTTP client over OpenSSL: HTTP/1.1 with keep-alive and HTTP/2 (chosen by ALPN), a pool
 * per origin, redirects, decompression, timeouts and `AbortSignal`, through whatever route
 * reaches the server (TCP, Workers sockets, Wisp, the relay).
 *
 * @example
 * ```ts
 * import { FetchClient } from 'openssl-tls-wasm/fetch';
 * import { WispClient } from 'openssl-tls-wasm';
 *
 * const client = new FetchClient({ transport: new WispClient('wss://proxy.example/wisp/') });
 * const res = await client.fetch('https://example.com/');
 * console.log(res.status, res.headers.get('content-type'), await res.text());
 * ```
 */
export class FetchClient {
  readonly #options: FetchClientOptions;
  readonly #route: Route | undefined;
  readonly #origins = new Map<string, Origin>();
  readonly #limits: {
    maxConnections: number; idleTimeout: number; connectTimeout: number; headersTimeout: number;
    bodyTimeout: number; maxHeaderSize: number; streamWindow: number; connectionWindow: number;
  };
  readonly #alpn: string[];
  #context: Promise<SecureContext> | undefined;
  #module: Promise<HttpModule> | undefined;
  #codings: Promise<Codings> | undefined;
  #closed = false;

  constructor(options: FetchClientOptions = {}) {
    this.#route = checkRoute(options.transport);
    const h2 = options.http2 ?? {};
    this.#limits = {
      maxConnections: num(options, 'maxConnectionsPerOrigin', 6, 1),
      idleTimeout: num(options, 'idleTimeout', 30_000),
      connectTimeout: num(options, 'connectTimeout', 30_000),
      headersTimeout: num(options, 'headersTimeout', 300_000),
      bodyTimeout: num(options, 'bodyTimeout', 300_000),
      maxHeaderSize: num(options, 'maxHeaderSize', 64 * 1024, 1024),
      streamWindow: num(h2, 'streamWindow', 1 << 20, 65535),
      connectionWindow: num(h2, 'connectionWindow', 8 << 20, 65535),
    };
    this.#alpn = [...(options.ALPNProtocols ?? ['h2', 'http/1.1'])];
    if (this.#alpn.length === 0 || this.#alpn.some((p) => p !== 'h2' && p !== 'http/1.1')) {
      throw new TypeError("ALPNProtocols must name 'h2' and/or 'http/1.1'");
    }
    this.#options = options;
  }

  /**
   * The standard `fetch()`: takes what `fetch` takes and resolves with a `Response` once its
   * head has arrived, the body streaming after. Fails as `fetch` does: a `TypeError('fetch
   * failed')` whose `cause` says what failed (a TLS error, `ECONNREFUSED`, an HTTP/2 stream
   * reset...), or the signal's reason when aborted.
   */
  readonly fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const signal = init.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    try {
      return await this.#fetch(input, init, signal);
    } catch (e) {
      if (signal?.aborted) throw abortReason(signal);
      if (validation.has(e as object)) throw e; // bad arguments: fetch's own TypeError, as is
      throw new TypeError('fetch failed', { cause: e });
    }
  };

  /** Closes every connection; later fetches fail. */
  close(): void {
    this.#closed = true;
    for (const origin of this.#origins.values()) {
      for (const w of origin.waiters.splice(0)) w.reject(new HttpError('the client was closed', 'ERR_CLIENT_CLOSED'));
      for (const c of origin.conns.splice(0)) c.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Connections open now, per origin (`https://host:port`), for tests and monitoring. */
  get connections(): Record<string, { protocol: string; active: number }[]> {
    const out: Record<string, { protocol: string; active: number }[]> = {};
    for (const o of this.#origins.values()) out[o.key] = o.conns.filter((c) => !c.closed).map((c) => ({ protocol: c.protocol, active: c.active }));
    return out;
  }

  async #fetch(input: RequestInfo | URL, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
    if (signal?.aborted) throw abortReason(signal);
    if (this.#closed) throw new HttpError('the client was closed', 'ERR_CLIENT_CLOSED');
    const req = await normalize(input, init);
    const codings = await (this.#codings ??= detectCodings());
    if (!req.headers.has('accept')) req.headers.set('accept', '*/*');
    if (!req.headers.has('accept-encoding')) req.headers.set('accept-encoding', codings.accept);

    let { url, method, body } = req;
    const headers = req.headers;
    for (let redirects = 0; ; redirects++) {
      const wire = await this.#send({
        method, url, headers: headerList(headers), body, signal,
        headersTimeout: this.#limits.headersTimeout, bodyTimeout: this.#limits.bodyTimeout,
      });
      const location = wire.headers.find(([n]) => n === 'location')?.[1];
      if (!REDIRECTS.has(wire.status) || location === undefined || req.redirect === 'manual') {
        return this.#response(wire, url, redirects > 0, codings);
      }
      await discard(wire);
      if (req.redirect === 'error') throw new HttpError(`the server redirected (${wire.status}) and redirect is 'error'`, 'ERR_REDIRECT');
      if (redirects + 1 > MAX_REDIRECTS) throw new HttpError(`more than ${MAX_REDIRECTS} redirects`, 'ERR_TOO_MANY_REDIRECTS');
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new HttpError(`the server redirected to an invalid URL: ${location}`, 'ERR_INVALID_REDIRECT');
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new HttpError(`the server redirected to a URL fetch cannot follow: ${next.protocol}`, 'ERR_INVALID_REDIRECT');
      }
      // The fetch standard's rules: 303 (and 301/302 after POST) become GET without a body.
      if ((wire.status === 303 && method !== 'GET' && method !== 'HEAD')
          || ((wire.status === 301 || wire.status === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
        for (const h of ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length']) headers.delete(h);
      } else if (body instanceof ReadableStream) {
        throw new HttpError('the server redirected, and a request body given as a stream cannot be sent again', 'ERR_REDIRECT_STREAM_BODY');
      }
      if (next.origin !== url.origin) {
        // Credentials meant for one origin never go to another.
        headers.delete('authorization');
        headers.delete('proxy-authorization');
        headers.delete('cookie');
      }
      url = next;
    }
  }

  #response(wire: WireResponse, url: URL, redirected: boolean, codings: Codings): Response {
    if (wire.status < 200 || wire.status > 599) {
      wire.body?.cancel().catch(() => {});
      throw new HttpError(`the server answered with status ${wire.status}, which fetch cannot return`, 'ERR_HTTP_INVALID_STATUS');
    }
    const headers = new Headers();
    for (const [n, v] of wire.headers) {
      try {
        headers.append(n, v);
      } catch {
        // A field value the platform's Headers refuses (a NUL, say): left out, as browsers do.
      }
    }
    let body = NULL_BODY.has(wire.status) ? null : wire.body;
    if (NULL_BODY.has(wire.status)) wire.body?.cancel().catch(() => {});
    const encoding = headers.get('content-encoding');
    if (body && encoding) body = codings.decode(body, encoding);
    const res = new Response(body, { status: wire.status, statusText: wire.statusText, headers });
    Object.defineProperty(res, 'url', { value: url.href, enumerable: true });
    Object.defineProperty(res, 'redirected', { value: redirected, enumerable: true });
    trailersOf.set(res, wire.trailers.then((t) => {
      const h = new Headers();
      for (const [n, v] of t) { try { h.append(n, v); } catch { /* as above */ } }
      return h;
    }));
    return res;
  }

  /** Sends a request on a pooled connection, again on a new one when the first never got it. */
  async #send(req: WireRequest): Promise<WireResponse> {
    // Connections another Worker request opened fail at once, each closing as it does (a pool
    // holds at most maxConnections of them): they do not count as attempts.
    for (let attempt = 0, stale = 0; ; attempt++) {
      const conn = await this.#acquire(req.url, req.signal);
      try {
        return await conn.request(req);
      } catch (e) {
        if (e instanceof HttpError && e.code === 'ERR_WORKERS_CROSS_REQUEST' && stale++ <= this.#limits.maxConnections) attempt--;
        const again = e instanceof HttpError && e.retryable && attempt < 3 && !(req.body instanceof ReadableStream)
          && (e.retryable === 'unprocessed' || IDEMPOTENT.has(req.method)) && !req.signal?.aborted;
        if (!again) throw e;
      }
    }
  }

  #origin(url: URL): Origin {
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const key = `${url.protocol}//${url.hostname}:${port}`;
    let o = this.#origins.get(key);
    if (!o) {
      o = { key, secure, host: url.hostname, port, conns: [], connecting: 0, waiters: [], http1: !secure || !this.#alpn.includes('h2'), session: undefined };
      this.#origins.set(key, o);
    }
    return o;
  }

  #acquire(url: URL, signal: AbortSignal | undefined): Promise<Connection> {
    if (this.#closed) return Promise.reject(new HttpError('the client was closed', 'ERR_CLIENT_CLOSED'));
    const origin = this.#origin(url);
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (c) => { signal?.removeEventListener('abort', onAbort); resolve(c); },
        reject: (e) => { signal?.removeEventListener('abort', onAbort); reject(e); },
      };
      const onAbort = () => {
        const i = origin.waiters.indexOf(waiter);
        if (i >= 0) origin.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      origin.waiters.push(waiter);
      this.#dispatch(origin);
    });
  }

  /** Hands waiting requests to connections that can take them, opening connections as allowed. */
  #dispatch(origin: Origin): void {
    origin.conns = origin.conns.filter((c) => !c.closed);
    while (origin.waiters.length > 0) {
      const conn = origin.conns.find((c) => c.available && c.protocol === 'h2') ?? origin.conns.find((c) => c.available);
      if (conn) {
        conn.reserve();
        origin.waiters.shift()!.resolve(conn);
        continue;
      }
      // Wait for a connection being made when it may turn out HTTP/2 (one serves all), or
      // when those being made are enough for the requests waiting.
      if (origin.connecting > 0 && (!origin.http1 || origin.connecting >= origin.waiters.length)) break;
      if (origin.conns.length + origin.connecting >= this.#limits.maxConnections) break;
      origin.connecting++;
      this.#connect(origin).then((conn) => {
        origin.connecting--;
        if (this.#closed) conn.close();
        else origin.conns.push(conn);
        this.#dispatch(origin);
      }, (e) => {
        origin.connecting--;
        origin.waiters.shift()?.reject(e);
        this.#dispatch(origin);
      });
    }
  }

  async #connect(origin: Origin): Promise<Connection> {
    const route = this.#route ?? defaultRoute();
    if (!route) {
      throw new HttpError('this runtime has no sockets: give the FetchClient a transport (a WispClient, or { relay })', 'ERR_NO_ROUTE');
    }
    const [mod, ctx] = await Promise.all([
      this.#module ??= loadHttpModule(this.#options.httpWasm),
      origin.secure ? (this.#context ??= this.#makeContext()) : undefined,
    ]);
    const controller = new AbortController();
    const ms = this.#limits.connectTimeout;
    const what = `connecting to ${origin.host}:${origin.port}`;
    const link = await bounded(dial(route, origin.host, origin.port, controller.signal), ms, what, undefined, (e) => controller.abort(e));
    let channel: Channel;
    if (ctx) {
      const name = origin.host.startsWith('[') ? origin.host.slice(1, -1) : origin.host;
      let tls: TlsStream;
      try {
        tls = await bounded(connect(link.transport, {
          secureContext: ctx, servername: name, host: name, session: origin.session,
          onsession: (s) => { origin.session = s; },
        }), ms, `the TLS handshake with ${origin.host}:${origin.port}`, undefined, () => link.close());
      } catch (e) {
        link.close();
        throw e;
      }
      channel = {
        readable: tls.readable, writable: tls.writable, alpn: tls.alpnProtocol,
        close: () => { tls.close().catch(() => {}).finally(() => link.close()); },
        ref: link.ref, unref: link.unref,
      };
    } else {
      // Named, not spread: a runtime's socket (Workers') has readable and writable as accessors.
      channel = { readable: link.transport.readable, writable: link.transport.writable, alpn: false, close: link.close, ref: link.ref, unref: link.unref };
    }
    const hooks = { changed: () => this.#dispatch(origin) };
    if (channel.alpn === 'h2') {
      return new Http2Connection(channel, mod, hooks, {
        streamWindow: this.#limits.streamWindow, connectionWindow: this.#limits.connectionWindow,
        maxHeaderSize: this.#limits.maxHeaderSize, idleTimeout: this.#limits.idleTimeout,
      });
    }
    origin.http1 = true;
    return new Http1Connection(channel, mod, hooks, { maxHeaderSize: this.#limits.maxHeaderSize, idleTimeout: this.#limits.idleTimeout });
  }

  async #makeContext(): Promise<SecureContext> {
    const o = this.#options;
    const openssl = o.openssl ?? await getOpenSSL();
    return openssl.createSecureContext({
      ...o.tls,
      ca: o.ca ?? o.tls?.ca ?? await openssl.rootStore(),
      cert: o.cert ?? o.tls?.cert, key: o.key ?? o.tls?.key, passphrase: o.passphrase ?? o.tls?.passphrase,
      rejectUnauthorized: o.rejectUnauthorized ?? o.tls?.rejectUnauthorized,
      ALPNProtocols: this.#alpn,
    });
  }
}

/** Headers as [name, value] pairs (names in lower case, as Headers keeps them). */
function headerList(headers: Headers): [string, string][] {
  const out: [string, string][] = [];
  headers.forEach((v, n) => { out.push([n, v]); });
  return out;
}

/** A DecompressionStream typed as the byte transform it is. */
const decompress = (format: string) => new DecompressionStream(format as CompressionFormat) as unknown as TransformStream<Uint8Array, Uint8Array>;

/** Reads a small redirect body so its connection can be used again; gives up a large one. */
async function discard(wire: WireResponse): Promise<void> {
  if (!wire.body) return;
  const length = Number(wire.headers.find(([n]) => n === 'content-length')?.[1] ?? NaN);
  if (length <= 64 * 1024) {
    try {
      for (const reader = wire.body.getReader(); !(await reader.read()).done;);
      return;
    } catch { return; }
  }
  await wire.body.cancel().catch(() => {});
}

/** A request as this client sends it. */
interface Normalized {
  url: URL;
  method: string;
  headers: Headers;
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  redirect: RequestRedirect;
}

const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The TypeErrors fetch throws for bad arguments, which are not wrapped in 'fetch failed'. */
const validation = new WeakSet<object>();

function invalid(message: string): TypeError {
  const e = new TypeError(message);
  validation.add(e);
  return e;
}

/**
 * What fetch takes, checked and made into one shape. Headers are kept as given (a Headers
 * object without the browser's forbidden-name filter, so `cookie` goes out).
 */
async function normalize(input: RequestInfo | URL, init: RequestInit): Promise<Normalized> {
  const request = input instanceof Request ? input : undefined;
  const base = (globalThis as { location?: { href: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(request ? request.url : String(input), base);
  } catch {
    throw invalid(`Failed to parse URL from ${String(input)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`fetch cannot load ${url.protocol} URLs`);
  if (url.username || url.password) throw invalid('Request cannot be constructed from a URL that includes credentials');
  let method = init.method ?? request?.method ?? 'GET';
  if (!TOKEN.test(method)) throw invalid(`'${method}' is not a valid HTTP method`);
  if (METHODS.includes(method.toUpperCase())) method = method.toUpperCase();
  if (['CONNECT', 'TRACE', 'TRACK'].includes(method.toUpperCase())) throw invalid(`'${method}' HTTP method is unsupported`);
  const headers = new Headers(init.headers ?? request?.headers);
  const redirect = init.redirect ?? request?.redirect ?? 'follow';
  let body: Normalized['body'] = null;
  const given = init.body !== undefined ? init.body : request?.body ?? null;
  if (given !== null && given !== undefined) {
    if (method === 'GET' || method === 'HEAD') throw invalid('Request with GET/HEAD method cannot have body');
    if (given instanceof ReadableStream) {
      if (request?.bodyUsed) throw invalid('the request body has already been read');
      body = given as ReadableStream<Uint8Array>;
    } else {
      // Strings, buffers, Blobs, FormData, URLSearchParams: as the platform encodes them.
      const r = new Response(given);
      body = new Uint8Array(await r.arrayBuffer());
      // The body's type, as fetch's "extract a body" gives it (Bun's Response leaves it out).
      const type = r.headers.get('content-type') ?? (typeof given === 'string' ? 'text/plain;charset=UTF-8'
        : given instanceof URLSearchParams ? 'application/x-www-form-urlencoded;charset=UTF-8'
        : given instanceof Blob && given.type ? given.type : null);
      if (type && !headers.has('content-type')) headers.set('content-type', type);
    }
  }
  return { url, method, headers, body, redirect };
}

/** The content codings this runtime can decode, and the decoders. */
interface Codings {
  accept: string;
  decode(body: ReadableStream<Uint8Array>, encoding: string): ReadableStream<Uint8Array>;
}

async function detectCodings(): Promise<Codings> {
  let brotli: (() => TransformStream<Uint8Array, Uint8Array>) | undefined;
  try {
    decompress('brotli');
    brotli = () => decompress('brotli');
  } catch {
    try {
      const zlib = await import(/* @vite-ignore */ ['node', 'zlib'].join(':'));
      if (typeof zlib.createBrotliDecompress === 'function') brotli = () => fromNodeTransform(zlib.createBrotliDecompress());
    } catch { /* no brotli here */ }
  }
  const decoders: Record<string, () => TransformStream<Uint8Array, Uint8Array>> = {
    gzip: () => decompress('gzip'),
    'x-gzip': () => decompress('gzip'),
    deflate: inflate,
    ...(brotli ? { br: brotli } : {}),
  };
  return {
    accept: brotli ? 'gzip, deflate, br' : 'gzip, deflate',
    decode(body, encoding) {
      // Codings apply in the order listed, so they come off in reverse. Unknown ones are left as they are.
      const list = encoding.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'identity');
      if (list.some((c) => !decoders[c])) return body;
      return list.reverse().reduce((b, c) => b.pipeThrough(decoders[c]()), body);
    },
  };
}

/** HTTP's "deflate" is zlib's format, but some servers send raw deflate: the first bytes say which. */
function inflate(): TransformStream<Uint8Array, Uint8Array> {
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let pump: Promise<void> | undefined;
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      if (!writer) {
        const zlib = chunk.length >= 2 && (chunk[0] & 0x0f) === 8 && ((chunk[0] << 8) | chunk[1]) % 31 === 0;
        const ds = decompress(zlib ? 'deflate' : 'deflate-raw');
        writer = ds.writable.getWriter();
        const reader = ds.readable.getReader();
        pump = (async () => {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            controller.enqueue(value);
          }
        })();
        pump.catch(() => {});
      }
      await writer!.write(chunk);
    },
    async flush() {
      if (!writer) return;
      await writer.close();
      await pump;
    },
  });
}

interface NodeTransform {
  on(event: string, fn: (...a: any[]) => void): unknown;
  once(event: string, fn: (...a: any[]) => void): unknown;
  write(chunk: Uint8Array, cb: (e?: Error | null) => void): boolean;
  end(): unknown;
}

/** A node zlib stream as a WHATWG TransformStream (for brotli where DecompressionStream has none). */
function fromNodeTransform(t: NodeTransform): TransformStream<Uint8Array, Uint8Array> {
  let failed: Error | undefined;
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      t.on('data', (d: Uint8Array) => controller.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
      t.on('error', (e: Error) => { failed = e; try { controller.error(new TypeError(`decoding the body failed: ${e.message}`, { cause: e })); } catch { /* done */ } });
    },
    transform(chunk) {
      return new Promise<void>((resolve, reject) => t.write(chunk, (e) => (e ? reject(e) : resolve())));
    },
    flush() {
      if (failed) throw failed;
      return new Promise<void>((resolve, reject) => { t.once('end', () => resolve()); t.once('error', reject); t.end(); });
    },
  });
}
