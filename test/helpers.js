// Shared by the test files, written once here: fixtures, the runtime's name, bytes and text,
// timeouts and cleanup scopes, listening on loopback, and reading and recording streams.
// In memory, tests use the package's own harness (Link, from openssl-tls-wasm/testing); over
// sockets, the package's own transports and connect/accept.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, getOpenSSL, OpenSSL } from '../dist/index.js';

const fixturesDir = new URL('./fixtures/', import.meta.url);

/** A fixture file's text. */
export const pem = (name) => readFileSync(new URL(name, fixturesDir), 'utf8');
/** A fixture file's bytes. */
export const bytes = (name) => new Uint8Array(readFileSync(new URL(name, fixturesDir)));

export const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';

/** Where every test server listens (an address, so that nothing tries ::1 first). */
export const HOST = '127.0.0.1';

/** UTF-8 text of bytes. */
export const text = (b) => new TextDecoder().decode(b);
/** UTF-8 bytes of text. */
export const enc = (s) => new TextEncoder().encode(s);

export { getOpenSSL, OpenSSL };

/** Server and client contexts that trust each other, with overrides. */
export function contexts(openssl, { server = {}, client = {} } = {}) {
  const sctx = openssl.createSecureContext({
    isServer: true, cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), ...server,
  });
  const cctx = openssl.createSecureContext({ ca: pem('ca.pem'), ...client });
  return { sctx, cctx };
}

/**
 * The function that keeps native objects (anything with `free()`) for `suite` to free after
 * each test, pass or fail (Node 20 has no `using`); it returns what it is given.
 */
export function freedAfterEach(suite) {
  const live = [];
  suite.after.each(() => { for (const x of live.splice(0)) x.free(); });
  return (x) => (live.push(x), x);
}

/** The chunks, one after another, in one array. */
export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let i = 0;
  for (const c of chunks) { out.set(c, i); i += c.length; }
  return out;
}

/** Reads a ReadableStream of bytes to its end, as text. */
export async function readAll(readable) {
  const chunks = [];
  for await (const c of readable) chunks.push(c);
  return text(concat(chunks));
}

/**
 * A transport whose writable records each chunk written to it (`writes`) before passing it
 * on to `transport`'s.
 */
export function recording(transport) {
  const writes = [];
  const w = transport.writable.getWriter();
  return {
    writes,
    transport: {
      readable: transport.readable,
      writable: new WritableStream({
        write: (chunk) => { writes.push(chunk.slice()); return w.write(chunk); },
        close: () => w.close(),
        abort: (e) => w.abort(e),
      }),
    },
  };
}

/** `promise`, or a rejection naming `label` after `ms`; the timer is always cleared. */
export function guard(promise, label, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Cleanups run in reverse order, each one's failure ignored so the rest still run. */
export class Scope {
  #stack = [];
  defer(fn) { this.#stack.push(fn); }
  async close() {
    for (const fn of this.#stack.splice(0).reverse()) {
      try { await fn(); } catch { /* keep cleaning up */ }
    }
  }
}

/**
 * Test scaffolding for a suite whose tests hold sockets, servers or processes: `guard` with
 * the suite's timeout, and `test(name, body, ms?)` whose body gets a scope (`newScope()`, a
 * Scope by default), runs under the timeout and always cleans up within `cleanup` ms (so a
 * hang fails the test instead of the run).
 */
export function scaffold(suite, timeout, { cleanup = 5000, newScope = () => new Scope() } = {}) {
  const guarded = (promise, label, ms = timeout) => guard(promise, label, ms);
  const test = (name, body, ms = timeout) => suite(name, async () => {
    const scope = newScope();
    try {
      await guarded(body(scope), name, ms);
    } finally {
      await guarded(scope.close(), `${name} (cleanup)`, cleanup);
    }
  });
  return { guard: guarded, test };
}

/**
 * Listens on an ephemeral port of HOST and resolves with the port. `scope` (anything with
 * `defer(fn)`) later destroys the server's open sockets and closes it.
 */
export async function listen(scope, server) {
  const sockets = new Set();
  const track = (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); };
  server.on('connection', track);
  server.on('secureConnection', track);
  scope.defer(() => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => { server.off('error', reject); resolve(); });
  });
  return server.address().port;
}

/** A TCP port of HOST that was free a moment ago (bound with port 0, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The package's client over a fresh TCP connection to HOST:`port`, for localhost and trusting
 * ca.pem unless `options` say otherwise; `scope` closes both.
 */
