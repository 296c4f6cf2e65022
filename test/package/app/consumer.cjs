// The installed package from CommonJS: require() of its ES modules (Node 20.19+, 22.12+).
//   node consumer.cjs PORT CA_FILE
const net = require('node:net');
const { readFileSync } = require('node:fs');
const { connect, getOpenSSL } = require('openssl-tls-wasm');
const { TlsDuplex } = require('openssl-tls-wasm/node');
const { loadTestingOpenSSL } = require('openssl-tls-wasm/testing');
const { rootCertificates } = require('openssl-tls-wasm/root-certificates');

(async () => {
  const [port, caFile] = process.argv.slice(2);
  const ca = readFileSync(caFile, 'utf8');
  const openssl = await getOpenSSL();
  const testing = await loadTestingOpenSSL();
  const tls = await connect(net.connect(Number(port), '127.0.0.1'), { servername: 'localhost', ca });
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
  let text = '';
  for await (const chunk of tls.readable) text += new TextDecoder().decode(chunk);
  console.log(JSON.stringify({
    version: openssl.version, testing: testing.flavor, duplex: typeof TlsDuplex, roots: rootCertificates.length,
    protocol: tls.getProtocol(), body: text.slice(text.indexOf('\r\n\r\n') + 4),
  }));
})().catch((e) => { console.error(e); process.exit(1); });
