// The Cloudflare Worker relay (dist/relay-worker.js) in workerd, Cloudflare's open-source
// runtime (npm `workerd`, started by workerd.js), against TLS servers on loopback: this
// runtime's connect() through fromWebSocket (?target mode) and through WispClient (Wisp), the
// policy it shares with the Node relay (allowlist, origins, limits, authentication), names
// resolved over DNS-over-HTTPS (a fake resolver here) with every answer checked, and its
// configuration from environment variables.
// Everything listens on 127.0.0.1 with ephemeral ports; workerd is stopped at the end.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer as createHttpServer } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket as WsWebSocket } from 'ws';
import { connect, getOpenSSL, WispClient, WispError } from '../dist/index.js';
import { echo, guard, HOST, listen, pem, Scope } from './helpers.js';
import { startWorkerd } from './workerd.js';

const t = suite('relay-worker');
const WebSocketClient = globalThis.WebSocket ?? WsWebSocket;
const TLS_OPTIONS = { servername: 'localhost', ca: pem('ca.pem') };
const TIMEOUT = 30_000;
const rejection = (p) => p.then(() => null, (e) => e);
const wispError = (e) => (e instanceof WispError ? e : e?.cause);
const payload = (i, n) => new Uint8Array(n).map((_, k) => (k * 13 + i) & 0xff);

// What the suite starts (targets, the resolver, workerd), closed at the end.
const scope = new Scope();
const env = {};

t.before(async () => {
  await getOpenSSL();
  await guard((async () => {
    const server = tls.createServer({ cert: pem('rsa-chain.pem'), key: pem('rsa.key') }, (s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    server.on('tlsClientError', () => {});
    env.tlsPort = await listen(scope, server);
    const dead = net.createServer();
    env.deadPort = await listen(scope, dead);
    await new Promise((r) => dead.close(r)); // nothing listens there now

    // A DNS-over-HTTPS server (the JSON API) that knows a few names, all on loopback.
    env.dohQueries = [];
    const names = { 'localhost': '127.0.0.1', 'tls.test': '127.0.0.1' };
    const doh = createHttpServer((req, res) => {
      const q = new URL(req.url, 'http://x').searchParams;
      env.dohQueries.push(`${q.get('name')} ${q.get('type')}`);
      const address = names[q.get('name')];
      const answer = address === undefined ? { Status: 3 }
        : { Status: 0, Answer: q.get('type') === 'A' ? [{ name: q.get('name'), type: 1, TTL: 60, data: address }] : [] };
      res.writeHead(200, { 'content-type': 'application/dns-json' });
      res.end(JSON.stringify(answer));
    });
    const dohPort = await listen(scope, doh);

    env.main = await startWorkerd({
      RELAY_ALLOW: `${HOST}:${env.tlsPort} ${HOST}:${env.deadPort} tls.test:${env.tlsPort} *:${env.tlsPort}`,
      RELAY_ORIGINS: 'http://app.example',
      RELAY_DOH: `http://${HOST}:${dohPort}/dns-query`,
      RELAY_MOTD: 'hello from workerd',
      RELAY_MAX_STREAMS_PER_CLIENT: '24',
    });
    scope.defer(() => env.main.close());
    env.auth = await startWorkerd({
      RELAY_ALLOW: `*:${env.tlsPort}`,
      RELAY_ALLOW_PRIVATE: 'true',
      RELAY_DOH: `http://${HOST}:${dohPort}/dns-query`,
      RELAY_PASSWORDS: JSON.stringify({ alice: 's3cret' }),
    });
    scope.defer(() => env.auth.close());
  })(), 'starting workerd', 60_000);
});

t.after(async () => {
  await guard(scope.close(), 'cleanup', 20_000);
});

/** A test under the timeout, with a scope of its own. */
const test = (name, body) => t(name, async () => {
  const s = new Scope();
  try {
    await guard(body(s), name, TIMEOUT);
  } catch (e) {
    e.message += `\nworkerd's output:\n${env.main?.log().slice(-2000)}`;
    throw e;
  } finally {
    await guard(s.close(), `${name} (cleanup)`, 5000);
  }
});

function wispClient(s, w, options = {}) {
  const c = new WispClient(w.url, { WebSocket: WebSocketClient, ...options });
  s.defer(() => c.close());
  return c;
}

/** A WebSocket to the Worker's ?target mode; resolves with its close code and reason. */
function closeOf(url, options) {
  const ws = options ? new WsWebSocket(url, options) : new WebSocketClient(url);
  ws.addEventListener('error', () => {});
  return new Promise((resolve) => ws.addEventListener('close', (ev) => resolve({ code: ev.code, reason: ev.reason })));
}


test('?target mode: connect() through fromWebSocket, verified and echoed', async () => {
  const secure = await connect(new WebSocketClient(`${env.main.url}?target=${HOST}:${env.tlsPort}`), TLS_OPTIONS);
  assert.ok(secure.authorized);
  assert.is(secure.getProtocol(), 'TLSv1.3');
  const data = payload(1, 300_000);
  const got = await echo(secure, data);
  assert.ok(got.length === data.length && got.every((b, i) => b === data[i]), 'the echo is intact');
  await secure.close();
});

test('Wisp: 20 TLS connections in parallel over one WebSocket, each verified and echoed', async (s) => {
  const wisp = wispClient(s, env.main);
  const info = await wisp.ready();
  assert.equal([info.version, info.motd], [2, 'hello from workerd']);
  const done = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const secure = await connect(wisp.connect(HOST, env.tlsPort), TLS_OPTIONS);
    try {
      assert.ok(secure.authorized);
      const data = payload(i, 40_000 + i);
      const got = await echo(secure, data);
      assert.ok(got.length === data.length && got.every((b, k) => b === data[k]), `connection ${i}`);
      return i;
    } finally {
      await secure.close();
    }
  }));
  assert.is(done.length, 20);
  assert.is(wisp.connections, 1);
});

