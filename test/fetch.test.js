// fetch() over OpenSSL (openssl-tls-wasm/fetch) against real servers, started by
// test/fetch-servers.mjs in Node as a child process in every runtime: Debian's nginx (TLS 1.3,
// HTTP/2 and HTTP/1.1, gzip, trailers), node's http2 server, a server that drops pooled
// connections, hand-written responses over node:tls, plain HTTP, and a Wisp server. Each
// nginx case runs twice: over HTTP/2 (ALPN's choice) and over HTTP/1.1 (ALPN limited to it).
// The same package also runs in a Worker in workerd (test/fetch-worker.js, bundled as wrangler
// would, over cloudflare:sockets), driven from here by JSON jobs.
// Everything listens on 127.0.0.1; every test runs under a timer and closes its clients.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket as WsWebSocket } from 'ws';
import { WispClient } from '../dist/index.js';
import { FetchClient, fetch as sharedFetch, trailers } from '../dist/fetch/index.js';
import { concat, freePort, pem, scaffold, startNodeChild } from './helpers.js';

const t = suite('fetch');
const { test } = scaffold(t, 30_000);
const CA = pem('ca.pem');

const servers = {};
let children;

t.before(async () => {
  children = await startNodeChild(new URL('./fetch-servers.mjs', import.meta.url), [], { label: 'the test servers', ms: 60_000 });
  Object.assign(servers, children.ready);
  // workerd, for the tests at the end, starts (bundling the Worker first) while the others run.
  servers.workerd = command('workerd');
  servers.workerd.catch(() => {});
});

t.after(() => children?.stop());

const command = (line) => children.ask(line);

/** A client trusting the test CA, closed by the scope. */
function client(scope, options = {}) {
  const c = new FetchClient({ ca: CA, ...options });
  scope.defer(() => c.close());
  return c;
}

