// Key logging: the SSLKEYLOGFILE lines are the real secrets. From the logged TLS 1.3 traffic
// secrets, node:crypto derives the record keys (RFC 8446 §7.1, §7.3) and decrypts records
// captured on the sandbox's wire, independently of OpenSSL's record layer.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import { Sandbox } from '../dist/testing/index.js';
import { concat } from './helpers.js';

const t = suite('keylog');
const hexBytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** HKDF-Expand (RFC 5869 §2.3) with HMAC-`hash`. */
function hkdfExpand(hash, prk, info, length) {
  const out = [];
  let prev = new Uint8Array(0);
  let n = 0;
  for (let i = 1; n < length; i++) {
    prev = new Uint8Array(crypto.createHmac(hash, prk).update(prev).update(info).update(new Uint8Array([i])).digest());
    out.push(prev);
    n += prev.length;
  }
  return concat(out).subarray(0, length);
}

/** HKDF-Expand-Label (RFC 8446 §7.1): HkdfLabel = length u16, "tls13 " + label, context. */
function hkdfExpandLabel(hash, secret, label, context, length) {
  const full = new TextEncoder().encode(`tls13 ${label}`);
  const info = new Uint8Array(2 + 1 + full.length + 1 + context.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = full.length;
  info.set(full, 3);
  info[3 + full.length] = context.length;
  info.set(context, 4 + full.length);
  return hkdfExpand(hash, secret, info, length);
}

/** The record key and IV for a traffic secret (RFC 8446 §7.3). */
function trafficKeys(secret, { hash = 'sha256', keyLength = 16 } = {}) {
  return {
    key: hkdfExpandLabel(hash, secret, 'key', new Uint8Array(0), keyLength),
    iv: hkdfExpandLabel(hash, secret, 'iv', new Uint8Array(0), 12),
  };
}

/**
 * Decrypts one TLS 1.3 record (RFC 8446 §5.2, §5.3): nonce = iv XOR the 64-bit sequence
 * number, AAD = the record header, the tag is the last 16 bytes; the inner plaintext is the
 * content, its real type, then zero padding. Throws if the tag does not verify.
 */
function decryptRecord(record, { key, iv }, seq, cipher = 'aes-128-gcm') {
  const nonce = iv.slice();
  const view = new DataView(nonce.buffer);
  view.setBigUint64(4, view.getBigUint64(4) ^ BigInt(seq));
  const body = record.fragment;
  const d = crypto.createDecipheriv(cipher, key, nonce);
  d.setAAD(record.header);
  d.setAuthTag(body.subarray(body.length - 16));
  const inner = new Uint8Array(Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]));
  let end = inner.length;
  while (end > 0 && inner[end - 1] === 0) end--;
  return { type: inner[end - 1], content: inner.subarray(0, end - 1) };
}

/** The secret for `label` in key-log lines, checking the line's shape. */
function secretFor(lines, label) {
  const line = lines.find((l) => l.startsWith(`${label} `));
  assert.ok(line, `${label} is logged`);
  const [, random, secret] = line.split(' ');
  assert.match(random, /^[0-9a-f]{64}$/);
  assert.match(secret, /^[0-9a-f]+$/);
  return { random, secret: hexBytes(secret) };
}

async function session(options = {}) {
  const sb = await Sandbox.create({ clock: Date.UTC(2030, 0, 1), seed: 'keylog', keylog: true, ...options });
  const root = sb.pki.root({ subject: 'Keylog Root' });
  const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'] });
  sb.connect({
    server: { cert: leaf.chainPem, key: leaf.keyPem },
    client: { ca: root.certPem, servername: 'localhost', ciphersuites: 'TLS_AES_128_GCM_SHA256' },
  });
  return sb;
}

t('the TLS 1.3 lines: five labels, on both sides, naming the ClientHello\'s random', async () => {
  const sb = await session();
  try {
    sb.handshake();
    const labels = (lines) => lines.map((l) => l.split(' ')[0]).sort();
    const expected = ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'EXPORTER_SECRET',
      'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_TRAFFIC_SECRET_0'];
    assert.equal(labels(sb.keylog.client), expected);
    assert.equal(labels(sb.keylog.server), expected);
    assert.equal([...sb.keylog.client].sort(), [...sb.keylog.server].sort(), 'both sides log the same secrets');
    // The client random is bytes 6..38 of the ClientHello message (after the record header).
    const hello = sb.wire.log[0];
    assert.is(hello.fragment[0], 1, 'ClientHello');
    const random = toHex(hello.fragment.subarray(6, 38));
    for (const l of sb.keylog.client) assert.is(l.split(' ')[1], random);
    // SHA-256 suites have 32-byte secrets.
    assert.is(secretFor(sb.keylog.client, 'CLIENT_TRAFFIC_SECRET_0').secret.length, 32);
    assert.is(sb.client.engine.negotiated().cipher.name, 'TLS_AES_128_GCM_SHA256');
  } finally { sb.free(); }
});

