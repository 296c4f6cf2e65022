// The Wisp client (dist/wisp.js) in this runtime, against the Wisp servers users run
// (@mercuryworkshop/wisp-js and wisp-server-node, from npm, in a Node child process: see
// wisp-servers.mjs) and against a scripted Wisp server in this process for what those two
// cannot be made to do (exact credit, every close reason, authentication refusals, malformed
// packets). Also fromWebSocket's connect timeout, with wisp-js's WispWebSocket polyfill.
// Everything listens on 127.0.0.1 with ephemeral ports; every test runs under a timer and
// closes every server, socket and WebSocket it made.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer as createHttpServer } from 'node:http';
import net from 'node:net';
import { WebSocket as WsWebSocket, WebSocketServer } from 'ws';
import { connect, fromWebSocket, getOpenSSL, TlsError, WispClient, WispError } from '../dist/index.js';
import { echo, freePort, HOST, listen, nodeTlsEchoServer, payload, pem, runtime, scaffold, startNodeChild } from './helpers.js';

const t = suite('wisp');
const { test } = scaffold(t, 30_000);
/** The runtime's WebSocket client: the global one (Deno, Bun, Node 22+), else the ws package's. */
const WebSocketClient = globalThis.WebSocket ?? WsWebSocket;
const CA = pem('ca.pem');
const TLS_OPTIONS = { servername: 'localhost', ca: CA };

// ------------------------------------------------------------ the npm servers, in Node

const servers = {};
let children;

t.before(async () => {
  await getOpenSSL();
  children = await startNodeChild(new URL('./wisp-servers.mjs', import.meta.url), [], { label: 'the Wisp servers' });
  Object.assign(servers, children.ready);
});

t.after(() => children?.stop());

/** Sends a command to wisp-servers.mjs and returns its answer. */
const command = (line) => children.ask(line);

const wispUrl = (name) => `ws://${HOST}:${servers[name]}/`;

/** A WispClient for the named npm server, closed by the scope. */
function client(scope, name, options = {}) {
  const c = new WispClient(wispUrl(name), { WebSocket: WebSocketClient, ...options });
  scope.defer(() => c.close());
  return c;
}

// ------------------------------------------------------------ targets





const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rejection = (p) => p.then(() => null, (e) => e);
/** The WispError behind an error from connect(): itself, or a TlsError's cause. */
const wispError = (e) => (e instanceof WispError ? e : e?.cause);

// ------------------------------------------------------------ TLS through the npm servers

for (const [name, version] of [['wispjs', 2], ['wispnode', 1]]) {
  test(`${name}: 20 TLS connections in parallel over one WebSocket (Wisp v${version}), each verified and echoed`, async (scope) => {
    const port = await nodeTlsEchoServer(scope);
    const wisp = client(scope, name);
    const before = (await command(`upgrades ${name}`)).upgrades;
    const info = await wisp.ready();
    assert.is(info.version, version);
    if (version === 2) assert.is(info.motd, 'openssl-tls-wasm test server');
    assert.ok(info.bufferSize > 0, 'the server granted credit');

    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const secure = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
      try {
        assert.ok(secure.authorized, `connection ${i} verified`);
        assert.is(secure.getProtocol(), 'TLSv1.3');
        const data = payload(i, 48 * 1024 + i);
        const got = await echo(secure, data);
        assert.is(got.length, data.length);
        assert.ok(got.every((b, k) => b === data[k]), `connection ${i}: the echo is intact`);
        return i;
      } finally {
        await secure.close();
      }
    }));
    assert.equal(results, Array.from({ length: 20 }, (_, i) => i));
    assert.is(wisp.connections, 1, 'one WebSocket');
    assert.is((await command(`upgrades ${name}`)).upgrades - before, 1, 'the server saw one upgrade');
  });
}

test('version: 1 speaks v1 to a v2 server (wisp-js)', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const wisp = client(scope, 'wispjs', { version: 1 });
  assert.is((await wisp.ready()).version, 1);
  const secure = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  const got = await echo(secure, payload(1, 1000));
  assert.is(got.length, 1000);
  await secure.close();
});

