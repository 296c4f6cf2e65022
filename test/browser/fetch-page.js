// The page side of chromium.test.js's fetch test: openssl-tls-wasm/fetch bundled for the
// browser, fetching through a Wisp server. The test calls window.fetchThroughWisp(config) and
// gets back what the page saw.
import { WispClient } from '../../dist/index.js';
import { FetchClient, trailers } from '../../dist/fetch/index.js';

window.fetchThroughWisp = async ({ wisp, base, ca }) => {
  const out = {};
  const wispClient = new WispClient(wisp);
  try {
    for (const alpn of [['h2', 'http/1.1'], ['http/1.1']]) {
      const client = new FetchClient({ transport: wispClient, ca, ALPNProtocols: alpn, httpWasm: new URL('./openssl-http.wasm', import.meta.url) });
      const hello = await Promise.all([1, 2, 3].map(() => client.fetch(`${base}/hello.txt`).then((r) => r.text())));
      const big = await client.fetch(`${base}/big.txt`);
      const bigText = await big.text();
      const tr = await client.fetch(`${base}/trailers/t.txt`);
      await tr.text();
      out[alpn[0]] = {
        hello,
        protocols: Object.values(client.connections).flat().map((c) => c.protocol),
        bigEncoding: big.headers.get('content-encoding'),
        bigLength: bigText.length,
        trailer: (await trailers(tr)).get('x-checksum'),
        redirected: (await client.fetch(`${base}/redirect`)).redirected,
      };
      client.close();
    }
  } finally {
    wispClient.close();
  }
  return out;
};
window.fetchReady = true;
