/**
 * `openssl-tls-wasm/fetch`: the standard `fetch()` over this package's OpenSSL, in Node, Deno,
 * Bun, browsers and Workers, with HTTP/1.1 (llhttp) and HTTP/2 (nghttp2) from a second module,
 * openssl-http.wasm, loaded on first use.
 *
 * ```ts
 * import { fetch } from 'openssl-tls-wasm/fetch';
 * const res = await fetch('https://example.com/');        // Node, Deno, Bun: over TCP
 * console.log(res.status, await res.text());
 * ```
 *
 * In a browser, give a {@link FetchClient} the route to servers, a Wisp server for example:
 *
 * ```ts
 * import { WispClient } from 'openssl-tls-wasm';
 * import { FetchClient } from 'openssl-tls-wasm/fetch';
 * const { fetch } = new FetchClient({ transport: new WispClient('wss://proxy.example/wisp/') });
 * const res = await fetch('https://example.com/', { headers: { accept: 'text/html' } });
 * ```
 * @module
 */
import { FetchClient } from './client.js';

export { FetchClient, trailers } from './client.js';
export type { FetchClientOptions } from './client.js';
export { HttpError, loadHttpModule } from './module.js';
export type { DialFunction, Dialed, Route } from './routes.js';

let shared: FetchClient | undefined;

/**
 * `fetch()` through a shared {@link FetchClient} with the default options: TCP in Node, Deno
 * and Bun, `cloudflare:sockets` in Workers, the bundled Mozilla roots. In a browser there is no
 * default route: make a FetchClient with a Wisp client or a relay. In Workers, load both
 * modules first (`getOpenSSL({ wasm })`, `loadHttpModule(wasm)`), and prefer a FetchClient per
 * request: Workers let a request use only the sockets it opened, so a connection pooled by one
 * request is replaced by a new one in the next.
 */
export function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  shared ??= new FetchClient();
  return shared.fetch(input, init);
}
