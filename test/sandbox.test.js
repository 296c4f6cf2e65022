// The testing sandbox: a client and a server in a private OpenSSL instance on a virtual clock,
// joined by a wire that a test can hold, break and replay; everything reproducible from a seed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { freedAfterEach, getOpenSSL, text } from './helpers.js';
import { TlsError } from '../dist/index.js';
import { Link, Sandbox, SandboxError, TestPki, WireRecord } from '../dist/testing/index.js';

const t = suite('sandbox');
const DAY = 86_400_000;
const START = Date.UTC(2030, 0, 1);
const keep = freedAfterEach(t);

/**
 * A sandbox with a root → intermediate → leaf chain made in its own PKI (so a seed makes the
 * certificates reproducible too), connected and ready for a handshake.
 */
async function sandbox({ seed = 'sandbox', clock = START, trace = true, keylog = true, leaf = {}, client = {}, server = {} } = {}) {
  const sb = keep(await Sandbox.create({ clock, seed, trace, keylog }));
  const root = sb.pki.root({ subject: 'Sandbox Root' });
  const inter = root.issue({ subject: 'Sandbox Intermediate', ca: true });
  const cert = inter.issue({ subject: 'localhost', san: ['DNS:localhost'], ...leaf });
  sb.connect({
    server: { cert: cert.chainPem, key: cert.keyPem, ...server },
    client: { ca: root.certPem, servername: 'localhost', ...client },
  });
  return { sb, root, inter, leaf: cert };
}

const hex = (b) => createHash('sha256').update(b).digest('hex');
const handshakeNames = (trace, direction) =>
  trace.filter((e) => e.contentType === 'handshake' && e.direction === direction).map((e) => e.message);

/** One full run: handshake, data both ways, clean close. */
async function fullRun(seed) {
  const { sb } = await sandbox({ seed });
  sb.handshake();
  sb.client.write('ping');
  sb.run();
  assert.is(sb.server.read(), 'ping');
  sb.server.write('pong');
  sb.server.shutdown();
  sb.run();
  assert.is(sb.client.read(), 'pong');
  assert.ok(sb.client.closed);
  return {
    transcript: hex(sb.wire.transcript()),
    log: sb.wire.log.map((r) => `${r.direction} ${hex(r.bytes)}`),
    keylog: sb.keylog.client.join('\n'),
    trace: sb.trace.server.map((e) => `${e.direction} ${e.contentType} ${hex(e.bytes)}`),
  };
}

t('the same seed and clock give byte-identical transcripts; another seed does not', async () => {
  const a = await fullRun('seed-A');
  const b = await fullRun('seed-A');
  const c = await fullRun('seed-B');
  assert.is(a.log.length, b.log.length);
  assert.equal(a.log, b.log, 'every record is identical');
  assert.is(a.transcript, b.transcript);
  assert.is(a.keylog, b.keylog, 'the same secrets');
  assert.equal(a.trace, b.trace);
  assert.is.not(a.transcript, c.transcript);
  assert.is.not(a.log[0], c.log[0], 'even the ClientHello differs (random, key shares)');
  assert.is.not(a.keylog, c.keylog);
});

t('without a seed, two runs differ (host entropy); the clock alone does not make them equal', async () => {
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const sb = keep(await Sandbox.create({ clock: START }));
    const root = sb.pki.root({ subject: 'r' });
    const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'] });
    sb.connect({ server: { cert: leaf.chainPem, key: leaf.keyPem }, client: { ca: root.certPem, servername: 'localhost' } });
    sb.handshake();
    runs.push(hex(sb.wire.transcript()));
  }
  assert.is.not(runs[0], runs[1]);
});

