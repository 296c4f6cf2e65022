/**
 * A small synchronous inflater for raw DEFLATE data (RFC 1951), after Mark Adler's puff: it
 * unpacks the bundled root certificates, which are stored deflated. The platforms' own
 * DecompressionStream is asynchronous, and `rootCertificates` is a plain array as in node:tls.
 * Private to the package.
 * @module
 */

const MAX_BITS = 15;
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
  4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A canonical Huffman code as a lookup table: indexed by the next `bits` bits of the stream
 * (least significant first, as DEFLATE packs them), each entry is `symbol << 4 | length`.
 */
interface Huffman {
  readonly table: Uint32Array;
  readonly bits: number;
}

function huffman(lengths: ArrayLike<number>): Huffman {
  const counts = new Uint16Array(MAX_BITS + 1);
  let bits = 1;
  for (let i = 0; i < lengths.length; i++) {
    counts[lengths[i]]++;
    if (lengths[i] > bits) bits = lengths[i];
  }
  counts[0] = 0;
  const next = new Uint16Array(MAX_BITS + 2);
  for (let len = 1, code = 0; len <= MAX_BITS; len++) {
    code = (code + counts[len - 1]) << 1;
    next[len] = code;
  }
  const table = new Uint32Array(1 << bits);
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym];
    if (len === 0) continue;
    let code = next[len]++;
    let reversed = 0;
    for (let i = 0; i < len; i++, code >>= 1) reversed = (reversed << 1) | (code & 1);
    for (let i = reversed; i < table.length; i += 1 << len) table[i] = (sym << 4) | len;
  }
  return { table, bits };
}

const FIXED_LITERALS = huffman(Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)));
const FIXED_DISTANCES = huffman(new Array<number>(30).fill(5));

/** Inflates raw DEFLATE `input`; `expected`, if known, is the output's size. Throws on bad data. */
export function inflateRaw(input: Uint8Array, expected = input.length * 3): Uint8Array {
  let out = new Uint8Array(Math.max(expected, 1024));
  let n = 0;
  let pos = 0;
  let buf = 0;
  let count = 0;
  const fail = (why: string): never => { throw new Error(`bad deflate data: ${why}`); };
  const bits = (need: number): number => {
    while (count < need) {
      if (pos >= input.length) fail('it ends early');
      buf |= input[pos++] << count;
      count += 8;
    }
    const v = buf & ((1 << need) - 1);
    buf >>>= need;
    count -= need;
    return v;
  };
  const room = (more: number) => {
    if (n + more <= out.length) return;
    const grown = new Uint8Array(Math.max(out.length * 2, n + more));
    grown.set(out.subarray(0, n));
    out = grown;
  };
  const decode = (h: Huffman): number => {
    while (count < h.bits && pos < input.length) {
      buf |= input[pos++] << count;
      count += 8;
    }
    const entry = h.table[buf & ((1 << h.bits) - 1)];
    const len = entry & 15;
    if (len === 0 || len > count) fail('no such code');
    buf >>>= len;
    count -= len;
    return entry >>> 4;
  };
  const codes = (literals: Huffman, distances: Huffman) => {
    for (;;) {
      const sym = decode(literals);
      if (sym < 256) {
        room(1);
        out[n++] = sym;
      } else if (sym === 256) {
        return;
      } else {
        const i = sym - 257;
        if (i >= 29) fail('bad length code');
        const length = LENGTH_BASE[i] + bits(LENGTH_EXTRA[i]);
        const d = decode(distances);
        if (d >= 30) fail('bad distance code');
        const distance = DIST_BASE[d] + bits(DIST_EXTRA[d]);
        if (distance > n) fail('a distance before the start');
        room(length);
        for (let k = 0; k < length; k++, n++) out[n] = out[n - distance];
      }
    }
  };
  let last = 0;
  while (!last) {
    last = bits(1);
    const type = bits(2);
    if (type === 0) {
      buf = 0;
      count = 0;
      if (pos + 4 > input.length) fail('it ends early');
      const len = input[pos] | (input[pos + 1] << 8);
      if ((len ^ 0xffff) !== (input[pos + 2] | (input[pos + 3] << 8))) fail('stored length check');
      pos += 4;
      if (pos + len > input.length) fail('it ends early');
      room(len);
      out.set(input.subarray(pos, pos + len), n);
      n += len;
      pos += len;
    } else if (type === 1) {
      codes(FIXED_LITERALS, FIXED_DISTANCES);
    } else if (type === 2) {
      const nlen = bits(5) + 257;
      const ndist = bits(5) + 1;
      const ncode = bits(4) + 4;
      const lengths = new Uint8Array(19);
      for (let i = 0; i < ncode; i++) lengths[CODE_LENGTH_ORDER[i]] = bits(3);
      const lencode = huffman(lengths);
      const all = new Uint8Array(nlen + ndist);
      for (let i = 0; i < nlen + ndist;) {
        const sym = decode(lencode);
        if (sym < 16) {
          all[i++] = sym;
          continue;
        }
        const prev = sym === 16 ? (i > 0 ? all[i - 1] : fail('a repeat with nothing before it')) : 0;
        const times = sym === 16 ? 3 + bits(2) : sym === 17 ? 3 + bits(3) : 11 + bits(7);
        if (i + times > nlen + ndist) fail('too many lengths');
        all.fill(prev, i, i + times);
        i += times;
      }
      codes(huffman(all.subarray(0, nlen)), huffman(all.subarray(nlen)));
    } else {
      fail('block type 3');
    }
  }
  return out.subarray(0, n);
}
