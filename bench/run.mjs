#!/usr/bin/env node
// Benchmarks: openssl-tls-wasm beside native node:tls (and node-forge and subtls where they can run),
// in one process run. A benchmark, not a test: it asserts nothing.
//
//   node bench/run.mjs [--quick] [--json out.json] [--only sections] [--flavor small|full]
//
// See bench/README.md for what each figure means and its caveats.
import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';

// ------------------------------------------------------------------ options and settings

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const jsonIndex = argv.indexOf('--json');
const root = new URL('../', import.meta.url);
const JSON_PATH = jsonIndex >= 0 && argv[jsonIndex + 1] ? argv[jsonIndex + 1] : fileURLToPath(new URL('bench/results.json', root));
const onlyIndex = argv.indexOf('--only');
const ONLY = onlyIndex >= 0 ? new Set(argv[onlyIndex + 1].split(',')) : null;
const SECTIONS = ['handshake', 'memory', 'bulk', 'crypto', 'ping', 'heap', 'size', 'cold'];
const want = (section) => !ONLY || ONLY.has(section);
const flavorIndex = argv.indexOf('--flavor');
// Which build of the module is measured: the default "small" one, or "full" (wasm/flavors/).
const FLAVOR = flavorIndex >= 0 ? argv[flavorIndex + 1] : 'small';
if (argv.includes('--help') || argv.includes('-h') || (ONLY && [...ONLY].some((x) => !SECTIONS.includes(x)))
    || !['small', 'full'].includes(FLAVOR)) {
  console.log(`usage: node bench/run.mjs [--quick] [--json out.json] [--only ${SECTIONS.join(',')}] [--flavor small|full]`);
  process.exit(0);
}

const MiB = 1024 * 1024;
const S = QUICK ? {
  handshakes: 30, handshakeWarmup: 5, handshakeBudgetMs: 1500,
  memHandshakes: 20, memWarmup: 3,
  bulkBytes: 8 * MiB, bulkRepeats: 1, slowBulkBytes: 1 * MiB,
  pings: 300, pingWarmup: 30, pingBudgetMs: 800,
  heapConnections: 100,
  coldRuns: 3,
} : {
  handshakes: 200, handshakeWarmup: 20, handshakeBudgetMs: 8000,
  memHandshakes: 100, memWarmup: 10,
  bulkBytes: 32 * MiB, bulkRepeats: 3, slowBulkBytes: 4 * MiB,
  pings: 2000, pingWarmup: 200, pingBudgetMs: 3000,
  heapConnections: 1000,
  coldRuns: 7,
};

const started = performance.now();

/**
 * CPU time in clock ticks, from /proc: the whole machine's busy time, and this process's own
 * (all its threads, and the children it waited for: esbuild, the cold-start runs). The
 * difference over the run is what other processes took from the cores we measure on.
 */
function cpuTicks() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu;
    const self = readFileSync('/proc/self/stat', 'utf8');
    const f = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number); // fields from 3 on
    return { busy: user + nice + system + irq + softirq + (steal ?? 0), total: user + nice + system + idle + iowait + irq + softirq + (steal ?? 0), own: f[11] + f[12] + f[13] + f[14] };
  } catch {
    return null;
  }
}
const ticksAtStart = cpuTicks();
const progress = (msg) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);

// ------------------------------------------------------------------ fixtures and libraries

const fixture = (name) => readFileSync(new URL(`test/fixtures/${name}`, root), 'utf8');
const F = {
  ca: fixture('ca.pem'),
  ecdsaChain: fixture('ecdsa-chain.pem'), ecdsaKey: fixture('ecdsa.key'),
  rsaChain: fixture('rsa-chain.pem'), rsaKey: fixture('rsa.key'),
};
const distIndex = new URL('dist/index.js', root);
const wasmPath = new URL(FLAVOR === 'full' ? 'dist/openssl-full.wasm' : 'dist/openssl.wasm', root);
const fullWasmPath = new URL('dist/openssl-full.wasm', root);
const W = await import(distIndex.href);
const openssl = await W.OpenSSL.load({ flavor: FLAVOR });

const require = createRequire(new URL('package.json', root));
// node-forge and subtls are looked up in the project's node_modules, then in $BENCH_DEPS (a
// folder with its own node_modules, e.g. made by `npm install --prefix DIR --no-save node-forge subtls`).
const resolvers = [require, ...(process.env.BENCH_DEPS ? [createRequire(`${process.env.BENCH_DEPS.replace(/\/$/, '')}/package.json`)] : [])];
async function optional(name) {
  let lastError;
  for (const req of resolvers) {
    try {
      const entry = req.resolve(name);
      const mod = await import(pathToFileURL(entry).href);
      const version = JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')).version;
      return { mod: mod.default ?? mod, ns: mod, version, entry };
    } catch (e) {
      lastError = e;
    }
  }
  return { missing: `${name} is not installed (npm install --no-save ${name}): ${lastError?.code ?? lastError?.message}` };
}
const forgeLib = await optional('node-forge');
const subtlsLib = await optional('subtls');
const forge = forgeLib.mod;
const subtls = subtlsLib.ns;

// ------------------------------------------------------------------ results

const IMPLS = ['wasm', 'native', 'forge', 'subtls'];
const results = []; // { section, name, unit, better: 'lower'|'higher', values: {impl: number|null}, notes: {impl: string} , extra }
const footnotes = [];
function footnote(text) {
  let i = footnotes.indexOf(text);
  if (i < 0) { footnotes.push(text); i = footnotes.length - 1; }
  return i + 1;
}
/** A cell that says why there is no figure, with the reason as a footnote. */
const na = (reason) => `n/a [${footnote(reason)}]`;
const flag = (text) => `[${footnote(text)}]`;
function record(section, name, unit, better, values, notes = {}, extra = undefined) {
  const row = { section, name, unit, better, values: {}, notes: {}, extra };
  for (const impl of IMPLS) {
    const v = values[impl];
    row.values[impl] = typeof v === 'number' && Number.isFinite(v) ? v : null;
    if (notes[impl]) row.notes[impl] = notes[impl];
  }
  results.push(row);
  return row;
}

// ------------------------------------------------------------------ statistics

const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Runs `warmup` unmeasured rounds, then up to `n` measured rounds or until `budgetMs` (at least
 * `min`), for several implementations taking turns (one sample of each per round), so that a change in the machine's load during the run affects them all alike.
 * `fns` maps an implementation to a function returning one sample; returns, per implementation,
 * { median, p90, n } or { error }.
 */
async function interleaved(what, fns, { n, warmup, budgetMs, min = 5 }) {
  const out = {};
  const xs = {};
  const live = () => Object.keys(fns).filter((impl) => !out[impl]?.error);
  const step = async (impl, sink) => {
    try {
      const v = await fns[impl]();
      sink?.push(v);
    } catch (e) {
      const msg = String(e?.message ?? e).split('\n')[0].slice(0, 200);
      progress(`  ${impl} ${what} failed: ${msg}`);
      out[impl] = { error: `failed [${footnote(`${impl}, ${what}: ${msg}`)}]` };
    }
  };
  for (let i = 0; i < warmup; i++) for (const impl of live()) await step(impl);
  for (const impl of Object.keys(fns)) xs[impl] = [];
  const t0 = performance.now();
  for (let i = 0; i < n && (i < min || performance.now() - t0 < budgetMs); i++) {
    for (const impl of live()) await step(impl, xs[impl]);
  }
  for (const impl of Object.keys(fns)) {
    if (out[impl]?.error) continue;
    out[impl] = { median: median(xs[impl]), p90: quantile(xs[impl], 0.9), n: xs[impl].length };
  }
  return out;
}

/** Runs a measurement, turning a failure into a note instead of ending the run. */
async function attempt(what, fn) {
  try {
    return { value: await fn() };
  } catch (e) {
    const msg = String(e?.message ?? e).split('\n')[0].slice(0, 200);
    progress(`  ${what} failed: ${msg}`);
    return { error: `failed [${footnote(`${what} failed: ${msg}`)}]` };
  }
}

