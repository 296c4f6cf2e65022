#!/usr/bin/env node
// openssl-tls-wasm-relay: a WebSocket-to-TCP relay for TLS from browsers (see dist/relay.js),
// in ?target=host:port mode and as a Wisp server.
//   openssl-tls-wasm-relay --port 8080 --allow localhost:8443 [--allow host:port ...] [--host 127.0.0.1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import process from 'node:process';

const USAGE = `usage: openssl-tls-wasm-relay --allow HOST:PORT [--allow HOST:PORT ...] [options]

Relays WebSocket connections to TCP, so that a browser page can run TLS (openssl-tls-wasm's
connect()) to a server. It never sees plaintext. It speaks two protocols on one port:
  ws://HOST:PORT/?target=TARGET_HOST:TARGET_PORT   one WebSocket, one TCP connection
  ws://HOST:PORT/                                  Wisp (v1, v2): many TCP streams per WebSocket
and connects only to destinations the allowlist names.

options:
  --allow HOST:PORT   a destination the relay may connect to (repeat for more; required).
                      HOST may be *.example.com (names under it) or * (any); PORT may be *.
                      Names are resolved once and every address checked: wildcards never
                      reach loopback or private addresses (exact entries reach what they name)
  --allow-private     let wildcard entries reach loopback and private addresses too
  --port N            the port to listen on (default 8080; 0 picks a free one)
  --host ADDR         the address to listen on (default 127.0.0.1: this machine only)
  --path /PATH        accept WebSockets only on this path (default: any)
  --origin ORIGIN     accept browser pages only from this origin, e.g. https://app.example
                      (repeat for more; default: any)
  --mode MODES        target, wisp, or target,wisp (default)
  --passwords FILE    require Wisp v2 password authentication: FILE holds a JSON object of
                      username to password (?target mode is then refused)
  --motd TEXT         a Wisp v2 message of the day
  --max-websockets N, --max-websockets-per-client N, --max-streams N,
  --max-streams-per-client N   limits (defaults 1024, 32, 4096, 128)
  --connect-timeout MS, --idle-timeout MS   (defaults 10000 and 300000; 0 turns idle off)
  --quiet             do not log connections
  -h, --help          show this help`;

/** A usage error: what is wrong, the first line of the usage, and exit status 2. */
function fail(message) {
  process.stderr.write(`openssl-tls-wasm-relay: ${message}\n${USAGE.split('\n')[0]}\n(--help for more)\n`);
  process.exit(2);
}

const LIMITS = {
  'max-websockets': 'maxWebSockets', 'max-websockets-per-client': 'maxWebSocketsPerClient',
  'max-streams': 'maxStreams', 'max-streams-per-client': 'maxStreamsPerClient',
  'connect-timeout': 'connectTimeout', 'idle-timeout': 'idleTimeout',
};

let args;
try {
  args = parseArgs({
    options: {
      allow: { type: 'string', multiple: true },
      'allow-private': { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      origin: { type: 'string', multiple: true },
      mode: { type: 'string' },
      passwords: { type: 'string' },
      motd: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(Object.keys(LIMITS).map((k) => [k, { type: 'string' }])),
    },
    allowPositionals: false,
  }).values;
} catch (e) {
  fail(e.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!args.allow?.length) fail('give at least one --allow HOST:PORT');
const port = args.port === undefined ? 8080 : /^\d+$/.test(args.port) ? Number(args.port) : NaN;
if (!(port >= 0 && port <= 65535)) fail(`--port ${args.port} is not a port number`);
const limits = {};
for (const [flag, key] of Object.entries(LIMITS)) {
  if (args[flag] === undefined) continue;
  if (!/^\d+$/.test(args[flag])) fail(`--${flag} ${args[flag]} is not a number`);
  limits[key] = Number(args[flag]);
}
let passwords;
if (args.passwords !== undefined) {
  try {
    passwords = JSON.parse(readFileSync(args.passwords, 'utf8'));
  } catch (e) {
    fail(`--passwords ${args.passwords}: ${e.code === 'ENOENT' ? 'no such file' : 'not a JSON object of username to password'}`);
  }
}

let createRelay;
try {
  ({ createRelay } = await import('../dist/relay.js'));
} catch (e) {
  process.stderr.write(`openssl-tls-wasm-relay: cannot load dist/relay.js (run \`make\` first?): ${e.message}\n`);
  process.exit(1);
}

const log = args.quiet ? () => {} : (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
let relay;
try {
  relay = await createRelay({
    port,
    host: args.host ?? '127.0.0.1',
    allow: args.allow,
    allowPrivate: args['allow-private'],
    path: args.path,
    origins: args.origin,
    modes: args.mode?.split(',').map((m) => m.trim()),
    passwords,
    motd: args.motd,
    ...limits,
    onEvent(e) {
      if (e.type === 'open') log(`#${e.id} ${e.client} -> ${e.target}${e.mode === 'wisp' ? ' (Wisp)' : ''}`);
      else if (e.type === 'wisp') log(`${e.client}: Wisp v${e.version}`);
      else if (e.type === 'refused') log(`refused ${e.client}${e.target ? ` -> ${e.target}` : ''}: ${e.reason}`);
      else log(`#${e.id} closed ${e.mode === 'wisp' ? `0x${e.code.toString(16).padStart(2, '0')}` : e.code}${e.reason ? ` (${e.reason})` : ''}, ${e.bytesUp} bytes up, ${e.bytesDown} down`);
    },
  });
} catch (e) {
  const flags = { origins: 'origin', modes: 'mode', ...Object.fromEntries(Object.entries(LIMITS).map(([f, k]) => [k, f])) };
  if (e instanceof TypeError) fail(e.message.replace(/^(\w+):/, (_, o) => `--${flags[o] ?? o}:`));
  process.stderr.write(`openssl-tls-wasm-relay: ${e.code === 'EADDRINUSE' ? `port ${port} is in use` : e.message}\n`);
  process.exit(1);
}

process.stdout.write(`openssl-tls-wasm-relay listening on ${relay.url}\n`);
for (const target of args.allow) process.stdout.write(`  allowed: ${target}\n`);
const modes = args.mode?.split(',').map((m) => m.trim()) ?? ['target', 'wisp'];
if (modes.includes('target')) process.stdout.write(`  ?target mode: ${relay.url}?target=HOST:PORT\n`);
if (modes.includes('wisp')) process.stdout.write(`  Wisp: ${relay.url}\n`);
if (!args.origin) {
  process.stdout.write('  note: any web page open in a browser that can reach the relay may use it; restrict pages with --origin\n');
}

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(1); // a second Ctrl-C: do not wait
  stopping = true;
  await relay.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
