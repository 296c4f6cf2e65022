// The relay's Wisp mode and the policy it shares with ?target mode (dist/relay.js), against
// this package's WispClient, wisp-js's client (@mercuryworkshop/wisp-js/client) and a client
// written packet by packet here: TLS through many streams of one WebSocket, Wisp v1 and v2,
// password authentication, every close reason, the allowlist with wildcards, DNS answers
// checked (names that resolve to loopback refused unless allowed, the checked address dialled),
// limits on WebSockets and streams, idle and connect timeouts, Wisp credit and backpressure.
// In Node the relay runs in this process; in Deno and Bun, Node runs it as a child process
// (relay-child.mjs) and this runtime's clients talk to it.
// Everything listens on 127.0.0.1 with ephemeral ports; every test runs under a timer and
// closes every server, socket and WebSocket it made.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import net from 'node:net';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket as WsWebSocket } from 'ws';
import { client as wispJsClient } from '@mercuryworkshop/wisp-js/client';
import { connect, getOpenSSL, WispClient, WispError } from '../dist/index.js';
import { createRelay } from '../dist/relay.js';
import { echo, freePort, HOST, listen, nodeTlsEchoServer, payload, pem, runtime, scaffold } from './helpers.js';

const t = suite('relay-wisp');
t.before(async () => { await getOpenSSL(); });
const { test } = scaffold(t, 30_000);
/** The runtime's WebSocket client: the global one (Deno, Bun, Node 22+), else the ws package's. */
const WebSocketClient = globalThis.WebSocket ?? WsWebSocket;
const CA = pem('ca.pem');
const TLS_OPTIONS = { servername: 'localhost', ca: CA };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rejection = (p) => p.then(() => null, (e) => e);
/** The WispError behind an error from connect(): itself, or a TlsError's cause. */
const wispError = (e) => (e instanceof WispError ? e : e?.cause);

// ------------------------------------------------------------ the relay, here or in Node

/**
 * A relay with `options` (createRelay's, plus `resolveMap` for a fake resolver), closed by the
 * scope: `{ url, events(), calls() }`.
 */
