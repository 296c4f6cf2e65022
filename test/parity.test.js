// node:tls parity where applications branch on the answer. Each test runs one case through the
// runtime's own node:tls and through the package, in the same run, over real loopback sockets,
// and compares: error codes for refused, reset and timed-out transports (and a relay's
// refusal), the verification code for a lone leaf whatever rejectUnauthorized says,
// getPeerCertificate(detailed), and exportKeyingMaterial (the same bytes on both ends, the same
// argument errors). Deno's and Bun's node:tls are their own; where one differs from Node's, the
// test says so and compares with what Node answers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket as WsWebSocket } from 'ws';
import { connect, createServer, TlsError } from '../dist/index.js';
import { connectDuplex } from '../dist/node.js';
import { createRelay } from '../dist/relay.js';
import { freePort, HOST, listen, pem, runtime, scaffold } from './helpers.js';

const t = suite('parity');
const { test } = scaffold(t, 15_000);
const CA = pem('ca.pem');

/** node:tls's client: { error } or { socket } once connected. */
function nativeConnect(scope, options) {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: HOST, servername: 'localhost', ca: CA, ...options });
    scope.defer(() => socket.destroy());
    socket.on('error', (error) => resolve({ error }));
    socket.on('secureConnect', () => resolve({ socket }));
  });
}

/** The package's client over `transport` (a new TCP socket to `port` by default): { error } or { tls }. */
async function oursConnect(scope, port, options = {}, transport = net.connect(port, HOST)) {
  try {
    const conn = await connect(transport, { servername: 'localhost', ca: CA, ...options });
    scope.defer(() => conn.close());
    return { tls: conn };
  } catch (error) {
    return { error };
  }
}

/** A TCP server whose connections `onSocket` handles; its port. */
async function rawServer(scope, onSocket) {
  const server = net.createServer((s) => { s.on('error', () => {}); onSocket(s); });
  return listen(scope, server);
}

/** A node:tls server with `cert`/`key` fixtures; its port. */
async function nativeServer(scope, cert, key, options = {}) {
  const server = tls.createServer({ cert: pem(cert), key: pem(key), ...options }, (s) => s.on('error', () => {}));
  server.on('tlsClientError', () => {});
  return listen(scope, server);
}

// ------------------------------------------------------------------ transport errors

test('a refused TCP connection: ECONNREFUSED, as node:tls', async (scope) => {
  const port = await freePort();
  const native = await nativeConnect(scope, { port });
  const ours = await oursConnect(scope, port);
  assert.is(native.error?.code, 'ECONNREFUSED');
  assert.instance(ours.error, TlsError);
  assert.is(ours.error.code, native.error.code);
});

test('a connection reset during the handshake: ECONNRESET, as node:tls', async (scope) => {
  const port = await rawServer(scope, (s) => s.once('data', () => s.resetAndDestroy()));
  const native = await nativeConnect(scope, { port });
  const ours = await oursConnect(scope, port);
  assert.is(native.error?.code, 'ECONNRESET');
  assert.is(ours.error?.code, native.error.code);
});

test('a connection closed during the handshake: ECONNRESET and node\'s message', async (scope) => {
  const port = await rawServer(scope, (s) => s.once('data', () => s.end()));
  const native = await nativeConnect(scope, { port });
  const ours = await oursConnect(scope, port);
  assert.is(ours.error?.code, native.error?.code);
  assert.is(ours.error.message, 'Client network socket disconnected before secure TLS connection was established');
  if (runtime === 'node') assert.is(ours.error.message, native.error.message);
});

test('a transport that times out: its ETIMEDOUT is the error\'s code, as node:tls', async (scope) => {
  const port = await rawServer(scope, () => {}); // accepts, then says nothing
  const timedOut = () => Object.assign(new Error(`connect ETIMEDOUT ${HOST}:${port}`), { code: 'ETIMEDOUT', syscall: 'connect' });
  const a = net.connect(port, HOST);
  const nativeResult = nativeConnect(scope, { socket: a });
  setTimeout(() => a.destroy(timedOut()), 50);
  const b = net.connect(port, HOST);
  const oursResult = oursConnect(scope, port, {}, b);
  setTimeout(() => b.destroy(timedOut()), 50);
  const [native, ours] = await Promise.all([nativeResult, oursResult]);
  assert.is(native.error?.code, 'ETIMEDOUT');
  assert.is(ours.error?.code, native.error.code);
  assert.is(ours.error.cause?.code, 'ETIMEDOUT');
});

test('through the relay, a target that refuses: ECONNREFUSED, as a refused TCP connection', async (scope) => {
  const dead = await freePort();
  const relay = await createRelay({ port: 0, host: HOST, allow: [`localhost:${dead}`] });
  scope.defer(() => relay.close());
  const ws = new WsWebSocket(`${relay.url}?target=localhost:${dead}`);
  scope.defer(() => ws.terminate());
  const ours = await oursConnect(scope, 0, {}, ws);
  const native = await nativeConnect(scope, { port: dead });
  assert.is(ours.error?.code, native.error?.code);
  assert.is(ours.error.code, 'ECONNREFUSED');
  assert.match(ours.error.message, 'ECONNREFUSED');
});