t('the virtual clock: a leaf valid for 10 days expires on day 11, and a real-clock connection beside it is unaffected', async () => {
  const start = Math.floor(Date.now() / 1000) * 1000; // the real time, so that a real-clock peer also sees a valid leaf
  const { sb, root, leaf } = await sandbox({ clock: start, leaf: { notBefore: start - DAY, notAfter: start + 10 * DAY } });
  sb.handshake();
  assert.ok(sb.client.engine.negotiated().authorized, 'valid on day 0');

  sb.clock.advance(9 * DAY);
  sb.reconnect();
  sb.handshake();
  assert.ok(sb.client.engine.negotiated().authorized, 'still valid on day 9');

  sb.clock.advance(2 * DAY);
  assert.is(sb.clock.now(), start + 11 * DAY);
  sb.reconnect();
  try {
    sb.handshake();
    assert.unreachable('the handshake must fail');
  } catch (e) {
    assert.instance(e, SandboxError);
    assert.instance(e, TlsError);
    assert.is(e.side, 'client');
    assert.is(e.code, 'CERT_HAS_EXPIRED');
    assert.is(e.verifyError, 'certificate has expired');
    assert.is(e.cause, sb.client.error);
  }
  const err = sb.client.error;
  assert.instance(err, TlsError);
  assert.is(err.code, 'CERT_HAS_EXPIRED');
  assert.is(err.message, 'certificate has expired');
  assert.is(err.alertSent?.name, 'certificate_expired');
  assert.is(sb.server.error?.alertReceived?.name, 'certificate_expired', 'the alert crossed the wire');
  assert.is(sb.client.status, 'failed');

  // The shared instance runs on the real clock, with the same certificates.
  const openssl = await getOpenSSL();
  assert.is.not(openssl, sb.openssl);
  const sctx = keep(openssl.createSecureContext({ isServer: true, cert: leaf.chainPem, key: leaf.keyPem }));
  const cctx = keep(openssl.createSecureContext({ ca: root.certPem }));
  const c = keep(cctx.createEngine({ servername: 'localhost' }));
  const s = keep(sctx.createEngine());
  const link = new Link(c, s);
  link.handshake();
  assert.ok(c.negotiated().authorized, 'the real clock says the leaf is valid');
  assert.is(text(link.send('client', 'real time')), 'real time');

  // And moving the clock back makes the sandbox accept it again.
  sb.clock.set(start + DAY);
  sb.reconnect();
  sb.handshake();
  assert.ok(sb.client.engine.negotiated().authorized);
});

t('before notBefore: CERT_NOT_YET_VALID', async () => {
  const { sb } = await sandbox({ leaf: { notBefore: START + DAY, notAfter: START + 30 * DAY } });
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.is(e.side, 'client');
    assert.is(e.code, 'CERT_NOT_YET_VALID');
  }
  sb.clock.advance(2 * DAY);
  sb.reconnect();
  sb.handshake();
  assert.ok(sb.client.engine.negotiated().authorized);
});

t('the wire parses each direction into records, in order, and logs them as sent', async () => {
  const { sb } = await sandbox({ client: { ciphersuites: 'TLS_AES_128_GCM_SHA256' } });
  sb.handshake();
  const log = sb.wire.log;
  assert.ok(log.every((r) => r instanceof WireRecord && r.complete && r.origin === 'sent'));
  assert.equal(log.map((r) => `${r.direction} ${r.contentType}`), [
    'toServer handshake',          // ClientHello
    'toClient handshake',          // ServerHello
    'toClient change_cipher_spec', // middlebox compatibility
    'toClient application_data',   // EncryptedExtensions
    'toClient application_data',   // Certificate
    'toClient application_data',   // CertificateVerify
    'toClient application_data',   // Finished
    'toServer change_cipher_spec',
    'toServer application_data',   // Finished
    'toClient application_data',   // NewSessionTicket
    'toClient application_data',   // NewSessionTicket
  ]);
  assert.is(log[0].version, 0x0301, 'a ClientHello record says TLS 1.0');
  assert.is(log[1].version, 0x0303);
  assert.is(log[0].fragment[0], 1, 'handshake type ClientHello');
  assert.is(log[0].length, log[0].bytes.length - 5);
  assert.is(String(log[0]), `toServer handshake 0x0301 len ${log[0].length}`);
  assert.is(sb.wire.toServer.pending().length, 0);
  assert.is(sb.wire.toClient.pending().length, 0);
  // The transcript holds exactly the logged bytes.
  const total = log.reduce((n, r) => n + 5 + r.bytes.length, 0);
  assert.is(sb.wire.transcript().length, total);
});

