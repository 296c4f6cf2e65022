// The bundled root certificates: stored as deflated DER, unpacked losslessly (the PEM made from
// them is node's tls.rootCertificates, byte for byte), each one a certificate OpenSSL reads; and
// the small inflater that unpacks them agrees with zlib on every kind of block.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { getOpenSSL } from '../dist/index.js';
import { inflateRaw } from '../dist/inflate.js';
import { rootCertificateDer } from '../dist/root-certificates-der.js';
import { rootCertificates, rootCertificatesSource } from '../dist/root-certificates.js';

const t = suite('roots');

t('the PEM made from the stored DER is the text they were made from (node\'s tls.rootCertificates)', () => {
  assert.ok(rootCertificates.length > 100);
  assert.is(rootCertificates.length, rootCertificatesSource.count);
  assert.ok(Object.isFrozen(rootCertificates));
  const sha = createHash('sha256').update(rootCertificates.join('')).digest('hex').slice(0, 16);
  assert.is(sha, rootCertificatesSource.sha256);
  assert.match(rootCertificates[0], /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/);
});

t('each stored certificate is one OpenSSL reads, and the store holds them all', async () => {
  const openssl = await getOpenSSL();
  const der = rootCertificateDer();
  assert.is(der.length, rootCertificatesSource.count);
  for (const d of der) assert.ok(openssl.describeCertificate(d).ca, 'a CA certificate');
  const store = await openssl.rootStore();
  assert.is(store.size, der.length);
  assert.is(await openssl.rootStore(), store, 'parsed once per instance');
});

t('the inflater agrees with zlib: stored, fixed and dynamic blocks, long runs, and corrupt input fails', () => {
  let seed = 7;
  const random = (n) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog. '.repeat(300));
  const inputs = [new Uint8Array(0), new Uint8Array([42]), random(70_000), text, new Uint8Array(100_000).fill(7),
    Uint8Array.from({ length: 50_000 }, (_, i) => (i * 31) % 251)];
  for (const input of inputs) {
    for (const level of [0, 1, 6, 9]) {
      const packed = deflateRawSync(input, { level });
      assert.equal(inflateRaw(packed, input.length), input, `${input.length} bytes, level ${level}`);
      assert.equal(inflateRaw(packed, 1), input, 'growing from a small guess');
    }
    // Fixed Huffman blocks only.
    assert.equal(inflateRaw(deflateRawSync(input, { strategy: 4 })), input, `${input.length} bytes, fixed codes`);
  }
  const good = deflateRawSync(text);
  assert.throws(() => inflateRaw(good.subarray(0, good.length >> 1)), /bad deflate data/);
  assert.throws(() => inflateRaw(new Uint8Array([0xff, 0xff, 0xff])), /bad deflate data/);
});

t.run();
