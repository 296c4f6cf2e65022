// The package as a user gets it: `npm pack`, installed from the tarball (offline) into a fresh
// project, then used from there by Node (ESM and require()), Deno, Bun, a strict TypeScript
// consumer (node16 and bundler resolution, with and without the DOM lib), a page bundled with
// esbuild and one bundled with Vite (also under `vite dev`), in headless Chromium through the
// relay, and a Worker in workerd (TLS over cloudflare:sockets to a loopback server). Also: the
// tarball holds what users need and nothing else, its source maps carry their sources, and
// packing twice gives the same bytes. Tools (TypeScript, esbuild, Vite, workerd, Chromium's
// driver) come from this repository's devDependencies; the package under test only from the
// tarball.
//   node test/run.js test/package/package.test.js        (make test runs it, as 'package')
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, extname, join, normalize, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { exitAfter, freePort, guard as guardFor, HOST, launchChromium, listen, loggedPage, pem, Scope } from '../helpers.js';

const t = suite('package');
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const TEST_TIMEOUT = 60_000;

const watchdog = exitAfter('package.test.js', 240_000); // a hang anywhere fails the run instead of stalling it

const guard = (promise, label, ms = TEST_TIMEOUT) => guardFor(promise, label, ms);
const scope = new Scope();
const env = {};
const marker = `package-ok-${Math.random().toString(36).slice(2)}`;

/** Runs a command to its end: { code, stdout, stderr }. Killed after `ms`. */
function run(cmd, args, { cwd = env.app, ms = 60_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')}: timed out\n${stderr}`)); }, ms);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(input ?? '');
  });
}

/** Runs a command that must succeed; its stdout. */
async function ok(cmd, args, options) {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${basename(cmd)} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The last line of stdout that parses as JSON. */
function lastJson(stdout) {
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON in the output:\n${stdout}`);
  return JSON.parse(line);
}

/** `npm pack` into `dir`; the tarball's path. */
async function pack(dir) {
  await mkdir(dir, { recursive: true });
  const out = await ok('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: root, ms: 120_000 });
  return join(dir, out.trim().split('\n').pop());
}

/** A .tar.gz's files: { path: bytes }. */
function untar(gz) {
  const tar = gunzipSync(gz);
  const files = {};
  for (let off = 0; off + 512 <= tar.length;) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (a, b) => new TextDecoder().decode(header.subarray(a, b)).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 136).trim() || '0', 8);
    const name = (field(345, 500) ? `${field(345, 500)}/` : '') + field(0, 100);
    if (header[156] === 48 || header[156] === 0) files[name] = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

t.before(async () => {
  await guard((async () => {
    env.tmp = await mkdtemp(join(tmpdir(), 'openssl-tls-wasm-package-'));
    scope.defer(() => rm(env.tmp, { recursive: true, force: true }));

    // Packed twice from the same tree.
    env.tarball = await pack(join(env.tmp, 'pack-a'));
    env.tarballAgain = await pack(join(env.tmp, 'pack-b'));

    // A fresh project, with the package installed from the tarball and nothing from a registry.
    env.app = join(env.tmp, 'app');
    await cp(join(root, 'test/package/app'), env.app, { recursive: true });
    await writeFile(join(env.app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await ok('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', env.tarball], { ms: 120_000 });
    // What a user adds by hand: ws for the relay (an optional peer dependency) and Node's types.
    for (const dep of ['ws', '@types/node', 'undici-types']) {
      await mkdir(join(env.app, 'node_modules', dep, '..'), { recursive: true });
      await symlink(join(root, 'node_modules', dep), join(env.app, 'node_modules', dep), 'dir');
    }
    env.installed = join(env.app, 'node_modules', 'openssl-tls-wasm');
    await writeFile(join(env.app, 'ca.pem'), pem('ca.pem'));

    // The server every consumer GETs from: node:https with the test PKI's RSA chain.
    const https = createHttpsServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${marker} ${req.method} ${req.url}`);
    });
    https.on('tlsClientError', () => {});
    env.port = await listen(scope, https);
    scope.defer(() => https.closeAllConnections());
  })(), 'setup', 180_000);
});

t.after(async () => {
  await guard(scope.close(), 'cleanup', 30_000);
  clearTimeout(watchdog);
});

const test = (name, body, ms) => t(name, () => guard(body(), name, ms));

// ------------------------------------------------------------------ the tarball

test('packing twice from the same tree gives the same bytes', async () => {
  const [a, b] = await Promise.all([readFile(env.tarball), readFile(env.tarballAgain)]);
  assert.ok(a.length > 1_000_000, `${a.length} bytes`);
  assert.ok(a.equals(b), 'the two tarballs differ');
});

