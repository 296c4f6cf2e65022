/**
 * Where the testing modules are on Cloudflare Workers and workerd (the `workerd` condition of
 * `#testing-wasm-source` in package.json): `openssl-testing.wasm` imported as a compiled module;
 * the full flavor's is imported by the Worker that wants it. See `../wasm-source.workerd.ts`.
 * Private to the package.
 * @module
 */
import { locator as production } from '#wasm-source';
import type { WasmLocator } from '../loader.js';
// @ts-ignore: a .wasm import is a WebAssembly.Module in workerd; TypeScript has no type for it.
import small from '../openssl-testing.wasm';

export const locator: WasmLocator = {
  ...production,
  locate: (file) => file === 'openssl-testing.wasm' ? Promise.resolve(small)
    : Promise.reject(new Error(`${file} is not imported by default on Cloudflare Workers`)),
  hint: (file) => `On Cloudflare Workers only openssl-testing.wasm is imported by default. Import ${file} `
    + `yourself and pass it: import wasm from 'openssl-tls-wasm/${file}'; loadTestingOpenSSL({ flavor: 'full', wasm }).`,
};
