// fetch() over this package beside Node's own fetch (undici, on Node's OpenSSL) and beside
// epoxy-tls's and libcurl.js's fetch, in one run, against the servers of test/fetch-servers.mjs
// (Debian's nginx with TLS 1.3, and a wisp-js server): small GETs one at a time (latency) and
// 10 at a time (requests per second), over HTTP/1.1 keep-alive and HTTP/2, and a 32 MiB
// download. In Node: this package directly and through Wisp, and Node's fetch. In headless
// Chromium (epoxy-tls and libcurl.js run in browsers only): the three through the same Wisp
// server, measured by the same code (fetch-clients.mjs).
//   node bench/fetch.mjs [--quick] [--only node,chromium] [--json out.json]
// Prints a table; with --json also writes the figures. It asserts nothing.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { WispClient } from '../dist/index.js';
import { FetchClient } from '../dist/fetch/index.js';
import { runInChromium } from './chromium.mjs';
import { measureFetch, oursFetch } from './fetch-clients.mjs';

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

  const config = {
    smallUrl: `${base}/hello.txt`, bigUrl: `${base}/data.bin`, echoUrl: `https://localhost:${ports.node}/echo`,
    sequential: QUICK ? 200 : 1000, concurrent: QUICK ? 500 : 2000, downloads: QUICK ? 2 : 5,
  };
  const rows = [];
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : ['node', 'chromium'];
  if (only.includes('node')) {
    const contenders = [
      oursFetch(FetchClient, { ca, alpn: ['http/1.1'] }),
      oursFetch(FetchClient, { ca, alpn: ['h2', 'http/1.1'] }),
      oursFetch(FetchClient, { ca, alpn: ['http/1.1'], wisp }),
      oursFetch(FetchClient, { ca, alpn: ['h2', 'http/1.1'], wisp }),
      { name: `node fetch (undici, Node ${process.versions.node})`, fetch: globalThis.fetch, close() {} },
    ];
    for (const client of contenders) {
      process.stderr.write(`${client.name}...\n`);
      rows.push({ where: 'Node', ...(await measureFetch(client, config)) });
      client.close();
    }
  }
  // epoxy-tls and libcurl.js run in browsers only (bench/README.md): the three side by side in Chromium.
  if (only.includes('chromium')) {
    process.stderr.write('Chromium: openssl-tls-wasm, epoxy-tls, libcurl.js over Wisp...\n');
    const page = await runInChromium(fileURLToPath(new URL('bench/fetch-page.mjs', root)), 'runFetchBench',
      { ...config, ca, wispUrl: `ws://127.0.0.1:${ports.wisp}/` }, { log: (l) => process.stderr.write(`${l}\n`) });
    if (Array.isArray(page)) rows.push(...page.map((r) => ({ where: 'Chromium', ...r })));
    else rows.push({ where: 'Chromium', name: 'the page', error: page.error });
  }
  wisp.close();
  servers.stdin.end();

  const fmt = (v, unit = '', digits = 2) => (typeof v === 'number' ? `${v.toFixed(digits)}${unit}` : v === undefined ? 'n/a' : 'failed');
  console.log(`fetch: small GETs (nginx /hello.txt: ${config.sequential} one at a time, ${config.concurrent} ten at a time) and a 32 MiB download (median of ${config.downloads}); TLS 1.3, loopback; Wisp: wisp-js`);
  console.log('');
  console.log('| where | client | protocol | median | p99 | req/s (10 at once) | 32 MiB |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const dl = typeof r.download32MiBMs === 'number' ? `${r.download32MiBMs.toFixed(0)} ms (${r.downloadMBps.toFixed(1)} MB/s)` : fmt(r.download);
    console.log(`| ${r.where} | ${r.name} | ${r.protocol ?? 'failed'} | ${fmt(r.medianMs ?? r.latency, ' ms')} | ${fmt(r.p99Ms ?? r.latency, ' ms')} | ${fmt(r.requestsPerSecond ?? r.throughput, '', 0)} | ${dl} |`);
  }
  const failures = rows.flatMap((r) => Object.values(r).filter((v) => typeof v === 'string' && v.startsWith('failed: ')).map((v) => `${r.where}, ${r.name}: ${v}`)
    .concat(r.error ? [`${r.where}, ${r.name}: ${r.error}`] : []));
  if (failures.length) console.log(['', 'failures:', ...new Set(failures)].join('\n'));
  if (jsonAt >= 0) writeFileSync(argv[jsonAt + 1], JSON.stringify({ date: new Date().toISOString(), node: process.versions.node, rows }, null, 2));
  setTimeout(() => process.exit(0), 100);
}
