// fetch() over this package beside Node's own fetch (undici, on Node's OpenSSL), in one run,
// against the servers of test/fetch-servers.mjs (Debian's nginx with TLS 1.3, and a wisp-js
// server): small GETs one at a time (latency) and 10 at a time (requests per second), over
// HTTP/1.1 keep-alive and HTTP/2, directly and through Wisp, and a 32 MiB download.
//   node bench/fetch.mjs [--quick] [--json out.json]
// Prints a table; with --json also writes the figures. It asserts nothing.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { WispClient } from '../dist/index.js';
import { FetchClient } from '../dist/fetch/index.js';

const root = new URL('../', import.meta.url);
const CA_FILE = fileURLToPath(new URL('test/fixtures/ca.pem', root));
// Node's fetch trusts the test CA only through NODE_EXTRA_CA_CERTS, read at start-up.
if (process.env.NODE_EXTRA_CA_CERTS !== CA_FILE) {
  const child = spawn(process.execPath, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: CA_FILE } });
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  await main();
}

async function main() {
  const argv = process.argv.slice(2);
  const QUICK = argv.includes('--quick');
  const jsonAt = argv.indexOf('--json');
  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(CA_FILE, 'utf8');

  const servers = spawn(process.execPath, [fileURLToPath(new URL('test/fetch-servers.mjs', root))], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ports = await new Promise((resolve, reject) => {
    createInterface({ input: servers.stdout }).once('line', (l) => resolve(JSON.parse(l)));
    servers.once('exit', (code) => reject(new Error(`fetch-servers.mjs exited (${code})`)));
  });
  const base = `https://localhost:${ports.nginx}`;
  const wisp = new WispClient(`ws://127.0.0.1:${ports.wisp}/`, { WebSocket: globalThis.WebSocket ?? WebSocket });

  const contenders = [
    ['openssl-tls-wasm, HTTP/1.1', new FetchClient({ ca, ALPNProtocols: ['http/1.1'] }).fetch],
    ['openssl-tls-wasm, HTTP/2', new FetchClient({ ca }).fetch],
    ['openssl-tls-wasm over Wisp, HTTP/1.1', new FetchClient({ ca, transport: wisp, ALPNProtocols: ['http/1.1'] }).fetch],
    ['openssl-tls-wasm over Wisp, HTTP/2', new FetchClient({ ca, transport: wisp }).fetch],
    [`node fetch (undici, Node ${process.versions.node}), HTTP/1.1`, globalThis.fetch],
  ];
  const SEQUENTIAL = QUICK ? 200 : 1000;
  const CONCURRENT = QUICK ? 500 : 2000;
  const DOWNLOADS = QUICK ? 2 : 5;
  const rows = [];
  for (const [name, fetch] of contenders) {
    process.stderr.write(`${name}...\n`);
    const get = async () => { const r = await fetch(`${base}/hello.txt`); await r.arrayBuffer(); };
    for (let i = 0; i < 20; i++) await get(); // connections made, code warm
    const times = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t0 = performance.now();
      await get();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 10 }, async () => { while (next++ < CONCURRENT) await get(); }));
    const rps = CONCURRENT / ((performance.now() - t0) / 1000);
    const dl = [];
    for (let i = 0; i < DOWNLOADS; i++) {
      const t1 = performance.now();
      const r = await fetch(`${base}/data.bin`);
      let n = 0;
      for await (const c of r.body) n += c.length;
      if (n !== 32 << 20) throw new Error(`${name}: downloaded ${n} bytes`);
      dl.push(performance.now() - t1);
    }
    dl.sort((a, b) => a - b);
    rows.push({
      name, medianMs: times[times.length >> 1], p99Ms: times[Math.floor(times.length * 0.99)], requestsPerSecond: rps,
      download32MiBMs: dl[dl.length >> 1], downloadMBps: (32 << 20) / 1e6 / (dl[dl.length >> 1] / 1000),
    });
  }
  wisp.close();
  servers.stdin.end();

  const pad = (s, n) => String(s).padEnd(n);
  console.log(`fetch: small GETs (nginx /hello.txt, ${SEQUENTIAL} one at a time, ${CONCURRENT} ten at a time) and a 32 MiB download (median of ${DOWNLOADS}); TLS 1.3, loopback`);
  console.log(`${pad('client', 44)} ${pad('median', 9)} ${pad('p99', 9)} ${pad('req/s (10 at once)', 19)} 32 MiB`);
  for (const r of rows) {
    console.log(`${pad(r.name, 44)} ${pad(r.medianMs.toFixed(2) + ' ms', 9)} ${pad(r.p99Ms.toFixed(2) + ' ms', 9)} ${pad(r.requestsPerSecond.toFixed(0), 19)} ${r.download32MiBMs.toFixed(0)} ms (${r.downloadMBps.toFixed(0)} MB/s)`);
  }
  if (jsonAt >= 0) writeFileSync(argv[jsonAt + 1], JSON.stringify({ date: new Date().toISOString(), node: process.versions.node, rows }, null, 2));
  setTimeout(() => process.exit(0), 100);
}
