/**
 * Where the package's modules are in browsers (the `browser` condition of `#wasm-source` in
 * package.json): beside this module, fetched. `new URL('./openssl.wasm', import.meta.url)` is
 * the pattern bundlers recognize: Vite, webpack and Parcel copy the file into their output and
 * rewrite the URL; esbuild keeps the URL as it is, so the file must be copied beside the bundle.
 * Private to the package.
 * @module
 */
import type { WasmLocator } from './loader.js';

export const locator: WasmLocator = {
  runtime: 'browser',
  // Each URL is written out, not computed, so that bundlers see and copy both files.
  locate: (file) => file === 'openssl-full.wasm' ? new URL('./openssl-full.wasm', import.meta.url)
    : file === 'openssl-http.wasm' ? new URL('./openssl-http.wasm', import.meta.url)
    : new URL('./openssl.wasm', import.meta.url),
  readFile: () => Promise.reject(new Error('a browser has no file system: serve the file over HTTP')),
  hint: (file) => `The package fetches ${file} from beside its own JavaScript module (new URL('./${file}', `
    + `import.meta.url)). Vite and webpack copy it there by themselves; with esbuild, copy `
    + `node_modules/openssl-tls-wasm/dist/${file} beside the bundle, or pass where it is served: `
    + `getOpenSSL({ wasm: '/assets/${file}' }) (a URL, a Response, bytes or a WebAssembly.Module).`,
};
