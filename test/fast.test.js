// This project's AES and GHASH (wasm/fast/aes.c, ghash.c, aes_gcm_hw.c), which replace
// OpenSSL's portable C at link time, checked through OpenSSL's own EVP interface in test-only
// modules built from each flavor's libraries (wasm/fast/check/evp.c, wasm/build/fast-check-*):
// Wycheproof's AES-GCM cases, and random seal/open/tamper and plain-cipher cases compared
// with the runtime's node:crypto, with data fed in pieces of odd sizes. The TLS records that
// run through the same code are checked against native node:tls in flavors.test.js.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runtime } from './helpers.js';

const t = suite('fast');

/** A check module, with just the host functions libcrypto asks for. */
async function load(flavor) {
  const bytes = readFileSync(new URL(`../wasm/build/fast-check-${flavor}.wasm`, import.meta.url));
  let memory;
  const u32 = (p, v) => new DataView(memory.buffer).setUint32(p, v, true);
  const wasi = {
    clock_time_get: (_id, _precision, out) => { new DataView(memory.buffer).setBigUint64(out, BigInt(Date.now()) * 1000000n, true); return 0; },
    environ_sizes_get: (count, size) => { u32(count, 0); u32(size, 0); return 0; },
    environ_get: () => 0,
    fd_close: () => 8,
    proc_exit: (code) => { throw new Error(`proc_exit(${code})`); },
    random_get: (p, n) => { crypto.getRandomValues(new Uint8Array(memory.buffer, p, n)); return 0; },
  };
  const env = new Proxy({ emscripten_notify_memory_growth: () => {} }, { get: (o, k) => o[k] ?? (() => -52) });
  const { instance } = await WebAssembly.instantiate(bytes, { wasi_snapshot_preview1: wasi, env });
  const x = instance.exports;
  memory = x.memory;
  x._initialize();
  if (x.check_init() !== 1) throw new Error('check_init failed');
  /** Copies each argument into wasm memory, runs fn with their addresses, frees them. */
  const withCopies = (bufs, fn) => {
    const ptrs = [];
    try {
      for (const b of bufs) {
        const p = x.check_malloc(b.length);
        new Uint8Array(memory.buffer, p, b.length).set(b);
        ptrs.push(p);
      }
      return fn(...ptrs);
    } finally {
      for (const p of ptrs) x.check_free(p);
    }
  };
  const name = (cipher) => new TextEncoder().encode(`${cipher}\0`);
  const read = (p, n) => new Uint8Array(memory.buffer, p, n).slice();
  // check_aead(enc, cipher, key, keylen, iv, ivlen, aad, aadlen, in, len, out, tag, taglen, chunk)
  const aead = (enc, cipher, key, iv, aad, input, tag, chunk) =>
    withCopies([name(cipher), key, iv, aad, input, new Uint8Array(input.length), tag], (c, k, i, a, inp, out, tp) =>
      (x.check_aead(enc, c, k, key.length, i, iv.length, a, aad.length, inp, input.length, out, tp, tag.length, chunk)
        ? [read(out, input.length), read(tp, tag.length)] : null));
  return {
    flavor,
    seal(cipher, key, iv, aad, msg, chunk = 0, taglen = 16) {
      const r = aead(1, cipher, key, iv, aad, msg, new Uint8Array(taglen), chunk);
      return r && { ct: r[0], tag: r[1] };
    },
    open(cipher, key, iv, aad, ct, tag, chunk = 0) {
      const r = aead(0, cipher, key, iv, aad, ct, tag, chunk);
      return r && r[0];
    },
    /** g * G + k * P on P-256 (big-endian scalars; P uncompressed or null): the point, 'infinity' or null. */
    ecMul(g, P, k) {
      const gs = g ?? new Uint8Array(0);
      return withCopies([gs.length ? gs : new Uint8Array(1), P ?? new Uint8Array(65), k ?? new Uint8Array(1), new Uint8Array(65)], (gp, pp, kp, out) => {
        const r = x.check_ec_mul(gp, gs.length, P ? pp : 0, kp, k ? k.length : 0, out);
        return r === 1 ? read(out, 65) : r === 2 ? 'infinity' : null;
      });
    },
    ecdsaVerify: (spki, sig, msg) => withCopies([spki, sig, msg], (a, b, c) => x.check_ecdsa_verify(a, spki.length, b, sig.length, c, msg.length) === 1),
    ecdsaSign(pkcs8, msg, deterministic = false) {
      return withCopies([pkcs8, msg, new Uint8Array(72)], (k, m, out) => {
        const n = x.check_ecdsa_sign(k, pkcs8.length, m, msg.length, deterministic ? 1 : 0, out);
        return n > 0 ? read(out, n) : null;
      });
    },
    ecdh: (pkcs8, spki) => withCopies([pkcs8, spki, new Uint8Array(32)], (k, s, out) =>
      (x.check_ecdh(k, pkcs8.length, s, spki.length, out) === 1 ? read(out, 32) : null)),
    ecKeygen: () => withCopies([new Uint8Array(200)], (out) => { const n = x.check_ec_keygen(out); return n > 0 ? read(out, n) : null; }),
    // check_cipher(enc, cipher, key, keylen, iv, in, len, out, chunk)
    cipher(enc, cipher, key, iv, data, chunk = 0) {
      return withCopies([name(cipher), key, iv, data, new Uint8Array(data.length)], (c, k, i, d, out) =>
        (x.check_cipher(enc, c, k, key.length, i, d, data.length, out, chunk) ? read(out, data.length) : null));
    },
  };
}

