/**
 * Where the testing tools get OpenSSL from: the one function that loads the instance a
 * {@link Sandbox} runs in and a {@link TestPki} makes certificates with.
 * @module
 */
import { TlsError } from '../errors.js';
import type { LoadOptions, ShippedFiles } from '../loader.js';
import { locator } from '#testing-wasm-source';
import { OpenSSL } from '../openssl.js';
import type { Sandbox } from './sandbox.js';
import type { TestPki } from './pki.js';

/** The testing modules, found as the runtime finds them (see `wasm-source.ts` here). */
const TESTING: ShippedFiles = { locator, small: 'openssl-testing.wasm', full: 'openssl-testing-full.wasm' };

/**
 * Loads a new OpenSSL instance for testing: one that has the test PKI's functions beside
 * everything the production API uses. That is the flavor's testing module
 * (`openssl-testing.wasm` for 'small', `openssl-testing-full.wasm` for 'full'): the production
 * module's code plus the PKI, which the production modules never carry. `options` are
 * {@link OpenSSL.load}'s (a seeded `entropy`, a virtual `now`, a `flavor`, or the `wasm` itself).
 *
 * @example
 * ```ts
 * import { loadTestingOpenSSL, TestPki } from 'openssl-tls-wasm/testing';
 *
 * const pki = new TestPki(await loadTestingOpenSSL());
 * ```
 */
export async function loadTestingOpenSSL(options: LoadOptions = {}): Promise<OpenSSL> {
  const openssl = await OpenSSL.loadShipped(options, TESTING);
  if (typeof (openssl.instance.exports as unknown as Record<string, unknown>).ow_cert_issue !== 'function') {
    throw new TlsError('loadTestingOpenSSL: this module has no test PKI; give it a testing module (openssl-testing.wasm)', { code: 'ERR_WASM_LOAD' });
  }
  return openssl;
}
