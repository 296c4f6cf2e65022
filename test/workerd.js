// Runs a Worker in workerd, Cloudflare's runtime (npm `workerd`), on 127.0.0.1: by default the
// Worker relay (dist/relay-worker.js), for relay-worker.test.js and the browser test, as its
// dist/ modules are (workerd resolves their relative imports); or, with `entry`, a Worker of
// the tests' own, bundled with esbuild as wrangler would (fetch-worker.js, for the fetch
// tests). Either is configured by its environment variables; its network service lets it reach
// loopback addresses (workerd's default allows public ones only), since every test target
// listens on 127.0.0.1.
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { freePort, HOST } from './helpers.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const WORKERD = join(root, 'node_modules', '.bin', 'workerd');
/** The relay Worker's modules: its entry first. */
const RELAY_MODULES = ['relay-worker.js', 'relay-core.js', 'relay-policy.js', 'wisp-wire.js'];

/** A capnp text literal. */
const capnpText = (s) => JSON.stringify(String(s));

/**
 * Bundles `entry` into `dir`/worker.js with esbuild, as wrangler does: the package's own
 * entries resolved through its exports, `cloudflare:` and `node:` modules left to the runtime,
 * and each imported `.wasm` file made a module of its own, which workerd hands to the importer
 * as a compiled `WebAssembly.Module` (Workers compile no wasm at run time). Returns the
 * modules, the entry first.
 */
async function bundle(entry, dir) {
  const { build } = await import('esbuild');
  const wasm = new Map();
  await build({
    entryPoints: [entry], outfile: join(dir, 'worker.js'), bundle: true, format: 'esm', platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'], target: 'es2022', logLevel: 'error',
    external: ['cloudflare:*', 'node:*'],
    plugins: [{
      name: 'wasm-modules',
      setup(b) {
        b.onResolve({ filter: /\.wasm$/ }, async (args) => {
          if (args.pluginData?.wasm) return undefined;
          const r = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: { wasm: true } });
          if (r.errors.length) return { errors: r.errors };
          wasm.set(basename(r.path), r.path);
          return { path: `./${basename(r.path)}`, external: true };
        });
      },
    }],
  });
  for (const [name, file] of wasm) await copyFile(file, join(dir, name));
  return [{ name: 'worker.js', type: 'esModule' }, ...[...wasm.keys()].map((name) => ({ name, type: 'wasm' }))];
}

/**
 * Starts workerd with a Worker and these environment variables; resolves once it accepts
 * connections with `{ port, url, ports, log(), close() }`.
 *
 * - `entry`: a Worker source file to bundle (see {@link bundle}); default the relay Worker.
 * - `variants`: the same Worker several times, each with its compatibility flags and its own
 *   port (`ports[name]`); `port` and `url` are the first one's. Default one, with none.
 */
export async function startWorkerd(vars = {}, { entry, variants = { main: [] } } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'openssl-tls-wasm-workerd-'));
  let modules;
  if (entry) {
    modules = await bundle(entry, dir);
  } else {
    for (const m of RELAY_MODULES) await copyFile(join(root, 'dist', m), join(dir, m));
    modules = RELAY_MODULES.map((name) => ({ name, type: 'esModule' }));
  }
  const names = Object.keys(variants);
  const ports = {};
  for (const name of names) ports[name] = await freePort();
  const bindings = Object.entries(vars).map(([k, v]) => `(name = ${capnpText(k)}, text = ${capnpText(v)})`).join(',\n      ');
  const moduleList = modules.map((m) => `(name = ${capnpText(m.name)}, ${m.type} = embed ${capnpText(m.name)})`).join(', ');
  await writeFile(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${names.map((n) => `(name = ${capnpText(n)}, worker = .${n})`).join(',\n    ')},
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ ${names.map((n) => `(name = ${capnpText(`http-${n}`)}, address = ${capnpText(`${HOST}:${ports[n]}`)}, http = (), service = ${capnpText(n)})`).join(', ')} ],
);
${names.map((n) => `const ${n} :Workerd.Worker = (
  modules = [ ${moduleList} ],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = [ ${variants[n].map(capnpText).join(', ')} ],
  bindings = [
      ${bindings}
  ],
);`).join('\n')}
`);
  const child = spawn(WORKERD, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    // workerd drains open connections on SIGTERM; then SIGKILL, by pid: Deno's child.kill()
    // sends nothing to a child it has already signalled.
    if (done === 'timeout') {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await rm(dir, { recursive: true, force: true });
  };
  // Ready when every port takes connections.
  const deadline = Date.now() + 20_000;
  for (const name of names) {
    for (;;) {
      if (child.exitCode !== null) {
        await close();
        throw new Error(`workerd exited (${child.exitCode}):\n${output}`);
      }
      const up = await new Promise((resolve) => {
        const s = net.connect(ports[name], HOST);
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
  }
  const port = ports[names[0]];
  return { port, ports, url: `ws://${HOST}:${port}/`, log: () => output, close };
}