async function startRelay(scope, options) {
  if (runtime === 'node') {
    const events = [];
    const calls = {};
    const { resolveMap, ...rest } = options;
    const resolve = resolveMap && (async (name) => {
      calls[name] = (calls[name] ?? 0) + 1;
      if (resolveMap[name] === 'hang') return new Promise(() => {});
      if (!resolveMap[name]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return resolveMap[name];
    });
    const r = await createRelay({ port: 0, ...rest, ...(resolve ? { resolve } : {}), onEvent: (e) => events.push(e) });
    scope.defer(() => r.close());
    return { url: r.url, relay: r, events: async () => events, calls: async () => calls };
  }
  const child = spawn('node', [fileURLToPath(new URL('./relay-child.mjs', import.meta.url)), JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const queue = [];
  let wake;
  createInterface({ input: child.stdout }).on('line', (l) => { queue.push(JSON.parse(l)); wake?.(); });
  const answer = async () => {
    while (!queue.length) {
      if (child.exitCode !== null) throw new Error(`relay-child.mjs exited (${child.exitCode}): ${stderr}`);
      await new Promise((r) => { wake = r; setTimeout(r, 100); });
    }
    return queue.shift();
  };
  scope.defer(() => new Promise((resolve) => {
    child.on('exit', resolve);
    child.stdin.end();
    setTimeout(() => { child.kill(); resolve(); }, 3000);
  }));
  const { url } = await answer();
  const ask = async (cmd) => { child.stdin.write(`${cmd}\n`); return answer(); };
  return { url, events: () => ask('events'), calls: () => ask('calls') };
}

/** A WispClient for the relay, closed by the scope. */
function wispClient(scope, r, options = {}) {
  const c = new WispClient(r.url, { WebSocket: WebSocketClient, ...options });
  scope.defer(() => c.close());
  return c;
}

/** Waits until `events()` has one that `pred` accepts. */
async function eventWhere(r, pred) {
  for (let i = 0; i < 200; i++) {
    const found = (await r.events()).find(pred);
    if (found) return found;
    await sleep(20);
  }
  throw new Error('no such event');
}

// ------------------------------------------------------------ targets





/** Opens a stream and returns how it failed (the WispError), or null if the TLS connection worked. */
async function failure(wisp, host, port) {
  const err = await rejection(connect(wisp.connect(host, port), TLS_OPTIONS).then((s) => s.close()));
  return err && wispError(err);
}

// ------------------------------------------------------------ a client written packet by packet

/** A Wisp client of our own making, for what the real ones never do; `v2` asks for wisp-v2. */
async function rawWisp(scope, r, { v2 = false, options } = {}) {
  const ws = new WsWebSocket(r.url, v2 ? ['wisp-v2'] : [], options);
  ws.binaryType = 'arraybuffer';
  scope.defer(() => ws.terminate());
  const packets = [];
  let wake;
  ws.on('message', (data) => {
    const b = new Uint8Array(data);
    packets.push({ type: b[0], id: new DataView(b.buffer, b.byteOffset).getUint32(1, true), payload: b.subarray(5) });
    wake?.();
  });
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('close', () => reject(new Error('closed before open'))); });
  const pkt = (type, id, body = []) => {
    const b = new Uint8Array(5 + body.length);
    b[0] = type;
    new DataView(b.buffer).setUint32(1, id, true);
    b.set(body, 5);
    return b;
  };
  return {
    ws, packets, closed,
    send: (type, id, body) => ws.send(pkt(type, id, body)),
    connectPacket(id, host, port) {
      const h = new TextEncoder().encode(host);
      const body = new Uint8Array(3 + h.length);
      body[0] = 1;
      new DataView(body.buffer).setUint16(1, port, true);
      body.set(h, 3);
      ws.send(pkt(1, id, body));
    },
    /** The next packet that `pred` accepts (removed from the list). */
    async next(pred = () => true, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = packets.findIndex(pred);
        if (i >= 0) return packets.splice(i, 1)[0];
        if (Date.now() > deadline) throw new Error('no such packet');
        await new Promise((res) => { wake = res; setTimeout(res, 50); });
      }
    },
  };
}

// ------------------------------------------------------------ TLS through the relay's Wisp

test('WispClient: 20 TLS connections in parallel over one WebSocket (Wisp v2, with MOTD), each verified and echoed', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`], motd: 'relay test' });
  const wisp = wispClient(scope, r);
  const info = await wisp.ready();
  assert.equal({ version: info.version, motd: info.motd, bufferSize: info.bufferSize }, { version: 2, motd: 'relay test', bufferSize: 16 });
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const secure = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
    try {
      assert.ok(secure.authorized, `connection ${i} verified`);
      const data = payload(i, 48 * 1024 + i);
      const got = await echo(secure, data);
      assert.ok(got.length === data.length && got.every((b, k) => b === data[k]), `connection ${i}: the echo is intact`);
      return i;
    } finally {
      await secure.close();
    }
  }));
  assert.equal(results, Array.from({ length: 20 }, (_, i) => i));
  assert.is(wisp.connections, 1, 'one WebSocket');
  const events = await r.events();
  assert.is(events.filter((e) => e.type === 'open' && e.mode === 'wisp').length, 20);
  assert.ok(events.some((e) => e.type === 'wisp' && e.version === 2));
});

test('WispClient with version: 1 speaks Wisp v1 to the relay', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`] });
  const wisp = wispClient(scope, r, { version: 1 });
  assert.is((await wisp.ready()).version, 1);
  const secure = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  assert.is((await echo(secure, payload(1, 5000))).length, 5000);
  await secure.close();
});