// ------------------------------------------------------------ close reasons from the npm servers

test('a refused port: wisp-server-node says 0x44, the stream fails with ECONNREFUSED, and so does connect()', async (scope) => {
  const port = await freePort();
  const wisp = client(scope, 'wispnode');
  const stream = wisp.connect(HOST, port);
  const err = await rejection(stream.closed);
  assert.instance(err, WispError);
  assert.is(err.code, 'ECONNREFUSED');
  assert.is(err.closeReason, 0x44);
  assert.is(err.closeReasonName, 'ConnRefused');
  assert.is(err.message, `the Wisp server could not connect to ${HOST}:${port}: the destination refused the connection (0x44 ConnRefused)`);
  const readErr = await rejection(stream.readable.getReader().read());
  assert.is(readErr, err, 'the readable fails with it');

  // connect() rejects with the same code: a TlsError whose cause is the WispError when the
  // handshake was reading, the WispError itself when it was writing.
  const tlsErr = await rejection(connect(wisp.connect(HOST, port), TLS_OPTIONS));
  assert.ok(tlsErr instanceof TlsError || tlsErr instanceof WispError, String(tlsErr));
  assert.is(tlsErr.code, 'ECONNREFUSED');
  assert.match(tlsErr.message, '0x44 ConnRefused');
  assert.is(wispError(tlsErr).closeReason, 0x44);
  assert.is(wisp.connections, 1, 'a stream failing leaves the WebSocket open');
});

test('a refused port: wisp-js says 0x03 (network error), ERR_WISP_NETWORK_ERROR', async (scope) => {
  const port = await freePort();
  const wisp = client(scope, 'wispjs');
  const err = await rejection(wisp.connect(HOST, port).closed);
  assert.instance(err, WispError);
  assert.is(err.code, 'ERR_WISP_NETWORK_ERROR');
  assert.is(err.closeReason, 0x03);
  assert.match(err.message, `could not connect to ${HOST}:${port}: closed by a network error (0x03 NetworkError)`);
});

test('a destination blocked by the server\'s policy (wisp-js hostname_blacklist): 0x48, EACCES', async (scope) => {
  const wisp = client(scope, 'wispjs');
  const err = await rejection(connect(wisp.connect('blocked.invalid', 443), TLS_OPTIONS));
  assert.is(err.code, 'EACCES');
  assert.is(wispError(err).closeReason, 0x48);
  assert.match(err.message, 'could not connect to blocked.invalid:443: the destination is blocked by the server\'s policy (0x48 HostBlocked)');
});

// ------------------------------------------------------------ the WebSocket dropping

test('the WebSocket dropping fails every open stream with ECONNRESET; the next stream opens a new WebSocket', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const wisp = client(scope, 'wispjs');
  const conns = await Promise.all([0, 1, 2].map(() => connect(wisp.connect(HOST, port), TLS_OPTIONS)));
  for (const c of conns) assert.is((await echo(c, payload(0, 100))).length, 100);
  assert.is(wisp.streams, 3);
  const pendingReads = conns.map((c) => rejection(c.readable.getReader().read()));

  assert.ok((await command('drop wispjs')).dropped >= 1);
  const errors = await Promise.all(pendingReads);
  for (const e of errors) {
    assert.instance(e, Error);
    assert.is(e.code, 'ECONNRESET');
    assert.match(e.message, 'every stream on it is lost');
  }
  for (const c of conns) assert.instance(await rejection(c.closed), Error);
  assert.is(wisp.streams, 0);

  const again = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  assert.is((await echo(again, payload(9, 5000))).length, 5000);
  await again.close();
  assert.is(wisp.connections, 2, 'a second WebSocket');
});

// ------------------------------------------------------------ flow control, real server

