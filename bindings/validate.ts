/**
 * Option checks with node's error codes and messages, so that code which branches on
 * `err.code` (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE) works the same.
 * Every check runs before anything native is allocated: a bad option leaks nothing.
 * Private to the package.
 * @module
 */

/** How node describes a received value: "type number (5)", "an instance of Object", "null". */
function received(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`;
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `Received an instance of ${name}` : 'Received [object Object]';
  }
  let shown = typeof value === 'string' ? `'${value}'` : String(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `Received type ${typeof value} (${shown})`;
}

/** node's ERR_INVALID_ARG_TYPE: `The "options.x" property must be <expected>. Received ...`. */
export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return Object.assign(new TypeError(`The "${name}" property must be ${expected}. ${received(value)}`),
    { code: 'ERR_INVALID_ARG_TYPE' });
}

/** node's ERR_INVALID_ARG_VALUE: `The property 'options.x' <why>. Received ...`. */
export function invalidValue(name: string, why: string, value: unknown): TypeError {
  return Object.assign(new TypeError(`The property '${name}' ${why}. ${received(value)}`),
    { code: 'ERR_INVALID_ARG_VALUE' });
}

/** node's ERR_OUT_OF_RANGE. */
export function outOfRange(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

/** A string option, if given. */
export function checkString(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') throw invalidType(name, 'of type string', value);
}

/** A boolean option, if given. */
export function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') throw invalidType(name, 'of type boolean', value);
}

/** A function option, if given. */
export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw invalidType(name, 'of type function', value);
}

/** An integer option in [min, max], if given (node's message). */
export function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(`The value of "${name}" is out of range. It must be >= ${min} && <= ${max}. Received ${value}`);
  }
}

const BYTES = 'of type string or an instance of Buffer, TypedArray, or DataView';

/** PEM text or DER bytes, or an array of them (`ca`, `cert`), each checked as node does. */
export function checkPemOrDer(name: string, value: unknown, { array = true } = {}): void {
  if (value === undefined) return;
  for (const v of array && Array.isArray(value) ? value : [value]) {
    if (typeof v !== 'string' && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer)) throw invalidType(name, BYTES, v);
  }
}

/**
 * A DNS name or IP address (`servername`, `host`): a string of 1 to 255 bytes without NUL, as
 * RFC 6066's server_name and OpenSSL take it.
 */
export function checkHostName(name: string, value: unknown): void {
  if (value === undefined) return;
  checkString(name, value);
  const s = value as string;
  if (s.length === 0) throw invalidValue(name, 'must not be empty', s);
  if (s.includes('\0')) throw invalidValue(name, 'must not contain NUL characters', s);
  const bytes = new TextEncoder().encode(s).length;
  if (bytes > 255) throw outOfRange(`The byte length of "${name}" exceeds the maximum length. It must be <= 255. Received ${bytes}`);
}

/**
 * The most bytes of ALPN protocol list (wire format) accepted. The list travels in the
 * ClientHello's extensions, whose total is bounded by a 16-bit length that the key shares
 * (over 1 KB with X25519MLKEM768) also use; a longer list would fail every handshake with an
 * internal error, so it is refused up front.
 */
export const MAX_ALPN_WIRE = 32768;

/** ALPN wire format from node's forms: an array of names (strings or bytes), or the wire itself. */
export function toAlpnWire(name: string, protocols: unknown): Uint8Array {
  let wire: Uint8Array;
  if (Array.isArray(protocols)) {
    const parts = protocols.map((p, i) => {
      const b = typeof p === 'string' ? new TextEncoder().encode(p)
        : ArrayBuffer.isView(p) ? new Uint8Array(p.buffer, p.byteOffset, p.byteLength)
        : undefined;
      if (b === undefined) throw invalidType(`${name}[${i}]`, BYTES, p);
      if (b.length === 0) throw invalidValue(`${name}[${i}]`, 'must not be empty (a protocol name is 1 to 255 bytes)', p);
      if (b.length > 255) {
        throw outOfRange(`The byte length of the protocol at index ${i} exceeds the maximum length. It must be <= 255. Received ${b.length}`);
      }
      return b;
    });
    wire = new Uint8Array(parts.reduce((n, b) => n + 1 + b.length, 0));
    let i = 0;
    for (const b of parts) {
      wire[i++] = b.length;
      wire.set(b, i);
      i += b.length;
    }
  } else if (ArrayBuffer.isView(protocols)) {
    wire = new Uint8Array(protocols.buffer, protocols.byteOffset, protocols.byteLength);
    for (let i = 0; i < wire.length; i += 1 + wire[i]) {
      if (wire[i] === 0 || i + 1 + wire[i] > wire.length) {
        throw invalidValue(name, 'must be a list of length-prefixed protocol names (ALPN wire format)', protocols);
      }
    }
  } else {
    throw invalidType(name, 'an instance of Array, Buffer, TypedArray, or DataView', protocols);
  }
  if (wire.length === 0) throw invalidValue(name, 'must name at least one protocol', protocols);
  if (wire.length > MAX_ALPN_WIRE) {
    throw outOfRange(`The byte length of "${name}" exceeds the maximum length. It must be <= ${MAX_ALPN_WIRE}. Received ${wire.length}`);
  }
  return wire;
}