/** wisp-js's client stream as a transport: its onmessage feeds the readable, writes call send(). */
function wispJsTransport(conn, host, port) {
  const stream = conn.create_stream(host, port);
  let controller;
  const closed = new Promise((resolve) => {
    stream.onclose = (reason) => {
      resolve(reason);
      try {
        if (reason === 0x02) controller.close();
        else controller.error(Object.assign(new Error(`wisp-js: stream closed (reason ${reason})`), { closeReason: reason }));
      } catch { /* already closed */ }
    };
  });
  const readable = new ReadableStream({ start(c) { controller = c; } });
  stream.onmessage = (data) => controller.enqueue(new Uint8Array(data));
  const writable = new WritableStream({ write(chunk) { stream.send(chunk); }, close() { stream.close(0x02); } });
  return { readable, writable, closed, stream };
}

for (const version of [2, 1]) {
  test(`wisp-js's client (v${version}): TLS through the relay, and its close reasons`, async (scope) => {
    const port = await nodeTlsEchoServer(scope);
    const dead = await freePort();
    const r = await startRelay(scope, { allow: [`${HOST}:${port}`, `${HOST}:${dead}`] });
    const conn = new wispJsClient.ClientConnection(r.url, { wisp_version: version });
    scope.defer(() => conn.close());
    await new Promise((resolve, reject) => { conn.onopen = resolve; conn.onerror = () => reject(new Error('wisp-js could not connect')); });
    const secures = await Promise.all([0, 1, 2].map(async (i) => {
      const secure = await connect(wispJsTransport(conn, HOST, port), TLS_OPTIONS);
      assert.ok(secure.authorized);
      assert.is((await echo(secure, payload(i, 30_000))).length, 30_000);
      return secure;
    }));
    for (const s of secures) await s.close();
    assert.is(await wispJsTransport(conn, HOST, dead).closed, 0x44, 'refused: 0x44');
    assert.is(await wispJsTransport(conn, HOST, 9).closed, 0x48, 'not allowed: 0x48');
    const events = await r.events();
    assert.ok(events.some((e) => e.type === 'wisp' && e.version === version), `the relay spoke v${version}`);
  });
}

// ------------------------------------------------------------ close reasons

test('close reasons: refused 0x44, not allowed 0x48, unresolvable 0x42, connect timeout 0x43, not TCP 0x41', async (scope) => {
  const dead = await freePort();
  const r = await startRelay(scope, {
    allow: [`${HOST}:${dead}`, 'nowhere.test:443', 'slow.test:443', '*:443'],
    connectTimeout: 300,
    resolveMap: { 'slow.test': 'hang' },
  });
  const wisp = wispClient(scope, r);

  let e = await failure(wisp, HOST, dead);
  assert.equal([e.code, e.closeReason], ['ECONNREFUSED', 0x44]);
  e = await failure(wisp, HOST, 444);
  assert.equal([e.code, e.closeReason], ['EACCES', 0x48]);
  assert.match(e.message, 'blocked by the server\'s policy');
  e = await failure(wisp, 'nowhere.test', 443);
  assert.equal([e.code, e.closeReason], ['ENOTFOUND', 0x42]);
  e = await failure(wisp, 'slow.test', 443);
  assert.equal([e.code, e.closeReason], ['ETIMEDOUT', 0x43]);

  const raw = await rawWisp(scope, r);
  await raw.next((p) => p.type === 3 && p.id === 0);
  const udp = new Uint8Array([2, 53, 0, ...new TextEncoder().encode(HOST)]);
  raw.send(1, 7, udp);
  const close = await raw.next((p) => p.type === 4 && p.id === 7);
  assert.is(close.payload[0], 0x41, 'UDP: invalid (this relay carries TCP only)');
  raw.connectPacket(8, 'bad host name!', 443);
  assert.is((await raw.next((p) => p.type === 4 && p.id === 8)).payload[0], 0x41, 'a malformed name: invalid');

  const events = await r.events();
  const refused = events.find((ev) => ev.type === 'refused' && ev.target === `${HOST}:444`);
  assert.equal([refused.code, refused.reason], [0x48, `target ${HOST}:444 is not allowed`]);
  const timedOut = events.find((ev) => ev.type === 'close' && ev.target === 'slow.test:443');
  assert.equal([timedOut.code, timedOut.reason], [0x43, 'ETIMEDOUT (slow.test:443)']);
});

