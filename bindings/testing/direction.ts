/**
 * One direction of the testing wire: the entries sent but not yet delivered, the faults a test
 * puts in them, and their delivery to the receiving side.
 * @module
 */
import { concatBytes, toBytes } from '../memory.js';
import type { SandboxPeer } from './peer.js';
import { splitRecords, WireRecord, type Direction } from './record.js';
import type { Wire } from './wire.js';

/**
 * One direction of the {@link Wire}: the entries sent but not yet delivered, and the
 * operations a test uses to misbehave. Indexes count from the head (the next to deliver).
 * Operations return the direction, so they chain.
 *
 * @example
 * ```ts
 * const up = sandbox.wire.toServer;
 * up.hold();
 * sandbox.client.write('one'); sandbox.client.write('two');
 * up.reorder(1, 0).release();
 * sandbox.run();   // the server fails: bad_record_mac
 * ```
 */
export class WireDirection {
  /**
   * Which direction this is.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.name;  // 'toServer'
   * ```
   */
  readonly name: Direction;
  readonly #wire: Wire;
  #queue: WireRecord[] = [];
  #partial: Uint8Array = new Uint8Array(0);
  #held = false;
  #cut = false;
  #ended = false;
  #receiver: SandboxPeer | undefined;
  #chunk: number;

  /** @internal */
  constructor(wire: Wire, name: Direction, chunk = Infinity) {
    this.#wire = wire;
    this.name = name;
    this.#chunk = checkChunk(chunk);
  }

  /**
   * The most bytes a step delivers in this direction (`Infinity`: everything pending). With
   * 1, the receiver gets one byte per step: the slowest transport there is. The entry at the
   * head then waits there, cut, until the rest of it has been delivered. {@link deliver},
   * called by hand, is not limited.
   *
   * @example
   * ```ts
   * link.wire.toClient.chunk = 1;   // the server's bytes now trickle to the client
   * ```
   */
  get chunk(): number {
    return this.#chunk;
  }

  set chunk(n: number) {
    this.#chunk = checkChunk(n);
  }

  /** @internal */
  attach(receiver: SandboxPeer): void {
    this.#receiver = receiver;
  }

  /**
   * The entries waiting to be delivered, head first (a copy: change them with the methods).
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.pending().map(String);
   * ```
   */
  pending(): WireRecord[] {
    return [...this.#queue];
  }

  /**
   * Bytes the sender wrote that do not yet make a whole record (normally none: senders write
   * whole records).
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.partial.length;  // 0
   * ```
   */
  get partial(): Uint8Array {
    return this.#partial;
  }

  /**
   * True while automatic delivery is held.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.hold().held;  // true
   * ```
   */
  get held(): boolean {
    return this.#held;
  }

  /**
   * True once {@link cut} was called: the receiver gets end-of-stream after what is pending.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.cut().isCut;  // true
   * ```
   */
  get isCut(): boolean {
    return this.#cut;
  }

  /**
   * Stops automatic delivery ({@link Sandbox.step}, {@link Sandbox.run}): entries collect
   * in {@link pending} until {@link release}, or until {@link deliver} is called by hand.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.hold();
   * sandbox.run();                                  // the server's flight waits on the wire
   * sandbox.wire.toClient.pending().length;         // e.g. 6
   * ```
   */
  hold(): this {
    this.#held = true;
    return this;
  }

  /**
   * Resumes automatic delivery; what is pending goes at the next step.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.release();
   * sandbox.run();
   * ```
   */
  release(): this {
    this.#held = false;
    return this;
  }

  #index(i: number, what = 'index'): number {
    const n = this.#queue.length;
    const j = Number.isInteger(i) && i < 0 ? n + i : i;
    if (!Number.isInteger(j) || j < 0 || j >= n) {
      throw new RangeError(`${what} ${i} is out of range: ${this.name} has ${n} pending ${n === 1 ? 'entry' : 'entries'}`);
    }
    return j;
  }

