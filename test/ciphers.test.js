// Cipher choice for a machine without AES instructions (issue 13): this package's client lists
// ChaCha20-Poly1305 first; its server prefers ChaCha20-Poly1305 and, with an AES-first list of
// its own, still honours a client that puts ChaCha20 first (OpenSSL's prioritize-ChaCha). Checked
// in memory, against node:tls both ways, and against `openssl s_server -prioritize_chacha`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import tls from 'node:tls';
import { constants } from 'node:crypto';
import { OpenSSL, connect, createServer } from '../dist/index.js';
import { Link } from '../dist/testing/index.js';
import { HOST, listen, pem, runtime, scaffold, serveTls } from './helpers.js';
import { fixture, startOpenSSLServer } from './peers.js';

const t = suite('ciphers');
const { test } = scaffold(t, 30_000);
const openssl = await OpenSSL.load();
const CHACHA13 = 'TLS_CHACHA20_POLY1305_SHA256';
const AES_FIRST = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';
const serverCert = { cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') };

/** The cipher an in-memory handshake between contexts made with these options picks. */
function negotiate(clientOptions, serverOptions) {
  const c = openssl.createSecureContext({ ca: pem('ca.pem'), ...clientOptions });
  const s = openssl.createSecureContext({ isServer: true, ...serverCert, ...serverOptions });
  const [a, b] = [c.createEngine({ servername: 'localhost' }), s.createEngine()];
  try {
    new Link(a, b).handshake();
    return a.negotiated().cipher.name;
  } finally {
    for (const x of [a, b, c, s]) x.free();
  }
}

test('by default both sides pick ChaCha20-Poly1305, in TLS 1.3 and TLS 1.2', () => {
  assert.is(negotiate({}, {}), CHACHA13);
  assert.is(negotiate({ maxVersion: 'TLSv1.2' }, {}), 'ECDHE-ECDSA-CHACHA20-POLY1305');
});

test('the server prefers ChaCha20 over a client that lists AES first; honorCipherOrder: false follows the client', () => {
  assert.is(negotiate({ ciphersuites: AES_FIRST }, {}), CHACHA13);
  assert.is(negotiate({ ciphersuites: AES_FIRST }, { honorCipherOrder: false }), 'TLS_AES_256_GCM_SHA384');
  assert.is(negotiate({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305' },
    { honorCipherOrder: false }), 'ECDHE-ECDSA-AES128-GCM-SHA256');
});

test('a server with its own AES-first list still gives ChaCha20 to a client that puts it first (prioritize-ChaCha)', () => {
  assert.is(negotiate({}, { ciphersuites: AES_FIRST }), CHACHA13);
  assert.is(negotiate({ ciphersuites: AES_FIRST }, { ciphersuites: AES_FIRST }), 'TLS_AES_256_GCM_SHA384');
});

test('our client against node:tls\'s server: its own AES-first order by default, ChaCha20 when it follows the client or prioritizes ChaCha', async (scope) => {
  for (const [options, expected] of [
    // Node's server prefers its own AES-first list by default; Deno's and Bun's follow the client.
    [{}, runtime === 'node' ? 'TLS_AES_256_GCM_SHA384' : CHACHA13],
    [{ honorCipherOrder: false }, CHACHA13],
    [{ secureOptions: constants.SSL_OP_PRIORITIZE_CHACHA }, CHACHA13],
  ]) {
    const server = tls.createServer({ ...serverCert, ...options }, (s) => s.end('ok'));
    const port = await listen(scope, server);
    const stream = await connect(net.connect(port, HOST), { openssl, ca: pem('ca.pem'), servername: 'localhost' });
    assert.is(stream.getCipher().name, expected, JSON.stringify(options));
    await stream.close();
  }
});

if (runtime === 'node') {
  // Deno's and Bun's node:tls clients choose their own lists; node's puts AES first.
  test('node:tls\'s client (AES first) against our server: ChaCha20 by the server\'s preference', async (scope) => {
    const ours = await createServer({ openssl, ...serverCert });
    scope.defer(() => ours.close());
    const port = await serveTls(scope, ours);
    const cipher = await new Promise((resolve, reject) => {
      const c = tls.connect({ host: HOST, port, ca: pem('ca.pem'), servername: 'localhost' }, () => {
        resolve(c.getCipher().name);
        c.end();
      });
      c.on('error', reject);
    });
    assert.is(cipher, CHACHA13);
  });
}

test('openssl s_server -serverpref with AES first: -prioritize_chacha gives our client ChaCha20, without it AES', async (scope) => {
  for (const [prioritize, expected] of [[true, CHACHA13], [false, 'TLS_AES_256_GCM_SHA384']]) {
    const { peer, port } = await startOpenSSLServer({
      cert: fixture('ecdsa.pem'), chain: fixture('int.pem'), key: fixture('ecdsa.key'),
      args: ['-serverpref', '-ciphersuites', AES_FIRST, ...(prioritize ? ['-prioritize_chacha'] : [])],
    });
    scope.defer(() => peer.kill());
    const stream = await connect(net.connect(port, HOST), { openssl, ca: pem('ca.pem'), servername: 'localhost' });
    assert.is(stream.getCipher().name, expected, prioritize ? '-prioritize_chacha' : 'server order only');
    await stream.close();
  }
});

t.run();
