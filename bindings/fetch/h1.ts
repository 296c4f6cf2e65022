/**
 * HTTP/1.1 over one channel, one request at a time (no pipelining), parsed by llhttp.
 *
 * - A response body is content-length, chunked (trailers kept) or delimited by the close;
 *   HEAD, 204 and 304 have none, and 1xx responses are skipped.
 * - The body is read from the channel only as the caller reads it, so a slow reader holds the
 *   server back through TCP.
 * - A request body of known length is sent with content-length; a stream is sent chunked,
 *   each chunk written as the channel takes it.
 * - Between requests the connection keeps a read waiting, so a server that closes an idle
 *   connection is noticed before the connection is used again.
 * @module
 */
import {
  abortReason, bounded, concat, crossRequest, toBytes, transportError, IDEMPOTENT,
  type Channel, type Connection, type PoolHooks, type WireRequest, type WireResponse,
} from './connection.js';
import { EventKind, H1Parser, HttpError, latin1, latin1Bytes, type HttpModule } from './module.js';

const CRLF = toBytes('\r\n');
/** Request bodies up to this size go out in the same write as the head. */
const COALESCE = 64 * 1024;
/** Methods that carry no body, so no `content-length: 0` either. */
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE', 'CONNECT']);

export class Http1Connection implements Connection {
  readonly protocol = 'http/1.1';
  readonly #channel: Channel;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #parser: H1Parser;
  readonly #hooks: PoolHooks;
  #busy = false;
  #closed = false;
  #requests = 0;
  /** The read kept waiting while idle, taken over by the next request. */
  #idleRead: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #idleTimeout: number;

  constructor(channel: Channel, mod: HttpModule, hooks: PoolHooks, { maxHeaderSize, idleTimeout }:
  { maxHeaderSize: number; idleTimeout: number }) {
    this.#channel = channel;
    this.#reader = channel.readable.getReader();
    this.#writer = channel.writable.getWriter();
    this.#parser = new H1Parser(mod, maxHeaderSize);
    this.#hooks = hooks;
    this.#idleTimeout = idleTimeout;
  }