t('a flipped bit in an encrypted record: the receiver sends bad_record_mac', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  const up = sb.wire.toServer.hold();
  sb.client.write('secret');
  assert.is(up.pending().length, 1);
  up.corrupt(0, 10).release();
  sb.run();
  const e = sb.server.error;
  assert.instance(e, TlsError);
  assert.is(e.code, 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC');
  assert.is(e.alertSent?.name, 'bad_record_mac');
  assert.is(sb.client.error?.alertReceived?.name, 'bad_record_mac');
  assert.is(sb.server.status, 'failed');
  assert.throws(() => sb.server.read(), (x) => x === e, 'reading a failed side throws its error');
  assert.is(sb.wire.log.at(-2).origin, 'sent', 'the log keeps the record as the client sent it');
});

t('a flipped bit in the server\'s encrypted Certificate: the client fails the handshake with bad_record_mac', async () => {
  const { sb } = await sandbox();
  sb.wire.intercept((r, dir) => (dir === 'toClient' && r.type === 23 && r.length > 300
    ? (() => { const b = r.bytes.slice(); b[b.length - 1] ^= 0x80; return b; })() : 'pass'));
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.is(e.side, 'client');
    assert.is(e.code, 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC');
    assert.is(e.alertSent?.name, 'bad_record_mac');
  }
  // The log keeps what the server sent; the pending entries were the modified ones.
  assert.ok(sb.wire.log.every((r) => r.origin === 'sent'));
});

t('a transport cut without close_notify is an unexpected EOF, not a clean end', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  sb.server.write('partial response');
  sb.wire.toClient.cut();
  sb.run();
  assert.is(sb.client.read(), 'partial response', 'what arrived before the cut is readable');
  const e = sb.client.error;
  assert.instance(e, TlsError);
  assert.is(e.reason, 'unexpected eof while reading');
  assert.is(e.code, 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING');
  assert.not.ok(sb.client.closed);

  // The same with close_notify first is a clean end.
  const clean = (await sandbox()).sb;
  clean.handshake();
  clean.server.write('whole response');
  clean.server.shutdown();
  clean.wire.toClient.cut();
  clean.run();
  assert.is(clean.client.read(), 'whole response');
  assert.ok(clean.client.closed);
  assert.is(clean.client.status, 'closed');
  assert.is(clean.client.error, undefined);
});

t('a record truncated and then cut: unexpected EOF', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  const down = sb.wire.toClient.hold();
  sb.server.write('x'.repeat(1000));
  down.truncate(0, 100).cut().release();
  sb.run();
  assert.is(down.pending().length, 0);
  assert.is(sb.client.error?.reason, 'unexpected eof while reading');
});

t('a dropped record: the peer waits (want-read) instead of completing', async () => {
  const { sb } = await sandbox();
  // Drop the client's Finished: the server never completes.
  sb.wire.intercept((r, dir) => (dir === 'toServer' && r.type === 23 ? 'drop' : 'pass'));
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.instance(e, SandboxError);
    assert.is(e.code, 'ERR_SANDBOX_STALLED');
    assert.is(e.side, undefined);
  }
  assert.ok(sb.client.handshakeDone, 'the client thinks it is done');
  assert.not.ok(sb.server.handshakeDone);
  assert.is(sb.server.status, 'want-read');
  assert.is(sb.server.error, undefined);

  // After the handshake: dropping the only data record leaves the reader waiting.
  const second = (await sandbox()).sb;
  second.handshake();
  second.wire.toServer.hold();
  second.client.write('lost');
  second.wire.toServer.drop(0).release();
  assert.is(second.run(), 0, 'nothing left to do');
  assert.is(second.server.read(), '');
  assert.is(second.server.status, 'done');
  assert.is(second.server.error, undefined);
});

for (const [name, op] of [
  ['duplicated', (w) => w.duplicate(0)],
  ['reordered', (w) => w.reorder(1, 0)],
  ['dropped then followed', (w) => w.drop(0)],
]) {
  t(`a ${name} record is an error (bad_record_mac), never silently accepted`, async () => {
    const { sb } = await sandbox();
    sb.handshake();
    const up = sb.wire.toServer.hold();
    sb.client.write('one');
    sb.client.write('two');
    assert.is(up.pending().length, 2);
    op(up);
    up.release();
    sb.run();
    const e = sb.server.error;
    assert.instance(e, TlsError);
    assert.is(e.alertSent?.name, 'bad_record_mac');
  });
}

t('a duplicated ClientHello: unexpected_message', async () => {
  const { sb } = await sandbox();
  sb.client.step();
  sb.wire.toServer.duplicate(0);
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.is(e.side, 'server');
    assert.is(e.alertSent?.name, 'unexpected_message');
  }
});