test('the tarball holds what users need and nothing else', async () => {
  const files = untar(await readFile(env.tarball));
  const names = Object.keys(files).map((n) => n.replace(/^package\//, ''));
  const stray = names.filter((n) => !/^(package\.json|README\.md|LICENSE|NOTICE|bin\/.+\.js|dist\/.+\.(js|d\.ts|js\.map|wasm|json))$/.test(n));
  assert.equal(stray, [], 'files users do not need');
  assert.equal(names.filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')), []);

  const pkg = JSON.parse(new TextDecoder().decode(files['package/package.json']));
  const targets = (v) => (typeof v === 'string' ? [v] : Object.values(v).flatMap(targets));
  for (const [what, map] of [['exports', pkg.exports], ['imports', pkg.imports], ['bin', pkg.bin]]) {
    for (const target of targets(map)) assert.ok(names.includes(target.replace(/^\.\//, '')), `${what}: ${target} is not in the tarball`);
  }
  assert.equal(pkg.dependencies ?? {}, {}, 'no runtime dependencies');
  assert.equal(pkg.peerDependenciesMeta?.ws, { optional: true }, 'ws is an optional peer (the relay only)');
  assert.is(pkg.engines.node, '^20.19.0 || >=22.12.0', 'require() of the package needs Node 20.19+ or 22.12+');

  const license = new TextDecoder().decode(files['package/LICENSE']);
  assert.match(license, 'Apache License');
  assert.match(license, 'Version 2.0, January 2004');
  const notice = new TextDecoder().decode(files['package/NOTICE']);
  assert.match(notice, 'OpenSSL 3.5.7');
  assert.match(notice, 'The OpenSSL Project Authors');
  assert.match(notice, 'Apache License, Version 2.0');
  assert.match(notice, 'Mozilla');
});

test('every source map in the tarball carries its sources, and every module points at its map', async () => {
  const files = untar(await readFile(env.tarball));
  const js = Object.keys(files).filter((n) => n.endsWith('.js') && n.includes('/dist/'));
  assert.ok(js.length > 20);
  for (const name of js) {
    const code = new TextDecoder().decode(files[name]);
    const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(code)?.[1];
    if (ref === undefined) continue; // generated data modules carry no map
    const mapName = join(name, '..', ref);
    assert.ok(files[mapName], `${name} points at ${ref}, which is not in the tarball`);
    const map = JSON.parse(new TextDecoder().decode(files[mapName]));
    assert.is(map.sources.length, map.sourcesContent?.length, `${mapName}: sourcesContent`);
    for (const [i, content] of map.sourcesContent.entries()) {
      assert.type(content, 'string', `${mapName}: ${map.sources[i]} has no content`);
      assert.ok(content.length > 0);
    }
  }
});

// ------------------------------------------------------------------ runtimes

/** What the consumers print, checked the same for every runtime. */
function checkConsumer(result) {
  assert.match(result.version, /^OpenSSL 3\.5\.7 /);
  assert.is(result.protocol, 'TLSv1.3');
  assert.is(result.body, `${marker} GET /`);
}

test('Node, ES modules: every entry, both flavors, the testing module, a TLS GET and a Duplex', async () => {
  const result = lastJson(await ok(process.execPath, ['consumer.mjs', String(env.port), 'ca.pem']));
  checkConsumer(result);
  assert.equal(result.flavors, ['small', 'full']);
  assert.is(result.sandbox, 'TLSv1.3');
  assert.ok(result.roots > 100);
  assert.is(result.duplexBody, `${marker} GET /`);
});

test('Node, CommonJS: require() of every entry', async () => {
  const r = await run(process.execPath, ['consumer.cjs', String(env.port), 'ca.pem']);
  assert.is(r.code, 0, r.stderr);
  const result = lastJson(r.stdout);
  checkConsumer(result);
  assert.is(result.testing, 'small');
  assert.is(result.duplex, 'function');
});

test('Deno, from the installed node_modules', async () => {
  const result = lastJson(await ok(bin('deno'), ['run', '-A', 'consumer.mjs', String(env.port), 'ca.pem']));
  checkConsumer(result);
  assert.equal(result.flavors, ['small', 'full']);
  assert.is(result.duplexBody, `${marker} GET /`);
});

test('Bun, from the installed node_modules', async () => {
  const result = lastJson(await ok(bin('bun'), ['consumer.mjs', String(env.port), 'ca.pem']));
  checkConsumer(result);
  assert.equal(result.flavors, ['small', 'full']);
  assert.is(result.duplexBody, `${marker} GET /`);
});

test('a strict TypeScript consumer compiles: node16 and bundler resolution, with and without the DOM lib', async () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const failures = [];
  for (const [resolution, module] of [['node16', 'node16'], ['bundler', 'esnext']]) {
    for (const lib of [['es2022', 'esnext.disposable'], ['es2022', 'esnext.disposable', 'dom']]) {
      const config = `tsconfig.${resolution}.${lib.includes('dom') ? 'dom' : 'nodom'}.json`;
      await writeFile(join(env.app, config), JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', module, moduleResolution: resolution,
          lib, types: ['node'], exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
        },
        files: ['consumer.ts'],
      }));
      const r = await run(process.execPath, [tsc, '-p', config]);
      if (r.code !== 0) failures.push(`${config}:\n${r.stdout}${r.stderr}`);
    }
  }
  assert.equal(failures, []);
}, 120_000);

// ------------------------------------------------------------------ browsers

/** Serves `dirs` ({ prefix: directory }) and /config.json on HOST; resolves with the origin. */
async function staticServer(dirs) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };
  const server = createHttpServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    if (pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ relay: env.relay.url, target: `localhost:${env.port}`, ca: pem('ca.pem') }));
    }
    const [, prefix, rest] = /^\/([^/]+)\/(.*)$/.exec(pathname) ?? [];
    const base = dirs[prefix];
    const file = base && normalize(join(base, decodeURIComponent(rest || 'index.html')));
    if (!file || !file.startsWith(base + sep) || !existsSync(file)) {
      res.writeHead(404);
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(await readFile(file));
  });
  return `http://${HOST}:${await listen(scope, server)}`;
}