/** A TCP server that streams `total` bytes to each connection as fast as it can. */
async function firehose(scope, total) {
  const state = { written: 0, closed: false };
  let onClose;
  state.closedPromise = new Promise((r) => { onClose = r; });
  const block = new Uint8Array(64 * 1024).fill(0x5a);
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('close', () => { state.closed = true; onClose(); });
    const pump = () => {
      while (state.written < total && !s.destroyed) {
        state.written += block.length;
        if (!s.write(block)) return s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  state.port = await listen(scope, server);
  return state;
}

test('a reader that does not read: the stream queues at most maxBuffered, then fails with ERR_WISP_OVERRUN and tells the server', async (scope) => {
  const limit = 256 * 1024;
  const target = await firehose(scope, 16 * 1024 * 1024);
  const wisp = client(scope, 'wispjs', { maxBuffered: limit });
  const stream = wisp.connect(HOST, target.port);
  const err = await rejection(stream.closed);
  assert.instance(err, WispError);
  assert.is(err.code, 'ERR_WISP_OVERRUN');
  assert.match(err.message, `over the ${limit}-byte limit`);
  // At most one packet (64 KiB from wisp-js) past the limit before the stream failed.
  assert.ok(stream.peakBufferedAmount <= limit + 64 * 1024 + 5, `peak ${stream.peakBufferedAmount}`);
  assert.is(stream.bufferedAmount, 0, 'the queue was dropped');
  await target.closedPromise; // the server got CLOSE 0x81 and closed the TCP connection
  // The WebSocket and the other streams carry on.
  const port = await nodeTlsEchoServer(scope);
  const secure = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  assert.is((await echo(secure, payload(3, 10_000))).length, 10_000);
  await secure.close();
});

test('a slow reader gets every byte while the server stays within maxBuffered', async (scope) => {
  const total = 2 * 1024 * 1024;
  const target = await firehose(scope, total);
  const wisp = client(scope, 'wispjs', { maxBuffered: 4 * 1024 * 1024 });
  const stream = wisp.connect(HOST, target.port);
  const reader = stream.readable.getReader();
  let n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    assert.ok(value.every((b) => b === 0x5a));
    n += value.length;
    await sleep(1);
  }
  assert.is(n, total);
  assert.ok(stream.peakBufferedAmount <= 4 * 1024 * 1024);
  await stream.closed; // the server closed the stream voluntarily (0x02): a clean end
});

/** A WebSocket class that records the Wisp packets it sends and the CONTINUEs it receives. */
function creditAudit() {
  const audit = { allowed: new Map(), initial: 0, sent: 0, violations: 0, continues: 0 };
  const account = (bytes, out) => {
    if (bytes.length < 5) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const [type, id] = [bytes[0], view.getUint32(1, true)];
    if (out && type === 2) {
      audit.sent++;
      const left = (audit.allowed.has(id) ? audit.allowed.get(id) : audit.initial) - 1;
      audit.allowed.set(id, left);
      if (left < 0) audit.violations++;
    } else if (!out && type === 3) {
      if (id === 0) audit.initial = view.getUint32(5, true);
      else { audit.allowed.set(id, view.getUint32(5, true)); audit.continues++; }
    }
  };
  class Audited extends WebSocketClient {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => {
        if (ev.data instanceof ArrayBuffer) account(new Uint8Array(ev.data), false);
      });
    }
    send(data) {
      account(data, true);
      super.send(data);
    }
  }
  return { audit, Audited };
}

test('sending honours the server\'s credit: a target that stops reading makes writes wait, never overrunning the grant (wisp-js)', async (scope) => {
  let sink;
  let received = 0;
  let onConnected;
  const connected = new Promise((r) => { onConnected = r; });
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => { received += d.length; });
    s.pause(); // reads nothing until told
    sink = s;
    onConnected();
  });
  const port = await listen(scope, server);
  const { audit, Audited } = creditAudit();
  const wisp = client(scope, 'wispjs', { WebSocket: Audited });
  const stream = wisp.connect(HOST, port);
  await connected;
  const writer = stream.writable.getWriter();
  const chunk = new Uint8Array(16 * 1024).fill(7);
  const max = 64 * 1024 * 1024;
  let written = 0;
  let stalled;
  while (written < max) {
    const w = writer.write(chunk);
    const done = await Promise.race([w.then(() => true), sleep(1000).then(() => false)]);
    if (!done) { stalled = w; break; }
    written += chunk.length;
  }
  assert.ok(stalled, `writes waited (after ${written} bytes)`);
  assert.is(stream.credit, 0, 'the credit is used up');
  assert.is(audit.violations, 0, 'never more DATA packets than the server allowed');
  assert.ok(audit.initial > 0 && audit.sent > audit.initial, `credit was renewed (${audit.continues} CONTINUEs)`);

  sink.resume();
  await stalled;
  await writer.write(chunk);
  written += 2 * chunk.length; // the stalled write and this one
  while (received < written) await sleep(20);
  assert.is(received, written, 'every byte arrived, in order and once');
  assert.is(audit.violations, 0);
  await writer.close();
});

