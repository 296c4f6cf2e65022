/**
 * Transports: where ciphertext goes. Every transport has one shape, a pair of WHATWG streams of
 * bytes, so the TLS layer needs to know nothing else about sockets, WebSockets or pipes:
 *
 * ```ts
 * interface Transport { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }
 * ```
 *
 * Adapters here turn a Node-style socket (`net.Socket`, also in Deno and Bun), a WebSocket
 * (the browser's, Deno's, Bun's, Node 22's global one, or the `ws` package's) or nothing at all
 * (an in-memory pair) into that shape. Backpressure is carried through: a transport that
 * cannot take more makes `writable.write()` wait, and a socket whose reader stops is paused.
 * @module
 */

/** A bidirectional byte stream. Its `readable` ends when the peer ends the transport. */
export interface Transport {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** The part of node:net's Socket (or any Duplex) that {@link fromSocket} uses. */
export interface SocketLike {
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  end(cb?: () => void): unknown;
  destroy(err?: Error): unknown;
  pause(): unknown;
  resume(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  off?(event: string, listener: (...args: any[]) => void): unknown;
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  setNoDelay?(noDelay?: boolean): unknown;
  readonly destroyed?: boolean;
}

/** The part of the WebSocket API that {@link fromWebSocket} uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (ev: any) => void, options?: { once?: boolean }): void;
  removeEventListener(type: string, listener: (ev: any) => void): void;
}

/** Bytes buffered in each direction of an adapter before it pushes back. */
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

const byteLength = (hwm: number) => new ByteLengthQueuingStrategy({ highWaterMark: hwm });

/** An error for a transport that went away, with node's code. */
export function transportClosed(message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code: 'ECONNRESET' });
}

/**
 * A Node-style socket as a transport. Turns Nagle off (`setNoDelay`), since TLS already sends
 * whole records and the connection coalesces its own writes. Closing the writable ends the
 * socket (FIN); aborting or cancelling destroys it.
 */
export function fromSocket(socket: SocketLike, { highWaterMark = DEFAULT_HIGH_WATER_MARK } = {}): Transport {
  socket.setNoDelay?.(true);
  let closed = false;
  let failure: Error | undefined;
  let pendingError: Error | undefined;
  // An error (a reset, say) must not discard bytes that arrived before it: a peer's fatal
  // alert followed by a TCP reset is common, and the alert is the useful part. So the error
  // is raised only once what was queued has been read.
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, e: Error) => {
    if (closed) return;
    closed = true;
    if ((controller.desiredSize ?? 0) >= highWaterMark) controller.error(e);
    else pendingError = e;
  };
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      socket.on('data', (d: Uint8Array) => {
        if (closed) return;
        controller.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) socket.pause();
      });
      socket.on('end', () => {
        if (closed) return;
        closed = true;
        controller.close();
      });
      socket.on('error', (e: Error) => {
        failure = e;
        fail(controller, e);
      });
      socket.on('close', () => fail(controller, failure ?? transportClosed('the socket closed')));
    },
    pull(controller) {
      if (pendingError && (controller.desiredSize ?? 0) >= highWaterMark) {
        controller.error(pendingError); // everything before the error has been read
        pendingError = undefined;
        return;
      }
      if (!closed) socket.resume();
    },
    cancel() {
      closed = true;
      socket.destroy();
    },
  }, byteLength(highWaterMark));

  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (socket.destroyed) throw failure ?? transportClosed('the socket is closed');
      if (socket.write(chunk)) return;
      // The socket's buffer is full: wait for it to drain (or to die).
      return new Promise<void>((resolve, reject) => {
        const done = (e?: Error) => {
          unlisten();
          if (e || socket.destroyed) reject(e ?? failure ?? transportClosed('the socket closed'));
          else resolve();
        };
        const onDrain = () => done();
        const onClose = () => done(failure ?? transportClosed('the socket closed'));
        const unlisten = () => {
          const off = (socket.off ?? socket.removeListener)?.bind(socket);
          off?.('drain', onDrain);
          off?.('close', onClose);
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    },
    close() {
      // end()'s callback never comes for a socket already destroyed: don't wait for it then.
      if (socket.destroyed) return;
      return new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end(() => resolve());
      });
    },
    abort(reason) {
      socket.destroy(reason instanceof Error ? reason : undefined);
    },
  }, byteLength(highWaterMark));
  return { readable, writable };
}

