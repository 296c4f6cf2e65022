// The two builds of the module (wasm/flavors/): "small", the default, and "full". Loading and
// telling them apart; what the small one leaves out fails with a message that says so, and works
// in the full one against real peers (openssl s_server); and record protection in both, which
// runs through this package's own ChaCha20, Poly1305, AES and GHASH (wasm/fast/), checked byte
// for byte against the runtime's native node:tls for every cipher suite and many record sizes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { OpenSSL, getOpenSSL, TlsError } from '../dist/index.js';
import { Link, loadTestingOpenSSL, TestPki } from '../dist/testing/index.js';
import { connectTcp, listen, pem, runtime, scaffold } from './helpers.js';
import { fixture, startOpenSSLServer } from './peers.js';

const t = suite('flavors');
const TIMEOUT = 20_000;
const { test } = scaffold(t, TIMEOUT);

let small, full, testingSmall;
t.before(async () => {
  small = await OpenSSL.load();
  full = await OpenSSL.load({ flavor: 'full' });
  testingSmall = await loadTestingOpenSSL();
});

// ------------------------------------------------------------------ loading

test('OpenSSL.load() is the small flavor; { flavor: "full" } loads openssl-full.wasm', () => {
  assert.is(small.flavor, 'small');
  assert.is(full.flavor, 'full');
  assert.match(full.version, /^OpenSSL 3\.5\./);
});

test('getOpenSSL keeps one shared instance per flavor', async () => {
  const a = await getOpenSSL();
  const b = await getOpenSSL({ flavor: 'full' });
  assert.is(a.flavor, 'small');
  assert.is(b.flavor, 'full');
  assert.is(await getOpenSSL(), a);
  assert.is(await getOpenSSL({ flavor: 'full' }), b);
});

test('a bad flavor is a TypeError; bytes of one flavor loaded as the other are refused', async () => {
  const err = await OpenSSL.load({ flavor: 'tiny' }).then(() => null, (e) => e);
  assert.instance(err, TypeError);
  assert.match(err.message, /flavor must be 'small' or 'full'; got tiny/);
  const bytes = readFileSync(new URL('../dist/openssl.wasm', import.meta.url));
  const mismatch = await OpenSSL.load({ wasm: bytes, flavor: 'full' }).then(() => null, (e) => e);
  assert.instance(mismatch, TlsError);
  assert.match(mismatch.message, /asked for the 'full' flavor, but this module is the 'small' flavor/);
  assert.is((await OpenSSL.load({ wasm: bytes })).flavor, 'small');
});

test('the small module is the smaller download', () => {
  const size = (f) => readFileSync(new URL(`../dist/${f}`, import.meta.url)).length;
  assert.ok(size('openssl.wasm') < size('openssl-full.wasm') * 0.8, `${size('openssl.wasm')} vs ${size('openssl-full.wasm')}`);
});

// ------------------------------------------------------------------ what only the full flavor has

test('ML-DSA test certificates: a clear error in the small flavor, a handshake in the full one', async () => {
  const err = (() => { try { new TestPki(testingSmall).root({ subject: 'r', key: 'ml-dsa-65' }); } catch (e) { return e; } })();
  assert.instance(err, TlsError);
  assert.match(err.message, /ml-dsa-65 keys need the 'full' flavor.*loadTestingOpenSSL\(\{ flavor: 'full' \}\)/);

  // The certificates come from a testing instance; the handshake runs in the production one.
  const pki = new TestPki(await loadTestingOpenSSL({ flavor: 'full' }));
  try {
    const root = pki.root({ subject: 'ML-DSA root', key: 'ml-dsa-65' });
    const leaf = root.issue({ subject: 'localhost', key: 'ml-dsa-44', san: ['DNS:localhost'] });
    const server = full.createSecureContext({ isServer: true, cert: leaf.certPem, key: leaf.keyPem });
    const client = full.createSecureContext({ ca: root.certPem });
    const [c, s] = [client.createEngine({ servername: 'localhost' }), server.createEngine()];
    try {
      new Link(c, s).handshake();
      assert.is(c.negotiated().authorized, true);
      assert.is(c.negotiated().peerSignatureScheme, 'mldsa44');
    } finally {
      c.free(); s.free(); client.free(); server.free();
    }
  } finally {
    pki.free();
  }
});

/** openssl s_server with the RSA test certificate and extra arguments; killed by the scope. */
async function rsaServer(scope, args) {
  const { peer, port } = await startOpenSSLServer({ cert: fixture('rsa.pem'), chain: fixture('rsa-chain.pem'), key: fixture('rsa.key'), args });
  scope.defer(() => peer.kill());
  return port;
}

/** The high-level client over TCP; resolves with the connection or the error. */
const attempt = (scope, port, options) => connectTcp(scope, port, options).catch((e) => e);