// ------------------------------------------------------------------ the server worker

const worker = new Worker(new URL('./server-worker.mjs', import.meta.url), { workerData: { flavor: FLAVOR } });
worker.unref();
let rpcId = 0;
const pending = new Map();
worker.on('message', (m) => {
  const p = pending.get(m.id);
  pending.delete(m.id);
  if (m.error) p.reject(new Error(m.error));
  else p.resolve(m.port);
});
worker.on('error', (e) => { for (const p of pending.values()) p.reject(e); });
function listen(kind, options) {
  const id = ++rpcId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ type: 'listen', id, kind, options });
  });
}

// ------------------------------------------------------------------ certificates for node-forge

/**
 * node-forge verifies RSA signatures only, and the fixtures' intermediate CA is ECDSA: so the
 * RSA key-exchange row uses an all-RSA chain made here (a root and a localhost leaf).
 */
function makeRsaOnlyChain() {
  if (!forge) return null;
  const { pki } = forge;
  const gen = () => {
    const { privateKey } = require('node:crypto').generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    return { pem, key: pki.privateKeyFromPem(pem) };
  };
  const now = new Date();
  const validity = (c) => {
    c.validity.notBefore = new Date(now.getTime() - 86400e3);
    c.validity.notAfter = new Date(now.getTime() + 5 * 365 * 86400e3);
  };
  const caKey = gen();
  const ca = pki.createCertificate();
  ca.publicKey = pki.setRsaPublicKey(caKey.key.n, caKey.key.e);
  ca.serialNumber = '01';
  validity(ca);
  const caName = [{ name: 'commonName', value: 'openssl-tls-wasm bench RSA root' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKey.key, forge.md.sha256.create());
  const leafKey = gen();
  const leaf = pki.createCertificate();
  leaf.publicKey = pki.setRsaPublicKey(leafKey.key.n, leafKey.key.e);
  leaf.serialNumber = '02';
  validity(leaf);
  leaf.setSubject([{ name: 'commonName', value: 'localhost' }]);
  leaf.setIssuer(caName);
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  leaf.sign(caKey.key, forge.md.sha256.create());
  return { ca: pki.certificateToPem(ca), cert: pki.certificateToPem(leaf), key: leafKey.pem };
}

// ------------------------------------------------------------------ clients
//
// Each client kind turns a connected TCP socket into a session with one shape:
//   { info, send(bytes) -> Promise, recv(n) -> Promise (resolves once n more bytes arrived), close() }
// `handshake(socket)` is what the handshake figures time: from a connected socket to a client
// that may send application data.

/** Counts received bytes and wakes whoever waits for a count. */
class Counter {
  got = 0;
  #want = Infinity;
  #wake = null;
  #fail = null;
  error = null;
  add(n) {
    this.got += n;
    if (this.got >= this.#want) {
      const w = this.#wake;
      this.#wake = this.#fail = null;
      this.#want = Infinity;
      w();
    }
  }
  failed(e) {
    this.error ??= e;
    const f = this.#fail;
    this.#wake = this.#fail = null;
    f?.(e);
  }
  /** Resolves once `n` more bytes than already consumed have arrived. */
  take(n) {
    if (this.error) return Promise.reject(this.error);
    const target = (this.consumed ?? 0) + n;
    this.consumed = target;
    if (this.got >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#want = target;
      this.#wake = resolve;
      this.#fail = reject;
    });
  }
}

function tcp(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

const waitDrain = (sock) => new Promise((resolve) => {
  const done = () => { sock.off('drain', done); sock.off('close', done); resolve(); };
  sock.on('drain', done);
  sock.on('close', done);
});

const clients = {
  /** This package, through its high-level API (connect over a node:net socket). */
  wasm: {
    context: (o) => openssl.createSecureContext({
      ca: o.ca ?? F.ca, ecdhCurve: o.ecdhCurve, ciphersuites: o.ciphersuites, ciphers: o.ciphers,
      minVersion: o.minVersion, maxVersion: o.maxVersion,
    }),
    async handshake(sock, ctx, { session } = {}) {
      let lastSession;
      const conn = await W.connect(sock, {
        secureContext: ctx, openssl, servername: 'localhost', session,
        onsession: (s) => { lastSession = s; },
      });
      const reader = conn.readable.getReader();
      const writer = conn.writable.getWriter();
      return {
        info: () => ({ protocol: conn.getProtocol(), cipher: conn.getCipher()?.name, group: conn.getEphemeralKeyInfo().name, reused: conn.isSessionReused() }),
        session: () => lastSession ?? conn.getSession(),
        send: (bytes) => writer.write(bytes),
        async recv(n) {
          let got = 0;
          while (got < n) {
            const { value, done } = await reader.read();
            if (done) throw new Error('connection closed');
            got += value.length;
          }
        },
        // close() is awaited before the socket goes: see bench/README.md (destroying the socket
        // while close() runs leaves the connection unfreed).
        close: async () => { await conn.close().catch(() => {}); sock.destroy(); },
      };
    },
  },

  /** node:tls (Node's own OpenSSL), with a context made once. */
  native: {
    context: (o) => tls.createSecureContext({
      ca: o.ca ?? F.ca, ecdhCurve: o.ecdhCurve,
      ciphers: [o.ciphersuites, o.ciphers].filter(Boolean).join(':') || undefined,
      minVersion: o.minVersion, maxVersion: o.maxVersion,
    }),
    async handshake(sock, ctx, { session } = {}) {
      const counter = new Counter();
      let lastSession;
      const t = tls.connect({ socket: sock, secureContext: ctx, servername: 'localhost', session });
      t.on('session', (s) => { lastSession = s; });
      t.on('data', (d) => counter.add(d.length));
      t.on('error', (e) => counter.failed(e));
      t.on('close', () => counter.failed(new Error('connection closed')));
      await new Promise((resolve, reject) => {
        t.once('secureConnect', resolve);
        t.once('error', reject);
      });
      return {
        info: () => ({ protocol: t.getProtocol(), cipher: t.getCipher()?.name, group: t.getEphemeralKeyInfo()?.name, reused: t.isSessionReused() }),
        session: () => lastSession ?? t.getSession(),
        send: (bytes) => (t.write(bytes) ? undefined : waitDrain(t)),
        recv: (n) => counter.take(n),
        close: () => t.destroy(),
      };
    },
  },

  /** node-forge: pure-JS TLS (1.0/1.1), RSA key exchange with AES-CBC only. */
  forge: {
    context: (o) => ({ caStore: forge.pki.createCaStore([o.ca]) }),
    handshake(sock, ctx) {
      const counter = new Counter();
      return new Promise((resolve, reject) => {
        let writeOk = true;
        const c = forge.tls.createConnection({
          server: false,
          caStore: ctx.caStore,
          cipherSuites: [forge.tls.CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA],
          virtualHost: 'localhost',
          verify: (_c, verified) => verified,
          connected: () => resolve({
            info: () => ({ protocol: `TLS ${c.version.major - 2}.${c.version.minor - 1}`, cipher: 'AES128-SHA' }),
            send(bytes) {
              c.prepare(typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('binary'));
              return writeOk ? undefined : waitDrain(sock).then(() => { writeOk = true; });
            },
            recv: (n) => counter.take(n),
            close: () => { try { c.close(); } catch {} sock.destroy(); },
          }),
          tlsDataReady: (conn) => { writeOk = sock.write(Buffer.from(conn.tlsData.getBytes(), 'binary')) && writeOk; },
          dataReady: (conn) => counter.add(conn.data.getBytes().length),
          closed: () => counter.failed(new Error('connection closed')),
          error: (_c, e) => { const err = new Error(e.message ?? String(e)); counter.failed(err); reject(err); },
        });
        sock.on('data', (d) => c.process(d.toString('binary')));
        sock.on('error', (e) => { counter.failed(e); reject(e); });
        c.handshake();
      });
    },
  },

  /** subtls: TLS 1.3 client on SubtleCrypto; P-256 key exchange and TLS_AES_128_GCM_SHA256 only. */
  subtls: {
    context: async (o) => ({ roots: await subtls.TrustedCert.databaseFromPEM(o.ca ?? F.ca) }),
    async handshake(sock, ctx) {
      const q = new subtls.SocketReadQueue(sock);
      const { read, write } = await subtls.startTls('localhost', ctx.roots, q.read.bind(q), (d) => sock.write(d));
      return {
        info: () => ({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'P-256' }),
        send: (bytes) => write(bytes),
        async recv(n) {
          let got = 0;
          while (got < n) {
            const r = await read();
            if (r === undefined) throw new Error('connection closed');
            got += r.length;
          }
        },
        close: () => sock.destroy(),
      };
    },
  },
};

const header = (cmd, n) => {
  const b = Buffer.alloc(5);
  b[0] = cmd.charCodeAt(0);
  b.writeUInt32BE(n, 1);
  return new Uint8Array(b.buffer, b.byteOffset, 5);
};

/** Times one handshake of `impl` against the server on `port`. */
async function timeHandshake(impl, port, ctx, opts) {
  const sock = await tcp(port);
  const t0 = performance.now();
  const s = await clients[impl].handshake(sock, ctx, opts);
  const dt = performance.now() - t0;
  if (opts?.check) opts.check(s);
  await s.close();
  return dt;
}

/** A session with its tickets read (a 1-byte ping makes sure they have arrived). */
async function establish(impl, port, ctx, opts) {
  const sock = await tcp(port);
  const s = await clients[impl].handshake(sock, ctx, opts);
  await s.send(concatBytes(header('P', 1), new Uint8Array([1])));
  await s.recv(1);
  return s;
}

function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}