t('split delivery: the receiver waits for the rest of a record, then reads it whole', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  const up = sb.wire.toServer.hold();
  sb.client.write('hello, world');
  const whole = up.pending()[0];
  up.split(0, 3);
  assert.equal(up.pending().map((r) => r.bytes.length), [3, whole.bytes.length - 3]);
  assert.not.ok(up.pending()[0].complete);
  assert.is(up.deliver(1), 3);
  sb.server.step();
  assert.is(sb.server.read(), '', 'three bytes are not a record');
  assert.is(up.deliver(1), whole.bytes.length - 3);
  assert.is(sb.server.read(), 'hello, world');
});

t('coalesced delivery: the server\'s whole flight in one feed', async () => {
  const { sb } = await sandbox();
  const down = sb.wire.toClient.hold();
  sb.run();
  const n = down.pending().length;
  assert.is(n, 6, 'ServerHello, CCS, EncryptedExtensions, Certificate, CertificateVerify, Finished');
  down.coalesce(0, n);
  assert.is(down.pending().length, 1);
  down.release();
  sb.handshake();
  assert.ok(sb.client.engine.negotiated().authorized);
});

t('injected garbage: wrong version number', async () => {
  const { sb } = await sandbox();
  sb.client.step();
  sb.wire.toClient.inject('HTTP/1.1 400 Bad Request\r\n\r\n');
  assert.is(sb.wire.toClient.pending()[0].origin, 'injected');
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.is(e.side, 'client');
    assert.is(e.code, 'ERR_SSL_WRONG_VERSION_NUMBER');
  }
});

t('an injected fatal alert ends the handshake with the peer\'s alert', async () => {
  const { sb } = await sandbox();
  sb.client.step();
  sb.wire.toServer.drop(0);
  sb.wire.toClient.inject(new Uint8Array([21, 3, 3, 0, 2, 2, 40])); // fatal handshake_failure
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.is(e.side, 'client');
    assert.is(e.alertReceived?.name, 'handshake_failure');
  }
});

t('intercept can replace a record by several chunks; delivery is unchanged', async () => {
  const { sb } = await sandbox();
  let seen = 0;
  sb.wire.intercept((r) => {
    seen++;
    const b = r.bytes;
    return [b.subarray(0, 1), b.subarray(1, 4), b.subarray(4)];
  });
  sb.handshake();
  assert.is(seen, sb.wire.log.length);
  sb.wire.intercept();
  sb.client.write('after');
  sb.run();
  assert.is(sb.server.read(), 'after');
});

t('large transfers through small buffers: partial feeds wait at the head of the wire', async () => {
  const { sb } = await sandbox({ client: { bufferSize: 4096 }, server: { bufferSize: 4096 } });
  sb.handshake();
  const big = 'abcdefghij'.repeat(20_000); // 200 kB: many records, more than either buffer holds
  sb.client.write(big);
  sb.run();
  assert.is(sb.server.read(), big);
  sb.server.write(big);
  const down = sb.wire.toClient;
  assert.ok(down.pending().length >= 12, 'the records wait on the wire');
  const total = down.pending().reduce((n, r) => n + r.bytes.length, 0);
  const fed = down.deliver();
  assert.ok(fed > 0 && fed <= 4096, `the client's 4 KiB buffer took ${fed} of ${total} bytes`);
  const left = down.pending().reduce((n, r) => n + r.bytes.length, 0);
  assert.is(left, total - fed, 'the rest waits on the wire');
  sb.run();
  assert.is(sb.client.read(), big);
});

t('step by step: each side and each direction moved by hand', async () => {
  const { sb } = await sandbox();
  assert.is(sb.client.status, 'new');
  assert.ok(sb.client.step());
  assert.is(sb.client.status, 'want-read');
  assert.equal(sb.wire.toServer.pending().map((r) => r.contentType), ['handshake']);
  assert.ok(sb.server.step(), 'its status changed');
  assert.is(sb.server.status, 'want-read');
  assert.not.ok(sb.server.step(), 'nothing delivered yet: nothing to do');
  assert.ok(sb.wire.toServer.deliver() > 0);
  assert.ok(sb.server.step());
  assert.is(sb.server.status, 'want-read');
  assert.is(sb.wire.toClient.pending().length, 6);
  sb.wire.toClient.deliver();
  sb.client.step();
  assert.ok(sb.client.handshakeDone);
  assert.is(sb.client.status, 'done');
  assert.ok(sb.step());
  assert.ok(sb.server.handshakeDone);
  sb.run();
  assert.not.ok(sb.step(), 'quiet');
});