test('TLS 1.1: refused by the small flavor with a reason, negotiated by the full one', async (scope) => {
  const port = await rsaServer(scope, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
  const old = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };
  const refused = await attempt(scope, port, { ...old, openssl: small });
  assert.instance(refused, TypeError, String(refused));
  assert.is(refused.code, 'ERR_TLS_INVALID_PROTOCOL_VERSION');
  assert.match(refused.message, /minVersion 'TLSv1\.1' needs the 'full' flavor/);

  const port2 = await rsaServer(scope, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
  const conn = await attempt(scope, port2, { ...old, openssl: full });
  assert.not.instance(conn, Error, String(conn));
  assert.is(conn.getProtocol(), 'TLSv1.1');
});

test('finite-field DHE suites: an unknown cipher in the small flavor, negotiated by the full one', async (scope) => {
  const dhe = { maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256' };
  const err = await attempt(scope, 1, { ...dhe, openssl: small });
  assert.instance(err, TlsError);
  assert.match(err.message, /DHE-RSA-AES128-GCM-SHA256/);

  const port = await rsaServer(scope, ['-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256']);
  const conn = await attempt(scope, port, { ...dhe, openssl: full });
  assert.not.instance(conn, Error, String(conn));
  assert.is(conn.getCipher().name, 'DHE-RSA-AES128-GCM-SHA256');
});

test('P-521, P-384 and P-256 between the flavors, whose code for P-521 differs', () => {
  // The small flavor does P-521 with OpenSSL's generic code (wasm/flavors/small-ec.c), the full
  // flavor with its 64-bit-limb code: a handshake between them checks one against the other.
  for (const [a, b] of [[small, full], [full, small]]) {
    for (const group of ['P-521', 'P-384', 'P-256']) {
      const sctx = a.createSecureContext({ isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), ecdhCurve: group });
      const cctx = b.createSecureContext({ ca: pem('ca.pem'), ecdhCurve: group });
      const c = cctx.createEngine({ servername: 'localhost' }), s = sctx.createEngine();
      try {
        const combination = `${a.flavor} server, ${b.flavor} client, ${group}`;
        try { new Link(c, s).handshake(); } catch (e) { assert.unreachable(`${combination}: ${e.message}`); }
        assert.match(c.negotiated().group, new RegExp(group.slice(2)), combination);
      } finally {
        c.free(); s.free(); cctx.free(); sctx.free();
      }
    }
  }
});

if (runtime === 'node') {
  // Deno's and Bun's native servers offer neither P-521 nor, in Deno's case, P-384.
  test('P-521 and P-384 key exchange with native node:tls, in both flavors', async (scope) => {
    for (const openssl of [small, full]) {
      for (const group of ['P-521', 'P-384']) {
        const port = await echoServer(scope);
        const conn = await attempt(scope, port, { ecdhCurve: group, openssl });
        assert.not.instance(conn, Error, `${openssl.flavor} ${group}: ${conn}`);
        assert.match(conn.getEphemeralKeyInfo().name, new RegExp(group.slice(2)), `${openssl.flavor} ${group}: negotiated ${conn.getEphemeralKeyInfo().name}`);
      }
    }
  });
}

// ------------------------------------------------------------------ records, byte for byte

const SUITES = [
  { name: 'TLS_AES_128_GCM_SHA256', options: { ciphersuites: 'TLS_AES_128_GCM_SHA256' } },
  { name: 'TLS_AES_256_GCM_SHA384', options: { ciphersuites: 'TLS_AES_256_GCM_SHA384' } },
  { name: 'TLS_CHACHA20_POLY1305_SHA256', options: { ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256' } },
  { name: 'ECDHE-ECDSA-CHACHA20-POLY1305', options: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' } },
  { name: 'ECDHE-ECDSA-AES128-GCM-SHA256', options: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' } },
  { name: 'ECDHE-ECDSA-AES256-GCM-SHA384', options: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' } },
  // CBC with HMAC: Node's own node:tls has it; Deno's (rustls) and Bun's (BoringSSL) servers do not.
  ...(runtime === 'node' ? [{ name: 'ECDHE-ECDSA-AES256-SHA384', options: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-SHA384' } }] : []),
];

// Around every block and record boundary: ChaCha20's 64-byte blocks and 256-byte groups of
// four, Poly1305's and AES's 16-byte blocks, AES-CTR's 128-byte groups of eight, gcm128.c's
// 3 KiB stretches of counter mode then GHASH, a full 16 KiB record and more than one.
const SIZES = [1, 2, 15, 16, 17, 31, 63, 64, 65, 112, 127, 128, 129, 255, 256, 257, 300, 1023, 1024,
  3071, 3072, 3073, 4095, 16383, 16384, 16385, 40000, 70001];

/** A native node:tls server that echoes everything back; closed by the scope. */
async function echoServer(scope) {
  const server = tls.createServer({ cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') }, (s) => s.pipe(s));
  return listen(scope, server);
}

for (const flavor of ['small', 'full']) {
  for (const { name, options } of SUITES) {
    test(`${flavor}: ${name} records of ${SIZES.length} sizes echo back intact through native node:tls`, async (scope) => {
      const port = await echoServer(scope);
      const conn = await attempt(scope, port, { ...options, openssl: flavor === 'small' ? small : full });
      assert.not.instance(conn, Error, String(conn));
      assert.is(conn.getCipher().name, name);
      const writer = conn.writable.getWriter();
      const reader = conn.readable.getReader();
      let seed = 7;
      for (const size of SIZES) {
        const data = new Uint8Array(size);
        for (let i = 0; i < size; i++) data[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
        await writer.write(data);
        const got = new Uint8Array(size);
        let have = 0;
        while (have < size) {
          const { value, done } = await reader.read();
          assert.not.ok(done, `the echo ended after ${have} of ${size} bytes`);
          got.set(value, have);
          have += value.length;
        }
        assert.equal(got, data, `${size} bytes came back changed`);
      }
      writer.releaseLock();
      reader.releaseLock();
    });
  }
}

t.run();
