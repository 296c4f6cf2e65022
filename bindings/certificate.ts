/**
 * X.509 certificates as OpenSSL describes them (`ow_x509_describe`), in the shape of node's
 * `tlsSocket.getPeerCertificate()`, plus the one-line names `openssl s_client` prints. Nothing
 * here parses ASN.1: OpenSSL does, inside the module.
 * @module
 */
import { NULL } from './abi.js';
import type { Instance } from './loader.js';
import { openSSLFailure } from './native.js';

/** A distinguished name as node shows it: one property per attribute, an array when repeated. */
export type CertificateName = Record<string, string | string[]>;

/** A certificate's fields, named as node's `getPeerCertificate()` names them. */
export interface CertificateInfo {
  readonly subject: CertificateName;
  readonly issuer: CertificateName;
  /** The subject as `openssl s_client` prints it, e.g. 'C=US, O=Example, CN=example.com'. */
  readonly subjectText: string;
  /** The issuer, likewise. */
  readonly issuerText: string;
  /** e.g. 'DNS:example.com, IP Address:127.0.0.1'; undefined without the extension. */
  readonly subjectaltname?: string;
  /** authorityInfoAccess, e.g. { 'OCSP - URI': ['http://ocsp.example/'] }. */
  readonly infoAccess?: Record<string, string[]>;
  /** basicConstraints CA:TRUE. */
  readonly ca: boolean;
  /** Key size in bits. */
  readonly bits: number;
  /** 'RSA', 'EC', 'ED25519', 'ML-DSA-65', ... */
  readonly keyType: string;
  /** RSA: the modulus in upper-case hexadecimal, and the exponent ('0x10001'). */
  readonly modulus?: string;
  readonly exponent?: string;
  /** EC: the curve's ASN.1 name, e.g. 'prime256v1'. */
  readonly asn1Curve?: string;
  /** EC: the curve's NIST name, e.g. 'P-256', for the curves NIST names. */
  readonly nistCurve?: string;
  /**
   * The public key, as node gives it: for RSA the SubjectPublicKeyInfo (DER), for EC the
   * uncompressed point; absent for other keys (Ed25519, ML-DSA), as in node.
   */
  readonly pubkey?: Uint8Array;
  /** As OpenSSL prints validity: 'Jan  1 00:00:00 2030 GMT'. */
  readonly valid_from: string;
  readonly valid_to: string;
  /** The same instants as dates. */
  readonly validFrom: Date;
  readonly validTo: Date;
  /** The signature algorithm's OpenSSL long name, e.g. 'ecdsa-with-SHA256'. */
  readonly signatureAlgorithm: string;
  /** SHA-1, SHA-256 and SHA-512 of the DER, 'AB:CD:...'. */
  readonly fingerprint: string;
  readonly fingerprint256: string;
  readonly fingerprint512: string;
  /** Extended key usages as dotted OIDs. */
  readonly ext_key_usage?: string[];
  /** Upper-case hexadecimal. */
  readonly serialNumber: string;
  /** The certificate, DER. */
  readonly raw: Uint8Array;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** OpenSSL's EC_curve_nid2nist() names, by ASN.1 name. */
const NIST_CURVES: Readonly<Record<string, string>> = {
  prime192v1: 'P-192', secp224r1: 'P-224', prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521',
};

/**
 * The BIT STRING of a DER SubjectPublicKeyInfo, without its unused-bits byte: an EC key's
 * point. Undefined for bytes that are not one.
 */
function spkiKeyBits(spki: Uint8Array): Uint8Array | undefined {
  let pos = 0;
  const header = (tag: number): number | undefined => {
    if (spki[pos++] !== tag) return undefined;
    let len = spki[pos++];
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + spki[pos++];
    }
    return pos + len <= spki.length ? len : undefined;
  };
  if (header(0x30) === undefined) return undefined; // SubjectPublicKeyInfo
  const alg = header(0x30); // AlgorithmIdentifier: skipped
  if (alg === undefined) return undefined;
  pos += alg;
  const bits = header(0x03);
  return bits === undefined || bits < 1 || spki[pos] !== 0 ? undefined : spki.slice(pos + 1, pos + bits);
}

function addTo(obj: Record<string, string | string[]>, key: string, value: string): void {
  const had = obj[key];
  obj[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
}

/** node's `pubkey`: RSA's SubjectPublicKeyInfo, EC's point, nothing for other keys. */
function publicKey(type: string | undefined, spki: Uint8Array): { pubkey?: Uint8Array } {
  if (type === 'RSA') return { pubkey: spki };
  if (type === 'EC') {
    const point = spkiKeyBits(spki);
    return point ? { pubkey: point } : {};
  }
  return {};
}

/** Describes a DER certificate with OpenSSL; throws a TlsError for bytes that are not one. */
export function describeCertificate(inst: Instance, der: Uint8Array): CertificateInfo {
  const { exports: x, heap } = inst;
  const text = heap.withBytes(der, false, (p, n) => {
    const s = x.ow_x509_describe(p, n);
    if (s === NULL) throw openSSLFailure(inst, 'reading the certificate');
    return heap.takeString(s) ?? '';
  });
  const one: Record<string, string> = {};
  const subject: CertificateName = {};
  const issuer: CertificateName = {};
  const infoAccess: Record<string, string[]> = {};
  const eku: string[] = [];
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key.startsWith('subject.')) addTo(subject, key.slice(8), value);
    else if (key.startsWith('issuer.')) addTo(issuer, key.slice(7), value);
    else if (key === 'info_access') {
      const [method, location] = value.split(' - ');
      const [kind, where] = [location.slice(0, location.indexOf(':')), location.slice(location.indexOf(':') + 1)];
      (infoAccess[`${method} - ${kind}`] ??= []).push(where);
    } else if (key === 'ext_key_usage') eku.push(value);
    else one[key] = value;
  }
  return {
    subject, issuer,
    subjectText: one.subject ?? '', issuerText: one.issuer ?? '',
    ...(one.san !== undefined ? { subjectaltname: one.san } : {}),
    ...(Object.keys(infoAccess).length > 0 ? { infoAccess } : {}),
    ca: one.ca === '1',
    bits: Number(one.key_bits ?? 0),
    keyType: one.key_type ?? 'unknown',
    ...(one.modulus !== undefined ? { modulus: one.modulus, exponent: one.exponent } : {}),
    ...(one.key_curve !== undefined ? { asn1Curve: one.key_curve } : {}),
    ...(one.key_curve !== undefined && NIST_CURVES[one.key_curve] ? { nistCurve: NIST_CURVES[one.key_curve] } : {}),
    ...publicKey(one.key_type, hexBytes(one.pubkey ?? '')),
    valid_from: one.valid_from ?? '', valid_to: one.valid_to ?? '',
    validFrom: new Date(Number(one.not_before) * 1000), validTo: new Date(Number(one.not_after) * 1000),
    signatureAlgorithm: one.sig_alg ?? 'unknown',
    fingerprint: one.fingerprint ?? '', fingerprint256: one.fingerprint256 ?? '', fingerprint512: one.fingerprint512 ?? '',
    ...(eku.length > 0 ? { ext_key_usage: eku } : {}),
    serialNumber: one.serial ?? '',
    raw: der.slice(),
  };
}
