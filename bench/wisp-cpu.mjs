#!/usr/bin/env node
// Client CPU time per TLS handshake, this package beside epoxy-tls (rustls in wasm), both in
// Node through the same wisp-js server (bench/wisp-cpu-server.mjs, in another process), against
// node:tls targets with the test RSA and ECDSA chains, each with its default key-exchange
// groups. One handshake is from opening the Wisp stream to a connection that may send data
// (this package's connect() resolving, epoxy's connect_tls resolving), as process.cpuUsage()
// of this process (both clients are wasm plus JS, on one thread) counts it: median of N, the two
// clients taking turns. epoxy-tls writes fail in Node (bench/README.md), its handshakes do not.
//
//   node bench/wisp-cpu.mjs [--n 200]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import * as ours from '../dist/index.js';

const argv = process.argv.slice(2);
const N = argv.includes('--n') ? Number(argv[argv.indexOf('--n') + 1]) : 200;
const ca = readFileSync(new URL('../test/fixtures/ca.pem', import.meta.url), 'utf8');
const server = spawn(process.execPath, [new URL('./wisp-cpu-server.mjs', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
const { wispUrl, rsaPort, ecdsaPort } = JSON.parse(await new Promise((resolve) => createInterface({ input: server.stdout }).once('line', resolve)));

globalThis.WebSocket ??= WebSocket;
const epoxy = await import('@mercuryworkshop/epoxy-tls');
await epoxy.default();
const options = new epoxy.EpoxyClientOptions();
options.pem_files = [ca];
options.wisp_v2 = true;
const epoxyClient = new epoxy.EpoxyClient(wispUrl, options);
const wisp = new ours.WispClient(wispUrl, { WebSocket });
const openssl = await ours.getOpenSSL();
const ctx = openssl.createSecureContext({ ca });

const clients = {
  'openssl-tls-wasm': async (port) => {
    const tls = await ours.connect(wisp.connect('localhost', port), { secureContext: ctx, servername: 'localhost' });
    return () => tls.close().catch(() => {});
  },
  'epoxy-tls': async (port) => {
    const io = await epoxyClient.connect_tls(`tls://localhost:${port}`);
    return () => { io.write.abort().catch(() => {}); io.read.cancel().catch(() => {}); };
  },
};
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const load0 = os.loadavg()[0];
const rows = [];
for (const [chain, port] of [['RSA-2048', rsaPort], ['ECDSA P-256', ecdsaPort]]) {
  const samples = { 'openssl-tls-wasm': [], 'epoxy-tls': [] };
  for (let i = 0; i < N + 20; i++) {
    for (const [name, open] of Object.entries(clients)) {
      const c0 = cpu();
      const close = await open(port);
      const dt = cpu() - c0;
      await close();
      if (i >= 20) samples[name].push(dt); // the first 20 warm V8 up
    }
  }
  rows.push({ chain, ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, +median(v).toFixed(2)])) });
}
console.log(`client CPU per handshake over Wisp (ms, median of ${N}), Node ${process.versions.node}, load ${load0.toFixed(2)} to ${os.loadavg()[0].toFixed(2)}`);
console.table(rows);
server.stdin.end();
wisp.close();
process.exit(0);