t('trace: the TLS 1.3 full handshake, message by message', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  const full = ['ServerHello', 'EncryptedExtensions', 'Certificate', 'CertificateVerify', 'Finished'];
  assert.equal(handshakeNames(sb.trace.client, 'sent'), ['ClientHello', 'Finished']);
  assert.equal(handshakeNames(sb.trace.client, 'received'), [...full, 'NewSessionTicket', 'NewSessionTicket']);
  assert.equal(handshakeNames(sb.trace.server, 'received'), ['ClientHello', 'Finished']);
  assert.equal(handshakeNames(sb.trace.server, 'sent'), [...full, 'NewSessionTicket', 'NewSessionTicket']);
  assert.equal(sb.client.handshakeMessages('sent'), ['ClientHello', 'Finished']);
  // In order, both ways, from the client's side.
  assert.equal(sb.client.handshakeMessages(), ['ClientHello', ...full, 'Finished', 'NewSessionTicket', 'NewSessionTicket']);
  // The other events are there too: record headers, the inner content type, the compatibility CCS.
  const kinds = new Set(sb.trace.client.map((e) => e.contentType));
  for (const k of ['handshake', 'record_header', 'inner_content_type', 'change_cipher_spec']) assert.ok(kinds.has(k), k);
  const ccs = sb.trace.client.filter((e) => e.contentType === 'change_cipher_spec').map((e) => e.direction);
  assert.equal(ccs, ['received', 'sent']);
  const ch = sb.trace.client.find((e) => e.message === 'ClientHello');
  assert.equal(ch.bytes, sb.wire.log[0].fragment, 'the traced ClientHello is the record\'s body');
});

t('trace: the resumption handshake has no Certificate or CertificateVerify, and uses a pre_shared_key', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  const session = sb.client.engine.getSession();
  assert.instance(session, Uint8Array);
  const firstLog = sb.wire.log;
  sb.reconnect({ session });
  assert.is.not(sb.wire.log, firstLog, 'a new pair has a new wire');
  assert.is(sb.wire.log.length, 0);
  sb.handshake();
  assert.ok(sb.client.engine.negotiated().sessionReused);
  assert.ok(sb.server.engine.negotiated().sessionReused);
  assert.equal(handshakeNames(sb.trace.client, 'sent'), ['ClientHello', 'Finished']);
  assert.equal(handshakeNames(sb.trace.client, 'received'), ['ServerHello', 'EncryptedExtensions', 'Finished', 'NewSessionTicket']);
  assert.equal(sb.client.handshakeMessages(), ['ClientHello', 'ServerHello', 'EncryptedExtensions', 'Finished', 'Finished', 'NewSessionTicket']);
  // ServerHello carries the pre_shared_key extension (41).
  const sh = sb.trace.client.find((e) => e.message === 'ServerHello').bytes;
  assert.ok(extensions(sh, 2 + 32).includes(41), 'pre_shared_key in ServerHello');
  const ch = sb.trace.client.find((e) => e.message === 'ClientHello').bytes;
  assert.ok(extensions(ch, 2 + 32, true).at(-1) === 41, 'pre_shared_key is the ClientHello\'s last extension');
});

/** Extension types of a ClientHello or ServerHello message (handshake header included). */
function extensions(msg, skip, clientHello = false) {
  let i = 4 + skip;                       // header, version, random
  i += 1 + msg[i];                        // session id
  if (clientHello) {
    i += 2 + ((msg[i] << 8) | msg[i + 1]); // cipher suites
    i += 1 + msg[i];                      // compression methods
  } else {
    i += 3;                               // cipher suite, compression method
  }
  const end = i + 2 + ((msg[i] << 8) | msg[i + 1]);
  const types = [];
  for (i += 2; i < end;) {
    types.push((msg[i] << 8) | msg[i + 1]);
    i += 4 + ((msg[i + 2] << 8) | msg[i + 3]);
  }
  return types;
}

