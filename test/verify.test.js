// Certificate verification: secure by default, and every failure names its cause the way
// node:tls and OpenSSL do.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freedAfterEach, getOpenSSL, pem } from './helpers.js';
import { TlsError } from '../dist/index.js';
import { Link, SandboxError } from '../dist/testing/index.js';

const t = suite('verify');
let openssl;
t.before(async () => { openssl = await getOpenSSL(); });
const keep = freedAfterEach(t);

/**
 * Handshakes a client against a server presenting `chain`; returns both ends and the
 * SandboxError of a failed handshake (which names the side that failed first).
 */
function attempt({ chain = 'ecdsa-chain.pem', key = 'ecdsa.key', client = {}, conn = { servername: 'localhost' } } = {}) {
  const sctx = keep(openssl.createSecureContext({ isServer: true, cert: pem(chain), key: pem(key) }));
  const cctx = keep(openssl.createSecureContext({ ca: pem('ca.pem'), ...client }));
  const c = keep(cctx.createEngine(conn));
  const s = keep(sctx.createEngine());
  let error;
  try { new Link(c, s).handshake(); } catch (e) { error = e; }
  return { c, s, error };
}

/** The client's failure (its alert has already reached the server). */
function clientFailure(r) {
  assert.instance(r.error, SandboxError, 'the handshake must fail');
  assert.is(r.error.side, 'client', 'it is the client that failed first');
  assert.instance(r.c.error, TlsError);
  assert.is(r.error.cause, r.c.error);
  return r.c.error;
}

t('the right CA and hostname pass', () => {
  const { c, error } = attempt();
  assert.is(error, undefined);
  assert.ok(c.negotiated().authorized);
  assert.is(c.negotiated().verifyResult, 0);
});

t('an IP address is checked against IP SANs (and not sent as SNI)', () => {
  const { c, s, error } = attempt({ conn: { servername: '127.0.0.1' } });
  assert.is(error, undefined);
  assert.ok(c.negotiated().authorized);
  assert.is(s.negotiated().servername, null);
});