let small, full;
t.before(async () => {
  small = await load('small');
  full = await load('full');
});

const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');

/** A small seeded generator (xorshift32), so a failing case can be found again. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    int: (n) => next() % n,
    pick: (a) => a[next() % a.length],
    bytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = next() >>> 24; return b; },
  };
}

if (runtime === 'node') {
  t('wasm/fast/aes-tables.h is what aes-tables.mjs generates (which checks its model of aes.c against FIPS 197)', async () => {
    const { execFileSync } = await import('node:child_process');
    const generated = execFileSync(process.execPath, [new URL('../wasm/fast/aes-tables.mjs', import.meta.url).pathname]);
    const committed = readFileSync(new URL('../wasm/fast/aes-tables.h', import.meta.url));
    assert.ok(generated.equals(committed), 'regenerate it: node wasm/fast/aes-tables.mjs > wasm/fast/aes-tables.h');
  });
}

const wycheproof = JSON.parse(readFileSync(new URL('./fixtures/wycheproof-aes-gcm.json', import.meta.url), 'utf8'));

for (const flavor of ['small', 'full']) {
  t(`${flavor}: Wycheproof AES-GCM cases (${wycheproof.tests.length}), whole and in pieces`, () => {
    const m = flavor === 'small' ? small : full;
    for (const v of wycheproof.tests) {
      const cipher = `AES-${v.key.length * 4}-GCM`;
      const [key, iv, aad, msg, ct, tag] = [v.key, v.iv, v.aad, v.msg, v.ct, v.tag].map(hex);
      for (const chunk of [0, 1, 7, 16]) {
        const what = `tcId ${v.tcId} (${v.result}), pieces of ${chunk || 'all'}`;
        const opened = m.open(cipher, key, iv, aad, ct, tag, chunk);
        if (v.result === 'invalid') {
          assert.is(opened, null, `${what}: a bad tag was accepted`);
          continue;
        }
        assert.ok(opened, `${what}: open failed`);
        assert.is(toHex(opened), v.msg, `${what}: plaintext`);
        const sealed = m.seal(cipher, key, iv, aad, msg, chunk);
        assert.ok(sealed, `${what}: seal failed`);
        assert.is(toHex(sealed.ct), v.ct, `${what}: ciphertext`);
        assert.is(toHex(sealed.tag), v.tag, `${what}: tag`);
      }
    }
  });
}

// Sizes around AES's 16-byte blocks, the eight-block groups of aes.c's counter mode, and
// gcm128.c's 3 KiB stretches, plus random ones.
const SIZES = [0, 1, 15, 16, 17, 31, 32, 33, 112, 127, 128, 129, 3071, 3072, 3073, 6145];
const CHUNKS = [0, 0, 1, 3, 7, 13, 16, 17, 255, 4097];
const IV_LENGTHS = [12, 12, 12, 1, 8, 16, 17, 60];
// Deno's node:crypto has no AES-192-GCM or AES-192-CBC.
const native = (cipher) => !(runtime === 'deno' && /^AES-192-(GCM|CBC)$/.test(cipher));

for (const flavor of ['small', 'full']) {
  t(`${flavor}: AES-GCM seal, open and tamper, random cases against node:crypto`, () => {
    const m = flavor === 'small' ? small : full;
    // The small flavor's provider has AES-GCM at 128 and 256 bits, the TLS suites' sizes.
    const sizes = (flavor === 'small' ? [128, 256] : [128, 192, 256]).filter((b) => native(`AES-${b}-GCM`));
    const seed = 0x5eed + (flavor === 'full' ? 1 : 0);
    const r = rng(seed);
    for (let n = 0; n < 150; n++) {
      const bits = r.pick(sizes);
      const cipher = `AES-${bits}-GCM`;
      const key = r.bytes(bits / 8);
      const iv = r.bytes(r.pick(IV_LENGTHS));
      const aad = r.bytes(r.pick([0, 0, 1, 5, 13, 15, 16, 17, r.int(100)]));
      const msg = r.bytes(r.int(3) ? r.pick(SIZES) : r.int(20000));
      const chunk = r.pick(CHUNKS);
      const what = `seed ${seed} case ${n}: ${cipher}, iv ${iv.length}, aad ${aad.length}, ${msg.length} bytes, pieces of ${chunk || 'all'}`;

      const c = crypto.createCipheriv(`aes-${bits}-gcm`, key, iv);
      c.setAAD(aad);
      const want = Buffer.concat([c.update(msg), c.final()]);
      const wantTag = c.getAuthTag();
      const sealed = m.seal(cipher, key, iv, aad, msg, chunk);
      assert.ok(sealed, `${what}: seal failed`);
      assert.is(toHex(sealed.ct), toHex(want), `${what}: ciphertext differs from node:crypto`);
      assert.is(toHex(sealed.tag), toHex(wantTag), `${what}: tag differs from node:crypto`);

      const opened = m.open(cipher, key, iv, aad, want, wantTag, chunk);
      assert.ok(opened, `${what}: open of node:crypto's output failed`);
      assert.is(toHex(opened), toHex(msg), `${what}: plaintext`);

      // One flipped bit anywhere in the ciphertext, the AAD or the tag must fail the open.
      const where = r.pick(['ct', 'aad', 'tag'].filter((w) => (w === 'ct' ? want.length : w === 'aad' ? aad.length : 1)));
      const [ct2, aad2, tag2] = [Uint8Array.from(want), Uint8Array.from(aad), Uint8Array.from(wantTag)];
      const target = where === 'ct' ? ct2 : where === 'aad' ? aad2 : tag2;
      target[r.int(target.length)] ^= 1 << r.int(8);
      assert.is(m.open(cipher, key, iv, aad2, ct2, tag2, chunk), null, `${what}: a flipped bit in the ${where} was accepted`);
    }
  });

  t(`${flavor}: AES-CBC, -CTR and -ECB both ways, random cases against node:crypto`, () => {
    const m = flavor === 'small' ? small : full;
    // The small flavor has CBC at every key size, and CTR and ECB for AES-256 only (the DRBG's).
    let ciphers = flavor === 'small'
      ? ['AES-128-CBC', 'AES-192-CBC', 'AES-256-CBC', 'AES-256-CTR', 'AES-256-ECB']
      : ['AES-128-CBC', 'AES-192-CBC', 'AES-256-CBC', 'AES-128-CTR', 'AES-192-CTR', 'AES-256-CTR', 'AES-128-ECB', 'AES-256-ECB'];
    ciphers = ciphers.filter(native);
    const seed = 0xc0de + (flavor === 'full' ? 1 : 0);
    const r = rng(seed);
    for (let n = 0; n < 120; n++) {
      const cipher = r.pick(ciphers);
      const bits = Number(cipher.slice(4, 7));
      const mode = cipher.slice(8).toLowerCase();
      const key = r.bytes(bits / 8);
      const iv = mode === 'ecb' ? new Uint8Array(0) : r.bytes(16);
      // CTR: a counter near 2^64 and 2^128 at times, where node:crypto and OpenSSL carry the same way.
      if (mode === 'ctr' && r.int(3) === 0) iv.fill(0xff, 8 + r.int(8));
      const len = mode === 'ctr' ? r.pick(SIZES) : 16 * r.pick([0, 1, 2, 7, 8, 9, 64, 200]);
      const data = r.bytes(len);
      const chunk = r.pick(CHUNKS);
      const what = `seed ${seed} case ${n}: ${cipher}, ${len} bytes, pieces of ${chunk || 'all'}`;
      const c = crypto.createCipheriv(`aes-${bits}-${mode}`, key, mode === 'ecb' ? null : iv).setAutoPadding(false);
      const want = Buffer.concat([c.update(data), c.final()]);
      const enc = m.cipher(1, cipher, key, iv, data, chunk);
      assert.ok(enc, `${what}: encrypt failed`);
      assert.is(toHex(enc), toHex(want), `${what}: encryption differs from node:crypto`);
      const dec = m.cipher(0, cipher, key, iv, want, chunk);
      assert.ok(dec, `${what}: decrypt failed`);
      assert.is(toHex(dec), toHex(data), `${what}: decryption differs`);
    }
  });
}

// ------------------------------------------------------------------ P-256 (wasm/fast/p256.c)

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const big = (b) => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const be = (v, len = 32) => Uint8Array.from(Buffer.from(v.toString(16).padStart(2 * len, '0'), 'hex'));
const modN = (v) => ((v % N) + N) % N;
/** node:crypto's public key (uncompressed) for a scalar, or 'infinity' for 0 mod n. */
function pub(k) {
  const r = modN(k);
  if (r === 0n) return 'infinity';
  const e = crypto.createECDH('prime256v1');
  e.setPrivateKey(Buffer.from(be(r)));
  return toHex(e.getPublicKey());
}
const same = (got, want, what) => assert.is(got === 'infinity' || got === null ? got : toHex(got), want, what);
const spkiOf = (point) => Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), Buffer.from(point)]);
const pkcs8Of = (k) => crypto.createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: Buffer.from(be(k)).toString('base64url'),
  ...(() => { const p = Buffer.from(pub(k), 'hex'); return { x: p.subarray(1, 33).toString('base64url'), y: p.subarray(33).toString('base64url') }; })() }, format: 'jwk' })
  .export({ type: 'pkcs8', format: 'der' });

