// The browser side of bench/fetch.mjs, bundled by it with esbuild: fetch() from this package,
// epoxy-tls and libcurl.js in one Chromium page, through the same wisp-js server, measured by
// the same code (fetch-clients.mjs). window.runFetchBench(config) returns the figures.
import { WispClient } from '../dist/index.js';
import { FetchClient } from '../dist/fetch/index.js';
import * as epoxy from '@mercuryworkshop/epoxy-tls';
import { epoxyFetch, libcurlFetch, measureFetch, oursFetch } from './fetch-clients.mjs';
import { loadLibcurl } from './wisp-clients.mjs';

window.runFetchBench = async (config) => {
  const log = (line) => console.log(line);
  const wisp = new WispClient(config.wispUrl);
  let libcurl;
  const clients = [
    () => oursFetch(FetchClient, { ca: config.ca, alpn: ['http/1.1'], wisp }),
    () => oursFetch(FetchClient, { ca: config.ca, alpn: ['h2', 'http/1.1'], wisp }),
    async () => { await epoxy.default(); return epoxyFetch(epoxy, config); },
    async () => libcurlFetch(libcurl ??= await loadLibcurl(config.ca), { ...config, version: 1.1 }),
    async () => libcurlFetch(libcurl ??= await loadLibcurl(config.ca), { ...config, version: 2 }),
  ];
  const rows = [];
  for (const make of clients) {
    try {
      const client = await make();
      rows.push(await measureFetch(client, { ...config, log }));
      client.close();
    } catch (e) {
      rows.push({ name: '?', error: String(e?.message ?? e) });
    }
  }
  wisp.close();
  return rows;
};
window.benchReady = true;
