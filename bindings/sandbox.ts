/**
 * FOR TESTS ONLY. A sandbox for testing TLS code: an in-process client and server, each a
 * low-level {@link TlsEngine}, joined by a virtual wire that a test can watch and break,
 * inside a private OpenSSL instance with its own virtual clock and (optionally) seeded,
 * reproducible entropy. Nothing runs by itself: no timers, no promises, no event loop. The
 * test moves the connection forward with {@link Sandbox.step}, {@link Sandbox.run} or
 * {@link Sandbox.handshake}, and every run with the same seed, clock and steps is
 * byte-for-byte the same.
 *
 * The wire cuts each direction's byte stream into TLS records (content type, version,
 * length, bytes) and holds them until they are delivered, so a test can hold, drop,
 * duplicate, corrupt, truncate, reorder, split or coalesce them, inject raw bytes, or end the
 * transport without close_notify. With `trace` and `keylog`, the sandbox also keeps each
 * side's protocol messages and SSLKEYLOGFILE lines.
 *
 * A seeded sandbox makes keys, nonces and tickets that anyone who knows the seed can
 * predict. Never use it, or certificates made in it, outside tests.
 *
 * @example
 * ```ts
 * import { Sandbox } from 'openssl-wasm';
 *
 * const sandbox = await Sandbox.create({ clock: Date.UTC(2030, 0, 1), seed: 'test-1' });
 * const root = sandbox.pki.root({ subject: 'Test Root' });
 * const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'] });
 * sandbox.connect({
 *   server: { cert: leaf.chainPem, key: leaf.keyPem },
 *   client: { ca: root.certPem, servername: 'localhost' },
 * });
 * sandbox.handshake();
 * sandbox.client.write('ping');
 * sandbox.wire.toServer.corrupt(0, -1);       // flip a bit in the record's tag
 * sandbox.run();
 * sandbox.server.error?.alertSent?.name;       // 'bad_record_mac'
 * ```
 * @module
 */
import type { SecureContext, SecureContextOptions } from './context.js';
import type { EngineOptions, TlsEngine, TlsMessageEvent, Want } from './engine.js';
import { TlsError, type TlsErrorDetails } from './errors.js';
import type { Flavor, WasmSource } from './loader.js';
import { OpenSSL } from './openssl.js';
import { TestPki } from './pki.js';

/**
 * The two directions of the wire, named for where the bytes go (and for the {@link Wire}
 * properties that hold them).
 *
 * @example
 * ```ts
 * const dir: Direction = 'toClient';
 * sandbox.wire[dir].hold();
 * ```
 */
export type Direction = 'toServer' | 'toClient';

/**
 * The two ends of the sandbox.
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
 * Per-connection options that a sandbox side accepts beside its context options (see
 * {@link EngineOptions}). Tracing and key logging are the sandbox's own options.
 *
 * @example
 * ```ts
 * const options: SandboxEngineOptions = { session: savedSession };
 * sandbox.reconnect(options);
 * ```
 */
export type SandboxEngineOptions = Pick<EngineOptions,
  'servername' | 'host' | 'checkHost' | 'session' | 'bufferSize' | 'verifyTime'>;

/**
 * One side's configuration: the `node:tls`-style context options (without `isServer`) and
 * the connection options, in one object.
 *
 * @example
 * ```ts
 * const client: SandboxSideOptions = { ca: root.certPem, servername: 'localhost', ciphersuites: 'TLS_AES_128_GCM_SHA256' };
 * ```
 */
export type SandboxSideOptions = Omit<SecureContextOptions, 'isServer'> & SandboxEngineOptions;

/**
 * Options for {@link Sandbox.create}.
 *
 * @example
 * ```ts
 * const sandbox = await Sandbox.create({
 *   clock: Date.UTC(2030, 0, 1), seed: 'run-1', trace: true, keylog: true,
 *   server: { cert: chainPem, key: keyPem },
 *   client: { ca: rootPem, servername: 'localhost' },
 * });
 * ```
 */
