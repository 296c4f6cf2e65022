// The real servers test/fetch.test.js (and bench/fetch.mjs) fetch from, started in Node as a
// child process of the test in every runtime, all on 127.0.0.1 with ephemeral ports:
//   node test/fetch-servers.mjs
// prints one JSON line { nginx, node, closer, raw, plain, wisp } (ports), then answers
// commands on stdin, one a line, each with one JSON line:
//   stats <id>        what the node server counted for the request tagged ?id=<id>
//   connections <name> how many TCP connections that server has accepted
//   workerd           starts (once) workerd with test/fetch-worker.js, fetch() in a Worker
//                     over cloudflare:sockets, twice: { plain, node } are the ports of the
//                     Worker without compatibility flags and with nodejs_compat
//   workerd-log       the end of workerd's output
// It exits when stdin ends, so it never outlives the test.
//
// The servers:
//   nginx   Debian's nginx: TLS 1.3 only, HTTP/2 and HTTP/1.1 (ALPN), gzip on, trailers
//           (add_trailer) on /trailers/, static files (/hello.txt, /big.txt, /data.bin of
//           32 MiB), /204, redirects. Its config is generated into a temporary directory.
//   node    node:http2's secure server with HTTP/1.1 allowed: echo, early hints, every
//           content coding, redirects, GOAWAY, RST_STREAM, slow and large bodies, slow uploads.
//   closer  node:https, HTTP/1.1: drops the connection, without answering, when a second
//           request arrives on it (the race a pooled connection loses when the server closes
//           it as the client reuses it); /close-after closes 50 ms after answering.
//   raw     node:tls writing responses by hand: close-delimited bodies, 1xx, malformed bytes,
//           a body cut short.
//   plain   node:http without TLS, for http: URLs.
//   wisp    @mercuryworkshop/wisp-js, loopback allowed, for fetch through Wisp.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import http2 from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { server as wispjs, logging } from '@mercuryworkshop/wisp-js/server';
import { startWorkerd } from './workerd.js';

const HOST = '127.0.0.1';
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const cert = join(fixtures, 'ecdsa-chain.pem');
const key = join(fixtures, 'ecdsa.key');
const tlsOptions = { cert: await import('node:fs').then((fs) => fs.readFileSync(cert)), key: await import('node:fs').then((fs) => fs.readFileSync(key)) };
/** The text every coding test decodes. */
const TEXT = 'openssl-tls-wasm fetch test body. '.repeat(200);

const listen = (server) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, HOST, () => resolve(server.address().port));
});
const counted = (server) => {
  let n = 0;
  server.on('connection', (s) => { n++; s.on('error', () => {}); });
  return () => n;
};
const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, HOST, () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

// ------------------------------------------------------------ nginx

