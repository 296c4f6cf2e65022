/**
 * The error a sandbox or link run throws when a side fails or the run stalls.
 * @module
 */
import { TlsError, type TlsErrorDetails } from '../errors.js';
import type { Side } from './peer.js';
import type { Link } from './link.js';
import type { Sandbox } from './sandbox.js';

/**
 * How a run of a {@link Sandbox} or a {@link Link} failed: which side failed (`side`), with the
 * failing side's {@link TlsError} as `cause` and its fields copied (`code`, `reason`,
 * `verifyError`, `alertSent`, ...); or, with no side, code `ERR_SANDBOX_STALLED` for a
 * handshake that went quiet unfinished (a record was held or dropped) and `ERR_SANDBOX_RUNAWAY`
 * for a run that never went quiet.
 *
 * @example
 * ```ts
 * try { sandbox.handshake(); } catch (e) {
 *   if (e instanceof SandboxError) console.log(e.side, e.code);  // 'client' 'CERT_HAS_EXPIRED'
 * }
 * ```
 */
export class SandboxError extends TlsError {
  /**
   * The side that failed first; undefined when the run stalled.
   *
   * @example
   * ```ts
   * try { sandbox.handshake(); } catch (e) { if (e.side === 'server') console.log(sandbox.server.error); }
   * ```
   */
  readonly side: Side | undefined;

  /** @internal */
  constructor(message: string, side: Side | undefined, details: TlsErrorDetails) {
    super(message, details);
    Object.defineProperty(this, 'name', { value: 'SandboxError', enumerable: false, configurable: true, writable: false });
    this.side = side;
  }
}

