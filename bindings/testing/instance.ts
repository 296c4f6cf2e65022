/**
 * Where the testing tools get OpenSSL from: the one function that loads the instance a
 * {@link Sandbox} runs in and a {@link TestPki} makes certificates with.
 * @module
 */
import { TlsError } from '../errors.js';
import type { LoadOptions } from '../loader.js';
import { OpenSSL } from '../openssl.js';
import type { Sandbox } from './sandbox.js';
import type { TestPki } from './pki.js';

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
  // Written out, not computed, so that bundlers see and copy both files.
  const wasm = options.wasm ?? (options.flavor === 'full'
    ? new URL('../openssl-testing-full.wasm', import.meta.url)
    : new URL('../openssl-testing.wasm', import.meta.url));
  const openssl = await OpenSSL.load({ ...options, wasm });
  if (typeof (openssl.instance.exports as unknown as Record<string, unknown>).ow_cert_issue !== 'function') {
    throw new TlsError('loadTestingOpenSSL: this module has no test PKI; give it a testing module (openssl-testing.wasm)', { code: 'ERR_WASM_LOAD' });
  }
  return openssl;
}