// ------------------------------------------------------------------ verification

for (const rejectUnauthorized of [true, false]) {
  test(`a lone leaf from an unknown CA, rejectUnauthorized ${rejectUnauthorized}: node's code`, async (scope) => {
    const port = await nativeServer(scope, 'other-chain.pem', 'other.key');
    const native = await nativeConnect(scope, { port, rejectUnauthorized });
    const ours = await oursConnect(scope, port, { rejectUnauthorized });
    if (rejectUnauthorized) {
      assert.is(native.error?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      assert.is(ours.error?.code, native.error.code);
      assert.is(ours.error.message, native.error.message);
    } else {
      assert.is(native.socket.authorizationError?.code ?? native.socket.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      assert.is(ours.tls.authorized, false);
      assert.is(ours.tls.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    }
  });

  test(`a chain whose root is unknown, rejectUnauthorized ${rejectUnauthorized}: node's code`, async (scope) => {
    const port = await nativeServer(scope, 'ecdsa-chain.pem', 'ecdsa.key');
    const options = { rejectUnauthorized, ca: pem('other-ca.pem') };
    const native = await nativeConnect(scope, { port, ...options });
    const ours = await oursConnect(scope, port, options);
    const nativeCode = rejectUnauthorized ? native.error?.code : String(native.socket.authorizationError?.code ?? native.socket.authorizationError);
    const oursCode = rejectUnauthorized ? ours.error?.code : ours.tls.authorizationError;
    assert.is(nativeCode, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    assert.is(oursCode, nativeCode);
  });
}

// ------------------------------------------------------------------ getPeerCertificate

/** The package's fields that node's object does not have (its own additions). */
const OURS_ONLY = ['subjectText', 'issuerText', 'keyType', 'signatureAlgorithm', 'validFrom', 'validTo'];

/** A value as plain data: Buffers as Uint8Arrays, null-prototype objects (node's names) as plain ones. */
const data = (v) => v instanceof Uint8Array ? new Uint8Array(v)
  : Array.isArray(v) ? v.map(data)
  : v !== null && typeof v === 'object' && !(v instanceof Date) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, data(x)]))
  : v;

/** A certificate object as plain data, without its issuer link. */
const plain = (c) => data(Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'issuerCertificate')));

/** The subjects along issuerCertificate links, and whether the last links to itself. */
function issuers(c) {
  const names = [];
  const seen = new Set();
  for (let x = c; x && !seen.has(x); x = x.issuerCertificate) { seen.add(x); names.push(x.subject.CN); }
  const last = [...seen].pop();
  return { names, selfIssuedRoot: last?.issuerCertificate === last };
}

for (const [chain, key] of [['rsa-chain.pem', 'rsa.key'], ['ecdsa-chain.pem', 'ecdsa.key'], ['ed25519-chain.pem', 'ed25519.key']]) {
  test(`getPeerCertificate(true) has node's fields and values: ${chain}`, async (scope) => {
    const port = await nativeServer(scope, chain, key);
    const native = (await nativeConnect(scope, { port })).socket.getPeerCertificate(true);
    const ours = (await oursConnect(scope, port)).tls.getPeerCertificate(true);
    const n = plain(native);
    const o = plain(ours);
    for (const k of Object.keys(n)) {
      if (runtime !== 'node' && !(k in o)) continue; // another runtime's node:tls may add its own
      assert.equal(o[k], n[k], `${chain}: ${k}`);
    }
    const extra = Object.keys(o).filter((k) => !(k in n) && !OURS_ONLY.includes(k));
    // node gives no bits for keys other than RSA and EC; the package does (s_client prints them).
    assert.equal(extra.filter((k) => !(k === 'bits' && key === 'ed25519.key')), runtime === 'node' ? [] : extra.filter((k) => !(k === 'bits' && key === 'ed25519.key')), `${chain}: fields node does not have`);
    assert.equal(issuers(ours), issuers(native), `${chain}: the issuer links`);
    assert.equal(issuers(ours), { names: ['localhost', 'openssl-wasm test intermediate', 'openssl-wasm test root CA'], selfIssuedRoot: true });
    // Without `detailed`: the leaf alone.
    assert.is(ours.issuerCertificate.subject.CN, 'openssl-wasm test intermediate');
  });
}

// ------------------------------------------------------------------ exportKeyingMaterial

const EXPORTS = [
  [32, 'EXPORTER-test', undefined],
  [32, 'EXPORTER-test', new Uint8Array(0)],
  [64, 'EXPORTER-test', new Uint8Array([1, 2, 3])],
  [48, 'é', new DataView(new ArrayBuffer(4))],
];

