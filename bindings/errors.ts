/**
 * Errors. Everything this package throws for a TLS or OpenSSL failure is a {@link TlsError},
 * with the fields node:tls users look for (`code`, `library`, `reason`) and the ones OpenSSL
 * users look for (the `error:0A00010B:SSL routines::wrong version number` text, the X.509
 * verify result, alerts).
 * @module
 */
import { opensslCode, type TlsAlert } from './names.js';

export type { TlsAlert } from './names.js';

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

export interface TlsErrorDetails {
  code?: string;
  errors?: readonly OpenSSLError[];
  verifyResult?: number;
  verifyError?: string;
  verifyFailures?: readonly { readonly depth: number; readonly error: number }[];
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
  /**
   * For a failed verification, every error it met in OpenSSL's order (`{ depth, error }`, as
   * `engine.verifyFailures()`): the first is what `openssl s_client -verify_return_error`
   * prints; `verifyResult` is the one verification ends with, which node:tls reports.
   */
  readonly verifyFailures: readonly { readonly depth: number; readonly error: number }[];
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
    this.verifyFailures = details.verifyFailures ?? [];
    this.alertSent = details.alertSent;
    this.alertReceived = details.alertReceived;
  }
}

/** OpenSSL's own one-line text for an error: `error:0A00010B:SSL routines::wrong version number`. */
export function formatOpenSSLError(e: OpenSSLError): string {
  const hex = e.packed.toString(16).toUpperCase().padStart(8, '0');
  const text = `error:${hex}:${e.library ?? `lib(${e.packed >>> 23})`}::${e.reason ?? `reason(${e.packed & 0x7fffff})`}`;
  return e.data ? `${text}:${e.data}` : text;
}

/** The error thrown for any use of a freed object. */
export function useAfterFree(what: string): TlsError {
  return new TlsError(`${what} has been freed`, { code: 'ERR_USE_AFTER_FREE' });
}

/** A TypeError or RangeError with node's code and wording. */
export function argError<E extends Error>(Kind: new (m: string) => E, code: string, message: string): E {
  return Object.assign(new Kind(message), { code });
}

/** How node describes a value it did not expect (`Received type string ('8')`). */
export function received(v: unknown): string {
  if (v === null || v === undefined) return `Received ${v}`;
  if (typeof v === 'function') return `Received function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return `Received an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  const shown = typeof v === 'string' ? `'${v.length > 25 ? `${v.slice(0, 25)}...` : v}'` : String(v);
  return `Received type ${typeof v} (${shown})`;
}

/** node's error for a handshake that did not finish in time (a server's `handshakeTimeout`, a `timeout`). */
export function handshakeTimedOut(): TlsError {
  return new TlsError('TLS handshake timeout', { code: 'ERR_TLS_HANDSHAKE_TIMEOUT' });
}

/**
 * The error for an aborted `signal`: a TlsError named 'AbortError' with code 'ABORT_ERR', as
 * node's AbortError is, and the signal's reason as its cause.
 */
export function aborted(reason: unknown): TlsError {
  const e = new TlsError('The operation was aborted', { code: 'ABORT_ERR', cause: reason });
  Object.defineProperty(e, 'name', { value: 'AbortError', enumerable: false, configurable: true, writable: true });
  return e;
}
