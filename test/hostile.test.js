// Bad input, as an attacker or a careless caller gives it: every refused option frees what it
// made (one heap check per bad input), options are checked with node's codes and messages
// before anything is allocated, a server's session cache is bounded, a server that asks for
// client certificates must say which CAs it trusts, and a failing entropy source is a TlsError.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import tls from 'node:tls';
import { constants } from 'node:crypto';
import { OpenSSL, TlsError, connect, createServer, memoryPair } from '../dist/index.js';
import { HOST, pem, runtime, scaffold, serveTls } from './helpers.js';

const t = suite('hostile');
const { test } = scaffold(t, 60_000);
const REPEATS = 200;
/**
 * Heap growth allowed over REPEATS refusals: OpenSSL fills some caches lazily (decoders, error
 * strings) and the allocator's bookkeeping moves by a few bytes, so the heap drifts by a few
 * hundred bytes either way; a refusal that leaks an object leaks kilobytes each time (the NUL
 * servername bug leaked 10 KB per call, 2 MB over REPEATS).
 */
const NOISE = REPEATS * 8;

const openssl = await OpenSSL.load();
const server = openssl.createSecureContext({ isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') });
const client = openssl.createSecureContext({ ca: pem('ca.pem') });

/**
 * Calls `bad` REPEATS times, each time expecting it to throw (synchronously or by rejecting)
 * an error that `check` accepts, and asserts that the heap is where it was after the first
 * call (which may warm up OpenSSL's lazily made tables).
 */
async function refusedWithoutLeak(label, bad, check) {
  const attempt = async () => {
    let error;
    try {
      await bad();
    } catch (e) {
      error = e;
    }
    assert.ok(error !== undefined, `${label}: refused`);
    assert.ok(check(error), `${label}: ${error?.name} ${error?.code}: ${error?.message}`);
  };
  for (let i = 0; i < 20; i++) await attempt(); // warm up lazily made tables
  const before = openssl.heapUsed();
  for (let i = 0; i < REPEATS; i++) await attempt();
  const growth = openssl.heapUsed() - before;
  assert.ok(growth <= NOISE, `${label}: the heap grew ${growth} bytes over ${REPEATS} refusals`);
}

test('the leak check sees a leak: an engine made and not freed before the throw', async () => {
  let caught;
  try {
    await refusedWithoutLeak('planted leak', () => {
      client.createEngine({ servername: 'localhost' });
      throw new TlsError('planted');
    }, tlsErr);
  } catch (e) {
    caught = e;
  }
  assert.match(caught?.message ?? '', /planted leak: the heap grew \d+ bytes over 200 refusals/);
});

const code = (c) => (e) => e.code === c;
const tlsErr = (e) => e instanceof TlsError;

const engineInputs = [
  ['a NUL byte in servername', () => client.createEngine({ servername: 'local\0host' }), code('ERR_INVALID_ARG_VALUE')],
  ['a NUL byte in host', () => client.createEngine({ servername: 'localhost', host: 'evil\0.example' }), code('ERR_INVALID_ARG_VALUE')],
  ['a 300-byte servername', () => client.createEngine({ servername: 'a'.repeat(300) }), code('ERR_OUT_OF_RANGE')],
  ['a servername that is a number', () => client.createEngine({ servername: 5 }), code('ERR_INVALID_ARG_TYPE')],
  ['session bytes that are not a session', () => client.createEngine({ servername: 'localhost', session: new Uint8Array(64).fill(7) }), tlsErr],
  ['a session that is a string', () => client.createEngine({ servername: 'localhost', session: 'x' }), code('ERR_INVALID_ARG_TYPE')],
  ['bufferSize -1', () => client.createEngine({ servername: 'localhost', bufferSize: -1 }), code('ERR_OUT_OF_RANGE')],
  ['verifyTime NaN', () => client.createEngine({ servername: 'localhost', verifyTime: NaN }), (e) => e instanceof RangeError],
  ['verifyTime after 2038 (32-bit time_t)', () => client.createEngine({ servername: 'localhost', verifyTime: Date.UTC(2039, 0, 1) }), code('ERR_OUT_OF_RANGE')],
  ['onkeylog that is not a function', () => client.createEngine({ servername: 'localhost', onkeylog: 'yes' }), code('ERR_INVALID_ARG_TYPE')],
];
for (const [label, bad, check] of engineInputs) {
  test(`engine: ${label} is refused and leaks nothing`, () => refusedWithoutLeak(label, bad, check));
}

test('connect(): a NUL byte in servername is refused and leaks nothing, context included', async () => {
  await refusedWithoutLeak('connect', () => {
    const [a] = memoryPair();
    return connect(a, { openssl, ca: pem('ca.pem'), servername: 'bad\0name' });
  }, code('ERR_INVALID_ARG_VALUE'));
});

const garbage = '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n';
const contextInputs = [
  ['ca that is not a certificate', { ca: garbage }, tlsErr],
  ['ca of DER garbage', { ca: new Uint8Array([0x30, 0x82, 1, 0, 2, 3]) }, tlsErr],
  ['ca that is a number', { ca: 5 }, code('ERR_INVALID_ARG_TYPE')],
  ['cert that does not parse', { isServer: true, cert: garbage, key: pem('ecdsa.key') }, tlsErr],
  ['a key that is not the certificate\'s', { isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('rsa.key') }, tlsErr],
  ['a wrong passphrase', { isServer: true, cert: pem('rsa-chain.pem'), key: pem('rsa-encrypted.key'), passphrase: 'wrong' }, tlsErr],
  ['unknown ciphers', { ciphers: 'NOT-A-CIPHER' }, tlsErr],
  ['unknown ecdhCurve', { ecdhCurve: 'P-999' }, tlsErr],
  ['ciphers that is a number', { ciphers: 5 }, code('ERR_INVALID_ARG_TYPE')],
  ['ALPNProtocols [1, 2]', { ALPNProtocols: [1, 2] }, code('ERR_INVALID_ARG_TYPE')],
  ['ALPNProtocols as a string', { ALPNProtocols: 'h2' }, code('ERR_INVALID_ARG_TYPE')],
  ['ALPNProtocols null', { ALPNProtocols: null }, code('ERR_INVALID_ARG_TYPE')],
  ['an ALPN name of 300 bytes', { ALPNProtocols: ['x'.repeat(300)] }, code('ERR_OUT_OF_RANGE')],
  ['an empty ALPN name', { ALPNProtocols: [''] }, code('ERR_INVALID_ARG_VALUE')],
  ['an ALPN list of 65,000 bytes', { ALPNProtocols: Array.from({ length: 260 }, (_, i) => `${i}`.padEnd(249, 'p')) }, code('ERR_OUT_OF_RANGE')],
  ['ALPN wire bytes with a bad length', { ALPNProtocols: new Uint8Array([5, 104, 50]) }, code('ERR_INVALID_ARG_VALUE')],
  ['minVersion TLSv1.9', { minVersion: 'TLSv1.9' }, code('ERR_TLS_INVALID_PROTOCOL_VERSION')],
  ['requestCert without ca', { isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), requestCert: true }, code('ERR_TLS_REQUEST_CERT_WITHOUT_CA')],
  ['maxCachedSessions -1', { isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), maxCachedSessions: -1 }, code('ERR_OUT_OF_RANGE')],
];
for (const [label, options, check] of contextInputs) {
  test(`context: ${label} is refused and leaks nothing`, () => refusedWithoutLeak(label, () => openssl.createSecureContext(options), check));
}

