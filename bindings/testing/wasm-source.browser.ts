/**
 * Where the testing modules are in browsers (the `browser` condition of `#testing-wasm-source`
 * in package.json): fetched from beside the package's JavaScript; see `../wasm-source.browser.ts`.
 * Private to the package.
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
