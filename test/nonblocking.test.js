// OpenSSL's nonblocking contract as the low-level API exposes it: want-read before bytes
// arrive, progress one byte at a time, bounded buffers, and clear errors for bad input and
// misuse, never a wasm trap.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { contexts, freedAfterEach, getOpenSSL, text } from './helpers.js';
import { TlsError } from '../dist/index.js';
import { Link } from '../dist/testing/index.js';

const t = suite('nonblocking');
let openssl, sctx, cctx;
t.before(async () => {
  openssl = await getOpenSSL();
  ({ sctx, cctx } = contexts(openssl));
});
t.after(() => { sctx.free(); cctx.free(); });

// Connections made in a test are freed after it, pass or fail.
const keep = freedAfterEach(t);
const mkClient = (ctx = cctx) => keep(ctx.createEngine({ servername: 'localhost' }));
const mkServer = (ctx = sctx) => keep(ctx.createEngine());

const isWasmTrap = (e) => e instanceof WebAssembly.RuntimeError;

t('a client step before any bytes arrive reports want-read, with its ClientHello queued', () => {
  const client = mkClient();
  assert.is(client.handshake(), 'want-read');
  const hello = client.takeOutput();
  assert.is(hello[0], 22, 'a handshake record');
  assert.is(hello[5], 1, 'ClientHello');
  assert.is(client.handshake(), 'want-read', 'still waiting, nothing more to send');
  assert.is(client.takeOutput().length, 0);
  assert.not.ok(client.handshakeDone);
  assert.is(client.negotiated().protocol, null);
});

t('a server step before any bytes arrive reports want-read and sends nothing', () => {
  const server = mkServer();
  assert.is(server.handshake(), 'want-read');
  assert.is(server.pendingOutput, 0);
});

t('a driver that moves ciphertext one byte at a time still completes', () => {
  const client = mkClient();
  const server = mkServer();
  const link = new Link(client, server, { chunk: 1 });
  const rounds = link.handshake();
  assert.ok(rounds > 1000, `took ${rounds} rounds`);
  assert.is(client.negotiated().protocol, 'TLSv1.3');
  assert.is(client.negotiated().group, 'X25519MLKEM768');
  assert.is(text(link.send('client', 'one byte at a time')), 'one byte at a time');
});

t('feed takes no more than the buffer holds; reading makes room', () => {
  const client = mkClient();
  const server = mkServer();
  new Link(client, server).handshake();
  // 40 KiB of records from the server, more than the client's 17 KiB buffer.
  const records = [];
  let left = 40 * 1024;
  while (left > 0) {
    const r = server.write(new Uint8Array(Math.min(left, 16384)).fill(7));
    assert.type(r, 'number');
    left -= r;
    records.push(server.takeOutput());
  }
  const wire = records.reduce((a, b) => { const c = new Uint8Array(a.length + b.length); c.set(a); c.set(b, a.length); return c; });
  let off = client.feed(wire);
  assert.ok(off > 0 && off < wire.length, `took ${off} of ${wire.length}`);
  assert.is(client.feed(wire.subarray(off)), 0, 'full: nothing more until the client reads');
  let got = 0;
  while (got < 40 * 1024) {
    const r = client.read();
    if (r === 'want-read') { off += client.feed(wire.subarray(off)); continue; }
    assert.instance(r, Uint8Array);
    got += r.length;
  }
  assert.is(got, 40 * 1024);
  assert.is(off, wire.length);
});

t('write reports want-write when the outgoing buffer is full, and resumes after takeOutput', () => {
  const client = mkClient();
  const server = mkServer();
  const link = new Link(client, server);
  link.handshake();
  const data = new Uint8Array(64 * 1024);
  let off = 0;
  let sawWantWrite = false;
  while (off < data.length) {
    const r = client.write(data.subarray(off));
    if (r === 'want-write') { sawWantWrite = true; link.run(); continue; } // to the server, which reads it
    off += r;
  }
  assert.ok(sawWantWrite, 'the 17 KiB buffer filled at least once');
  link.run();
  assert.is(link.server.readBytes().length, data.length, 'every byte arrived');
});

