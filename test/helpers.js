// Shared by the test files: fixtures, the runtime's name, and drivers that move ciphertext
// between TlsConnections (in memory) or between a TlsConnection and a socket.
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
 * One direction of an in-memory wire: ciphertext taken from `from` waits here until it is
 * fed to `to`, at most `chunk` bytes per move. `tap` sees every chunk taken.
 */
export class Wire {
  queue = [];
  constructor(from, to, { chunk = Infinity, tap } = {}) {
    Object.assign(this, { from, to, chunk, tap });
  }
  get pending() {
    return this.queue.reduce((n, b) => n + b.length, 0);
  }
  /** Takes the sender's output and feeds the receiver up to `chunk` bytes. Returns bytes fed. */
  move() {
    const out = this.from.takeOutput();
    if (out.length) {
      this.tap?.(out);
      this.queue.push(out);
    }
    let budget = this.chunk;
    let fed = 0;
    while (this.queue.length && budget > 0) {
      const head = this.queue[0];
      const n = this.to.feed(head.subarray(0, Math.min(head.length, budget)));
      fed += n;
      budget -= n;
      if (n === head.length) this.queue.shift();
      else {
        this.queue[0] = head.subarray(n);
        if (n === 0) break; // receiver's buffer is full: it must read first
      }
    }
    return fed;
  }
}

/** Runs both handshakes to completion over an in-memory wire. Returns the number of rounds. */
export function handshake(client, server, { chunk = Infinity, maxRounds = 100000 } = {}) {
  const c2s = new Wire(client, server, { chunk });
  const s2c = new Wire(server, client, { chunk });
  for (let round = 1; round <= maxRounds; round++) {
    const c = client.handshakeDone ? 'done' : client.handshake();
    c2s.move();
    const s = server.handshakeDone ? 'done' : server.handshake();
    s2c.move();
    if (c === 'done' && s === 'done' && !c2s.pending && !s2c.pending) return round;
  }
  throw new Error(`handshake did not finish in ${maxRounds} rounds`);
}

/** Sends `data` from `a` to `b` in memory and returns what `b` reads. */
export function send(a, b, data) {
  const input = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const wire = new Wire(a, b);
  const got = [];
  let off = 0;
  let received = 0;
  for (let guard = 0; received < input.length; guard++) {
    if (guard > 1e6) throw new Error('send made no progress');
    if (off < input.length) {
      const r = a.write(input.subarray(off));
      if (typeof r === 'number') off += r;
    }
    wire.move();
    for (;;) {
      const r = b.read();
      if (typeof r === 'string') break;
      got.push(r);
      received += r.length;
    }
  }
  const out = new Uint8Array(received);
  let i = 0;
  for (const g of got) { out.set(g, i); i += g.length; }
  return out;
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
