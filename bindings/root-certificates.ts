/**
 * The root certificates clients trust when no `ca` is given (Mozilla's CA store, as Node.js
 * bundles it), as PEM strings in the shape of node's `tls.rootCertificates`. To trust these and
 * your own CA: `ca: [...rootCertificates, myCa]`. The package stores them as DER and makes the
 * PEM text when this module is imported; `connect()` does not need this module.
 * @module
 */
import { rootCertificateDer, rootCertificatesSource } from './root-certificates-der.js';

export { rootCertificatesSource };

/** A DER certificate as PEM, as node's `tls.rootCertificates` writes it (72-character lines). */
function pem(der: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < der.length; i += 0x8000) binary += String.fromCharCode(...der.subarray(i, i + 0x8000));
  const b64 = btoa(binary);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 72) lines.push(b64.slice(i, i + 72));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----`;
}

/** Mozilla's CA store, as node's `tls.rootCertificates`: PEM strings, frozen. */
export const rootCertificates: readonly string[] = Object.freeze(rootCertificateDer().map(pem));
