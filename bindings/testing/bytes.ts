/**
 * Byte helpers the testing tools share: joining chunks, and taking text or bytes from a test.
 * @internal
 * @module
 */

/** The chunks, one after another, in one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let i = 0;
  for (const b of parts) {
    out.set(b, i);
    i += b.length;
  }
  return out;
}

/** UTF-8 for a string, the bytes themselves otherwise; `what` names the argument in the TypeError. */
export function bytesOf(data: Uint8Array | ArrayBuffer | string, what: string): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`${what} must be a Uint8Array, an ArrayBuffer or a string`);
}
