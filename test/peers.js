// Real TLS peers for the interop tests: Debian's `openssl` (s_server, s_client) and
// `gnutls-bin` (gnutls-serv, gnutls-cli), spawned through node:child_process (which Node, Deno
// and Bun all provide) on 127.0.0.1.
//
// - startOpenSSLServer / startGnuTLSServer spawn a server and resolve once it is listening,
//   with its port. s_server binds an ephemeral port itself and prints it (`ACCEPT host:port`);
//   gnutls-serv cannot, so it gets a port found free by binding port 0, and is retried on
//   another port if it loses the race for that one.
// - runPeerClient runs s_client or gnutls-cli with some stdin and resolves with its exit
//   status and output when it exits.
// Every process has a timeout guard, and kill() (SIGTERM, then SIGKILL) always waits for the
// exit, so callers can put it in a `finally`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, HOST } from './helpers.js';

/** The path of a file in test/fixtures, for a peer's command line. */
export const fixture = (name) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A fresh temporary directory and its remover (for session files). */
export function tempDir(prefix = 'openssl-tls-wasm-interop-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A spawned peer: its output so far, its exit, and ways to wait for output and to stop it. */
export class PeerProcess {
  stdout = '';
  stderr = '';
  /** { code, signal } once it has exited. */
  exit = undefined;
  #waiters = new Set();

  constructor(command, args, { label = command } = {}) {
    this.label = label;
    this.command = [command, ...args].join(' ');
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (d) => { this.stdout += d; this.#check(); });
    this.child.stderr.on('data', (d) => { this.stderr += d; this.#check(); });
    // A peer that exits before reading its stdin makes writes fail with EPIPE: not our error.
    this.child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      let spawnError;
      this.child.once('error', (e) => {
        spawnError = e;
        // A command that could not be spawned never emits 'exit' in some runtimes.
        setTimeout(() => finish(null, null), 100);
      });
      const finish = (code, signal) => {
        if (this.exit) return;
        this.exit = { code, signal, error: spawnError };
        // Output can still be in the pipes when 'exit' fires; give it a moment to arrive.
        const done = () => { this.#check(); resolve(this.exit); };
        if (this.child.stdout.readableEnded && this.child.stderr.readableEnded) done();
        else {
          let n = 0;
          const one = () => { if (++n === 2) { clearTimeout(t); done(); } };
          const t = setTimeout(done, 500);
          for (const s of [this.child.stdout, this.child.stderr]) {
            if (s.readableEnded) one(); else s.once('end', one).once('close', one);
          }
        }
      };
      this.child.once('exit', finish);
    });
  }

  /** stdout and stderr together (stdout first). */
  get output() {
    return `${this.stdout}\n${this.stderr}`;
  }

  #check() {
    for (const w of this.#waiters) w();
  }

  /**
   * Resolves with the first match of `pattern` in `stream` ('stdout', 'stderr' or 'output');
   * rejects, with the output so far, if the process exits first or after `ms`.
   */
  waitFor(pattern, { stream = 'output', ms = 5000 } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const waiter = () => {
        const m = pattern.exec(this[stream]);
        if (m) { cleanup(); resolve(m); return; }
        if (this.exit) {
          cleanup();
          reject(new Error(`${this.label} exited (${describeExit(this.exit)}) before printing ${pattern}\n${this.transcript()}`));
        }
      };
      const cleanup = () => { clearTimeout(timer); this.#waiters.delete(waiter); };
      timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.label}: no ${pattern} after ${ms} ms\n${this.transcript()}`));
      }, ms);
      this.#waiters.add(waiter);
      this.exited.then(waiter);
      waiter();
    });
  }

  /** Writes to its stdin. */
  write(data) {
    if (!this.exit && this.child.stdin.writable) this.child.stdin.write(data);
  }

  /** Ends its stdin. */
  end() {
    if (this.child.stdin.writable) this.child.stdin.end();
  }

  /** Stops it (SIGTERM, then SIGKILL after `graceMs`) and resolves when it has exited. */
  async kill(graceMs = 1000) {
    if (this.exit) return this.exit;
    try { this.child.kill('SIGTERM'); } catch {}
    let timer;
    const forced = new Promise((resolve) => {
      timer = setTimeout(() => {
        try { this.child.kill('SIGKILL'); } catch {}
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, forced]);
    clearTimeout(timer);
    return this.exited;
  }

  /** The command line and its output, for error messages. */
  transcript() {
    return `$ ${this.command}\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`;
  }
}

function describeExit({ code, signal, error }) {
  if (error) return `spawn failed: ${error.message}`;
  return signal ? `signal ${signal}` : `code ${code}`;
}

/**
 * `openssl s_server` on an ephemeral port of 127.0.0.1, serving `cert` (the leaf) with its
 * chain `chain`. Resolves with { peer, port } once it accepts. `args` are appended as given.
 */
export async function startOpenSSLServer({ cert, chain, key, args = [], ms = 5000 }) {
  const argv = ['s_server', '-accept', `${HOST}:0`, '-cert', cert, '-key', key];
  if (chain) argv.push('-cert_chain', chain);
  const peer = new PeerProcess('openssl', [...argv, ...args], { label: 'openssl s_server' });
  try {
    const m = await peer.waitFor(/^ACCEPT .*:(\d+)\s*$/m, { stream: 'stdout', ms });
    return { peer, port: Number(m[1]) };
  } catch (e) {
    await peer.kill();
    throw e;
  }
}

/**
 * `gnutls-serv` on a free port (it binds every interface; the tests connect to 127.0.0.1
 * only). `certChain` is the leaf followed by its chain. Resolves with { peer, port } once it
 * listens; a port taken in the meantime by someone else means another try on another port.
 */
export async function startGnuTLSServer({ certChain, key, args = [], ms = 5000, attempts = 5 }) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const peer = new PeerProcess('gnutls-serv', [
      '--port', String(port), '--x509certfile', certChain, '--x509keyfile', key, ...args,
    ], { label: 'gnutls-serv' });
    let failure;
    try {
      // Printed on stderr (unbuffered): "...done" after listen() returns, or why it failed.
      // A failed IPv4 bind does not stop it (it goes on with IPv6 alone), so catch it here.
      const m = await peer.waitFor(/listening on IPv4 \S+ port \d+\.\.\.(.*)\n/, { stream: 'stderr', ms });
      if (m[1] === 'done') return { peer, port };
      failure = new Error(`gnutls-serv could not listen on port ${port}: ${m[1]}\n${peer.transcript()}`);
    } catch (e) {
      failure = e;
    }
    await peer.kill();
    if (attempt < attempts && /bind\(\) failed|address already in use/i.test(peer.stderr)) continue;
    throw failure;
  }
}

/**
 * Runs a peer client to completion. `input` is written to its stdin; `endInput` says when
 * stdin ends: 'now' (right after the input), 'exit' (kept open until the process exits, for
 * clients that hang up at end of input before the reply arrives), or a RegExp (end once the
 * output matches it). Resolves with { code, signal, stdout, stderr, output, transcript };
 * rejects after `ms` (the process is killed either way).
 */
export async function runPeerClient(command, args, { input = '', endInput = 'now', ms = 8000, label = command } = {}) {
  const peer = new PeerProcess(command, args, { label });
  let timer;
  try {
    if (input) peer.write(input);
    if (endInput === 'now') peer.end();
    else if (endInput instanceof RegExp) {
      peer.waitFor(endInput, { ms }).then(() => peer.end(), () => {});
    }
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label} did not exit within ${ms} ms\n${peer.transcript()}`)), ms);
    });
    const { code, signal } = await Promise.race([peer.exited, timeout]);
    return {
      code, signal, stdout: peer.stdout, stderr: peer.stderr, output: peer.output,
      transcript: peer.transcript(),
    };
  } finally {
    clearTimeout(timer);
    await peer.kill();
  }
}