export interface SandboxOptions {
  /**
   * The client's configuration. With `server`, the sandbox connects at once; without both,
   * call {@link Sandbox.connect} later (for example after making certificates with
   * {@link Sandbox.pki}).
   *
   * @example
   * ```ts
   * { client: { ca: rootPem, servername: 'localhost', ALPNProtocols: ['h2'] } }
   * ```
   */
  client?: SandboxSideOptions;
  /**
   * The server's configuration; it needs `cert` and `key`.
   *
   * @example
   * ```ts
   * { server: { cert: leaf.chainPem, key: leaf.keyPem, requestCert: true, ca: rootPem } }
   * ```
   */
  server?: SandboxSideOptions;
  /**
   * Where the sandbox's virtual clock starts, in ms since the epoch (or a Date). Default: the
   * real time when the sandbox is created. The clock moves only when the test moves it
   * ({@link SandboxClock.set}, {@link SandboxClock.advance}).
   *
   * @example
   * ```ts
   * { clock: Date.UTC(2030, 0, 1) }
   * ```
   */
  clock?: number | Date;
  /**
   * TEST ONLY: makes every random byte the sandbox's OpenSSL uses a function of this seed
   * (`entropy: { testOnlySeed }`), so that runs with the same seed, clock and steps produce
   * byte-identical transcripts. Default: the host's real entropy.
   *
   * @example
   * ```ts
   * { seed: 'regression-1234' }
   * ```
   */
  seed?: string | Uint8Array;
  /**
   * Keep each side's protocol messages in {@link Sandbox.trace}. Default false.
   *
   * @example
   * ```ts
   * { trace: true }   // then sandbox.client.handshakeMessages()
   * ```
   */
  trace?: boolean;
  /**
   * Keep each side's SSLKEYLOGFILE lines in {@link Sandbox.keylog}. Default false.
   *
   * @example
   * ```ts
   * { keylog: true }  // then sandbox.keylog.client
   * ```
   */
  keylog?: boolean;
  /**
   * Where the wasm module comes from (see `LoadOptions.wasm`). Default: beside the package.
   *
   * @example
   * ```ts
   * { wasm: new URL('./openssl.wasm', import.meta.url) }
   * ```
   */
  wasm?: WasmSource;
  /**
   * Which build to load (see `LoadOptions.flavor`): `'small'`, the default, or `'full'` for
   * ML-DSA test certificates, TLS 1.0/1.1, DHE suites and the other algorithms it adds.
   */
  flavor?: Flavor;
}

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

const CONTENT_TYPES: Record<number, string> = {
  20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data', 24: 'heartbeat',
};

const HEADER = 5;

/**
 * One entry on the wire: a TLS record as a sender wrote it, or, after a wire operation or an
 * injection, whatever bytes the test put in its place (part of a record, several records,
 * or garbage). The header fields are read from the bytes as they are, so a corrupted header
 * shows here as it will to the receiver. Immutable: wire operations replace entries.
 *
 * @example
 * ```ts
 * for (const r of sandbox.wire.log) console.log(`${r}`);  // "toServer handshake 0x0301 len 1234"
 * ```
 */
export class WireRecord {
  /**
   * Which way the entry travels.
   *
   * @example
   * ```ts
   * sandbox.wire.log.filter((r) => r.direction === 'toClient');
   * ```
   */
  readonly direction: Direction;
  /**
   * The bytes, header included.
   *
   * @example
   * ```ts
   * createHash('sha256').update(record.bytes).digest('hex');
   * ```
   */
  readonly bytes: Uint8Array;
  /**
   * `'sent'`: exactly what a side wrote; `'modified'`: made by a wire operation or an
   * intercept hook from sent bytes; `'injected'`: given by the test with {@link WireDirection.inject}.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.corrupt(0, 9).pending()[0].origin;  // 'modified'
   * ```
   */
  readonly origin: 'sent' | 'modified' | 'injected';