t('session tickets age on the virtual clock: resumed after a minute, not after the 2-hour lifetime', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  let session = sb.client.engine.getSession();
  sb.clock.advance(60_000);
  sb.reconnect({ session });
  sb.handshake();
  assert.ok(sb.client.engine.negotiated().sessionReused, 'a minute later');
  session = sb.client.engine.getSession();
  sb.clock.advance(7200_000 + 1000);
  sb.reconnect({ session });
  sb.handshake();
  assert.not.ok(sb.client.engine.negotiated().sessionReused, 'past the ticket lifetime: a full handshake');
  assert.ok(sb.client.handshakeMessages('received').includes('Certificate'));
});

t('TLS 1.2 works in the sandbox too, and its handshake is traced', async () => {
  const { sb } = await sandbox({ client: { maxVersion: 'TLSv1.2' } });
  sb.handshake();
  assert.is(sb.client.engine.negotiated().protocol, 'TLSv1.2');
  assert.equal(sb.client.handshakeMessages('sent'), ['ClientHello', 'ClientKeyExchange', 'Finished']);
  assert.equal(sb.client.handshakeMessages('received'),
    ['ServerHello', 'Certificate', 'ServerKeyExchange', 'ServerHelloDone', 'NewSessionTicket', 'Finished']);
  sb.client.write('1.2');
  sb.run();
  assert.is(sb.server.read(), '1.2');
});

t('a bad chain: the server leaves out its intermediate', async () => {
  const sb = keep(await Sandbox.create({ clock: START, seed: 'chain', trace: true }));
  const root = sb.pki.root({ subject: 'Root' });
  const inter = root.issue({ subject: 'Intermediate', ca: true });
  const leaf = inter.issue({ subject: 'localhost', san: ['DNS:localhost'] });
  sb.connect({ server: { cert: leaf.certPem, key: leaf.keyPem }, client: { ca: root.certPem, servername: 'localhost' } });
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.is(e.side, 'client');
    assert.is(e.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  }
  // The trace shows what the server sent: a Certificate message with one entry.
  const msg = sb.trace.client.find((e) => e.message === 'Certificate').bytes;
  let count = 0;
  for (let i = 4 + 1 + msg[4] + 3; i < msg.length; count++) {
    i += 3 + ((msg[i] << 16) | (msg[i + 1] << 8) | msg[i + 2]);
    i += 2 + ((msg[i] << 8) | msg[i + 1]);
  }
  assert.is(count, 1);
});

t('the sandbox\'s PKI follows its clock by default', async () => {
  const sb = keep(await Sandbox.create({ clock: START }));
  assert.instance(sb.pki, TestPki);
  assert.is(sb.pki, sb.pki, 'made once');
  const leaf = sb.pki.root({ subject: 'Root' });
  const { X509Certificate } = await import('node:crypto');
  const x = new X509Certificate(leaf.certPem);
  assert.is(Date.parse(x.validFrom), START - DAY);
});

t('handshake() names the side that failed first, even after steps taken by hand', async () => {
  const { sb } = await sandbox({ client: { servername: 'wrong.test' } });
  sb.client.step();
  sb.wire.toServer.deliver();
  sb.server.step();
  sb.wire.toClient.deliver();
  sb.client.step();
  assert.is(sb.client.status, 'failed');
  try { sb.handshake(); assert.unreachable(); } catch (e) {
    assert.is(e.side, 'client', 'not the server, which failed later on the alert');
    assert.is(e.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.is(e.name, 'SandboxError');
  }
  assert.is(sb.server.error?.alertReceived?.name, 'bad_certificate');
});

t('wire.cut() takes a direction, or cuts both', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  sb.wire.cut('toServer');
  assert.ok(sb.wire.toServer.isCut);
  assert.not.ok(sb.wire.toClient.isCut);
  sb.client.write('lost after the cut');
  assert.is(sb.wire.toServer.pending().length, 0, 'output after a cut goes nowhere');
  sb.run();
  assert.is(sb.server.error?.reason, 'unexpected eof while reading');
  sb.wire.cut();
  assert.ok(sb.wire.toClient.isCut);
  assert.throws(() => sb.wire.cut('sideways'), (e) => e instanceof TypeError);
});

