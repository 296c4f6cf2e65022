/**
 * HTTP/2 over one channel, run by nghttp2: every request to an origin multiplexed on one
 * connection.
 *
 * - The connection reads the channel all the time (frames for any stream may come), and each
 *   stream's body waits in a queue until the caller reads it. Receive windows reopen only as
 *   the caller reads (nghttp2 does not open them by itself), so a slow reader holds its stream
 *   back, and the queue never holds more than the window.
 * - A request body goes to nghttp2 in pieces; the next piece is read from the caller's stream
 *   only when less than {@link SEND_AHEAD} bytes of it wait for the server's window.
 * - GOAWAY: no new streams; streams the server did not process (above its last stream id, or
 *   refused with REFUSED_STREAM) fail as retryable, and the pool sends them again on a new
 *   connection. RST_STREAM fails its stream with node's code and the error's name.
 * @module
 */
import {
  abortReason, bounded, crossRequest, transportError, type Channel, type Connection, type PoolHooks,
  type WireRequest, type WireResponse,
} from './connection.js';
import {
  EventKind, H2_CANCEL, H2_NO_ERROR, H2_REFUSED_STREAM, H2Session, HttpError, latin1,
  type HttpEvent, type HttpModule,
} from './module.js';

/** Request body bytes queued in nghttp2 per stream before reading more from the caller. */
const SEND_AHEAD = 64 * 1024;

/** Header fields HTTP/2 forbids (RFC 9113 section 8.2.2); `host` becomes `:authority`. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

interface Stream {
  id: number;
  req: WireRequest;
  headers: [string, string][];
  status: number;
  trailers: [string, string][];
  queue: Uint8Array[];
  ended: boolean;
  closed: boolean;
  error: unknown;
  /** Resolves the head. */
  resolve: (r: WireResponse) => void;
  reject: (e: unknown) => void;
  headDone: boolean;
  /** Wakes a reader waiting for body bytes. */
  wake: (() => void) | undefined;
  resolveTrailers: (t: [string, string][]) => void;
  /** Removes the abort listener. */
  cleanup: () => void;
  /** Writes completed on the connection when this stream was submitted. */
  epoch: number;
}

export interface Http2Options {
  streamWindow: number;
  connectionWindow: number;
  maxHeaderSize: number;
  idleTimeout: number;
}

export class Http2Connection implements Connection {
  readonly protocol = 'h2';
  readonly #channel: Channel;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #session: H2Session;
  readonly #hooks: PoolHooks;
  readonly #streams = new Map<number, Stream>();
  #reserved = 0;
  #maxStreams = 100;
  #goaway = false;
  #closed = false;
  #failure: unknown;
  #writing: Promise<void> = Promise.resolve();
  /** Writes completed on the channel. */
  #written = 0;
  /** Senders of request bodies waiting for nghttp2's queue to drain. */
  #progress: (() => void)[] = [];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #idleTimeout: number;

