// The browser example in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): the page loads openssl.wasm from its bundle, runs TLS over a WebSocket to
// the relay (dist/relay.js), through a Wisp server (@mercuryworkshop/wisp-js, or the relay's
// own Wisp mode, with the package's WispClient), or through the Worker relay
// (dist/relay-worker.js) in workerd, and GETs https://localhost:PORT/ from a local HTTPS server.
// Node runs the servers; everything listens on 127.0.0.1 with ephemeral ports, every test is
// bounded by a timer, and the browser and every server are closed at the end.
//   node test/run.js test/browser/chromium.test.js
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { createServer as createTlsServer } from '../../dist/index.js';
import { createRelay } from '../../dist/relay.js';
import { server as wispjs, logging as wispLogging } from '@mercuryworkshop/wisp-js/server';
import { buildExample } from '../../examples/browser/build.mjs';
import { build as esbuild } from 'esbuild';
import { createInterface } from 'node:readline';
import { CHROMIUM, exitAfter, freePort, guard as guardFor, HOST, launchChromium, listen, loggedPage, pem, Scope } from '../helpers.js';
import { startWorkerd } from '../workerd.js';

const t = suite('chromium');
const root = fileURLToPath(new URL('../../', import.meta.url));
const exampleDir = join(root, 'examples', 'browser');
const TEST_TIMEOUT = 30_000;

const watchdog = exitAfter('chromium.test.js', 180_000); // a hang anywhere fails the run instead of stalling it

const guard = (promise, label, ms = TEST_TIMEOUT) => guardFor(promise, label, ms);

// What the suite starts (servers, the relay, the browser), closed in reverse order at the end.
const scope = new Scope();

/** The group node:https negotiates with the page: the hybrid one only from OpenSSL 3.5 on. */
function nativeGroup() {
  const [major, minor] = process.versions.openssl.split('.').map(Number);
  return major > 3 || (major === 3 && minor >= 5) ? 'X25519MLKEM768' : 'x25519';
}

const marker = `browser-ok-${Math.random().toString(36).slice(2)}`;
const env = {};

