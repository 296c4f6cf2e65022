// The module and the bindings agree: every shim export is typed, every import is answered,
// and the loader takes every kind of source it promises, failing clearly on bad ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { OpenSSL, TlsError } from '../dist/index.js';
import { hasWasmSimd } from '../dist/loader.js';
import { SHIM_FUNCTIONS } from '../dist/abi.js';
import { pem, runtime } from './helpers.js';
import { Link } from '../dist/testing/index.js';

const t = suite('abi');
const wasmUrl = new URL('../dist/openssl.wasm', import.meta.url);
const wasmBytes = readFileSync(wasmUrl);
const manifest = JSON.parse(readFileSync(new URL('../dist/manifest.json', import.meta.url), 'utf8'));

t('every ow_ export of the module is in the bindings, and the other way round', () => {
  const mod = new WebAssembly.Module(wasmBytes);
  const exported = WebAssembly.Module.exports(mod).map((e) => e.name).filter((n) => n.startsWith('ow_')).sort();
  assert.equal(exported, [...SHIM_FUNCTIONS].sort());
});

t('the module imports only what the loader answers: WASI basics, no file system or sockets', () => {
  const mod = new WebAssembly.Module(wasmBytes);
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`).sort();
  assert.equal(imports, [
    'env.__syscall_getdents64', 'env.__syscall_getegid32', 'env.__syscall_geteuid32',
    'env.__syscall_getgid32', 'env.__syscall_getuid32', 'env.__syscall_stat64',
    'env.emscripten_notify_memory_growth',
    'wasi_snapshot_preview1.clock_time_get', 'wasi_snapshot_preview1.environ_get',
    'wasi_snapshot_preview1.environ_sizes_get', 'wasi_snapshot_preview1.fd_close',
    'wasi_snapshot_preview1.proc_exit', 'wasi_snapshot_preview1.random_get',
  ]);
});

t('the manifest describes the module beside it', async () => {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', wasmBytes));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  assert.is(manifest.sha256, hex);
  assert.is(manifest.bytes, wasmBytes.length);
  assert.is(manifest.openssl, '3.5.7');
  for (const opt of ['no-sock', 'no-threads', 'no-asm', '--with-rand-seed=none']) assert.ok(manifest.configure.includes(opt), opt);
});

t('loads from bytes, a compiled Module, a URL and a Response', async () => {
  const sources = [
    wasmBytes,
    new Uint8Array(wasmBytes).buffer,
    await WebAssembly.compile(wasmBytes),
    wasmUrl,
    wasmUrl.href,
    new Response(wasmBytes, { headers: { 'content-type': 'application/wasm' } }),
    Promise.resolve(new Response(wasmBytes, { headers: { 'content-type': 'application/octet-stream' } })),
  ];
  for (const wasm of sources) {
    const o = await OpenSSL.load({ wasm });
    assert.match(o.version, /^OpenSSL 3\.5\.7/);
  }
});

t('instances are independent', async () => {
  const a = await OpenSSL.load();
  const b = await OpenSSL.load();
  const ctx = a.createSecureContext({ rejectUnauthorized: false });
  assert.ok(a.heapUsed() > b.heapUsed());
  ctx.free();
});

t('bad module bytes, a missing file and an HTTP error are clear errors', async () => {
  const cases = [
    [{ wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]) }, /cannot load openssl\.wasm: compiling/],
    [{ wasm: new URL('./no-such.wasm', import.meta.url) }, /cannot load openssl\.wasm/],
    [{ wasm: new Response('not found', { status: 404 }) }, /HTTP 404/],
  ];
  for (const [options, message] of cases) {
    try {
      await OpenSSL.load(options);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, TlsError);
      assert.is(e.code, 'ERR_WASM_LOAD');
      assert.match(e.message, message);
    }
  }
});

t('a runtime without WebAssembly SIMD is told so when the module does not compile', async () => {
  assert.ok(hasWasmSimd(), 'this runtime has SIMD');
  const validate = WebAssembly.validate;
  WebAssembly.validate = () => false; // as a runtime without SIMD would answer the probe
  try {
    const e = await OpenSSL.load({ wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]) }).then(() => null, (x) => x);
    assert.instance(e, TlsError);
    assert.match(e.message, /^cannot load openssl\.wasm: compiling: this runtime has no WebAssembly SIMD, which openssl\.wasm needs/);
  } finally {
    WebAssembly.validate = validate;
  }
});

t('a module that is not this build is refused by name', async () => {
  // The smallest valid module: no exports at all.
  const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  try {
    await OpenSSL.load({ wasm: empty });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TlsError);
    assert.match(e.message, /does not match these bindings: missing ow_malloc/);
  }
});

t('OpenSSL takes its time from the host clock', async () => {
  // A clock set in 2020 makes the 2020-2021 test certificate valid for this instance only.
  const o = await OpenSSL.load({ now: () => Date.UTC(2020, 5, 1) });
  const s = o.createSecureContext({ isServer: true, cert: pem('expired-chain.pem'), key: pem('expired.key') });
  const c = o.createSecureContext({ ca: pem('ca.pem') });
  const client = c.createConnection({ servername: 'localhost' });
  const server = s.createConnection();
  new Link(client, server).handshake();
  assert.ok(client.authorized);
  for (const x of [client, server, s, c]) x.free();
});

t(`runs in ${runtime}: the runtime test/all.mjs asked for, at a version the package supports`, () => {
  // test/all.mjs names the runtime of each run; a binary that is not the runtime it claims to
  // be (a shim that runs node, say) would otherwise pass every suite as another runtime.
  const asked = process.env.OPENSSL_WASM_TEST_RUNTIME;
  if (asked !== undefined) assert.is(runtime, asked, `test/all.mjs started ${asked}, but this is ${runtime}`);
  const version = { node: process.versions.node, deno: globalThis.Deno?.version?.deno, bun: globalThis.Bun?.version }[runtime];
  const oldest = { node: 20, deno: 2, bun: 1 }[runtime]; // package.json engines, and the README's runtimes
  assert.ok(Number(version?.split('.')[0]) >= oldest, `${runtime} ${version}: the package needs ${runtime} ${oldest} or later`);
});

t.run();
