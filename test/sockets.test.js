// The high-level API over real loopback sockets: node's https.request through the Duplex
// adapter, and end-to-end backpressure with 64 MiB sent to a slow reader.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { connect, createServer, fromSocket, getOpenSSL } from '../dist/index.js';
import { connectDuplex } from '../dist/node.js';
import { enc, HOST, listen, pem, scaffold, text } from './helpers.js';

const t = suite('sockets');
const { test } = scaffold(t, 10_000);

test('https.request through connectDuplex gets a real response from a node HTTPS server', async (scope) => {
  const server = https.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello ${req.method} ${req.url}`); // (Bun's server sockets have no getProtocol())
  });
  const port = await listen(scope, server);
  const body = await new Promise((resolve, reject) => {
    const req = https.request(`https://localhost:${port}/path?q=1`, {
      createConnection: () => connectDuplex(net.connect(port, HOST), { servername: 'localhost', ca: pem('ca.pem') }),
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, data, protocol: res.socket?.getProtocol?.() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  assert.is(body.status, 200);
  assert.is(body.data, 'hello GET /path?q=1');
  assert.is(body.protocol, 'TLSv1.3', 'res.socket is our Duplex, with tlsSocket.getProtocol()');
});

test('https.request reports a certificate failure as the request error', async (scope) => {
  const server = https.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (req, res) => res.end('no'));
  server.on('tlsClientError', () => {});
  const port = await listen(scope, server);
  const err = await new Promise((resolve) => {
    const req = https.request(`https://localhost:${port}/`, {
      createConnection: () => connectDuplex(net.connect(port, HOST), { servername: 'wrong.example', ca: pem('ca.pem') }),
    }, () => resolve(new Error('unexpected response')));
    req.on('error', resolve);
    req.end();
  });
  assert.is(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('64 MiB to a slow reader: memory stays bounded and every byte arrives intact', async (scope) => {
  const TOTAL = 64 * 1024 * 1024;
  const openssl = await getOpenSSL();
  const wasmServer = await createServer({ cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') });
  scope.defer(() => wasmServer.close());
  let received = 0;
  const serverHash = createHash('sha256');
  let serverDone;
  const served = new Promise((r) => { serverDone = r; });
  const tcp = net.createServer(async (socket) => {
    try {
      const conn = await wasmServer.accept(socket);
      const reader = conn.readable.getReader();
      for (let n = 0; ; n++) {
        const { value, done } = await reader.read();
        if (done) break;
        serverHash.update(value);
        received += value.length;
        if (n % 16 === 0) await new Promise((r) => setTimeout(r, 1)); // a slow reader
      }
      await conn.close();
      serverDone();
    } catch (e) { serverDone(e); }
  });
  const port = await listen(scope, tcp);
  const heapStart = openssl.heapUsed();
  let heapMax = heapStart;
  let socketMax = 0;
  const socket = net.connect(port, HOST);
  const client = await connect(socket, { servername: 'localhost', ca: pem('ca.pem') });
  scope.defer(() => client.close());
  const sampler = setInterval(() => {
    heapMax = Math.max(heapMax, openssl.heapUsed());
    socketMax = Math.max(socketMax, socket.writableLength ?? 0);
  }, 2);
  scope.defer(() => clearInterval(sampler));
  const clientHash = createHash('sha256');
  const writer = client.writable.getWriter();
  const chunk = new Uint8Array(256 * 1024);
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; sent < TOTAL; i++) {
      for (let j = 0; j < chunk.length; j += 4) chunk[j] = (i * 7 + j) & 0xff;
      await writer.ready; // a writer that respects backpressure
      await writer.write(chunk);
      clientHash.update(chunk);
      sent += chunk.length;
      // While the reader lags, the writer must be the one waiting, not buffers growing.
      assert.ok(sent - received < 16 * 1024 * 1024, `sent ${sent} but only ${received} received: unbounded buffering`);
    }
    await writer.close();
  })();
  const err = await Promise.all([sending, served]).then(([, e]) => e);
  clearInterval(sampler);
  if (err) throw err;
  assert.is(received, TOTAL);
  assert.is(serverHash.digest('hex'), clientHash.digest('hex'));
  // One connection's buffers are tens of KiB; 2 MiB of headroom is the ceiling.
  assert.ok(heapMax - heapStart < 2 * 1024 * 1024, `wasm heap grew by ${heapMax - heapStart} bytes`);
  assert.ok(socketMax < 2 * 1024 * 1024, `the socket buffered up to ${socketMax} bytes`);
  await client.close(); // nobody reads the client side, so close it rather than wait for the peer
}, 120_000);

test('the wasm server over node sockets with a native client', async (scope) => {
  const wasmServer = await createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key'), ALPNProtocols: ['http/1.1'] });
  scope.defer(() => wasmServer.close());
  const tcp = net.createServer(async (socket) => {
    try {
      const conn = await wasmServer.accept(socket);
      const reader = conn.readable.getReader();
      const { value } = await reader.read();
      const w = conn.writable.getWriter();
      await w.write(enc(`echo:${text(value)}`));
      await w.close();
    } catch {}
  });
  const port = await listen(scope, tcp);
  const reply = await new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: HOST, servername: 'localhost', ca: pem('ca.pem'), ALPNProtocols: ['http/1.1'] }, () => {
      s.write('hi');
    });
    scope.defer(() => s.destroy());
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => { resolve({ data, alpn: s.alpnProtocol }); s.end(); });
    s.on('error', reject);
  });
  assert.is(reply.data, 'echo:hi');
  assert.is(reply.alpn, 'http/1.1');
});

test('a TCP reset does not discard bytes that arrived before it (a peer\'s last alert)', async (scope) => {
  const srv = net.createServer((s) => {
    s.write('bytes before the reset');
    setTimeout(() => (s.resetAndDestroy ? s.resetAndDestroy() : s.destroy()), 20);
  });
  const port = await listen(scope, srv);
  const reader = fromSocket(net.connect(port, HOST)).readable.getReader();
  await new Promise((r) => setTimeout(r, 200)); // not reading while the data and the reset arrive
  const first = await reader.read();
  assert.is(text(first.value), 'bytes before the reset');
  const after = await reader.read().then(() => null, (e) => e);
  assert.ok(after === null || after.code === 'ECONNRESET', `then an end or the reset, got ${after}`);
});

t.run();