test('an idle stream is closed with 0x47 (transfer timeout); an idle Wisp WebSocket is closed too', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`], idleTimeout: 400 });
  const wisp = wispClient(scope, r);
  const secure = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  assert.is((await echo(secure, payload(0, 100))).length, 100);
  const err = await rejection(secure.readable.getReader().read());
  assert.ok(err, 'the idle stream ended with an error');
  assert.is(err.code, 'ETIMEDOUT');
  assert.is(wispError(err)?.closeReason ?? err.cause?.closeReason, 0x47);
  // With no stream left, the WebSocket goes too; the next stream opens a new one.
  for (let i = 0; i < 100 && wisp.streams + (wisp.info ? 1 : 0) > 0; i++) await sleep(20);
  assert.is(wisp.info, undefined, 'the WebSocket closed');
  const again = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  assert.is((await echo(again, payload(1, 100))).length, 100);
  await again.close();
  assert.is(wisp.connections, 2);
});

// ------------------------------------------------------------ the allowlist and DNS

test('DNS: a wildcard entry never reaches loopback through a name (localhost) or an address, unless allowPrivate', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`*:${port}`] });
  const wisp = wispClient(scope, r);
  // However it is spelled: '127.1' is a name to the policy, and the system resolves it to 127.0.0.1.
  for (const host of ['localhost', HOST, '::ffff:127.0.0.1', '127.1']) {
    const e = await failure(wisp, host, port);
    assert.ok(e, `${host} refused`);
    assert.equal([e.code, e.closeReason], ['EACCES', 0x48], host);
  }
  const events = await r.events();
  assert.is(events.find((e) => e.type === 'close' && e.target === `127.1:${port}`).reason, `target 127.1:${port} resolves to 127.0.0.1, a loopback address: not allowed`);
  assert.is(events.find((e) => e.type === 'close' && e.target === `[::ffff:127.0.0.1]:${port}`)?.reason, `target [::ffff:127.0.0.1]:${port} is a loopback address: not allowed`);
  const why = events.find((e) => e.type === 'close' && e.target === `localhost:${port}`).reason;
  assert.match(why, /^target localhost:\d+ resolves to (127\.0\.0\.1|::1), a loopback address: not allowed$/);

  const open = await startRelay(scope, { allow: [`*:${port}`], allowPrivate: true });
  const wisp2 = wispClient(scope, open);
  assert.is(await failure(wisp2, 'localhost', port), null, 'allowPrivate: localhost is reached');
  assert.is(await failure(wisp2, HOST, port), null);
});

test('DNS: an exact entry reaches what its name resolves to; *.suffix entries are checked like *', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, {
    allow: [`localhost:${port}`, `*.rebind.test:${port}`, `pinned.test:${port}`],
    resolveMap: {
      'localhost': [HOST],
      'a.rebind.test': [HOST],
      'b.rebind.test': ['192.0.2.1', HOST], // one private answer among others refuses the name
      'pinned.test': [HOST],
    },
  });
  const wisp = wispClient(scope, r);
  assert.is(await failure(wisp, 'localhost', port), null, 'the operator named localhost');
  for (const host of ['a.rebind.test', 'b.rebind.test']) {
    const e = await failure(wisp, host, port);
    assert.equal([e?.code, e?.closeReason], ['EACCES', 0x48], host);
  }
  assert.equal(await failure(wisp, 'rebind.test', port).then((e) => e.closeReason), 0x48, '*.suffix does not match the suffix itself');
  // The relay connects to the address it checked: the name is resolved once per stream.
  assert.is(await failure(wisp, 'pinned.test', port), null);
  assert.is((await r.calls())['pinned.test'], 1);
  const why = (await r.events()).find((e) => e.type === 'close' && e.target === `b.rebind.test:${port}`).reason;
  assert.is(why, `target b.rebind.test:${port} resolves to 192.0.2.1, a documentation address: not allowed`);
});

test('?target mode applies the same DNS check', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`*:${port}`] });
  const ws = new WebSocketClient(`${r.url}?target=localhost:${port}`);
  ws.addEventListener('error', () => {});
  const closed = await new Promise((resolve) => ws.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason })));
  assert.is(closed.code, 4003);
  assert.match(closed.reason, /resolves to .*a loopback address: not allowed/);
});

// ------------------------------------------------------------ limits

test('limits: streams per client (0x49, ERR_WISP_THROTTLED) and WebSockets per client (1013)', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`], maxStreamsPerClient: 2, maxWebSocketsPerClient: 2 });
  const wisp = wispClient(scope, r);
  const a = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  const b = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  const e = await failure(wisp, HOST, port);
  assert.equal([e.code, e.closeReason], ['ERR_WISP_THROTTLED', 0x49]);
  await a.close();
  await b.close();
  // Closed streams no longer count.
  for (let i = 0; i < 100 && (await failure(wisp, HOST, port)) !== null; i++) await sleep(20);
  assert.is(await failure(wisp, HOST, port), null);

  // ?target connections count as streams too, and WebSockets have their own limit.
  const second = wispClient(scope, r);
  await second.ready();
  const third = new WebSocketClient(`${r.url}?target=${HOST}:${port}`);
  third.addEventListener('error', () => {});
  const closed = await new Promise((resolve) => third.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason })));
  assert.equal(closed, { code: 1013, reason: 'too many WebSockets from this client (limit 2)' });
});

