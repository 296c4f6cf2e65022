// In-memory handshakes: both roles in one wasm instance, every certificate and key form the
// context accepts, data both ways and close_notify both ways.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bytes, contexts, getOpenSSL, pem, text } from './helpers.js';
import { TlsError } from '../dist/index.js';
import { Link } from '../dist/testing/index.js';

const t = suite('handshake');
let openssl;
t.before(async () => { openssl = await getOpenSSL(); });

function pair(opts = {}, connOpts = { servername: 'localhost' }) {
  const { sctx, cctx } = contexts(openssl, opts);
  const client = cctx.createEngine(connOpts);
  const server = sctx.createEngine();
  const link = new Link(client, server);
  const free = () => { client.free(); server.free(); sctx.free(); cctx.free(); };
  return { client, server, link, sctx, cctx, free };
}

t('loads OpenSSL 3.5.7', () => {
  assert.match(openssl.version, /^OpenSSL 3\.5\.7 /);
});

t('TLS 1.3 by default, with the hybrid post-quantum group X25519MLKEM768', () => {
  const { client, server, link, free } = pair();
  try {
    link.handshake();
    for (const c of [client, server]) {
      assert.is(c.negotiated().protocol, 'TLSv1.3');
      assert.is(c.negotiated().cipher.name, 'TLS_CHACHA20_POLY1305_SHA256');
      assert.is(c.negotiated().cipher.version, 'TLSv1.3');
      assert.is(c.negotiated().group, 'X25519MLKEM768');
    }
    assert.ok(client.negotiated().authorized);
    assert.is(client.negotiated().authorizationError, null);
    assert.is(server.negotiated().servername, 'localhost');
    assert.is(client.negotiated().alpnProtocol, false);
  } finally { free(); }
});

