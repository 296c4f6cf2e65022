// The WebSocket-to-TCP relay (dist/relay.js) in this runtime: the allowlist and its 4003
// refusal, TLS end to end through it with the package's connect(), a target that drops the TCP
// connection, text frames, refused TCP connections, backpressure both ways, origins, a shared
// HTTP server, option checks and shutdown.
// Everything listens on 127.0.0.1 with ephemeral ports; every test runs under a timer and
// closes every server, socket and WebSocket it made.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket as WsWebSocket } from 'ws';
import { connect, getOpenSSL } from '../dist/index.js';
import { createRelay } from '../dist/relay.js';
import { freePort, HOST, listen, pem, readAll, scaffold, Scope } from './helpers.js';

const t = suite('relay');
// Loaded first, so that connect() wraps a WebSocket before its first event can arrive.
t.before(async () => { await getOpenSSL(); });
const TIMEOUT = 15_000;
const { guard, test } = scaffold(t, TIMEOUT);
/** The runtime's WebSocket client: the global one (Deno, Bun, Node 22+), else the ws package's. */
const WebSocketClient = globalThis.WebSocket ?? WsWebSocket;
const CA = pem('ca.pem');

/** A relay allowing `allow`, closed by the scope. */
async function relay(scope, allow, options = {}) {
  const r = await createRelay({ port: 0, allow, ...options });
  scope.defer(() => r.close());
  return r;
}

/** A WebSocket to the relay for `target`, closed by the scope; `events` records what happens. */
function openWs(scope, r, target, { Client = WebSocketClient, options } = {}) {
  const ws = options ? new Client(`${r.url}?target=${target}`, options) : new Client(`${r.url}?target=${target}`);
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('error', () => {}); // the close event says what happened
  scope.defer(() => { if (ws.readyState < 2) ws.close(); });
  const closed = new Promise((resolve) => {
    ws.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason }), { once: true });
  });
  const opened = new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('close', (ev) => reject(new Error(`closed before open: ${ev.code} ${ev.reason}`)), { once: true });
  });
  opened.catch(() => {});
  return { ws, opened, closed };
}

/** A native HTTPS server answering every request with `body` (RSA chain from the fixtures). */
async function httpsServer(scope, handler) {
  const server = https.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, handler);
  server.on('tlsClientError', () => {});
  return listen(scope, server);
}

/** A TCP server that reads and says nothing; tells when its first connection comes, ends and closes. */
async function target(scope) {
  const signals = {};
  const connected = new Promise((resolve) => { signals.connected = resolve; });
  const targetEnded = new Promise((resolve) => { signals.ended = resolve; });
  const targetClosed = new Promise((resolve) => { signals.closed = resolve; });
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('end', () => signals.ended());
    s.on('close', () => { signals.ended(); signals.closed(); });
    s.resume();
    signals.connected();
  });
  const port = await listen(scope, server);
  return { port, connected, targetEnded, targetClosed };
}


/** Sends a GET through a TlsStream (Connection: close). */
async function get(secure, host) {
  const writer = secure.writable.getWriter();
  await writer.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  writer.releaseLock();
}

test('a target outside the allowlist is refused with 4003 and a reason naming it', async (scope) => {
  const port = await httpsServer(scope, (req, res) => res.end('no'));
  const r = await relay(scope, [`localhost:${port}`]);

  const outside = openWs(scope, r, 'localhost:9999');
  assert.equal(await outside.closed, { code: 4003, reason: 'target localhost:9999 is not allowed' });

  // Exact: the same server by another name is not the allowlisted target.
  const byAddress = openWs(scope, r, `127.0.0.1:${port}`);
  assert.equal(await byAddress.closed, { code: 4003, reason: `target 127.0.0.1:${port} is not allowed` });

  const none = openWs(scope, r, '');
  assert.is((await none.closed).code, 4003);

  // Through connect(): the handshake fails.
  const { ws } = openWs(scope, r, 'localhost:9999');
  const err = await connect(ws, { servername: 'localhost', ca: CA }).then(() => null, (e) => e);
  assert.ok(err instanceof Error, 'connect() rejects');
  assert.is(err.code, 'ECONNRESET');
  assert.is(r.connections, 0);
});

