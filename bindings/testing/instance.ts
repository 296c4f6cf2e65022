/**
 * Where the testing tools get OpenSSL from: the one function that loads the instance a
 * {@link Sandbox} runs in and a {@link TestPki} makes certificates with.
 * @module
 */
import type { LoadOptions } from '../loader.js';
import { OpenSSL } from '../openssl.js';
import type { Sandbox } from './sandbox.js';
import type { TestPki } from './pki.js';

/**
 * Loads a new OpenSSL instance for testing: one that has the test PKI's functions beside
 * everything the production API uses. `options` are {@link OpenSSL.load}'s (a seeded
 * `entropy`, a virtual `now`, a `flavor`, where the `wasm` comes from).
 *
 * @example
 * ```ts
 * import { loadTestingOpenSSL, TestPki } from 'openssl-wasm/testing';
 *
 * const pki = new TestPki(await loadTestingOpenSSL());
 * ```
 */
export function loadTestingOpenSSL(options: LoadOptions = {}): Promise<OpenSSL> {
  return OpenSSL.load(options);
}
