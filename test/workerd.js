// Runs the Worker relay (dist/relay-worker.js) in workerd, Cloudflare's runtime (npm `workerd`),
// on 127.0.0.1, for relay-worker.test.js and the browser test. The Worker is its dist/ modules
// as they are (workerd resolves their relative imports), configured by its environment
// variables (RELAY_ALLOW, ...); its network service lets it reach loopback addresses (workerd's
// default allows public ones only), since every test target listens on 127.0.0.1.
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, HOST } from './helpers.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const WORKERD = join(root, 'node_modules', '.bin', 'workerd');
/** The Worker's modules: its entry first. */
const MODULES = ['relay-worker.js', 'relay-core.js', 'relay-policy.js', 'wisp-wire.js'];

/** A capnp text literal. */
const capnpText = (s) => JSON.stringify(String(s));

/**
 * Starts workerd with the Worker relay and these environment variables; resolves once it
 * accepts connections with `{ port, url, log(), close() }`.
 */
export async function startWorkerd(vars) {
  const dir = await mkdtemp(join(tmpdir(), 'openssl-tls-wasm-workerd-'));
  for (const m of MODULES) await copyFile(join(root, 'dist', m), join(dir, m));
  const port = await freePort();
  const bindings = Object.entries(vars).map(([k, v]) => `(name = ${capnpText(k)}, text = ${capnpText(v)})`).join(',\n      ');
  await writeFile(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "relay", worker = .relay),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = ${capnpText(`${HOST}:${port}`)}, http = (), service = "relay") ],
);
const relay :Workerd.Worker = (
  modules = [ ${MODULES.map((m) => `(name = ${capnpText(m)}, esModule = embed ${capnpText(m)})`).join(', ')} ],
  compatibilityDate = "2025-01-01",
  bindings = [
      ${bindings}
  ],
);
`);
  const child = spawn(WORKERD, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    if (done === 'timeout') child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  // Ready when the port takes connections.
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`workerd exited (${child.exitCode}):\n${output}`);
    }
    const up = await new Promise((resolve) => {
      const s = net.connect(port, HOST);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`workerd did not listen within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, url: `ws://${HOST}:${port}/`, log: () => output, close };
}