test('a trust store of garbage, and a certificate description of garbage, leak nothing', async () => {
  await refusedWithoutLeak('createTrustStore', () => openssl.createTrustStore([pem('ca.pem'), garbage]), tlsErr);
  await refusedWithoutLeak('describeCertificate', () => openssl.describeCertificate(new Uint8Array([0x30, 3, 1, 2, 3])), tlsErr);
});

test('the longest ALPN list accepted still handshakes', () => {
  // 128 names of 255 bytes: 32,768 bytes of wire, the most accepted. The server picks the last.
  const names = Array.from({ length: 128 }, (_, i) => `${i}`.padEnd(255, 'p'));
  const c = openssl.createSecureContext({ ca: pem('ca.pem'), ALPNProtocols: names });
  const s = openssl.createSecureContext({ isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), ALPNProtocols: [names[127]] });
  const [a, b] = [c.createEngine({ servername: 'localhost' }), s.createEngine()];
  try {
    pump(a, b);
    assert.is(a.negotiated().alpnProtocol, names[127]);
  } finally {
    for (const x of [a, b, c, s]) x.free();
  }
});

/** Runs two engines' handshakes against each other in memory (no harness: this suite tests inputs). */
function pump(a, b) {
  for (let i = 0; i < 50 && !(a.handshakeDone && b.handshakeDone); i++) {
    if (!a.handshakeDone) a.handshake();
    const ab = a.takeOutput();
    if (ab.length) b.feed(ab);
    if (!b.handshakeDone) b.handshake();
    const ba = b.takeOutput();
    if (ba.length) a.feed(ba);
  }
  assert.ok(a.handshakeDone && b.handshakeDone, 'handshake done');
}