t.before(async () => {
  await guard((async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (scripts/install-deps.sh installs it)`);

    // The bundle, built fresh into a directory of its own.
    const bundleDir = await mkdtemp(join(tmpdir(), 'openssl-tls-wasm-example-'));
    scope.defer(() => rm(bundleDir, { recursive: true, force: true }));
    await buildExample({ outdir: bundleDir });

    // Target 1: node:https with the RSA chain (the runtime's own OpenSSL).
    const httpsServer = createHttpsServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (req, res) => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`${marker} ${req.method} ${req.url} ${req.headers.host} ${req.socket.getProtocol()}`);
    });
    httpsServer.on('tlsClientError', () => {});
    env.httpsPort = await listen(scope, httpsServer);
    scope.defer(() => httpsServer.closeAllConnections());

    // Target 2: HTTPS terminated by openssl-tls-wasm itself (OpenSSL 3.5), for the hybrid group.
    const wasmTls = await createTlsServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') });
    scope.defer(() => wasmTls.close());
    env.wasmPort = await listen(scope, net.createServer((socket) => {
      socket.on('error', () => {});
      serveWasmHttps(wasmTls, socket).catch(() => socket.destroy());
    }));

    // A port where nothing listens (allowlisted: the relay's TCP error reaches the page).
    env.deadPort = await freePort();

    // The page's server: index.html, the bundle and openssl.wasm, and config.json.
    const page = createHttpServer((req, res) => {
      servePage(req, res, bundleDir).catch(() => { res.writeHead(500); res.end(); });
    });
    env.pagePort = await listen(scope, page);
    env.origin = `http://${HOST}:${env.pagePort}`;

    // The relay on its own port, allowing only the test targets and only the page's origin.
    env.relay = await createRelay({
      port: 0,
      allow: [`localhost:${env.httpsPort}`, `localhost:${env.wasmPort}`, `localhost:${env.deadPort}`],
      origins: [env.origin],
    });
    scope.defer(() => env.relay.close());

    // A Wisp server (wisp-js), allowing loopback destinations (as a test server must) and
    // blocking one name, for the page to show the close reason.
    wispLogging.set_level(wispLogging.NONE);
    Object.assign(wispjs.options, { allow_loopback_ips: true, hostname_blacklist: [/^blocked\.invalid$/] });
    const wispServer = createHttpServer((req, res) => { res.writeHead(426); res.end(); });
    wispServer.on('upgrade', (req, socket, head) => {
      socket.on('error', () => {});
      wispjs.routeRequest(req, socket, head);
    });
    env.wispUrl = `ws://${HOST}:${await listen(scope, wispServer)}/`;

    // openssl-tls-wasm/fetch for the page (test/browser/fetch-page.js), beside the example's
    // bundle, and the servers test/fetch.test.js uses (nginx and a Wisp server among them).
    await esbuild({ entryPoints: { 'fetch-page': join(root, 'test', 'browser', 'fetch-page.js') }, bundle: true,
      format: 'esm', platform: 'browser', target: 'es2022', outdir: bundleDir, logLevel: 'error' });
    await copyFile(join(root, 'dist', 'openssl-http.wasm'), join(bundleDir, 'openssl-http.wasm'));
    const fetchServers = spawn(process.execPath, [join(root, 'test', 'fetch-servers.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
    scope.defer(() => { fetchServers.stdin.end(); fetchServers.kill(); });
    env.fetchServers = await new Promise((resolve, reject) => {
      createInterface({ input: fetchServers.stdout }).once('line', (l) => resolve(JSON.parse(l)));
      fetchServers.once('exit', (code) => reject(new Error(`fetch-servers.mjs exited (${code})`)));
    });
    // The Worker relay in workerd, with the same allowlist and origin.
    env.workerd = await startWorkerd({
      RELAY_ALLOW: `localhost:${env.httpsPort} ${HOST}:${env.httpsPort} ${HOST}:${env.wasmPort}`,
      RELAY_ORIGINS: env.origin,
      RELAY_DOH: 'off', // the names allowed are exact: workerd resolves them itself
    });
    scope.defer(() => env.workerd.close());

    env.browser = await launchChromium(scope);
  })(), 'setup', 90_000);
});

t.after(async () => {
  await guard(scope.close(), 'cleanup', 20_000);
  clearTimeout(watchdog);
});

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.map': 'application/json', '.wasm': 'application/wasm' };

async function servePage(req, res, bundleDir) {
  const { pathname } = new URL(req.url, 'http://x');
  if (pathname === '/config.json') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return res.end(JSON.stringify({
      relay: env.relay.url, target: `localhost:${env.httpsPort}`, servername: 'localhost', ca: pem('ca.pem'),
    }));
  }
  const [base, rel] = pathname.startsWith('/dist/') ? [bundleDir, pathname.slice(6)]
    : pathname === '/' || pathname === '/index.html' ? [exampleDir, 'index.html'] : [];
  if (pathname === '/fetch.html') {
    res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' });
    return res.end('<!doctype html><meta charset="utf-8"><title>fetch</title><script type="module" src="/dist/fetch-page.js"></script>');
  }
  const file = base && normalize(join(base, decodeURIComponent(rel)));
  if (!file || !file.startsWith(base + sep) || !existsSync(file)) {
    res.writeHead(404);
    return res.end('not found');
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  res.end(await readFile(file));
}

/** One HTTPS exchange with openssl-tls-wasm as the server: read the request, answer, close. */
async function serveWasmHttps(server, socket) {
  const tls = await server.accept(socket);
  const reader = tls.readable.getReader();
  let request = '';
  while (!request.includes('\r\n\r\n')) {
    const { value, done } = await reader.read();
    if (done) return;
    request += new TextDecoder().decode(value);
  }
  const body = new TextEncoder().encode(`${marker} wasm server ${tls.getProtocol()} ${tls.getEphemeralKeyInfo().name}`);
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const writer = tls.writable.getWriter();
  await writer.write(new Uint8Array([...new TextEncoder().encode(head), ...body]));
  await writer.close(); // close_notify; the transport closes once the client's arrives
  try { while (!(await reader.read()).done); } catch { /* the client may just cut */ }
}

const IDS = ['state', 'via', 'protocol', 'cipher', 'group', 'authorized', 'status-line', 'ws-close', 'error', 'body'];

/** Opens the page at `origin` with `query`, waits for it to finish, returns what it shows. */
async function runPage(query, origin = env.origin) {
  const { context, page, log } = await loggedPage(env.browser);
  try {
    await page.goto(`${origin}/?${new URLSearchParams({ run: '1', ...query })}`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, { timeout: 20_000 })
      .catch((e) => { throw new Error(`${e.message}\n${log.join('\n')}`); });
    const shown = { pageState: await page.evaluate(() => document.body.dataset.state), log: log.join('\n') };
    for (const id of IDS) shown[id] = await page.textContent(`#${id}`);
    return shown;
  } finally {
    await context.close();
  }
}

/** A test under the timeout guard. */
const test = (name, body) => t(name, () => guard(body(), name));

test('the page GETs https://localhost:PORT/ (node:https) through the relay', async () => {
  const shown = await runPage({});
  assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}`);
  assert.is(shown.protocol, 'TLSv1.3');
  assert.is(shown.group, nativeGroup());
  assert.match(shown.cipher, /^TLS_/);
  assert.is(shown.authorized, 'verified for localhost');
  assert.is(shown['status-line'], 'HTTP/1.1 200 OK');
  assert.is(shown.body, `${marker} GET / localhost:${env.httpsPort} TLSv1.3`);
});

test('the page negotiates TLSv1.3 with X25519MLKEM768 against an OpenSSL 3.5 server', async () => {
  const shown = await runPage({ target: `localhost:${env.wasmPort}` });
  assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}`);
  assert.is(shown.protocol, 'TLSv1.3');
  assert.is(shown.group, 'X25519MLKEM768');
  assert.is(shown.cipher, 'TLS_CHACHA20_POLY1305_SHA256');
  assert.is(shown.body, `${marker} wasm server TLSv1.3 X25519MLKEM768`);
});