/** Scalars that reach the edges of p256.c's windows and comb: small, near n, single bits, one comb tooth, random. */
function edgeScalars(r) {
  const out = [1n, 2n, 3n, 4n, 15n, 16n, 17n, 31n, 32n, 33n, 63n, 64n, N - 1n, N - 2n, N - 16n, (N - 1n) / 2n, (N + 1n) / 2n,
    2n ** 32n - 1n, 2n ** 64n - 1n, 2n ** 128n, 2n ** 255n, 2n ** 256n - 1n - N, 1n + 2n ** 64n + 2n ** 128n + 2n ** 192n,
    2n ** 32n + 2n ** 96n + 2n ** 160n + 2n ** 224n, 0x5555555555555555555555555555555555555555555555555555555555555555n,
    0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaan];
  for (let i = 0; i < 256; i += 5) out.push(2n ** BigInt(i), 2n ** BigInt(i) * 31n);
  for (let i = 0; i < 40; i++) out.push(modN(big(r.bytes(32))) || 1n);
  return out.map((k) => modN(k) || 1n);
}

for (const flavor of ['small', 'full']) {
  t(`${flavor}: P-256 k * G, k * P and u1 * G + u2 * Q against node:crypto`, () => {
    const m = flavor === 'small' ? small : full;
    const r = rng(0x256 + (flavor === 'full' ? 1 : 0));
    const scalars = edgeScalars(r);
    for (const k of scalars) same(m.ecMul(be(k), null, null), pub(k), `k * G, k = ${k.toString(16)}`);
    // Scalars of n, above n and wider than 256 bits are reduced; 0 and n give the point at infinity.
    same(m.ecMul(be(0n), null, null), 'infinity', '0 * G');
    same(m.ecMul(be(N), null, null), 'infinity', 'n * G');
    same(m.ecMul(be(N + 5n), null, null), pub(5n), '(n + 5) * G');
    same(m.ecMul(be(2n ** 256n - 1n), null, null), pub(2n ** 256n - 1n), '(2^256 - 1) * G');
    same(m.ecMul(be(3n * N + 7n, 40), null, null), pub(7n), '(3n + 7) * G, 40 bytes');
    // k * P: P = d G for a known d, so k * P = (k d) G.
    const ds = [1n, 2n, N - 1n, ...[0, 1, 2].map(() => modN(big(r.bytes(32))) || 3n)];
    for (const d of ds) {
      const P = Buffer.from(pub(d), 'hex');
      for (const k of scalars.filter((_, i) => i % 3 === d % 3n + 0n || d < 3n)) {
        same(m.ecMul(null, P, be(k)), pub(k * d), `k * P, k = ${k.toString(16)}, d = ${d.toString(16)}`);
      }
      same(m.ecMul(null, P, be(0n)), 'infinity', `0 * P, d = ${d.toString(16)}`);
      same(m.ecMul(null, P, be(N)), 'infinity', `n * P, d = ${d.toString(16)}`);
      // u1 G + u2 Q (verification's path), including sums that cancel and terms that coincide;
      // twice, since a key seen again is multiplied with tables made for it.
      const pairs = [[1n, 1n], [0n, 1n], [1n, 0n], [N - 1n, 1n], [2n, N - 1n]];
      for (let i = 0; i < 12; i++) pairs.push([modN(big(r.bytes(32))), modN(big(r.bytes(32)))]);
      const u2r = modN(big(r.bytes(32))) || 1n;
      pairs.push([modN(-u2r * d), u2r], [modN(u2r * d), u2r], [modN(2n * u2r * d), u2r]);
      for (const round of ['first', 'again']) {
        for (const [u1, u2] of pairs) {
          same(m.ecMul(be(u1), P, be(u2)), pub(u1 + u2 * d), `u1 G + u2 Q (${round}), u1 = ${u1.toString(16)}, u2 = ${u2.toString(16)}, d = ${d.toString(16)}`);
        }
      }
    }
  });

  t(`${flavor}: P-256 ECDSA and ECDH against node:crypto${flavor === 'full' ? ', RFC 6979\'s deterministic signatures' : ''}`, () => {
    const m = flavor === 'small' ? small : full;
    const r = rng(0xec + (flavor === 'full' ? 1 : 0));
    for (let i = 0; i < 25; i++) {
      const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const msg = r.bytes(r.int(100));
      const sig = crypto.sign('sha256', msg, privateKey);
      assert.ok(m.ecdsaVerify(spki, sig, msg), `case ${i}: node's signature does not verify`);
      // The same signature with s replaced by n - s is valid too; a changed message or r is not.
      const { r: rr, s } = parseSig(sig);
      assert.ok(m.ecdsaVerify(spki, derSig(rr, N - s), msg), `case ${i}: (r, n - s) does not verify`);
      const msg2 = Uint8Array.from(msg.length ? msg : [0]);
      msg2[0] ^= 1;
      assert.not.ok(m.ecdsaVerify(spki, sig, msg2), `case ${i}: a changed message verifies`);
      for (const [r2, s2] of [[rr + 1n, s], [rr, s + 1n], [0n, s], [rr, 0n], [N, s], [rr, N], [rr + N, s], [rr, s + N]]) {
        assert.not.ok(m.ecdsaVerify(spki, derSig(r2, s2), msg), `case ${i}: r or s changed to (${r2.toString(16)}, ${s2.toString(16)}) verifies`);
      }
      // Signed here, verified by node.
      const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
      const mine = m.ecdsaSign(pkcs8, msg);
      assert.ok(mine && crypto.verify('sha256', msg, publicKey, mine), `case ${i}: node does not verify this signature`);
      // ECDH both ways.
      const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const want = crypto.diffieHellman({ privateKey, publicKey: other.publicKey });
      const got = m.ecdh(pkcs8, other.publicKey.export({ type: 'spki', format: 'der' }));
      assert.is(got && toHex(got), toHex(want), `case ${i}: ECDH secret`);
    }
    // Key generation: the public key it stores is the private key's multiple of G.
    for (let i = 0; i < 5; i++) {
      const der = m.ecKeygen();
      assert.ok(der, 'key generation failed');
      const { d, point } = parseEcKey(der);
      assert.is(toHex(point), pub(d), 'generated public key');
    }
    // RFC 6979 A.2.5, P-256 with SHA-256: the private key and the deterministic signatures (the
    // full flavor: the small one's provider leaves out the HMAC-DRBG KDF deterministic nonces need).
    if (flavor === 'small') return;
    const d = 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n;
    const vectors = [
      ['sample', 0xefd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716n, 0xf7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8n],
      ['test', 0xf1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367n, 0x019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083n],
    ];
    for (const [text, wr, ws] of vectors) {
      const sig = m.ecdsaSign(pkcs8Of(d), new TextEncoder().encode(text), true);
      assert.ok(sig, `RFC 6979 '${text}': signing failed`);
      const { r: gr, s: gs } = parseSig(sig);
      assert.is(gr.toString(16), wr.toString(16), `RFC 6979 '${text}': r`);
      assert.is(gs.toString(16), ws.toString(16), `RFC 6979 '${text}': s`);
    }
  });
}

