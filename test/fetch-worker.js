// The Worker that test/fetch.test.js runs in workerd (started through test/fetch-servers.mjs by
// test/workerd.js, which bundles it with esbuild as wrangler would): openssl-tls-wasm/fetch
// over `cloudflare:sockets`, with both wasm modules imported as Worker modules, so that workerd
// hands them over compiled (it compiles no wasm at run time).
//
// Each POST carries a job, as JSON, and answers what happened, as JSON:
//   { client: FetchClient options | 'shared' (the entry's own fetch()), keep: reuse one client
//     across Worker requests, parallel: run the requests at once,
//     requests: [{ url, init, read: 'text' | 'digest' | 'cancel', upload: bytes of a streamed body }],
//     probe: 'wasm-bytes' (load OpenSSL from bytes, which Workers refuse) }
//   -> { results: [{ status, headers, text | digest, length, chunks, url, redirected, trailers } | { error }],
//        connections: the client's connections' protocols }
import opensslWasm from 'openssl-tls-wasm/openssl.wasm';
import httpWasm from 'openssl-tls-wasm/openssl-http.wasm';
import { getOpenSSL, OpenSSL } from 'openssl-tls-wasm';
import { FetchClient, fetch as sharedFetch, loadHttpModule, trailers } from 'openssl-tls-wasm/fetch';

/** A client kept across Worker requests (`keep`), by its options. */
const kept = new Map();

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
const describe = (e) => (e === undefined ? undefined : {
  name: e?.name, message: String(e?.message ?? e), code: e?.code, cause: describe(e?.cause),
});

/** A streamed request body of `n` bytes of 'y', in 64 KiB chunks. */
function upload(n) {
  const chunk = new Uint8Array(64 * 1024).fill(121);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= n) return c.close();
      const k = Math.min(chunk.length, n - sent);
      sent += k;
      c.enqueue(chunk.slice(0, k));
    },
  }, { highWaterMark: 0 });
}

async function one(fetch, { url, init = {}, read = 'text', upload: n }) {
  try {
    const res = await fetch(url, n === undefined ? init : { ...init, body: upload(n), duplex: 'half' });
    const out = {
      status: res.status, headers: Object.fromEntries(res.headers), url: res.url, redirected: res.redirected,
    };
    if (read === 'cancel' || !res.body) {
      await res.body?.cancel();
    } else if (read === 'digest') {
      // Workers' own streaming digest: the body never sits in memory whole.
      const digest = new crypto.DigestStream('SHA-256');
      const writer = digest.getWriter();
      let length = 0;
      let chunks = 0;
      for await (const part of res.body) { length += part.length; chunks++; await writer.write(part); }
      await writer.close();
      Object.assign(out, { digest: hex(await digest.digest), length, chunks });
    } else {
      out.text = await res.text();
    }
    out.trailers = Object.fromEntries(await trailers(res));
    return out;
  } catch (e) {
    return { error: describe(e) };
  }
}

export default {
  async fetch(request) {
    const job = await request.json();
    if (job.probe === 'wasm-bytes') {
      // Any bytes will do: Workers refuse to compile them before looking.
      const e = await OpenSSL.load({ wasm: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) }).then(() => undefined, (x) => x);
      return Response.json({ error: describe(e) });
    }
    const openssl = await getOpenSSL({ wasm: opensslWasm });
    await loadHttpModule(httpWasm);
    let client;
    if (job.client !== 'shared') {
      const key = JSON.stringify(job.client);
      client = job.keep ? kept.get(key) : undefined;
      if (!client) {
        client = new FetchClient({ ...job.client, openssl, httpWasm });
        if (job.keep) kept.set(key, client);
      }
    }
    const fetch = client ? client.fetch : sharedFetch;
    const requests = job.requests ?? [];
    const results = job.parallel
      ? await Promise.all(requests.map((r) => one(fetch, r)))
      : await requests.reduce(async (acc, r) => [...(await acc), await one(fetch, r)], Promise.resolve([]));
    const connections = client ? Object.values(client.connections).flat().map((c) => c.protocol) : undefined;
    if (!job.keep) client?.close();
    return Response.json({ results, connections });
  },
};