  get available(): boolean { return !this.#busy && !this.#closed; }
  get closed(): boolean { return this.#closed; }
  get active(): number { return this.#busy ? 1 : 0; }

  reserve(): void {
    if (!this.available) throw new Error('Http1Connection.reserve: not available');
    this.#busy = true;
    clearTimeout(this.#idleTimer);
    this.#channel.ref?.();
  }

  /** Closes the connection; a request in flight fails. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#parser.free();
    this.#reader.cancel().catch(() => {});
    this.#writer.abort().catch(() => {});
    this.#channel.close();
    this.#hooks.changed(this);
  }

  #release(): void {
    if (this.#closed) return;
    this.#busy = false;
    // Keep a read waiting: an EOF or stray bytes while idle mean the connection is done.
    const read = this.#reader.read();
    this.#idleRead = read;
    read.then((r) => { if (this.#idleRead === read && !this.#busy) this.close(); void r; },
      () => { if (this.#idleRead === read && !this.#busy) this.close(); });
    if (this.#idleTimeout > 0) this.#idleTimer = setTimeout(() => { if (!this.#busy) this.close(); }, this.#idleTimeout);
    this.#channel.unref?.();
    this.#hooks.changed(this);
  }

  #read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const idle = this.#idleRead;
    this.#idleRead = undefined;
    return idle ?? this.#reader.read();
  }

  async request(req: WireRequest): Promise<WireResponse> {
    const reused = this.#requests++ > 0;
    const head = req.method === 'HEAD';
    let responded = false; // any byte of a response arrived
    let bodySent = req.body === null || req.body instanceof Uint8Array;
    let failure: unknown;
    const fail = (e: unknown): unknown => {
      failure ??= e;
      this.close();
      return failure;
    };
    const onAbort = () => fail(abortReason(req.signal!));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => req.signal?.removeEventListener('abort', onAbort);

    /** A failure before any response byte: may this request go out again on a new connection? */
    const early = (e: unknown): unknown => {
      if (crossRequest(e) && !responded) {
        // Workers refused the socket (another request's) before any byte of this one went out.
        const stale = transportError('sending the request failed', e);
        stale.retryable = 'unprocessed';
        return stale;
      }
      // However the channel reports it (a TLS unexpected EOF, a reset), the server hung up.
      const err = e instanceof HttpError ? e
        : new HttpError(`the connection closed before the server responded${e instanceof Error ? `: ${e.message}` : ''}`, 'ECONNRESET', { cause: e });
      if (reused && !responded && err.code !== 'ETIMEDOUT' && !(req.signal?.aborted)) {
        err.retryable = IDEMPOTENT.has(req.method) ? 'idempotent' : false;
      }
      return err;
    };

    try {
      this.#parser.start(head);
      const lines = [`${req.method} ${req.url.pathname}${req.url.search} HTTP/1.1`, `host: ${req.url.host}`];
      for (const [n, v] of req.headers) lines.push(`${n}: ${v}`);
      const body = req.body;
      if (body instanceof Uint8Array) lines.push(`content-length: ${body.length}`);
      else if (body === null && !BODYLESS.has(req.method)) lines.push('content-length: 0'); // as browsers send for an empty POST
      else if (body) {
        lines.push('transfer-encoding: chunked');
      }
      const headBytes = latin1Bytes(`${lines.join('\r\n')}\r\n\r\n`);
      try {
        if (body instanceof Uint8Array && body.length <= COALESCE) await this.#writer.write(concat([headBytes, body]));
        else {
          await this.#writer.write(headBytes);
          if (body instanceof Uint8Array) await this.#writer.write(body);
        }
      } catch (e) {
        throw failure ?? early(e);
      }
      if (body instanceof ReadableStream) {
        // Sent while the response is read: a server may answer before the body is all there.
        this.#sendChunked(body).then(() => { bodySent = true; }, (e) => {
          fail(transportError('sending the request body failed', e));
        });
      }

      // The head: 1xx responses are skipped; the body's first bytes may come with it.
      const queue: Uint8Array[] = [];
      const headers: [string, string][] = [];
      const trailers: [string, string][] = [];
      let statusText = '';
      let status = 0;
      let ended = false;
      let keepAlive = false;
      let extra = false;
      const apply = (events: ReturnType<H1Parser['finish']>, chunk: Uint8Array | undefined) => {
        for (const ev of events) {
          switch (ev.kind) {
            case EventKind.STATUS_TEXT: statusText = latin1(ev.bytes); break;
            case EventKind.HEADER:
              (ev.flags & 1 ? trailers : headers).push([latin1(ev.bytes.subarray(0, ev.a)).toLowerCase(), latin1(ev.bytes.subarray(ev.a))]);
              break;
            case EventKind.HEADERS_END:
              if (ev.a < 200) {
                if (ev.a === 101) throw new HttpError('the server switched protocols (101), which fetch does not ask for', 'ERR_HTTP_UPGRADE');
                headers.length = 0; // an informational response: skipped
                statusText = '';
              } else status = ev.a;
              break;
            case EventKind.BODY: if (chunk) queue.push(chunk.subarray(ev.a, ev.a + ev.b)); break;
            case EventKind.MESSAGE_END:
              if (ev.b >= 200) { ended = true; keepAlive = ev.a === 1; }
              break;
          }
        }
      };
      /** Reads and parses one more chunk; false at the channel's end. */
      const more = async (what: string, ms: number): Promise<boolean> => {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await bounded(this.#read(), ms, what, req.signal);
        } catch (e) {
          throw failure ?? (responded ? transportError('the connection failed while reading the response', e) : early(e));
        }
        if (failure) throw failure;
        if (r.done) {
          apply(this.#parser.finish(), undefined);
          keepAlive = false;
          return false;
        }
        responded = true;
        const { consumed, events } = this.#parser.execute(r.value);
        apply(events, r.value);
        if (consumed < r.value.length) extra = true;
        return true;
      };

      while (status === 0) {
        if (!(await more('waiting for the response', req.headersTimeout)) && status === 0) {
          throw responded
            ? new HttpError('the connection closed in the middle of the response head', 'HPE_INVALID_EOF_STATE')
            : early(undefined);
        }
      }

      let resolveTrailers!: (t: [string, string][]) => void;
      const trailersPromise = new Promise<[string, string][]>((r) => { resolveTrailers = r; });
      /** The response is over: the connection goes back to the pool, or closes. */
      const finish = () => {
        done();
        resolveTrailers(trailers);
        if (keepAlive && !extra && bodySent && !failure) this.#release();
        else this.close();
      };
      const noBody = head || status === 204 || status === 304;
      if (noBody) {
        while (!ended) if (!(await more('reading the response', req.bodyTimeout))) break;
        finish();
        return { status, statusText, headers, body: null, trailers: trailersPromise, protocol: this.protocol };
      }
      const bodyStream = new ReadableStream<Uint8Array>({
        pull: async (c) => {
          try {
            while (queue.length === 0 && !ended) {
              if (!(await more('reading the response body', req.bodyTimeout)) && !ended) {
                throw new HttpError('the connection closed before the response body ended', 'HPE_INVALID_EOF_STATE');
              }
            }
            const chunk = queue.shift();
            if (chunk) c.enqueue(chunk);
            else { c.close(); finish(); }
          } catch (e) {
            done();
            resolveTrailers([]);
            throw fail(e);
          }
        },
        cancel: () => {
          done();
          resolveTrailers([]);
          // The rest of the body is still coming: the connection cannot be used again.
          if (!ended) this.close();
          else finish();
        },
      }, { highWaterMark: 0 });
      return { status, statusText, headers, body: bodyStream, trailers: trailersPromise, protocol: this.protocol };
    } catch (e) {
      done();
      throw fail(e);
    }
  }

  /** Sends a body stream in chunked encoding, chunk by chunk as the channel takes them. */
  async #sendChunked(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    try {
      for (;;) {
        if (this.#closed) throw new HttpError('the connection closed', 'ECONNRESET');
        const { done, value } = await reader.read();
        if (done) break;
        if (!(value instanceof Uint8Array)) throw new TypeError('a request body stream must give Uint8Array chunks');
        if (value.length === 0) continue;
        await this.#writer.write(concat([toBytes(`${value.length.toString(16)}\r\n`), value, CRLF]));
      }
      await this.#writer.write(toBytes('0\r\n\r\n'));
    } catch (e) {
      reader.cancel(e).catch(() => {});
      throw e;
    }
  }
}