test('limits: the total of streams (0x49) and of WebSockets', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`], maxStreams: 1, maxWebSockets: 1 });
  const wisp = wispClient(scope, r);
  const a = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  assert.is((await failure(wisp, HOST, port)).closeReason, 0x49);
  const other = new WispClient(r.url, { WebSocket: WebSocketClient });
  scope.defer(() => other.close());
  const err = await rejection(other.ready());
  assert.ok(err, 'a second WebSocket is refused');
  assert.match(err.message, 'the relay is at its limit of 1 WebSockets');
  await a.close();
});

// ------------------------------------------------------------ flow control

test('credit: the relay grants wispBufferSize packets, renews it as it writes, and closes (0x49) a stream whose client ignores it', async (scope) => {
  let sink;
  let received = 0;
  let onConnected;
  const connected = new Promise((resolve) => { onConnected = resolve; });
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => { received += d.length; });
    s.pause();
    sink = s;
    onConnected();
  });
  const port = await listen(scope, server);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`], wispBufferSize: 8 });
  const raw = await rawWisp(scope, r);
  const first = await raw.next((p) => p.type === 3 && p.id === 0);
  assert.is(new DataView(first.payload.buffer, first.payload.byteOffset).getUint32(0, true), 8, 'the initial credit');
  raw.connectPacket(1, HOST, port);
  await connected;
  // Within the credit while the target reads: CONTINUE comes back as the relay writes.
  sink.resume();
  const block = new Uint8Array(1000).fill(1);
  for (let i = 0; i < 8; i++) raw.send(2, 1, block);
  const cont = await raw.next((p) => p.type === 3 && p.id === 1);
  assert.ok(new DataView(cont.payload.buffer, cont.payload.byteOffset).getUint32(0, true) > 0, 'credit renewed');
  while (received < 8000) await sleep(10);
  // A client that ignores the credit while the target does not read: the stream is closed.
  sink.pause();
  const big = new Uint8Array(64 * 1024).fill(2);
  for (let i = 0; i < 200; i++) raw.send(2, 1, big);
  const close = await raw.next((p) => p.type === 4 && p.id === 1);
  assert.is(close.payload[0], 0x49);
  const event = await eventWhere(r, (e) => e.type === 'close' && e.code === 0x49);
  assert.match(event.reason, 'the client sent past its Wisp credit');
});