export async function connectTcp(scope, port, options = {}) {
  const socket = net.connect(port, HOST);
  scope.defer(() => socket.destroy());
  const conn = await connect(socket, { servername: 'localhost', ca: pem('ca.pem'), ...options });
  scope.defer(() => conn.close());
  return conn;
}

/**
 * A TCP listener on HOST whose connections `tlsServer` (from createServer) accepts; each TLS
 * stream is drained until the client closes, unless `onStream` handles it. Resolves with the
 * port; `scope` closes the listener. Handshakes that fail are the test's to observe from the
 * client side.
 */
export async function serveTls(scope, tlsServer, onStream = (s) => s.readable.pipeTo(new WritableStream())) {
  return listen(scope, net.createServer(async (socket) => {
    socket.on('error', () => {});
    try {
      await onStream(await tlsServer.accept(socket));
    } catch {
      // the client hung up, or its handshake failed
    }
  }));
}

/**
 * A Node script run as a child process that speaks JSON lines: it prints one JSON object per
 * line (the first when it is ready, then one answer per command) and reads commands, one per
 * line, on stdin. Node runs it in every runtime (`node` is on PATH wherever the suites run),
 * for servers that only Node can run. Resolves once the first line arrives, with
 * { ready, ask(command), stop() } (`ask` sends one command at a time and resolves with its
 * answer); a child that exits first rejects with its stderr.
 */
export async function startNodeChild(script, args = [], { label = script.pathname?.split('/').pop() ?? String(script), ms = 20_000 } = {}) {
  const node = runtime === 'node' ? process.execPath : 'node';
  const child = spawn(node, [script instanceof URL ? fileURLToPath(script) : script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const queue = [];
  let wake;
  createInterface({ input: child.stdout }).on('line', (l) => { queue.push(JSON.parse(l)); wake?.(); });
  const exited = new Promise((_, reject) => child.on('exit', (code) => reject(new Error(`${label} exited (${code}): ${stderr}`))));
  exited.catch(() => {});
  const next = async () => {
    while (!queue.length) await Promise.race([new Promise((r) => { wake = r; }), exited]);
    return queue.shift();
  };
  // The child stops its own servers when its stdin ends, then exits: wait for that (10 s at
  // most), since a runtime may end its children with itself (Deno does) before they clean up.
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.stdin.end();
    setTimeout(() => { child.kill(); resolve(); }, 10_000);
  });
  // One command at a time: each answer is the next line after its command.
  let commands = Promise.resolve();
  const ask = (command) => {
    const answer = commands.then(() => { child.stdin.write(`${command}\n`); return next(); });
    commands = answer.catch(() => {});
    return answer;
  };
  try {
    const ready = await guard(next(), `starting ${label}`, ms);
    return { ready, ask, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Writes `data` through a TLS stream and reads as many bytes back (from an echoing peer). */
export async function echo(stream, data) {
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const [, got] = await Promise.all([
    writer.write(data).then(() => writer.releaseLock()),
    (async () => {
      const chunks = [];
      let n = 0;
      while (n < data.length) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
        n += value.length;
      }
      reader.releaseLock();
      return concat(chunks);
    })(),
  ]);
  return got;
}

/** Debian's Chromium (scripts/install-deps.sh installs it), or $CHROMIUM. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium through playwright-core, with the flags this machine's closed network
 * needs (no background networking, component updates or sync, which would only be refused).
 * `scope` closes it.
 */
export async function launchChromium(scope) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 30_000,
  });
  scope.defer(() => browser.close());
  return browser;
}

/** A TLS echo server on HOST (node:tls, the RSA chain from the fixtures); resolves with its port. */
export async function nodeTlsEchoServer(scope) {
  const tls = await import('node:tls');
  const server = tls.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.on('tlsClientError', () => {});
  return listen(scope, server);
}

/** `n` bytes of a pattern that differs with `i`, to tell streams' data apart. */
export const payload = (i, n) => new Uint8Array(n).map((_, k) => (k * 31 + i * 7 + (k >> 8)) & 0xff);

/**
 * Ends the process with a failure if the suite is still running after `ms`: a hang anywhere
 * (a browser, a child server) fails the run instead of stalling it. The timer does not keep
 * the process alive; it is returned, to clear when the suite ends.
 */
export function exitAfter(label, ms) {
  const timer = setTimeout(() => {
    console.error(`${label}: timed out after ${ms / 60_000} minutes`);
    process.exit(1);
  }, ms);
  timer.unref?.();
  return timer; // clearTimeout(it) once the suite is done
}

/** A fresh browser context and page whose console lines and page errors are collected in `log`. */
export async function loggedPage(browser) {
  const context = await browser.newContext();
  const log = [];
  const page = await context.newPage();
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  return { context, page, log };
}
