// The servers of bench/wisp-cpu.mjs, in their own process so that the client's CPU time is its
// own: a wisp-js server, and node:tls targets with the test RSA and ECDSA chains. Prints
// {"wispUrl", "rsaPort", "ecdsaPort"} as one line; ends when its stdin does.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import tls from 'node:tls';
import { server as wispjs, logging as wispLogging } from '@mercuryworkshop/wisp-js/server';

const fixture = (name) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8');
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const target = (cert, key) => {
  const s = tls.createServer({ cert: fixture(cert), key: fixture(key) }, (t) => { t.on('error', () => {}); t.pipe(t); });
  s.on('tlsClientError', () => {});
  return listen(s);
};
const rsaPort = await target('rsa-chain.pem', 'rsa.key');
const ecdsaPort = await target('ecdsa-chain.pem', 'ecdsa.key');
wispLogging.set_level(wispLogging.NONE);
Object.assign(wispjs.options, { allow_loopback_ips: true });
const wispServer = createHttpServer((req, res) => { res.writeHead(426); res.end(); });
wispServer.on('upgrade', (req, socket, head) => { socket.on('error', () => {}); wispjs.routeRequest(req, socket, head); });
const wispUrl = `ws://127.0.0.1:${await listen(wispServer)}/`;
process.stdout.write(`${JSON.stringify({ wispUrl, rsaPort, ecdsaPort })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
