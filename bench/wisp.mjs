// TLS over Wisp, side by side: this package, epoxy-tls and libcurl.js through the same
// wisp-js server in the same run, with native node:tls (straight TCP, no Wisp) where it means
// something, and what Wisp's multiplexing saves against a WebSocket per connection.
//   make && node bench/wisp.mjs [--quick] [--json out.json] [--only node,multiplex,chromium]
// Where each runs (see bench/README.md): libcurl.js is built for browsers only (its Emscripten
// glue refuses Node), so the three are compared in headless Chromium (Debian's, driven by
// playwright-core), in one page. In Node, this package runs as is; epoxy-tls needs a WebSocket
// global (Node 20 has none: the ws package's is set below), and then connects and completes
// TLS handshakes, but every write fails with "Invalid payload" (its conversion of a payload to
// bytes relies on what browsers have): its Node column shows that failure, not figures.
// A benchmark, not a test: it asserts nothing.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { WebSocket } from 'ws';
import { server as wispjs, logging as wispLogging } from '@mercuryworkshop/wisp-js/server';
import * as ours from '../dist/index.js';
import { runInChromium } from './chromium.mjs';
import { epoxyClient, measure, oursClient } from './wisp-clients.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const fixture = (f) => readFileSync(join(root, 'test', 'fixtures', f), 'utf8');
const HOST = '127.0.0.1';
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1].split(',') : ['node', 'multiplex', 'chromium'];
const jsonAt = process.argv.indexOf('--json');
const jsonPath = jsonAt > 0 ? process.argv[jsonAt + 1] : join(root, 'bench', 'wisp-results.json');
const log = (line) => process.stderr.write(`${line}\n`);
const CA = fixture('ca.pem');
const config = {
  host: 'localhost', servername: 'localhost', ca: CA,
  rounds: quick ? 8 : 20, echoes: quick ? 60 : 200, bulkBytes: (quick ? 4 : 16) * 1024 * 1024, parallel: 20,
};
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const listen = (server) => new Promise((resolve) => server.listen(0, HOST, () => resolve(server.address().port)));
const closers = [];

// ------------------------------------------------------------ targets and servers

const tlsOptions = { cert: fixture('rsa-chain.pem'), key: fixture('rsa.key') };
const echoServer = tls.createServer(tlsOptions, (s) => { s.on('error', () => {}); s.pipe(s); });
const block = Buffer.alloc(64 * 1024, 0x5a);
const downloadServer = tls.createServer(tlsOptions, (s) => {
  s.on('error', () => {});
  s.once('data', () => {
    let sent = 0;
    const pump = () => {
      while (sent < config.bulkBytes) {
        sent += block.length;
        if (!s.write(block)) return s.once('drain', pump);
      }
    };
    pump();
  });
});
for (const s of [echoServer, downloadServer]) s.on('tlsClientError', () => {});
config.echoPort = await listen(echoServer);
config.downloadPort = await listen(downloadServer);
config.port = config.echoPort;

wispLogging.set_level(wispLogging.NONE);
Object.assign(wispjs.options, { allow_loopback_ips: true });
const wispServer = createHttpServer((req, res) => { res.writeHead(426); res.end(); });
wispServer.on('upgrade', (req, socket, head) => { socket.on('error', () => {}); wispjs.routeRequest(req, socket, head); });
config.wispUrl = `ws://${HOST}:${await listen(wispServer)}/`;