test('backpressure: the relay stops reading a target while the Wisp WebSocket is backed up', async (scope) => {
  const total = 48 * 1024 * 1024;
  const block = new Uint8Array(64 * 1024).fill(0x5a);
  let accepted = 0;
  const server = net.createServer((s) => {
    s.on('error', () => {});
    const pump = () => {
      while (accepted < total && !s.destroyed) {
        accepted += block.length;
        if (!s.write(block)) return s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  const port = await listen(scope, server);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`] });
  const raw = await rawWisp(scope, r);
  await raw.next((p) => p.type === 3 && p.id === 0);
  raw.ws.pause();
  raw.connectPacket(1, HOST, port);
  await sleep(1000);
  // Kernel buffers on both hops hold a few MiB; without backpressure the relay would have
  // read all 48 MiB into memory by now.
  assert.ok(accepted < total / 2, `the target wrote ${accepted} of ${total} bytes while the client was paused`);
  raw.ws.resume();
  let got = 0;
  for (;;) {
    const p = await raw.next((q) => q.id === 1, 20_000);
    if (p.type === 2) got += p.payload.length;
    if (p.type === 4) {
      assert.is(p.payload[0], 0x02, 'the target closed: voluntary');
      break;
    }
  }
  assert.is(got, total);
});

// ------------------------------------------------------------ authentication, origins, modes

test('password authentication (v2): right credentials work, wrong ones 0xc0, none 0xc2, v1 and ?target refused', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`], passwords: { alice: 's3cret' } });
  const good = wispClient(scope, r, { username: 'alice', password: 's3cret' });
  const secure = await connect(good.connect(HOST, port), TLS_OPTIONS);
  assert.is((await echo(secure, payload(2, 1000))).length, 1000);
  await secure.close();

  const bad = wispClient(scope, r, { username: 'alice', password: 'wrong' });
  let err = await rejection(bad.ready());
  assert.equal([err.code, err.closeReason], ['ERR_WISP_AUTH_FAILED', 0xc0]);
  const none = wispClient(scope, r);
  err = await rejection(none.ready());
  assert.is(err.code, 'ERR_WISP_AUTH_REQUIRED');
  const v1 = wispClient(scope, r, { version: 1 });
  err = await rejection(v1.ready());
  assert.is(err.closeReason, 0xc2);

  const ws = new WebSocketClient(`${r.url}?target=${HOST}:${port}`);
  ws.addEventListener('error', () => {});
  const closed = await new Promise((resolve) => ws.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason })));
  assert.equal(closed, { code: 4003, reason: 'this relay requires Wisp v2 password authentication' });
});

