// Record-layer fuzzing: mutated and random records at every flight of TLS 1.2 and 1.3, reaching
// the client and the server, in either flavor. Shared by test/fuzz.test.js (a bounded run in
// make test) and scripts/fuzz.mjs (long runs and replays).
//
// A run is a seed and a number of cases, cut into batches. Each batch loads its own testing
// instance of one flavor, on a fixed clock and with entropy seeded from (seed, flavor, batch),
// so everything in it, keys and record bytes included, is a function of the seed: a case is
// replayed exactly by running its batch again up to it. Case `i` belongs to batch
// floor(i / batchSize); the batches take the flavors in turn.
//
// A case drives a client and a server on a Link with both directions of the wire held: a side
// steps, its new records are sorted into flights, and the case's target flight (for example
// the server's encrypted flight of a TLS 1.3 handshake) gets its mutations before delivery.
// The conversation is a handshake, application data each way, and close_notify each way. For
// every case the checks are: nothing thrown but a TlsError (a WebAssembly.RuntimeError is a
// trap); every failure a side records is a TlsError with a code; no application data read
// that the other side did not send (no silent corruption); the run settles; the engines free;
// and a clean handshake, data exchange and close in the same instance still succeed. For every
// batch: once its connections and contexts are freed, openssl.heapUsed() is back within
// HEAP_TOLERANCE bytes of its baseline.
import { TlsError } from '../dist/index.js';
import { Link, loadTestingOpenSSL } from '../dist/testing/index.js';
import { bytes, concat, pem } from './helpers.js';

export const VERSIONS = ['TLSv1.2', 'TLSv1.3'];
export const FLAVORS = ['small', 'full'];

/**
 * The flights a case can target, in the order they cross the wire. The names are the same for
 * both versions; what each holds:
 * - client-hello: the ClientHello.
 * - server-hello: 1.3: ServerHello and the compatibility ChangeCipherSpec; 1.2: ServerHello,
 *   Certificate, ServerKeyExchange, (CertificateRequest,) ServerHelloDone.
 * - server-encrypted: the server's encrypted flight. 1.3: EncryptedExtensions, (CertificateRequest,)
 *   Certificate, CertificateVerify, Finished; 1.2: ChangeCipherSpec and Finished.
 * - client-finished: the client's second flight: (Certificate, ClientKeyExchange,
 *   CertificateVerify,) ChangeCipherSpec, Finished.
 * - tickets: NewSessionTicket (1.3: after the handshake, encrypted; 1.2: before the server's
 *   ChangeCipherSpec).
 * - app-data>server, app-data>client: one application-data record each way.
 * - close-notify>server, close-notify>client: each side's close_notify.
 */
export const FLIGHTS = [
  'client-hello', 'server-hello', 'server-encrypted', 'client-finished', 'tickets',
  'app-data>server', 'app-data>client', 'close-notify>server', 'close-notify>client',
];

/**
 * What a case does to its flight. Record operations pick one record of the flight; flight
 * operations act on the whole flight. 'fragment' and 'coalesce' are TCP-style re-cutting, which
 * is legal: a case with only those must end in a clean, complete conversation.
 */
export const OPS = [
  'bitflip',            // 1 to 4 bits flipped anywhere in a record, header included
  'byte',               // 1 to 4 bytes replaced with random values
  'interesting',        // an interesting 8- or 16-bit value (0, 0xff, 0x7fff, 0x4000...) written somewhere
  'truncate',           // a record cut short; what follows is misframed
  'truncate-eof',       // a record cut short, then the transport ends
  'record-length',      // the record header's length field lies
  'handshake-length',   // a plaintext handshake message's 24-bit length lies (or a 16-bit length inside it)
  'random-body',        // the fragment replaced with random bytes of the same length
  'drop',               // a record lost
  'duplicate',          // a record delivered twice
  'reorder',            // a record moved within the flight
  'oversize',           // a record longer than TLS allows (2^14 + 256 and beyond), with its whole body
  'inject-random',      // a random record (random type, version, length, body) put into the flight
  'inject-interesting', // a crafted record: alerts, empty records, odd ChangeCipherSpec, HelloRequest, KeyUpdate, heartbeat, SSLv2 header...
  'random-records',     // the whole flight replaced with 1 to 4 purely random records
  'random-stream',      // the whole flight replaced with random bytes, not framed as records
  'cut',                // the transport ends partway through the flight
  'fragment',           // a record split into pieces fed separately (legal)
  'coalesce',           // the flight fed in one piece (legal)
];
const BENIGN = new Set(['fragment', 'coalesce']);

/**
 * The connection profiles: version, suites, the server's key, and the client's context options.
 * Cases pick among them, and may add client certificates ('mutual') or resume a session.
 */