const WS_CONNECTING = 0;
const WS_OPEN = 1;
const WS_CLOSING = 2;
const WS_CLOSED = 3;
/** How long {@link fromWebSocket} waits for a WebSocket to open, by default. */
const DEFAULT_CONNECT_TIMEOUT = 10_000;

/**
 * A WebSocket as a transport: binary frames carry ciphertext both ways. A text frame is an
 * error. Closing the writable closes the WebSocket (which has no half-close). A close with a
 * code other than 1000 (normal) errors the readable with the code and reason, so a relay's
 * refusal reaches the caller. Sending waits while `bufferedAmount` is above `highWaterMark`.
 *
 * A WebSocket that has not opened within `connectTimeout` milliseconds (default 10000) fails
 * both streams with `ETIMEDOUT` and is closed. That covers a server that never answers the
 * upgrade, and WebSocket polyfills whose `readyState` is not one of the four standard values
 * (wisp-js's `WispWebSocket` reports `undefined`): such a socket counts as open only once its
 * `open` event has been seen.
 *
 * The WebSocket API cannot pause receiving, so the reading side's backpressure must come from
 * the other end (the relay pauses its TCP socket while the WebSocket is backed up).
 *
 * @example
 * ```ts
 * const transport = fromWebSocket(new WebSocket('wss://relay.example/?target=example.com:443'), { connectTimeout: 5000 });
 * const tls = await connect(transport, { servername: 'example.com' });
 * ```
 */
export function fromWebSocket(ws: WebSocketLike, {
  highWaterMark = DEFAULT_HIGH_WATER_MARK, connectTimeout = DEFAULT_CONNECT_TIMEOUT,
}: { highWaterMark?: number; connectTimeout?: number } = {}): Transport {
  ws.binaryType = 'arraybuffer';
  let closeError: Error | undefined;
  let ended = false;
  let readController: ReadableStreamDefaultController<Uint8Array> | undefined;
  // The state as the events tell it, for sockets whose readyState says nothing useful.
  const initial = ws.readyState;
  let open = initial === WS_OPEN;
  let closing = initial === WS_CLOSING || initial === WS_CLOSED;
  const isClosing = () => closing || ws.readyState === WS_CLOSING || ws.readyState === WS_CLOSED;
  // The close event carries the code and reason (a relay's refusal, say); while the socket is
  // CLOSING it has not arrived yet, so failures wait for it rather than say less.
  const closedEvent = new Promise<Error>((resolve) => {
    if (initial === WS_CLOSED) resolve(transportClosed('the WebSocket is already closed'));
    else ws.addEventListener('close', (ev) => { closing = true; resolve(closeReason(ev)); }, { once: true });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const opened = new Promise<void>((resolve, reject) => {
    if (open) return resolve();
    void closedEvent.then((e) => { clearTimeout(timer); reject(e); });
    if (closing) return;
    ws.addEventListener('open', () => { open = true; clearTimeout(timer); resolve(); }, { once: true });
    timer = setTimeout(() => {
      if (open || closing) return;
      const state = initial === WS_CONNECTING ? 'still connecting'
        : `its readyState, ${String(initial)}, is not one of the WebSocket states 0 to 3, and no open event came (a polyfill?)`;
      const err = Object.assign(new Error(`the WebSocket did not open within ${connectTimeout} ms (${state})`), { code: 'ETIMEDOUT' });
      closeError = err;
      reject(err);
      if (!ended) {
        ended = true;
        try { readController?.error(err); } catch {}
      }
      try { ws.close(); } catch {}
    }, connectTimeout);
  });
  opened.catch(() => {});

  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      readController = controller;
      ws.addEventListener('message', (ev) => {
        if (ended) return;
        open = true; // a socket that delivers a message is open, whatever its readyState says
        if (typeof ev.data === 'string') {
          ended = true;
          controller.error(new TypeError('the WebSocket sent a text frame; TLS needs binary frames'));
          ws.close(1003, 'binary frames only');
          return;
        }
        const data = ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data)
          : ArrayBuffer.isView(ev.data) ? new Uint8Array(ev.data.buffer, ev.data.byteOffset, ev.data.byteLength)
          : undefined;
        if (data) controller.enqueue(data);
      });
      ws.addEventListener('close', (ev) => {
        clearTimeout(timer);
        if (ended) return;
        ended = true;
        if (ev.code === 1000 || ev.code === 1005) controller.close();
        else controller.error((closeError = closeReason(ev)));
      });
    },
    cancel() {
      ended = true;
      clearTimeout(timer);
      ws.close(1000);
    },
  });

  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      await opened;
      if (isClosing()) throw closeError ?? await closedEvent;
      ws.send(chunk);
      while (ws.bufferedAmount > highWaterMark && !isClosing()) {
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close() {
      clearTimeout(timer);
      ws.close(1000);
    },
    abort() {
      clearTimeout(timer);
      ws.close(1000);
    },
  }, byteLength(highWaterMark));
  return { readable, writable };
}