test('a target outside the allowlist: the page shows the relay\'s refusal (4003 and its reason)', async () => {
  const outside = 'localhost:9999'; // ephemeral ports are above 32767
  const shown = await runPage({ target: outside });
  assert.is(shown.pageState, 'error');
  assert.match(shown.error, `target ${outside} is not allowed`);
  assert.match(shown.error, '4003');
  assert.is(shown['ws-close'], `4003 target ${outside} is not allowed`);
  assert.is(shown.protocol, '-');
});

test('an allowed target that refuses TCP: the page shows 1011 and ECONNREFUSED', async () => {
  const shown = await runPage({ target: `localhost:${env.deadPort}` });
  assert.is(shown.pageState, 'error');
  assert.match(shown.error, 'ECONNREFUSED');
  assert.is(shown['ws-close'], `1011 ECONNREFUSED (localhost:${env.deadPort})`);
});

test('a page from another origin is refused by the relay', async () => {
  // The same page served from http://localhost:PORT is another origin than http://127.0.0.1:PORT.
  const shown = await runPage({}, `http://localhost:${env.pagePort}`);
  assert.is(shown.pageState, 'error');
  assert.is(shown['ws-close'], `4003 origin http://localhost:${env.pagePort} is not allowed`);
});

test('through a Wisp server (wisp-js): the page GETs https://localhost:PORT/ over a WispClient stream', async () => {
  // 127.0.0.1, not localhost: the Wisp server resolves names itself, and localhost may be ::1.
  const shown = await runPage({ wisp: env.wispUrl, relay: '', target: `${HOST}:${env.httpsPort}`, servername: 'localhost' });
  assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}`);
  assert.is(shown.via, `Wisp v2 (${env.wispUrl})`);
  assert.is(shown.protocol, 'TLSv1.3');
  assert.is(shown.authorized, 'verified for localhost');
  assert.is(shown['status-line'], 'HTTP/1.1 200 OK');
  assert.is(shown.body, `${marker} GET / ${HOST}:${env.httpsPort} TLSv1.3`);
});

test('through a Wisp server, X25519MLKEM768 against an OpenSSL 3.5 server', async () => {
  const shown = await runPage({ wisp: env.wispUrl, relay: '', target: `${HOST}:${env.wasmPort}`, servername: 'localhost' });
  assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}`);
  assert.is(shown.group, 'X25519MLKEM768');
  assert.is(shown.body, `${marker} wasm server TLSv1.3 X25519MLKEM768`);
});

test('through a Wisp server, a destination the server blocks: the page shows EACCES and the close reason', async () => {
  const shown = await runPage({ wisp: env.wispUrl, relay: '', target: 'blocked.invalid:443' });
  assert.is(shown.pageState, 'error');
  assert.match(shown.error, 'EACCES');
  assert.match(shown.error, 'the destination is blocked by the server\'s policy (0x48 HostBlocked)');
});

