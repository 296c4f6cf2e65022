// Loading as a user meets it: the shared instance's options are set once and a differing
// second call is refused; seeded entropy is refused for the shared instance; and a module that
// cannot be had fails with a TlsError that says what was tried and what to do.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { getOpenSSL, OpenSSL, TlsError } from '../dist/index.js';
import { loadTestingOpenSSL } from '../dist/testing/index.js';

const t = suite('loading');
const wasmUrl = new URL('../dist/openssl.wasm', import.meta.url);

/** The rejection of `promise`, which must reject. */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

t('getOpenSSL() without options, or with the same ones, gives the shared instance', async () => {
  const a = await getOpenSSL();
  assert.is(await getOpenSSL(), a);
  assert.is(await getOpenSSL({ flavor: 'small' }), a);
  assert.is(await getOpenSSL({ entropy: 'host' }), a);
});

t('a second getOpenSSL() whose options differ from the shared instance\'s is an error, not ignored', async () => {
  await getOpenSSL();
  for (const [options, named] of [[{ now: () => 0 }, 'now'], [{ wasm: wasmUrl }, 'wasm'], [{ wasm: wasmUrl, now: Date.now }, 'wasm, now']]) {
    const e = await rejection(getOpenSSL(options));
    assert.instance(e, TlsError);
    assert.is(e.code, 'ERR_SHARED_INSTANCE_OPTIONS');
    assert.match(e.message, `already asked for with other options (${named})`);
    assert.match(e.message, 'OpenSSL.load(options)');
  }
});

t('the first call\'s options stay the shared instance\'s: the same ones again are fine', async () => {
  // The full flavor's shared instance, first asked for here with a wasm option.
  const fullUrl = new URL('../dist/openssl-full.wasm', import.meta.url);
  const full = await getOpenSSL({ flavor: 'full', wasm: fullUrl.href }).catch((e) => e);
  if (full instanceof TlsError && full.code === 'ERR_SHARED_INSTANCE_OPTIONS') return; // another suite asked first
  assert.is(await getOpenSSL({ flavor: 'full', wasm: new URL(fullUrl.href) }), full, 'the same address as a URL');
  assert.is(await getOpenSSL({ flavor: 'full' }), full);
  const e = await rejection(getOpenSSL({ flavor: 'full', wasm: new Uint8Array(readFileSync(fullUrl)) }));
  assert.is(e.code, 'ERR_SHARED_INSTANCE_OPTIONS');
});

t('the shared instance refuses seeded entropy, with what to do instead', async () => {
  for (const flavor of ['small', 'full']) {
    const e = await rejection(getOpenSSL({ flavor, entropy: { testOnlySeed: 'x' } }));
    assert.instance(e, TlsError);
    assert.is(e.code, 'ERR_INVALID_ARG_VALUE');
    assert.match(e.message, 'OpenSSL.load({ entropy })');
  }
  // Instances made for it take it, and are deterministic.
  const a = await OpenSSL.load({ entropy: { testOnlySeed: 'seed' } });
  const b = await OpenSSL.load({ entropy: { testOnlySeed: 'seed' } });
  assert.is(a.flavor, 'small');
  assert.ok(b !== a);
});

t('a missing file names the URL tried and what to do', async () => {
  const missing = new URL('./no-such-dir/openssl.wasm', import.meta.url);
  const e = await rejection(OpenSSL.load({ wasm: missing }));
  assert.instance(e, TlsError);
  assert.is(e.code, 'ERR_WASM_LOAD');
  assert.match(e.message, `cannot load openssl.wasm: reading ${missing.href}: `);
  assert.match(e.message, 'Check the wasm option');
});

t('an HTTP error names the address fetched', async () => {
  const res = new Response('not here', { status: 404, statusText: 'Not Found' });
  const e = await rejection(OpenSSL.load({ wasm: res }));
  assert.is(e.code, 'ERR_WASM_LOAD');
  assert.match(e.message, /^cannot load openssl\.wasm: the Response for the wasm option: HTTP 404 Not Found\./);
});

t('a runtime that forbids compiling (Cloudflare Workers) is told to pass a WebAssembly.Module', async () => {
  const compile = WebAssembly.compile;
  // What workerd answers to WebAssembly.compile().
  WebAssembly.compile = () => Promise.reject(new WebAssembly.CompileError('WebAssembly.compile(): Wasm code generation disallowed by embedder'));
  try {
    const e = await rejection(OpenSSL.load({ wasm: new Uint8Array(readFileSync(wasmUrl)) }));
    assert.is(e.code, 'ERR_WASM_LOAD');
    assert.match(e.message, 'does not allow compiling WebAssembly at run time');
    assert.match(e.message, "import wasm from 'openssl-tls-wasm/openssl.wasm'");
    assert.match(e.message, 'workerd export condition');
  } finally {
    WebAssembly.compile = compile;
  }
  // And a WebAssembly.Module, or a promise of a module namespace holding one, loads.
  const mod = await compile(readFileSync(wasmUrl));
  assert.is((await OpenSSL.load({ wasm: mod })).flavor, 'small');
  assert.is((await OpenSSL.load({ wasm: Promise.resolve({ default: mod }) })).flavor, 'small');
});

t('the package\'s own files load by themselves, production and testing, both flavors', async () => {
  assert.is((await OpenSSL.load()).flavor, 'small');
  assert.is((await OpenSSL.load({ flavor: 'full' })).flavor, 'full');
  assert.is((await loadTestingOpenSSL()).flavor, 'small');
  assert.is((await loadTestingOpenSSL({ flavor: 'full' })).flavor, 'full');
});

t.run();
