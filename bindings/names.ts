/**
 * TLS and X.509 names and codes, in one place: protocol versions, record content types,
 * handshake messages, alerts, and node's codes for X.509 verify results. Private to the
 * package; the values reach users through {@link TlsError} and the connection accessors.
 * @module
 */

/** Protocol versions by node:tls name, as on the wire. */
export const VERSIONS: Readonly<Record<string, number>> = {
  'TLSv1': 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304,
};

/** node:tls's name for a wire version ("TLSv1.3"), or its hex for one it does not name. */
export function versionName(wire: number): string {
  for (const [name, v] of Object.entries(VERSIONS)) if (v === wire) return name;
  return wire === 0x0300 ? 'SSLv3' : `0x${wire.toString(16)}`;
}

/** Record content types, and OpenSSL's pseudo types for record headers and TLS 1.3's inner type. */
export const CONTENT_TYPES: Readonly<Record<number, string>> = {
  20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data',
  256: 'record_header', 257: 'inner_content_type',
};

/** Handshake message types (RFC 8446 section 4 and RFC 5246 section 7.4). */
export const HANDSHAKE_TYPES: Readonly<Record<number, string>> = {
  0: 'HelloRequest', 1: 'ClientHello', 2: 'ServerHello', 4: 'NewSessionTicket', 5: 'EndOfEarlyData',
  8: 'EncryptedExtensions', 11: 'Certificate', 12: 'ServerKeyExchange', 13: 'CertificateRequest',
  14: 'ServerHelloDone', 15: 'CertificateVerify', 16: 'ClientKeyExchange', 20: 'Finished',
  22: 'CertificateStatus', 24: 'KeyUpdate', 254: 'message_hash',
};

/** Alert descriptions by number (RFC 8446 section 6 and RFC 5246 section 7.2). */
export const ALERTS: Readonly<Record<number, string>> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed',
  22: 'record_overflow', 40: 'handshake_failure', 42: 'bad_certificate', 43: 'unsupported_certificate',
  44: 'certificate_revoked', 45: 'certificate_expired', 46: 'certificate_unknown',
  47: 'illegal_parameter', 48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error',
  51: 'decrypt_error', 70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error',
  86: 'inappropriate_fallback', 90: 'user_canceled', 100: 'no_renegotiation',
  109: 'missing_extension', 110: 'unsupported_extension', 112: 'unrecognized_name',
  113: 'bad_certificate_status_response', 115: 'unknown_psk_identity', 116: 'certificate_required',
  120: 'no_application_protocol',
};

/** A TLS alert, sent or received. */
export interface TlsAlert {
  readonly level: 'warning' | 'fatal';
  /** The alert number from RFC 8446 section 6, e.g. 20. */
  readonly code: number;
  /** The RFC's name, e.g. `"bad_record_mac"`. */
  readonly name: string;
}

/** Decodes the shim's `(level << 8) | description` alert value; undefined for -1 (none). */
export function decodeAlert(v: number): TlsAlert | undefined {
  if (v < 0) return undefined;
  const code = v & 0xff;
  return { level: v >> 8 === 1 ? 'warning' : 'fatal', code, name: ALERTS[code] ?? `alert_${code}` };
}

/** X.509 verify results that matter to callers, by OpenSSL's number (X509_V_ERR_*). */
export const X509_V = {
  OK: 0,
  UNABLE_TO_GET_ISSUER_CERT: 2,
  CERT_NOT_YET_VALID: 9,
  CERT_HAS_EXPIRED: 10,
  DEPTH_ZERO_SELF_SIGNED_CERT: 18,
  SELF_SIGNED_CERT_IN_CHAIN: 19,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21,
  HOSTNAME_MISMATCH: 62,
  IP_ADDRESS_MISMATCH: 64,
} as const;

/** X.509 verify results by number, named as node:tls names them (X509_V_ERR_ without the prefix). */
const VERIFY_CODES: Readonly<Record<number, string>> = {
  2: 'UNABLE_TO_GET_ISSUER_CERT', 3: 'UNABLE_TO_GET_CRL', 4: 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  6: 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 7: 'CERT_SIGNATURE_FAILURE', 9: 'CERT_NOT_YET_VALID',
  10: 'CERT_HAS_EXPIRED', 13: 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 14: 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  17: 'OUT_OF_MEM', 18: 'DEPTH_ZERO_SELF_SIGNED_CERT', 19: 'SELF_SIGNED_CERT_IN_CHAIN',
  20: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 21: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  22: 'CERT_CHAIN_TOO_LONG', 23: 'CERT_REVOKED', 24: 'NO_ISSUER_PUBLIC_KEY', 25: 'PATH_LENGTH_EXCEEDED',
  26: 'INVALID_PURPOSE', 27: 'CERT_UNTRUSTED', 28: 'CERT_REJECTED', 32: 'KEYUSAGE_NO_CERTSIGN',
  37: 'INVALID_NON_CA', 39: 'KEYUSAGE_NO_DIGITAL_SIGNATURE', 62: 'HOSTNAME_MISMATCH',
  64: 'IP_ADDRESS_MISMATCH', 66: 'EE_KEY_TOO_SMALL', 67: 'CA_KEY_TOO_SMALL', 68: 'CA_MD_TOO_WEAK',
  76: 'UNSUPPORTED_SIGNATURE_ALGORITHM', 79: 'INVALID_CA',
};

/** node's code for an X.509 verify result; hostname and IP mismatches get node's own code. */
export function verifyCode(result: number): string {
  if (result === X509_V.HOSTNAME_MISMATCH || result === X509_V.IP_ADDRESS_MISMATCH) return 'ERR_TLS_CERT_ALTNAME_INVALID';
  return VERIFY_CODES[result] ?? `X509_V_ERR_${result}`;
}

/** node's code for an OpenSSL reason: "wrong version number" -> ERR_SSL_WRONG_VERSION_NUMBER. */
export function opensslCode(reason: string): string {
  return 'ERR_SSL_' + reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
}
