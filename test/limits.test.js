// Bounds on handshakes, over real loopback sockets: connect()'s and accept()'s `timeout` and
// `signal`, a server's `handshakeTimeout` (node's name and default) and its cap on concurrent
// handshakes. Stalled clients (silent, or half a ClientHello) are closed, and the memory their
// handshakes held comes back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { connect, createServer, OpenSSL, TlsError } from '../dist/index.js';
import { DEFAULT_HANDSHAKE_TIMEOUT } from '../dist/tls.js';
import { HOST, listen, pem, scaffold } from './helpers.js';

const t = suite('limits');
const { test } = scaffold(t, 15_000);
const CA = pem('ca.pem');
const SERVER = { cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') };

/** A TCP server that accepts and never answers; its port. */
async function silentServer(scope) {
  return listen(scope, net.createServer((s) => s.on('error', () => {})));
}

/** The rejection of `promise` (which must reject), and how long it took. */
async function rejection(promise) {
  const start = Date.now();
  try {
    await promise;
  } catch (e) {
    return { error: e, ms: Date.now() - start };
  }
  throw new Error('expected a rejection');
}

/** Resolves when `socket` has closed. */
const closed = (socket) => new Promise((resolve) => {
  if (socket.destroyed && socket.closed) resolve();
  else socket.once('close', resolve);
});

/** A ClientHello, as the package's client sends it first. */
async function clientHello() {
  const openssl = await OpenSSL.load();
  const engine = openssl.createSecureContext({ ca: CA }).createEngine({ servername: 'localhost' });
  engine.handshake();
  const hello = engine.takeOutput();
  engine.free();
  return hello;
}

test('connect({ timeout }) against a silent server: ERR_TLS_HANDSHAKE_TIMEOUT, the socket closed', async (scope) => {
  const port = await silentServer(scope);
  const socket = net.connect(port, HOST);
  scope.defer(() => socket.destroy());
  const { error, ms } = await rejection(connect(socket, { servername: 'localhost', ca: CA, timeout: 200 }));
  assert.instance(error, TlsError);
  assert.is(error.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
  assert.is(error.message, 'TLS handshake timeout');
  assert.ok(ms >= 190 && ms < 2000, `${ms} ms`);
  await closed(socket);
});

test('connect({ signal }): an abort during the handshake rejects with AbortError, and one before it at once', async (scope) => {
  const port = await silentServer(scope);
  const controller = new AbortController();
  const socket = net.connect(port, HOST);
  scope.defer(() => socket.destroy());
  setTimeout(() => controller.abort(new Error('user gave up')), 100);
  const { error } = await rejection(connect(socket, { servername: 'localhost', ca: CA, signal: controller.signal }));
  assert.instance(error, TlsError);
  assert.is(error.name, 'AbortError');
  assert.is(error.code, 'ABORT_ERR');
  assert.is(error.cause.message, 'user gave up');
  await closed(socket);

  const early = net.connect(port, HOST);
  scope.defer(() => early.destroy());
  const { error: e2, ms } = await rejection(connect(early, { servername: 'localhost', ca: CA, signal: AbortSignal.abort() }));
  assert.is(e2.code, 'ABORT_ERR');
  assert.ok(ms < 100);
  await closed(early);
});

test('connect({ signal }) after the handshake: aborting fails the connection and closes it', async (scope) => {
  const server = await createServer(SERVER);
  scope.defer(() => server.close());
  const port = await listen(scope, net.createServer(async (s) => {
    s.on('error', () => {});
    try {
      const tls = await server.accept(s);
      await tls.readable.pipeTo(tls.writable).catch(() => {});
    } catch { /* the client's abort */ }
  }));
  const controller = new AbortController();
  const socket = net.connect(port, HOST);
  scope.defer(() => socket.destroy());
  const tls = await connect(socket, { servername: 'localhost', ca: CA, signal: controller.signal, timeout: 5000 });
  assert.is(tls.getProtocol(), 'TLSv1.3');
  controller.abort();
  const e = await tls.closed.then(() => null, (x) => x);
  assert.is(e?.code, 'ABORT_ERR');
  await closed(socket);
});

test('bad timeout and signal options are refused with node\'s codes, before anything is made', async () => {
  const pair = () => net.connect(1, HOST).on('error', () => {});
  for (const [options, code] of [[{ timeout: '1' }, 'ERR_INVALID_ARG_TYPE'], [{ timeout: -1 }, 'ERR_OUT_OF_RANGE'],
    [{ timeout: NaN }, 'ERR_OUT_OF_RANGE'], [{ signal: {} }, 'ERR_INVALID_ARG_TYPE']]) {
    const s = pair();
    const { error } = await rejection(connect(s, { servername: 'localhost', ca: CA, ...options }));
    assert.is(error.code, code, JSON.stringify(options));
    s.destroy();
  }
  for (const [options, code] of [[{ handshakeTimeout: '1' }, 'ERR_INVALID_ARG_TYPE'], [{ handshakeTimeout: 0 }, 'ERR_OUT_OF_RANGE'],
    [{ maxConcurrentHandshakes: 0 }, 'ERR_OUT_OF_RANGE'], [{ maxConcurrentHandshakes: 1.5 }, 'ERR_OUT_OF_RANGE']]) {
    const { error } = await rejection(createServer({ ...SERVER, ...options }));
    assert.is(error.code, code, JSON.stringify(options));
  }
});

test('a server\'s handshakeTimeout is node\'s: 120 s by default', () => {
  assert.is(DEFAULT_HANDSHAKE_TIMEOUT, 120_000);
});

test('stalled clients (silent, or half a ClientHello) are closed at handshakeTimeout, and their memory returns', async (scope) => {
  const openssl = await OpenSSL.load();
  const server = await createServer({ ...SERVER, openssl, handshakeTimeout: 300 });
  scope.defer(() => server.close());
  const results = [];
  const port = await listen(scope, net.createServer((s) => {
    s.on('error', () => {});
    results.push(rejection(server.accept(s)));
  }));
  // One full handshake first, so that what is made once per instance is made.
  const warm = await connect(net.connect(port, HOST), { servername: 'localhost', ca: CA }).catch((e) => e);
  assert.ok(!(warm instanceof Error), String(warm));
  await warm.close();
  await results.shift().catch(() => {});
  const before = openssl.heapUsed();

  const hello = await clientHello();
  const clients = [];
  for (let i = 0; i < 20; i++) {
    const c = net.connect(port, HOST);
    c.on('error', () => {});
    scope.defer(() => c.destroy());
    if (i % 2) c.write(hello.subarray(0, hello.length >> 1));
    clients.push(c);
  }
  while (results.length < 20) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  assert.is(server.handshaking, 20);
  assert.ok(openssl.heapUsed() > before + 20 * 8 * 1024, `20 handshakes in progress hold memory (${openssl.heapUsed() - before} bytes)`);

  const outcomes = await Promise.all(results);
  for (const { error, ms } of outcomes) {
    assert.is(error.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
    assert.ok(ms >= 250 && ms < 3000, `${ms} ms`);
  }
  await Promise.all(clients.map(closed)); // the server closed every one
  assert.is(server.handshaking, 0);
  assert.ok(openssl.heapUsed() <= before + 1024, `the heap returns: ${openssl.heapUsed() - before} bytes above`);
});

test('a server runs at most maxConcurrentHandshakes at once; beyond, accept() refuses at once and closes the transport', async (scope) => {
  const openssl = await OpenSSL.load();
  const server = await createServer({ ...SERVER, openssl, maxConcurrentHandshakes: 3 });
  scope.defer(() => server.close());
  const results = [];
  const port = await listen(scope, net.createServer((s) => {
    s.on('error', () => {});
    results.push(rejection(server.accept(s, { timeout: 400 })));
  }));
  const clients = [];
  for (let i = 0; i < 5; i++) {
    const c = net.connect(port, HOST);
    c.on('error', () => {});
    scope.defer(() => c.destroy());
    clients.push(c);
    await new Promise((r) => c.once('connect', r));
    while (results.length <= i) await new Promise((r) => setTimeout(r, 5));
  }
  const outcomes = await Promise.all(results);
  const codes = outcomes.map((o) => o.error.code);
  assert.equal(codes, ['ERR_TLS_HANDSHAKE_TIMEOUT', 'ERR_TLS_HANDSHAKE_TIMEOUT', 'ERR_TLS_HANDSHAKE_TIMEOUT',
    'ERR_TLS_TOO_MANY_HANDSHAKES', 'ERR_TLS_TOO_MANY_HANDSHAKES']);
  assert.ok(outcomes[3].ms < 100 && outcomes[4].ms < 100, 'refused at once');
  await Promise.all(clients.map(closed));
  // With room again, a real client gets through.
  const ok = await connect(net.connect(port, HOST), { servername: 'localhost', ca: CA, timeout: 5000 });
  assert.is(ok.getProtocol(), 'TLSv1.3');
  await ok.close();
});

test('accept({ signal }) aborts a handshake in progress', async (scope) => {
  const server = await createServer(SERVER);
  scope.defer(() => server.close());
  const controller = new AbortController();
  let result;
  const port = await listen(scope, net.createServer((s) => {
    s.on('error', () => {});
    result = rejection(server.accept(s, { signal: controller.signal }));
  }));
  const c = net.connect(port, HOST);
  c.on('error', () => {});
  scope.defer(() => c.destroy());
  while (!result) await new Promise((r) => setTimeout(r, 5));
  controller.abort();
  const { error } = await result;
  assert.is(error.name, 'AbortError');
  assert.is(error.code, 'ABORT_ERR');
  await closed(c);
});

t.run();
