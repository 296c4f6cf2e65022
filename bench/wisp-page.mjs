// The browser side of bench/wisp.mjs, bundled by it with esbuild: this package, epoxy-tls and
// libcurl.js in one Chromium page, measured by the same code (wisp-clients.mjs) against the
// same wisp-js server. window.runBench(config) returns the figures.
import * as ours from '../dist/index.js';
import * as epoxy from '@mercuryworkshop/epoxy-tls';
import { epoxyClient, libcurlClient, measure, oursClient } from './wisp-clients.mjs';

/**
 * libcurl.js has no option for other roots: it compiles Mozilla's in. So the page catches its
 * wasm instance as it loads and writes the test CA over that bundle in its memory (padded
 * with newlines to the same length, which mbedTLS skips), before any connection is made.
 */
async function loadLibcurl(ca) {
  let instance;
  const original = WebAssembly.instantiate;
  WebAssembly.instantiate = async (...args) => {
    const result = await original.apply(WebAssembly, args);
    instance = result.instance ?? result;
    return result;
  };
  const { libcurl } = await import('libcurl.js/bundled');
  await libcurl.load_wasm();
  WebAssembly.instantiate = original;
  const heap = new Uint8Array(instance.exports.memory.buffer);
  const at = instance.exports.get_cacert();
  let end = at;
  while (heap[end] !== 0) end++;
  const pem = new TextEncoder().encode(ca);
  if (pem.length > end - at) throw new Error('the test CA is longer than the bundle it replaces');
  heap.fill(0x0a, at, end);
  heap.set(pem, at);
  return libcurl;
}

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
