// A page that uses the installed package as a bundler gives it: TLS to the test's server over
// a WebSocket to the relay. It writes what happened into <body data-*> for the test to read.
import { connect } from 'openssl-tls-wasm';

async function run() {
  const config = await (await fetch('/config.json')).json();
  const ws = new WebSocket(`${config.relay}?target=${encodeURIComponent(config.target)}`);
  const tls = await connect(ws, { servername: 'localhost', ca: config.ca });
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
  let text = '';
  for await (const chunk of tls.readable) text += new TextDecoder().decode(chunk);
  return { protocol: tls.getProtocol(), authorized: tls.authorized, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

run().then((result) => {
  document.body.dataset.result = JSON.stringify(result);
  document.body.dataset.state = 'done';
}, (e) => {
  document.body.dataset.error = `${e.code ?? ''} ${e.message}`;
  document.body.dataset.state = 'error';
});
