// The test PKI (TestPki): certificates for every key type, in root → intermediate → leaf
// chains, accepted by this package and by the runtime's own node:tls; PEM and DER agree; names,
// SANs, validity and usages come out as asked and are enforced.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import tls from 'node:tls';
import { guard, HOST, listen, runtime, Scope } from './helpers.js';
import { Sandbox, TestPki } from '../dist/testing/index.js';

const t = suite('pki');
const DAY = 86_400_000;
const START = Date.UTC(2030, 0, 1);
const KEY_TYPES = ['rsa-2048', 'ecdsa-p256', 'ecdsa-p384', 'ed25519', 'ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'];
const ML_DSA = KEY_TYPES.filter((k) => k.startsWith('ml-dsa'));
const SCHEMES = {
  'rsa-2048': 'rsa_pss_rsae_sha256', 'ecdsa-p256': 'ecdsa_secp256r1_sha256', 'ecdsa-p384': 'ecdsa_secp384r1_sha384',
  'ed25519': 'ed25519', 'ml-dsa-44': 'mldsa44', 'ml-dsa-65': 'mldsa65', 'ml-dsa-87': 'mldsa87',
};

let sb;
/** Chains by key type, made once (RSA key generation takes a few seconds in wasm). */
const chains = {};
t.before(async () => {
  // The full flavor: ML-DSA keys are not in the small one.
  sb = await Sandbox.create({ clock: Date.now(), seed: 'pki-tests', flavor: 'full' });
  for (const key of KEY_TYPES) {
    const root = sb.pki.root({ subject: `Test Root ${key}`, key });
    const inter = root.issue({ subject: `Test Intermediate ${key}`, key, ca: true });
    const leaf = inter.issue({ subject: 'localhost', key, san: ['DNS:localhost', 'IP:127.0.0.1'] });
    chains[key] = { root, inter, leaf };
  }
});
t.after(() => sb.free());

/** Handshakes in the sandbox; returns the error, or undefined. */
function attempt(server, client = {}) {
  sb.connect({ server, client: { servername: 'localhost', ...client } });
  try {
    sb.handshake();
    return undefined;
  } catch (e) {
    return e;
  }
}

const b64 = (pem) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
const fromB64 = (s) => new Uint8Array(atob(s).split('').map((c) => c.charCodeAt(0)));

for (const key of KEY_TYPES) {
  t(`${key}: a root → intermediate → leaf chain is accepted by this package, both ways (server and client certificates)`, () => {
    const { root, inter, leaf } = chains[key];
    assert.is(leaf.chain.length, 2, 'leaf and intermediate');
    assert.is(leaf.chainPem, leaf.certPem + inter.certPem);
    const error = attempt(
      { cert: leaf.chainPem, key: leaf.keyPem, requestCert: true, ca: root.certPem },
      { ca: root.certPem, cert: leaf.chainPem, key: leaf.keyPem },
    );
    assert.is(error, undefined, error?.message);
    const c = sb.client.engine;
    const s = sb.server.engine;
    assert.ok(c.negotiated().authorized);
    assert.ok(s.negotiated().authorized, 'the server verified the client\'s chain');
    assert.is(c.negotiated().peerSignatureScheme, SCHEMES[key]);
    assert.is(s.negotiated().peerSignatureScheme, SCHEMES[key]);
    assert.is(c.peerCertificates().length, 2);
    assert.equal(c.peerCertificates()[0], leaf.certDer);
    assert.equal(c.peerCertificates()[1], inter.certDer);
  });
}

/** Whether this runtime's node:crypto can load the key (how the node:tls test decides). */
function runtimeLoads(keyPem) {
  try {
    crypto.createPrivateKey(keyPem);
    return { ok: true };
  } catch (e) {
    return { ok: false, why: e.message };
  }
}

