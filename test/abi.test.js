// The module and the bindings agree: every shim export is typed, every import is answered,
// and the loader takes every kind of source it promises, failing clearly on bad ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { OpenSSL, TlsError } from '../dist/index.js';
import { hasWasmSimd } from '../dist/loader.js';
import { PRODUCTION_SIGNATURES, TESTING_SIGNATURES } from '../dist/abi.js';
import { HTTP_SIGNATURES } from '../dist/http-abi.js';
import { pem, runtime } from './helpers.js';
import { Link } from '../dist/testing/index.js';

const t = suite('abi');
const wasmUrl = new URL('../dist/openssl.wasm', import.meta.url);
const wasmBytes = readFileSync(wasmUrl);
const manifest = JSON.parse(readFileSync(new URL('../dist/manifest.json', import.meta.url), 'utf8'));

/**
 * Each exported function's signature as the module itself declares it, read from the binary's
 * type, import, function and export sections: { name: 'params:result' }, i for i32, j for i64,
 * f for f64, g for f32 (the generator writes the same alphabet from wasm/abi.h).
 */
function exportSignatures(bytes) {
  let pos = 8;
  const u8 = () => bytes[pos++];
  const leb = () => {
    let v = 0, shift = 0, b;
    do { b = u8(); v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return v;
  };
  const name = () => { const n = leb(); const s = new TextDecoder().decode(bytes.subarray(pos, pos + n)); pos += n; return s; };
  const kind = (b) => ({ 0x7f: 'i', 0x7e: 'j', 0x7d: 'g', 0x7c: 'f', 0x7b: 'v' })[b] ?? '?';
  const types = [];
  const funcTypes = []; // type index of every function, imported ones first
  const exports = [];
  while (pos < bytes.length) {
    const id = u8();
    const size = leb();
    const end = pos + size;
    if (id === 1) {
      for (let n = leb(); n > 0; n--) {
        u8(); // 0x60, a function type
        const params = Array.from({ length: leb() }, () => kind(u8())).join('');
        const results = Array.from({ length: leb() }, () => kind(u8())).join('');
        types.push(`${params}:${results}`);
      }
    } else if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        name(); name();
        const k = u8();
        if (k === 0) funcTypes.push(leb());
        else if (k === 1) { u8(); const f = u8(); leb(); if (f & 1) leb(); }
        else if (k === 2) { const f = u8(); leb(); if (f & 1) leb(); }
        else { u8(); u8(); }
      }
    } else if (id === 3) {
      for (let n = leb(); n > 0; n--) funcTypes.push(leb());
    } else if (id === 7) {
      for (let n = leb(); n > 0; n--) {
        const nm = name();
        const k = u8();
        const index = leb();
        if (k === 0) exports.push([nm, index]);
      }
    }
    pos = end;
  }
  return Object.fromEntries(exports.filter(([n]) => n.startsWith('ow_')).map(([n, i]) => [n, types[funcTypes[i]]]));
}

for (const [file, expected] of [
  ['openssl.wasm', PRODUCTION_SIGNATURES],
  ['openssl-full.wasm', PRODUCTION_SIGNATURES],
  ['openssl-testing.wasm', { ...PRODUCTION_SIGNATURES, ...TESTING_SIGNATURES }],
  ['openssl-testing-full.wasm', { ...PRODUCTION_SIGNATURES, ...TESTING_SIGNATURES }],
  ['openssl-http.wasm', HTTP_SIGNATURES], // declared in wasm/http/abi.h
]) {
  t(`${file} exports exactly the functions its header declares for it, with their signatures`, () => {
    const actual = exportSignatures(readFileSync(new URL(`../dist/${file}`, import.meta.url)));
    assert.equal(Object.keys(actual).sort(), Object.keys(expected).sort());
    for (const [fn, sig] of Object.entries(expected)) assert.is(actual[fn], sig, fn);
  });
}

t('the HTTP module is apart: openssl.wasm has no HTTP export, openssl-http.wasm no OpenSSL', () => {
  const names = (file) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(new URL(`../dist/${file}`, import.meta.url)))).map((e) => e.name);
  assert.equal(names('openssl.wasm').filter((n) => /^ow_h[12]_/.test(n)), []);
  assert.equal(names('openssl-http.wasm').filter((n) => /^ow_(ctx|conn|store)_/.test(n)), []);
});

t('the production modules carry no test PKI', () => {
  for (const file of ['openssl.wasm', 'openssl-full.wasm']) {
    const mod = new WebAssembly.Module(readFileSync(new URL(`../dist/${file}`, import.meta.url)));
    const pki = WebAssembly.Module.exports(mod).map((e) => e.name).filter((n) => /^ow_(key|cert)_/.test(n));
    assert.equal(pki, [], file);
  }
});

t('the signature reader sees a prototype change: one parameter more is a different signature', () => {
  // A module exporting ow_conn_feed(i32, i32, i32, i32) -> i32, one parameter more than the header's.
  const mod = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0,
    1, 9, 1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f, // type: (i32 x4) -> i32
    3, 2, 1, 0, // one function of type 0
    7, 16, 1, 12, ...new TextEncoder().encode('ow_conn_feed'), 0, 0, // export it
    10, 6, 1, 4, 0, 65, 0, 11]); // body: i32.const 0
  const actual = exportSignatures(mod);
  assert.is(actual.ow_conn_feed, 'iiii:i');
  assert.is.not(actual.ow_conn_feed, PRODUCTION_SIGNATURES.ow_conn_feed);
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
    assert.match(e.message, /^cannot load openssl\.wasm: compiling the bytes given: .*This runtime has no WebAssembly SIMD, which openssl\.wasm needs/);
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
  const client = c.createEngine({ servername: 'localhost' });
  const server = s.createEngine();
  new Link(client, server).handshake();
  assert.ok(client.negotiated().authorized);
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