t('garbage instead of a ServerHello is a TlsError with OpenSSL\'s reason, not a trap', () => {
  const client = mkClient();
  client.handshake();
  client.takeOutput();
  client.feed(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'));
  try {
    client.handshake();
    assert.unreachable();
  } catch (e) {
    assert.not.ok(isWasmTrap(e));
    assert.instance(e, TlsError);
    assert.is(e.library, 'SSL routines');
    assert.is(e.reason, 'wrong version number');
    assert.is(e.code, 'ERR_SSL_WRONG_VERSION_NUMBER');
    assert.match(e.message, /^error:0A00010B:SSL routines::wrong version number$/);
  }
});

t('random garbage after the handshake is a TlsError; the error is sticky', () => {
  const client = mkClient();
  const server = mkServer();
  new Link(client, server).handshake();
  const junk = new Uint8Array(300);
  crypto.getRandomValues(junk);
  junk[0] = 23; junk[1] = 3; junk[2] = 3; junk[3] = 0x01; junk[4] = 0x00; // an application_data record of junk
  server.feed(junk);
  let first;
  try { server.read(); assert.unreachable(); } catch (e) { first = e; }
  assert.instance(first, TlsError);
  assert.is(first.reason, 'decryption failed or bad record mac');
  assert.is(first.alertSent?.name, 'bad_record_mac');
  assert.throws(() => server.read(), (e) => e === first);
  assert.throws(() => server.write('more'), (e) => e === first);
  assert.is(server.error, first);
  assert.ok(server.takeOutput().length > 0, 'the alert is still there to send');
});

t('every byte of a handshake flipped in turn fails cleanly (sampled)', () => {
  // The server's first flight, with one bit flipped at a time: each run must end with the
  // client failed with a TlsError (a step keeps it as the side's error), done, or waiting for
  // bytes that never come; never a trap (which a step would throw) or a runaway.
  const outcomes = { failed: 0, done: 0, waiting: 0 };
  let size = Infinity;
  for (let i = 0; i < size; i += 97) {
    const link = new Link(mkClient(), mkServer());
    const down = link.wire.toClient.hold();
    link.run(); // the server's first flight waits on the wire
    if (down.pending().length > 1) down.coalesce(0, down.pending().length);
    size = down.pending()[0].bytes.length;
    down.corrupt(0, i).release();
    link.run();
    const { status, error } = link.client;
    assert.ok(['failed', 'done', 'want-read'].includes(status), `byte ${i}: the client is ${status}`);
    if (status === 'failed') assert.instance(error, TlsError, `byte ${i}`);
    outcomes[status === 'failed' ? 'failed' : status === 'done' ? 'done' : 'waiting']++;
  }
  assert.ok(outcomes.failed > outcomes.done + outcomes.waiting, `most flips fail the handshake: ${JSON.stringify(outcomes)}`);
});

t('an empty feed and empty write are no-ops; bad arguments are TypeErrors', () => {
  const client = mkClient();
  assert.is(client.feed(new Uint8Array(0)), 0);
  assert.throws(() => client.feed('text'), TypeError);
  assert.throws(() => client.read(0), RangeError);
  assert.throws(() => cctx.createEngine({ servername: 'localhost', bufferSize: -1 }), RangeError);
  assert.throws(() => cctx.createEngine({}), /needs servername/);
  assert.throws(() => sctx.createEngine({ servername: 'x' }), /client options/);
});

t('feeding after feedEnd is an error; a transport cut without close_notify is an unexpected EOF', () => {
  const client = mkClient();
  const server = mkServer();
  new Link(client, server).handshake();
  client.feedEnd();
  assert.throws(() => client.feed(new Uint8Array(1)), (e) => e.code === 'ERR_TLS_FEED_AFTER_END');
  try {
    client.read();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.is(e.reason, 'unexpected eof while reading');
  }
});

t('use after free throws a clear error, and free twice is harmless', () => {
  const client = cctx.createEngine({ servername: 'localhost' });
  client.free();
  client.free();
  assert.not.ok(client.alive);
  for (const use of [() => client.handshake(), () => client.feed(new Uint8Array(1)), () => client.takeOutput(),
    () => client.read(), () => client.write('x'), () => client.negotiated().protocol, () => client.peerCertificates()]) {
    assert.throws(use, (e) => e instanceof TlsError && e.code === 'ERR_USE_AFTER_FREE' && /TlsEngine has been freed/.test(e.message));
  }
  const ctx = openssl.createSecureContext({ rejectUnauthorized: false });
  ctx.free();
  assert.throws(() => ctx.createEngine(), /SecureContext has been freed/);
});

t('a connection outlives its freed context', () => {
  const { sctx: s2, cctx: c2 } = contexts(openssl, { server: { ALPNProtocols: ['h2'] }, client: { ALPNProtocols: ['h2'] } });
  const client = mkClient(c2);
  const server = mkServer(s2);
  s2.free();
  c2.free();
  new Link(client, server).handshake();
  assert.is(server.negotiated().alpnProtocol, 'h2', 'the server context\'s ALPN callback still works');
});

t.run();