  /** @internal */
  constructor(direction: Direction, bytes: Uint8Array, origin: 'sent' | 'modified' | 'injected') {
    this.direction = direction;
    this.bytes = bytes;
    this.origin = origin;
  }

  /**
   * The content type byte (20 change_cipher_spec, 21 alert, 22 handshake, 23
   * application_data), or -1 for an empty entry.
   *
   * @example
   * ```ts
   * sandbox.wire.log.filter((r) => r.type === 23);  // encrypted records (and TLS 1.3 handshake)
   * ```
   */
  get type(): number {
    return this.bytes.length > 0 ? this.bytes[0] : -1;
  }

  /**
   * The content type's name: 'change_cipher_spec', 'alert', 'handshake', 'application_data',
   * 'heartbeat', or 'unknown(N)'. TLS 1.3 encrypts everything after ServerHello as
   * 'application_data' on the wire; the real type is inside (see {@link Sandbox.trace}).
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.pending().map((r) => r.contentType);
   * ```
   */
  get contentType(): string {
    return CONTENT_TYPES[this.type] ?? `unknown(${this.type})`;
  }

  /**
   * The record header's protocol version, e.g. 0x0303 (TLS 1.3 records say TLS 1.2), or -1
   * when the entry is shorter than that.
   *
   * @example
   * ```ts
   * sandbox.wire.log[0].version;  // 0x0301 for a ClientHello
   * ```
   */
  get version(): number {
    return this.bytes.length >= 3 ? (this.bytes[1] << 8) | this.bytes[2] : -1;
  }

  /**
   * The fragment length the header declares, or -1 when the entry is shorter than a header.
   *
   * @example
   * ```ts
   * record.length === record.fragment.length;  // true for a whole record
   * ```
   */
  get length(): number {
    return this.bytes.length >= HEADER ? (this.bytes[3] << 8) | this.bytes[4] : -1;
  }

  /**
   * The bytes after the 5-byte header (for TLS 1.3, the ciphertext and its 16-byte tag).
   *
   * @example
   * ```ts
   * const tag = record.fragment.subarray(-16);
   * ```
   */
  get fragment(): Uint8Array {
    return this.bytes.subarray(Math.min(HEADER, this.bytes.length));
  }

  /**
   * The 5-byte record header (TLS 1.3's additional data for AEAD).
   *
   * @example
   * ```ts
   * const aad = record.header;
   * ```
   */
  get header(): Uint8Array {
    return this.bytes.subarray(0, HEADER);
  }

  /**
   * True when the entry is exactly one whole record as its header describes.
   *
   * @example
   * ```ts
   * sandbox.wire.toServer.split(0, 100).pending()[0].complete;  // false
   * ```
   */
  get complete(): boolean {
    return this.length >= 0 && this.bytes.length === HEADER + this.length;
  }

  /**
   * A one-line description, e.g. `"toServer handshake 0x0301 len 1514"`.
   *
   * @example
   * ```ts
   * console.log(sandbox.wire.log.join('\n'));
   * ```
   */
  toString(): string {
    const v = this.version < 0 ? '?' : `0x${this.version.toString(16).padStart(4, '0')}`;
    const extra = this.complete ? '' : ` (${this.bytes.length} bytes)`;
    const origin = this.origin === 'sent' ? '' : ` [${this.origin}]`;
    return `${this.direction} ${this.contentType} ${v} len ${this.length}${extra}${origin}`;
  }
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let i = 0;
  for (const b of parts) {
    out.set(b, i);
    i += b.length;
  }
  return out;
}