  #make(bytes: Uint8Array, origin: 'modified' | 'injected' = 'modified'): WireRecord {
    return new WireRecord(this.name, bytes, origin);
  }

  /**
   * Loses the pending entry at `i` (negative counts from the end).
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.drop(0);
   * ```
   */
  drop(i: number): this {
    this.#queue.splice(this.#index(i), 1);
    return this;
  }

  /**
   * Flips bits (`mask`, default the lowest) of the byte at `offset` in entry `i`. The offset
   * counts from the start of the record, header included; a negative one counts from the end,
   * so `-1` hits the last byte of a TLS 1.3 record's AEAD tag.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.corrupt(0, 10);        // a bit of the ciphertext
   * sandbox.wire.toServer.corrupt(0, -1, 0x80);  // the top bit of the tag's last byte
   * ```
   */
  corrupt(i: number, offset: number, mask = 0x01): this {
    const j = this.#index(i);
    const bytes = this.#queue[j].bytes.slice();
    const at = Number.isInteger(offset) && offset < 0 ? bytes.length + offset : offset;
    if (!Number.isInteger(at) || at < 0 || at >= bytes.length) throw new RangeError(`offset ${offset} is outside the entry's ${bytes.length} bytes`);
    if (!Number.isInteger(mask) || mask < 1 || mask > 0xff) throw new RangeError('mask must be an integer from 1 to 255');
    bytes[at] ^= mask;
    this.#queue[j] = this.#make(bytes);
    return this;
  }

  /**
   * Delivers entry `i` twice: a copy is put right after it.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.duplicate(0);   // a replayed record: bad_record_mac under TLS 1.3
   * ```
   */
  duplicate(i: number): this {
    const j = this.#index(i);
    this.#queue.splice(j + 1, 0, this.#make(this.#queue[j].bytes.slice()));
    return this;
  }

  /**
   * Moves entry `from` so that it sits at index `to`; with two entries, it swaps them.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.reorder(1, 0);   // the second record arrives first
   * ```
   */
  reorder(from: number, to: number): this {
    const a = this.#index(from, 'from');
    const b = this.#index(to, 'to');
    const [moved] = this.#queue.splice(a, 1);
    this.#queue.splice(b, 0, moved);
    return this;
  }

  /**
   * Keeps only the first `n` bytes of entry `i` (the rest is lost).
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.truncate(-1, 20).cut();  // a record cut short, then end of stream
   * ```
   */
  truncate(i: number, n: number): this {
    const j = this.#index(i);
    const bytes = this.#queue[j].bytes;
    if (!Number.isInteger(n) || n < 0 || n > bytes.length) throw new RangeError(`n must be an integer from 0 to ${bytes.length}`);
    this.#queue[j] = this.#make(bytes.slice(0, n));
    return this;
  }

  /**
   * Splits entry `i` into two entries at byte `at`, delivered by separate `feed()` calls
   * (with {@link deliver} or a {@link Sandbox.step} between them if the receiver should
   * see only the first piece for a while). The record itself is unchanged: this is
   * TCP-style fragmentation, not record splitting.
   *
   * @example
   * ```ts
   * const up = sandbox.wire.toServer.hold();
   * sandbox.client.write('hello');
   * up.split(0, 3).deliver(1);      // only the first 3 bytes of the record
   * sandbox.server.step();          // the server waits for the rest: 'want-read'
   * ```
   */
  split(i: number, at: number): this {
    const j = this.#index(i);
    const bytes = this.#queue[j].bytes;
    if (!Number.isInteger(at) || at <= 0 || at >= bytes.length) throw new RangeError(`at must be an integer from 1 to ${bytes.length - 1}`);
    this.#queue.splice(j, 1, this.#make(bytes.slice(0, at)), this.#make(bytes.slice(at)));
    return this;
  }

  /**
   * Joins `count` (default 2) entries starting at `i` into one, delivered by one `feed()`.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.coalesce(0, sandbox.wire.toClient.pending().length);  // one TCP segment
   * ```
   */
  coalesce(i: number, count = 2): this {
    const j = this.#index(i);
    if (!Number.isInteger(count) || count < 2 || j + count > this.#queue.length) {
      throw new RangeError(`count must be an integer from 2 to ${this.#queue.length - j}`);
    }
    const parts = this.#queue.slice(j, j + count).map((r) => r.bytes);
    this.#queue.splice(j, count, this.#make(concatBytes(parts)));
    return this;
  }

  /**
   * Puts raw bytes on the wire at index `at` (default: the end), as if the sender had sent
   * them. They are not parsed, logged or intercepted.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.inject(new Uint8Array([21, 3, 3, 0, 2, 2, 40]));  // a fatal handshake_failure alert
   * ```
   */
  inject(bytes: Uint8Array | ArrayBuffer | string, at = this.#queue.length): this {
    const b = toBytes(bytes).slice();
    if (!Number.isInteger(at) || at < 0 || at > this.#queue.length) throw new RangeError(`at must be an integer from 0 to ${this.#queue.length}`);
    this.#queue.splice(at, 0, this.#make(b, 'injected'));
    return this;
  }

  /**
   * Ends this direction's transport without close_notify, as a TCP FIN or reset would: what
   * is pending is still delivered, then the receiver is told end-of-stream (`feedEnd()`),
   * and whatever the sender writes afterwards is lost. A receiver still expecting data then
   * fails with `unexpected eof while reading`.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.cut();
   * sandbox.run();
   * sandbox.client.error?.reason;  // 'unexpected eof while reading'
   * ```
   */
  cut(): this {
    this.#cut = true;
    return this;
  }

  /**
   * Feeds up to `count` pending entries (default all) to the receiver now, each with its own
   * `feed()` call, even while {@link held}; then, if the direction is {@link cut} and nothing
   * is left, end-of-stream. Stops early when the receiver's buffer is full (the rest of that
   * entry stays at the head) or when the receiver has failed. Returns the bytes fed. The
   * receiver does not process them until it steps.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.deliver(1);
   * sandbox.server.step();
   * ```
   */
  deliver(count = Infinity): number {
    return this.#feed(count, Infinity);
  }

  /** Feeds up to `count` entries and `budget` bytes; see {@link deliver}. */
  #feed(count: number, budget: number): number {
    const peer = this.#receiver;
    if (!peer || peer.error) return 0;
    const conn = peer.engine;
    let fed = 0;
    let done = 0;
    while (this.#queue.length > 0 && done < count) {
      const head = this.#queue[0];
      if (head.bytes.length === 0) {
        this.#queue.shift();
        done++;
        continue;
      }
      if (this.#ended || fed >= budget) break; // bytes after end-of-stream cannot be fed
      const n = conn.feed(head.bytes.subarray(0, Math.min(head.bytes.length, budget - fed)));
      fed += n;
      if (n === head.bytes.length) {
        this.#queue.shift();
        done++;
      } else {
        // The receiver's buffer is full, or the step's budget spent: the rest waits at the head.
        if (n > 0) this.#queue[0] = new WireRecord(this.name, head.bytes.slice(n), head.origin === 'sent' ? 'modified' : head.origin);
        break;
      }
    }
    if (this.#cut && !this.#ended && this.#queue.length === 0) {
      conn.feedEnd();
      this.#ended = true;
      this.#wire.progress();
    }
    if (fed > 0) this.#wire.progress();
    return fed;
  }

  /** @internal Delivery by step(): nothing while held, at most {@link chunk} bytes. */
  autoDeliver(): number {
    return this.#held ? 0 : this.#feed(Infinity, this.#chunk);
  }

  /** @internal Bytes a sender wrote: cut into records, logged, intercepted and queued. */
  accept(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.#cut) return;
    const { records, rest } = splitRecords(this.#partial, bytes);
    this.#partial = rest;
    for (const record of records.map((r) => new WireRecord(this.name, r, 'sent'))) {
      this.#wire.record(record);
      const verdict = this.#wire.hook?.(record, this.name);
      if (verdict === undefined || verdict === 'pass') this.#queue.push(record);
      else if (verdict === 'drop') continue;
      else if (verdict instanceof Uint8Array) this.#queue.push(this.#make(verdict.slice()));
      else if (Array.isArray(verdict)) {
        for (const b of verdict) {
          if (!(b instanceof Uint8Array)) throw new TypeError('an intercept hook may return Uint8Array[] but not other arrays');
          this.#queue.push(this.#make(b.slice()));
        }
      } else {
        throw new TypeError("an intercept hook returns 'pass', 'drop', a Uint8Array or an array of them");
      }
    }
  }
}

function checkChunk(n: number): number {
  if (n !== Infinity && (!Number.isInteger(n) || n < 1)) throw new RangeError('chunk must be a whole number of bytes from 1, or Infinity');
  return n;
}