const nginx = (path) => `https://localhost:${servers.nginx}${path}`;
const node = (path) => `https://localhost:${servers.node}${path}`;
const sha256 = async (bytes) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The TypeError fetch rejects with, and its cause. */
async function fails(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** A stream of `total` bytes of 'y' in 64 KiB chunks, counting what was pulled from it. */
function counting(total) {
  const counter = { pulled: 0 };
  const chunk = new Uint8Array(64 * 1024).fill(121);
  counter.stream = new ReadableStream({
    pull(c) {
      if (counter.pulled >= total) return c.close();
      const n = Math.min(chunk.length, total - counter.pulled);
      counter.pulled += n;
      c.enqueue(chunk.slice(0, n));
    },
  }, { highWaterMark: 0 });
  return counter;
}

const PROTOCOLS = [['h2', ['h2', 'http/1.1']], ['http/1.1', ['http/1.1']]];
/** A test run once per protocol, with a client that negotiates it. */
function both(name, body, ms) {
  for (const [protocol, alpn] of PROTOCOLS) {
    test(`${name} (${protocol})`, (scope) => body(client(scope, { ALPNProtocols: alpn }), protocol, scope), ms);
  }
}
const protocols = (c) => Object.values(c.connections).flat().map((x) => x.protocol);

// ------------------------------------------------------------ nginx

both('nginx: a GET, keep-alive and multiplexing', async (c, protocol) => {
  const res = await c.fetch(nginx('/hello.txt'));
  assert.is(res.status, 200);
  assert.is(res.headers.get('server')?.startsWith('nginx'), true);
  assert.is(await res.text(), 'hello from nginx\n');
  assert.equal(protocols(c), [protocol]);
  for (let i = 0; i < 3; i++) assert.is(await (await c.fetch(nginx('/hello.txt'))).text(), 'hello from nginx\n');
  assert.is(protocols(c).length, 1, 'sequential requests reuse one connection');
  const texts = await Promise.all(Array.from({ length: 10 }, () => c.fetch(nginx('/hello.txt')).then((r) => r.text())));
  assert.ok(texts.every((x) => x === 'hello from nginx\n'));
  // Responses whose bodies (32 MiB each) are not read yet keep their connections busy, whatever
  // the runtime's speed: six at once take the pool's six HTTP/1.1 connections, or one HTTP/2.
  const busy = await Promise.all(Array.from({ length: 6 }, () => c.fetch(nginx('/data.bin'))));
  const n = protocols(c).length;
  await Promise.all(busy.map((r) => r.body.cancel()));
  if (protocol === 'h2') assert.is(n, 1, 'HTTP/2 multiplexes every request on one connection');
  else assert.is(n, 6, 'HTTP/1.1 opens parallel connections up to the limit of 6');
});

both('nginx: gzip on, a chunked body decoded', async (c) => {
  const res = await c.fetch(nginx('/big.txt'));
  assert.is(res.headers.get('content-encoding'), 'gzip');
  assert.is(res.headers.get('content-length'), null);
  assert.is(await res.text(), servers.text.repeat(200));
});

both('nginx: chunked with trailers', async (c) => {
  const res = await c.fetch(nginx('/trailers/t.txt'));
  assert.is(await res.text(), servers.text);
  const tr = await trailers(res);
  assert.is(tr.get('x-checksum'), 'abc123');
  assert.is(tr.get('x-second'), 'two');
});

both('nginx: HEAD, 204 and 304 have no body, and the connection goes on', async (c) => {
  const head = await c.fetch(nginx('/hello.txt'), { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.body, null);
  assert.is(head.headers.get('content-length'), '17');
  assert.equal([...(await trailers(head))], [], 'a response without a body has its (empty) trailers at once');
  const nc = await c.fetch(nginx('/204'));
  assert.is(nc.status, 204);
  assert.is(nc.body, null);
  assert.equal([...(await trailers(nc))], []);
  const etag = (await c.fetch(nginx('/hello.txt'), { method: 'HEAD' })).headers.get('etag');
  const nm = await c.fetch(nginx('/hello.txt'), { headers: { 'if-none-match': etag } });
  assert.is(nm.status, 304);
  assert.is(nm.body, null);
  assert.is(await (await c.fetch(nginx('/hello.txt'))).text(), 'hello from nginx\n');
  assert.is(protocols(c).length, 1);
});

both('nginx: a 32 MiB download, streamed', async (c) => {
  const res = await c.fetch(nginx('/data.bin'));
  assert.is(res.headers.get('content-length'), String(32 << 20));
  let chunks = 0;
  const parts = [];
  for await (const part of res.body) { parts.push(part); chunks++; }
  const all = concat(parts);
  assert.is(all.length, 32 << 20);
  assert.ok(chunks > 100, `the body arrives in pieces (${chunks})`);
  assert.is(await sha256(all), servers.dataSha);
}, 60_000);

both('nginx: redirects followed, manual, error, and a loop', async (c) => {
  const res = await c.fetch(nginx('/redirect'));
  assert.is(res.status, 200);
  assert.is(res.redirected, true);
  assert.is(res.url, nginx('/hello.txt'));
  assert.is(await res.text(), 'hello from nginx\n');
  const manual = await c.fetch(nginx('/redirect'), { redirect: 'manual' });
  assert.is(manual.status, 302);
  assert.is(manual.headers.get('location'), nginx('/hello.txt'));
  await manual.body?.cancel();
  const error = await fails(c.fetch(nginx('/redirect'), { redirect: 'error' }));
  assert.instance(error, TypeError);
  assert.is(error.cause.code, 'ERR_REDIRECT');
  const loop = await fails(c.fetch(nginx('/redirect-loop')));
  assert.instance(loop, TypeError);
  assert.is(loop.cause.code, 'ERR_TOO_MANY_REDIRECTS');
});

// ------------------------------------------------------------ node's http2 server

both('1xx responses are skipped (103 Early Hints)', async (c) => {
  const res = await c.fetch(node('/early-hints'));
  assert.is(res.status, 200);
  assert.is(await res.text(), 'after hints');
});

both('content codings: gzip, deflate (zlib and raw), br, and two in a row', async (c) => {
  for (const coding of ['gzip', 'deflate', 'deflate-raw', 'br', 'gzip, br']) {
    const res = await c.fetch(node(`/encoded?coding=${encodeURIComponent(coding)}`));
    assert.is(await res.text(), servers.text, coding);
  }
  const echo = await (await c.fetch(node('/echo'))).json();
  assert.is(echo.headers['accept-encoding'], 'gzip, deflate, br');
});

both('request bodies: string, bytes, form, and a stream', async (c, protocol) => {
  const s = await (await c.fetch(node('/echo'), { method: 'POST', body: 'hello' })).json();
  assert.is(s.bytes, 5);
  assert.is(s.headers['content-length'], '5');
  assert.is(s.headers['content-type'], 'text/plain;charset=UTF-8');
  const bytes = new Uint8Array(100_000).map((_, i) => i);
  const b = await (await c.fetch(node('/echo'), { method: 'PUT', body: bytes })).json();
  assert.is(b.method, 'PUT');
  assert.is(b.sha256, await sha256(bytes));
  const f = await (await c.fetch(node('/echo'), { method: 'POST', body: new URLSearchParams({ a: '1' }) })).json();
  assert.is(f.headers['content-type'], 'application/x-www-form-urlencoded;charset=UTF-8');
  const counter = counting(3 << 20);
  const st = await (await c.fetch(node('/echo'), { method: 'POST', body: counter.stream, duplex: 'half' })).json();
  assert.is(st.bytes, 3 << 20);
  if (protocol === 'http/1.1') assert.is(st.headers['transfer-encoding'], 'chunked');
  const empty = await (await c.fetch(node('/echo'), { method: 'POST' })).json();
  assert.is(empty.bytes, 0);
});

both('a streaming upload waits for a slow server (backpressure)', async (c) => {
  const total = 48 << 20;
  const counter = counting(total);
  const pending = c.fetch(node('/slow-upload?id=up-' + Math.random() + '&pause=1500'), { method: 'POST', body: counter.stream, duplex: 'half' });
  await sleep(1000);
  const pulled = counter.pulled;
  const res = await (await pending).json();
  assert.is(res.bytes, total);
  assert.ok(pulled < 24 << 20, `while the server read nothing, ${pulled} bytes were taken from the body`);
}, 60_000);

both('a slow reader holds the server back (backpressure), and cancelling frees the connection', async (c, protocol) => {
  const id = `down-${protocol}-${Math.random()}`;
  const res = await c.fetch(node(`/big?mib=64&id=${id}`));
  const reader = res.body.getReader();
  await reader.read();
  await sleep(800);
  const { written } = await command(`stats ${id}`);
  assert.ok(written < 32 << 20, `the server could hand over only ${written} bytes`);
  await reader.cancel();
  assert.is(await (await c.fetch(node('/x'))).text(), `hello GET /x over ${protocol === 'h2' ? '2.0' : '1.1'}`);
}, 60_000);

both('redirects: 303 and 301/302 after POST become GET; 307 keeps the body; credentials stay within the origin', async (c) => {
  const to = (status, target) => node(`/redirect?status=${status}&to=${encodeURIComponent(target)}`);
  const r303 = await (await c.fetch(to(303, '/echo'), { method: 'POST', body: 'x' })).json();
  assert.is(r303.method, 'GET');
  assert.is(r303.bytes, 0);
  assert.is(r303.headers['content-type'], undefined);
  const r301 = await (await c.fetch(to(301, '/echo'), { method: 'POST', body: 'x' })).json();
  assert.is(r301.method, 'GET');
  const r307 = await (await c.fetch(to(307, '/echo'), { method: 'POST', body: 'seven' })).json();
  assert.is(r307.method, 'POST');
  assert.is(r307.bytes, 5);
  const same = await (await c.fetch(to(302, '/echo'), { headers: { authorization: 'Bearer t', cookie: 'c=1' } })).json();
  assert.is(same.headers.authorization, 'Bearer t');
  const cross = await (await c.fetch(to(302, `https://127.0.0.1:${servers.node}/echo`), { headers: { authorization: 'Bearer t', cookie: 'c=1', 'x-other': 'kept' } })).json();
  assert.is(cross.headers.authorization, undefined);
  assert.is(cross.headers.cookie, undefined);
  assert.is(cross.headers['x-other'], 'kept');
  const stream = await fails(c.fetch(to(307, '/echo'), { method: 'POST', body: counting(10).stream, duplex: 'half' }));
  assert.is(stream.cause.code, 'ERR_REDIRECT_STREAM_BODY');
});

both('AbortSignal: before, while waiting, and while reading the body', async (c, protocol) => {
  const before = await fails(c.fetch(node('/x'), { signal: AbortSignal.abort() }));
  assert.is(before.name, 'AbortError');
  const ac = new AbortController();
  const waiting = c.fetch(node('/hang'), { signal: ac.signal });
  await sleep(100);
  ac.abort();
  assert.is((await fails(waiting)).name, 'AbortError');
  const ac2 = new AbortController();
  const res = await c.fetch(node('/slow-body'), { signal: ac2.signal });
  const reader = res.body.getReader();
  await reader.read();
  ac2.abort();
  assert.is((await fails((async () => { for (;;) if ((await reader.read()).done) return; })())).name, 'AbortError');
  assert.is(await (await c.fetch(node('/y'))).text(), `hello GET /y over ${protocol === 'h2' ? '2.0' : '1.1'}`);
});

both('timeouts: no response head in time', async (_, protocol, scope) => {
  const c = client(scope, { ALPNProtocols: protocol === 'h2' ? ['h2'] : ['http/1.1'], headersTimeout: 300 });
  const e = await fails(c.fetch(node('/hang')));
  assert.instance(e, TypeError);
  assert.is(e.cause.code, 'ETIMEDOUT');
});

both('set-cookie headers, one per cookie', async (c) => {
  const res = await c.fetch(node('/cookie'));
  if (typeof res.headers.getSetCookie === 'function') assert.equal(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
  else assert.ok(res.headers.get('set-cookie').includes('a=1'));
});

test('HTTP/2: GOAWAY; the streams the server did not process go again on a new connection', async (scope) => {
  const c = client(scope);
  const results = await Promise.all([0, 1, 2].map(async (i) => {
    await sleep(i * 10);
    const r = await c.fetch(node('/goaway'));
    return [r.headers.get('x-session'), await r.text()];
  }));
  const firstSession = results[0][0];
  assert.ok(results[0][1].startsWith('first'), JSON.stringify(results));
  assert.ok(results.slice(1).every(([s]) => s !== firstSession), `the refused requests went on a new session: ${JSON.stringify(results)}`);
});

test('HTTP/2: RST_STREAM before and during the response', async (scope) => {
  const c = client(scope);
  const e = await fails(c.fetch(node('/rst')));
  assert.instance(e, TypeError);
  assert.is(e.cause.code, 'ERR_HTTP2_STREAM_ERROR');
  assert.match(e.cause.message, 'NGHTTP2_INTERNAL_ERROR');
  const res = await c.fetch(node('/rst-mid'));
  const mid = await fails(res.text());
  assert.match(String(mid.message ?? mid), /NGHTTP2_INTERNAL_ERROR/);
  assert.is(await (await c.fetch(node('/z'))).text(), 'hello GET /z over 2.0');
  assert.is(protocols(c).length, 1, 'a reset stream does not end the connection');
});

// ------------------------------------------------------------ pooled connections the server closes

test('HTTP/1.1: a pooled connection the server dropped: idempotent requests go again, others fail', async (scope) => {
  const c = client(scope);
  const url = `https://localhost:${servers.closer}/`;
  const before = await command('connections closer');
  assert.is(await (await c.fetch(url)).text(), `connection ${before + 1}`);
  assert.is(await (await c.fetch(url)).text(), `connection ${before + 2}`, 'retried on a fresh connection');
  assert.is(await command('connections closer'), before + 2);
  const post = await fails(c.fetch(url, { method: 'POST', body: 'once' }));
  assert.instance(post, TypeError);
  assert.is(post.cause.code, 'ECONNRESET');
});

test('HTTP/1.1: a server that closes idle keep-alive connections between requests', async (scope) => {
  const c = client(scope);
  const url = `https://localhost:${servers.closer}/close-after`;
  const a = await (await c.fetch(url)).text();
  await sleep(200);
  const b = await (await c.fetch(url, { method: 'POST', body: 'fine' })).text();
  assert.is.not(a, b, 'the second request went on a new connection');
});

// ------------------------------------------------------------ hand-written responses

test('HTTP/1.1 bodies: close-delimited, HTTP/1.0, chunked with trailers, 1xx sequences', async (scope) => {
  const c = client(scope);
  const raw = (p) => `https://localhost:${servers.raw}${p}`;
  assert.is(await (await c.fetch(raw('/close-delimited'))).text(), 'close-delimited body '.repeat(500));
  assert.is(await (await c.fetch(raw('/http10'))).text(), 'http/1.0 body');
  const ch = await c.fetch(raw('/chunked'));
  assert.is(await ch.text(), 'hello world');
  assert.is((await trailers(ch)).get('x-sum'), '42');
  const x = await c.fetch(raw('/1xx'));
  assert.is(x.status, 200);
  assert.is(x.headers.get('x-final'), 'yes');
  assert.is(x.headers.get('link'), null, 'the 103\'s fields are not the response\'s');
  assert.is(await x.text(), 'final');
});

test('errors: malformed HTTP, a body cut short, TLS, refused connections, bad arguments', async (scope) => {
  const c = client(scope);
  const raw = (p) => `https://localhost:${servers.raw}${p}`;
  const garbage = await fails(c.fetch(raw('/garbage')));
  assert.instance(garbage, TypeError);
  assert.is(garbage.message, 'fetch failed');
  assert.match(garbage.cause.code, /^HPE_/);
  const cut = await c.fetch(raw('/cut'));
  const cutErr = await fails(cut.text());
  assert.ok(cutErr, 'a body cut short is an error');
  const untrusted = await fails(new FetchClient().fetch(nginx('/hello.txt')));
  assert.instance(untrusted, TypeError);
  assert.match(untrusted.cause.code, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/);
  const port = await freePort();
  const refused = await fails(c.fetch(`https://localhost:${port}/`));
  assert.is(refused.cause.code, 'ECONNREFUSED');
  const bad = await fails(c.fetch('not a url'));
  assert.instance(bad, TypeError);
  assert.is.not(bad.message, 'fetch failed');
  assert.instance(await fails(c.fetch(node('/x'), { method: 'GET', body: 'no' })), TypeError);
});

test('http: URLs (no TLS) and the shared fetch()', async () => {
  const res = await sharedFetch(`http://127.0.0.1:${servers.plain}/echo?q=1`);
  const echo = await res.json();
  assert.is(echo.url, '/echo?q=1');
  assert.is(echo.headers.host, `127.0.0.1:${servers.plain}`);
});

test('through a Wisp server (wisp-js): HTTP/2 and HTTP/1.1', async (scope) => {
  const wisp = new WispClient(`ws://127.0.0.1:${servers.wisp}/`, { WebSocket: globalThis.WebSocket ?? WsWebSocket });
  scope.defer(() => wisp.close());
  for (const alpn of [['h2', 'http/1.1'], ['http/1.1']]) {
    const c = client(scope, { transport: wisp, ALPNProtocols: alpn });
    const texts = await Promise.all([1, 2, 3].map(() => c.fetch(nginx('/hello.txt')).then((r) => r.text())));
    assert.equal(texts, Array(3).fill('hello from nginx\n'));
    assert.is(await (await c.fetch(nginx('/big.txt'))).text(), servers.text.repeat(200));
    assert.equal([...new Set(protocols(c))], [alpn[0]]);
  }
});

// ------------------------------------------------------------ in workerd, over cloudflare:sockets

/**
 * Runs a job in the Worker (test/fetch-worker.js) in workerd, which fetch-servers.mjs starts
 * on first use: `variant` 'plain' (no compatibility flags) or 'node' (nodejs_compat).
 */
async function inWorker(job, variant = 'plain') {
  const ports = await servers.workerd;
  if (ports.error) throw new Error(`workerd: ${ports.error}`);
  const res = await fetch(`http://127.0.0.1:${ports[variant]}/`, { method: 'POST', body: JSON.stringify(job) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`the Worker answered ${res.status}: ${body}\n${await command('workerd-log')}`);
  return JSON.parse(body);
}
const get = (url, more = {}) => ({ url, ...more });
/** The Worker's result, or a failure that shows its error. */
const ok = (r) => {
  if (r.error) throw new Error(`in the Worker: ${JSON.stringify(r.error)}`);
  return r;
};

for (const [protocol, alpn] of PROTOCOLS) {
  test(`workerd: nginx over cloudflare:sockets: GETs on one connection, gzip, trailers, HEAD, 204, a redirect (${protocol})`, async () => {
    const { results, connections } = await inWorker({
      client: { ca: CA, ALPNProtocols: alpn },
      requests: [
        get(nginx('/hello.txt')), get(nginx('/hello.txt')), get(nginx('/big.txt')), get(nginx('/trailers/t.txt')),
        get(nginx('/hello.txt'), { init: { method: 'HEAD' } }), get(nginx('/204')), get(nginx('/redirect')),
        get(nginx('/redirect'), { init: { redirect: 'manual' }, read: 'cancel' }),
      ],
    });
    const [a, b, big, tr, head, none, redirected, manual] = results.map(ok);
    assert.is(a.status, 200);
    assert.is(a.text, 'hello from nginx\n');
    assert.ok(a.headers.server.startsWith('nginx'));
    assert.is(b.text, 'hello from nginx\n');
    assert.is(big.headers['content-encoding'], 'gzip');
    assert.is(big.text, servers.text.repeat(200), 'gzip decoded by the Workers runtime\'s DecompressionStream');
    assert.is(tr.text, servers.text);
    assert.equal(tr.trailers, { 'x-checksum': 'abc123', 'x-second': 'two' });
    assert.is(head.headers['content-length'], '17');
    assert.is(head.text, undefined);
    assert.is(none.status, 204);
    assert.equal([redirected.status, redirected.redirected, redirected.url, redirected.text], [200, true, nginx('/hello.txt'), 'hello from nginx\n']);
    assert.equal([manual.status, manual.headers.location], [302, nginx('/hello.txt')]);
    assert.equal(connections, [protocol], 'every request went on one connection');
  });

  test(`workerd: parallel requests (multiplexed, or up to the limit), a 32 MiB download, streamed (${protocol})`, async () => {
    const parallel = await inWorker({
      client: { ca: CA, ALPNProtocols: alpn }, parallel: true,
      requests: Array.from({ length: 8 }, () => get(nginx('/hello.txt'))),
    });
    assert.ok(parallel.results.every((r) => ok(r).text === 'hello from nginx\n'));
    if (protocol === 'h2') assert.equal(parallel.connections, ['h2']);
    else assert.ok(parallel.connections.length > 1 && parallel.connections.length <= 6, String(parallel.connections));
    const { results: [dl] } = await inWorker({ client: { ca: CA, ALPNProtocols: alpn }, requests: [get(nginx('/data.bin'), { read: 'digest' })] });
    ok(dl);
    assert.is(dl.length, 32 << 20);
    assert.ok(dl.chunks > 100, `the body arrives in pieces (${dl.chunks})`);
    assert.is(dl.digest, servers.dataSha);
  }, 60_000);
}

test('workerd: node\'s http2 server: 103 skipped, deflate (zlib and raw), request bodies (string and a stream)', async () => {
  const { results } = await inWorker({
    client: { ca: CA },
    requests: [
      get(node('/early-hints')), get(node('/encoded?coding=gzip')), get(node('/encoded?coding=deflate')),
      get(node('/encoded?coding=deflate-raw')), get(node('/echo'), { init: { method: 'POST', body: 'hello' } }),
      get(node('/echo'), { init: { method: 'POST' }, upload: 3 << 20 }),
    ],
  });
  const [hints, gzip, deflate, raw, post, stream] = results.map(ok);
  assert.is(hints.text, 'after hints');
  for (const r of [gzip, deflate, raw]) assert.is(r.text, servers.text);
  const echo = JSON.parse(post.text);
  assert.equal([echo.method, echo.bytes, echo.headers['content-type'], echo.httpVersion], ['POST', 5, 'text/plain;charset=UTF-8', '2.0']);
  assert.is(echo.headers['accept-encoding'], 'gzip, deflate', 'no brotli without nodejs_compat: the runtime\'s DecompressionStream has none');
  assert.is(JSON.parse(stream.text).bytes, 3 << 20);
});

test('workerd with nodejs_compat: brotli decoded through node:zlib', async () => {
  const { results } = await inWorker({ client: { ca: CA }, requests: [get(node('/echo')), get(node('/encoded?coding=br')), get(node('/encoded?coding=gzip%2C%20br'))] }, 'node');
  const [echo, br, both2] = results.map(ok);
  assert.is(JSON.parse(echo.text).headers['accept-encoding'], 'gzip, deflate, br');
  assert.is(br.text, servers.text);
  assert.is(both2.text, servers.text);
});

test('workerd: errors: an untrusted certificate, a refused port, a server that resets a stream', async () => {
  const port = await freePort();
  const { results } = await inWorker({
    client: { ca: CA },
    requests: [get(`https://localhost:${port}/`), get(node('/rst'))],
  });
  const { results: [untrusted] } = await inWorker({ client: {}, requests: [get(nginx('/hello.txt'))] });
  assert.is(untrusted.error.name, 'TypeError');
  assert.is(untrusted.error.message, 'fetch failed');
  assert.match(untrusted.error.cause.code, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/, 'verified against the bundled Mozilla roots');
  const [refused, rst] = results;
  assert.is(refused.error.name, 'TypeError');
  assert.ok(refused.error.cause, JSON.stringify(refused.error));
  assert.is(rst.error.cause.code, 'ERR_HTTP2_STREAM_ERROR');
});

test('workerd: the entry\'s own fetch() takes cloudflare:sockets by itself (an http: URL, and the Mozilla roots)', async () => {
  const { results: [plain, tls] } = await inWorker({
    client: 'shared', requests: [get(`http://127.0.0.1:${servers.plain}/echo?q=1`), get(nginx('/hello.txt'))],
  });
  assert.is(JSON.parse(ok(plain).text).url, '/echo?q=1');
  assert.match(tls.error.cause.code, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED/);
});

test('workerd: a client kept across Worker requests opens a new connection in each (a socket belongs to one request)', async () => {
  for (const [protocol, alpn] of PROTOCOLS) {
    const job = {
      client: { ca: CA, ALPNProtocols: alpn }, keep: true,
      requests: [get(node('/echo')), get(node('/echo'), { init: { method: 'POST', body: 'once' } })],
    };
    for (let round = 0; round < 3; round++) {
      const { results, connections } = await inWorker(job);
      const [g, p] = results.map(ok);
      assert.is(JSON.parse(g.text).method, 'GET', `${protocol}, round ${round}`);
      assert.is(JSON.parse(p.text).bytes, 4, `${protocol}, round ${round}: a POST too goes again, since the runtime refused its bytes`);
      assert.equal(connections, [protocol], 'the dead connection is closed and dropped');
    }
  }
});

test('workerd: wasm given as bytes is refused with a message that says what to do', async () => {
  const { error } = await inWorker({ probe: 'wasm-bytes' });
  assert.is(error.code, 'ERR_WASM_LOAD');
  assert.match(error.message, 'does not allow compiling WebAssembly at run time');
  assert.match(error.message, "import wasm from 'openssl-tls-wasm/openssl.wasm'");
});

t.run();
