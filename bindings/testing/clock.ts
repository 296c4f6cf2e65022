/**
 * The sandbox's virtual clock: the only time its OpenSSL instance sees.
 * @module
 */

/**
 * The sandbox's clock, in ms since the epoch. It is the only clock the sandbox's OpenSSL
 * sees (certificate validity, ticket ages), and it moves only when the test moves it.
 *
 * @example
 * ```ts
 * sandbox.clock.advance(11 * 86_400_000);   // 11 days later
 * sandbox.clock.set(Date.UTC(2031, 0, 1));
 * ```
 */
export class SandboxClock {
  #ms: number;

  /** @internal */
  constructor(start: number) {
    this.#ms = start;
  }

  /**
   * The current virtual time in ms since the epoch. Bound, so it can be passed as a function.
   *
   * @example
   * ```ts
   * new Date(sandbox.clock.now()).toISOString();
   * ```
   */
  readonly now = (): number => this.#ms;

  /**
   * Sets the time.
   *
   * @example
   * ```ts
   * sandbox.clock.set(new Date('2031-01-01T00:00:00Z'));
   * ```
   */
  set(time: number | Date): this {
    const ms = +time;
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock takes a time in ms since the epoch');
    this.#ms = ms;
    return this;
  }

  /**
   * Moves the time forward by `ms` (or back, when negative).
   *
   * @example
   * ```ts
   * sandbox.clock.advance(60_000);  // a minute later
   * ```
   */
  advance(ms: number): this {
    if (!Number.isFinite(ms)) throw new RangeError('advance takes a number of ms');
    return this.set(this.#ms + ms);
  }
}

