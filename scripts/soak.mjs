#!/usr/bin/env node
// Soak: many TLS connections over real loopback sockets, with the memory they leave behind
// reported as they go. Half connect() to this package's own server (createServer().accept()
// over node:net), half to a native node:tls server; connections alternate TLS 1.3 and 1.2.
// Each one sends a line, half-closes, reads the echo to the peer's close_notify, and closes.
// Needs `make`. Not part of make test.
//
//   node --expose-gc scripts/soak.mjs [--connections 10000] [--every 1000] [--concurrency 8] [--minutes 15]
//
// Every `every` connections it waits for those in flight to finish and prints the wasm heap in
// use (openssl.heapUsed(), the shared instance that connect() and createServer() use), the
// wasm memory reserved (memorySize), the process RSS and the failures so far. It ends with one
// line, "soak: PASS ..." or "soak: FAIL ...": PASS when every connection succeeded, all ran
// within the time limit, the wasm memory did not grow over the second half, the heap at the
// end is within 64 KiB of the heap halfway (the first half fills what is meant to fill, such
// as the server's TLS 1.2 session cache, 256 sessions), and RSS within 32 MiB of RSS halfway
// (a JavaScript leak of 7 KB a connection would fail that). With node --expose-gc, it collects
// garbage before each report, so RSS is steadier. Exits 1 on FAIL. Listens on 127.0.0.1 only.
import net from 'node:net';
import tls from 'node:tls';
import process from 'node:process';
import { connect, createServer, getOpenSSL } from '../dist/index.js';
import { HOST, pem } from '../test/helpers.js';

