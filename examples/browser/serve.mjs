// Runs the browser example on this machine, all on 127.0.0.1:
//   - a demo HTTPS server (node:https with the test certificates in test/fixtures),
//   - an HTTP server for the page, its bundle and openssl.wasm, and config.json (the relay's
//     URL, the target and the test CA, so the form comes filled in),
//   - the relay, on the same HTTP server at /relay, allowing only the demo server.
//
//   make && node examples/browser/serve.mjs [--port 8000] [--https-port 8443]
//
// then open the address it prints. Not for production: it trusts a test CA whose key is public.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { parseArgs } from 'node:util';
import process from 'node:process';
import { buildExample } from './build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'test', 'fixtures');
const HOST = '127.0.0.1';

const { values: args } = parseArgs({
  options: { port: { type: 'string', default: '8000' }, 'https-port': { type: 'string', default: '8443' } },
});

await buildExample();
const { createRelay } = await import('../../dist/relay.js');

const listen = (server, port) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(port), HOST, () => resolve(server.address().port));
});

// The demo HTTPS server: answers every request with a few words about the connection.
const https = createHttpsServer({
  cert: readFileSync(join(fixtures, 'rsa-chain.pem')),
  key: readFileSync(join(fixtures, 'rsa.key')),
}, (req, res) => {
  const s = req.socket;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(`Hello from the demo HTTPS server!\n${req.method} ${req.url} over ${s.getProtocol()} with ${s.getCipher().name}\n`);
});
const httpsPort = await listen(https, args['https-port']);
const target = `localhost:${httpsPort}`;

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm', // lets the browser compile while it downloads
};

// The page's server. Only files under examples/browser are served.
const http = createHttpServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://x');
  if (pathname === '/config.json') {
    const config = {
      relay: `ws://${req.headers.host}/relay`,
      target,
      servername: 'localhost',
      ca: readFileSync(join(fixtures, 'ca.pem'), 'utf8'),
    };
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return res.end(JSON.stringify(config));
  }
  const file = normalize(join(here, pathname === '/' ? 'index.html' : decodeURIComponent(pathname)));
  if (!file.startsWith(here + sep) || file.endsWith('.mjs')) {
    res.writeHead(404);
    return res.end('not found');
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end('not found');
  }
});
const port = await listen(http, args.port);
const origins = [`http://${HOST}:${port}`, `http://localhost:${port}`];
const relay = await createRelay({
  server: http,
  path: '/relay',
  allow: [target],
  origins,
  onEvent: (e) => console.log(`relay: ${e.type} ${e.type === 'refused' ? e.reason : `#${e.id} ${e.target}`}${e.type === 'close' ? ` ${e.code} ${e.reason}` : ''}`),
});

console.log(`demo HTTPS server: https://${target}/`);
console.log(`relay:              ${relay.url} (allows ${target})`);
console.log(`open:               http://${HOST}:${port}/   (or ?run=1 to connect at once)`);

const stop = async () => {
  await relay.close();
  https.closeAllConnections();
  http.closeAllConnections();
  await Promise.all([new Promise((r) => https.close(r)), new Promise((r) => http.close(r))]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
