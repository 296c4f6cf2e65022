/**
 * One side of a link or sandbox: the driver that steps a low-level connection, queues its
 * writes, collects what it reads and puts its output on the wire.
 * @module
 */
import type { TlsEngine, TlsMessageEvent, Want } from '../engine.js';
import { TlsError } from '../errors.js';
import { concatBytes, toBytes } from '../memory.js';
import type { WireDirection } from './direction.js';
import type { Wire } from './wire.js';
import type { Link } from './link.js';
import type { Sandbox } from './sandbox.js';

/**
 * The two ends of a link or sandbox.
 *
 * @example
 * ```ts
 * const side: Side = 'server';
 * sandbox[side].read();
 * ```
 */
export type Side = 'client' | 'server';

/**
 * Where a side stands after its last step: `'new'` before the first, the handshake's
 * `'want-read'` or `'want-write'` while it runs, `'done'` once it has completed, `'closed'`
 * once the peer's close_notify has been read, `'failed'` after a {@link TlsError}.
 *
 * @example
 * ```ts
 * const status: PeerStatus = sandbox.server.status;   // 'want-read' while it waits for the client
 * ```
 */
export type PeerStatus = 'new' | Want | 'done' | 'closed' | 'failed';

/**
 * One end of a {@link Link} (and so of a {@link Sandbox}): the driver of its
 * {@link TlsEngine}, what it has read, and its trace and key-log lines. Steps never throw
 * a {@link TlsError}: a failure is kept in {@link error} (sticky, as in OpenSSL), and the
 * alert it produced still goes on the wire.
 *
 * @example
 * ```ts
 * sandbox.client.write('GET / HTTP/1.0\r\n\r\n');
 * sandbox.run();
 * sandbox.server.read();   // 'GET / HTTP/1.0\r\n\r\n'
 * ```
 */
export class SandboxPeer {
  /**
   * `'client'` or `'server'`.
   *
   * @example
   * ```ts
   * sandbox.client.side;  // 'client'
   * ```
   */
  readonly side: Side;
  /**
   * The protocol messages this side sent and received, when the sandbox traces (see
   * {@link TlsMessageEvent}); record headers, the inner content type and
   * ChangeCipherSpec are included. A {@link Link} made from existing connections leaves it
   * empty (their own `onmessage` option sees the same events).
   *
   * @example
   * ```ts
   * sandbox.client.trace.filter((e) => e.contentType === 'alert');
   * ```
   */
  readonly trace: TlsMessageEvent[] = [];
  /**
   * This side's SSLKEYLOGFILE lines, when the sandbox logs keys. Joined with newlines, they
   * are a key-log file Wireshark reads. Empty on a {@link Link} made from existing connections.
   *
   * @example
   * ```ts
   * sandbox.client.keylog.find((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 '));
   * ```
   */
  readonly keylog: string[] = [];
  readonly #conn: TlsEngine;
  readonly #out: WireDirection;
  readonly #wire: Wire;
  #status: PeerStatus = 'new';
  #error: TlsError | undefined;
  #closed = false;
  #inbox: Uint8Array[] = [];
  #writes: Uint8Array[] = [];

  /** @internal Use a {@link Link}. */
  constructor(side: Side, engine: TlsEngine, wire: Wire) {
    this.side = side;
    this.#conn = engine;
    this.#wire = wire;
    this.#out = side === 'client' ? wire.toServer : wire.toClient;
  }

  /**
   * The low-level engine, for anything the sandbox does not wrap (`negotiated()`,
   * `getSession()`, `peerCertificates()`, ...).
   *
   * @example
   * ```ts
   * sandbox.client.engine.negotiated().cipher?.name;  // 'TLS_AES_256_GCM_SHA384'
   * ```
   */
  get engine(): TlsEngine {
    return this.#conn;
  }

  /**
   * Where this side stands after its last step (see {@link PeerStatus}).
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.hold();
   * sandbox.run();
   * sandbox.client.status;  // 'want-read'
   * ```
   */
  get status(): PeerStatus {
    return this.#status;
  }

  /**
   * The error that ended this side, if one did: a {@link TlsError} with OpenSSL's reason,
   * node's code and the alerts.
   *
   * @example
   * ```ts
   * sandbox.server.error?.alertSent?.name;  // 'bad_record_mac'
   * ```
   */
  get error(): TlsError | undefined {
    return this.#error;
  }

  /**
   * True once this side's handshake has completed.
   *
   * @example
   * ```ts
   * sandbox.run();
   * sandbox.client.handshakeDone && sandbox.server.handshakeDone;  // true
   * ```
   */
  get handshakeDone(): boolean {
    return this.#conn.alive && this.#conn.handshakeDone;
  }

  /**
   * True once the peer's close_notify has been read: a clean end, unlike a cut.
   *
   * @example
   * ```ts
   * sandbox.server.shutdown(); sandbox.run();
   * sandbox.client.closed;  // true
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The names of the handshake messages this side sent or received (both, in order, when
   * `direction` is omitted), from the trace: e.g. `['ClientHello', 'Finished']` for a TLS
   * 1.3 client's `'sent'`. Needs `trace: true`.
   *
   * @example
   * ```ts
   * sandbox.client.handshakeMessages('received');
   * // ['ServerHello', 'EncryptedExtensions', 'Certificate', 'CertificateVerify', 'Finished', 'NewSessionTicket', 'NewSessionTicket']
   * ```
   */
  handshakeMessages(direction?: 'sent' | 'received'): string[] {
    return this.trace
      .filter((e) => e.contentType === 'handshake' && (direction === undefined || e.direction === direction))
      .map((e) => e.message ?? '?');
  }

