// The Wisp servers users run, from npm, for test/wisp.test.js and the browser test: started
// in Node (they are Node servers), as a child process of the test in every runtime, all on
// 127.0.0.1 with ephemeral ports.
//   node test/wisp-servers.mjs
// prints one JSON line with the servers' ports, then takes commands on stdin, one a line,
// and answers each with one JSON line:
//   drop <name>     destroys the TCP connection under every WebSocket of that server
//   upgrades <name> how many WebSocket upgrades that server has had
// It exits when stdin ends, so it never outlives the test.
//
// The servers:
//   wispjs      @mercuryworkshop/wisp-js, Wisp v2 (and v1 for clients that do not ask for v2),
//               loopback destinations allowed, the hostname blocked.invalid blocked (0x48)
//   wispjsAuth  the same, announcing that password authentication is required (wisp-js
//               announces it but does not check the password: test/wisp.test.js's scripted
//               server checks refusals)
//   wispnode    wisp-server-node, Wisp v1 (which reports a refused connection as 0x44)
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import process from 'node:process';
import { server as wispjs, logging } from '@mercuryworkshop/wisp-js/server';
import { extensions } from '@mercuryworkshop/wisp-js/server';
import wispnode from 'wisp-server-node';

const HOST = '127.0.0.1';

logging.set_level(logging.NONE);
Object.assign(wispjs.options, {
  allow_loopback_ips: true,
  allow_private_ips: false,
  hostname_blacklist: [/^blocked\.invalid$/],
  wisp_motd: 'openssl-tls-wasm test server',
});

/** An HTTP server whose upgrades go to `route`; keeps the upgraded sockets for `drop`. */
function start(name, route) {
  const sockets = new Set();
  let upgrades = 0;
  const server = createServer((req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('a Wisp server: connect with a WebSocket\n');
  });
  server.on('upgrade', (req, socket, head) => {
    upgrades++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    route(req, socket, head);
  });
  return new Promise((resolve) => {
    server.listen(0, HOST, () => resolve({
      name,
      port: server.address().port,
      drop() {
        const n = sockets.size;
        for (const s of sockets) s.destroy();
        return n;
      },
      get upgrades() { return upgrades; },
    }));
  });
}

const servers = await Promise.all([
  start('wispjs', (req, socket, head) => wispjs.routeRequest(req, socket, head)),
  start('wispjsAuth', (req, socket, head) => wispjs.routeRequest(req, socket, head, {
    wisp_extensions: [new extensions.PasswordAuthExtension({ server_config: { required: 1 } })],
  })),
  start('wispnode', (req, socket, head) => wispnode.routeRequest(req, socket, head, { logLevel: 4 /* NONE */ })),
]);
const byName = Object.fromEntries(servers.map((s) => [s.name, s]));
process.stdout.write(`${JSON.stringify(Object.fromEntries(servers.map((s) => [s.name, s.port])))}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, name] = line.trim().split(/\s+/);
  const s = byName[name];
  let answer;
  if (!s) answer = { error: `no server ${name}` };
  else if (cmd === 'drop') answer = { dropped: s.drop() };
  else if (cmd === 'upgrades') answer = { upgrades: s.upgrades };
  else answer = { error: `unknown command ${cmd}` };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
lines.on('close', () => process.exit(0));
