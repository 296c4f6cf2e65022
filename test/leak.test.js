// Native memory is returned: 1000 full connect/close cycles leave the wasm heap where it stood
// after the first 10.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { contexts, OpenSSL } from './helpers.js';
import { Link } from '../dist/testing/index.js';

const t = suite('leak');

function cycle(sctx, cctx) {
  const client = cctx.createEngine({ servername: 'localhost' });
  const server = sctx.createEngine();
  try {
    const link = new Link(client, server);
    link.handshake();
    link.send('client', 'ping');
    link.send('server', 'pong');
    link.client.shutdown();
    link.run();
    link.server.shutdown();
  } finally {
    client.free();
    server.free();
  }
}

t('1000 connect/close cycles leave the heap where it stood after the first 10', async () => {
  const openssl = await OpenSSL.load(); // its own instance, so other tests don't disturb the count
  const { sctx, cctx } = contexts(openssl);
  for (let i = 0; i < 10; i++) cycle(sctx, cctx);
  const heap10 = openssl.heapUsed();
  const memory10 = openssl.memorySize;
  for (let i = 10; i < 1000; i++) cycle(sctx, cctx);
  assert.is(openssl.heapUsed(), heap10, `heap in use after 10 cycles: ${heap10}, after 1000: ${openssl.heapUsed()}`);
  assert.is(openssl.memorySize, memory10);
  sctx.free();
  cctx.free();
});

t('a failed handshake frees everything too', async () => {
  const openssl = await OpenSSL.load();
  const { sctx, cctx } = contexts(openssl);
  const fail = () => {
    const client = cctx.createEngine({ servername: 'wrong.example' });
    const server = sctx.createEngine();
    try {
      const error = (() => { try { new Link(client, server).handshake(); } catch (e) { return e; } })();
      assert.is(error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID', `the handshake must fail on the name; got ${error}`);
    } finally {
      client.free();
      server.free();
    }
  };
  for (let i = 0; i < 10; i++) fail();
  const before = openssl.heapUsed();
  for (let i = 0; i < 200; i++) fail();
  const after200 = openssl.heapUsed();
  for (let i = 0; i < 200; i++) fail();
  const after400 = openssl.heapUsed();
  // OpenSSL's error queue keeps a text buffer per slot (16 slots), and which slots hold one
  // depends on the path a failure took, so the heap may move by a few bytes either way. A
  // leak of even 8 bytes per connection would add 1600 bytes per 200: far outside this slack.
  const slack = 512;
  assert.ok(after200 <= before + slack, `heap before: ${before}, after 200 failures: ${after200}`);
  assert.ok(after400 <= after200 + slack, `heap after 200 failures: ${after200}, after 400: ${after400}`);
});

t('contexts are freed: making and freeing 200 leaves the heap unchanged', async () => {
  const openssl = await OpenSSL.load();
  const make = () => contexts(openssl, { server: { ALPNProtocols: ['h2'] } });
  for (let i = 0; i < 5; i++) { const { sctx, cctx } = make(); sctx.free(); cctx.free(); }
  const before = openssl.heapUsed();
  for (let i = 0; i < 200; i++) { const { sctx, cctx } = make(); sctx.free(); cctx.free(); }
  assert.is(openssl.heapUsed(), before);
});

t.run();
