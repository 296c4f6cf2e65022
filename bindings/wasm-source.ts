/**
 * Where the package's modules are in Node, Deno and Bun (the `default` condition of
 * `#wasm-source` in package.json): the files beside this one, read from disk. The browser's
 * variant (`wasm-source.browser.ts`) fetches them; Cloudflare's (`wasm-source.workerd.ts`)
 * imports them as compiled modules. Private to the package.
 * @module
 */
import type { WasmLocator } from './loader.js';

export const locator: WasmLocator = {
  runtime: 'node',
  // Each URL is written out, not computed, so that bundlers can see the files.
  locate: (file) => file === 'openssl-full.wasm' ? new URL('./openssl-full.wasm', import.meta.url)
    : file === 'openssl-http.wasm' ? new URL('./openssl-http.wasm', import.meta.url)
    : new URL('./openssl.wasm', import.meta.url),
  async readFile(url) {
    // A variable specifier keeps bundlers from following node:fs into a browser build.
    const specifier = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ specifier)) as { readFile(u: URL): Promise<Uint8Array> };
    return fs.readFile(url);
  },
  hint: (file) => `The package reads ${file} from beside its own JavaScript; a bundle made for a server runtime `
    + `needs ${file} copied beside the bundle (from node_modules/openssl-tls-wasm/dist/), or pass its location, `
    + `its bytes or a WebAssembly.Module as the wasm option: getOpenSSL({ wasm }).`,
};