for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
  test(`exportKeyingMaterial gives node's bytes, ${maxVersion}: the package's client against node's server, and the reverse`, async (scope) => {
    if (typeof tls.TLSSocket.prototype.exportKeyingMaterial !== 'function') return; // not in this runtime's node:tls
    // The package's client, node's server.
    const server = tls.createServer({ cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), maxVersion }, (s) => s.on('error', () => {}));
    const secured = new Promise((resolve) => server.once('secureConnection', resolve));
    const port = await listen(scope, server);
    const { tls: client } = await oursConnect(scope, port, { maxVersion });
    const nativeServerSocket = await secured;
    assert.is(client.getProtocol(), maxVersion);
    for (const [length, label, context] of EXPORTS) {
      const mine = client.exportKeyingMaterial(length, label, context);
      assert.is(mine.length, length);
      assert.equal(mine, new Uint8Array(nativeServerSocket.exportKeyingMaterial(length, label, context)), `${length} ${label} ${context?.byteLength}`);
    }
    if (maxVersion === 'TLSv1.2') {
      // A label TLS 1.2 reserves: OpenSSL refuses it, in node's words.
      const theirs = (() => { try { nativeServerSocket.exportKeyingMaterial(16, 'client finished'); } catch (e) { return e; } })();
      const mine = (() => { try { client.exportKeyingMaterial(16, 'client finished'); } catch (e) { return e; } })();
      assert.instance(mine, TlsError);
      assert.is(mine.code, 'ERR_SSL_TLS_ILLEGAL_EXPORTER_LABEL');
      assert.is(mine.message, 'error:0A00016F:SSL routines::tls illegal exporter label');
      if (runtime === 'node') assert.equal([mine.code, mine.message], [theirs.code, theirs.message]);
    }
    // In TLS 1.2 an empty context is not no context (RFC 5705); TLS 1.3 makes them one (RFC 8446 7.5).
    const none = client.exportKeyingMaterial(32, 'EXPORTER-test');
    const empty = client.exportKeyingMaterial(32, 'EXPORTER-test', new Uint8Array(0));
    if (maxVersion === 'TLSv1.2') assert.not.equal(none, empty);
    else assert.equal(none, empty);

    // node's client, the package's server (and its Duplex, as node code would hold it).
    const wasmServer = await createServer({ cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), maxVersion });
    scope.defer(() => wasmServer.close());
    let accepted;
    const wasmPort = await listen(scope, net.createServer((s) => {
      s.on('error', () => {});
      accepted = wasmServer.accept(s);
      accepted.catch(() => {});
    }));
    const { socket } = await nativeConnect(scope, { port: wasmPort, maxVersion });
    const side = await accepted;
    scope.defer(() => side.close());
    for (const [length, label, context] of EXPORTS) {
      assert.equal(side.exportKeyingMaterial(length, label, context), new Uint8Array(socket.exportKeyingMaterial(length, label, context)));
    }
  });
}

test('exportKeyingMaterial refuses what node refuses, with node\'s codes and messages', async (scope) => {
  const port = await nativeServer(scope, 'ecdsa-chain.pem', 'ecdsa.key');
  const { tls: ours } = await oursConnect(scope, port);
  const { socket: native } = await nativeConnect(scope, { port });
  const bad = [[0, 'x'], [-1, 'x'], [1.5, 'x'], ['8', 'x'], [8, 1], [8, undefined], [8, 'x', 'ab'], [8, 'x', null], [8, 'x', new ArrayBuffer(2)]];
  for (const args of bad) {
    const mine = (() => { try { ours.exportKeyingMaterial(...args); } catch (e) { return e; } })();
    assert.ok(mine, `${args} is refused`);
    if (runtime !== 'node') continue; // the other runtimes' node:tls word these their own way
    const theirs = (() => { try { native.exportKeyingMaterial(...args); } catch (e) { return e; } })();
    assert.is(mine.code, theirs.code, String(args));
    assert.is(mine.name, theirs.name, String(args));
    // node's upper bound is 2^32 - 1; the package's, a mebibyte: the rest of the message is node's.
    assert.is(mine.message.replace(/<= \d+/, '<= N'), theirs.message.replace(/<= \d+/, '<= N'), String(args));
  }
  assert.throws(() => ours.exportKeyingMaterial(2 ** 20 + 1, 'x'), (e) => e.code === 'ERR_OUT_OF_RANGE');
  // Once closed, and on a Duplex before its handshake: node's ERR_TLS_INVALID_STATE.
  await ours.close();
  assert.throws(() => ours.exportKeyingMaterial(8, 'x'), (e) => e instanceof TlsError && e.code === 'ERR_TLS_INVALID_STATE');
  const duplex = connectDuplex(net.connect(port, HOST), { servername: 'localhost', ca: CA });
  scope.defer(() => duplex.destroy());
  assert.throws(() => duplex.exportKeyingMaterial(8, 'x'), (e) => e.code === 'ERR_TLS_INVALID_STATE' && e.message === 'TLS socket connection must be securely established');
  await new Promise((resolve) => duplex.once('secureConnect', resolve));
  assert.is(duplex.exportKeyingMaterial(8, 'x').length, 8);
});

t.run();
