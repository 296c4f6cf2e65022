// The TLS-over-Wisp clients that bench/wisp.mjs compares, behind one small interface, and the
// measurements, written once: the same code runs in Node and in the Chromium page
// (bench/wisp-page.mjs). Each client is given its library module by the caller, since Node
// and the page load them differently.
//
// A client: { name, open() -> Promise<conn>, close() }, a conn: { write(bytes), read() ->
// Promise<Uint8Array | null>, close() }. `open()` returns once the TLS connection is usable.

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A conn over a pair of WHATWG streams. */
function streamConn(readable, writable, close) {
  const reader = readable.getReader();
  const writer = writable.getWriter();
  return {
    write: (b) => writer.write(b),
    async read() {
      const { value, done } = await reader.read();
      return done ? null : new Uint8Array(value);
    },
    close: close ?? (() => {
      writer.close().catch(() => {});
      reader.cancel().catch(() => {});
    }),
  };
}

/** This package: connect() over a WispClient stream (or a WebSocket per connection, `perSocket`). */
export function oursClient(lib, { wispUrl, relayUrl, host, port, servername, ca, WebSocket, perSocket = false }) {
  const wisp = perSocket ? undefined : new lib.WispClient(wispUrl, WebSocket ? { WebSocket } : {});
  return {
    name: perSocket ? 'openssl-tls-wasm, a WebSocket per connection (?target)' : 'openssl-tls-wasm',
    async open(p = port) {
      const transport = perSocket ? new (WebSocket ?? globalThis.WebSocket)(`${relayUrl}?target=${host}:${p}`) : wisp.connect(host, p);
      const tls = await lib.connect(transport, { servername, ca });
      return streamConn(tls.readable, tls.writable, () => tls.close().catch(() => {}));
    },
    close: () => wisp?.close(),
  };
}

/** epoxy-tls (rustls in wasm, with wisp-mux): connect_tls through its EpoxyClient. */
export function epoxyClient(epoxy, { wispUrl, host, port, ca }) {
  const options = new epoxy.EpoxyClientOptions();
  options.pem_files = [ca];
  options.wisp_v2 = true;
  const client = new epoxy.EpoxyClient(wispUrl, options);
  return {
    name: 'epoxy-tls',
    async open(p = port) {
      const io = await client.connect_tls(`tls://${host}:${p}`);
      return streamConn(io.read, io.write);
    },
    close: () => {},
  };
}

/**
 * libcurl.js, loaded in a page, trusting `ca`. It has no option for other roots: it compiles
 * Mozilla's in. So this catches its wasm instance as it loads and writes the test CA over that
 * bundle in its memory (padded with newlines to the same length, which mbedTLS skips), before
 * any connection is made. Browsers only (libcurl.js refuses Node).
 */
export async function loadLibcurl(ca) {
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

/** libcurl.js (curl and mbedTLS in wasm, with its own Wisp client): TLSSocket. */
export function libcurlClient(libcurl, { wispUrl, host, port }) {
  libcurl.set_websocket(wispUrl);
  return {
    name: 'libcurl.js',
    open(p = port) {
      return new Promise((resolve, reject) => {
        const queue = [];
        let wake;
        let ended = false;
        const socket = new libcurl.TLSSocket(host, p);
        socket.onmessage = (data) => { queue.push(new Uint8Array(data)); wake?.(); };
        socket.onclose = () => { ended = true; wake?.(); };
        socket.onerror = (e) => { ended = true; wake?.(); reject(new Error(`libcurl error ${e}: ${libcurl.get_error_string?.(e)}`)); };
        socket.onopen = () => resolve({
          write: async (b) => socket.send(b),
          async read() {
            while (!queue.length && !ended) await new Promise((r) => { wake = r; });
            return queue.shift() ?? null;
          },
          close: () => socket.close(),
        });
      });
    },
    close: () => {},
  };
}

/** Reads from `conn` until `n` bytes have come. */
async function readBytes(conn, n) {
  let got = 0;
  while (got < n) {
    const c = await conn.read();
    if (!c) throw new Error(`the connection ended after ${got} of ${n} bytes`);
    got += c.length;
  }
}

/**
 * The measurements: `handshake` (open, then a 1-byte round trip: median ms), `echo` (64-byte
 * round trips on one connection: the median of batch means, µs), `bulk` (MB/s received from the download port),
 * `parallel` (ms to open `parallel` connections at once, each with a 1-byte round trip).
 */
export async function measure(client, { echoPort, downloadPort, rounds = 20, echoes = 200, bulkBytes = 16 * 1024 * 1024, parallel = 20, log = () => {} }) {
  const out = {};
  const one = new Uint8Array([0x2a]);
  const roundTrip = async (p = echoPort) => {
    const conn = await client.open(p);
    await conn.write(one);
    await readBytes(conn, 1);
    return conn;
  };
  const attempt = async (name, fn) => {
    try {
      out[name] = await fn();
    } catch (e) {
      out[name] = `failed: ${e?.message ?? e}`;
    }
    log(`${client.name}: ${name} ${typeof out[name] === 'number' ? out[name].toFixed(2) : out[name]}`);
  };

  await attempt('handshake', async () => {
    for (let i = 0; i < 3; i++) (await roundTrip()).close(); // warm up
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = now();
      const conn = await roundTrip();
      times.push(now() - t0);
      conn.close();
    }
    return median(times);
  });
  await attempt('echo', async () => {
    // The mean over batches of round trips, not single ones: a page's clock ticks in 100 µs.
    const conn = await roundTrip();
    const msg = new Uint8Array(64).fill(7);
    const batch = 20;
    const means = [];
    for (let i = 0; i < echoes; i += batch) {
      const t0 = now();
      for (let k = 0; k < batch; k++) {
        await conn.write(msg);
        await readBytes(conn, 64);
      }
      means.push(((now() - t0) * 1000) / batch);
    }
    conn.close();
    return median(means);
  });
  await attempt('bulk', async () => {
    let best = 0;
    for (let i = 0; i < 2; i++) {
      const conn = await client.open(downloadPort);
      const t0 = now();
      await conn.write(one);
      await readBytes(conn, bulkBytes);
      best = Math.max(best, bulkBytes / 1e6 / ((now() - t0) / 1000));
      conn.close();
    }
    return best;
  });
  await attempt('parallel', async () => {
    const t0 = now();
    const conns = await Promise.all(Array.from({ length: parallel }, () => roundTrip()));
    const ms = now() - t0;
    for (const c of conns) c.close();
    return ms;
  });
  return out;
}