t('connect() with bad options keeps the pair it had', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  const before = sb.client;
  assert.throws(() => sb.connect({ server: { cert: 'not a certificate', key: 'nor a key' }, client: { servername: 'x' } }), (e) => e instanceof TlsError);
  const other = sb.pki.root({ subject: 'other' });
  assert.throws(() => sb.connect({ server: { cert: other.certPem, key: other.keyPem }, client: {} }), /needs servername/);
  assert.is(sb.client, before);
  sb.client.write('still here');
  sb.run();
  assert.is(sb.server.read(), 'still here');
});

t('misuse is refused with clear errors', async () => {
  await Sandbox.create({ client: {} }).then(() => assert.unreachable(), (e) => assert.instance(e, TypeError));
  await Sandbox.create({ seed: 42 }).then(() => assert.unreachable(), (e) => assert.instance(e, TypeError));
  const sb = keep(await Sandbox.create({ clock: START }));
  assert.throws(() => sb.client, /no connection yet/);
  assert.throws(() => sb.reconnect(), /connect\(\) first/);
  assert.throws(() => sb.clock.set(NaN), (e) => e instanceof RangeError);
  const { sb: ok } = await sandbox();
  assert.throws(() => ok.wire.toServer.drop(0), (e) => e instanceof RangeError && /toServer has 0 pending entries/.test(e.message));
  ok.client.step();
  assert.throws(() => ok.wire.toServer.corrupt(0, 1e6), (e) => e instanceof RangeError);
  assert.throws(() => ok.wire.toServer.split(0, 0), (e) => e instanceof RangeError);
  assert.throws(() => ok.wire.toServer.coalesce(0, 2), (e) => e instanceof RangeError);
  assert.throws(() => ok.connect({ client: { isServer: true }, server: {} }), (e) => e instanceof TypeError);
});

t('free() frees the pair, the contexts and the PKI; it is idempotent', async () => {
  const { sb } = await sandbox();
  sb.handshake();
  const conn = sb.client.engine;
  sb.free();
  assert.not.ok(conn.alive);
  sb.free();
});

t('a Link joins connections the test made: the sandbox runs on the same one', async () => {
  const { sb } = await sandbox();
  assert.instance(sb.link, Link);
  assert.is(sb.link.wire, sb.wire);
  assert.is(sb.link.client, sb.client);
  // Two connections from the sandbox's contexts, joined by a Link of the test's own.
  const c = keep(sb.contexts.client.createEngine({ servername: 'localhost' }));
  const s = keep(sb.contexts.server.createEngine());
  assert.throws(() => new Link(s, c), (e) => e instanceof TypeError && /client connection first/.test(e.message));
  const link = new Link(c, s);
  const rounds = link.handshake();
  assert.ok(rounds > 0 && c.handshakeDone && s.handshakeDone);
  assert.is(text(link.send('client', 'ping')), 'ping');
  assert.is(text(link.send('server', 'pong')), 'pong');
  assert.ok(link.wire.log.some((r) => r.direction === 'toClient' && r.type === 23));
  // By hand: the connection's own output, put on the wire and fed.
  assert.is(c.shutdown(), 'sent');
  assert.ok(link.client.flush());
  assert.not.ok(link.client.flush(), 'nothing more queued');
  assert.is(link.wire.toServer.pending().length, 1);
  link.wire.toServer.deliver();
  assert.is(s.read(), 'closed');
});

t('a Link with chunk: 1 moves one byte per step each way, and the wire says so', async () => {
  const { sb } = await sandbox();
  const c = keep(sb.contexts.client.createEngine({ servername: 'localhost' }));
  const s = keep(sb.contexts.server.createEngine());
  const link = new Link(c, s, { chunk: 1 });
  assert.is(link.wire.toServer.chunk, 1);
  link.client.step();
  const hello = link.wire.toServer.pending()[0].bytes.length;
  link.step();
  assert.is(link.wire.toServer.pending()[0].bytes.length, hello - 1, 'one byte of the ClientHello delivered');
  assert.is(link.wire.toServer.pending()[0].origin, 'modified');
  link.wire.toServer.chunk = Infinity;
  link.handshake();
  assert.ok(c.handshakeDone);
  assert.throws(() => { link.wire.toClient.chunk = 0; }, (e) => e instanceof RangeError);
  assert.throws(() => new Link(c, s, { chunk: 1.5 }), (e) => e instanceof RangeError);
});

t.run();
