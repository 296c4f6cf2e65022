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
  };
  const env = new Proxy({ emscripten_notify_memory_growth: () => {} }, { get: (o, k) => o[k] ?? (() => -52) });
  const { instance } = await WebAssembly.instantiate(bytes, { wasi_snapshot_preview1: wasi, env });
  const x = instance.exports;
  memory = x.memory;
  x._initialize();
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

t.run();