/**
 * The error for a WebSocket closed with an error code. A relay that could not reach its target
 * closes with 1011 and the system's code first in the reason (`ECONNREFUSED (host:port)`):
 * that code becomes the error's, so that a refused connection reads as ECONNREFUSED through a
 * relay as it does over TCP. Other closes are ECONNRESET.
 */
function closeReason(ev: { code?: number; reason?: string }): Error {
  const why = ev.reason ? `: ${ev.reason}` : '';
  const systemCode = ev.code === 1011 ? /^(E[A-Z0-9]{2,})\b/.exec(ev.reason ?? '')?.[1] : undefined;
  return Object.assign(transportClosed(`the WebSocket closed with code ${ev.code ?? 'unknown'}${why}`), {
    closeCode: ev.code, closeReason: ev.reason, ...(systemCode ? { code: systemCode } : {}),
  });
}

/**
 * Two transports joined back to back in memory: what one writes, the other reads. Each
 * direction buffers at most `highWaterMark` bytes before writes wait.
 */
export function memoryPair({ highWaterMark = DEFAULT_HIGH_WATER_MARK } = {}): [Transport, Transport] {
  const ab = new TransformStream<Uint8Array, Uint8Array>(undefined, byteLength(highWaterMark), byteLength(highWaterMark));
  const ba = new TransformStream<Uint8Array, Uint8Array>(undefined, byteLength(highWaterMark), byteLength(highWaterMark));
  return [
    { readable: ba.readable, writable: ab.writable },
    { readable: ab.readable, writable: ba.writable },
  ];
}

/** Anything {@link toTransport} accepts. */
export type TransportLike = Transport | SocketLike | WebSocketLike;

/** A transport from a stream pair, a Node-style socket or a WebSocket. */
export function toTransport(t: TransportLike): Transport {
  const o = t as Partial<Transport & SocketLike & WebSocketLike>;
  if (o.readable instanceof ReadableStream && o.writable instanceof WritableStream) return t as Transport;
  if (typeof o.send === 'function' && 'bufferedAmount' in o) return fromWebSocket(t as WebSocketLike);
  if (typeof o.write === 'function' && typeof o.on === 'function') return fromSocket(t as SocketLike);
  throw new TypeError('expected a transport: { readable, writable } streams, a socket or a WebSocket');
}