  constructor(channel: Channel, mod: HttpModule, hooks: PoolHooks, options: Http2Options) {
    this.#channel = channel;
    this.#reader = channel.readable.getReader();
    this.#writer = channel.writable.getWriter();
    this.#hooks = hooks;
    this.#idleTimeout = options.idleTimeout;
    this.#session = new H2Session(mod, {
      streamWindow: options.streamWindow, connectionWindow: options.connectionWindow, maxHeaderListSize: options.maxHeaderSize,
    });
    this.#flush();
    void this.#readLoop();
    this.#idle();
  }

  get available(): boolean {
    return !this.#closed && !this.#goaway && this.#streams.size + this.#reserved < this.#maxStreams;
  }
  get closed(): boolean { return this.#closed; }
  get active(): number { return this.#streams.size + this.#reserved; }

  reserve(): void {
    if (!this.available) throw new Error('Http2Connection.reserve: not available');
    this.#reserved++;
    clearTimeout(this.#idleTimer);
    this.#channel.ref?.();
  }

  #idle(): void {
    if (this.active > 0 || this.#closed) return;
    if (this.#goaway) return this.close();
    this.#channel.unref?.();
    if (this.#idleTimeout > 0) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => { if (this.active === 0) this.close(); }, this.#idleTimeout);
    }
  }

  /** Sends GOAWAY and closes; streams in flight fail. Idempotent. */
  close(): void {
    if (this.#closed) return;
    if (this.#session.alive && this.#failure === undefined) {
      try {
        this.#session.goaway(H2_NO_ERROR);
        const { bytes } = this.#session.output();
        if (bytes.length) void this.#writer.write(bytes).catch(() => {});
      } catch { /* closing anyway */ }
    }
    this.#shutdown(new HttpError('the HTTP/2 connection was closed', 'ERR_HTTP2_GOAWAY_SESSION'));
  }

  #shutdown(err: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure ??= err;
    clearTimeout(this.#idleTimer);
    for (const s of this.#streams.values()) this.#failStream(s, err);
    this.#streams.clear();
    for (const w of this.#progress.splice(0)) w();
    this.#session.free();
    void this.#writing.finally(() => {
      this.#writer.close().catch(() => {});
      this.#reader.cancel().catch(() => {});
      this.#channel.close();
    });
    this.#hooks.changed(this);
  }

  /** Writes whatever nghttp2 has to send, in order. */
  #flush(): void {
    let epoch = this.#written;
    this.#writing = this.#writing.then(async () => {
      while (!this.#closed && this.#session.alive) {
        const { bytes, events } = this.#session.output();
        if (events.length) this.#dispatch(events, bytes);
        if (bytes.length === 0) break;
        epoch = this.#written;
        await this.#writer.write(bytes);
        this.#written++;
      }
      for (const w of this.#progress.splice(0)) w();
    }).catch((e) => {
      const err = transportError('writing to the HTTP/2 connection failed', e);
      if (crossRequest(e)) {
        // Workers refused the write whole: streams submitted since the last write that went
        // out were not sent at all, so any request of theirs may go again.
        for (const s of this.#streams.values()) {
          if (s.epoch >= epoch && !s.headDone) this.#failStream(s, Object.assign(transportError('sending the request failed', e), { retryable: 'unprocessed' as const }));
        }
      }
      this.#shutdown(err);
    });
  }

  async #readLoop(): Promise<void> {
    try {
      while (!this.#closed) {
        const r = await this.#reader.read();
        if (this.#closed) return;
        if (r.done) throw new HttpError('the server closed the HTTP/2 connection', 'ECONNRESET');
        const events = this.#session.feed(r.value);
        this.#dispatch(events, r.value);
        this.#flush();
        if (!this.#session.wantRead && !this.#session.wantWrite) {
          this.#shutdown(new HttpError('the HTTP/2 session ended', 'ERR_HTTP2_GOAWAY_SESSION'));
        }
      }
    } catch (e) {
      this.#shutdown(e instanceof HttpError ? e : transportError('reading the HTTP/2 connection failed', e));
    }
  }

  #dispatch(events: HttpEvent[], chunk: Uint8Array): void {
    for (const ev of events) {
      const s = ev.stream ? this.#streams.get(ev.stream) : undefined;
      switch (ev.kind) {
        case EventKind.HEADER:
          if (s) (s.headDone ? s.trailers : s.headers).push([latin1(ev.bytes.subarray(0, ev.a)), latin1(ev.bytes.subarray(ev.a))]);
          break;
        case EventKind.HEADERS_END:
          if (s && !s.headDone) this.#head(s);
          break;
        case EventKind.BODY:
          if (s) {
            s.queue.push(ev.flags & 1 ? ev.bytes.slice() : chunk.subarray(ev.a, ev.a + ev.b));
            s.wake?.();
          } else {
            this.#session.consume(ev.stream, ev.b); // a stream already given up: keep the window open
          }
          break;
        case EventKind.MESSAGE_END:
          if (s) { s.ended = true; s.wake?.(); }
          break;
        case EventKind.STREAM_CLOSE:
          if (s) this.#streamClosed(s, ev.a >>> 0);
          break;
        case EventKind.GOAWAY:
          this.#goaway = true;
          this.#hooks.changed(this);
          break;
        case EventKind.SETTINGS:
          this.#maxStreams = Math.max(1, Math.min(ev.a >>> 0, 1000));
          this.#hooks.changed(this);
          break;
      }
    }
  }

  #head(s: Stream): void {
    const status = Number(s.headers.find(([n]) => n === ':status')?.[1]);
    if (!(status >= 100 && status <= 999)) {
      this.#session.reset(s.id, 1);
      this.#failStream(s, new HttpError('the server\'s HTTP/2 response has no valid :status', 'ERR_HTTP2_INVALID_HEADER_VALUE'));
      return;
    }
    if (status < 200) { s.headers = []; return; } // an informational response: skipped
    s.status = status;
    s.headDone = true;
    const headers = s.headers.filter(([n]) => !n.startsWith(':'));
    const trailers = new Promise<[string, string][]>((r) => { s.resolveTrailers = r; });
    const noBody = s.req.method === 'HEAD' || status === 204 || status === 304;
    const body = noBody ? null : new ReadableStream<Uint8Array>({
      pull: (c) => this.#pull(s, c),
      cancel: () => this.#cancel(s),
    }, { highWaterMark: 0 });
    if (noBody) {
      // Whatever comes is dropped (and its window reopened): a HEAD or 204 has no body. With
      // no body to read to its end, the trailers are there when the stream ends.
      s.wake = () => {
        for (const b of s.queue.splice(0)) this.#session.consume(s.id, b.length);
        if (s.ended) s.resolveTrailers(s.trailers);
      };
      if (s.ended) s.wake();
    }
    s.resolve({ status, statusText: '', headers, body, trailers, protocol: this.protocol });
  }

  async #pull(s: Stream, c: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    while (s.queue.length === 0 && !s.ended && s.error === undefined) {
      await bounded(new Promise<void>((r) => { s.wake = r; }), s.req.bodyTimeout, 'reading the response body', s.req.signal)
        .catch((e) => { this.#abandon(s, e); });
      s.wake = undefined;
    }
    const chunk = s.queue.shift();
    if (chunk) {
      c.enqueue(chunk);
      this.#session.consume(s.id, chunk.length);
      this.#flush();
      return;
    }
    if (s.error !== undefined) throw s.error;
    c.close();
    s.resolveTrailers(s.trailers);
  }

  #cancel(s: Stream): void {
    s.resolveTrailers?.([]);
    if (!s.closed) this.#abandon(s, new HttpError('the response body was cancelled', 'ABORT_ERR'), H2_CANCEL);
  }

  /** Gives a stream up: RST_STREAM CANCEL, its queued bytes' window reopened. */
  #abandon(s: Stream, err: unknown, code = H2_CANCEL): void {
    s.cleanup();
    if (s.error !== undefined) return;
    s.error = err;
    if (this.#session.alive && !s.closed) {
      this.#session.reset(s.id, code);
      for (const b of s.queue.splice(0)) this.#session.consume(s.id, b.length);
      this.#flush();
    }
    this.#streams.delete(s.id);
    if (!s.headDone) s.reject(err);
    s.wake?.();
    this.#idle();
  }

  #streamClosed(s: Stream, code: number): void {
    s.closed = true;
    s.cleanup();
    this.#streams.delete(s.id);
    if (code !== 0 || !s.ended) {
      const name = this.#session.codeName(code);
      const err = code === H2_REFUSED_STREAM && !s.headDone
        ? Object.assign(new HttpError(`the server refused the stream (${name}): it was not processed`, 'ERR_HTTP2_STREAM_ERROR'), { retryable: 'unprocessed' as const })
        : new HttpError(`Stream closed with error code ${name}`, 'ERR_HTTP2_STREAM_ERROR');
      this.#failStream(s, err);
    }
    this.#idle();
    this.#hooks.changed(this);
  }

  #failStream(s: Stream, err: unknown): void {
    s.cleanup();
    if (s.error !== undefined) return;
    s.error = err;
    if (!s.headDone) {
      // Not processed when the connection went away before any answer on a GOAWAY'd connection.
      if (err instanceof HttpError && !err.retryable && this.#goaway && err.code !== 'ERR_HTTP2_STREAM_ERROR') err.retryable = 'idempotent';
      s.reject(err);
    } else s.resolveTrailers?.([]);
    s.wake?.();
  }

  request(req: WireRequest): Promise<WireResponse> {
    this.#reserved--;
    if (this.#closed) return Promise.reject(this.#failure);
    const headers: [string, string][] = [
      [':method', req.method], [':scheme', req.url.protocol.slice(0, -1)], [':authority', req.url.host],
      [':path', `${req.url.pathname}${req.url.search}`],
    ];
    for (const [n, v] of req.headers) {
      if (CONNECTION_SPECIFIC.has(n) || (n === 'te' && v.toLowerCase() !== 'trailers')) continue;
      headers.push([n, v]);
    }
    if (req.body instanceof Uint8Array) headers.push(['content-length', String(req.body.length)]);
    return new Promise<WireResponse>((resolve, reject) => {
      let id: number;
      try {
        id = this.#session.request(headers, req.body !== null);
      } catch (e) {
        reject(e);
        return;
      }
      const s: Stream = {
        id, req, headers: [], status: 0, trailers: [], queue: [], ended: false, closed: false, error: undefined,
        resolve, reject, headDone: false, wake: undefined, resolveTrailers: () => {}, cleanup: () => {}, epoch: this.#written,
      };
      this.#streams.set(id, s);
      if (req.body instanceof Uint8Array) this.#session.data(id, req.body, true);
      else if (req.body) void this.#sendBody(s, req.body);
      this.#flush();
      if (req.signal) {
        const onAbort = () => this.#abandon(s, abortReason(req.signal!));
        if (req.signal.aborted) onAbort();
        else {
          req.signal.addEventListener('abort', onAbort, { once: true });
          s.cleanup = () => req.signal!.removeEventListener('abort', onAbort);
        }
      }
      if (req.headersTimeout > 0) {
        const timer = setTimeout(() => {
          if (!s.headDone) this.#abandon(s, new HttpError(`waiting for the response timed out after ${req.headersTimeout} ms`, 'ETIMEDOUT'));
        }, req.headersTimeout);
        const clear = () => clearTimeout(timer);
        const r = s.resolve, j = s.reject;
        s.resolve = (v) => { clear(); r(v); };
        s.reject = (e) => { clear(); j(e); };
      }
    });
  }

  /** Feeds a request body stream to nghttp2, no further ahead than SEND_AHEAD bytes. */
  async #sendBody(s: Stream, body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    try {
      for (;;) {
        while (!this.#closed && s.error === undefined && this.#session.pending(s.id) >= SEND_AHEAD) {
          await new Promise<void>((r) => this.#progress.push(r));
        }
        if (this.#closed || s.error !== undefined || s.closed) throw s.error ?? this.#failure;
        const { done, value } = await reader.read();
        if (done) {
          this.#session.data(s.id, new Uint8Array(0), true);
          this.#flush();
          return;
        }
        if (!(value instanceof Uint8Array)) throw new TypeError('a request body stream must give Uint8Array chunks');
        if (!this.#session.data(s.id, value, false)) throw s.error ?? new HttpError('the stream closed before its request body was sent', 'ERR_HTTP2_STREAM_ERROR');
        this.#flush();
      }
    } catch (e) {
      reader.cancel(e).catch(() => {});
      if (s.error === undefined && !s.closed) this.#abandon(s, transportError('sending the request body failed', e));
    }
  }
}