const dir = mkdtempSync(join(tmpdir(), 'openssl-tls-wasm-nginx-'));
const www = join(dir, 'www');
mkdirSync(join(www, 'trailers'), { recursive: true });
writeFileSync(join(www, 'hello.txt'), 'hello from nginx\n');
writeFileSync(join(www, 'big.txt'), TEXT.repeat(200)); // about 1.3 MB, gzip'd on the fly (chunked)
writeFileSync(join(www, 'trailers', 't.txt'), TEXT);
const data = randomBytes(32 << 20);
writeFileSync(join(www, 'data.bin'), data);
const dataSha = createHash('sha256').update(data).digest('hex');
const nginxPort = await freePort();
writeFileSync(join(dir, 'nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  types { text/plain txt; application/octet-stream bin; }
  default_type application/octet-stream;
  gzip on; gzip_types text/plain; gzip_min_length 64;
  keepalive_requests 10000; keepalive_timeout 75s;
  server {
    listen ${HOST}:${nginxPort} ssl http2;
    ssl_certificate ${cert}; ssl_certificate_key ${key};
    ssl_protocols TLSv1.3;
    root ${www};
    location = /204 { return 204; }
    location = /redirect { return 302 /hello.txt; }
    location = /redirect-loop { return 302 /redirect-loop; }
    location /trailers/ { add_trailer X-Checksum abc123 always; add_trailer X-Second two always; }
  }
}
`);
const nginx = spawn(process.env.NGINX ?? '/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
let nginxErr = '';
nginx.stderr.on('data', (d) => { nginxErr += d; });
nginx.on('exit', (code) => { if (!stopping) { console.error(`nginx exited (${code}): ${nginxErr}`); process.exit(1); } });
// Ready when it accepts a connection.
for (let i = 0; ; i++) {
  const ok = await new Promise((resolve) => {
    const s = net.connect(nginxPort, HOST, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
  if (ok) break;
  if (i > 100) { console.error(`nginx did not start: ${nginxErr}`); process.exit(1); }
  await new Promise((r) => setTimeout(r, 50));
}

// ------------------------------------------------------------ node: http2 (and HTTP/1.1)

const stats = new Map();
let sessions = 0;
const sessionIds = new WeakMap();

function handler(req, res) {
  const url = new URL(req.url, 'https://x');
  const id = url.searchParams.get('id');
  const stat = id ? (stats.get(id) ?? stats.set(id, { written: 0, received: 0, done: false }).get(id)) : undefined;
  const session = req.stream?.session;
  if (session && !sessionIds.has(session)) sessionIds.set(session, ++sessions);
  res.setHeader('x-session', String(session ? sessionIds.get(session) : 0));
  res.setHeader('x-http-version', req.httpVersion);
  switch (url.pathname) {
    case '/echo': {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (d) => { bytes += d.length; hash.update(d); });
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bytes, sha256: hash.digest('hex'), httpVersion: req.httpVersion }));
      });
      return;
    }
    case '/slow-upload': { // reads the first chunk, then nothing for `pause` ms
      const hash = createHash('sha256');
      let paused = false;
      req.on('data', (d) => {
        stat.received += d.length;
        hash.update(d);
        if (!paused) { paused = true; req.pause(); setTimeout(() => req.resume(), Number(url.searchParams.get('pause') ?? 500)); }
      });
      req.on('end', () => res.end(JSON.stringify({ bytes: stat.received, sha256: hash.digest('hex') })));
      return;
    }
    case '/big': { // `mib` MiB of 'x', as fast as the client takes it; counts what was handed over
      const total = Number(url.searchParams.get('mib') ?? 16) << 20;
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.setHeader('content-length', String(total));
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          const ok = res.write(chunk, () => { stat && (stat.written += chunk.length); });
          if (!ok) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
      res.on('close', () => { if (stat) stat.done = true; });
      return;
    }
    case '/early-hints':
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      setTimeout(() => res.end('after hints'), 20);
      return;
    case '/encoded': {
      const coding = url.searchParams.get('coding');
      const body = coding === 'gzip' ? zlib.gzipSync(TEXT) : coding === 'deflate' ? zlib.deflateSync(TEXT)
        : coding === 'deflate-raw' ? zlib.deflateRawSync(TEXT) : coding === 'br' ? zlib.brotliCompressSync(TEXT)
        : coding === 'gzip, br' ? zlib.brotliCompressSync(zlib.gzipSync(TEXT)) : Buffer.from(TEXT);
      res.setHeader('content-encoding', coding === 'deflate-raw' ? 'deflate' : coding);
      res.end(body);
      return;
    }
    case '/redirect': {
      res.statusCode = Number(url.searchParams.get('status') ?? 302);
      res.setHeader('location', url.searchParams.get('to'));
      res.end('moved');
      return;
    }
    case '/cookie':
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.end('cookies');
      return;
    case '/status':
      res.statusCode = Number(url.searchParams.get('code'));
      res.end();
      return;
    case '/goaway': // the first request of a session answers after a GOAWAY naming it the last stream
      if (session && !session.goawaySent) {
        session.goawaySent = true;
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, req.stream.id);
        setTimeout(() => res.end(`first ${req.stream.id}`), 100);
      } else setTimeout(() => res.end(`later ${req.stream?.id ?? 0}`), session?.goawaySent && sessionIds.get(session) === 1 ? 300 : 0);
      return;
    case '/rst':
      req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    case '/rst-mid':
      res.write('x'.repeat(1000));
      setTimeout(() => req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 50);
      return;
    case '/hang':
      return;
    case '/slow-body': {
      let n = 0;
      const timer = setInterval(() => { res.write(`tick ${n++}\n`); if (n === 40) { clearInterval(timer); res.end(); } }, 50);
      res.on('close', () => clearInterval(timer));
      return;
    }
    default:
      res.end(`hello ${req.method} ${url.pathname} over ${req.httpVersion}`);
  }
}

const nodeServer = http2.createSecureServer({ ...tlsOptions, allowHTTP1: true }, handler);
nodeServer.on('error', () => {});
const nodeConnections = counted(nodeServer);
const nodePort = await listen(nodeServer);

// ------------------------------------------------------------ closer

let closerId = 0;
const closer = createHttpsServer({ ...tlsOptions, keepAliveTimeout: 60_000 }, (req, res) => {
  const socket = req.socket;
  socket.requests = (socket.requests ?? 0) + 1;
  socket.id ??= ++closerId;
  req.resume();
  if (req.url === '/close-after') {
    res.end(`connection ${socket.id}`);
    setTimeout(() => socket.destroy(), 50);
    return;
  }
  if (socket.requests >= 2) { socket.destroy(); return; } // as if it had closed just before
  res.end(`connection ${socket.id}`);
});
const closerConnections = counted(closer);
const closerPort = await listen(closer);

// ------------------------------------------------------------ raw

const RAW = {
  '/close-delimited': () => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${'close-delimited body '.repeat(500)}`,
  '/http10': () => `HTTP/1.0 200 OK\r\n\r\nhttp/1.0 body`,
  '/1xx': () => 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: yes\r\n\r\nfinal',
  '/garbage': () => 'NOT HTTP AT ALL\r\n\r\n',
  '/cut': () => 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b',
  '/chunked': () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Other: yes\r\n\r\n',
};
const raw = tls.createServer(tlsOptions, (socket) => {
  socket.on('error', () => {});
  let head = '';
  socket.on('data', (d) => {
    head += d;
    if (!head.includes('\r\n\r\n')) return;
    const path = head.split(' ')[1];
    socket.end(RAW[path]?.() ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  });
});
const rawPort = await listen(raw);

// ------------------------------------------------------------ plain

const plain = createHttpServer(handler);
const plainPort = await listen(plain);

// ------------------------------------------------------------ wisp

logging.set_level(logging.NONE);
Object.assign(wispjs.options, { allow_loopback_ips: true, allow_private_ips: false });
const wispServer = createHttpServer((req, res) => res.end('wisp'));
wispServer.on('upgrade', (req, socket, head) => { socket.on('error', () => {}); wispjs.routeRequest(req, socket, head); });
const wispPort = await listen(wispServer);

let stopping = false;
const counters = { node: nodeConnections, closer: closerConnections };
console.log(JSON.stringify({ nginx: nginxPort, node: nodePort, closer: closerPort, raw: rawPort, plain: plainPort, wisp: wispPort, dataSha, text: TEXT }));

let workerd;
let workerdUp; // once it has started
const startFetchWorker = () => startWorkerd({}, {
  entry: fileURLToPath(new URL('./fetch-worker.js', import.meta.url)),
  variants: { plain: [], node: ['nodejs_compat'] },
}).then((w) => { workerdUp = w; return w; });

// Commands are answered in order, each after the one before.
let answering = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  answering = answering.then(async () => {
    if (cmd === 'stats') return stats.get(arg) ?? null;
    if (cmd === 'connections') return counters[arg]?.() ?? null;
    if (cmd === 'workerd-log') return workerd ? (await workerd).log().slice(-4000) : '';
    if (cmd === 'workerd') {
      workerd ??= startFetchWorker();
      try {
        return (await workerd).ports;
      } catch (e) {
        workerd = undefined;
        return { error: String(e.message ?? e) };
      }
    }
    return { error: `unknown command ${cmd}` };
  }).then((answer) => console.log(JSON.stringify(answer)));
});
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  nginx.kill();
  rmSync(dir, { recursive: true, force: true });
  await workerd?.then((w) => w.close(), () => {});
  process.exit(0);
};
lines.on('close', shutdown);
process.on('SIGTERM', shutdown); // the test's kill() too stops nginx and workerd
process.stdout.on('error', shutdown); // the test has gone
// However this process ends, nginx and workerd end with it (their signals are sent at once).
process.on('exit', () => {
  nginx.kill();
  workerdUp?.close();
});