function bytesOf(data: Uint8Array | ArrayBuffer | string, what: string): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${what} must be a Uint8Array, an ArrayBuffer or a string`);
}

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

  /** @internal */
  constructor(wire: Wire, name: Direction) {
    this.#wire = wire;
    this.name = name;
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
    const b = bytesOf(bytes, 'bytes').slice();
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
      if (this.#ended) break; // bytes after end-of-stream cannot be fed
      const n = conn.feed(head.bytes);
      fed += n;
      if (n === head.bytes.length) {
        this.#queue.shift();
        done++;
      } else {
        // The receiver's buffer is full: the rest waits at the head until it has read.
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

  /** @internal Delivery by step(): nothing while held. */
  autoDeliver(): number {
    return this.#held ? 0 : this.deliver();
  }

  /** @internal Bytes a sender wrote: cut into records, logged, intercepted and queued. */
  accept(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.#cut) return;
    let buf = this.#partial.length ? concatBytes([this.#partial, bytes]) : bytes;
    const records: WireRecord[] = [];
    while (buf.length >= HEADER) {
      const end = HEADER + ((buf[3] << 8) | buf[4]);
      if (buf.length < end) break;
      records.push(new WireRecord(this.name, buf.slice(0, end), 'sent'));
      buf = buf.subarray(end);
    }
    this.#partial = buf.slice();
    for (const record of records) {
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

/**
 * The virtual wire between the sandbox's client and server: two {@link WireDirection}s, a
 * log of every record sent, and an intercept hook. A new pair ({@link Sandbox.connect},
 * {@link Sandbox.reconnect}) gets a new wire.
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
  constructor() {
    this.toServer = new WireDirection(this, 'toServer');
    this.toClient = new WireDirection(this, 'toClient');
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

/**
 * One end of the sandbox: its {@link TlsEngine} and context, what it has read, and its
 * trace and key-log lines. Steps never throw a {@link TlsError}: a failure is kept in
 * {@link error} (sticky, as in OpenSSL), and the alert it produced still goes on the wire.
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
   * ChangeCipherSpec are included.
   *
   * @example
   * ```ts
   * sandbox.client.trace.filter((e) => e.contentType === 'alert');
   * ```
   */
  readonly trace: TlsMessageEvent[] = [];
  /**
   * This side's SSLKEYLOGFILE lines, when the sandbox logs keys. Joined with newlines, they
   * are a key-log file Wireshark reads.
   *
   * @example
   * ```ts
   * sandbox.client.keylog.find((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 '));
   * ```
   */
  readonly keylog: string[] = [];
  readonly #conn: TlsEngine;
  readonly #ctx: SecureContext;
  readonly #out: WireDirection;
  readonly #wire: Wire;
  #status: PeerStatus = 'new';
  #error: TlsError | undefined;
  #closed = false;
  #inbox: Uint8Array[] = [];
  #writes: Uint8Array[] = [];

  /** @internal */
  constructor(side: Side, ctx: SecureContext, options: EngineOptions, wire: Wire,
              { trace, keylog }: { trace: boolean; keylog: boolean }) {
    this.side = side;
    this.#ctx = ctx;
    this.#wire = wire;
    this.#out = side === 'client' ? wire.toServer : wire.toClient;
    this.#conn = ctx.createEngine({
      ...options,
      ...(trace ? { onmessage: (e: TlsMessageEvent) => { this.trace.push(e); } } : {}),
      ...(keylog ? { onkeylog: (line: string) => { this.keylog.push(line); } } : {}),
    });
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
   * The context this side's connection was made from.
   *
   * @example
   * ```ts
   * sandbox.server.context.isServer;  // true
   * ```
   */
  get context(): SecureContext {
    return this.#ctx;
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
    const bytes = bytesOf(data, 'data').slice();
    if (bytes.length === 0) return;
    this.#writes.push(bytes);
    if (this.handshakeDone) {
      this.#guard(() => this.#flushWrites());
      this.#send();
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
      this.#send();
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
    this.#send();
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
    this.#send();
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
        if (!this.#send()) return;
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
        if (!this.#send()) return;
        continue;
      }
      this.#inbox.push(r);
      this.#wire.progress();
    }
  }

  /** Moves this side's output onto the wire. True when there was some. */
  #send(): boolean {
    if (!this.#conn.alive) return false;
    const out = this.#conn.takeOutput();
    if (out.length === 0) return false;
    this.#out.accept(out);
    this.#wire.progress();
    return true;
  }

  /** @internal */
  free(): void {
    this.#conn.free();
  }
}

/**
 * How a sandbox run failed: which side failed (`side`), with the failing side's
 * {@link TlsError} as `cause` and its fields copied (`code`, `reason`, `verifyError`,
 * `alertSent`, ...); or, with code `ERR_SANDBOX_STALLED` and no side, a run that went quiet
 * before both handshakes completed (a record was held or dropped).
 *
 * @example
 * ```ts
 * try { sandbox.handshake(); } catch (e) {
 *   if (e instanceof SandboxError) console.log(e.side, e.code);  // 'client' 'CERT_HAS_EXPIRED'
 * }
 * ```
 */
export class SandboxError extends TlsError {
  /**
   * The side that failed first; undefined when the run stalled.
   *
   * @example
   * ```ts
   * try { sandbox.handshake(); } catch (e) { if (e.side === 'server') console.log(sandbox.server.error); }
   * ```
   */
  readonly side: Side | undefined;

  /** @internal */
  constructor(message: string, side: Side | undefined, details: TlsErrorDetails) {
    super(message, details);
    Object.defineProperty(this, 'name', { value: 'SandboxError', enumerable: false, configurable: true, writable: false });
    this.side = side;
  }
}

/**
 * The sandbox's clock, in ms since the epoch. It is the only clock the sandbox's OpenSSL
 * sees (certificate validity, ticket ages), and it moves only when the test moves it.
 *
 * @example
 * ```ts
 * sandbox.clock.advance(11 * 86_400_000);   // 11 days later
 * sandbox.clock.set(Date.UTC(2031, 0, 1));
 * ```
 */
export class SandboxClock {
  #ms: number;

  /** @internal */
  constructor(start: number) {
    this.#ms = start;
  }

  /**
   * The current virtual time in ms since the epoch. Bound, so it can be passed as a function.
   *
   * @example
   * ```ts
   * new Date(sandbox.clock.now()).toISOString();
   * ```
   */
  readonly now = (): number => this.#ms;

  /**
   * Sets the time.
   *
   * @example
   * ```ts
   * sandbox.clock.set(new Date('2031-01-01T00:00:00Z'));
   * ```
   */
  set(time: number | Date): this {
    const ms = +time;
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock takes a time in ms since the epoch');
    this.#ms = ms;
    return this;
  }

  /**
   * Moves the time forward by `ms` (or back, when negative).
   *
   * @example
   * ```ts
   * sandbox.clock.advance(60_000);  // a minute later
   * ```
   */
  advance(ms: number): this {
    if (!Number.isFinite(ms)) throw new RangeError('advance takes a number of ms');
    return this.set(this.#ms + ms);
  }
}

interface Contexts { client: SecureContext; server: SecureContext }
interface Pair { wire: Wire; client: SandboxPeer; server: SandboxPeer }

const CONN_KEYS = ['servername', 'host', 'checkHost', 'session', 'bufferSize', 'verifyTime'] as const;

function splitOptions(o: SandboxSideOptions): [SecureContextOptions, SandboxEngineOptions] {
  const ctx: Record<string, unknown> = { ...o };
  const conn: Record<string, unknown> = {};
  for (const k of CONN_KEYS) {
    if (k in ctx) {
      if (ctx[k] !== undefined) conn[k] = ctx[k];
      delete ctx[k];
    }
  }
  if ('isServer' in ctx) throw new TypeError('isServer is not a sandbox option: the sandbox has one client and one server');
  return [ctx as SecureContextOptions, conn as SandboxEngineOptions];
}

/**
 * A client and a server in one private OpenSSL instance, joined by a {@link Wire}, on a
 * {@link SandboxClock}, moved forward only by the test. For tests only.
 *
 * @example
 * ```ts
 * const sandbox = await Sandbox.create({
 *   server: { cert: chainPem, key: keyPem },
 *   client: { ca: rootPem, servername: 'localhost' },
 * });
 * sandbox.handshake();
 * sandbox.client.write('hello');
 * sandbox.run();
 * sandbox.server.read();  // 'hello'
 * sandbox.free();
 * ```
 */
export class Sandbox {
  /**
   * The sandbox's own OpenSSL instance: its clock and entropy affect nothing else.
   *
   * @example
   * ```ts
   * const extra = sandbox.openssl.createSecureContext({ ca: rootPem });
   * ```
   */
  readonly openssl: OpenSSL;
  /**
   * The virtual clock.
   *
   * @example
   * ```ts
   * sandbox.clock.advance(86_400_000);
   * ```
   */
  readonly clock: SandboxClock;
  readonly #trace: boolean;
  readonly #keylog: boolean;
  readonly #pki: TestPki;
  #contexts: Contexts | undefined;
  #clientConn: SandboxEngineOptions = {};
  #serverConn: SandboxEngineOptions = {};
  #pair: Pair | undefined;

  private constructor(openssl: OpenSSL, pki: TestPki, clock: SandboxClock, options: SandboxOptions) {
    this.openssl = openssl;
    this.#pki = pki;
    this.clock = clock;
    this.#trace = options.trace === true;
    this.#keylog = options.keylog === true;
  }

  /**
   * Loads a private OpenSSL instance on a virtual clock (and seeded entropy with `seed`),
   * and, given `client` and `server`, connects them (see {@link connect}).
   *
   * @example
   * ```ts
   * const sandbox = await Sandbox.create({ clock: Date.UTC(2030, 0, 1), seed: 'abc', trace: true });
   * ```
   */
  static async create(options: SandboxOptions = {}): Promise<Sandbox> {
    const start = options.clock === undefined ? Date.now() : +options.clock;
    const clock = new SandboxClock(0).set(start);
    if ((options.client === undefined) !== (options.server === undefined)) {
      throw new TypeError('give both client and server options, or neither (and call connect() later)');
    }
    const openssl = await OpenSSL.load({
      now: clock.now,
      ...(options.seed !== undefined ? { entropy: { testOnlySeed: options.seed } } : {}),
      ...(options.wasm !== undefined ? { wasm: options.wasm } : {}),
      ...(options.flavor !== undefined ? { flavor: options.flavor } : {}),
    });
    // The PKI lives in an instance of the testing module, on the same clock and (with a seed)
    // seeded from it, so its keys are as reproducible as the connections.
    const pki = await TestPki.load({
      now: clock.now,
      ...(options.seed !== undefined ? { entropy: { testOnlySeed: `${options.seed}/pki` } } : {}),
    });
    const sandbox = new Sandbox(openssl, pki, clock, options);
    if (options.client && options.server) sandbox.connect({ client: options.client, server: options.server });
    return sandbox;
  }

  /**
   * A {@link TestPki} whose default validity window follows the virtual clock (and, with a
   * seed, whose keys are reproducible).
   *
   * @example
   * ```ts
   * const root = sandbox.pki.root({ subject: 'Root', key: 'ed25519' });
   * const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'], notAfter: sandbox.clock.now() + 10 * 86_400_000 });
   * ```
   */
  get pki(): TestPki {
    return this.#pki;
  }

  /**
   * Makes new client and server contexts and a new connected pair on a new wire, freeing
   * the previous pair. Throws (TypeError or TlsError) for bad options, as
   * `createSecureContext` and `createEngine` do.
   *
   * @example
   * ```ts
   * sandbox.connect({
   *   server: { cert: leaf.certPem, key: leaf.keyPem },     // no intermediate: a bad chain
   *   client: { ca: root.certPem, servername: 'localhost' },
   * });
   * ```
   */
  connect(options: { client: SandboxSideOptions; server: SandboxSideOptions }): void {
    if (!options || typeof options !== 'object' || !options.client || !options.server) {
      throw new TypeError('connect needs { client, server } options');
    }
    const [cctx, cconn] = splitOptions(options.client);
    const [sctx, sconn] = splitOptions(options.server);
    if (sconn.servername !== undefined || sconn.host !== undefined || sconn.session !== undefined) {
      throw new TypeError('servername, host and session are client options');
    }
    const contexts: Contexts = { server: this.openssl.createSecureContext({ ...sctx, isServer: true }) } as Contexts;
    let pair: Pair;
    try {
      contexts.client = this.openssl.createSecureContext(cctx);
      pair = this.#makePair(contexts, cconn, sconn);
    } catch (e) {
      contexts.client?.free();
      contexts.server.free();
      throw e;
    }
    this.#freePair();
    this.#contexts?.client.free();
    this.#contexts?.server.free();
    this.#contexts = contexts;
    this.#clientConn = cconn;
    this.#serverConn = sconn;
    this.#pair = pair;
  }

  /**
   * A new client and server connection on the same contexts (so a session from the last
   * pair can resume: the server keeps its ticket key) and a new wire, trace and key log.
   * `client` overrides the client's connection options; `session` is never carried over.
   *
   * @example
   * ```ts
   * sandbox.handshake();
   * const session = sandbox.client.engine.getSession();
   * sandbox.reconnect({ session });
   * sandbox.handshake();
   * sandbox.client.engine.negotiated().sessionReused;  // true
   * ```
   */
  reconnect(client: SandboxEngineOptions = {}): void {
    if (!this.#contexts) throw new TypeError('nothing to reconnect: call connect() first');
    const { session: _old, ...inherited } = this.#clientConn;
    const pair = this.#makePair(this.#contexts, { ...inherited, ...client }, this.#serverConn);
    this.#freePair();
    this.#pair = pair;
  }

  #makePair(ctxs: Contexts, clientConn: SandboxEngineOptions, serverConn: SandboxEngineOptions): Pair {
    const wire = new Wire();
    const events = { trace: this.#trace, keylog: this.#keylog };
    const client = new SandboxPeer('client', ctxs.client, clientConn, wire, events);
    let server: SandboxPeer;
    try {
      server = new SandboxPeer('server', ctxs.server, serverConn, wire, events);
    } catch (e) {
      client.free();
      throw e;
    }
    wire.toServer.attach(server);
    wire.toClient.attach(client);
    return { wire, client, server };
  }

  #freePair(): void {
    this.#pair?.client.free();
    this.#pair?.server.free();
    this.#pair = undefined;
  }

  get #current(): Pair {
    if (!this.#pair) throw new TypeError('the sandbox has no connection yet: call connect({ client, server })');
    return this.#pair;
  }

  /**
   * The client.
   *
   * @example
   * ```ts
   * sandbox.client.write('hi');
   * ```
   */
  get client(): SandboxPeer {
    return this.#current.client;
  }

  /**
   * The server.
   *
   * @example
   * ```ts
   * sandbox.server.read();
   * ```
   */
  get server(): SandboxPeer {
    return this.#current.server;
  }

  /**
   * The wire between them.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.hold();
   * ```
   */
  get wire(): Wire {
    return this.#current.wire;
  }

  /**
   * Each side's traced protocol messages (with `trace: true`; empty otherwise).
   *
   * @example
   * ```ts
   * sandbox.trace.client.filter((e) => e.contentType === 'handshake').map((e) => `${e.direction} ${e.message}`);
   * ```
   */
  get trace(): { readonly client: TlsMessageEvent[]; readonly server: TlsMessageEvent[] } {
    const { client, server } = this.#current;
    return { client: client.trace, server: server.trace };
  }

  /**
   * Each side's SSLKEYLOGFILE lines (with `keylog: true`; empty otherwise).
   *
   * @example
   * ```ts
   * const file = sandbox.keylog.client.join('\n') + '\n';   // for Wireshark
   * ```
   */
  get keylog(): { readonly client: string[]; readonly server: string[] } {
    const { client, server } = this.#current;
    return { client: client.keylog, server: server.keylog };
  }

  /**
   * One round: the client steps, the wire delivers to the server (unless held), the server
   * steps, the wire delivers to the client. Returns true when anything happened.
   *
   * @example
   * ```ts
   * while (sandbox.step()) {}   // what run() does
   * ```
   */
  step(): boolean {
    const { wire, client, server } = this.#current;
    const before = wire.progressCount;
    client.step();
    wire.toServer.autoDeliver();
    server.step();
    wire.toClient.autoDeliver();
    return wire.progressCount !== before;
  }

  /**
   * Steps until a round changes nothing (everything deliverable delivered and processed).
   * Returns the number of rounds that did something. Throws if it has not settled after
   * `maxRounds`.
   *
   * @example
   * ```ts
   * sandbox.client.write('ping');
   * sandbox.run();
   * ```
   */
  run(maxRounds = 10_000): number {
    for (let round = 0; round < maxRounds; round++) {
      if (!this.step()) return round;
    }
    throw new SandboxError(`the sandbox did not settle in ${maxRounds} rounds`, undefined, { code: 'ERR_SANDBOX_RUNAWAY' });
  }

  /**
   * Runs until all is quiet, so that both handshakes complete and the client has read the
   * server's session tickets. Throws a {@link SandboxError}: naming the side that failed
   * first (with its TlsError's code, e.g. `CERT_HAS_EXPIRED`), or `ERR_SANDBOX_STALLED` when
   * the run went quiet with a handshake unfinished.
   *
   * @example
   * ```ts
   * sandbox.clock.advance(11 * 86_400_000);
   * sandbox.reconnect();
   * try { sandbox.handshake(); } catch (e) { e.side; e.code; }  // 'client', 'CERT_HAS_EXPIRED'
   * ```
   */
  handshake(maxRounds = 10_000): void {
    this.run(maxRounds);
    const { client, server, wire } = this.#current;
    const first = wire.failures[0];
    if (first !== undefined) {
      const e = (first === 'client' ? client : server).error!;
      throw new SandboxError(`the ${first} failed: ${e.message}`, first, {
        code: e.code, errors: e.errors, verifyResult: e.verifyResult, verifyError: e.verifyError,
        alertSent: e.alertSent, alertReceived: e.alertReceived, cause: e,
      });
    }
    if (!client.handshakeDone || !server.handshakeDone) {
      throw new SandboxError(
        `the handshake stalled: the client is ${client.status}, the server ${server.status} ` +
        `(pending: ${this.wire.toServer.pending().length} to the server, ${this.wire.toClient.pending().length} to the client)`,
        undefined, { code: 'ERR_SANDBOX_STALLED' });
    }
  }

  /**
   * Frees the connections, contexts and test PKI. Calling it again does nothing.
   *
   * @example
   * ```ts
   * using sandbox = await Sandbox.create({ ... });   // or sandbox.free() when done
   * ```
   */
  free(): void {
    this.#freePair();
    this.#contexts?.client.free();
    this.#contexts?.server.free();
    this.#contexts = undefined;
    this.#pki.free();
  }

  /**
   * The same as {@link free}, for `using`.
   *
   * @example
   * ```ts
   * { using sandbox = await Sandbox.create(); }
   * ```
   */
  [Symbol.dispose](): void {
    this.free();
  }
}
