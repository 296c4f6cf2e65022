// The high-level API over in-memory transports: connect/accept, streams, close semantics,
// resumption, trust defaults, identity checks and failures.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, createServer, memoryPair, OpenSSL, TlsError } from '../dist/index.js';
import { rootCertificates } from '../dist/root-certificates.js';
import { enc, guard, pem, readAll, recording, text } from './helpers.js';

const t = suite('tls');
let server;
t.before(async () => { server = await createServer({ cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') }); });
t.after(() => server.close());

/** A connected pair over memory; `client` options override the defaults. */
async function pair(client = {}, srv = server, transports = memoryPair()) {
  const [a, b] = transports;
  const accepted = srv.accept(b);
  accepted.catch(() => {});
  const c = await connect(a, { servername: 'localhost', ca: pem('ca.pem'), ...client });
  return { c, s: await accepted };
}


t('connect and accept: data both ways, then close_notify both ways and closed resolves', async () => {
  const { c, s } = await pair();
  assert.is(c.getProtocol(), 'TLSv1.3');
  assert.is(c.getEphemeralKeyInfo().name, 'X25519MLKEM768');
  assert.ok(c.authorized);
  assert.is(s.servername, 'localhost');
  const cw = c.writable.getWriter();
  const sw = s.writable.getWriter();
  await cw.write(enc('ping'));
  await cw.close(); // half-close: close_notify, the client can still read
  assert.is(await readAll(s.readable), 'ping');
  await sw.write(enc('pong'));
  await sw.close();
  assert.is(await readAll(c.readable), 'pong');
  await Promise.all([c.closed, s.closed]);
  assert.is(c.getProtocol(), 'TLSv1.3', 'negotiated parameters stay readable after close');
});

t('the last handshake flight and the first write leave in one transport write', async () => {
  const [a, b] = memoryPair();
  const counted = recording(a);
  const accepted = server.accept(b);
  const c = await connect(counted.transport, { servername: 'localhost', ca: pem('ca.pem') });
  assert.is(counted.writes.length, 1, 'only the ClientHello so far: the Finished waits a turn');
  await c.writable.getWriter().write(enc('GET / HTTP/1.1\r\n\r\n'));
  assert.is(counted.writes.length, 2, 'Finished and the request together');
  const s = await accepted;
  const r = await s.readable.getReader().read();
  assert.is(text(r.value), 'GET / HTTP/1.1\r\n\r\n');
  await c.close();
  await s.close();
});

t('after the peer\'s close_notify and the end of its transport, closed settles by itself', async () => {
  const { c, s } = await pair();
  const sw = s.writable.getWriter();
  await sw.write(enc('bye'));
  await s.close(); // close_notify, then the server's side of the transport ends
  assert.is(await readAll(c.readable), 'bye');
  await guard(c.closed, 'closed', 5000); // no close() from the client
});

t('close() closes at once; closed resolves; reads end', async () => {
  const { c, s } = await pair();
  await c.close();
  await c.closed;
  await c.close(); // idempotent
  const r = await s.readable.getReader().read();
  assert.ok(r.done, 'the server sees close_notify');
  await s.close();
});

t('TLS 1.3 resumption with a ticket from onsession', async () => {
  const sessions = [];
  const first = await pair({ onsession: (x) => sessions.push(x) });
  await first.s.writable.getWriter().write(enc('hi')); // the client reads, and so takes its tickets
  await first.c.readable.getReader().read();
  assert.ok(sessions.length >= 1, 'a ticket arrived');
  assert.not.ok(first.c.isSessionReused());
  await first.c.close(); await first.s.close();
  const second = await pair({ session: sessions.at(-1) });
  assert.ok(second.c.isSessionReused());
  assert.ok(second.s.isSessionReused());
  await second.c.close(); await second.s.close();
});

t('TLS 1.2 resumption with getSession()', async () => {
  const first = await pair({ maxVersion: 'TLSv1.2' });
  const session = first.c.getSession();
  assert.instance(session, Uint8Array);
  await first.c.close(); await first.s.close();
  const second = await pair({ maxVersion: 'TLSv1.2', session });
  assert.is(second.c.getProtocol(), 'TLSv1.2');
  assert.ok(second.c.isSessionReused());
  await second.c.close(); await second.s.close();
});

t('a garbage session is refused clearly', async () => {
  try {
    await pair({ session: new Uint8Array([1, 2, 3]) });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.match(e.message, /^session: error:/);
  }
});

t('without ca, clients trust the bundled Mozilla roots, and only them', async () => {
  assert.ok(rootCertificates.length > 100);
  try {
    await pair({ ca: undefined });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.is(e.code, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
  }
  const { c, s } = await pair({ ca: [...rootCertificates, pem('ca.pem')] });
  assert.ok(c.authorized, 'the roots extended with a custom CA');
  await c.close(); await s.close();
});

t('without context options, connections share one context per instance; with any, each makes its own', async () => {
  const openssl = await OpenSSL.load();
  const local = await createServer({ openssl, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') });
  const made = [];
  const create = openssl.createSecureContext.bind(openssl);
  openssl.createSecureContext = (o) => { made.push(o); return create(o); };
  try {
    for (let i = 0; i < 3; i++) {
      // The bundled roots do not know the test CA: each fails the same way, the shared context lives on.
      const e = await pair({ ca: undefined, openssl }, local).then(() => null, (x) => x);
      assert.is(e?.code, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    }
    assert.is(made.length, 1, 'one context for three connections');
    for (let i = 0; i < 2; i++) {
      const { c, s } = await pair({ openssl }, local);
      assert.ok(c.authorized);
      await c.close(); await s.close();
    }
    assert.is(made.length, 3, 'a context per connection that has context options (ca)');
  } finally {
    local.close();
  }
});

t('checkServerIdentity replaces the built-in name check', async () => {
  const seen = [];
  const { c, s } = await pair({
    servername: 'anything.example',
    checkServerIdentity: (host, cert) => { seen.push([host, cert.subjectaltname, cert.raw[0]]); return undefined; },
  });
  assert.equal(seen, [['anything.example', 'DNS:localhost, IP Address:127.0.0.1', 0x30]]);
  await c.close(); await s.close();
  try {
    await pair({ checkServerIdentity: () => new Error('pinned key mismatch') });
    assert.unreachable();
  } catch (e) {
    assert.is(e.message, 'pinned key mismatch');
  }
});

t('a failed handshake rejects connect and accept, and closed', async () => {
  const [a, b] = memoryPair();
  const accepted = server.accept(b);
  accepted.catch(() => {});
  try {
    await connect(a, { servername: 'wrong.example', ca: pem('ca.pem') });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.is(e.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  }
  try {
    await accepted;
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.is(e.alertReceived?.name, 'bad_certificate');
  }
});

t('a transport cut without close_notify errors the reader: truncation is not EOF', async () => {
  const [a, b] = memoryPair();
  const bw = b.writable.getWriter();
  const relayed = { readable: b.readable, writable: new WritableStream({ write: (x) => bw.write(x), close: () => bw.close() }) };
  const { c, s } = await pair({}, server, [a, relayed]);
  await s.writable.getWriter().write(enc('partial'));
  const reader = c.readable.getReader();
  assert.is(text((await reader.read()).value), 'partial');
  await bw.close(); // the transport ends; no close_notify was sent
  try {
    await reader.read();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.is(e.reason, 'unexpected eof while reading');
  }
  try { await c.closed; assert.unreachable(); } catch (e) { assert.is(e.reason, 'unexpected eof while reading'); }
  await s.close();
});

t('the transport closing during the handshake rejects connect', async () => {
  const [a, b] = memoryPair();
  const reader = b.readable.getReader();
  void reader.read().then(() => b.writable.close()); // read the ClientHello, then hang up
  try {
    await connect(a, { servername: 'localhost', ca: pem('ca.pem') });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.is(e.code, 'ECONNRESET');
    assert.is(e.message, 'Client network socket disconnected before secure TLS connection was established');
    assert.is(e.errors[0]?.reason, 'unexpected eof while reading', 'OpenSSL\'s own error is kept');
  }
});

t('write() refuses strings with a TypeError', async () => {
  const { c, s } = await pair();
  try {
    await c.writable.getWriter().write('text');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
  await s.close();
});

t.run();