/** This package's relay in a Node child process (for ?target, and for its memory). */
async function startRelay() {
  const child = spawn(process.execPath, ['--expose-gc', join(root, 'test', 'relay-child.mjs'),
    JSON.stringify({ allow: [`localhost:${config.echoPort}`, `localhost:${config.downloadPort}`], maxStreamsPerClient: 1000, maxWebSocketsPerClient: 1000 })],
  { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue = [];
  let wake;
  createInterface({ input: child.stdout }).on('line', (l) => { queue.push(JSON.parse(l)); wake?.(); });
  const answer = async () => {
    while (!queue.length) await new Promise((r) => { wake = r; });
    return queue.shift();
  };
  const { url } = await answer();
  const stop = () => child.stdin.end();
  closers.push(stop);
  return { url, stop, memory: async () => { child.stdin.write('memory\n'); return answer(); } };
}
const relay = await startRelay();
config.relayUrl = relay.url;

// ------------------------------------------------------------ native node:tls

function nativeClient() {
  return {
    name: 'node:tls',
    open(p = config.echoPort) {
      return new Promise((resolve, reject) => {
        const s = tls.connect({ host: HOST, port: p, servername: 'localhost', ca: CA }, () => {
          const queue = [];
          let wake;
          let ended = false;
          s.on('data', (d) => { queue.push(d); wake?.(); });
          s.on('close', () => { ended = true; wake?.(); });
          resolve({
            write: (b) => new Promise((r) => s.write(b, r)),
            async read() {
              while (!queue.length && !ended) await new Promise((r) => { wake = r; });
              return queue.shift() ?? null;
            },
            close: () => s.destroy(),
          });
        });
        s.setNoDelay(true);
        s.once('error', reject);
      });
    },
    close() {},
  };
}

// ------------------------------------------------------------ multiplexing: memory

/**
 * `n` TLS connections open at once through this package's relay, over Wisp (one WebSocket)
 * and with a WebSocket each: the time to open them, and what a fresh relay process and this
 * process's JS heap hold for them, after garbage collections, beyond what they held after a
 * warm-up of a few connections. (This process's wasm memory holds the TLS connections
 * themselves, the same in both modes, and never shrinks: it is left out.)
 */
async function multiplexMemory(n) {
  const out = {};
  for (const mode of ['perSocket', 'wisp']) {
    const r = await startRelay();
    const client = oursClient(ours, { ...config, WebSocket, wispUrl: r.url, relayUrl: r.url, perSocket: mode === 'perSocket' });
    for (const c of await Promise.all(Array.from({ length: 5 }, () => client.open()))) c.close();
    await new Promise((res) => setTimeout(res, 300));
    gc();
    const before = { relay: await r.memory(), client: process.memoryUsage() };
    const t0 = performance.now();
    const conns = await Promise.all(Array.from({ length: n }, () => client.open()));
    const openMs = performance.now() - t0;
    await new Promise((res) => setTimeout(res, 300));
    gc();
    const after = { relay: await r.memory(), client: process.memoryUsage() };
    const per = (a, b) => (a - b) / n / 1024;
    out[mode] = {
      openMs,
      relayHeapKiB: per(after.relay.heapUsed + after.relay.external, before.relay.heapUsed + before.relay.external),
      relayRssKiB: per(after.relay.rss, before.relay.rss),
      clientHeapKiB: per(after.client.heapUsed, before.client.heapUsed),
    };
    for (const c of conns) c.close();
    client.close();
    r.stop();
    await new Promise((res) => setTimeout(res, 300));
    log(`multiplexing (${mode}): ${JSON.stringify(out[mode])}`);
  }
  return out;
}

// ------------------------------------------------------------ the runs

const results = { node: {}, chromium: {}, multiplex: {} };

// Node: native, this package, epoxy-tls (with a WebSocket global).
if (only.includes('node')) {
results.node.native = { name: 'node:tls', ...(await measure(nativeClient(), { ...config, log })) };
results.node.ours = await (async () => {
  const c = oursClient(ours, { ...config, WebSocket });
  try { return { name: c.name, ...(await measure(c, { ...config, log })) }; } finally { c.close(); }
})();
results.node.oursPerSocket = await (async () => {
  const c = oursClient(ours, { ...config, WebSocket, perSocket: true });
  return { name: c.name, ...(await measure(c, { ...config, log })) };
})();
results.node.epoxy = await (async () => {
  try {
    globalThis.WebSocket ??= WebSocket;
    const epoxy = await import('@mercuryworkshop/epoxy-tls');
    await epoxy.default();
    const c = epoxyClient(epoxy, config);
    return { name: c.name, ...(await measure(c, { ...config, log })) };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
})();
}
if (only.includes('multiplex')) results.multiplex = await multiplexMemory(quick ? 20 : 100);

// Chromium: the three, in one page.
if (only.includes('chromium')) {
  const { WebSocket: _ws, ...pageConfig } = config;
  results.chromium = await runInChromium(join(root, 'bench', 'wisp-page.mjs'), 'runBench', pageConfig, { log });
}

// ------------------------------------------------------------ the table

const cpu = (os.cpus()[0]?.model ?? '?').replace(/\s+/g, ' ');
const fmt = (v, digits = 2) => (typeof v === 'number' ? v.toFixed(digits) : v === undefined ? 'n/a' : 'failed');
const rows = [
  ['connect + first 1-byte round trip, median (ms)', 'handshake', 2],
  ['64-byte round trip on one connection (µs, median of 20-trip means)', 'echo', 0],
  [`download ${config.bulkBytes / 1048576} MiB (MB/s, best of 2)`, 'bulk', 1],
  [`open ${config.parallel} connections at once (ms)`, 'parallel', 1],
];
const lines = [`TLS over Wisp (wisp-js ${JSON.parse(readFileSync(join(root, 'node_modules/@mercuryworkshop/wisp-js/package.json'), 'utf8')).version} server), ${cpu}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}, load ${os.loadavg()[0].toFixed(2)}`, ''];
for (const [where, cols] of [
  ['Chromium', [['ours', 'openssl-tls-wasm'], ['epoxy', 'epoxy-tls'], ['libcurl', 'libcurl.js'], ['oursPerSocket', 'openssl-tls-wasm, WebSocket per conn.']]],
  ['Node', [['ours', 'openssl-tls-wasm'], ['epoxy', 'epoxy-tls'], ['native', 'node:tls (TCP, no Wisp)'], ['oursPerSocket', 'openssl-tls-wasm, WebSocket per conn.']]],
]) {
  const r = where === 'Chromium' ? results.chromium : results.node;
  lines.push(`| ${where}: figure | ${cols.map((c) => c[1]).join(' | ')} |`, `| --- |${cols.map(() => ' --- |').join('')}`);
  for (const [label, key, digits] of rows) lines.push(`| ${label} | ${cols.map(([k]) => fmt(r[k]?.[key] ?? r[k]?.error, digits)).join(' | ')} |`);
  lines.push('');
}
const m = results.multiplex;
lines.push(`| multiplexing, ${quick ? 20 : 100} connections open at once (Node) | Wisp, one WebSocket | a WebSocket per connection |`, '| --- | --- | --- |');
for (const [label, key, d] of [['time to open them (ms)', 'openMs', 0], ['relay memory per connection (KiB, heap + external)', 'relayHeapKiB', 1], ['relay RSS per connection (KiB)', 'relayRssKiB', 1], ['client JS heap per connection (KiB)', 'clientHeapKiB', 1]]) {
  lines.push(`| ${label} | ${fmt(m.wisp?.[key], d)} | ${fmt(m.perSocket?.[key], d)} |`);
}
const failures = JSON.stringify(results).match(/failed: [^"]*/g);
if (failures) lines.push('', 'failures:', ...new Set(failures));
process.stdout.write(`${lines.join('\n')}\n`);
writeFileSync(jsonPath, JSON.stringify({ config: { ...config, ca: undefined }, results }, null, 2));
log(`wrote ${jsonPath}`);
for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
for (const s of [echoServer, downloadServer, wispServer]) s.close();
process.exit(0);