// ------------------------------------------------------------------ machine

function cpuModel() {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}
const machine = {
  date: new Date().toISOString(),
  cpu: cpuModel(),
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  nodeOpenSSL: process.versions.openssl,
  wasmOpenSSL: openssl.version,
  wasmBytes: statSync(wasmPath).size,
  forge: forgeLib.version ?? null,
  subtls: subtlsLib.version ?? null,
  mode: QUICK ? 'quick' : 'default',
  loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
};

/** The wasm module's declared memory limits, in 64 KiB pages, read from its memory section. */
function wasmMemoryLimits(bytes) {
  let i = 8;
  const leb = () => { let r = 0; let sh = 0; let x; do { x = bytes[i++]; r += (x & 0x7f) * 2 ** sh; sh += 7; } while (x & 0x80); return r; };
  while (i < bytes.length) {
    const id = bytes[i++];
    const len = leb();
    const end = i + len;
    if (id === 5) {
      leb(); // count
      const flags = leb();
      const min = leb();
      return { minPages: min, maxPages: flags & 1 ? leb() : null };
    }
    i = end;
  }
  return null;
}
machine.wasmMemory = wasmMemoryLimits(readFileSync(wasmPath));

// ------------------------------------------------------------------ 1. handshakes over loopback TCP

const NOTE = {
  mlkem: () => footnote(`node:tls here is Node ${process.version} with OpenSSL ${process.versions.openssl}, which has no ML-KEM: it can neither serve nor ask for X25519MLKEM768. Over TCP those rows use this package's server (in the same worker thread) instead; the 'wasm server, reference' row gives X25519 against that same server, to compare with.`),
  forge: () => footnote('node-forge 1.x: TLS 1.0/1.1 only, RSA key exchange with AES-CBC only, RSA certificates only; its figures are in the rows it can negotiate (TLS 1.1 against the same node:tls server, with an all-RSA chain made at start-up).'),
  subtls: () => footnote('subtls 0.5.0: TLS 1.3 with P-256 key exchange and TLS_AES_128_GCM_SHA256 only (no X25519, no other suites, no TLS 1.2), and it ignores session tickets; its figures are in the P-256 / AES-128-GCM rows.'),
};

async function startServers() {
  progress('starting servers');
  const rsaOnly = makeRsaOnlyChain();
  const nativeOpts = (cert, key) => ({
    cert, key, ecdhCurve: 'X25519:P-256', minVersion: 'TLSv1.2',
    ciphers: 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:' +
      'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305',
  });
  const ports = {
    nativeEcdsa: await listen('native', nativeOpts(F.ecdsaChain, F.ecdsaKey)),
    nativeRsa: await listen('native', nativeOpts(F.rsaChain, F.rsaKey)),
    wasmEcdsa: await listen('wasm', { cert: F.ecdsaChain, key: F.ecdsaKey, ecdhCurve: 'X25519MLKEM768:X25519' }),
    wasmRsa: await listen('wasm', { cert: F.rsaChain, key: F.rsaKey, ecdhCurve: 'X25519MLKEM768:X25519' }),
    nativeRsaKx: rsaOnly && await listen('native', {
      cert: rsaOnly.cert, key: rsaOnly.key, minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:@SECLEVEL=0',
    }),
    rsaOnlyCa: rsaOnly?.ca,
  };
  return ports;
}

