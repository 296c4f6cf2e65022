#!/usr/bin/env node
// openssl-tls-wasm-relay: a WebSocket-to-TCP relay for TLS from browsers (see dist/relay.js).
//   openssl-tls-wasm-relay --port 8080 --allow localhost:8443 [--allow host:port ...] [--host 127.0.0.1]
import { parseArgs } from 'node:util';
import process from 'node:process';

const USAGE = `usage: openssl-tls-wasm-relay --allow HOST:PORT [--allow HOST:PORT ...] [options]

Relays WebSocket connections to TCP, so that a browser page can run TLS (openssl-tls-wasm's
connect()) to a server. The page opens  ws://HOST:PORT/?target=TARGET_HOST:TARGET_PORT
and the relay connects only to targets listed with --allow. It never sees plaintext.

options:
  --allow HOST:PORT   a target the relay may connect to (repeat for more; required)
  --port N            the port to listen on (default 8080; 0 picks a free one)
  --host ADDR         the address to listen on (default 127.0.0.1: this machine only)
  --path /PATH        accept WebSockets only on this path (default: any)
  --origin ORIGIN     accept browser pages only from this origin, e.g. https://app.example
                      (repeat for more; default: any)
  --quiet             do not log connections
  -h, --help          show this help`;

/** A usage error: what is wrong, the first line of the usage, and exit status 2. */
function fail(message) {
  process.stderr.write(`openssl-tls-wasm-relay: ${message}\n${USAGE.split('\n')[0]}\n(--help for more)\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      allow: { type: 'string', multiple: true },
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      origin: { type: 'string', multiple: true },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
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
    path: args.path,
    origins: args.origin,
    onEvent(e) {
      if (e.type === 'open') log(`#${e.id} ${e.client} -> ${e.target}`);
      else if (e.type === 'refused') log(`refused ${e.client}: ${e.reason}`);
      else log(`#${e.id} closed ${e.code}${e.reason ? ` (${e.reason})` : ''}, ${e.bytesUp} bytes up, ${e.bytesDown} down`);
    },
  });
} catch (e) {
  if (e instanceof TypeError) fail(e.message.replace(/^(allow|path|port|origins):/, (_, o) => `--${o === 'origins' ? 'origin' : o}:`));
  process.stderr.write(`openssl-tls-wasm-relay: ${e.code === 'EADDRINUSE' ? `port ${port} is in use` : e.message}\n`);
  process.exit(1);
}

process.stdout.write(`openssl-tls-wasm-relay listening on ${relay.url}\n`);
for (const target of args.allow) process.stdout.write(`  allowed: ${relay.url}?target=${target}\n`);
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