test('origins apply to Wisp WebSockets; malformed packets close the WebSocket (1002, 1003)', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`], origins: ['http://app.example'] });
  const evil = new WispClient((protocols) => new WsWebSocket(r.url, protocols, { origin: 'http://evil.example' }));
  scope.defer(() => evil.close());
  const err = await rejection(evil.ready());
  assert.match(err.message, 'origin http://evil.example is not allowed');
  const fine = new WispClient((protocols) => new WsWebSocket(r.url, protocols, { origin: 'http://app.example' }));
  scope.defer(() => fine.close());
  assert.is((await fine.ready()).version, 2);

  const text = await rawWisp(scope, r, { options: { origin: 'http://app.example' } });
  text.ws.send('hello');
  assert.is((await text.closed).code, 1003);
  const short = await rawWisp(scope, r, { options: { origin: 'http://app.example' } });
  short.ws.send(new Uint8Array([2, 0]));
  assert.equal(await short.closed, { code: 1002, reason: 'malformed Wisp packet: shorter than its header' });
});

test('a client that asks for another subprotocol (epoxy-tls asks for a random one) gets it, and speaks Wisp v1', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const r = await startRelay(scope, { allow: [`${HOST}:${port}`] });
  const ws = new WsWebSocket(r.url, ['4f1c2b7e-random']);
  scope.defer(() => ws.terminate());
  ws.on('error', () => {});
  const first = await new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(new Uint8Array(data)));
    ws.once('close', (code) => reject(new Error(`closed ${code}`)));
  });
  assert.is(ws.protocol, '4f1c2b7e-random');
  assert.is(first[0], 3, 'CONTINUE first: Wisp v1');
});

test('modes: a relay for ?target only refuses Wisp; one for Wisp only refuses ?target', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const targetOnly = await startRelay(scope, { allow: [`${HOST}:${port}`], modes: ['target'] });
  const err = await rejection(wispClient(scope, targetOnly).ready());
  assert.match(err.message, 'no target: connect to ?target=host:port');
  const wispOnly = await startRelay(scope, { allow: [`${HOST}:${port}`], modes: ['wisp'] });
  const ws = new WebSocketClient(`${wispOnly.url}?target=${HOST}:${port}`);
  ws.addEventListener('error', () => {});
  const closed = await new Promise((resolve) => ws.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason })));
  assert.equal(closed, { code: 4003, reason: 'this relay speaks Wisp only' });
});

test('options are checked: wildcard entries, limits, modes, passwords', async () => {
  for (const [options, message] of [
    [{ port: 0, allow: ['*.:443'] }, 'allow: "*.:443" is not host:port'],
    [{ port: 0, allow: ['*.*.example.com:443'] }, 'is not host:port'],
    [{ port: 0, allow: ['example.com:*x'] }, 'is not host:port'],
    [{ port: 0, allow: ['*:*'], maxStreams: 0 }, 'maxStreams: 0 is not a positive number'],
    [{ port: 0, allow: ['*:*'], idleTimeout: -1 }, 'idleTimeout: -1 is not a positive number (or 0)'],
    [{ port: 0, allow: ['*:*'], wispBufferSize: 1.5 }, 'wispBufferSize: 1.5 is not a positive number'],
    [{ port: 0, allow: ['*:*'], modes: ['udp'] }, 'modes: "udp" is not'],
    [{ port: 0, allow: ['*:*'], passwords: {} }, 'passwords: give a username-to-password object'],
  ]) {
    const err = await createRelay(options).then((r) => r.close().then(() => null), (e) => e);
    assert.ok(err instanceof TypeError, `${JSON.stringify(options)} throws a TypeError`);
    assert.match(err.message, message);
  }
});

test('the command, openssl-tls-wasm-relay: Wisp and ?target on the port it prints, with its limits', async (scope) => {
  const port = await nodeTlsEchoServer(scope);
  const node = runtime === 'node' ? process.execPath : 'node';
  const child = spawn(node, [fileURLToPath(new URL('../bin/relay.js', import.meta.url)), '--port', '0', '--allow', `${HOST}:${port}`,
    '--max-streams-per-client', '1', '--motd', 'from the command', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  scope.defer(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', resolve);
    child.kill('SIGTERM');
  }));
  let out = '';
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m && out.includes('Wisp:')) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  assert.match(out, `?target mode: ${url}?target=HOST:PORT`);
  const wisp = new WispClient(url, { WebSocket: WebSocketClient });
  scope.defer(() => wisp.close());
  assert.is((await wisp.ready()).motd, 'from the command');
  const secure = await connect(wisp.connect(HOST, port), TLS_OPTIONS);
  assert.is((await failure(wisp, HOST, port)).closeReason, 0x49, '--max-streams-per-client 1');
  await secure.close();
  // Once the relay has seen the stream's TCP connection end, ?target may use the client's one slot.
  let viaTarget;
  for (let i = 0; i < 100 && !viaTarget; i++) {
    viaTarget = await connect(new WebSocketClient(`${url}?target=${HOST}:${port}`), TLS_OPTIONS).catch(() => sleep(20));
  }
  assert.ok(viaTarget?.authorized);
  await viaTarget.close();
});

t.run();
