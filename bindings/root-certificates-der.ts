/**
 * The bundled root certificates as DER: what a client trusts when no `ca` is given
 * (`openssl.rootStore()` loads this module on first use, so a program that always gives `ca`
 * never loads it). They are stored compactly: the certificates' DER, one after another,
 * deflated and base64-encoded (`roots-data.js`, written at build time by
 * scripts/gen-roots.mjs), and unpacked on each call. Private to the package.
 * @module
 */
// Written at build time into dist/ by scripts/gen-roots.mjs; roots-data.d.ts has its types.
import { DEFLATED, DER_SIZE, SOURCE } from './roots-data.js';
import { inflateRaw } from './inflate.js';

/** Where the list came from: Node.js's `tls.rootCertificates` (Mozilla's CA store), how many, and a digest of their PEM text. */
export const rootCertificatesSource: { readonly source: string; readonly count: number; readonly sha256: string } = SOURCE;

/** The bundled root certificates, DER, in Node.js's order (a new array each call). */
export function rootCertificateDer(): Uint8Array[] {
  const binary = atob(DEFLATED);
  const packed = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) packed[i] = binary.charCodeAt(i);
  const all = inflateRaw(packed, DER_SIZE);
  const certs: Uint8Array[] = [];
  for (let pos = 0; pos < all.length;) {
    // Each is a DER SEQUENCE: 0x30, then its length (short or long form), then that many bytes.
    if (all[pos] !== 0x30) throw new Error('the bundled root certificates are corrupt');
    let len = all[pos + 1];
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + all[pos + 2 + i];
      header += n;
    }
    certs.push(all.slice(pos, pos + header + len));
    pos += header + len;
  }
  if (certs.length !== rootCertificatesSource.count) throw new Error('the bundled root certificates are corrupt');
  return certs;
}