t('CLIENT_TRAFFIC_SECRET_0 decrypts the client\'s first application-data record with node:crypto', async () => {
  const sb = await session();
  try {
    sb.handshake();
    const logged = sb.wire.log.length;
    const message = 'GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n';
    sb.client.write(message);
    sb.client.write('second record');
    sb.run();
    assert.is(sb.server.read(), message + 'second record');
    const sent = sb.wire.log.slice(logged).filter((r) => r.direction === 'toServer');
    assert.is(sent.length, 2);
    assert.ok(sent.every((r) => r.type === 23 && r.version === 0x0303));

    const keys = trafficKeys(secretFor(sb.keylog.client, 'CLIENT_TRAFFIC_SECRET_0').secret);
    assert.is(keys.key.length, 16);
    const first = decryptRecord(sent[0], keys, 0);
    assert.is(first.type, 23, 'inner content type application_data');
    assert.is(new TextDecoder().decode(first.content), message);
    const second = decryptRecord(sent[1], keys, 1);
    assert.is(new TextDecoder().decode(second.content), 'second record');
    // The wrong sequence number (or a flipped bit) fails authentication.
    assert.throws(() => decryptRecord(sent[0], keys, 1));
  } finally { sb.free(); }
});

t('the handshake secrets decrypt the encrypted handshake; the server\'s traffic secret its tickets and data', async () => {
  const sb = await session();
  try {
    sb.handshake();
    sb.server.write('from the server');
    sb.run();
    assert.is(sb.client.read(), 'from the server');
    const log = sb.wire.log;
    const encrypted = (dir) => log.filter((r) => r.direction === dir && r.type === 23);
    const down = encrypted('toClient');
    const up = encrypted('toServer');

    // Server handshake flight: EncryptedExtensions, Certificate, CertificateVerify, Finished.
    const sh = trafficKeys(secretFor(sb.keylog.client, 'SERVER_HANDSHAKE_TRAFFIC_SECRET').secret);
    const flight = down.slice(0, 4).map((r, i) => decryptRecord(r, sh, i));
    assert.ok(flight.every((p) => p.type === 22), 'handshake records');
    assert.equal(flight.map((p) => p.content[0]), [8, 11, 15, 20]);

    // The client's Finished, under the client handshake secret.
    const ch = trafficKeys(secretFor(sb.keylog.client, 'CLIENT_HANDSHAKE_TRAFFIC_SECRET').secret);
    const fin = decryptRecord(up[0], ch, 0);
    assert.is(fin.type, 22);
    assert.is(fin.content[0], 20, 'Finished');
    assert.is(fin.content.length, 4 + 32, 'a SHA-256 verify_data');

    // After the handshake, the server sends two NewSessionTickets, then the data.
    const st = trafficKeys(secretFor(sb.keylog.server, 'SERVER_TRAFFIC_SECRET_0').secret);
    const after = down.slice(4).map((r, i) => decryptRecord(r, st, i));
    assert.equal(after.map((p) => [p.type, p.content[0]]), [[22, 4], [22, 4], [23, 'f'.charCodeAt(0)]]);
    assert.is(new TextDecoder().decode(after[2].content), 'from the server');
  } finally { sb.free(); }
});

t('with TLS_AES_256_GCM_SHA384 the same derivation needs SHA-384 and a 32-byte key', async () => {
  const sb = await session();
  const root = sb.pki.root({ subject: 'Root 384' });
  const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'] });
  sb.connect({
    server: { cert: leaf.chainPem, key: leaf.keyPem },
    client: { ca: root.certPem, servername: 'localhost', ciphersuites: 'TLS_AES_256_GCM_SHA384' },
  });
  try {
    sb.handshake();
    const logged = sb.wire.log.length;
    sb.client.write('384');
    sb.run();
    const record = sb.wire.log.slice(logged).find((r) => r.direction === 'toServer');
    const { secret } = secretFor(sb.keylog.client, 'CLIENT_TRAFFIC_SECRET_0');
    assert.is(secret.length, 48);
    const keys = trafficKeys(secret, { hash: 'sha384', keyLength: 32 });
    const p = decryptRecord(record, keys, 0, 'aes-256-gcm');
    assert.is(new TextDecoder().decode(p.content), '384');
  } finally { sb.free(); }
});

t('without keylog: true nothing is logged', async () => {
  const sb = await session({ keylog: false });
  try {
    sb.handshake();
    assert.equal(sb.keylog.client, []);
    assert.equal(sb.keylog.server, []);
  } finally { sb.free(); }
});

t.run();
