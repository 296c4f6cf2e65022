// The installed package as a Node, Deno or Bun program uses it (ESM): every entry, both
// flavors, the testing module, and a TLS connection to the test's server.
//   node|deno run -A|bun consumer.mjs PORT CA_FILE
import net from 'node:net';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { connect, getOpenSSL, TlsError } from 'openssl-tls-wasm';
import { connectDuplex } from 'openssl-tls-wasm/node';
import { Sandbox } from 'openssl-tls-wasm/testing';
import { rootCertificates } from 'openssl-tls-wasm/root-certificates';

const [port, caFile] = process.argv.slice(2);
const ca = readFileSync(caFile, 'utf8');
const request = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');

async function get(tls) {
  const writer = tls.writable.getWriter();
  await writer.write(request);
  let text = '';
  for await (const chunk of tls.readable) text += new TextDecoder().decode(chunk);
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

const small = await getOpenSSL();
const full = await getOpenSSL({ flavor: 'full' });
const sandbox = await Sandbox.create({ seed: 'package' });
const root = sandbox.pki.root({ subject: 'Package Root' });
const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'] });
sandbox.connect({ server: { cert: leaf.chainPem, key: leaf.keyPem }, client: { ca: root.certPem, servername: 'localhost' } });
sandbox.handshake();

const tls = await connect(net.connect(Number(port), '127.0.0.1'), { servername: 'localhost', ca });
const result = { protocol: tls.getProtocol(), authorized: tls.authorized, body: await get(tls) };
const duplex = connectDuplex(net.connect(Number(port), '127.0.0.1'), { servername: 'localhost', ca });
const duplexBody = await new Promise((resolve, reject) => {
  let text = '';
  duplex.on('secureConnect', () => duplex.write(request));
  duplex.on('data', (d) => { text += d; });
  duplex.on('end', () => resolve(text.slice(text.indexOf('\r\n\r\n') + 4)));
  duplex.on('error', reject);
});
console.log(JSON.stringify({
  version: small.version, flavors: [small.flavor, full.flavor], sandbox: sandbox.client.engine.negotiated().protocol,
  tlsErrorIsClass: typeof TlsError === 'function', roots: rootCertificates.length, ...result, duplexBody,
}));
