/**
 * Where the package's modules are on Cloudflare Workers and workerd (the `workerd` condition
 * of `#wasm-source` in package.json). Workers may not compile WebAssembly at run time, so the
 * module is imported as a compiled module: wrangler (whose default rules treat `*.wasm` imports
 * as CompiledWasm) uploads `openssl.wasm` beside the Worker, and workerd gives the import a
 * `WebAssembly.Module`.
 *
 * Only the small flavor is imported here. Every module a Worker imports is uploaded and
 * compiled at each cold start, so the full flavor (2.4 MB) is left to Workers that ask for
 * it: `import full from 'openssl-tls-wasm/openssl-full.wasm'`, then
 * `getOpenSSL({ flavor: 'full', wasm: full })`. Private to the package.
 * @module
 */
import type { WasmLocator } from './loader.js';
// @ts-ignore: a .wasm import is a WebAssembly.Module in workerd; TypeScript has no type for it.
import small from './openssl.wasm';

export const locator: WasmLocator = {
  runtime: 'workerd',
  locate: (file) => file === 'openssl.wasm' ? Promise.resolve(small)
    : Promise.reject(new Error(`${file} is not imported by default on Cloudflare Workers`)),
  readFile: () => Promise.reject(new Error('a Worker has no file system')),
  hint: (file) => file === 'openssl.wasm'
    ? `On Cloudflare Workers the package imports ${file} as a module; the bundler must keep that import `
      + `(wrangler does: its default rules upload *.wasm as CompiledWasm), or import it yourself and pass it: `
      + `import wasm from 'openssl-tls-wasm/${file}'; getOpenSSL({ wasm }).`
    : `On Cloudflare Workers only openssl.wasm is imported by default (a Worker uploads, and compiles at each `
      + `cold start, every module it imports). Import ${file} yourself and pass it as the wasm option: `
      + `import wasm from 'openssl-tls-wasm/${file}'; getOpenSSL({ flavor: 'full', wasm }).`,
};