/**
 * The private scalar and public point of a DER private key, PKCS#8 around an ECPrivateKey
 * (RFC 5915), read here (Deno's node:crypto does not take this one).
 */
function parseEcKey(der) {
  const b = Buffer.from(der);
  const tlv = (i) => {
    let len = b[i + 1], off = i + 2;
    if (len & 0x80) { const n = len & 0x7f; len = 0; for (let k = 0; k < n; k++) len = len * 256 + b[off + k]; off += n; }
    return { tag: b[i], off, end: off + len };
  };
  const fields = (t) => { const out = []; for (let i = t.off; i < t.end;) { const f = tlv(i); out.push(f); i = f.end; } return out; };
  const [version, , inner] = fields(tlv(0));
  // PKCS#8: version 0, the algorithm, then the ECPrivateKey in an OCTET STRING; else the ECPrivateKey itself.
  const key = b[version.off] === 0 && inner?.tag === 0x04 ? fields(tlv(inner.off)) : fields(tlv(0));
  const d = big(b.subarray(key[1].off, key[1].end));
  const pubField = key.find((f) => f.tag === 0xa1);
  const bits = tlv(pubField.off);
  return { d, point: b.subarray(bits.off + 1, bits.end) };
}

/** r and s of a DER ECDSA signature. */
function parseSig(der) {
  const b = Buffer.from(der);
  let i = 2;
  const int = () => { const len = b[i + 1]; const v = big(b.subarray(i + 2, i + 2 + len)); i += 2 + len; return v; };
  return { r: int(), s: int() };
}
/** A DER ECDSA signature of r and s (any non-negative sizes). */
function derSig(r, s) {
  const int = (v) => {
    let h = v.toString(16);
    if (h.length % 2) h = `0${h}`;
    if (parseInt(h.slice(0, 2), 16) & 0x80) h = `00${h}`;
    return Buffer.concat([Buffer.from([2, h.length / 2]), Buffer.from(h, 'hex')]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

t.run();
