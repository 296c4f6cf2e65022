// Shared by the test files: fixtures, the runtime's name, and a driver that moves ciphertext
// between a TlsConnection and a socket. In memory, tests use the package's own harness, the
// Link from openssl-wasm/testing.
import { readFileSync } from 'node:fs';
import { getOpenSSL, OpenSSL } from '../dist/index.js';

const fixturesDir = new URL('./fixtures/', import.meta.url);

/** A fixture file's text. */
export const pem = (name) => readFileSync(new URL(name, fixturesDir), 'utf8');
/** A fixture file's bytes. */
export const bytes = (name) => new Uint8Array(readFileSync(new URL(name, fixturesDir)));

export const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';

export const text = (b) => new TextDecoder().decode(b);

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
 * Drives a TlsConnection over a node:net socket: the minimal transport the tests need before
 * the package's own transports exist.
 */
export class SocketDriver {
  #inbox = [];
  #ended = false;
  #wake = null;
  constructor(conn, socket) {
    this.conn = conn;
    this.socket = socket;
    socket.on('data', (d) => { this.#inbox.push(new Uint8Array(d)); this.#notify(); });
    socket.on('end', () => { this.#ended = true; this.#notify(); });
    socket.on('error', () => { this.#ended = true; this.#notify(); });
  }
  #notify() {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
  flush() {
    const out = this.conn.takeOutput();
    if (out.length) this.socket.write(out);
  }
  /** Feeds what has arrived; waits for more if nothing has. False at end of stream. */
  async #pull() {
    while (!this.#inbox.length && !this.#ended) await new Promise((r) => { this.#wake = r; });
    if (!this.#inbox.length) {
      if (this.#ended && !this.eofFed) { this.conn.feedEnd(); this.eofFed = true; return true; }
      return false;
    }
    const head = this.#inbox[0];
    const n = this.conn.feed(head);
    if (n === head.length) this.#inbox.shift();
    else this.#inbox[0] = head.subarray(n);
    return true;
  }
  async handshake() {
    for (;;) {
      const r = this.conn.handshake();
      this.flush();
      if (r === 'done') return;
      if (r === 'want-read' && !(await this.#pull())) throw new Error('transport ended during the handshake');
    }
  }
  async write(data) {
    let b = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    while (b.length) {
      const r = this.conn.write(b);
      this.flush();
      if (typeof r === 'number') b = b.subarray(r);
      else if (r === 'want-read' && !(await this.#pull())) throw new Error('transport ended');
    }
  }
  /** Plaintext until the peer closes (close_notify) or `until(bytesSoFar)` is true. */
  async read(until = () => false) {
    const chunks = [];
    for (;;) {
      const r = this.conn.read();
      this.flush();
      if (r === 'closed') break;
      if (r === 'want-read') {
        if (until(concat(chunks))) break;
        if (!(await this.#pull())) break;
        continue;
      }
      if (r instanceof Uint8Array) chunks.push(r);
    }
    return concat(chunks);
  }
  close() {
    this.conn.shutdown();
    this.flush();
    this.socket.end();
  }
}

export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let i = 0;
  for (const c of chunks) { out.set(c, i); i += c.length; }
  return out;
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
 * the suite's timeout, and `test(name, body)` whose body gets a Scope, runs under the timeout
 * and always cleans up (so a hang fails the test instead of the run).
 */
export function scaffold(suite, timeout) {
  const guarded = (promise, label, ms = timeout) => guard(promise, label, ms);
  const test = (name, body) => suite(name, async () => {
    const scope = new Scope();
    try {
      await guarded(body(scope), name);
    } finally {
      await guarded(scope.close(), `${name} (cleanup)`, 5000);
    }
  });
  return { guard: guarded, test };
}
