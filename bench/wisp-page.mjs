// The browser side of bench/wisp.mjs, bundled by it with esbuild: this package, epoxy-tls and
// libcurl.js in one Chromium page, measured by the same code (wisp-clients.mjs) against the
// same wisp-js server. window.runBench(config) returns the figures.
import * as ours from '../dist/index.js';
import * as epoxy from '@mercuryworkshop/epoxy-tls';
import { epoxyClient, libcurlClient, loadLibcurl, measure, oursClient } from './wisp-clients.mjs';

window.runBench = async (config) => {
  const log = (line) => console.log(line);
  const results = {};
  await epoxy.default();
  const clients = [
    ['ours', () => oursClient(ours, config)],
    ['oursPerSocket', () => oursClient(ours, { ...config, perSocket: true })],
    ['epoxy', () => epoxyClient(epoxy, config)],
    ['libcurl', async () => libcurlClient(await loadLibcurl(config.ca), config)],
  ];
  for (const [key, make] of clients) {
    if (config.only && !config.only.includes(key)) continue;
    try {
      const client = await make();
      results[key] = { name: client.name, ...(await measure(client, { ...config, log })) };
      client.close();
    } catch (e) {
      results[key] = { error: String(e?.message ?? e) };
    }
  }
  return results;
};
window.benchReady = true;
