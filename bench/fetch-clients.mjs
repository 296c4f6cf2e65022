// The fetch() clients that bench/fetch.mjs compares, and the measurements, written once: the
// same code runs in Node and in the Chromium page (bench/fetch-page.mjs). Each client is given
// its library by the caller, since Node and the page load them differently.
//
// A client: { name, fetch(url) -> Promise<Response>, close() }.

const now = () => performance.now();
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[xs.length >> 1];

/** This package's FetchClient; over `wisp` (a WispClient) when given, else its default route. */
export function oursFetch(FetchClient, { ca, alpn, wisp }) {
  const client = new FetchClient({ ca, ALPNProtocols: alpn, ...(wisp ? { transport: wisp } : {}) });
  return {
    name: `openssl-tls-wasm${wisp ? ' over Wisp' : ''}, ${alpn.includes('h2') ? 'HTTP/2' : 'HTTP/1.1'}`,
    fetch: client.fetch,
    close: () => client.close(),
  };
}

/** epoxy-tls's fetch (hyper over rustls, through its Wisp client); it picks the protocol by ALPN. */
export function epoxyFetch(epoxy, { wispUrl, ca }) {
  const options = new epoxy.EpoxyClientOptions();
  options.pem_files = [ca];
  options.wisp_v2 = true;
  const client = new epoxy.EpoxyClient(wispUrl, options);
  return { name: 'epoxy-tls', fetch: (url) => client.fetch(url, {}), close: () => {} };
}

/** libcurl.js's fetch (curl over mbedTLS, through its Wisp client), in an HTTP session of its own. */
export function libcurlFetch(libcurl, { wispUrl, version }) {
  libcurl.set_websocket(wispUrl);
  const session = new libcurl.HTTPSession();
  return {
    name: `libcurl.js, HTTP/${version === 1.1 ? '1.1' : '2'}`,
    fetch: (url) => session.fetch(url, { _libcurl_http_version: version }),
    close: () => session.close(),
  };
}

/**
 * The measurements, each kept apart so that one failing leaves the others:
 * - `protocol`: what the client used, as node's http2 server at `echoUrl` saw it;
 * - `medianMs`, `p99Ms`: `sequential` small GETs of `smallUrl`, one at a time (after 20 to warm up);
 * - `requestsPerSecond`: `concurrent` of them, 10 at a time;
 * - `download32MiBMs`, `downloadMBps`: the median of `downloads` downloads of `bigUrl` (32 MiB).
 */
export async function measureFetch(client, { smallUrl, bigUrl, echoUrl, sequential = 1000, concurrent = 2000, downloads = 5, log = () => {} }) {
  const out = { name: client.name };
  const attempt = async (what, fn) => {
    try {
      Object.assign(out, await fn());
    } catch (e) {
      out[what] = `failed: ${e?.message ?? e}${e?.cause ? ` (${e.cause.message ?? e.cause})` : ''}`;
    }
    log(`${client.name}: ${what} ${JSON.stringify(out)}`);
  };
  const get = async () => {
    const r = await client.fetch(smallUrl);
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    await r.arrayBuffer();
  };
  await attempt('protocol', async () => {
    const r = await client.fetch(echoUrl);
    const { httpVersion } = await r.json();
    return { protocol: httpVersion === '2.0' ? 'HTTP/2' : `HTTP/${httpVersion}` };
  });
  await attempt('latency', async () => {
    for (let i = 0; i < 20; i++) await get(); // connections made, code warm
    const times = [];
    for (let i = 0; i < sequential; i++) {
      const t0 = now();
      await get();
      times.push(now() - t0);
    }
    return { medianMs: median(times), p99Ms: sorted(times)[Math.floor(times.length * 0.99)] };
  });
  await attempt('throughput', async () => {
    let next = 0;
    const t0 = now();
    await Promise.all(Array.from({ length: 10 }, async () => { while (next++ < concurrent) await get(); }));
    return { requestsPerSecond: concurrent / ((now() - t0) / 1000) };
  });
  await attempt('download', async () => {
    const times = [];
    for (let i = 0; i < downloads; i++) {
      const t0 = now();
      const r = await client.fetch(bigUrl);
      let n = 0;
      for (const reader = r.body.getReader(); ;) {
        const { done, value } = await reader.read();
        if (done) break;
        n += value.byteLength;
      }
      if (n !== 32 << 20) throw new Error(`downloaded ${n} bytes`);
      times.push(now() - t0);
    }
    const ms = median(times);
    return { download32MiBMs: ms, downloadMBps: (32 << 20) / 1e6 / (ms / 1000) };
  });
  return out;
}