// ------------------------------------------------------------ a scripted Wisp server

/** A Wisp server written out packet by packet; `onConnection(peer)` drives each WebSocket. */
async function scripted(scope, onConnection, { handleProtocols } = {}) {
  const wss = new WebSocketServer({ noServer: true, handleProtocols });
  const http = createHttpServer((req, res) => { res.writeHead(426); res.end(); });
  http.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      onConnection(new Peer(ws));
    });
  });
  scope.defer(() => { for (const c of wss.clients) c.terminate(); });
  const port = await listen(scope, http);
  return `ws://${HOST}:${port}/`;
}

class Peer {
  packets = [];
  #wake;
  constructor(ws) {
    this.ws = ws;
    this.protocol = ws.protocol;
    this.closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    ws.on('message', (data) => {
      const b = new Uint8Array(data);
      this.packets.push({ type: b[0], id: new DataView(b.buffer, b.byteOffset).getUint32(1, true), payload: b.subarray(5) });
      this.#wake?.();
    });
  }
  send(type, id, payload = []) {
    const b = new Uint8Array(5 + payload.length);
    b[0] = type;
    new DataView(b.buffer).setUint32(1, id, true);
    b.set(payload, 5);
    this.ws.send(b);
  }
  continue(id, n) {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setUint32(0, n, true);
    this.send(3, id, p);
  }
  close(id, reason) { this.send(4, id, [reason]); }
  info(extensions = []) {
    this.send(5, 0, [2, 0, ...extensions.flatMap(([id, data]) => [id, data.length & 0xff, (data.length >> 8) & 0xff, 0, 0, ...data])]);
  }
  /** The next packet matching `pred` (kept ones included). */
  async next(pred = () => true) {
    for (;;) {
      const i = this.packets.findIndex(pred);
      if (i >= 0) return this.packets.splice(i, 1)[0];
      await new Promise((r) => { this.#wake = r; });
    }
  }
  count(type) { return this.packets.filter((p) => p.type === type).length; }
  /** Waits until `n` packets of `type` have arrived. */
  async until(type, n) {
    while (this.count(type) < n) await new Promise((r) => { this.#wake = r; });
  }
}

const scriptedClient = (scope, url, options = {}) => {
  const c = new WispClient(url, { WebSocket: WebSocketClient, ...options });
  scope.defer(() => c.close());
  return c;
};

test('credit, exactly: 4 granted, 4 sent; each CONTINUE lets exactly that many more through', async (scope) => {
  let peer;
  let onPeer;
  const gotPeer = new Promise((r) => { onPeer = r; });
  const url = await scripted(scope, (p) => { peer = p; p.continue(0, 4); onPeer(); });
  const wisp = scriptedClient(scope, url, { version: 1 });
  const stream = wisp.connect('127.0.0.1', 7);
  await gotPeer;
  const writer = stream.writable.getWriter();
  const writes = Array.from({ length: 10 }, (_, i) => writer.write(new Uint8Array([i])));
  const connectPacket = await peer.next((p) => p.type === 1);
  assert.is(connectPacket.id, stream.id);
  assert.equal([...connectPacket.payload.subarray(0, 3)], [1, 7, 0], 'TCP, port 7 (little-endian)');
  assert.is(new TextDecoder().decode(connectPacket.payload.subarray(3)), '127.0.0.1');
  await writes[3];
  await peer.until(2, 4);
  await sleep(200);
  assert.is(peer.count(2), 4, 'four DATA packets, then nothing');
  assert.is(stream.credit, 0);
  peer.continue(stream.id, 3);
  await writes[6];
  await peer.until(2, 7);
  await sleep(200);
  assert.is(peer.count(2), 7);
  peer.continue(stream.id, 10);
  await Promise.all(writes);
  await peer.until(2, 10);
  assert.equal(peer.packets.filter((p) => p.type === 2).map((p) => p.payload[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(stream.credit, 7);
  await writer.close();
  const close = await peer.next((p) => p.type === 4);
  assert.equal([close.id, close.payload[0]], [stream.id, 0x02], 'closing the writable sends CLOSE 0x02');
});

/**
 * A scripted peer's answer to each CONNECT packet: `onConnect(id, port)` for the stream's id
 * and the port the client asked for.
 */
function onConnect(peer, handler) {
  peer.ws.on('message', (data) => {
    const b = new Uint8Array(data);
    if (b[0] !== 1) return;
    handler(new DataView(b.buffer, b.byteOffset).getUint32(1, true), b[6] | (b[7] << 8));
  });
}

test('every close reason becomes an error with node\'s code where one fits, else the reason\'s name and number', async (scope) => {
  const url = await scripted(scope, (peer) => {
    peer.continue(0, 16);
    onConnect(peer, (id, port) => peer.close(id, port));
  });
  const wisp = scriptedClient(scope, url, { version: 1 });
  // The scripted server closes each stream with its port number as the reason.
  const cases = [
    [0x01, HOST, 'ERR_WISP_UNKNOWN', 'Unknown'],
    [0x03, HOST, 'ERR_WISP_NETWORK_ERROR', 'NetworkError'],
    [0x04, HOST, 'ERR_WISP_INCOMPATIBLE_EXTENSIONS', 'IncompatibleExtensions'],
    [0x41, HOST, 'ERR_WISP_INVALID_INFO', 'InvalidInfo'],
    [0x42, HOST, 'EHOSTUNREACH', 'UnreachableHost'],
    [0x42, 'no-such-name.invalid', 'ENOTFOUND', 'UnreachableHost'],
    [0x43, HOST, 'ETIMEDOUT', 'NoResponse'],
    [0x44, HOST, 'ECONNREFUSED', 'ConnRefused'],
    [0x47, HOST, 'ETIMEDOUT', 'TransferTimeout'],
    [0x48, HOST, 'EACCES', 'HostBlocked'],
    [0x49, HOST, 'ERR_WISP_THROTTLED', 'ConnThrottled'],
    [0xc0, HOST, 'ERR_WISP_AUTH_FAILED', 'AuthBadPassword'],
    [0xc2, HOST, 'ERR_WISP_AUTH_REQUIRED', 'AuthMissingCredentials'],
    [0x99, HOST, 'ERR_WISP_CLOSE_0x99', undefined],
  ];
  for (const [reason, host, code, name] of cases) {
    const err = await rejection(wisp.connect(host, reason).closed);
    assert.instance(err, WispError, `reason ${reason}`);
    assert.is(err.code, code, `reason 0x${reason.toString(16)}`);
    assert.is(err.closeReason, reason);
    assert.is(err.closeReasonName, name);
    assert.is(err.host, host);
    assert.match(err.message, `(0x${reason.toString(16).padStart(2, '0')} ${name ?? 'Reason0x99'})`);
  }
  assert.is(wisp.connections, 1);
});

test('CLOSE 0x02 after data ends the readable cleanly, after the data; writing then fails with EPIPE', async (scope) => {
  const url = await scripted(scope, (peer) => {
    peer.continue(0, 16);
    onConnect(peer, (id) => {
      peer.send(2, id, new TextEncoder().encode('last words'));
      peer.close(id, 0x02);
    });
  });
  const wisp = scriptedClient(scope, url);
  const stream = wisp.connect(HOST, 80);
  await stream.closed;
  const reader = stream.readable.getReader();
  assert.is(new TextDecoder().decode((await reader.read()).value), 'last words');
  assert.ok((await reader.read()).done);
  const err = await rejection(stream.writable.getWriter().write(new Uint8Array(1)));
  assert.is(err?.code, 'EPIPE');
});

test('a stream failing after data still delivers the data first (a peer\'s last alert is not lost)', async (scope) => {
  const url = await scripted(scope, (peer) => {
    peer.continue(0, 16);
    onConnect(peer, (id) => {
      peer.send(2, id, [21, 3, 3, 0, 2, 2, 40]); // a TLS fatal alert, then a reset
      peer.close(id, 0x03);
    });
  });
  const wisp = scriptedClient(scope, url);
  const stream = wisp.connect(HOST, 443);
  await rejection(stream.closed);
  const reader = stream.readable.getReader();
  assert.equal([...(await reader.read()).value], [21, 3, 3, 0, 2, 2, 40]);
  const err = await rejection(reader.read());
  assert.is(err?.code, 'ERR_WISP_NETWORK_ERROR');
  assert.match(err.message, 'closed the stream to'); // data had arrived: not "could not connect"
});

// ------------------------------------------------------------ versions and authentication

test('v2: INFO first means v2; the client answers with INFO before the server\'s CONTINUE', async (scope) => {
  let seen;
  const url = await scripted(scope, async (peer) => {
    peer.info([[0x04, [...new TextEncoder().encode('hello')]], [0x01, []]]);
    const info = await peer.next((p) => p.type === 5);
    seen = { protocol: peer.protocol, id: info.id, version: [...info.payload.subarray(0, 2)] };
    peer.continue(0, 8);
  });
  const wisp = scriptedClient(scope, url);
  const info = await wisp.ready();
  assert.equal(seen, { protocol: 'wisp-v2', id: 0, version: [2, 0] });
  assert.is(info.version, 2);
  assert.is(info.motd, 'hello');
  assert.equal([...info.extensions], [0x04, 0x01]);
  assert.is(info.bufferSize, 8);
});

test('a server that refuses the wisp-v2 subprotocol is tried again without it (v1)', async (scope) => {
  const protocols = [];
  const url = await scripted(scope, (peer) => {
    protocols.push(peer.protocol);
    peer.continue(0, 8);
  }, { handleProtocols: () => false });
  const wisp = scriptedClient(scope, url);
  assert.is((await wisp.ready()).version, 1);
  assert.is(protocols.at(-1), '');
});

const PASSWORD_REQUIRED = [[0x02, [1]]];

test('v2 password authentication: the credentials go in the client\'s INFO when the server requires them', async (scope) => {
  let creds;
  const url = await scripted(scope, async (peer) => {
    peer.info(PASSWORD_REQUIRED);
    const info = await peer.next((p) => p.type === 5);
    const ext = info.payload.subarray(2);
    const len = ext[1] | (ext[2] << 8);
    const body = ext.subarray(5, 5 + len);
    const ulen = body[0];
    const plen = body[1] | (body[2] << 8);
    const dec = new TextDecoder();
    creds = { id: ext[0], user: dec.decode(body.subarray(3, 3 + ulen)), pass: dec.decode(body.subarray(3 + ulen, 3 + ulen + plen)) };
    if (creds.user === 'alice' && creds.pass === 'pässwörd') peer.continue(0, 8);
    else { peer.close(0, 0xc0); peer.ws.close(); }
  });
  const ok = scriptedClient(scope, url, { username: 'alice', password: 'pässwörd' });
  assert.is((await ok.ready()).version, 2);
  assert.equal(creds, { id: 0x02, user: 'alice', pass: 'pässwörd' });

  const wrong = scriptedClient(scope, url, { username: 'alice', password: 'guess' });
  const err = await rejection(wrong.connect(HOST, 443).closed);
  assert.instance(err, WispError);
  assert.is(err.code, 'ERR_WISP_AUTH_FAILED');
  assert.match(err.message, 'the server refused the username and password (0xc0 AuthBadPassword)');

  const none = scriptedClient(scope, url);
  const missing = await rejection(none.ready());
  assert.is(missing.code, 'ERR_WISP_AUTH_REQUIRED');
  assert.match(missing.message, 'requires a username and password');
  assert.match(missing.message, 'pass the username and password options');
});

test('wisp-js announcing required password auth: no credentials fails clearly, credentials get through', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const none = client(scope, 'wispjsAuth');
  const err = await rejection(connect(none.connect(HOST, port), TLS_OPTIONS));
  assert.is(err.code, 'ERR_WISP_AUTH_REQUIRED');
  assert.match(err.message, 'requires a username and password');

  const withCreds = client(scope, 'wispjsAuth', { username: 'user', password: 'secret' });
  const secure = await connect(withCreds.connect(HOST, port), TLS_OPTIONS);
  assert.is((await echo(secure, payload(5, 2000))).length, 2000);
  await secure.close();
});

// ------------------------------------------------------------ failures of the WebSocket itself

test('malformed packets fail every stream with ERR_WISP_PROTOCOL and close the WebSocket, saying why', async (scope) => {
  const cases = [
    ['a 3-byte packet', (peer) => peer.ws.send(new Uint8Array([2, 1, 0])), 'shorter than the 5-byte header'],
    ['a CONTINUE without its count', (peer, id) => peer.send(3, id, [1, 0]), 'a CONTINUE packet with 2 payload bytes'],
    ['a CLOSE without a reason', (peer, id) => peer.send(4, id, []), 'without a reason'],
    ['a text frame', (peer) => peer.ws.send('hello'), 'a text frame'],
    ['DATA for stream 0', (peer) => peer.send(2, 0, [1, 2, 3]), 'a DATA packet for stream 0'],
  ];
  for (const [label, misbehave, message] of cases) {
    let peer;
    let onReady;
    const ready = new Promise((r) => { onReady = r; });
    const url = await scripted(scope, (p) => {
      peer = p;
      p.continue(0, 8);
      p.ws.on('message', (data) => { if (new Uint8Array(data)[0] === 1) onReady(new DataView(new Uint8Array(data).buffer).getUint32(1, true)); });
    });
    const wisp = scriptedClient(scope, url, { version: 1 });
    const streams = [wisp.connect(HOST, 1), wisp.connect(HOST, 2)];
    const id = await ready;
    misbehave(peer, id);
    for (const s of streams) {
      const err = await rejection(s.closed);
      assert.instance(err, WispError, label);
      assert.is(err.code, 'ERR_WISP_PROTOCOL', label);
      assert.match(err.message, message, label);
    }
    // 1002 where the WebSocket allows it (the ws package); the WHATWG one takes only 1000 and 3000-4999.
    const { code, reason } = await peer.closed;
    assert.ok(code === 1002 || code === 1000, `${label}: closed with ${code}`);
    assert.is(reason, 'malformed Wisp packet', label);
  }

  // In the handshake: an INFO whose extension record claims more bytes than there are.
  const url = await scripted(scope, (peer) => peer.send(5, 0, [2, 0, 4, 200, 0, 0, 0, 1]));
  const err = await rejection(scriptedClient(scope, url).ready());
  assert.is(err.code, 'ERR_WISP_PROTOCOL');
  assert.match(err.message, 'extension 0x04 claims 200 bytes but has 1');
});

test('a server that never finishes the handshake: ETIMEDOUT within connectTimeout', async (scope) => {
  const url = await scripted(scope, () => {}); // opens the WebSocket, says nothing
  const wisp = scriptedClient(scope, url, { connectTimeout: 300 });
  const started = Date.now();
  const err = await rejection(wisp.connect(HOST, 443).closed);
  assert.is(err.code, 'ETIMEDOUT');
  assert.match(err.message, 'did not finish the Wisp handshake within 300 ms');
  assert.ok(Date.now() - started < 3000);
});

test('no server: the stream fails with ECONNREFUSED, naming the URL', async (scope) => {
  const port = await freePort();
  const wisp = scriptedClient(scope, `ws://${HOST}:${port}/`);
  const err = await rejection(connect(wisp.connect(HOST, 443), TLS_OPTIONS));
  assert.is(err.code, 'ECONNREFUSED');
  assert.match(err.message, `could not open the WebSocket to the Wisp server at ws://${HOST}:${port}/`);
});

test('options and arguments are checked', () => {
  assert.throws(() => new WispClient('http://x/', { WebSocket: WebSocketClient, version: 3 }), /version must be 1 or 2/);
  assert.throws(() => new WispClient('ftp://x/', { WebSocket: WebSocketClient }), /ws: or wss:/);
  assert.throws(() => new WispClient('ws://x/', { WebSocket: WebSocketClient, maxBuffered: 0 }), /maxBuffered must be a positive number/);
  const wisp = new WispClient(() => { throw new Error('no'); });
  assert.throws(() => wisp.connect('', 1), /host must be a non-empty string/);
  assert.throws(() => wisp.connect('x', 70000), /port must be an integer from 1 to 65535/);
});

test('a factory that throws fails the stream with a clear error', async () => {
  const wisp = new WispClient(() => { throw new Error('no sockets here'); });
  const err = await rejection(wisp.connect(HOST, 443).closed);
  assert.is(err.code, 'ERR_WISP_WEBSOCKET');
  assert.match(err.message, 'no sockets here');
});

// ------------------------------------------------------------ fromWebSocket never hangs

test('fromWebSocket: a server that never answers the upgrade fails with ETIMEDOUT within connectTimeout', async (scope) => {
  const silent = net.createServer((s) => { s.on('error', () => {}); s.resume(); });
  const port = await listen(scope, silent);
  const ws = new WebSocketClient(`ws://${HOST}:${port}/`);
  ws.addEventListener('error', () => {});
  scope.defer(() => { if (ws.readyState < 2) ws.close(); });
  const started = Date.now();
  const err = await rejection(connect(fromWebSocket(ws, { connectTimeout: 300 }), TLS_OPTIONS));
  assert.is(err.code, 'ETIMEDOUT');
  assert.match(err.message, 'the WebSocket did not open within 300 ms (still connecting)');
  assert.ok(Date.now() - started < 3000, 'promptly');
});

test('fromWebSocket: an unknown readyState that never opens fails with ETIMEDOUT naming it', async () => {
  const fake = new EventTarget();
  Object.assign(fake, { binaryType: 'blob', readyState: 'weird', bufferedAmount: 0, send() {}, close() { fake.closedByAdapter = true; } });
  const transport = fromWebSocket(fake, { connectTimeout: 200 });
  const [readErr, writeErr] = await Promise.all([
    rejection(transport.readable.getReader().read()),
    rejection(transport.writable.getWriter().write(new Uint8Array(1))),
  ]);
  assert.is(readErr.code, 'ETIMEDOUT');
  assert.is(writeErr, readErr);
  assert.match(readErr.message, 'its readyState, weird, is not one of the WebSocket states 0 to 3');
  assert.ok(fake.closedByAdapter, 'the socket is closed');
});

test('fromWebSocket with wisp-js\'s WispWebSocket (readyState undefined): works when its open event is seen, fails clearly when not', async (scope) => {
  const { client: wispjs } = await import('@mercuryworkshop/wisp-js/client');
  const port = await nodeTlsEchoServer(scope);
  const url = `${wispUrl('wispjs')}${HOST}:${port}`;
  scope.defer(() => { for (const c of Object.values(wispjs._wisp_connections)) c.close(); });
  const first = new wispjs.WispWebSocket(url);
  assert.is(first.readyState, undefined);
  const secure = await connect(fromWebSocket(first, { connectTimeout: 5000 }), TLS_OPTIONS);
  assert.is((await echo(secure, payload(2, 3000))).length, 3000);

  // The connection is open now, so the next one fires its open event inside its constructor,
  // before anyone can listen: without the timeout this would wait forever.
  const second = new wispjs.WispWebSocket(url);
  const err = await rejection(connect(fromWebSocket(second, { connectTimeout: 300 }), TLS_OPTIONS));
  assert.is(err.code, 'ETIMEDOUT');
  assert.match(err.message, 'its readyState, undefined, is not one of the WebSocket states');
  await secure.close();
});

t.run();