export const PROFILES = [
  { name: 'tls13-aes128gcm', version: 'TLSv1.3', key: 'ecdsa', client: { ciphersuites: 'TLS_AES_128_GCM_SHA256' } },
  { name: 'tls13-chacha20', version: 'TLSv1.3', key: 'ecdsa', client: { ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256' } },
  { name: 'tls13-aes256gcm-rsa', version: 'TLSv1.3', key: 'rsa', client: { ciphersuites: 'TLS_AES_256_GCM_SHA384', ecdhCurve: 'X25519' } },
  { name: 'tls12-ecdsa-aesgcm', version: 'TLSv1.2', key: 'ecdsa', client: { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' } },
  { name: 'tls12-ecdsa-chacha20', version: 'TLSv1.2', key: 'ecdsa', client: { ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' } },
  { name: 'tls12-rsa-cbc', version: 'TLSv1.2', key: 'rsa', client: { ciphers: 'ECDHE-RSA-AES128-SHA256', ecdhCurve: 'P-256' } },
  { name: 'tls12-rsa-kx-cbc', version: 'TLSv1.2', key: 'rsa', client: { ciphers: 'AES128-SHA' } },
];

/**
 * How far openssl.heapUsed() may be above its baseline once a batch has freed everything it
 * made. OpenSSL keeps, per thread, a queue of 16 error slots, and a slot keeps the text buffer
 * of the last error raised in it (ERR_clear_error empties it but does not free it; each buffer
 * is shrunk to its text, a few dozen bytes). Which slots hold a buffer, and how big, depends on
 * the failures the batch happened to go through, so the heap ends a batch a little above or
 * below where it began: from -192 to +208 bytes over 1,200 batches of 100 cases. 1 KiB is five
 * times the most seen. A leaked connection is about 20 KiB, and a leak of 16 bytes per case
 * overflows this within a batch of 72 (make test's batch in Node).
 */
export const HEAP_TOLERANCE = 1024;

/** The clock every fuzz instance sees (the fixtures are valid from 2020 to 2120). */
const CLOCK = Date.UTC(2030, 0, 1);

/** Rounds a phase may take before the run counts as runaway. A handshake takes fewer than 10. */
const MAX_ROUNDS = 2000;

// ---------------------------------------------------------------------------------------------
// Seeded randomness (sfc32 over a string hash): the same seed and parts give the same stream in
// every runtime.

/** A deterministic random stream from any number of parts (strings or numbers). */
export function rng(...parts) {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  const key = parts.map(String).join('\u0000');
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  let a = (h1 ^ h2 ^ h3 ^ h4) >>> 0, b = (h2 ^ h1) >>> 0, c = (h3 ^ h1) >>> 0, d = (h4 ^ h1) >>> 0;
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  const r = {
    u32,
    /** An integer in [0, n). */
    int: (n) => (n <= 1 ? 0 : Math.floor((u32() / 4294967296) * n)),
    /** An integer in [lo, hi]. */
    range: (lo, hi) => lo + r.int(hi - lo + 1),
    chance: (p) => u32() / 4294967296 < p,
    pick: (list) => list[r.int(list.length)],
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = u32() & 0xff;
      return out;
    },
  };
  return r;
}

// ---------------------------------------------------------------------------------------------
// Cases

/**
 * What case `index` of a run does, from the seed alone: the version, the flight and the first
 * mutation cycle through every value in turn, so that 18 consecutive cases of a flavor cover
 * every flight of both versions and 19 every kind of mutation; the profile, any further
 * mutations and every detail are random.
 */
export function planCase(seed, index, { versions = VERSIONS, flights = FLIGHTS, ops = OPS } = {}) {
  const r = rng(seed, 'case', index);
  const version = versions[index % versions.length];
  const flight = flights[Math.floor(index / versions.length) % flights.length];
  const profiles = PROFILES.filter((p) => p.version === version);
  const profile = r.pick(profiles);
  const mutual = r.chance(0.25);
  // A resumed TLS 1.2 handshake has no NewSessionTicket (OpenSSL renews no ticket), so the
  // tickets flight of 1.2 is always that of a full handshake.
  const resumed = r.chance(0.25) && !(version === 'TLSv1.2' && flight === 'tickets');
  // One mutation most of the time; sometimes a pile of them (havoc). The first cycles through
  // every kind (the cycle is one longer than the flights', so the pairs change every round).
  const count = r.chance(0.75) ? 1 : r.range(2, 4);
  const kinds = [ops[index % ops.length], ...Array.from({ length: count - 1 }, () => r.pick(ops))];
  return { index, version, flight, profile, mutual, resumed, kinds, random: r };
}

/** The batch case `index` belongs to, and that batch's flavor. */
export function batchOf(index, { batchSize, flavors = FLAVORS }) {
  const batch = Math.floor(index / batchSize);
  return { batch, flavor: flavors[batch % flavors.length], first: batch * batchSize };
}

/** A one-line description of a case (and how it went). */
export function describeCase(c) {
  const extras = [c.mutual && 'mutual', c.resumed && 'resumed'].filter(Boolean).join(' ');
  return `case ${c.index}: ${c.flavor} ${c.profile.name}${extras ? ` ${extras}` : ''} flight=${c.flight} ` +
    `ops=[${(c.applied ?? c.kinds).join('; ')}]`;
}

// ---------------------------------------------------------------------------------------------
// Mutations

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x3fff, 0x4000, 0x4001, 0x40ff, 0x4100, 0x4101, 0x7fff, 0x8000, 0xfffe, 0xffff];
const RECORD_LENGTHS = (len) => [0, 1, len - 1, len + 1, 2 * len, 0x4000, 0x4001, 0x4100, 0x4101, 0x4800, 0x4801, 0x7fff, 0x8000, 0xffff];
const OVERSIZE = [0x4001, 0x4100, 0x4101, 0x4800, 0x4801, 0x5000, 0xffff];
const TYPES = [20, 21, 22, 23, 24];
const LEGACY_VERSIONS = [0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfeff, 0x0000, 0xffff];

const record = (type, version, body) => {
  const out = new Uint8Array(5 + body.length);
  out[0] = type; out[1] = version >> 8; out[2] = version & 0xff;
  out[3] = (body.length >> 8) & 0xff; out[4] = body.length & 0xff;
  out.set(body, 5);
  return out;
};

function randomRecord(r) {
  const type = r.chance(0.85) ? r.pick(TYPES) : r.int(256);
  const version = r.chance(0.8) ? r.pick(LEGACY_VERSIONS) : r.u32() & 0xffff;
  const roll = r.u32() / 4294967296;
  const len = roll < 0.7 ? r.int(65) : roll < 0.95 ? r.int(2049) : r.int(0x4000 + 512);
  return record(type, version, r.bytes(len));
}

/** Crafted records that a parser must refuse or handle: each a function of the version field. */
const CRAFTED = [
  (r, v) => record(21, v, [r.pick([1, 2, 0, 3, 255]), r.pick([0, 10, 20, 21, 40, 42, 47, 50, 51, 70, 80, 86, 90, 100, 109, 110, 112, 115, 116, 255])]),
  (r, v) => record(21, v, r.bytes(r.pick([0, 1, 3, 4]))),              // alerts of the wrong size
  (r, v) => record(r.pick(TYPES), v, []),                                // empty records
  (r, v) => record(20, v, [r.pick([1, 0, 2, 255])]),                     // ChangeCipherSpec
  (r, v) => record(20, v, r.bytes(r.pick([0, 2, 3]))),                   // ChangeCipherSpec of the wrong size
  (r, v) => record(22, v, [0, 0, 0, 0]),                                 // HelloRequest
  (r, v) => record(22, v, [24, 0, 0, 1, r.pick([0, 1, 2, 255])]),        // KeyUpdate (in plaintext)
  (r, v) => record(22, v, [r.int(256), 0, 0, 0]),                        // any handshake message, empty
  (r, v) => record(22, v, [r.int(256), 0xff, 0xff, 0xff, ...r.bytes(r.int(16))]), // a message that claims 16 MiB
  (r, v) => record(22, v, [r.int(256), 0, 0x40, 0x01, ...r.bytes(r.int(64))]),    // one that claims 16 KiB + 1
  (r, v) => record(22, v, [r.int(256)]),                                 // a message header cut short
  (r, v) => record(24, v, [1, 0x40, 0x00, ...r.bytes(16)]),              // heartbeat request claiming 16 KiB (Heartbleed)
  (r, v) => record(23, v, r.bytes(r.pick([1, 16, 17, 31, 32, 255, 256]))), // short "encrypted" records
  (r) => Uint8Array.from([0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, ...r.bytes(0x2e - 9)]), // an SSLv2 ClientHello
  (r) => Uint8Array.from([0x16, 0x03]),                                  // a record header cut short
  (r, v) => record(r.int(256), v, r.bytes(r.int(32))),                   // unknown content type
];

/**
 * Applies one mutation of kind `kind` to the flight at [range.start, range.end) of `dir`'s
 * pending entries; updates the range and returns a description of what it did.
 */
function mutate(kind, dir, range, r, { encrypted }) {
  const entries = dir.pending();
  const count = range.end - range.start;
  const pickIndex = () => range.start + r.int(count);
  const replace = (j, bytes) => dir.inject(bytes, j).drop(j + 1);
  // Operations on a record's bytes need some (an earlier truncation may have left none).
  const BYTE_OPS = ['bitflip', 'byte', 'interesting', 'truncate', 'truncate-eof', 'record-length', 'random-body', 'oversize', 'fragment'];
  if (BYTE_OPS.includes(kind) && entries.slice(range.start, range.end).every((e) => e.bytes.length === 0)) {
    return mutate('inject-random', dir, range, r, { encrypted });
  }
  const pickBytes = () => {
    for (;;) {
      const j = pickIndex();
      if (entries[j].bytes.length > 0) return j;
    }
  };
  switch (kind) {
    case 'bitflip': {
      const j = pickBytes();
      const bytes = entries[j].bytes.slice();
      const flips = [];
      for (let k = r.range(1, 4); k > 0; k--) {
        const at = r.int(bytes.length); const bit = 1 << r.int(8);
        bytes[at] ^= bit; flips.push(`@${at}^0x${bit.toString(16)}`);
      }
      replace(j, bytes);
      return `bitflip rec ${j - range.start} ${flips.join(',')}`;
    }
    case 'byte': {
      const j = pickBytes();
      const bytes = entries[j].bytes.slice();
      const subs = [];
      for (let k = r.range(1, 4); k > 0; k--) {
        const at = r.int(bytes.length); bytes[at] = r.int(256); subs.push(`@${at}=0x${bytes[at].toString(16)}`);
      }
      replace(j, bytes);
      return `byte rec ${j - range.start} ${subs.join(',')}`;
    }
    case 'interesting': {
      const j = pickBytes();
      const bytes = entries[j].bytes.slice();
      const wide = bytes.length >= 2 && r.chance(0.5);
      const at = r.int(bytes.length - (wide ? 1 : 0));
      const value = wide ? r.pick(INTERESTING_16) : r.pick(INTERESTING_8);
      if (wide) { bytes[at] = value >> 8; bytes[at + 1] = value & 0xff; } else bytes[at] = value;
      replace(j, bytes);
      return `interesting rec ${j - range.start} @${at}=0x${value.toString(16)}`;
    }
    case 'truncate':
    case 'truncate-eof': {
      const j = pickBytes();
      const n = r.int(entries[j].bytes.length);
      dir.truncate(j, n);
      if (kind === 'truncate-eof') {
        // Nothing after the cut record arrives: the transport ends there.
        for (let k = entries.length - 1; k > j; k--) dir.drop(k);
        range.end = j + 1;
        dir.cut();
      }
      return `${kind} rec ${j - range.start} to ${n}`;
    }
    case 'record-length': {
      const j = pickBytes();
      const bytes = entries[j].bytes.slice();
      if (bytes.length < 5) return mutate('bitflip', dir, range, r, { encrypted });
      const len = (bytes[3] << 8) | bytes[4];
      const lie = r.chance(0.85) ? r.pick(RECORD_LENGTHS(len)) & 0xffff : r.u32() & 0xffff;
      bytes[3] = lie >> 8; bytes[4] = lie & 0xff;
      replace(j, bytes);
      return `record-length rec ${j - range.start} ${len}->${lie}`;
    }
    case 'handshake-length': {
      // Only plaintext handshake records carry readable message lengths.
      const candidates = [];
      for (let j = range.start; j < range.end; j++) {
        const b = entries[j].bytes;
        if (b.length >= 9 && b[0] === 22 && !encrypted(j, entries)) candidates.push(j);
      }
      if (candidates.length === 0) return mutate('interesting', dir, range, r, { encrypted });
      const j = r.pick(candidates);
      const bytes = entries[j].bytes.slice();
      // The messages in the record: type(1) length(3) body.
      const messages = [];
      for (let at = 5; at + 4 <= bytes.length;) {
        messages.push(at);
        at += 4 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
      }
      const at = r.pick(messages);
      const len = (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
      if (r.chance(0.6) || len < 4) {
        const lie = r.pick([0, 1, len - 1, len + 1, len + 4, 0x4000, 0x4001, 0x10000, 0x7fffff, 0xffffff, r.u32() & 0xffffff]) & 0xffffff;
        bytes[at + 1] = lie >> 16; bytes[at + 2] = (lie >> 8) & 0xff; bytes[at + 3] = lie & 0xff;
        replace(j, bytes);
        return `handshake-length rec ${j - range.start} msg ${bytes[at]} ${len}->${lie}`;
      }
      // A 16-bit length inside the message (a vector's): any pair of bytes past the header.
      const inner = at + 4 + r.int(Math.min(len, bytes.length - at - 4) - 1);
      const value = r.pick(INTERESTING_16);
      bytes[inner] = value >> 8; bytes[inner + 1] = value & 0xff;
      replace(j, bytes);
      return `handshake-length rec ${j - range.start} msg ${bytes[at]} inner @${inner}=0x${value.toString(16)}`;
    }
    case 'random-body': {
      const j = pickBytes();
      const bytes = entries[j].bytes.slice();
      bytes.set(r.bytes(Math.max(0, bytes.length - 5)), Math.min(5, bytes.length));
      replace(j, bytes);
      return `random-body rec ${j - range.start}`;
    }
    case 'drop': {
      const j = pickIndex();
      dir.drop(j);
      range.end--;
      return `drop rec ${j - range.start}`;
    }
    case 'duplicate': {
      const j = pickIndex();
      dir.duplicate(j);
      range.end++;
      return `duplicate rec ${j - range.start}`;
    }
    case 'reorder': {
      if (count < 2) return mutate('duplicate', dir, range, r, { encrypted });
      const from = pickIndex();
      let to = pickIndex();
      if (to === from) to = from === range.start ? from + 1 : from - 1;
      dir.reorder(from, to);
      return `reorder rec ${from - range.start}->${to - range.start}`;
    }
    case 'oversize': {
      const j = pickBytes();
      const old = entries[j].bytes;
      const len = r.pick(OVERSIZE);
      const bytes = r.chance(0.5)
        // The record's own bytes padded out, header fixed to match.
        ? (() => { const b = new Uint8Array(5 + len); b.set(old.subarray(0, Math.min(old.length, b.length))); b.set(r.bytes(Math.max(0, 5 + len - old.length)), Math.min(old.length, 5 + len)); b[3] = len >> 8; b[4] = len & 0xff; return b; })()
        : record(old[0] ?? 23, old.length >= 3 ? (old[1] << 8) | old[2] : 0x0303, r.bytes(len));
      replace(j, bytes);
      return `oversize rec ${j - range.start} len ${len}`;
    }
    case 'inject-random': {
      const at = range.start + r.int(count + 1);
      const bytes = randomRecord(r);
      dir.inject(bytes, at);
      range.end++;
      return `inject-random at ${at - range.start} type ${bytes[0]} len ${bytes.length - 5}`;
    }
    case 'inject-interesting': {
      const at = range.start + r.int(count + 1);
      const k = r.int(CRAFTED.length);
      const version = r.chance(0.7) ? 0x0303 : r.pick(LEGACY_VERSIONS);
      const bytes = CRAFTED[k](r, version);
      dir.inject(bytes, at);
      range.end++;
      return `inject-interesting #${k} at ${at - range.start} [${Array.from(bytes.subarray(0, 9), (x) => x.toString(16).padStart(2, '0')).join('')}]`;
    }
    case 'random-records': {
      for (let j = range.end - 1; j >= range.start; j--) dir.drop(j);
      const n = r.range(1, 4);
      for (let k = 0; k < n; k++) dir.inject(randomRecord(r), range.start + k);
      range.end = range.start + n;
      return `random-records ${n}`;
    }
    case 'random-stream': {
      for (let j = range.end - 1; j >= range.start; j--) dir.drop(j);
      const n = r.chance(0.8) ? r.range(1, 512) : r.range(513, 40000);
      dir.inject(r.bytes(n), range.start);
      range.end = range.start + 1;
      return `random-stream ${n} bytes`;
    }
    case 'cut': {
      const keep = r.int(count + 1);
      for (let j = entries.length - 1; j >= range.start + keep; j--) dir.drop(j);
      if (keep > 0 && r.chance(0.5)) {
        // ...possibly in the middle of the last record kept.
        const j = range.start + keep - 1;
        dir.truncate(j, r.int(dir.pending()[j].bytes.length));
      }
      range.end = range.start + keep;
      dir.cut();
      return `cut after ${keep} of ${count}`;
    }
    case 'fragment': {
      const j = pickBytes();
      const pieces = [];
      for (let k = r.range(1, 3); k > 0; k--) {
        const last = dir.pending()[j + pieces.length].bytes.length;
        if (last < 2) break;
        const at = r.range(1, last - 1);
        dir.split(j + pieces.length, at);
        pieces.push(at);
      }
      range.end += pieces.length;
      return `fragment rec ${j - range.start} at ${pieces.join(',')}`;
    }
    case 'coalesce': {
      if (count < 2) return mutate('fragment', dir, range, r, { encrypted });
      dir.coalesce(range.start, count);
      range.end = range.start + 1;
      return `coalesce ${count}`;
    }
    default:
      throw new Error(`unknown mutation ${kind}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Driving a conversation

/** Which flight each of a side's new records belongs to (see FLIGHTS). */
function classify(version, direction, phase, act, records) {
  if (phase === 'app-data' || phase === 'close') {
    const name = `${phase === 'close' ? 'close-notify' : 'app-data'}>${direction === 'toServer' ? 'server' : 'client'}`;
    return records.map(() => name);
  }
  if (direction === 'toServer') return records.map(() => (act === 1 ? 'client-hello' : act === 2 ? 'client-finished' : `client-act-${act}`));
  let afterCcs = false;
  return records.map((rec) => {
    if (version === 'TLSv1.3') {
      if (act >= 2) return 'tickets';
      return rec.type === 23 ? 'server-encrypted' : 'server-hello';
    }
    if (rec.type === 20) afterCcs = true;
    if (afterCcs) return 'server-encrypted';
    return rec.type === 22 && rec.fragment[0] === 4 ? 'tickets' : 'server-hello';
  });
}

/** A conversation that never went quiet: a failure of the case, like a hang would be. */
class Runaway extends Error {
  name = 'Runaway';
}

/**
 * Runs a whole conversation between two new engines on a Link (handshake, `toServer` and
 * `toClient` as application data, close_notify each way), giving `target` (if any) its
 * mutations at its flight. Returns what happened. Throws only what it should not meet: a
 * non-TlsError from the code under test, or a runaway.
 */
function converse(client, server, { version, toServer, toClient, target, hooks }) {
  const link = new Link(client, server);
  const { wire } = link;
  wire.toServer.hold();
  wire.toClient.hold();
  const seen = new Set();
  const acts = { toServer: 0, toClient: 0 };
  const flights = [];
  const thrown = [];
  let applied;
  let phase = 'handshake';

  // A TlsError thrown by a call the driver makes (a failed side's write, a feed) is an
  // acceptable outcome; anything else propagates.
  const tolerate = (fn) => {
    try { return fn(); } catch (e) {
      if (e instanceof TlsError) { thrown.push(e); return undefined; }
      throw e;
    }
  };

  const visit = (dir) => {
    const pending = dir.pending();
    const fresh = pending.filter((rec) => rec.origin === 'sent' && !seen.has(rec));
    if (fresh.length === 0) return;
    for (const rec of fresh) seen.add(rec);
    const act = ++acts[dir.name];
    const names = classify(version, dir.name, phase, act, fresh);
    for (const name of new Set(names)) flights.push(name);
    if (!target || applied || !names.includes(target.flight)) return;
    const first = pending.indexOf(fresh[names.indexOf(target.flight)]);
    const range = { start: first, end: first + names.filter((n) => n === target.flight).length };
    // Whether entry j (of the entries as they are now) is encrypted: in 1.3 a type 23 record; in
    // 1.2 one after its flight's ChangeCipherSpec; after the handshake, all.
    const encrypted = (j, entries) => {
      if (phase !== 'handshake' || entries[j].type === 23) return true;
      const ccs = entries.findIndex((rec, k) => k >= range.start && rec.type === 20);
      return ccs >= 0 && j > ccs;
    };
    applied = target.applied = [];
    for (const kind of target.kinds) {
      if (range.end <= range.start) break; // nothing left of the flight to work on
      applied.push(mutate(kind, dir, range, target.random, { encrypted }));
      if (dir.isCut) break;
    }
    hooks?.mutated?.({ link, dir });
  };

  const pump = (peer, dir) => {
    peer.step();
    visit(dir);
    if (dir.pending().length > 0 || dir.isCut) tolerate(() => dir.deliver());
  };

  // Rounds until one changes nothing. The wire's progress count (what Link.run() watches too)
  // counts every step that did something, every delivery and every end-of-stream fed.
  const settle = () => {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const before = wire.progressCount;
      pump(link.client, wire.toServer);
      pump(link.server, wire.toClient);
      if (wire.progressCount === before) return;
    }
    throw new Runaway(`the ${phase} phase did not settle in ${MAX_ROUNDS} rounds`);
  };

  const read = { server: [], client: [] };
  const collect = () => {
    for (const side of ['client', 'server']) {
      const b = tolerate(() => link[side].readBytes());
      if (b?.length) read[side].push(b);
    }
  };
  const healthy = (peer) => !peer.error && peer.handshakeDone;

  settle();
  collect();
  if (healthy(link.client) && healthy(link.server)) {
    phase = 'app-data';
    tolerate(() => link.client.write(toServer));
    settle();
    collect();
    if (!link.server.error) tolerate(() => link.server.write(toClient));
    settle();
    collect();
    phase = 'close';
    if (!link.client.error) tolerate(() => link.client.shutdown());
    settle();
    collect();
    if (!link.server.error) tolerate(() => link.server.shutdown());
    settle();
    collect();
  }
  return {
    flights, applied, thrown, wire,
    client: { error: link.client.error, done: client.handshakeDone, closed: link.client.closed, read: concat(read.client) },
    server: { error: link.server.error, done: server.handshakeDone, closed: link.server.closed, read: concat(read.server) },
  };
}

const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** What is wrong with a conversation's outcome, if anything (a list of sentences). */
function problemsOf(outcome, { toServer, toClient, mustSucceed }) {
  const problems = [];
  for (const side of ['client', 'server']) {
    const { error, read } = outcome[side];
    const sent = side === 'server' ? toServer : toClient;
    if (error !== undefined && !(error instanceof TlsError)) problems.push(`the ${side} failed with a non-TlsError: ${error}`);
    if (error instanceof TlsError && (typeof error.code !== 'string' || error.code === '' || !error.message)) {
      problems.push(`the ${side}'s TlsError has no code or message: ${error.code} ${error.message}`);
    }
    if (read.length > 0 && !equalBytes(read, sent)) {
      problems.push(`the ${side} read ${read.length} bytes that are not the ${sent.length} its peer sent (silent corruption)`);
    }
    if (mustSucceed) {
      if (error) problems.push(`the ${side} failed: ${error.code} ${error.message}`);
      else if (!outcome[side].done) problems.push(`the ${side}'s handshake did not complete`);
      else if (!equalBytes(read, sent)) problems.push(`the ${side} read ${read.length} of ${sent.length} bytes`);
      else if (!outcome[side].closed) problems.push(`the ${side} did not read the peer's close_notify`);
    }
  }
  for (const e of outcome.thrown) {
    if (typeof e.code !== 'string' || e.code === '') problems.push(`a TlsError without a code was thrown: ${e.message}`);
  }
  return problems;
}

/** The outcome in a word, for the statistics: 'ok', 'stalled', or the first failure's code. */
function verdictOf(outcome) {
  const e = outcome.server.error ?? outcome.client.error ?? outcome.thrown[0];
  if (e) return e.code;
  if (outcome.client.closed && outcome.server.closed) return 'ok';
  return 'stalled';
}

/** A thrown error in a line, with where it came from (the harness, the bindings or the wasm). */
const errorText = (e) => {
  const where = String(e?.stack ?? '').split('\n').slice(1, 3).map((l) => l.trim()).join(' < ');
  const what = e instanceof WebAssembly.RuntimeError ? `wasm trap (RuntimeError): ${e.message}` : `${e?.name ?? 'throw'}: ${e?.message ?? e}`;
  return where ? `${what} (${where})` : what;
};

// ---------------------------------------------------------------------------------------------
// Batches

/**
 * One batch: a fresh testing instance of `flavor` seeded from (seed, flavor, batch); a warm-up
 * that runs every profile once cleanly, and client certificates and resumption in each version
 * (so that OpenSSL's lazily made tables exist before the baseline); the baseline; cases `from` to `to` (exclusive), each followed by a clean
 * conversation in the same instance; then everything freed and the heap compared with the
 * baseline. Returns { cases, failures, heap, stats }. `plant` (for the suite's self-checks)
 * puts a known defect in: 'throw' (a non-TlsError), 'trap' (a real wasm trap), 'leak' (heap
 * that is never freed), 'break' (an instance that can no longer verify certificates).
 */
export async function runBatch({ seed, batch, flavor, from, to, batchSize, flavors = FLAVORS, plant, verbose, log = () => {} }) {
  const replay = (index) => `node scripts/fuzz.mjs --seed ${JSON.stringify(String(seed))} --batch-size ${batchSize}` +
    `${flavors.join(',') === FLAVORS.join(',') ? '' : ` --flavors ${flavors.join(',')}`} --replay ${index}`;
  const planned = { versions: VERSIONS, flights: FLIGHTS, ops: OPS };
  let clock = CLOCK;
  const openssl = await loadTestingOpenSSL({ flavor, now: () => clock, entropy: { testOnlySeed: `fuzz/${seed}/${flavor}/${batch}` } });
  const x = openssl.instance.exports;
  const made = [];
  const keepNative = (o) => (made.push(o), o);

  // Contexts, made on first use and kept for the batch: servers by key and client auth,
  // clients by profile and client certificate.
  const servers = new Map();
  const clients = new Map();
  const sessions = new Map();
  const serverContext = (key, mutual) => {
    const id = `${key}/${mutual}`;
    if (!servers.has(id)) {
      servers.set(id, keepNative(openssl.createSecureContext({
        isServer: true, cert: pem(`${key}-chain.pem`), key: pem(`${key}.key`),
        ...(mutual ? { requestCert: true, ca: pem('ca.pem') } : {}),
      })));
    }
    return servers.get(id);
  };
  const clientContext = (profile, mutual) => {
    const id = `${profile.name}/${mutual}`;
    if (!clients.has(id)) {
      clients.set(id, keepNative(openssl.createSecureContext({
        ca: pem('ca.pem'), minVersion: profile.version, maxVersion: profile.version, ...profile.client,
        ...(mutual ? { cert: pem('client-chain.pem'), key: pem('client.key') } : {}),
      })));
    }
    return clients.get(id);
  };

  /** One conversation on new engines, freed afterwards whatever happens. */
  const conversation = ({ profile, mutual, resumed, target, toServer, toClient, hooks }) => {
    const id = `${profile.name}/${mutual}`;
    // A session to resume must come from these contexts (the server's ticket key is its own).
    if (resumed && !sessions.has(id)) cleanRun(profile, mutual);
    const session = resumed ? sessions.get(id) : undefined;
    const client = clientContext(profile, mutual).createEngine({ servername: 'localhost', ...(session ? { session } : {}) });
    let server;
    try {
      server = serverContext(profile.key, mutual).createEngine();
    } catch (e) { client.free(); throw e; }
    let outcome;
    try {
      outcome = converse(client, server, { version: profile.version, toServer, toClient, target, hooks });
      if (!target && !resumed) {
        const s = client.getSession();
        if (s) sessions.set(id, s);
      }
    } finally {
      client.free();
      server.free();
    }
    return outcome;
  };

  const cleanRun = (profile, mutual = false, resumed = false) => {
    const toServer = new TextEncoder().encode(`ping ${profile.name}`);
    const toClient = new TextEncoder().encode(`pong ${profile.name}`);
    const outcome = conversation({ profile, mutual, resumed, toServer, toClient });
    return problemsOf(outcome, { toServer, toClient, mustSucceed: true });
  };

  const failures = [];
  const cases = [];
  const stats = { verdicts: {}, flights: {}, ops: {} };
  const count = (table, key) => { table[key] = (table[key] ?? 0) + 1; };
  const tag = `seed ${seed}, batch ${batch} (${flavor})`;

  // Warm-up: every profile once, and for each version client certificates and resumption.
  const warmUps = [
    ...PROFILES.map((p) => [p, false, false]),
    ...VERSIONS.flatMap((v) => { const p = PROFILES.find((q) => q.version === v); return [[p, true, false], [p, false, true], [p, true, true]]; }),
  ];
  for (const [profile, mutual, resumed] of warmUps) {
    const problems = cleanRun(profile, mutual, resumed);
    if (problems.length > 0) throw new Error(`fuzz warm-up failed (${tag}, ${profile.name}${mutual ? ' mutual' : ''}${resumed ? ' resumed' : ''}): ${problems.join('; ')}`);
  }
  // A certificate whose name does not match (a flipped bit in the server's Certificate can do
  // that) is described for the error message: OpenSSL makes about 40 KiB of tables the first
  // time it prints a certificate, once per instance.
  openssl.describeCertificate(bytes('ecdsa.der'));
  // The contexts are freed for the baseline and made again as cases need them.
  for (const o of made.splice(0)) o.free();
  servers.clear(); clients.clear(); sessions.clear();
  x.ow_err_clear();
  const baseline = openssl.heapUsed();

  for (let index = from; index < to; index++) {
    const c = { ...planCase(seed, index, planned), flavor, batch };
    const toServer = c.random.bytes(c.random.range(1, 2000));
    const toClient = c.random.bytes(c.random.range(1, 2000));
    const problems = [];
    let outcome;
    const hooks = plant ? plantHooks(plant, openssl, () => { clock = Date.UTC(2010, 0, 1); }) : undefined;
    try {
      outcome = conversation({ profile: c.profile, mutual: c.mutual, resumed: c.resumed, target: c, toServer, toClient, hooks });
      c.applied = outcome.applied;
      if (!outcome.applied) problems.push(`the target flight ${c.flight} never crossed the wire (flights: ${outcome.flights.join(', ')})`);
      problems.push(...problemsOf(outcome, {
        toServer, toClient, mustSucceed: outcome.applied !== undefined && c.kinds.every((k) => BENIGN.has(k)),
      }));
    } catch (e) {
      problems.push(errorText(e));
    }
    // The instance must still work: a clean conversation on the case's own contexts.
    try {
      const again = cleanRun(c.profile, c.mutual);
      if (again.length > 0) problems.push(`a clean handshake after the case failed: ${again.join('; ')}`);
    } catch (e) {
      problems.push(`a clean handshake after the case threw: ${errorText(e)}`);
    }
    const verdict = outcome ? verdictOf(outcome) : 'threw';
    count(stats.verdicts, verdict);
    count(stats.flights, c.flight);
    for (const k of c.kinds) count(stats.ops, k);
    const result = { ...c, verdict, problems };
    delete result.random;
    cases.push(result);
    if (verbose === true || verbose === index) {
      log(`${describeCase(result)} -> ${verdict}, heap ${openssl.heapUsed()}${problems.length ? `\n  PROBLEMS: ${problems.join('\n  ')}` : ''}`);
      if (outcome && verbose === index) {
        log(`  flights seen: ${outcome.flights.join(', ')}`);
        log(`  client: ${outcome.client.error ? `${outcome.client.error.code}: ${outcome.client.error.message}` : outcome.client.closed ? 'closed cleanly' : outcome.client.done ? 'handshake done' : 'unfinished'}`);
        log(`  server: ${outcome.server.error ? `${outcome.server.error.code}: ${outcome.server.error.message}` : outcome.server.closed ? 'closed cleanly' : outcome.server.done ? 'handshake done' : 'unfinished'}`);
        log(`  wire (as sent): ${outcome.wire.log.map(String).join(' | ')}`);
      }
    }
    if (problems.length > 0) {
      failures.push({ ...result, message: `${describeCase(result)}: ${problems.join('; ')}\n  replay: ${replay(index)}` });
    }
  }

  for (const o of made.splice(0)) o.free();
  x.ow_err_clear();
  const after = openssl.heapUsed();
  const heap = { baseline, after, tolerance: HEAP_TOLERANCE, memorySize: openssl.memorySize };
  if (after > baseline + HEAP_TOLERANCE) {
    failures.push({
      batch, flavor, problems: ['heap'],
      message: `${tag}, cases ${from}-${to - 1}: the heap did not come back: ${after} bytes in use against a baseline of ${baseline} (+${after - baseline}, tolerance ${HEAP_TOLERANCE})` +
        `\n  replay: ${replay(to - 1)} (its log shows the heap after each case)`,
    });
  }
  return { cases, failures, heap, stats };
}

/**
 * The defects the suite's self-checks plant, once a case's mutation is applied: the receiving
 * engine's next feed() throws a TypeError ('throw') or first makes a load far outside wasm
 * memory, a real trap ('trap'); 256 bytes of wasm heap are allocated and never freed ('leak'); or
 * the instance's clock goes back to before every certificate was valid ('break').
 */
function plantHooks(plant, openssl, breakClock) {
  const x = openssl.instance.exports;
  return {
    mutated: ({ link, dir }) => {
      const engine = (dir.name === 'toServer' ? link.server : link.client).engine;
      const feed = engine.feed;
      if (plant === 'throw') engine.feed = () => { throw new TypeError('planted: feed() threw a TypeError'); };
      if (plant === 'trap') engine.feed = (data) => { x.ow_x509_describe(0xfffffff0, 64); return feed.call(engine, data); };
      if (plant === 'leak') x.ow_malloc(256);
      if (plant === 'break') breakClock();
    },
  };
}

/**
 * Runs `cases` cases from `start` (default 0) in batches of `batchSize`, the batches taking
 * `flavors` in turn. `onBatch(result)` sees each batch as it ends. Returns the totals.
 */
export async function runFuzz({ seed, cases, start = 0, batchSize = 100, flavors = FLAVORS, plant, verbose, log, onBatch, deadline = Infinity }) {
  const totals = { cases: 0, failures: [], verdicts: {}, flights: {}, ops: {}, heap: [], stoppedEarly: false };
  const end = start + cases;
  for (let from = start; from < end;) {
    if (Date.now() > deadline) { totals.stoppedEarly = true; break; }
    const { batch, flavor, first } = batchOf(from, { batchSize, flavors });
    const to = Math.min(end, first + batchSize);
    // A run that starts inside a batch (a replay) still runs that batch from its first case:
    // the instance's state at a case depends on every case before it in the batch.
    const result = await runBatch({ seed, batch, flavor, from: first, to, batchSize, flavors, plant, verbose, log });
    const inRange = result.cases.filter((c) => c.index >= from);
    totals.cases += inRange.length;
    totals.failures.push(...result.failures.filter((f) => f.index === undefined || f.index >= from));
    for (const key of ['verdicts', 'flights', 'ops']) {
      for (const [k, v] of Object.entries(result.stats[key])) totals[key][k] = (totals[key][k] ?? 0) + v;
    }
    totals.heap.push({ batch, flavor, ...result.heap });
    onBatch?.({ batch, flavor, from, to, ...result });
    from = to;
  }
  return totals;
}