t('TLS 1.2 when the client caps it, with ECDHE over X25519', () => {
  const { client, server, link, free } = pair({ client: { ca: pem('ca.pem'), maxVersion: 'TLSv1.2' } });
  try {
    link.handshake();
    assert.is(client.negotiated().protocol, 'TLSv1.2');
    assert.is(server.negotiated().protocol, 'TLSv1.2');
    assert.is(client.negotiated().cipher.name, 'ECDHE-ECDSA-CHACHA20-POLY1305');
    assert.is(client.negotiated().cipher.standardName, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
    assert.is(client.negotiated().group, 'x25519');
  } finally { free(); }
});

t('TLS 1.2 with a chosen cipher and group', () => {
  const { client, server, link, free } = pair({
    client: { ca: pem('ca.pem'), maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305', ecdhCurve: 'P-256' },
  });
  try {
    link.handshake();
    assert.is(client.negotiated().cipher.name, 'ECDHE-ECDSA-CHACHA20-POLY1305');
    assert.is(client.negotiated().group, 'secp256r1');
  } finally { free(); }
});

t('TLS 1.3 with a chosen suite and group', () => {
  const { client, server, link, free } = pair({
    client: { ca: pem('ca.pem'), ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256', ecdhCurve: 'X25519' },
  });
  try {
    link.handshake();
    assert.is(client.negotiated().cipher.name, 'TLS_CHACHA20_POLY1305_SHA256');
    assert.is(server.negotiated().group, 'x25519');
  } finally { free(); }
});

for (const [name, chain, key] of [
  ['RSA-2048', 'rsa-chain.pem', 'rsa.key'],
  ['ECDSA P-256', 'ecdsa-chain.pem', 'ecdsa.key'],
  ['Ed25519', 'ed25519-chain.pem', 'ed25519.key'],
]) {
  for (const version of ['TLSv1.3', 'TLSv1.2']) {
    t(`${name} server certificate over ${version}`, () => {
      const { client, server, link, free } = pair({
        server: { cert: pem(chain), key: pem(key) },
        client: { ca: pem('ca.pem'), maxVersion: version },
      });
      try {
        link.handshake();
        assert.is(client.negotiated().protocol, version);
        assert.ok(client.negotiated().authorized);
        const certs = client.peerCertificates();
        assert.is(certs.length, 2, 'leaf and intermediate');
        assert.is(certs[0][0], 0x30, 'DER');
      } finally { free(); }
    });
  }
}

t('DER certificate, DER key and DER CA', () => {
  const { client, server, link, free } = pair({
    server: { cert: [bytes('ecdsa.der'), pem('int.pem')], key: bytes('ecdsa.key.der') },
    client: { ca: bytes('ca.der') },
  });
  try {
    link.handshake();
    assert.ok(client.negotiated().authorized);
  } finally { free(); }
});

t('encrypted PKCS#8 key with its passphrase; a wrong one is refused', () => {
  const ctx = openssl.createSecureContext({
    isServer: true, cert: pem('rsa-chain.pem'), key: pem('rsa-encrypted.key'), passphrase: 'correct horse',
  });
  ctx.free();
  try {
    openssl.createSecureContext({ isServer: true, cert: pem('rsa-chain.pem'), key: pem('rsa-encrypted.key'), passphrase: 'wrong' });
    assert.unreachable('a wrong passphrase must fail');
  } catch (e) {
    assert.instance(e, TlsError);
    assert.match(e.message, /^key: error:/);
  }
});

t('a key that does not match the certificate is refused', () => {
  try {
    openssl.createSecureContext({ isServer: true, cert: pem('rsa-chain.pem'), key: pem('ecdsa.key') });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.ok(e.errors.some((x) => /key (type|values) mismatch/.test(x.reason)), e.message);
  }
});

t('garbage where a certificate should be is a clear error', () => {
  for (const cert of ['not a certificate', new Uint8Array([1, 2, 3])]) {
    try {
      openssl.createSecureContext({ isServer: true, cert, key: pem('rsa.key') });
      assert.unreachable();
    } catch (e) {
      assert.instance(e, TlsError);
      assert.match(e.message, /^cert: error:[0-9A-F]{8}:/);
    }
  }
  try {
    openssl.createSecureContext({ ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.match(e.message, /^ca: /);
  }
});

t('option validation uses node:tls wording', () => {
  assert.throws(() => openssl.createSecureContext({ minVersion: 'TLSv1.9' }), /^"TLSv1\.9" is not a valid minimum TLS protocol version$/);
  assert.throws(() => openssl.createSecureContext({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }), /higher than maxVersion/);
  assert.throws(() => openssl.createSecureContext({ isServer: true }), /needs cert and key/);
  assert.throws(() => openssl.createSecureContext({ ciphers: 'NO-SUCH-CIPHER' }), /ciphers 'NO-SUCH-CIPHER': error:.*no cipher match/);
  assert.throws(() => openssl.createSecureContext({ ecdhCurve: 'nope' }), /ecdhCurve 'nope': OpenSSL does not accept this value/);
  assert.throws(() => openssl.createSecureContext({ ALPNProtocols: [''] }), /1 to 255 bytes/);
});

t('data both ways, including more than one record', () => {
  const { client, server, link, free } = pair();
  try {
    link.handshake();
    assert.is(text(link.send('client', 'GET / HTTP/1.0\r\n\r\n')), 'GET / HTTP/1.0\r\n\r\n');
    const big = new Uint8Array(200_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const got = link.send('server', big);
    assert.is(got.length, big.length);
    assert.ok(got.every((b, i) => b === big[i]));
  } finally { free(); }
});

t('close_notify from the client, then from the server', () => {
  const { client, server, link, free } = pair();
  try {
    link.handshake();
    assert.is(client.shutdown(), 'sent');
    link.client.flush();
    link.wire.toServer.deliver();
    assert.is(server.read(), 'closed', 'server sees close_notify');
    assert.is(server.shutdown(), 'done', 'server answers, both sides closed');
    link.server.flush();
    link.wire.toClient.deliver();
    assert.is(client.shutdown(), 'done');
  } finally { free(); }
});

t('close_notify from the server first', () => {
  const { client, server, link, free } = pair();
  try {
    link.handshake(); // runs until the client has also read the server's session tickets
    assert.is(server.shutdown(), 'sent');
    link.server.flush();
    link.wire.toClient.deliver();
    assert.is(client.read(), 'closed');
    assert.is(client.shutdown(), 'done');
    link.client.flush();
    link.wire.toServer.deliver();
    assert.is(server.read(), 'closed');
  } finally { free(); }
});

t('ALPN: the server picks from its own preference order', () => {
  const { client, server, link, free } = pair({
    server: { ALPNProtocols: ['h2', 'http/1.1'] },
    client: { ca: pem('ca.pem'), ALPNProtocols: ['http/1.1', 'h2'] },
  });
  try {
    link.handshake();
    assert.is(client.negotiated().alpnProtocol, 'h2');
    assert.is(server.negotiated().alpnProtocol, 'h2');
  } finally { free(); }
});

t('ALPN with no protocol in common fails with no_application_protocol', () => {
  const { client, server, link, free } = pair({
    server: { ALPNProtocols: ['h2'] },
    client: { ca: pem('ca.pem'), ALPNProtocols: ['http/1.1'] },
  });
  try {
    assert.throws(() => link.handshake(), (e) => e instanceof TlsError && e.side === 'server' && e.alertSent?.name === 'no_application_protocol');
    assert.is(server.error.code, 'ERR_SSL_NO_APPLICATION_PROTOCOL');
    // The alert still reached the client, which reports what it received.
    assert.throws(() => client.handshake(), (e) => e.alertReceived?.name === 'no_application_protocol');
  } finally { free(); }
});

t('mutual TLS: the server verifies the client certificate', () => {
  const { client, server, link, free } = pair({
    server: { requestCert: true, ca: pem('ca.pem') },
    client: { ca: pem('ca.pem'), cert: pem('client-chain.pem'), key: pem('client.key') },
  });
  try {
    link.handshake();
    assert.ok(server.negotiated().authorized);
    assert.is(server.peerCertificates().length, 2);
  } finally { free(); }
});

t('mutual TLS: a client without a certificate is refused with certificate_required', () => {
  const { client, server, link, free } = pair({ server: { requestCert: true, ca: pem('ca.pem') } });
  try {
    assert.throws(() => link.handshake(), (e) => e instanceof TlsError && e.side === 'server' && e.alertSent?.name === 'certificate_required');
    assert.is(server.error.reason, 'peer did not return a certificate');
  } finally { free(); }
});

t('mutual TLS: a session resumes, in TLS 1.3 and 1.2, and the server still knows the client', () => {
  // Found by the record-layer fuzzer's warm-up: a server that asks for certificates had no
  // session ID context, so OpenSSL failed every resumption attempt with internal_error
  // ('session id context uninitialized') instead of resuming.
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
    const { sctx, cctx } = contexts(openssl, {
      server: { requestCert: true, ca: pem('ca.pem') },
      client: { ca: pem('ca.pem'), cert: pem('client-chain.pem'), key: pem('client.key'), maxVersion },
    });
    const engines = [];
    const connect = (session) => {
      const client = cctx.createEngine({ servername: 'localhost', ...(session ? { session } : {}) });
      const server = sctx.createEngine();
      engines.push(client, server);
      new Link(client, server).handshake();
      return { client, server };
    };
    try {
      const first = connect();
      const session = first.client.getSession();
      assert.ok(session, `${maxVersion}: a session to resume`);
      const second = connect(session);
      assert.ok(second.client.negotiated().sessionReused, `${maxVersion}: the client resumed`);
      assert.ok(second.server.negotiated().sessionReused, `${maxVersion}: the server resumed`);
      assert.ok(second.server.negotiated().authorized, `${maxVersion}: the client's certificate was verified when the session began`);
      assert.is(second.server.peerCertificate()?.subject.CN, first.server.peerCertificate()?.subject.CN);
    } finally {
      for (const e of engines) e.free();
      sctx.free();
      cctx.free();
    }
  }
});

t('requestCert with rejectUnauthorized: false lets the client in, unauthorized', () => {
  const { client, server, link, free } = pair({ server: { requestCert: true, rejectUnauthorized: false, ca: pem('ca.pem') } });
  try {
    link.handshake();
    assert.not.ok(server.negotiated().authorized);
    assert.is(server.negotiated().authorizationError, 'NO_PEER_CERTIFICATE');
  } finally { free(); }
});

t('a throwing onmessage callback still gets every event, and its first throw comes back', () => {
  const { sctx, cctx } = contexts(openssl);
  const label = (e) => `${e.direction} ${e.message ?? e.contentType}`;
  // The reference: the same handshake with a callback that never throws.
  const expected = [];
  const c1 = cctx.createEngine({ servername: 'localhost', onmessage: (e) => expected.push(label(e)) });
  const s1 = sctx.createEngine();
  new Link(c1, s1).handshake();
  // Throw at the first message received: the server's whole flight arrives in one batch, so
  // the messages after it in that batch must still be delivered.
  const seen = [];
  let thrown = 0;
  const c2 = cctx.createEngine({
    servername: 'localhost',
    onmessage: (e) => {
      seen.push(label(e));
      if (e.direction === 'received' && thrown++ === 0) throw new Error('callback failed');
    },
  });
  const s2 = sctx.createEngine();
  const link = new Link(c2, s2);
  let caught;
  try {
    link.handshake();
  } catch (e) {
    caught = e;
  }
  assert.is(caught?.message, 'callback failed');
  link.handshake();
  assert.ok(c2.handshakeDone, 'the handshake went on after the callback threw');
  assert.ok(expected.length > 4, expected.join(', '));
  assert.equal(seen, expected);
  for (const c of [c1, s1, c2, s2, cctx, sctx]) c.free();
});

t.run();