if (runtime === 'node') {
  // node:tls's own answers to the same inputs, in the same run: the codes and, where node words
  // them, the messages match. (Deno's and Bun's node:tls validate differently.)
  test('options are refused with node:tls\'s codes and messages', () => {
    const same = [
      [{ ALPNProtocols: ['x'.repeat(300)] }, true],
      [{ ciphers: 5 }, true],
      [{ ecdhCurve: 5 }, true],
      [{ ca: 5 }, true],
      [{ ca: [5] }, true],
      [{ cert: 5 }, true],
      [{ key: 5 }, true],
      [{ minVersion: 'TLSv1.9' }, true],
      [{ ALPNProtocols: [1, 2] }, false], // node's message names Buffer.byteLength's argument
    ];
    for (const [options, sameMessage] of same) {
      let ours, theirs;
      try { openssl.createSecureContext(options); } catch (e) { ours = e; }
      try {
        if (options.ALPNProtocols) tls.connect({ port: 1, lookup: () => {}, ...options }).destroy();
        else tls.createSecureContext(options);
      } catch (e) { theirs = e; }
      const what = JSON.stringify(options).slice(0, 60);
      assert.ok(ours && theirs, `${what}: both refuse`);
      assert.is(ours.code, theirs.code, `${what}: code`);
      assert.is(ours.name, theirs.name, `${what}: class`);
      if (sameMessage) assert.is(ours.message, theirs.message, `${what}: message`);
    }
  });

  // A TLS 1.2 client without tickets (node's, with SSL_OP_NO_TICKET) makes the server cache
  // each session for resumption by ID; wasm memory never shrinks, so the cache must be bounded.
  test('a server\'s session cache is bounded by maxCachedSessions', async (scope) => {
    const growth = async (maxCachedSessions) => {
      const o = await OpenSSL.load();
      const tlsServer = await createServer({ openssl: o, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), maxVersion: 'TLSv1.2', maxCachedSessions });
      scope.defer(() => tlsServer.close());
      const port = await serveTls(scope, tlsServer);
      const handshakes = async (n) => {
        for (let i = 0; i < n; i++) {
          await new Promise((resolve, reject) => {
            const c = tls.connect({ host: HOST, port, ca: pem('ca.pem'), servername: 'localhost', maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET });
            c.on('secureConnect', () => { c.end(); resolve(); });
            c.on('error', reject);
          });
        }
      };
      await handshakes(5);
      const before = o.heapUsed();
      await handshakes(100);
      return o.heapUsed() - before;
    };
    const small = await growth(10);
    const large = await growth(1000);
    assert.ok(large > 100 * 500, `an unbounded cache grows with every handshake (${large} bytes for 100)`);
    assert.ok(small < large / 4, `10 entries at most: ${small} bytes against ${large}`);
  });
}

test('a failing entropy source is a TlsError that says so', async () => {
  const getRandomValues = crypto.getRandomValues;
  crypto.getRandomValues = () => { throw new Error('the host has no entropy'); };
  try {
    const e = await OpenSSL.load().then(() => null, (x) => x);
    assert.instance(e, TlsError);
    assert.is(e.code, 'ERR_OPENSSL_ENTROPY');
    assert.match(e.message, /the entropy source failed: the host has no entropy/);
  } finally {
    crypto.getRandomValues = getRandomValues;
  }
});

t.after(() => {
  server.free();
  client.free();
});

t.run();