/** A node:tls server with the chain and a node:tls client trusting the root, over HOST. */
async function nodeTls({ root, leaf }) {
  const scope = new Scope();
  try {
    const server = tls.createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (s) => s.end('hello from node:tls'));
    const refused = new Promise((_, reject) => server.on('tlsClientError', reject));
    const port = await listen(scope, server);
    const c = tls.connect({ host: HOST, port, servername: 'localhost', ca: root.certPem });
    scope.defer(() => c.destroy());
    const ended = new Promise((resolve, reject) => {
      let data = '';
      c.on('data', (d) => { data += d; });
      c.on('error', reject);
      c.on('end', () => resolve({ data, authorized: c.authorized, protocol: c.getProtocol(), der: c.getPeerCertificate().raw }));
    });
    return await guard(Promise.race([refused, ended]), 'node:tls', 10_000);
  } finally {
    await scope.close();
  }
}

t('the same chains are accepted by the runtime\'s node:tls; only ML-DSA may be missing there', async () => {
  const unsupported = [];
  for (const key of KEY_TYPES) {
    const { root, leaf } = chains[key];
    const loads = runtimeLoads(leaf.keyPem);
    if (!loads.ok) {
      unsupported.push(key);
      continue;
    }
    const r = await nodeTls({ root, leaf });
    assert.is(r.data, 'hello from node:tls', key);
    assert.ok(r.authorized, `${key}: node:tls verified the chain`);
    assert.is(r.protocol, 'TLSv1.3');
    assert.equal(new Uint8Array(r.der), leaf.certDer);
  }
  // Every classic key type must work everywhere: nothing is skipped silently.
  for (const key of unsupported) assert.ok(ML_DSA.includes(key), `${runtime} cannot load a ${key} key`);
  const v = process.versions;
  if (runtime === 'node' && /^3\.0\./.test(v.openssl)) {
    // Node 20 bundles OpenSSL 3.0, which predates ML-DSA (added in 3.5).
    assert.equal(unsupported, ML_DSA, `Node ${v.node} with OpenSSL ${v.openssl}`);
  }
  if (unsupported.length) {
    const why = {
      node: `OpenSSL ${v.openssl} has no ML-DSA`,
      // Verified: Deno's node:crypto refuses the key ("unsupported"), and a node:tls server given
      // it fails every handshake with "unsupported protocol".
      deno: 'Deno\'s node:crypto and TLS have no ML-DSA',
      // Verified: BoringSSL loads only seed-form ML-DSA keys (PRIVATE_KEY_WAS_NOT_SEED), and with
      // a seed-form key its TLS still fails with NO_COMMON_SIGNATURE_ALGORITHMS.
      bun: 'Bun\'s BoringSSL reads only seed-form ML-DSA keys and has no ML-DSA in TLS',
    }[runtime];
    console.log(`  note (${runtime}): node:tls case skipped for ${unsupported.join(', ')}: ${why} ` +
      `(createPrivateKey: ${runtimeLoads(chains[unsupported[0]].leaf.keyPem).why})`);
  }
});

