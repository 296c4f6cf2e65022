// Testing a TLS client against a server that misbehaves, with the openssl-tls-wasm sandbox: a
// client and a server in one private OpenSSL instance, a virtual clock, seeded entropy, and a
// wire the test controls. No sockets, no timers: every run prints the same thing.
//
//   node examples/sandbox/misbehaving-server.mjs
//
// In a project that depends on openssl-tls-wasm, import from 'openssl-tls-wasm/testing' instead.
import { Sandbox } from '../../dist/testing/index.js';

const DAY = 86_400_000;
const START = Date.UTC(2030, 0, 1);

const sandbox = await Sandbox.create({ clock: START, seed: 'misbehaving-server' });

// A test PKI in the sandbox: root → intermediate → leaf, the leaf valid for 10 days.
const root = sandbox.pki.root({ subject: 'Example Root CA' });
const intermediate = root.issue({ subject: 'Example Intermediate CA', ca: true });
const leaf = intermediate.issue({ subject: 'localhost', san: ['DNS:localhost'], notAfter: START + 10 * DAY });

const client = { ca: root.certPem, servername: 'localhost' };
const goodServer = { cert: leaf.chainPem, key: leaf.keyPem };

/**
 * The client under test: handshake, send a request, read the response until the server's
 * close_notify. Returns the response, or throws the client's TlsError.
 */
function fetchGreeting(misbehave = () => {}) {
  sandbox.handshake();                       // throws a SandboxError naming the side that failed
  sandbox.client.write('GET /greeting\n');
  sandbox.run();
  if (sandbox.server.read() !== 'GET /greeting\n') throw new Error('the request did not arrive');
  misbehave();                               // the server's part: respond, maybe badly
  sandbox.run();
  const body = sandbox.client.read();        // throws the client's error if nothing arrived
  if (sandbox.client.error) throw Object.assign(sandbox.client.error, { partial: body });
  if (!sandbox.client.closed) throw new Error(`no close_notify after ${JSON.stringify(body)}`);
  return body;
}

const respond = () => { sandbox.server.write('hello, client'); sandbox.server.shutdown(); };

const scenarios = [
  {
    name: 'a well-behaved server',
    expect: 'ok',
    run: () => { sandbox.connect({ server: goodServer, client }); return fetchGreeting(respond); },
  },
  {
    name: 'a bad chain: the server leaves out its intermediate',
    expect: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    run: () => {
      sandbox.connect({ server: { cert: leaf.certPem, key: leaf.keyPem }, client });
      return fetchGreeting(respond);
    },
  },
  {
    name: 'an expired certificate: the clock moved 11 days on',
    expect: 'CERT_HAS_EXPIRED',
    run: () => {
      sandbox.clock.advance(11 * DAY);
      try {
        sandbox.connect({ server: goodServer, client });
        return fetchGreeting(respond);
      } finally {
        sandbox.clock.set(START);
      }
    },
  },
  {
    name: 'truncation: the response is cut off without close_notify',
    expect: 'ERR_SSL_UNEXPECTED_EOF_WHILE_READING',
    run: () => {
      sandbox.connect({ server: goodServer, client });
      return fetchGreeting(() => {
        sandbox.server.write('hello, cli');
        sandbox.wire.toClient.cut();           // a TCP FIN with no TLS close_notify
      });
    },
  },
  {
    name: 'a corrupted record: one bit of the response flipped in transit',
    expect: 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
    run: () => {
      sandbox.connect({ server: goodServer, client });
      return fetchGreeting(() => {
        const down = sandbox.wire.toClient.hold();
        respond();
        down.corrupt(0, 20).release();         // the first record: the response
      });
    },
  },
  {
    name: 'not TLS at all: the server answers in plain HTTP',
    expect: 'ERR_SSL_WRONG_VERSION_NUMBER',
    run: () => {
      sandbox.connect({ server: goodServer, client });
      sandbox.wire.intercept((record, direction) => (direction === 'toClient' ? 'drop' : 'pass'));
      sandbox.wire.toClient.inject('HTTP/1.1 400 Bad Request\r\n\r\n');
      return fetchGreeting(respond);
    },
  },
];

let failures = 0;
for (const s of scenarios) {
  let outcome;
  let line;
  try {
    const body = s.run();
    outcome = 'ok';
    line = `ok: read ${JSON.stringify(body)}, then a clean close_notify`;
  } catch (e) {
    outcome = e.code ?? e.name;
    const who = `the ${e.side ?? 'client'} failed`;  // fetchGreeting throws the client's own errors
    const alert = e.alertSent ? `; sent alert ${e.alertSent.name}` : '';
    const partial = e.partial ? `; had read ${JSON.stringify(e.partial)}` : '';
    line = `${who}: ${e.code}: ${e.cause?.message ?? e.message}${alert}${partial}`;
  }
  const good = outcome === s.expect;
  if (!good) failures++;
  console.log(`${good ? '✔' : '✘'} ${s.name}\n    ${line}${good ? '' : `\n    expected ${s.expect}`}`);
}

sandbox.free();
console.log(failures === 0 ? '\nevery misbehaviour was caught' : `\n${failures} scenario(s) did not go as expected`);
process.exitCode = failures === 0 ? 0 : 1;