async function handshakeBench(ports) {
  const H = 'Handshake latency, client side, over loopback TCP (ms)';
  const rsaOnly = ports.rsaOnlyCa ? { ca: ports.rsaOnlyCa } : null;

  const cases = [
    { name: 'TLS 1.3 X25519MLKEM768, ECDSA P-256 cert', port: ports.wasmEcdsa, server: 'wasm', opts: { ecdhCurve: 'X25519MLKEM768' }, group: /MLKEM/i },
    { name: 'TLS 1.3 X25519MLKEM768, RSA-2048 cert', port: ports.wasmRsa, server: 'wasm', opts: { ecdhCurve: 'X25519MLKEM768' }, group: /MLKEM/i },
    { name: 'TLS 1.3 X25519, ECDSA P-256 cert (wasm server, reference)', port: ports.wasmEcdsa, server: 'wasm', opts: { ecdhCurve: 'X25519' } },
    // Each client's default groups: this package offers X25519MLKEM768 and X25519 key shares,
    // Node 20's node:tls X25519 (its OpenSSL has no ML-KEM), and the node:tls server picks X25519.
    { name: 'TLS 1.3 default groups, ECDSA P-256 cert', port: ports.nativeEcdsa, opts: {} },
    { name: 'TLS 1.3 default groups, RSA-2048 cert', port: ports.nativeRsa, opts: {} },
    { name: 'TLS 1.3 X25519, ECDSA P-256 cert', port: ports.nativeEcdsa, opts: { ecdhCurve: 'X25519' } },
    { name: 'TLS 1.3 X25519, RSA-2048 cert', port: ports.nativeRsa, opts: { ecdhCurve: 'X25519' } },
    { name: 'TLS 1.3 resumed (ticket, psk_dhe_ke X25519), ECDSA', port: ports.nativeEcdsa, opts: { ecdhCurve: 'X25519' }, resume: true },
    { name: 'TLS 1.3 P-256, AES-128-GCM, ECDSA P-256 cert', port: ports.nativeEcdsa, opts: { ecdhCurve: 'P-256', ciphersuites: 'TLS_AES_128_GCM_SHA256' }, subtls: true },
    { name: 'TLS 1.2 RSA key exchange, AES128-SHA, all-RSA chain', port: ports.nativeRsaKx, opts: { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA', ca: rsaOnly?.ca }, forge: true },
  ];
  const mlkemNote = NOTE.mlkem();
  const forgeNote = NOTE.forge();
  const subtlsNote = NOTE.subtls();

  // The wasm servers in the worker have instances of their own, which V8 has not optimised
  // yet: warm them (unmeasured) so that the first rows do not pay for it.
  progress('warming up the wasm servers');
  for (const port of [ports.wasmEcdsa, ports.wasmRsa]) {
    for (const groups of ['X25519MLKEM768', 'X25519']) {
      const ctx = clients.wasm.context({ ecdhCurve: groups });
      for (let i = 0; i < (QUICK ? 30 : 100); i++) await timeHandshake('wasm', port, ctx);
      ctx.free();
    }
  }

  for (const c of cases) {
    if (c.port === null || c.port === undefined) continue;
    const notes = {};
    const impls = ['wasm'];
    if (c.server !== 'wasm') impls.push('native');
    if (c.forge) impls.push('forge');
    if (c.subtls) impls.push('subtls');
    progress(`handshake ${c.name}: ${impls.join(', ')}`);
    const infos = {};
    const fns = {};
    for (const impl of impls) {
      const lib = impl === 'forge' ? forgeLib : impl === 'subtls' ? subtlsLib : {};
      if (lib.missing) { notes[impl] = na(lib.missing); continue; }
      const r = await attempt(`${impl} ${c.name} (set-up)`, async () => {
        const ctx = await clients[impl].context(c.opts);
        let session;
        if (c.resume) {
          const s = await establish(impl, c.port, ctx);
          session = s.session();
          await s.close();
        }
        const check = (s) => { infos[impl] ??= s.info(); };
        return () => timeHandshake(impl, c.port, ctx, { session, check });
      });
      if (r.error) notes[impl] = r.error; else fns[impl] = r.value;
    }
    const st = await interleaved(`${c.name}`, fns, { n: S.handshakes, warmup: S.handshakeWarmup, budgetMs: S.handshakeBudgetMs });
    const values = { median: {}, p90: {} };
    const extra = {};
    for (const [impl, r] of Object.entries(st)) {
      if (r.error) { notes[impl] = r.error; continue; }
      values.median[impl] = r.median;
      values.p90[impl] = r.p90;
      extra[impl] = { n: r.n, ...infos[impl] };
      if (c.resume && !infos[impl]?.reused) notes[impl] = flag(`${impl}: the session was NOT resumed`);
      if (c.group && !c.group.test(infos[impl]?.group ?? '')) notes[impl] = flag(`${impl}: negotiated ${infos[impl]?.group}`);
    }
    if (c.server === 'wasm') notes.native = `n/a [${mlkemNote}]`;
    for (const impl of ['forge', 'subtls']) {
      if (!impls.includes(impl) && !notes[impl]) notes[impl] = `n/a [${impl === 'forge' ? forgeNote : subtlsNote}]`;
    }
    record(H, `${c.name}: median`, 'ms', 'lower', values.median, notes, extra);
    record(H, `${c.name}: p90`, 'ms', 'lower', values.p90, notes);
  }
  return ports;
}

// ------------------------------------------------------------------ 2. handshakes in memory (pure CPU)

/** A node:stream Duplex pair joined back to back, for node:tls in memory. */
function duplexPair() {
  const a = new Duplex({ read() {}, write(chunk, _e, cb) { b.push(chunk); cb(); }, final(cb) { b.push(null); cb(); } });
  const b = new Duplex({ read() {}, write(chunk, _e, cb) { a.push(chunk); cb(); }, final(cb) { a.push(null); cb(); } });
  return [a, b];
}

/** Moves ciphertext between two low-level TlsEngines until both handshakes are done. */
function memHandshake(client, server) {
  for (let round = 0; round < 100; round++) {
    const c = client.handshakeDone ? 'done' : client.handshake();
    const co = client.takeOutput();
    if (co.length) server.feed(co);
    const s = server.handshakeDone ? 'done' : server.handshake();
    const so = server.takeOutput();
    if (so.length) client.feed(so);
    if (c === 'done' && s === 'done' && !co.length && !so.length) return;
  }
  throw new Error('in-memory handshake did not finish');
}

/** Lets the client read what the server sent after the handshake (TLS 1.3 tickets). */
function memReadTickets(client, server) {
  const out = server.takeOutput();
  if (out.length) client.feed(out);
  const r = client.read();
  if (r instanceof Uint8Array) throw new Error('unexpected application data');
}

async function memoryHandshakeBench() {
  const H = 'Handshake CPU cost, client + server in one thread, in memory (ms)';
  const certs = { ECDSA: [F.ecdsaChain, F.ecdsaKey], RSA: [F.rsaChain, F.rsaKey] };
  const cases = [
    ['X25519MLKEM768', 'ECDSA'], ['X25519MLKEM768', 'RSA'], ['X25519', 'ECDSA'], ['X25519', 'RSA'], ['X25519', 'ECDSA', true],
  ];
  const jsDuplexNote = footnote('In memory, node:tls runs a client and a server TLSSocket over a pair of JS Duplex streams, so its figure includes Node\'s JS stream plumbing and event-loop turns; the wasm figure is the low-level API moving bytes by hand, with nothing else. Both are one thread doing both sides.');
  for (const [group, cert, resume] of cases) {
    const name = resume ? `TLS 1.3 resumed (ticket, ${group}), ${cert}` : `TLS 1.3 ${group}, ${cert === 'RSA' ? 'RSA-2048' : 'ECDSA P-256'} cert`;
    progress(`in-memory handshake ${name}`);
    const notes = {};
    const fns = {};
    const cleanup = [];
    const flags = { wasm: true, native: true };
    // wasm: client and server in one OpenSSL instance, through the low-level API.
    const w = await attempt('wasm in-memory (set-up)', () => {
      const sctx = openssl.createSecureContext({ isServer: true, cert: certs[cert][0], key: certs[cert][1], ecdhCurve: group });
      const cctx = openssl.createSecureContext({ ca: F.ca, ecdhCurve: group });
      cleanup.push(() => { sctx.free(); cctx.free(); });
      let session;
      if (resume) {
        const c = cctx.createEngine({ servername: 'localhost' });
        const s = sctx.createEngine();
        memHandshake(c, s);
        memReadTickets(c, s);
        session = c.getSession();
        c.free(); s.free();
      }
      return () => {
        const t0 = performance.now();
        const c = cctx.createEngine({ servername: 'localhost', session });
        const s = sctx.createEngine();
        memHandshake(c, s);
        const dt = performance.now() - t0;
        if (resume && !c.negotiated().sessionReused) flags.wasm = false;
        c.free(); s.free();
        return dt;
      };
    });
    if (w.error) notes.wasm = w.error; else fns.wasm = w.value;
    if (group.includes('MLKEM')) {
      notes.native = `n/a [${NOTE.mlkem()}]`;
    } else {
      // node:tls: a TLSSocket pair over a JS Duplex pair (includes node's JS stream plumbing).
      const n = await attempt('native in-memory (set-up)', async () => {
        const sctx = tls.createSecureContext({ cert: certs[cert][0], key: certs[cert][1], ecdhCurve: group });
        const cctx = tls.createSecureContext({ ca: F.ca, ecdhCurve: group });
        const pair = async (session) => {
          const [a, b] = duplexPair();
          const t0 = performance.now();
          const server = new tls.TLSSocket(a, { isServer: true, secureContext: sctx });
          const client = tls.connect({ socket: b, secureContext: cctx, servername: 'localhost', session });
          let got;
          client.on('session', (x) => { got = x; });
          await Promise.all([once(server, 'secure'), once(client, 'secureConnect')]);
          const dt = performance.now() - t0;
          if (!session) { server.write('x'); await once(client, 'data'); }
          const reused = client.isSessionReused();
          client.destroy(); server.destroy();
          return { dt, session: got, reused };
        };
        const session = resume ? (await pair()).session : undefined;
        return async () => {
          const r = await pair(session);
          if (resume && !r.reused) flags.native = false;
          return r.dt;
        };
      });
      if (n.error) notes.native = n.error; else fns.native = n.value;
    }
    const st = await interleaved(name, fns, { n: S.memHandshakes, warmup: S.memWarmup, budgetMs: S.handshakeBudgetMs });
    for (const f of cleanup) f();
    const values = {};
    for (const [impl, r] of Object.entries(st)) {
      if (r.error) { notes[impl] = r.error; continue; }
      values[impl] = r.median;
      if (!flags[impl]) notes[impl] = flag(`${impl} in memory: the session was NOT resumed`);
    }
    if (values.native !== undefined && !notes.native) notes.native = `[${jsDuplexNote}]`;
    notes.forge = notes.subtls = na('node-forge and subtls: client side only here (subtls has no server; node-forge\'s server would need TLS 1.1 and RSA key exchange).');
    record(H, `${name}: median`, 'ms', 'lower', values, notes);
  }
}

// ------------------------------------------------------------------ wasm warm-up

/**
 * V8 first runs wasm with its baseline compiler and optimises hot functions later, in the
 * background: the first hundred or so handshakes are slower. So every measured path is run
 * for a while first (on the instance the measurements use), and every series has its own
 * unmeasured warm-up as well.
 */
function warmUpWasm(ms) {
  const certs = [[F.ecdsaChain, F.ecdsaKey], [F.rsaChain, F.rsaKey]];
  const configs = [];
  for (const [cert, key] of certs) {
    for (const groups of ['X25519MLKEM768', 'X25519', 'P-256']) {
      configs.push({ server: { cert, key, ecdhCurve: groups }, client: { ecdhCurve: groups } });
    }
  }
  for (const ciphersuites of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
    configs.push({ server: { cert: F.ecdsaChain, key: F.ecdsaKey }, client: { ciphersuites, ecdhCurve: 'X25519' }, data: true });
  }
  for (const ciphers of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    configs.push({ server: { cert: F.ecdsaChain, key: F.ecdsaKey }, client: { ciphers, maxVersion: 'TLSv1.2', ecdhCurve: 'X25519:P-256' }, data: true });
  }
  const ctxs = configs.map((c) => ({
    s: openssl.createSecureContext({ isServer: true, ...c.server }),
    c: openssl.createSecureContext({ ca: F.ca, ...c.client }),
    data: c.data,
  }));
  const block = new Uint8Array(16384);
  const t0 = performance.now();
  let n = 0;
  let session;
  while (performance.now() - t0 < ms) {
    for (const x of ctxs) {
      const c = x.c.createEngine({ servername: 'localhost', session: x === ctxs[1] ? session : undefined });
      const s = x.s.createEngine();
      memHandshake(c, s);
      memReadTickets(c, s);
      if (x === ctxs[1]) session = c.getSession();
      if (x.data) {
        for (let i = 0; i < 16; i++) {
          c.write(block); s.feed(c.takeOutput()); while (s.read() instanceof Uint8Array);
          s.write(block); c.feed(s.takeOutput()); while (c.read() instanceof Uint8Array);
        }
      }
      c.free(); s.free();
      n++;
    }
  }
  for (const x of ctxs) { x.s.free(); x.c.free(); }
  return n;
}

// ------------------------------------------------------------------ record crypto, in memory

async function recordCryptoBench() {
  const H = 'Record crypto only, in memory, one thread (MB/s): the ceiling for bulk transfer';
  const total = S.bulkBytes / 4;
  const REC = 16384;
  const suites = [
    ['TLS_AES_128_GCM_SHA256', 'aes-128-gcm', 16],
    ['TLS_AES_256_GCM_SHA384', 'aes-256-gcm', 32],
    ['TLS_CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 32],
  ];
  const plain = new Uint8Array(REC).map((_, i) => i & 0xff);
  const ceilNote = `[${footnote(`Record crypto: ${total / MiB} MiB in 16 KiB records. wasm: one client/server pair in one instance, through the low-level API: encrypt = write() + takeOutput(), decrypt = feed() + read(), so it includes copying in and out of wasm memory. node:tls column: node:crypto's createCipheriv/createDecipheriv with the same AEAD, one call per 16 KiB record (Node's OpenSSL, with assembly), a rough stand-in for what node:tls does per record.`)}]`;
  const { createCipheriv, createDecipheriv, randomBytes } = await import('node:crypto');
  for (const [suite, alg, keyLen] of suites) {
    progress(`record crypto ${suite}`);
    const values = { enc: {}, dec: {} };
    const notes = {};
    const w = await attempt(`wasm record crypto ${suite}`, () => {
      const sctx = openssl.createSecureContext({ isServer: true, cert: F.ecdsaChain, key: F.ecdsaKey });
      const cctx = openssl.createSecureContext({ ca: F.ca, ciphersuites: suite, ecdhCurve: 'X25519' });
      const c = cctx.createEngine({ servername: 'localhost' });
      const s = sctx.createEngine();
      memHandshake(c, s);
      memReadTickets(c, s);
      const run = () => {
        const records = [];
        let t0 = performance.now();
        for (let sent = 0; sent < total; sent += REC) {
          c.write(plain);
          records.push(c.takeOutput());
        }
        const enc = total / 1e6 / ((performance.now() - t0) / 1000);
        t0 = performance.now();
        let got = 0;
        for (const r of records) {
          let off = 0;
          while (off < r.length) {
            off += s.feed(off ? r.subarray(off) : r);
            for (;;) { const x = s.read(); if (!(x instanceof Uint8Array)) break; got += x.length; }
          }
        }
        const dec = got / 1e6 / ((performance.now() - t0) / 1000);
        return { enc, dec };
      };
      run();
      const rs = Array.from({ length: S.bulkRepeats }, run);
      c.free(); s.free(); cctx.free(); sctx.free();
      return { enc: median(rs.map((r) => r.enc)), dec: median(rs.map((r) => r.dec)) };
    });
    if (w.error) notes.wasm = w.error;
    else { values.enc.wasm = w.value.enc; values.dec.wasm = w.value.dec; }
    const n = await attempt(`node:crypto ${alg}`, () => {
      const key = randomBytes(keyLen);
      const run = () => {
        const recs = [];
        let t0 = performance.now();
        let seq = 0;
        for (let sent = 0; sent < total; sent += REC) {
          const iv = Buffer.alloc(12); iv.writeUInt32BE(seq++, 8);
          const c = createCipheriv(alg, key, iv, { authTagLength: 16 });
          const ct = c.update(plain); c.final();
          recs.push([iv, ct, c.getAuthTag()]);
        }
        const enc = total / 1e6 / ((performance.now() - t0) / 1000);
        t0 = performance.now();
        for (const [iv, ct, tag] of recs) {
          const d = createDecipheriv(alg, key, iv, { authTagLength: 16 });
          d.setAuthTag(tag); d.update(ct); d.final();
        }
        const dec = total / 1e6 / ((performance.now() - t0) / 1000);
        return { enc, dec };
      };
      run();
      const rs = Array.from({ length: S.bulkRepeats }, run);
      return { enc: median(rs.map((r) => r.enc)), dec: median(rs.map((r) => r.dec)) };
    });
    if (n.error) notes.native = n.error;
    else { values.enc.native = n.value.enc; values.dec.native = n.value.dec; }
    notes.forge = notes.subtls = 'n/a';
    record(H, `${suite}: encrypt`, 'MB/s', 'higher', values.enc, { ...notes, wasm: notes.wasm ?? ceilNote });
    record(H, `${suite}: decrypt`, 'MB/s', 'higher', values.dec, notes);
  }
}

// ------------------------------------------------------------------ 3. bulk throughput and ping/pong

async function bulkBench(ports) {
  const H = 'Bulk throughput over loopback TCP, node:tls server (MB/s, 1 MB = 10^6 bytes)';
  const chunk = new Uint8Array(64 * 1024).map((_, i) => (i * 29 + 3) & 0xff);
  const suites = [
    { name: 'TLS 1.3 TLS_AES_128_GCM_SHA256', opts: { ecdhCurve: 'X25519', ciphersuites: 'TLS_AES_128_GCM_SHA256' }, subtls: true },
    { name: 'TLS 1.3 TLS_AES_256_GCM_SHA384', opts: { ecdhCurve: 'X25519', ciphersuites: 'TLS_AES_256_GCM_SHA384' } },
    { name: 'TLS 1.3 TLS_CHACHA20_POLY1305_SHA256', opts: { ecdhCurve: 'X25519', ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256' } },
    { name: 'TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256', opts: { ecdhCurve: 'X25519:P-256', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' } },
    { name: 'TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384', opts: { ecdhCurve: 'X25519:P-256', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' } },
    { name: 'TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305', opts: { ecdhCurve: 'X25519:P-256', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' } },
    { name: 'TLS 1.2 AES128-SHA (RSA key exchange, CBC)', opts: { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }, forge: true, rsaKx: true },
  ];
  const slowNote = footnote(`node-forge and subtls move ${S.slowBulkBytes / MiB} MiB per measurement (others: ${S.bulkBytes / MiB} MiB, median of ${S.bulkRepeats}), to keep the run short.`);
  for (const suite of suites) {
    const port = suite.rsaKx ? ports.nativeRsaKx : ports.nativeEcdsa;
    if (!port) continue;
    const notes = {};
    const extra = {};
    const impls = ['wasm', 'native'];
    if (suite.forge) impls.push('forge');
    if (suite.subtls) impls.push('subtls');
    progress(`bulk ${suite.name}: ${impls.join(', ')}`);
    // One established connection per implementation; the repeats take turns.
    const runs = {};
    for (const impl of impls) {
      const lib = impl === 'forge' ? forgeLib : impl === 'subtls' ? subtlsLib : {};
      if (lib.missing) { notes[impl] = na(lib.missing); continue; }
      const slow = impl === 'forge' || impl === 'subtls';
      const r = await attempt(`${impl} bulk ${suite.name} (set-up)`, async () => {
        const ctx = await clients[impl].context({ ...suite.opts, ca: suite.rsaKx ? ports.rsaOnlyCa : undefined });
        const s = await establish(impl, port, ctx);
        extra[impl] = s.info();
        const chunkArg = impl === 'forge' ? Buffer.from(chunk).toString('binary') : chunk;
        const recv = async (n) => {
          const t0 = performance.now();
          await s.send(header('S', n));
          await s.recv(n);
          return n / 1e6 / ((performance.now() - t0) / 1000);
        };
        const send = async (n) => {
          const t0 = performance.now();
          await s.send(header('K', n));
          for (let left = n; left > 0; left -= chunk.length) await s.send(chunkArg);
          await s.recv(1);
          return n / 1e6 / ((performance.now() - t0) / 1000);
        };
        const bytes = slow ? S.slowBulkBytes : S.bulkBytes;
        await recv(Math.min(bytes, 2 * MiB)); // warm-up
        await send(Math.min(bytes, 2 * MiB));
        return { s, recv, send, bytes, repeats: slow ? 1 : S.bulkRepeats, rs: [], ss: [] };
      });
      if (r.error) notes[impl] = r.error; else runs[impl] = r.value;
    }
    for (let rep = 0; rep < S.bulkRepeats; rep++) {
      for (const [impl, run] of Object.entries(runs)) {
        if (rep >= run.repeats || run.error) continue;
        try {
          run.rs.push(await run.recv(run.bytes));
          run.ss.push(await run.send(run.bytes));
        } catch (e) {
          run.error = true;
          const msg = String(e?.message ?? e).split('\n')[0].slice(0, 200);
          progress(`  ${impl} bulk ${suite.name} failed: ${msg}`);
          notes[impl] = `failed [${footnote(`${impl}, bulk ${suite.name}: ${msg}`)}]`;
        }
      }
    }
    const values = { recv: {}, send: {} };
    for (const [impl, run] of Object.entries(runs)) {
      await run.s.close();
      if (run.error) continue;
      values.recv[impl] = median(run.rs);
      values.send[impl] = median(run.ss);
      if (impl === 'forge' || impl === 'subtls') {
        notes[impl] = `[${slowNote}]${impl === 'forge' ? ` [${footnote('node-forge negotiates TLS 1.1 (its highest version) where the others use TLS 1.2.')}]` : ''}`;
      }
    }
    if (!impls.includes('forge')) notes.forge ??= `n/a [${NOTE.forge()}]`;
    if (!impls.includes('subtls')) notes.subtls ??= `n/a [${NOTE.subtls()}]`;
    record(H, `${suite.name}: receive`, 'MB/s', 'higher', values.recv, notes, extra);
    record(H, `${suite.name}: send`, 'MB/s', 'higher', values.send, notes);
  }
}

async function pingBench(ports) {
  const H = 'Round trip over an established connection, loopback TCP, node:tls echo server (µs)';
  const ping = concatBytes(header('P', 64), new Uint8Array(64).fill(7));
  const rows = [
    { name: '64-byte ping/pong, TLS 1.3 AES-128-GCM', port: ports.nativeEcdsa, opts: { ecdhCurve: 'P-256', ciphersuites: 'TLS_AES_128_GCM_SHA256' }, impls: ['wasm', 'native', 'subtls'] },
    { name: '64-byte ping/pong, TLS 1.2 AES128-SHA (RSA kx)', port: ports.nativeRsaKx, opts: { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA', ca: ports.rsaOnlyCa }, impls: ['wasm', 'native', 'forge'] },
  ];
  for (const row of rows) {
    if (!row.port) continue;
    const notes = {};
    progress(`ping ${row.name}: ${row.impls.join(', ')}`);
    const sessions = {};
    const fns = {};
    for (const impl of row.impls) {
      const lib = impl === 'forge' ? forgeLib : impl === 'subtls' ? subtlsLib : {};
      if (lib.missing) { notes[impl] = na(lib.missing); continue; }
      const r = await attempt(`${impl} ping (set-up)`, async () => {
        const ctx = await clients[impl].context(row.opts);
        return establish(impl, row.port, ctx);
      });
      if (r.error) { notes[impl] = r.error; continue; }
      const s = r.value;
      sessions[impl] = s;
      fns[impl] = async () => {
        const t0 = performance.now();
        await s.send(ping);
        await s.recv(64);
        return (performance.now() - t0) * 1000;
      };
    }
    const st = await interleaved(row.name, fns, { n: S.pings, warmup: S.pingWarmup, budgetMs: S.pingBudgetMs });
    for (const s of Object.values(sessions)) await s.close();
    const values = {};
    for (const [impl, r] of Object.entries(st)) {
      if (r.error) notes[impl] = r.error; else values[impl] = r.median;
    }
    if (!row.impls.includes('forge')) notes.forge = `n/a [${NOTE.forge()}]`;
    if (!row.impls.includes('subtls')) notes.subtls = `n/a [${NOTE.subtls()}]`;
    record(H, `${row.name}: median`, 'µs', 'lower', values, notes);
  }
}

// ------------------------------------------------------------------ 4. wasm heap per connection

async function heapBench() {
  const H = 'wasm heap per idle established connection (one OpenSSL instance per side, in memory)';
  const N = S.heapConnections;
  progress(`heap: ${N} connections per side`);
  const r = await attempt('heap', async () => {
    const cInst = await W.OpenSSL.load({ flavor: FLAVOR });
    const sInst = await W.OpenSSL.load({ flavor: FLAVOR });
    const baseClientEmpty = cInst.heapUsed();
    const cctx = cInst.createSecureContext({ ca: F.ca });
    const sctx = sInst.createSecureContext({ isServer: true, cert: F.ecdsaChain, key: F.ecdsaKey });
    // One warm-up pair, so that lazily made tables (groups, ciphers, error strings) are counted in the baseline.
    {
      const c = cctx.createEngine({ servername: 'localhost' });
      const s = sctx.createEngine();
      memHandshake(c, s);
      memReadTickets(c, s);
      c.free(); s.free();
    }
    const c0 = cInst.heapUsed();
    const s0 = sInst.heapUsed();
    const pairs = [];
    for (let i = 0; i < N; i++) {
      const c = cctx.createEngine({ servername: 'localhost' });
      const s = sctx.createEngine();
      memHandshake(c, s);
      pairs.push([c, s]);
    }
    const c1 = cInst.heapUsed();
    const s1 = sInst.heapUsed();
    for (const [c, s] of pairs) memReadTickets(c, s);
    const c2 = cInst.heapUsed();
    const s2 = sInst.heapUsed();
    const group = pairs[0][0].negotiated().group;
    const cMem = cInst.memorySize;
    for (const [c, s] of pairs) { c.free(); s.free(); }
    const c3 = cInst.heapUsed();
    cctx.free(); sctx.free();
    return {
      group,
      baseline: { clientEmpty: baseClientEmpty, client: c0, server: s0 },
      client: { handshake: (c1 - c0) / N, tickets: (c2 - c0) / N },
      server: { handshake: (s1 - s0) / N, tickets: (s2 - s0) / N },
      clientMemorySize: cMem,
      leakAfterFree: c3 - c0,
    };
  });
  const naAll = { native: 'n/a', forge: 'n/a', subtls: 'n/a' };
  if (r.error) {
    record(H, 'client connection after handshake (KiB)', 'KiB', 'lower', {}, { ...naAll, wasm: r.error });
    return;
  }
  const v = r.value;
  const note = `[${footnote(`Heap: ${N} client and ${N} server connections (default groups, ${v.group}; ECDSA P-256 cert; ciphertext buffers capped at 17 KiB per direction, held only while bytes wait), each side in its own instance; heapUsed() delta / N, after the handshake, and after the client has read the server's two TLS 1.3 session tickets (it then holds a session).`)}]`;
  const kib = (b) => b / 1024;
  record(H, 'client connection after handshake', 'KiB', 'lower', { wasm: kib(v.client.handshake) }, { ...naAll, wasm: note }, v);
  record(H, 'client connection after reading tickets', 'KiB', 'lower', { wasm: kib(v.client.tickets) }, naAll);
  record(H, 'server connection after handshake (tickets sent)', 'KiB', 'lower', { wasm: kib(v.server.handshake) }, naAll);
  record(H, 'instance baseline: loaded + client context', 'KiB', 'lower', { wasm: kib(v.baseline.client) }, naAll);
  const GiB = 2 ** 30;
  const maxClients = Math.floor((GiB - v.baseline.client) / v.client.tickets);
  const maxServers = Math.floor((GiB - v.baseline.server) / v.server.handshake);
  const maxMiB = machine.wasmMemory?.maxPages ? machine.wasmMemory.maxPages * 64 / 1024 : null;
  const ext = `[${footnote(`Extrapolated, not tried: (1 GiB − instance baseline) / per-connection heap (after reading tickets for clients). Allocator overhead and fragmentation at that scale are not included. The module declares a memory maximum of ${maxMiB ? `${maxMiB} MiB` : 'none (4 GiB for wasm32)'}, so 1 GiB is reachable.`)}]`;
  record(H, 'client connections one instance holds in 1 GiB (extrapolated)', 'conns', 'higher', { wasm: maxClients }, { ...naAll, wasm: ext });
  record(H, 'server connections one instance holds in 1 GiB (extrapolated)', 'conns', 'higher', { wasm: maxServers }, { ...naAll, wasm: ext });
}

// ------------------------------------------------------------------ 5. download size and cold start

function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length,
  };
}

function esbuild(entry, outfile, extraArgs = []) {
  const bin = require.resolve('esbuild/bin/esbuild');
  execFileSync(bin, [entry, '--bundle', '--format=esm', '--platform=browser', '--minify', ...extraArgs, ...(outfile ? [`--outfile=${outfile}`] : [])],
    { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function sizeBench() {
  const H = 'Download size, what a browser loads (KB, 1 KB = 1000 bytes)';
  progress('sizes');
  const tmp = mkdtempSync(`${os.tmpdir()}/openssl-tls-wasm-bench-`);
  const out = { wasm: {}, native: {}, forge: {}, subtls: {} };
  const notes = {};
  try {
    out.wasm.module = sizes(readFileSync(wasmPath));
    out.wasm.fullModule = sizes(readFileSync(fullWasmPath));
    const r = await attempt('esbuild bundle', () => {
      esbuild(fileURLToPath(distIndex), `${tmp}/index.js`);
      out.wasm.bundle = sizes(readFileSync(`${tmp}/index.js`));
      // The same, split, to see the root certificates (loaded on first default connect) apart.
      esbuild(fileURLToPath(distIndex), null, ['--splitting', `--outdir=${tmp}/split`]);
      const files = readdirSync(`${tmp}/split`);
      const rootsFile = files.find((f) => f.startsWith('root-certificates'));
      const all = files.map((f) => readFileSync(`${tmp}/split/${f}`));
      const roots = rootsFile ? readFileSync(`${tmp}/split/${rootsFile}`) : Buffer.alloc(0);
      out.wasm.roots = sizes(roots);
      out.wasm.bindings = sizes(Buffer.concat(all.filter((_, i) => files[i] !== rootsFile)));
    });
    if (r.error) notes.wasm = r.error;
    for (const [impl, lib] of [['forge', forgeLib], ['subtls', subtlsLib]]) {
      if (lib.missing) { notes[impl] = na(lib.missing); continue; }
      const entry = `${tmp}/entry-${impl}.mjs`;
      writeFileSync(entry, impl === 'forge'
        ? `import forge from ${JSON.stringify(lib.entry)}; export default forge;`
        : `export * from ${JSON.stringify(lib.entry)};`);
      const b = await attempt(`${impl} bundle`, () => {
        esbuild(entry, `${tmp}/${impl}.js`, ['--external:crypto']);
        out[impl].bundle = sizes(readFileSync(`${tmp}/${impl}.js`));
      });
      if (b.error) notes[impl] = b.error;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const kb = (n) => (n === undefined ? undefined : n / 1000);
  const nativeNa = 'n/a (built into Node)';
  const total = (k) => (out.wasm.module && out.wasm.bundle ? out.wasm.module[k] + out.wasm.bundle[k] : undefined);
  const bundleNote = `[${footnote('JS bundle: `esbuild dist/index.js --bundle --format=esm --platform=browser --minify` (one file, so it includes the root certificates, which the package imports on first use); node-forge: the whole package bundled the same way; subtls: its package bundled the same way (it brings no root certificates). --external:crypto for both (their Node-only fallback). Compressed: gzip -9 and brotli quality 11, from node:zlib.')}]`;
  for (const k of ['raw', 'gzip', 'brotli']) {
    record(H, `${FLAVOR === 'full' ? 'openssl-full.wasm' : 'openssl.wasm'} (measured flavor: ${FLAVOR}), ${k}`, 'KB', 'lower', { wasm: kb(out.wasm.module?.[k]) }, { native: nativeNa, forge: 'n/a', subtls: 'n/a' });
  }
  if (FLAVOR !== 'full') {
    for (const k of ['raw', 'gzip', 'brotli']) {
      record(H, `  for comparison: openssl-full.wasm (full flavor), ${k}`, 'KB', 'lower', { wasm: kb(out.wasm.fullModule?.[k]) }, { native: nativeNa, forge: 'n/a', subtls: 'n/a' });
    }
  }
  for (const k of ['raw', 'gzip', 'brotli']) {
    record(H, `JS bundle, ${k}`, 'KB', 'lower',
      { wasm: kb(out.wasm.bundle?.[k]), forge: kb(out.forge.bundle?.[k]), subtls: kb(out.subtls.bundle?.[k]) },
      { native: nativeNa, wasm: k === 'raw' ? bundleNote : notes.wasm, forge: notes.forge, subtls: notes.subtls });
  }
  for (const k of ['raw', 'gzip', 'brotli']) {
    record(H, `  of which root-certificates module, ${k}`, 'KB', 'lower', { wasm: kb(out.wasm.roots?.[k]) }, { native: nativeNa, forge: 'n/a', subtls: 'n/a' });
  }
  for (const k of ['raw', 'gzip', 'brotli']) {
    record(H, `total (wasm + JS bundle), ${k}`, 'KB', 'lower',
      { wasm: kb(total(k)), forge: kb(out.forge.bundle?.[k]), subtls: kb(out.subtls.bundle?.[k]) }, { native: nativeNa });
  }
  return out;
}

function childTiming(script) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(r.stderr.split('\n').slice(0, 3).join(' '));
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function coldStartBench() {
  const H = 'Cold start, each run in a fresh node process (ms)';
  progress('cold start');
  const wasmScript = `
    import { readFileSync } from 'node:fs';
    const bytes = readFileSync(${JSON.stringify(fileURLToPath(wasmPath))});
    const ca = readFileSync(${JSON.stringify(fileURLToPath(new URL('test/fixtures/ca.pem', root)))}, 'utf8');
    const t0 = performance.now();
    const { OpenSSL } = await import(${JSON.stringify(distIndex.href)});
    const t1 = performance.now();
    const mod = await WebAssembly.compile(bytes);
    const t2 = performance.now();
    const o = await OpenSSL.load({ wasm: mod });
    const t3 = performance.now();
    const ctx = o.createSecureContext({ ca });
    const t4 = performance.now();
    console.log(JSON.stringify({ importJs: t1 - t0, compile: t2 - t1, instantiate: t3 - t2, context: t4 - t3, total: t4 - t0 }));`;
  const nativeScript = `
    import { readFileSync } from 'node:fs';
    const ca = readFileSync(${JSON.stringify(fileURLToPath(new URL('test/fixtures/ca.pem', root)))}, 'utf8');
    const t0 = performance.now();
    const tls = await import('node:tls');
    const t1 = performance.now();
    tls.createSecureContext({ ca });
    const t2 = performance.now();
    console.log(JSON.stringify({ importJs: t1 - t0, context: t2 - t1, total: t2 - t0 }));`;
  const w = await attempt('wasm cold start', () => Array.from({ length: S.coldRuns }, () => childTiming(wasmScript)));
  const n = await attempt('native cold start', () => Array.from({ length: S.coldRuns }, () => childTiming(nativeScript)));
  const med = (r, k) => (r.value ? median(r.value.map((x) => x[k])) : undefined);
  const naAll = { forge: 'n/a', subtls: 'n/a' };
  const coldNote = `[${footnote(`Cold start: median of ${S.coldRuns} fresh node processes. wasm: import the JS, WebAssembly.compile() the bytes (already in memory: no download), OpenSSL.load() (instantiate and initialise), then createSecureContext({ ca }). node:tls: import node:tls, then its first tls.createSecureContext({ ca }) (Node's OpenSSL itself is initialised at process start, so this is only rough).`)}]`;
  record(H, 'import the JS module', 'ms', 'lower', { wasm: med(w, 'importJs'), native: med(n, 'importJs') }, { ...naAll, wasm: w.error ?? coldNote, native: n.error });
  record(H, 'WebAssembly.compile', 'ms', 'lower', { wasm: med(w, 'compile') }, { ...naAll, native: 'n/a' });
  record(H, 'instantiate + OpenSSL init', 'ms', 'lower', { wasm: med(w, 'instantiate') }, { ...naAll, native: 'n/a' });
  record(H, 'first secure context', 'ms', 'lower', { wasm: med(w, 'context'), native: med(n, 'context') }, naAll);
  record(H, 'total', 'ms', 'lower', { wasm: med(w, 'total'), native: med(n, 'total') }, naAll);
}

// ------------------------------------------------------------------ the table

function fmt(v, unit) {
  if (v === null || v === undefined) return '';
  if (unit === 'conns') return Math.round(v).toLocaleString('en-US');
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}
const fmtRatio = (r) => (r === null || !Number.isFinite(r) ? '' : `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`);

function cell(row, impl) {
  const v = row.values[impl];
  const note = row.notes[impl];
  const nat = row.values.native;
  if (v === null) return note ?? '';
  let s = fmt(v, row.unit);
  if ((impl === 'forge' || impl === 'subtls') && nat) s += ` (${fmtRatio(v / nat)})`;
  if (note) s += ` ${note}`;
  return s;
}

function table() {
  const cols = ['measurement', 'unit', 'openssl-tls-wasm', 'node:tls', 'ratio', 'node-forge', 'subtls'];
  const lines = [];
  let section = null;
  const rows = [];
  for (const row of results) {
    if (row.section !== section) {
      section = row.section;
      rows.push({ section });
    }
    const r = row.values.wasm !== null && row.values.native ? row.values.wasm / row.values.native : null;
    row.ratio = r;
    rows.push({ cells: [row.name, row.unit, cell(row, 'wasm'), cell(row, 'native'), fmtRatio(r), cell(row, 'forge'), cell(row, 'subtls')] });
  }
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.filter((r) => r.cells).map((r) => r.cells[i].length)));
  const line = (cells) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ').trimEnd();
  lines.push(line(cols));
  lines.push(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) {
    if (r.section) lines.push(`\n## ${r.section}`);
    else lines.push(line(r.cells));
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------ main

progress(`openssl-tls-wasm benchmarks (${machine.mode}) on ${machine.cpu}, ${machine.cores} cores, node ${machine.node}`);
if (['handshake', 'memory', 'bulk', 'crypto', 'ping'].some(want)) {
  progress('warming up the wasm instance');
  const warmed = warmUpWasm(Number(process.env.BENCH_WARMUP_MS ?? (QUICK ? 1500 : 4000)));
  progress(`  ${warmed} in-memory handshakes`);
}
const ports = await startServers();
if (want('handshake')) await handshakeBench(ports);
if (want('memory')) await memoryHandshakeBench();
if (want('bulk')) await bulkBench(ports);
if (want('crypto')) await recordCryptoBench();
if (want('ping')) await pingBench(ports);
if (want('heap')) await heapBench();
if (want('size')) await sizeBench();
if (want('cold')) await coldStartBench();
worker.postMessage({ type: 'close' });

const elapsed = (performance.now() - started) / 1000;
machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
const ticksAtEnd = cpuTicks();
if (ticksAtStart && ticksAtEnd) {
  const total = ticksAtEnd.total - ticksAtStart.total;
  const others = (ticksAtEnd.busy - ticksAtStart.busy) - (ticksAtEnd.own - ticksAtStart.own);
  machine.otherProcessesCpuShare = total > 0 ? Math.max(0, Math.round((others / total) * 1000) / 1000) : null;
}
const head = [
  `openssl-tls-wasm benchmarks, ${machine.mode} run, ${machine.date}`,
  `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; node ${machine.node} (node:tls = OpenSSL ${machine.nodeOpenSSL}); wasm: ${machine.wasmOpenSSL}, ${FLAVOR} flavor`,
  `node-forge ${machine.forge ?? 'not installed'}; subtls ${machine.subtls ?? 'not installed'}; run took ${elapsed.toFixed(0)} s; ` +
    `other processes used ${machine.otherProcessesCpuShare == null ? 'an unknown share' : `${(machine.otherProcessesCpuShare * 100).toFixed(0)}%`} of the machine's CPU meanwhile`,
  ...(machine.otherProcessesCpuShare > 0.1 ? ['WARNING: the machine was busy with other work during the run: absolute figures are inflated and noisier; the implementations were measured taking turns, so ratios suffer less.'] : []),
  'ratio = openssl-tls-wasm / node:tls (for ms, µs, KiB: lower is better; for MB/s, conns: higher is better). node-forge and subtls cells show (their value / node:tls).',
  'Clients run in the main thread; every server runs in one worker thread of the same process (2 threads sharing the machine\'s cores).',
  '',
];
const text = `${head.join('\n')}${table()}\n\n${footnotes.map((f, i) => `[${i + 1}] ${f}`).join('\n')}\n`;
process.stdout.write(text);
writeFileSync(JSON_PATH, `${JSON.stringify({ machine, settings: S, elapsedSeconds: elapsed, results, footnotes }, null, 2)}\n`);
progress(`wrote ${JSON_PATH}`);
process.exit(0);
