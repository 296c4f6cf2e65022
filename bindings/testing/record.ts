/**
 * Record parsing for the testing wire: a sender's bytes cut into TLS records (content type,
 * version, length, bytes), and {@link WireRecord}, one entry on the wire.
 * @module
 */
import { concatBytes } from '../memory.js';

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


/**
 * Cuts `bytes`, after what was left over from the sender's last write (`rest`), into whole
 * records by their headers; what does not yet make a whole record comes back as the new `rest`.
 * Senders write whole records, so `rest` is normally empty.
 *
 * @example
 * ```ts
 * const { records, rest } = splitRecords(new Uint8Array(0), conn.takeOutput());
 * ```
 */
export function splitRecords(rest: Uint8Array, bytes: Uint8Array): { records: Uint8Array[]; rest: Uint8Array } {
  let buf = rest.length ? concatBytes([rest, bytes]) : bytes;
  const records: Uint8Array[] = [];
  while (buf.length >= HEADER) {
    const end = HEADER + ((buf[3] << 8) | buf[4]);
    if (buf.length < end) break;
    records.push(buf.slice(0, end));
    buf = buf.subarray(end);
  }
  return { records, rest: buf.slice() };
}