t('PEM and DER are the same certificate and the same key', () => {
  for (const key of KEY_TYPES) {
    const { root, leaf } = chains[key];
    for (const c of [root, leaf]) {
      assert.match(c.certPem, /^-----BEGIN CERTIFICATE-----\n/);
      assert.equal(fromB64(b64(c.certPem)), c.certDer, `${key} certificate`);
      assert.match(c.keyPem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8');
      assert.equal(fromB64(b64(c.keyPem)), c.keyDer, `${key} key`);
    }
    const x = new crypto.X509Certificate(leaf.certPem);
    assert.equal(new Uint8Array(x.raw), leaf.certDer);
    // The runtime's X509_check_issued compares the issuer's key type with the signature's, so
    // it needs an OpenSSL that knows the algorithm.
    if (runtimeLoads(leaf.keyPem).ok) assert.ok(x.checkIssued(new crypto.X509Certificate(chains[key].inter.certPem)), `${key}: issued by the intermediate`);
  }
  // A DER certificate and key work as well as PEM ones.
  const { root, leaf } = chains['ecdsa-p256'];
  const error = attempt({ cert: leaf.certDer, key: leaf.keyDer }, { ca: root.certDer });
  assert.ok(error?.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'a lone DER leaf leaves out the intermediate');
  assert.is(attempt({ cert: [leaf.certDer, chains['ecdsa-p256'].inter.certDer], key: leaf.keyDer }, { ca: root.certDer }), undefined);
});

t('names and subjectAltNames come out as asked, and hostnames are checked against them', () => {
  const { root, inter } = chains['ecdsa-p256'];
  const leaf = inter.issue({
    subject: { O: 'Test Org', CN: 'service.test' },
    san: ['DNS:service.test', 'DNS:*.service.test', 'IP:127.0.0.1', 'IP:::1', 'email:ops@service.test', 'URI:https://service.test/'],
  });
  const x = new crypto.X509Certificate(leaf.certPem);
  assert.is(x.subject, 'O=Test Org\nCN=service.test');
  assert.is(x.issuer, 'CN=Test Intermediate ecdsa-p256');
  const san = 'DNS:service.test, DNS:*.service.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:ops@service.test, URI:https://service.test/';
  // Node and Bun print IPv6 addresses as OpenSSL does; Deno compresses them ('::1').
  assert.is(x.subjectAltName.replace('IP Address:::1', 'IP Address:0:0:0:0:0:0:0:1'), san);
  assert.ok(x.checkHost('service.test')); // (Deno's checkHost does not match wildcards: the handshakes below check those)
  assert.is(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.is(x.checkEmail('ops@service.test'), 'ops@service.test');
  const server = { cert: leaf.chainPem, key: leaf.keyPem };
  for (const name of ['service.test', 'www.service.test', '127.0.0.1', '::1']) {
    const e = attempt(server, { ca: root.certPem, servername: name });
    assert.is(e, undefined, `${name}: ${e?.message}`);
  }
  assert.is(sb.client.engine.peerCertificate()?.subjectaltname, san);
  assert.is(attempt(server, { ca: root.certPem, servername: 'a.b.service.test' })?.code, 'ERR_TLS_CERT_ALTNAME_INVALID', 'a wildcard covers one label');
  const e = attempt(server, { ca: root.certPem, servername: 'other.test' });
  assert.is(e.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.match(e.message, `is not in the cert's altnames: ${san}`);
});

t('the validity window is as asked, to the second, and enforced at its edges', () => {
  const { root, inter } = chains['ecdsa-p256'];
  // Inside the CAs' window, which began a day before the sandbox's clock (the real time here).
  const now = Math.floor(sb.clock.now() / 1000) * 1000;
  const notBefore = now + 3 * DAY;
  const notAfter = now + 10 * DAY;
  const leaf = inter.issue({ subject: 'localhost', san: ['DNS:localhost'], notBefore, notAfter });
  const x = new crypto.X509Certificate(leaf.certPem);
  assert.is(Date.parse(x.validFrom), notBefore);
  assert.is(Date.parse(x.validTo), notAfter);
  const server = { cert: leaf.chainPem, key: leaf.keyPem };
  const at = (ms) => attempt(server, { ca: root.certPem, verifyTime: ms })?.code;
  assert.is(at(notBefore - 1000), 'CERT_NOT_YET_VALID');
  assert.is(at(notBefore), undefined);
  assert.is(at(notAfter - 1000), undefined);
  assert.is(at(notAfter + 1000), 'CERT_HAS_EXPIRED');
  // The default window: from a day before the PKI's clock, for a year.
  const pki = new TestPki(sb.openssl, { now: () => START });
  const d = new crypto.X509Certificate(pki.root({ subject: 'default window' }).certPem);
  assert.is(Date.parse(d.validFrom), START - DAY);
  assert.is(Date.parse(d.validTo), START - DAY + 365 * DAY);
  pki.free();
  assert.throws(() => inter.issue({ subject: 'x', notBefore: notAfter, notAfter: notBefore }), (e) => e instanceof RangeError);
});

/** The extendedKeyUsage OIDs in a DER certificate (found by their encoding, not parsed). */
function ekuOids(der) {
  const hex = Array.from(der, (b) => b.toString(16).padStart(2, '0')).join('');
  const at = hex.indexOf('0603551d25'); // OID 2.5.29.37
  if (at < 0) return [];
  const oids = [];
  const kp = '06082b06010505070303'.slice(0, 18); // 1.3.6.1.5.5.7.3.x
  for (let i = hex.indexOf(kp, at); i >= 0 && i < at + 200; i = hex.indexOf(kp, i + 20)) {
    oids.push(`1.3.6.1.5.5.7.3.${parseInt(hex.slice(i + 18, i + 20), 16)}`);
  }
  return oids;
}

t('key usage and extended key usage are written and enforced', () => {
  const { root, inter } = chains['ecdsa-p256'];
  const clientOnly = inter.issue({ subject: 'localhost', san: ['DNS:localhost'], extKeyUsage: ['clientAuth'] });
  const serverOnly = inter.issue({ subject: 'localhost', san: ['DNS:localhost'], extKeyUsage: ['serverAuth'] });
  const both = chains['ecdsa-p256'].leaf;
  assert.equal(ekuOids(clientOnly.certDer), ['1.3.6.1.5.5.7.3.2']);
  assert.equal(ekuOids(serverOnly.certDer), ['1.3.6.1.5.5.7.3.1']);
  assert.equal(ekuOids(both.certDer), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'leaves default to both');
  assert.equal(ekuOids(root.certDer), [], 'CAs get none by default');
  if (runtime === 'deno') {
    // Verified: Deno's X509Certificate.keyUsage lists keyUsage names (['DigitalSignature']), not EKU OIDs as node does.
    console.log('  note (deno): X509Certificate.keyUsage differs from node\'s; EKUs checked in the DER only');
  } else {
    assert.equal(new crypto.X509Certificate(clientOnly.certPem).keyUsage, ['1.3.6.1.5.5.7.3.2']);
  }
  assert.is(new crypto.X509Certificate(root.certPem).ca, true);
  assert.is(new crypto.X509Certificate(both.certPem).ca, false);

  // A clientAuth-only leaf used as a server certificate.
  let e = attempt({ cert: clientOnly.chainPem, key: clientOnly.keyPem }, { ca: root.certPem });
  assert.is(e.side, 'client');
  assert.is(e.code, 'INVALID_PURPOSE');
  // OpenSSL 3.5's wording; OpenSSL 3.0 (and Node 20) said "unsupported certificate purpose".
  assert.is(e.verifyError, 'unsuitable certificate purpose');
  // A serverAuth-only leaf used as a client certificate.
  const server = { cert: both.chainPem, key: both.keyPem, requestCert: true, ca: root.certPem };
  e = attempt(server, { ca: root.certPem, cert: serverOnly.chainPem, key: serverOnly.keyPem });
  assert.is(e.side, 'server');
  assert.is(e.code, 'INVALID_PURPOSE');
  assert.is(attempt(server, { ca: root.certPem, cert: clientOnly.chainPem, key: clientOnly.keyPem }), undefined);

  // keyUsage without any TLS-server use.
  const crlOnly = inter.issue({ subject: 'localhost', san: ['DNS:localhost'], keyUsage: ['cRLSign'] });
  assert.is(attempt({ cert: crlOnly.chainPem, key: crlOnly.keyPem }, { ca: root.certPem }).code, 'INVALID_PURPOSE');
});

t('CA constraints are enforced: pathLength, CA:FALSE issuers, keyCertSign', () => {
  const pki = sb.pki;
  const check = (root, issuer) => {
    const leaf = issuer.issue({ subject: 'localhost', san: ['DNS:localhost'] });
    return attempt({ cert: leaf.chainPem, key: leaf.keyPem }, { ca: root.certPem })?.code;
  };
  const r0 = pki.root({ subject: 'pathlen 0', pathLength: 0 });
  assert.is(check(r0, r0), undefined, 'a leaf right under it is fine');
  assert.is(check(r0, r0.issue({ subject: 'sub CA', ca: true })), 'PATH_LENGTH_EXCEEDED');
  const r = chains['ecdsa-p256'].root;
  assert.is(check(r, r.issue({ subject: 'not a CA' })), 'INVALID_CA');
  assert.is(check(r, r.issue({ subject: 'CA without keyCertSign', ca: true, keyUsage: ['cRLSign'] })), 'INVALID_CA');
});

t.run();
