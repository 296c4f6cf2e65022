/**
 * The testing wire: two {@link WireDirection}s, the log of every record sent, and the hook that
 * intercepts records as they leave their sender.
 * @module
 */
import { concatBytes } from '../memory.js';
import { WireDirection } from './direction.js';
import type { Side } from './peer.js';
import type { Direction, WireRecord } from './record.js';
import type { Link } from './link.js';
import type { Sandbox } from './sandbox.js';

/**
 * What an {@link Wire.intercept} hook decides for a record: `'pass'` (or nothing) lets it
 * through, `'drop'` loses it, bytes replace it (one entry), an array of byte arrays replaces
 * it with several entries delivered one after another (an empty array drops it).
 *
 * @example
 * ```ts
 * sandbox.wire.intercept((r): InterceptResult => [r.bytes.subarray(0, 5), r.bytes.subarray(5)]);
 * ```
 */
export type InterceptResult = 'pass' | 'drop' | Uint8Array | readonly Uint8Array[] | undefined | void;

/**
 * A hook that sees every record as it leaves its sender, before it joins the pending queue.
 *
 * @example
 * ```ts
 * const hook: Interceptor = (record, direction) =>
 *   direction === 'toClient' && record.contentType === 'alert' ? 'drop' : 'pass';
 * ```
 */
export type Interceptor = (record: WireRecord, direction: Direction) => InterceptResult;

/**
 * The virtual wire between a client and a server (a {@link Link}'s, or a {@link Sandbox}'s):
 * two {@link WireDirection}s, a log of every record sent, and an intercept hook. A new pair
 * ({@link Sandbox.connect}, {@link Sandbox.reconnect}, a new Link) gets a new wire.
 *
 * @example
 * ```ts
 * sandbox.handshake();
 * sandbox.wire.log.map(String);
 * // ['toServer handshake 0x0301 len 1514', 'toClient handshake 0x0303 len 1210', ...]
 * ```
 */
export class Wire {
  /**
   * Client to server.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.pending();
   * ```
   */
  readonly toServer: WireDirection;
  /**
   * Server to client.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.hold();
   * ```
   */
  readonly toClient: WireDirection;
  readonly #log: WireRecord[] = [];
  #hook: Interceptor | undefined;
  #progress = 0;
  readonly #failures: Side[] = [];

  /** @internal */
  constructor({ chunk = Infinity }: { chunk?: number } = {}) {
    this.toServer = new WireDirection(this, 'toServer', chunk);
    this.toClient = new WireDirection(this, 'toClient', chunk);
  }

  /**
   * Every record the two sides sent, in the order they sent them, exactly as sent (before
   * any hook or wire operation). Injected bytes are not in it.
   *
   * @example
   * ```ts
   * const appData = sandbox.wire.log.filter((r) => r.direction === 'toServer' && r.type === 23);
   * ```
   */
  get log(): readonly WireRecord[] {
    return this.#log;
  }

  /**
   * Sets (or, with no argument, removes) the hook that sees each record as it leaves its
   * sender and decides its fate: pass, drop, or replace.
   *
   * @example
   * ```ts
   * // Corrupt the first encrypted record the server sends.
   * let done = false;
   * sandbox.wire.intercept((r, dir) => {
   *   if (done || dir !== 'toClient' || r.type !== 23) return 'pass';
   *   done = true;
   *   const b = r.bytes.slice(); b[10] ^= 1; return b;
   * });
   * ```
   */
  intercept(hook?: Interceptor): this {
    if (hook !== undefined && typeof hook !== 'function') throw new TypeError('intercept takes a function');
    this.#hook = hook;
    return this;
  }

  /**
   * Cuts one direction, or both when none is named (see {@link WireDirection.cut}).
   *
   * @example
   * ```ts
   * sandbox.wire.cut('toClient');   // the same as sandbox.wire.toClient.cut()
   * sandbox.wire.cut();             // both ways: the TCP connection is gone
   * ```
   */
  cut(direction?: Direction): this {
    if (direction !== undefined && direction !== 'toServer' && direction !== 'toClient') {
      throw new TypeError("cut takes 'toServer', 'toClient' or nothing");
    }
    if (direction !== 'toClient') this.toServer.cut();
    if (direction !== 'toServer') this.toClient.cut();
    return this;
  }

  /**
   * The whole log as one byte string, for comparing or hashing runs: for each record, 0 (to
   * the server) or 1 (to the client), its length as 4 bytes big-endian, then its bytes.
   *
   * @example
   * ```ts
   * const digest = createHash('sha256').update(sandbox.wire.transcript()).digest('hex');
   * ```
   */
  transcript(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const r of this.#log) {
      const head = new Uint8Array(5);
      head[0] = r.direction === 'toServer' ? 0 : 1;
      new DataView(head.buffer).setUint32(1, r.bytes.length);
      parts.push(head, r.bytes);
    }
    return concatBytes(parts);
  }

  /** @internal */
  get hook(): Interceptor | undefined {
    return this.#hook;
  }

  /** @internal */
  record(r: WireRecord): void {
    this.#log.push(r);
  }

  /** @internal The sides that failed, in the order they failed. */
  get failures(): readonly Side[] {
    return this.#failures;
  }

  /** @internal */
  failed(side: Side): void {
    this.#failures.push(side);
    this.#progress++;
  }

  /** @internal Counts anything that happened, so that run() knows when all is quiet. */
  progress(): void {
    this.#progress++;
  }

  /** @internal */
  get progressCount(): number {
    return this.#progress;
  }
}