test('fetch() in the page through a Wisp server: nginx over HTTP/2 and HTTP/1.1, gzip, trailers, redirects', async () => {
  const { context, page, log } = await loggedPage(env.browser);
  try {
    await page.goto(`${env.origin}/fetch.html`);
    await page.waitForFunction(() => window.fetchReady === true, null, { timeout: 20_000 });
    const { nginx, wisp } = env.fetchServers;
    const seen = await page.evaluate((cfg) => window.fetchThroughWisp(cfg),
      { wisp: `ws://${HOST}:${wisp}/`, base: `https://localhost:${nginx}`, ca: pem('ca.pem') })
      .catch((e) => { throw new Error(`${e.message}\n${log.join('\n')}`); });
    for (const protocol of ['h2', 'http/1.1']) {
      const s = seen[protocol];
      assert.equal(s.hello, Array(3).fill('hello from nginx\n'), protocol);
      assert.is(s.protocols[0], protocol);
      if (protocol === 'h2') assert.is(s.protocols.length, 1, 'one HTTP/2 connection for all');
      assert.is(s.bigEncoding, 'gzip');
      assert.is(s.bigLength, env.fetchServers.text.length * 200);
      assert.is(s.trailer, 'abc123');
      assert.is(s.redirected, true);
    }
  } finally {
    await context.close();
  }
});

test('through the relay\'s own Wisp mode: the page GETs https://localhost:PORT/ over a WispClient stream', async () => {
  // localhost: the relay tries each address a name resolves to (::1, 127.0.0.1) in turn.
  const shown = await runPage({ wisp: env.relay.url, relay: '', target: `localhost:${env.httpsPort}` });
  assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}`);
  assert.is(shown.via, `Wisp v2 (${env.relay.url})`);
  assert.is(shown.body, `${marker} GET / localhost:${env.httpsPort} TLSv1.3`);
});

test('the Worker relay in workerd, ?target mode: the page GETs https://localhost:PORT/', async () => {
  const shown = await runPage({ relay: env.workerd.url, target: `localhost:${env.httpsPort}` });
  assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}\n${env.workerd.log()}`);
  assert.is(shown.protocol, 'TLSv1.3');
  assert.is(shown.authorized, 'verified for localhost');
  assert.is(shown.body, `${marker} GET / localhost:${env.httpsPort} TLSv1.3`);
});

test('the Worker relay in workerd, Wisp: X25519MLKEM768 against an OpenSSL 3.5 server; its refusals reach the page', async () => {
  const shown = await runPage({ wisp: env.workerd.url, relay: '', target: `${HOST}:${env.wasmPort}`, servername: 'localhost' });
  assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}\n${env.workerd.log()}`);
  assert.is(shown.via, `Wisp v2 (${env.workerd.url})`);
  assert.is(shown.group, 'X25519MLKEM768');
  assert.is(shown.body, `${marker} wasm server TLSv1.3 X25519MLKEM768`);
  const blocked = await runPage({ wisp: env.workerd.url, relay: '', target: `${HOST}:9999` });
  assert.is(blocked.pageState, 'error');
  assert.match(blocked.error, 'EACCES');
  assert.match(blocked.error, '0x48 HostBlocked');
  const refused = await runPage({ relay: env.workerd.url, target: `${HOST}:9999` });
  assert.is(refused['ws-close'], `4003 target ${HOST}:9999 is not allowed`);
});

test('the hand-run demo, examples/browser/serve.mjs, works as its README says', async () => {
  const child = spawn(process.execPath, [join(exampleDir, 'serve.mjs'), '--port', '0', '--https-port', '0'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    const url = await new Promise((resolve, reject) => {
      const check = () => {
        const m = /open:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) resolve(m[1]);
      };
      child.stdout.on('data', check);
      child.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}:\n${out}`)));
    });
    const shown = await runPage({}, url);
    assert.is(shown.pageState, 'done', `${shown.error}\n${shown.log}\n${out}`);
    assert.is(shown.protocol, 'TLSv1.3');
    assert.match(shown.body, /^Hello from the demo HTTPS server!\nGET \/ over TLSv1\.3/);
  } finally {
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
    if (code === 'timeout') child.kill('SIGKILL');
  }
});

t.run();