function parse(argv) {
  const o = { connections: 10_000, every: 1000, concurrency: 8, minutes: 15 };
  const names = { '--connections': 'connections', '--every': 'every', '--concurrency': 'concurrency', '--minutes': 'minutes' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    const n = Number(argv[i + 1]);
    if (!key) throw new Error(`unknown option ${argv[i]}: ${Object.keys(names).join(', ')}`);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${argv[i]} must be a positive integer`);
    o[key] = n;
  }
  if (o.connections > 1_000_000 || o.concurrency > 256) throw new Error('at most 1,000,000 connections and 256 at once');
  return o;
}

let options;
try {
  options = parse(process.argv.slice(2));
} catch (e) {
  console.error(`soak: ${e.message}`);
  process.exit(2);
}

const openssl = await getOpenSSL();
const cert = pem('ecdsa-chain.pem');
const key = pem('ecdsa.key');
const ca = pem('ca.pem');

// Servers that stay up for the whole run; `serving` counts the server sides still open.
let serving = 0;
const wasmServer = await createServer({ cert, key });
const wasmTcp = net.createServer(async (socket) => {
  serving++;
  try {
    const conn = await wasmServer.accept(socket);
    try {
      const writer = conn.writable.getWriter();
      for await (const chunk of conn.readable) await writer.write(chunk);
      await writer.close();
      await conn.closed;
    } finally {
      await conn.close();
    }
  } catch {
    // The client side counts the failure; a server side that fails just goes.
  } finally {
    socket.destroy();
    serving--;
  }
});
const nodeServer = tls.createServer({ cert, key }, (socket) => {
  socket.on('data', (d) => socket.write(d));
  socket.on('end', () => socket.end());
  socket.on('error', () => {});
});
nodeServer.on('tlsClientError', () => {});
const listen = (server) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, HOST, () => resolve(server.address().port));
});
const ports = { wasm: await listen(wasmTcp), node: await listen(nodeServer) };

/** One connection: the line out, the echo back to close_notify, and a clean close. */
async function once(i) {
  const target = i % 2 === 0 ? 'wasm' : 'node';
  const maxVersion = i % 4 < 2 ? 'TLSv1.3' : 'TLSv1.2';
  const socket = net.connect(ports[target], HOST);
  let conn;
  const timer = setTimeout(() => socket.destroy(new Error(`connection ${i} to the ${target} server took over 10 s`)), 10_000);
  try {
    conn = await connect(socket, { servername: 'localhost', ca, maxVersion });
    const line = new TextEncoder().encode(`ping ${i} ${target} ${maxVersion}\n`);
    const writer = conn.writable.getWriter();
    await writer.write(line);
    await writer.close();
    let got = 0;
    for await (const chunk of conn.readable) got += chunk.length;
    if (got !== line.length) throw new Error(`connection ${i}: ${got} of ${line.length} bytes echoed`);
    await conn.closed;
    return { target, ok: true };
  } catch (e) {
    return { target, ok: false, error: `${e?.code ?? e?.name}: ${e?.message}` };
  } finally {
    clearTimeout(timer);
    await conn?.close().catch(() => {});
    socket.destroy();
  }
}

const began = performance.now();
const deadline = Date.now() + options.minutes * 60_000;
const seconds = () => (performance.now() - began) / 1000;
const kb = (n) => `${n.toLocaleString('en-US')} B`;
const mb = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const counts = { wasm: 0, node: 0 };
const failures = [];
const checkpoints = [];
let done = 0;
let timedOut = false;

console.log(`soak: ${options.connections} connections over 127.0.0.1 (to the wasm server :${ports.wasm} and to node:tls :${ports.node}), ` +
  `${options.concurrency} at a time, at most ${options.minutes} min; ${process.release?.name ?? 'runtime'} ${process.version}, ${openssl.version}`);
console.log(`start: wasm heap ${kb(openssl.heapUsed())}, memory ${mb(openssl.memorySize)}, rss ${mb(process.memoryUsage().rss)}`);

while (done < options.connections) {
  if (Date.now() > deadline) { timedOut = true; break; }
  const end = Math.min(options.connections, done + options.every);
  let next = done;
  const worker = async () => {
    while (next < end && Date.now() <= deadline) {
      const r = await once(next++);
      counts[r.target]++;
      if (!r.ok) failures.push(r.error);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  done = next;
  // The server sides close just after the clients: wait for them (at most 5 s) before measuring.
  for (let waited = 0; serving > 0 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  globalThis.gc?.();
  const point = { done, heap: openssl.heapUsed(), memory: openssl.memorySize, rss: process.memoryUsage().rss, serving };
  checkpoints.push(point);
  console.log(`${String(done).padStart(6)} connections, ${seconds().toFixed(1).padStart(6)} s: wasm heap ${kb(point.heap)}, ` +
    `memory ${mb(point.memory)}, rss ${mb(point.rss)}, failed ${failures.length}` +
    `${serving > 0 ? `, ${serving} server sides still open` : ''}`);
}

wasmServer.close();
await new Promise((r) => wasmTcp.close(r));
await new Promise((r) => nodeServer.close(r));

const first = checkpoints[0];
const half = checkpoints[Math.floor((checkpoints.length - 1) / 2)];
const last = checkpoints.at(-1);
const reasons = [];
if (failures.length > 0) reasons.push(`${failures.length} connections failed (first: ${failures[0]})`);
if (timedOut) reasons.push(`stopped at the ${options.minutes} min limit after ${done} connections`);
if (last && half && last.memory > half.memory) reasons.push(`wasm memory grew from ${mb(half.memory)} to ${mb(last.memory)} over the second half`);
if (last && half && last.heap > half.heap + 64 * 1024) reasons.push(`the wasm heap grew by ${kb(last.heap - half.heap)} over the second half`);
if (last && half && last.rss > half.rss + 32 * 1048576) reasons.push(`rss grew by ${mb(last.rss - half.rss)} over the second half`);
if (!last) reasons.push('no connection ran');
const figures = last
  ? `${done} connections (${counts.wasm} to the wasm server, ${counts.node} to node:tls) in ${seconds().toFixed(1)} s; ` +
    `wasm heap ${kb(first.heap)} at ${first.done}, ${kb(half.heap)} at ${half.done}, ${kb(last.heap)} at ${last.done}; ` +
    `memory ${mb(first.memory)} -> ${mb(last.memory)}; rss ${mb(first.rss)} -> ${mb(last.rss)}`
  : 'nothing measured';
console.log(`soak: ${reasons.length === 0 ? 'PASS' : 'FAIL'}: ${figures}${reasons.length ? `. ${reasons.join('; ')}` : ''}`);
process.exit(reasons.length === 0 ? 0 : 1);