t('wrong hostname: ERR_TLS_CERT_ALTNAME_INVALID with node:tls\'s message', () => {
  const r = attempt({ conn: { servername: 'wrong.example' } });
  const e = clientFailure(r);
  assert.is(e.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.is(e.message, "Hostname/IP does not match certificate's altnames: Host: wrong.example. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1");
  assert.is(e.verifyError, 'hostname mismatch');
  assert.is(e.reason, 'certificate verify failed');
  assert.is(r.s.negotiated().servername, 'wrong.example');
});

t('wrong IP address: ERR_TLS_CERT_ALTNAME_INVALID naming the IP', () => {
  const e = clientFailure(attempt({ conn: { servername: '127.0.0.2' } }));
  assert.is(e.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.match(e.message, /IP: 127\.0\.0\.2\. is not in the cert's altnames/);
  assert.is(e.verifyError, 'IP address mismatch');
});

t('host can differ from servername: SNI says one thing, the check uses the other', () => {
  const { s, error } = attempt({ conn: { servername: 'sni.example', host: 'localhost' } });
  assert.is(error, undefined);
  assert.is(s.negotiated().servername, 'sni.example');
});

t('unknown CA, the leaf alone: UNABLE_TO_VERIFY_LEAF_SIGNATURE (as node:tls), and the server hears unknown_ca', () => {
  const r = attempt({ chain: 'other-chain.pem', key: 'other.key' });
  const e = clientFailure(r);
  assert.is(e.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.is(e.message, 'unable to verify the first certificate');
  assert.is(e.verifyResult, 21);
  // OpenSSL's first error, where a stopping callback stops, then the one verification ends with.
  assert.equal(e.verifyFailures, [{ depth: 0, error: 20 }, { depth: 0, error: 21 }]);
  assert.is(e.alertSent?.name, 'unknown_ca');
  assert.throws(() => r.s.handshake(), (se) => se.alertReceived?.name === 'unknown_ca' && /tlsv1 alert unknown ca/.test(se.message));
});

t('expired certificate: CERT_HAS_EXPIRED, "certificate has expired"', () => {
  const e = clientFailure(attempt({ chain: 'expired-chain.pem', key: 'expired.key' }));
  assert.is(e.code, 'CERT_HAS_EXPIRED');
  assert.is(e.message, 'certificate has expired');
  assert.is(e.alertSent?.name, 'certificate_expired');
});

t('self-signed leaf: DEPTH_ZERO_SELF_SIGNED_CERT, "self-signed certificate"', () => {
  const e = clientFailure(attempt({ chain: 'selfsigned.pem', key: 'selfsigned.key' }));
  assert.is(e.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.is(e.message, 'self-signed certificate');
});

t('a server that omits its intermediate: UNABLE_TO_VERIFY_LEAF_SIGNATURE (as node:tls)', () => {
  const e = clientFailure(attempt({ chain: 'ecdsa.pem' }));
  assert.is(e.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.is(e.message, 'unable to verify the first certificate');
});

t('a chain whose root is unknown: UNABLE_TO_GET_ISSUER_CERT_LOCALLY (the leaf is not alone)', () => {
  const e = clientFailure(attempt({ client: { ca: pem('other-ca.pem') } }));
  assert.is(e.code, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
  assert.is(e.message, 'unable to get local issuer certificate');
  assert.equal(e.verifyFailures, [{ depth: 1, error: 20 }]);
});

t('no CA at all: nothing verifies (secure by default)', () => {
  const e = clientFailure(attempt({ client: { ca: undefined } }));
  assert.is(e.code, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
});

t('a self-signed leaf is accepted when it is itself the trusted CA', () => {
  const { c, error } = attempt({ chain: 'selfsigned.pem', key: 'selfsigned.key', client: { ca: pem('selfsigned.pem') } });
  assert.is(error, undefined);
  assert.ok(c.negotiated().authorized);
});

t('rejectUnauthorized: false connects, reporting why it is not authorized', () => {
  for (const [chain, key, code] of [
    ['expired-chain.pem', 'expired.key', 'CERT_HAS_EXPIRED'],
    // Verification goes on past the first error and reports the last, as node:tls does.
    ['other-chain.pem', 'other.key', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  ]) {
    const { c, error } = attempt({ chain, key, client: { rejectUnauthorized: false }, conn: {} });
    assert.is(error, undefined);
    assert.not.ok(c.negotiated().authorized);
    assert.is(c.negotiated().authorizationError, code);
  }
});

t('rejectUnauthorized: false still checks the name, and reports a mismatch as node:tls does', () => {
  const { c, s, error } = attempt({ client: { rejectUnauthorized: false }, conn: { servername: 'wrong.example' } });
  assert.is(error, undefined);
  assert.is(s.negotiated().servername, 'wrong.example');
  assert.not.ok(c.negotiated().authorized);
  assert.is(c.negotiated().authorizationError, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.is(c.negotiated().verifyError, 'hostname mismatch');
  assert.is(c.negotiated().verifyErrorDepth, 0);
});

t('a server with requestCert and rejectUnauthorized: false admits an unverified client and says why', () => {
  const sctx = keep(openssl.createSecureContext({
    isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), requestCert: true, rejectUnauthorized: false, ca: pem('ca.pem'),
  }));
  const cctx = keep(openssl.createSecureContext({ ca: pem('ca.pem'), cert: pem('other-chain.pem'), key: pem('other.key') }));
  const c = keep(cctx.createEngine({ servername: 'localhost' }));
  const s = keep(sctx.createEngine());
  new Link(c, s).handshake();
  assert.not.ok(s.negotiated().authorized);
  assert.is(s.negotiated().authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'node:tls reports the same');
  assert.is(s.peerCertificates().length, 1, 'the client certificate is still there to inspect');
});

t('a verified handshake reports the peer\'s signature scheme', () => {
  const { c, error } = attempt();
  assert.is(error, undefined);
  assert.is(c.negotiated().peerSignatureScheme, 'ecdsa_secp256r1_sha256');
  assert.is(c.negotiated().verifyError, null);
  assert.is(c.negotiated().verifyErrorDepth, -1);
});

t('several CAs in one PEM string, and as an array', () => {
  const both = pem('other-ca.pem') + pem('ca.pem');
  assert.is(attempt({ client: { ca: both } }).error, undefined);
  assert.is(attempt({ client: { ca: [pem('other-ca.pem'), pem('ca.pem')] } }).error, undefined);
  assert.is(attempt({ chain: 'other-chain.pem', key: 'other.key', client: { ca: both } }).error, undefined);
});

t('after a failed verification, peerCertificates() still gives the chain the server sent', () => {
  const der = (name) => {
    const blocks = pem(name).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
    return blocks.map((b) => Uint8Array.from(atob(b.replace(/-----[A-Z ]+-----|\s+/g, '')), (ch) => ch.charCodeAt(0)));
  };
  // Untrusted (the client trusts another CA) and a wrong name: both fail verification.
  for (const r of [attempt({ client: { ca: pem('ed25519.pem') } }), attempt({ conn: { servername: 'wrong.example' } })]) {
    clientFailure(r);
    assert.equal(r.c.peerCertificates(), der('ecdsa-chain.pem'));
  }
});

t.run();