// With the ws package's client (Node 20), the relay's close frame often arrives before the
// ClientHello is written: fromWebSocket's write() then sees readyState CLOSING and throws
// "the WebSocket is closed" without waiting for the close event that carries the code and
// reason. Skipped there until transports.ts waits for that event.
t('connect() through a refused target rejects with the relay\'s code and reason', async () => {
  const scope = new Scope();
  try {
    await guard((async () => {
      const r = await relay(scope, ['localhost:1']);
      const { ws } = openWs(scope, r, 'localhost:9999');
      const err = await connect(ws, { servername: 'localhost', ca: CA }).then(() => null, (e) => e);
      assert.ok(err instanceof Error, 'connect() rejects');
      assert.match(err.message, 'code 4003');
      assert.match(err.message, 'target localhost:9999 is not allowed');
    })(), 'refused connect()');
  } finally {
    await scope.close();
  }
});

test('TLS through the relay: connect(ws) gets the HTTPS response, end to end', async (scope) => {
  const marker = `relay-ok-${Math.random().toString(36).slice(2)}`;
  const port = await httpsServer(scope, (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${marker} ${req.method} ${req.url} ${req.headers.host}`);
  });
  const events = [];
  const r = await relay(scope, [`localhost:${port}`], { onEvent: (e) => events.push(e) });
  const { ws } = openWs(scope, r, `localhost:${port}`);
  const secure = await connect(ws, { servername: 'localhost', ca: CA });
  scope.defer(() => secure.close());
  assert.is(secure.getProtocol(), 'TLSv1.3');
  assert.ok(secure.authorized);
  await get(secure, `localhost:${port}`);
  const response = await readAll(secure.readable);
  assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(response.endsWith(`\r\n\r\n${marker} GET / localhost:${port}`), response);
  await secure.close();
  await secure.closed;

  // The relay saw the connection open and close, and relayed ciphertext only.
  for (let i = 0; i < 100 && !events.some((e) => e.type === 'close'); i++) await new Promise((res) => setTimeout(res, 10));
  const open = events.find((e) => e.type === 'open');
  const close = events.find((e) => e.type === 'close');
  assert.is(open?.target, `localhost:${port}`);
  assert.ok(close && close.bytesUp > 0 && close.bytesDown > response.length, JSON.stringify(close));
});

test('a target that drops the TCP connection closes the WebSocket and fails the TLS connection', async (scope) => {
  const server = tls.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (socket) => {
    socket.once('data', () => socket.destroy()); // the request arrives: cut without close_notify
  });
  server.on('tlsClientError', () => {});
  const port = await listen(scope, server);
  const r = await relay(scope, [`localhost:${port}`]);
  const { ws, closed: wsClosed } = openWs(scope, r, `localhost:${port}`);
  const secure = await connect(ws, { servername: 'localhost', ca: CA });
  await get(secure, `localhost:${port}`);
  const readErr = await readAll(secure.readable).then(() => null, (e) => e);
  assert.ok(readErr instanceof Error, 'reading fails');
  const closedErr = await secure.closed.then(() => null, (e) => e);
  assert.ok(closedErr instanceof Error, '`closed` rejects');
  assert.is(closedErr, readErr);
  const { code } = await wsClosed;
  assert.ok(code === 1000 || code === 1011, `WebSocket close code ${code}`);
});

test('a text frame is refused with 1003 and the TCP connection is closed', async (scope) => {
  const { port, connected, targetClosed } = await target(scope);
  const r = await relay(scope, [`localhost:${port}`]);
  const { ws, opened, closed } = openWs(scope, r, `localhost:${port}`);
  await opened;
  await connected;
  ws.send('GET / HTTP/1.1\r\n\r\n');
  assert.equal(await closed, { code: 1003, reason: 'binary frames only' });
  await targetClosed;
});

test('a refused TCP connection closes the WebSocket with 1011 naming the error', async (scope) => {
  const port = await freePort();
  const r = await relay(scope, [`localhost:${port}`]);
  const { closed } = openWs(scope, r, `localhost:${port}`);
  const { code, reason } = await closed;
  assert.is(code, 1011);
  assert.match(reason, 'ECONNREFUSED');
  assert.match(reason, `localhost:${port}`);
});

test('the target closing its side closes the WebSocket with 1000 after the data before it', async (scope) => {
  const payload = new Uint8Array(300_000).map((_, i) => i * 7);
  const server = net.createServer((s) => { s.on('error', () => {}); s.end(payload); });
  const port = await listen(scope, server);
  const r = await relay(scope, [`localhost:${port}`]);
  const { ws, closed } = openWs(scope, r, `localhost:${port}`);
  const got = [];
  ws.addEventListener('message', (ev) => got.push(new Uint8Array(ev.data)));
  const { code } = await closed;
  assert.is(code, 1000);
  const all = new Uint8Array(got.reduce((n, c) => n + c.length, 0));
  let i = 0;
  for (const c of got) { all.set(c, i); i += c.length; }
  assert.is(all.length, payload.length);
  assert.ok(all.every((b, k) => b === payload[k]), 'the bytes arrive intact');
});

test('the WebSocket closing ends the TCP connection', async (scope) => {
  const { port, connected, targetEnded } = await target(scope);
  const r = await relay(scope, [`localhost:${port}`]);
  const { ws, opened } = openWs(scope, r, `localhost:${port}`);
  await opened;
  await connected;
  ws.close(1000);
  await targetEnded;
});

test('backpressure, target to client: the relay stops reading TCP while the WebSocket is backed up', async (scope) => {
  // Needs a client that can stop reading: the ws package's (ws.pause()).
  const total = 48 * 1024 * 1024;
  const block = new Uint8Array(64 * 1024).fill(0x5a);
  let accepted = 0;
  let finished;
  const writerDone = new Promise((resolve) => { finished = resolve; });
  const server = net.createServer((s) => {
    s.on('error', () => {});
    const pump = () => {
      while (accepted < total) {
        accepted += block.length;
        if (!s.write(block)) return s.once('drain', pump);
      }
      s.end(finished);
    };
    pump();
  });
  const port = await listen(scope, server);
  const r = await relay(scope, [`localhost:${port}`]);
  const { ws, opened, closed } = openWs(scope, r, `localhost:${port}`, { Client: WsWebSocket });
  let received = 0;
  ws.addEventListener('message', (ev) => { received += ev.data.byteLength; });
  await opened;
  ws.pause();
  await new Promise((res) => setTimeout(res, 1000));
  // Kernel buffers on both hops hold a few MiB; without backpressure the relay would have
  // read all 48 MiB into memory by now.
  assert.ok(accepted < total / 2, `the target wrote ${accepted} of ${total} bytes while the client was paused`);
  ws.resume();
  await writerDone;
  assert.is((await closed).code, 1000);
  assert.is(received, total);
});

test('backpressure, client to target: the relay stops reading the WebSocket while TCP is backed up', async (scope) => {
  const total = 48 * 1024 * 1024;
  let target;
  let received = 0;
  let onConnected;
  const connected = new Promise((resolve) => { onConnected = resolve; });
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => { received += d.length; });
    s.pause(); // reads nothing until told
    target = s;
    onConnected();
  });
  const port = await listen(scope, server);
  const r = await relay(scope, [`localhost:${port}`]);
  const { ws, opened } = openWs(scope, r, `localhost:${port}`);
  await opened;
  await connected;
  const block = new Uint8Array(256 * 1024).fill(0xa5);
  for (let sent = 0; sent < total; sent += block.length) ws.send(block);
  await new Promise((res) => setTimeout(res, 1000));
  // The relay stopped reading the WebSocket, so most of it still waits on the client's side
  // (kernel buffers hold a few MiB); without backpressure the relay would hold it all.
  assert.ok(ws.bufferedAmount > total / 2, `the client still holds ${ws.bufferedAmount} of ${total} bytes`);
  target.resume();
  while (received < total) await new Promise((res) => setTimeout(res, 20));
  assert.is(received, total);
});

test('close() closes open connections with 1001 and destroys their TCP side', async (scope) => {
  const { port, connected, targetClosed } = await target(scope);
  const r = await relay(scope, [`localhost:${port}`]);
  const { opened, closed } = openWs(scope, r, `localhost:${port}`);
  await opened;
  await connected;
  assert.is(r.connections, 1);
  const relayPort = r.port;
  await r.close();
  assert.is((await closed).code, 1001);
  await targetClosed;
  assert.is(r.connections, 0);
  // Nothing listens any more.
  const err = await new Promise((resolve) => {
    const s = net.connect(relayPort, HOST);
    s.on('connect', () => { s.destroy(); resolve(null); });
    s.on('error', resolve);
  });
  assert.is(err?.code, 'ECONNREFUSED');
});

test('origins: a browser page from another origin is refused with 4003', async (scope) => {
  const port = await freePort();
  const r = await relay(scope, [`localhost:${port}`], { origins: ['http://app.example'] });
  const other = openWs(scope, r, `localhost:${port}`, { Client: WsWebSocket, options: { origin: 'http://evil.example' } });
  assert.equal(await other.closed, { code: 4003, reason: 'origin http://evil.example is not allowed' });
  const same = openWs(scope, r, `localhost:${port}`, { Client: WsWebSocket, options: { origin: 'http://app.example' } });
  assert.is((await same.closed).code, 1011); // let through: the TCP connection is what fails
});

test('attached to an HTTP server at a path: relays there, 404 elsewhere, and leaves the server running', async (scope) => {
  const marker = `shared-${Math.random().toString(36).slice(2)}`;
  const port = await httpsServer(scope, (req, res) => res.end(marker));
  const http = (await import('node:http')).createServer((req, res) => res.end('page'));
  const httpPort = await listen(scope, http);
  const r = await createRelay({ server: http, path: '/relay', allow: [`localhost:${port}`] });
  scope.defer(() => r.close());
  assert.is(r.url, `ws://${HOST}:${httpPort}/relay`);
  assert.is(r.port, httpPort);

  const { ws } = openWs(scope, r, `localhost:${port}`);
  const secure = await connect(ws, { servername: 'localhost', ca: CA });
  scope.defer(() => secure.close());
  await get(secure, 'localhost');
  assert.ok((await readAll(secure.readable)).endsWith(marker));

  const elsewhere = openWs(scope, { url: `ws://${HOST}:${httpPort}/other` }, `localhost:${port}`);
  const err = await elsewhere.opened.then(() => null, (e) => e);
  assert.ok(err instanceof Error, 'no WebSocket at another path');
  const answer = await new Promise((resolve, reject) => {
    const s = net.connect(httpPort, HOST, () => s.write(`GET /other?target=localhost:${port} HTTP/1.1\r\nHost: x\r\n`
      + 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'));
    let got = '';
    s.on('data', (d) => { got += d; });
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(answer, 'no relay at /other');

  await r.close();
  const res = await fetch(`http://${HOST}:${httpPort}/`);
  assert.is(await res.text(), 'page');
});

test('options are checked: host:port entries, a non-empty allowlist, port or server', async () => {
  for (const [options, message] of [
    [{ port: 0, allow: ['localhost'] }, 'allow: "localhost" is not host:port'],
    [{ port: 0, allow: ['localhost:0'] }, 'allow: "localhost:0" is not host:port'],
    [{ port: 0, allow: ['localhost:65536'] }, 'is not host:port'],
    [{ port: 0, allow: ['http://localhost:80'] }, 'is not host:port'],
    [{ port: 0, allow: ['[localhost]:80'] }, 'is not host:port'],
    [{ port: 0, allow: ['localhost:8443', 'example.com:443', '[::1]:443', '192.0.2.1:443', 'LOCALHOST:1'], path: 'relay' }, 'must start with /'],
    [{ port: 0, allow: [] }, 'allow: list at least one host:port'],
    [{ allow: ['localhost:1'] }, 'give either port or server'],
    [{ port: 0, allow: ['localhost:1'], path: 'relay' }, 'must start with /'],
  ]) {
    const err = await createRelay(options).then(() => null, (e) => e);
    assert.ok(err instanceof TypeError, `${JSON.stringify(options)} throws a TypeError`);
    assert.match(err.message, message);
  }
});

test('an HTTP request that is not a WebSocket upgrade gets 426', async (scope) => {
  const r = await relay(scope, ['localhost:1']);
  const res = await fetch(`http://${HOST}:${r.port}/`);
  assert.is(res.status, 426);
  assert.match(await res.text(), '?target=host:port');
});

t.run();
