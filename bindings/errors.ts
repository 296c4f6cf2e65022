/**
 * Errors. Everything this package throws for a TLS or OpenSSL failure is a {@link TlsError},
 * with the fields node:tls users look for (`code`, `library`, `reason`) and the ones OpenSSL
 * users look for (the `error:0A00010B:SSL routines::wrong version number` text, the X.509
 * verify result, alerts).
 * @module
 */

/** One entry of OpenSSL's error queue. */
export interface OpenSSLError {
  /** The packed error code, as `ERR_get_error()` returns it. */
  readonly packed: number;
  /** The library that raised it, e.g. `"SSL routines"`. */
  readonly library: string | null;
  /** What went wrong, e.g. `"wrong version number"`. */
  readonly reason: string | null;
  /** Extra text OpenSSL attached, if any. */
  readonly data: string | null;
}

/** A TLS alert, sent or received. */
export interface TlsAlert {
  readonly level: 'warning' | 'fatal';
  /** The alert number from RFC 8446 section 6, e.g. 20. */
  readonly code: number;
  /** The RFC's name, e.g. `"bad_record_mac"`. */
  readonly name: string;
}

export interface TlsErrorDetails {
  code?: string;
  errors?: readonly OpenSSLError[];
  verifyResult?: number;
  verifyError?: string;
  alertSent?: TlsAlert;
  alertReceived?: TlsAlert;
  cause?: unknown;
}

/**
 * A TLS failure: a protocol error, a certificate that did not verify, an alert from the
 * peer, bad input, or misuse such as calling a freed object.
 *
 * `code` follows node:tls: `ERR_SSL_<REASON>` for OpenSSL errors (`ERR_SSL_WRONG_VERSION_NUMBER`),
 * the X.509 name for verification failures (`CERT_HAS_EXPIRED`, `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`,
 * `DEPTH_ZERO_SELF_SIGNED_CERT`), `ERR_TLS_CERT_ALTNAME_INVALID` for a wrong hostname.
 */
export class TlsError extends Error {
  override readonly name = 'TlsError';
  readonly code: string;
  /** The library of the first OpenSSL error, e.g. `"SSL routines"`. */
  readonly library: string | undefined;
  /** The reason of the first OpenSSL error, e.g. `"certificate verify failed"`. */
  readonly reason: string | undefined;
  /** OpenSSL's whole error queue at the time of the failure, oldest first. */
  readonly errors: readonly OpenSSLError[];
  /** The X.509 verify result (0 is OK) when the peer's certificate was involved. */
  readonly verifyResult: number | undefined;
  /** OpenSSL's text for `verifyResult`, e.g. `"certificate has expired"`. */
  readonly verifyError: string | undefined;
  /** The last alert this side sent, if any. */
  readonly alertSent: TlsAlert | undefined;
  /** The last alert the peer sent, if any. */
  readonly alertReceived: TlsAlert | undefined;

  constructor(message: string, details: TlsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    const first = details.errors?.[0];
    this.code = details.code ?? (first?.reason ? opensslCode(first.reason) : 'ERR_TLS');
    this.library = first?.library ?? undefined;
    this.reason = first?.reason ?? undefined;
    this.errors = details.errors ?? [];
    this.verifyResult = details.verifyResult;
    this.verifyError = details.verifyError;
    this.alertSent = details.alertSent;
    this.alertReceived = details.alertReceived;
  }
}

/** node's code for an OpenSSL reason: "wrong version number" -> ERR_SSL_WRONG_VERSION_NUMBER. */
export function opensslCode(reason: string): string {
  return 'ERR_SSL_' + reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/** OpenSSL's own one-line text for an error: `error:0A00010B:SSL routines::wrong version number`. */
export function formatOpenSSLError(e: OpenSSLError): string {
  const hex = e.packed.toString(16).toUpperCase().padStart(8, '0');
  const text = `error:${hex}:${e.library ?? `lib(${e.packed >>> 23})`}::${e.reason ?? `reason(${e.packed & 0x7fffff})`}`;
  return e.data ? `${text}:${e.data}` : text;
}

/** X.509 verify results by number, named as node:tls names them (X509_V_ERR_ without the prefix). */
const VERIFY_CODES: Record<number, string> = {
  2: 'UNABLE_TO_GET_ISSUER_CERT',
  3: 'UNABLE_TO_GET_CRL',
  4: 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  6: 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  7: 'CERT_SIGNATURE_FAILURE',
  9: 'CERT_NOT_YET_VALID',
  10: 'CERT_HAS_EXPIRED',
  13: 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  14: 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  17: 'OUT_OF_MEM',
  18: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  19: 'SELF_SIGNED_CERT_IN_CHAIN',
  20: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  21: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  22: 'CERT_CHAIN_TOO_LONG',
  23: 'CERT_REVOKED',
  24: 'NO_ISSUER_PUBLIC_KEY',
  25: 'PATH_LENGTH_EXCEEDED',
  26: 'INVALID_PURPOSE',
  27: 'CERT_UNTRUSTED',
  28: 'CERT_REJECTED',
  32: 'KEYUSAGE_NO_CERTSIGN',
  37: 'INVALID_NON_CA',
  39: 'KEYUSAGE_NO_DIGITAL_SIGNATURE',
  62: 'HOSTNAME_MISMATCH',
  64: 'IP_ADDRESS_MISMATCH',
  66: 'EE_KEY_TOO_SMALL',
  67: 'CA_KEY_TOO_SMALL',
  68: 'CA_MD_TOO_WEAK',
  76: 'UNSUPPORTED_SIGNATURE_ALGORITHM',
  79: 'INVALID_CA',
};

/** node's code for an X.509 verify result; hostname and IP mismatches get node's own code. */
export function verifyCode(result: number): string {
  if (result === 62 || result === 64) return 'ERR_TLS_CERT_ALTNAME_INVALID';
  return VERIFY_CODES[result] ?? `X509_V_ERR_${result}`;
}

/** Alert descriptions by number (RFC 8446 section 6 and RFC 5246 section 7.2). */
const ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

/** Decodes the shim's `(level << 8) | description` alert value; undefined for -1 (none). */
export function decodeAlert(v: number): TlsAlert | undefined {
  if (v < 0) return undefined;
  const code = v & 0xff;
  return {
    level: v >> 8 === 1 ? 'warning' : 'fatal',
    code,
    name: ALERTS[code] ?? `alert_${code}`,
  };
}

/** The error thrown for any use of a freed object. */
export function useAfterFree(what: string): TlsError {
  return new TlsError(`${what} has been freed`, { code: 'ERR_USE_AFTER_FREE' });
}
