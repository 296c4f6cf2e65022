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
import { pem, runtime } from './helpers.js';

const t = suite('sockets');

/** Rejects after `ms` so a hang fails the test instead of the run. */
function within(ms, promise, what) {
  let timer;
  const guard = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms); });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const closeServer = (server) => new Promise((resolve) => server.close(() => resolve()));

t('https.request through connectDuplex gets a real response from a node HTTPS server', async () => {
  const server = https.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello ${req.method} ${req.url}`); // (Bun's server sockets have no getProtocol())
  });
  const port = await listen(server);
  try {
    const body = await within(10_000, new Promise((resolve, reject) => {
      const req = https.request(`https://localhost:${port}/path?q=1`, {
        createConnection: () => connectDuplex(net.connect(port, '127.0.0.1'), { servername: 'localhost', ca: pem('ca.pem') }),
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve({ status: res.statusCode, data, protocol: res.socket?.getProtocol?.() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }), 'https.request');
    assert.is(body.status, 200);
    assert.is(body.data, 'hello GET /path?q=1');
    assert.is(body.protocol, 'TLSv1.3', 'res.socket is our Duplex, with tlsSocket.getProtocol()');
  } finally {
    server.closeAllConnections?.();
    await closeServer(server);
  }
});

t('https.request reports a certificate failure as the request error', async () => {
  const server = https.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (req, res) => res.end('no'));
  server.on('tlsClientError', () => {});
  const port = await listen(server);
  try {
    const err = await within(10_000, new Promise((resolve) => {
      const req = https.request(`https://localhost:${port}/`, {
        createConnection: () => connectDuplex(net.connect(port, '127.0.0.1'), { servername: 'wrong.example', ca: pem('ca.pem') }),
      }, () => resolve(new Error('unexpected response')));
      req.on('error', resolve);
      req.end();
    }), 'https.request');
    assert.is(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    await closeServer(server);
  }
});

t('64 MiB to a slow reader: memory stays bounded and every byte arrives intact', async () => {
  const TOTAL = 64 * 1024 * 1024;
  const openssl = await getOpenSSL();
  const wasmServer = await createServer({ cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') });
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
  const port = await listen(tcp);
  const heapStart = openssl.heapUsed();
  let heapMax = heapStart;
  let socketMax = 0;
  try {
    const socket = net.connect(port, '127.0.0.1');
    const client = await connect(socket, { servername: 'localhost', ca: pem('ca.pem') });
    const sampler = setInterval(() => {
      heapMax = Math.max(heapMax, openssl.heapUsed());
      socketMax = Math.max(socketMax, socket.writableLength ?? 0);
    }, 2);
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
    const err = await within(120_000, Promise.all([sending, served]).then(([, e]) => e), '64 MiB transfer');
    clearInterval(sampler);
    if (err) throw err;
    assert.is(received, TOTAL);
    assert.is(serverHash.digest('hex'), clientHash.digest('hex'));
    // One connection's buffers are tens of KiB; 2 MiB of headroom is the ceiling.
    assert.ok(heapMax - heapStart < 2 * 1024 * 1024, `wasm heap grew by ${heapMax - heapStart} bytes`);
    assert.ok(socketMax < 2 * 1024 * 1024, `the socket buffered up to ${socketMax} bytes`);
    await client.close(); // nobody reads the client side, so close it rather than wait for the peer
  } finally {
    wasmServer.close();
    await closeServer(tcp);
  }
});

t('the wasm server over node sockets with a native client', async () => {
  const wasmServer = await createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key'), ALPNProtocols: ['http/1.1'] });
  const tcp = net.createServer(async (socket) => {
    try {
      const conn = await wasmServer.accept(socket);
      const reader = conn.readable.getReader();
      const { value } = await reader.read();
      const w = conn.writable.getWriter();
      await w.write(new TextEncoder().encode(`echo:${new TextDecoder().decode(value)}`));
      await w.close();
    } catch {}
  });
  const port = await listen(tcp);
  try {
    const reply = await within(10_000, new Promise((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: pem('ca.pem'), ALPNProtocols: ['http/1.1'] }, () => {
        s.write('hi');
      });
      let data = '';
      s.on('data', (d) => { data += d; });
      s.on('end', () => { resolve({ data, alpn: s.alpnProtocol }); s.end(); });
      s.on('error', reject);
    }), 'native client');
    assert.is(reply.data, 'echo:hi');
    assert.is(reply.alpn, 'http/1.1');
  } finally {
    wasmServer.close();
    await closeServer(tcp);
  }
});

t('a TCP reset does not discard bytes that arrived before it (a peer\'s last alert)', async () => {
  const srv = net.createServer((s) => {
    s.write('bytes before the reset');
    setTimeout(() => (s.resetAndDestroy ? s.resetAndDestroy() : s.destroy()), 20);
  });
  const port = await listen(srv);
  try {
    const reader = fromSocket(net.connect(port, '127.0.0.1')).readable.getReader();
    await new Promise((r) => setTimeout(r, 200)); // not reading while the data and the reset arrive
    const first = await within(5000, reader.read(), 'read');
    assert.is(new TextDecoder().decode(first.value), 'bytes before the reset');
    const after = await within(5000, reader.read().then(() => null, (e) => e), 'read after');
    assert.ok(after === null || after.code === 'ECONNRESET', `then an end or the reset, got ${after}`);
  } finally {
    await closeServer(srv);
  }
});

t.run();