test('refusals: not allowed (4003, 0x48), refused (1011 ECONNREFUSED, 0x44), origins (4003)', async (s) => {
  assert.equal(await closeOf(`${env.main.url}?target=${HOST}:9`), { code: 4003, reason: `target ${HOST}:9 is not allowed` });
  assert.equal(await closeOf(`${env.main.url}?target=${HOST}:${env.deadPort}`), { code: 1011, reason: `ECONNREFUSED (${HOST}:${env.deadPort})` });
  assert.equal(await closeOf(`${env.main.url}?target=${HOST}:${env.tlsPort}`, { origin: 'http://evil.example' }),
    { code: 4003, reason: 'origin http://evil.example is not allowed' });
  const wisp = wispClient(s, env.main);
  let e = wispError(await rejection(connect(wisp.connect(HOST, 9), TLS_OPTIONS)));
  assert.equal([e.code, e.closeReason], ['EACCES', 0x48]);
  e = wispError(await rejection(connect(wisp.connect(HOST, env.deadPort), TLS_OPTIONS)));
  assert.equal([e.code, e.closeReason], ['ECONNREFUSED', 0x44]);
});

test('DNS over HTTPS: names resolved and every answer checked; a wildcard does not reach localhost, an exact entry reaches its name', async (s) => {
  const wisp = wispClient(s, env.main);
  let e = wispError(await rejection(connect(wisp.connect('localhost', env.tlsPort), TLS_OPTIONS)));
  assert.equal([e.code, e.closeReason], ['EACCES', 0x48], 'localhost through *:PORT');
  assert.ok(env.dohQueries.includes('localhost A'), 'the Worker asked the resolver');
  e = wispError(await rejection(connect(wisp.connect('nowhere.test', env.tlsPort), TLS_OPTIONS)));
  assert.equal([e.code, e.closeReason], ['ENOTFOUND', 0x42]);
  const secure = await connect(wisp.connect('tls.test', env.tlsPort), TLS_OPTIONS);
  assert.ok(secure.authorized, 'tls.test (an exact entry) resolved to 127.0.0.1 and was reached there');
  await secure.close();
  assert.equal(await closeOf(`${env.main.url}?target=localhost:${env.tlsPort}`),
    { code: 4003, reason: `target localhost:${env.tlsPort} resolves to 127.0.0.1, a loopback address: not allowed` });
});

test('limits: streams per client (0x49)', async (s) => {
  const wisp = wispClient(s, env.main);
  const open = await Promise.all(Array.from({ length: 24 }, () => connect(wisp.connect(HOST, env.tlsPort), TLS_OPTIONS)));
  const e = wispError(await rejection(connect(wisp.connect(HOST, env.tlsPort), TLS_OPTIONS)));
  assert.equal([e.code, e.closeReason], ['ERR_WISP_THROTTLED', 0x49]);
  for (const c of open) await c.close();
});

test('password authentication, allowPrivate, and ?target refused where authentication is required', async (s) => {
  const good = wispClient(s, env.auth, { username: 'alice', password: 's3cret' });
  const secure = await connect(good.connect('localhost', env.tlsPort), TLS_OPTIONS);
  assert.ok(secure.authorized, 'RELAY_ALLOW_PRIVATE: localhost through *:PORT');
  await secure.close();
  const bad = wispClient(s, env.auth, { username: 'alice', password: 'nope' });
  assert.is((await rejection(bad.ready())).code, 'ERR_WISP_AUTH_FAILED');
  assert.is((await rejection(wispClient(s, env.auth).ready())).code, 'ERR_WISP_AUTH_REQUIRED');
  assert.equal(await closeOf(`${env.auth.url}?target=${HOST}:${env.tlsPort}`), { code: 4003, reason: 'this relay requires Wisp v2 password authentication' });
});

test('configuration: a Worker without RELAY_ALLOW answers 500 saying so; plain HTTP gets 426', async (s) => {
  const bare = await startWorkerd({});
  s.defer(() => bare.close());
  const ws = new WsWebSocket(bare.url);
  ws.on('error', () => {});
  const [status, body] = await new Promise((resolve) => ws.on('unexpected-response', (req, res) => {
    let text = '';
    res.on('data', (d) => { text += d; });
    res.on('end', () => resolve([res.statusCode, text]));
  }));
  assert.is(status, 500);
  assert.match(body, 'the relay is misconfigured: RELAY_ALLOW: list at least one host:port');
  const plain = await fetch(`http://${HOST}:${env.main.port}/`);
  assert.is(plain.status, 426);
});

t.run();