/** Opens `url` in Chromium and waits for the page's verdict: { state, result, error, log }. */
async function openPage(url) {
  env.browser ??= await launchChromium(scope);
  const { context, page, log } = await loggedPage(env.browser);
  try {
    page.on('requestfailed', (r) => log.push(`requestfailed: ${r.url()}`));
    await page.goto(url);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 30_000 })
      .catch((e) => { throw new Error(`${e.message}\n${log.join('\n')}`); });
    const data = await page.evaluate(() => ({ ...document.body.dataset }));
    return { state: data.state, result: data.result && JSON.parse(data.result), error: data.error, log: log.join('\n') };
  } finally {
    await context.close();
  }
}

/** The relay, from the installed package, allowing only the test server; and the page server. */
async function pages() {
  if (env.origin) return;
  const { createRelay } = await import(pathToFileURL(join(env.installed, 'dist/relay.js')).href);
  env.dirs = {};
  env.origin = await staticServer(env.dirs);
  env.relay = await createRelay({ port: 0, allow: [`localhost:${env.port}`], origins: [env.origin] });
  scope.defer(() => env.relay.close());
}

test('a page bundled with esbuild, openssl.wasm copied beside the bundle (the README\'s recipe), in Chromium through the relay', async () => {
  await pages();
  const esbuild = await import(pathToFileURL(join(root, 'node_modules/esbuild/lib/main.js')).href);
  const out = join(env.app, 'out-esbuild');
  await esbuild.build({
    entryPoints: [join(env.app, 'page/main.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    splitting: true, outdir: out, absWorkingDir: env.app, logLevel: 'silent',
  });
  await copyFile(join(env.app, 'page/index.html'), join(out, 'index.html'));
  // Without the copy: the error says what was fetched and what to do.
  env.dirs['esbuild-nowasm'] = out;
  const missing = await openPage(`${env.origin}/esbuild-nowasm/`);
  assert.is(missing.state, 'error', missing.log);
  assert.match(missing.error, `ERR_WASM_LOAD cannot load openssl.wasm: fetching ${env.origin}/esbuild-nowasm/openssl.wasm: HTTP 404`);
  assert.match(missing.error, 'with esbuild, copy node_modules/openssl-tls-wasm/dist/openssl.wasm beside the bundle');
  // With it.
  const withWasm = join(env.app, 'out-esbuild-wasm');
  await cp(out, withWasm, { recursive: true });
  await copyFile(join(env.app, 'node_modules/openssl-tls-wasm/dist/openssl.wasm'), join(withWasm, 'openssl.wasm'));
  env.dirs.esbuild = withWasm;
  const shown = await openPage(`${env.origin}/esbuild/`);
  assert.is(shown.state, 'done', `${shown.error}\n${shown.log}`);
  assert.equal(shown.result, { protocol: 'TLSv1.3', authorized: true, body: `${marker} GET /` });
}, 90_000);

test('a page bundled with Vite (vite build), which emits openssl.wasm by itself, in Chromium through the relay', async () => {
  await pages();
  const vite = await import(pathToFileURL(join(root, 'node_modules/vite/dist/node/index.js')).href);
  const out = join(env.app, 'out-vite');
  await vite.build({
    root: join(env.app, 'page'), base: './', configFile: false, logLevel: 'silent',
    build: { outDir: out, emptyOutDir: true, target: 'es2022' },
  });
  const emitted = await readdir(join(out, 'assets'));
  assert.ok(emitted.some((f) => /^openssl-[\w-]+\.wasm$/.test(f)), `Vite emitted ${emitted.join(', ')}`);
  assert.ok(!emitted.some((f) => f.includes('testing')), 'no testing module in a production build');
  env.dirs.vite = out;
  const shown = await openPage(`${env.origin}/vite/`);
  assert.is(shown.state, 'done', `${shown.error}\n${shown.log}`);
  assert.equal(shown.result, { protocol: 'TLSv1.3', authorized: true, body: `${marker} GET /` });
}, 120_000);

test('the same page under Vite\'s dev server (vite dev), which serves the module from node_modules as it is', async () => {
  await pages();
  const vite = await import(pathToFileURL(join(root, 'node_modules/vite/dist/node/index.js')).href);
  const dir = join(env.app, 'page-dev');
  await cp(join(env.app, 'page'), dir, { recursive: true });
  const server = await vite.createServer({
    root: dir, configFile: false, logLevel: 'silent', cacheDir: join(env.app, '.vite-dev'),
    server: { host: HOST, port: 0, strictPort: false, hmr: false },
  });
  scope.defer(() => server.close());
  await server.listen();
  const origin = server.resolvedUrls.local[0].replace(/\/$/, '');
  // A relay that allows the dev server's origin, named in the config.json the dev server serves.
  const { createRelay } = await import(pathToFileURL(join(env.installed, 'dist/relay.js')).href);
  env.devRelay = await createRelay({ port: 0, allow: [`localhost:${env.port}`], origins: [origin] });
  scope.defer(() => env.devRelay.close());
  await writeFile(join(dir, 'config.json'), JSON.stringify({ relay: env.devRelay.url, target: `localhost:${env.port}`, ca: pem('ca.pem') }));
  const shown = await openPage(`${origin}/`);
  assert.is(shown.state, 'done', `${shown.error}\n${shown.log}`);
  assert.equal(shown.result, { protocol: 'TLSv1.3', authorized: true, body: `${marker} GET /` });
}, 90_000);

// ------------------------------------------------------------------ workerd

test('a Worker in workerd: TLS over cloudflare:sockets to a loopback server, the module from the workerd condition', async () => {
  const esbuild = await import(pathToFileURL(join(root, 'node_modules/esbuild/lib/main.js')).href);
  const out = join(env.app, 'out-worker');
  await mkdir(out, { recursive: true });
  // What wrangler does: the workerd export condition, and each imported .wasm uploaded as a
  // compiled module (its default rule for *.wasm) under its own name.
  const wasmModules = new Map();
  await esbuild.build({
    entryPoints: [join(env.app, 'worker.js')], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'], outfile: join(out, 'worker.js'), absWorkingDir: env.app,
    external: ['cloudflare:*'], logLevel: 'silent',
    plugins: [{
      name: 'compiled-wasm',
      setup(build) {
        build.onResolve({ filter: /\.wasm$/ }, (args) => {
          const file = join(args.resolveDir, args.path);
          wasmModules.set(basename(file), file);
          return { path: `./${basename(file)}`, external: true };
        });
      },
    }],
  });
  assert.equal([...wasmModules.keys()].sort(), ['openssl-testing.wasm', 'openssl.wasm'], 'only the small flavor\'s modules');
  for (const [name, file] of wasmModules) await copyFile(file, join(out, name));
  await writeFile(join(out, 'ca.pem'), pem('ca.pem'));
  const port = await freePort();
  await writeFile(join(out, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "${HOST}:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
${[...wasmModules.keys()].map((n) => `    (name = "${n}", wasm = embed "${n}"),`).join('\n')}
  ],
  bindings = [(name = "CA", text = embed "ca.pem")],
  compatibilityDate = "2025-06-01",
  globalOutbound = "internet",
);
`);
  const child = spawn(bin('workerd'), ['serve', 'config.capnp'], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  scope.defer(async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    child.kill('SIGKILL');
  });
  // Wait for workerd to listen.
  let res;
  for (let i = 0; i < 100 && !res; i++) {
    res = await fetch(`http://${HOST}:${port}/?port=${env.port}`).catch(() => undefined);
    if (!res) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(res, `workerd did not answer:\n${log}`);
  const body = await res.json();
  assert.is(res.status, 200, `${JSON.stringify(body)}\n${log}`);
  assert.match(body.version, /^OpenSSL 3\.5\.7 /);
  assert.is(body.protocol, 'TLSv1.3');
  assert.is(body.authorized, true);
  assert.is(body.body, `${marker} GET /`);
  const testing = await (await fetch(`http://${HOST}:${port}/testing`)).json();
  assert.is(testing.testing, 'small', JSON.stringify(testing));
  assert.match(testing.full, /^ERR_WASM_LOAD: cannot load openssl-full\.wasm: .*import wasm from 'openssl-tls-wasm\/openssl-full\.wasm'; getOpenSSL\(\{ flavor: 'full', wasm \}\)/);
}, 60_000);

t.run();