  /**
   * Queues application data: it is encrypted now if the handshake is done (the records go
   * on the wire at once), otherwise as soon as it is. Throws this side's error if it has
   * failed.
   *
   * @example
   * ```ts
   * sandbox.client.write('ping');
   * sandbox.wire.toServer.pending().length;  // 1
   * ```
   */
  write(data: string | Uint8Array | ArrayBuffer): void {
    if (this.#error) throw this.#error;
    const bytes = toBytes(data).slice();
    if (bytes.length === 0) return;
    this.#writes.push(bytes);
    if (this.handshakeDone) {
      this.#guard(() => this.#flushWrites());
      this.flush();
      if (this.#error) throw this.#error;
    }
  }

  /**
   * Takes all the application data this side has received, as UTF-8 text ('' when there is
   * none). Reads what is already fed first, so no step is needed after a delivery. Throws
   * this side's error when it has failed and nothing readable is left.
   *
   * @example
   * ```ts
   * sandbox.client.write('ping'); sandbox.run();
   * sandbox.server.read();  // 'ping'
   * ```
   */
  read(): string {
    return new TextDecoder().decode(this.readBytes());
  }

  /**
   * As {@link read}, but the bytes.
   *
   * @example
   * ```ts
   * sandbox.server.readBytes().length;
   * ```
   */
  readBytes(): Uint8Array {
    if (!this.#error && this.handshakeDone) {
      this.#guard(() => this.#readAll());
      this.flush();
    }
    const out = concatBytes(this.#inbox.splice(0));
    if (out.length === 0 && this.#error) throw this.#error;
    return out;
  }

  /**
   * Sends close_notify (a clean end); `'done'` when the peer's has also been read.
   * Throws this side's error if it has failed.
   *
   * @example
   * ```ts
   * sandbox.client.shutdown();
   * sandbox.run();
   * sandbox.server.closed;  // true
   * ```
   */
  shutdown(): 'sent' | 'done' | Want {
    if (this.#error) throw this.#error;
    let r: 'sent' | 'done' | Want = 'want-read';
    this.#guard(() => { r = this.#conn.shutdown(); });
    this.flush();
    if (this.#error) throw this.#error;
    return r;
  }

  /**
   * One step of this side alone: advances the handshake, or once it is done sends queued
   * writes and reads what has been fed; then puts its output on the wire. Never throws a
   * {@link TlsError} (see {@link error}). Returns true when anything happened.
   *
   * @example
   * ```ts
   * sandbox.client.step();                 // ClientHello on the wire
   * sandbox.wire.toServer.deliver();
   * sandbox.server.step();                 // the server's first flight
   * ```
   */
  step(): boolean {
    const before = this.#wire.progressCount;
    const status = this.#status;
    if (!this.#error) {
      this.#guard(() => {
        if (!this.#conn.handshakeDone) {
          this.#status = this.#conn.handshake();
        }
        if (this.#conn.handshakeDone) {
          if (this.#status !== 'closed') this.#status = 'done';
          this.#flushWrites();
          this.#readAll();
        }
      });
    }
    this.flush();
    if (this.#status !== status) this.#wire.progress();
    return this.#wire.progressCount !== before;
  }

  /** Runs a step, keeping a TlsError as this side's error. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof TlsError)) throw e;
      this.#error = e;
      this.#status = 'failed';
      this.#wire.failed(this.side);
    }
  }

  #flushWrites(): void {
    while (this.#writes.length > 0) {
      const head = this.#writes[0];
      const r = this.#conn.write(head);
      if (r === 'want-write') {
        if (!this.flush()) return;
        continue;
      }
      if (r === 'want-read') return;
      this.#wire.progress();
      if (r === head.length) this.#writes.shift();
      else this.#writes[0] = head.subarray(r);
    }
  }

  #readAll(): void {
    while (!this.#closed) {
      const r = this.#conn.read();
      if (r === 'closed') {
        this.#closed = true;
        this.#status = 'closed';
        this.#wire.progress();
        return;
      }
      if (r === 'want-read') return;
      if (r === 'want-write') {
        if (!this.flush()) return;
        continue;
      }
      this.#inbox.push(r);
      this.#wire.progress();
    }
  }

  /**
   * Moves the ciphertext this side's connection has queued onto the wire, where it waits to
   * be delivered; true when there was some. Steps do this themselves: call it after using
   * the {@link engine} directly (`shutdown()`, `write()`, ...).
   *
   * @example
   * ```ts
   * link.client.engine.shutdown();   // close_notify, queued in the connection
   * link.client.flush();                 // on the wire
   * link.wire.toServer.deliver();        // fed to the server
   * ```
   */
  flush(): boolean {
    if (!this.#conn.alive) return false;
    const out = this.#conn.takeOutput();
    if (out.length === 0) return false;
    this.#out.accept(out);
    this.#wire.progress();
    return true;
  }
}

