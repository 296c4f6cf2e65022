/**
 * Where the testing modules are in Node, Deno and Bun (the `default` condition of
 * `#testing-wasm-source` in package.json); see `../wasm-source.ts`. Private to the package.
 * @module
 */
import { locator as production } from '#wasm-source';
import type { WasmLocator } from '../loader.js';

export const locator: WasmLocator = {
  ...production,
  locate: (file) => file === 'openssl-testing-full.wasm'
    ? new URL('../openssl-testing-full.wasm', import.meta.url)
    : new URL('../openssl-testing.wasm', import.meta.url),
};
