// Interop with real, independent TLS implementations over loopback TCP (127.0.0.1, ephemeral
// ports): the high-level API (`connect`, `createServer(...).accept`) against Debian's
// `openssl` 3.0 (s_server, s_client) and GnuTLS (gnutls-serv, gnutls-cli), in both roles.
//
// The matrix, every row table-driven:
// - basic: {wasm client → each peer server, each peer client → wasm server} × TLS 1.3/1.2 ×
//   RSA/ECDSA server certificate × ALPN h2/http/1.1. Application data goes both ways and is
//   checked on both sides; version, ALPN and the server's certificate are checked on both sides.
// - resumption: the same four pairings, TLS 1.3 (tickets) and TLS 1.2: the second connection
//   resumes the first one's session, and both sides say so.
// - mutual TLS: the same four pairings × TLS 1.3/1.2 × with/without a client certificate: with
//   one the server verifies it; without, the handshake (or, in TLS 1.3, the first read) fails
//   with the alert each implementation is known to send.
//
// Peers are spawned through node:child_process (test/peers.js) and always killed in a finally.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { createServer, TlsError } from '../dist/index.js';
import { connectTcp, HOST, listen, pem, scaffold } from './helpers.js';
import { fixture, runPeerClient, startGnuTLSServer, startOpenSSLServer, tempDir } from './peers.js';

const t = suite('interop');

const TIMEOUT = 15_000;
const { guard, test } = scaffold(t, TIMEOUT);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ------------------------------------------------------------------ test scaffolding

/** The first certificate of a PEM file, as DER. */
function leafDer(name) {
  const b64 = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem(name))[1].replace(/\s+/g, '');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Asserts that `text` matches `re`, showing the peer's transcript when it does not. */
function assertOutput(text, re, what, transcript = text) {
  assert.ok(re.test(text), `${what}: expected ${re} in the peer's output\n${transcript}`);
}

/** Asserts that `text` does not match `re`. */
function assertNoOutput(text, re, what, transcript = text) {
  assert.not.ok(re.test(text), `${what}: did not expect ${re} in the peer's output\n${transcript}`);
}

/**
 * The peer client's output with `answer` (the application data it printed) taken out, after
 * checking that it is there exactly once. s_client prints what it receives with a raw write()
 * but its connection details through buffered stdio, so the data can land in the middle of a
 * line of those details (even splitting "Resumption PSK: ..." in two); taking it out makes them
 * whole again.
 */
function withoutAnswer(run, answer) {
  const parts = run.stdout.split(answer);
  assert.is(parts.length - 1, 1, `the peer printed ${JSON.stringify(answer)} once\n${run.transcript}`);
  return `${parts.join('')}\n${run.stderr}`;
}

/** Reads decrypted bytes until a newline or the end; returns the text (possibly ''). */
async function readLine(reader) {
  let got = '';
  while (!got.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    got += decoder.decode(value, { stream: true });
  }
  return got;
}

/** Writes `message` over a TlsStream and resolves with the peer's one-line answer. */
async function exchange(tls, message) {
  const writer = tls.writable.getWriter();
  const reader = tls.readable.getReader();
  try {
    await writer.write(encoder.encode(message));
    return await readLine(reader);
  } finally {
    writer.releaseLock();
    reader.releaseLock();
  }
}

/** Calls `fn` and returns what it threw (failing the test if it did not throw). */
async function rejection(fn, what) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  assert.unreachable(`${what}: expected a failure`);
}

// ------------------------------------------------------------------ the matrix's axes

const VERSIONS = ['TLSv1.3', 'TLSv1.2'];
const ALPNS = ['h2', 'http/1.1'];
const ALL_ALPN = ['h2', 'http/1.1'];

/** Server certificates: the leaf, the chain (leaf + intermediate), the key, and what peers print. */
const CERTS = {
  RSA: { leaf: 'rsa.pem', chain: 'rsa-chain.pem', key: 'rsa.key', sClientKey: /Server public key is 2048 bit/, gnutlsKey: /RSA key 2048 bits/ },
  ECDSA: { leaf: 'ecdsa.pem', chain: 'ecdsa-chain.pem', key: 'ecdsa.key', sClientKey: /Server public key is 256 bit/, gnutlsKey: /EC\/ECDSA key 256 bits/ },
};

/** Our side's version limits for a TLS version (used when the wasm side is the one restricted). */
const onlyVersion = (version) => (version === 'TLSv1.2' ? { maxVersion: 'TLSv1.2' } : { minVersion: 'TLSv1.3' });

/** The GnuTLS spelling of a version: 'TLSv1.3' -> 'TLS1.3'. */
const gnutlsVersion = (version) => version.replace('TLSv', 'TLS');

/**
 * The peer servers. `start` spawns one for `connections` connections and resolves with
 * { peer, port, finish }: `finish()` waits for it to be done (s_server exits after -naccept,
 * gnutls-serv is stopped) so that its whole output can be checked.
 */
const PEER_SERVERS = {
  'openssl s_server': {
    async start({ cert, alpn, mtls, connections = 1 }) {
      const args = ['-naccept', String(connections), '-rev'];
      if (alpn) args.push('-alpn', alpn.join(','));
      if (mtls) args.push('-Verify', '1', '-CAfile', fixture('ca.pem'), '-verify_return_error');
      const { peer, port } = await startOpenSSLServer({
        cert: fixture(cert.leaf), chain: fixture('int.pem'), key: fixture(cert.key), args,
      });
      // After -naccept connections s_server prints its statistics and exits by itself.
      const finish = () => guard(peer.exited, 's_server to exit', 5000).catch(() => peer.kill());
      return { peer, port, finish };
    },
    /** s_server -rev answers each line reversed. */
    answer: (line) => `${[...line.replace(/\n$/, '')].reverse().join('')}\n`,
    version: (v) => new RegExp(`^Protocol version: ${v.replace('.', '\\.')}$`, 'm'),
    alpn: (p) => new RegExp(`^ALPN protocols selected: ${p.replace(/[/.]/g, '\\$&')}$`, 'm'),
    // How many connections resumed: its closing statistics count them as cache hits (also
    // for TLS 1.3 tickets, which s_server checks against its cache to refuse replays).
    reusedCount: (output) => Number(/^\s*(\d+) session cache hits$/m.exec(output)?.[1] ?? NaN),
    clientCert: [/^Peer certificate: CN = openssl-wasm test client$/m, /^Verification: OK$/m],
    // The alert s_server sends when a client sends no certificate, and what it prints.
    noCertAlert: { 'TLSv1.3': 'certificate_required', 'TLSv1.2': 'handshake_failure' },
    noCertMessage: /peer did not return a certificate/,
  },
  'gnutls-serv': {
    async start({ cert, alpn, mtls }) {
      const args = ['--echo'];
      for (const p of alpn ?? []) args.push('--alpn', p);
      // --require-client-cert alone takes any certificate without verifying it.
      if (mtls) args.push('--require-client-cert', '--verify-client-cert', '--x509cafile', fixture('ca.pem'));
      else args.push('--disable-client-cert');
      const { peer, port } = await startGnuTLSServer({ certChain: fixture(cert.chain), key: fixture(cert.key), args });
      // gnutls-serv serves forever; what it printed for our connections is flushed by then.
      const finish = () => peer.kill();
      return { peer, port, finish };
    },
    answer: (line) => line,
    version: (v) => new RegExp(`^- Version: ${gnutlsVersion(v).replace('.', '\\.')}$`, 'm'),
    alpn: (p) => new RegExp(`^- Application protocol: ${p.replace(/[/.]/g, '\\$&')}$`, 'm'),
    reusedCount: (output) => (output.match(/^\*\*\* This is a resumed session$/gm) ?? []).length,
    clientCert: [/^\s*Subject: CN=openssl-wasm test client$/m, /^- Status: The certificate is trusted\.\s*$/m],
    // GnuTLS answers a TLS 1.2 client without a certificate with decode_error (it does the same
    // to `openssl s_client -tls1_2`), and TLS 1.3 with certificate_required.
    noCertAlert: { 'TLSv1.3': 'certificate_required', 'TLSv1.2': 'decode_error' },
    noCertMessage: /Error in handshake: (No certificate was found|Certificate is required)/,
  },
};

/**
 * The peer clients. `args` builds the command line; `endInput` is when stdin ends (see
 * runPeerClient); the regexps are what each prints about the connection.
 */
const PEER_CLIENTS = {
  'openssl s_client': {
    command: 'openssl',
    args({ port, version, alpn, clientCert, sessOut, sessIn }) {
      const args = [
        's_client', '-connect', `${HOST}:${port}`, '-servername', 'localhost',
        '-CAfile', fixture('ca.pem'), '-verify_hostname', 'localhost', '-verify_return_error',
        // Keep reading after stdin ends, until the server closes: it answers, then closes.
        '-ign_eof',
        version === 'TLSv1.2' ? '-tls1_2' : '-tls1_3',
      ];
      if (alpn) args.push('-alpn', alpn);
      if (clientCert) args.push('-cert', fixture('client.pem'), '-key', fixture('client.key'), '-cert_chain', fixture('int.pem'));
      if (sessOut) args.push('-sess_out', sessOut);
      if (sessIn) args.push('-sess_in', sessIn);
      return args;
    },
    endInput: 'now',
    version: (v) => new RegExp(`^(New|Reused), ${v.replace('.', '\\.')}, Cipher is `, 'm'),
    alpn: (p) => new RegExp(`^ALPN protocol: ${p.replace(/[/.]/g, '\\$&')}$`, 'm'),
    verified: /^Verification: OK\nVerified peername: localhost$/m,
    key: (cert) => cert.sClientKey,
    reused: /^Reused, TLSv1\.[23], /m,
    fresh: /^New, TLSv1\.[23], /m,
    // What it prints when the server refuses it for sending no certificate.
    refused: { 'TLSv1.3': /tlsv13 alert certificate required:.*SSL alert number 116/, 'TLSv1.2': /alert handshake failure:.*SSL alert number 40/ },
  },
  'gnutls-cli': {
    command: 'gnutls-cli',
    args({ port, version, alpn, clientCert, resume }) {
      const args = [
        '--port', String(port), '--x509cafile', fixture('ca.pem'),
        '--verify-hostname', 'localhost', '--sni-hostname', 'localhost',
        '--priority', version === 'TLSv1.2' ? 'NORMAL:-VERS-TLS1.3' : 'NORMAL:-VERS-ALL:+VERS-TLS1.3',
      ];
      if (alpn) args.push('--alpn', alpn);
      if (clientCert) args.push('--x509certfile', fixture('client-chain.pem'), '--x509keyfile', fixture('client.key'));
      // With TLS 1.3 the ticket comes after the handshake: wait for it before reconnecting.
      if (resume) args.push('--resume', '--waitresumption');
      args.push(HOST); // an address, so that it cannot try ::1 (where nothing listens) first
      return args;
    },
    // gnutls-cli hangs up as soon as its stdin ends, before the answer could arrive: keep
    // stdin open; it exits when the server closes.
    endInput: 'exit',
    version: (v) => new RegExp(`^- Description: \\(${gnutlsVersion(v).replace('.', '\\.')}-X\\.509\\)`, 'm'),
    alpn: (p) => new RegExp(`^- Application protocol: ${p.replace(/[/.]/g, '\\$&')}$`, 'm'),
    verified: /^- Status: The certificate is trusted\.\s*$/m,
    key: (cert) => cert.gnutlsKey,
    reused: /^\*\*\* This is a resumed session$/m,
    fresh: /^- Disconnecting$/m,
    refused: { 'TLSv1.3': /Received alert \[116\]: Certificate is required/, 'TLSv1.2': /Received alert \[40\]: Handshake failed/ },
  },
};

// ------------------------------------------------------------------ our sides

/**
 * A wasm server (one `createServer`, so one context for every connection: tickets made by
 * one connection resume the next) behind a net.Server on 127.0.0.1. Each connection answers
 * one line with `pong:<line>` and closes (close_notify, then FIN). `served[i]` settles with
 * what connection i saw: { info, received } or { error }.
 */
async function wasmServer(scope, options) {
  const server = await createServer(options);
  scope.defer(() => server.close());
  const served = [];
  const tcp = net.createServer((socket) => { served.push(serveOne(server, socket)); });
  return { port: await listen(scope, tcp), served };
}

async function serveOne(server, socket) {
  let tls;
  try {
    tls = await server.accept(socket);
    const info = {
      protocol: tls.getProtocol(), alpnProtocol: tls.alpnProtocol, sessionReused: tls.isSessionReused(),
      authorized: tls.authorized, authorizationError: tls.authorizationError,
      servername: tls.servername, peerCertificates: tls.peerCertificates(),
    };
    const reader = tls.readable.getReader();
    // A client that only wanted a session (gnutls-cli --resume's first connection) closes
    // without sending anything.
    const received = await readLine(reader);
    reader.releaseLock();
    if (received) {
      const writer = tls.writable.getWriter();
      await writer.write(encoder.encode(`pong:${received}`));
      writer.releaseLock();
    }
    await tls.close();
    return { info, received };
  } catch (error) {
    socket.destroy();
    return { error };
  }
}

/** Runs a peer client against the wasm server on `port`. */
function runClient(client, opts, input) {
  return runPeerClient(client.command, client.args(opts), { input, endInput: client.endInput, label: client.command });
}

// ------------------------------------------------------------------ basic: version × cert × ALPN

for (const [peerName, peerServer] of Object.entries(PEER_SERVERS)) {
  for (const version of VERSIONS) {
    for (const [certName, cert] of Object.entries(CERTS)) {
      for (const alpn of ALPNS) {
        test(`wasm client → ${peerName}, ${version}, ${certName}, alpn ${alpn}`, async (scope) => {
          // The peer offers both protocols, we offer one: agreeing on it is the negotiation.
          const { peer, port, finish } = await peerServer.start({ cert, alpn: ALL_ALPN });
          scope.defer(() => peer.kill());

          const tls = await connectTcp(scope, port, { ALPNProtocols: [alpn], ...onlyVersion(version) });
          assert.is(tls.getProtocol(), version);
          assert.is(tls.alpnProtocol, alpn);
          assert.ok(tls.authorized, `authorized (${tls.authorizationError})`);
          const certs = tls.peerCertificates();
          assert.is(certs.length, 2, 'the peer sent leaf and intermediate');
          assert.equal(certs[0], leafDer(cert.leaf), `the peer's leaf is ${cert.leaf}`);

          const message = `ping from wasm over ${version}, ${certName}, ${alpn}\n`;
          assert.is(await exchange(tls, message), peerServer.answer(message));
          await tls.close();

          await finish();
          assertOutput(peer.output, peerServer.version(version), 'version', peer.transcript());
          assertOutput(peer.output, peerServer.alpn(alpn), 'ALPN', peer.transcript());
        });
      }
    }
  }
}

for (const [peerName, peerClient] of Object.entries(PEER_CLIENTS)) {
  for (const version of VERSIONS) {
    for (const [certName, cert] of Object.entries(CERTS)) {
      for (const alpn of ALPNS) {
        test(`${peerName} → wasm server, ${version}, ${certName}, alpn ${alpn}`, async (scope) => {
          // We offer both protocols, the peer offers one (and restricts the version).
          const { port, served } = await wasmServer(scope, {
            cert: pem(cert.chain), key: pem(cert.key), ALPNProtocols: ALL_ALPN,
          });
          const message = `ping from ${peerName} over ${version}, ${certName}, ${alpn}\n`;
          const run = await runClient(peerClient, { port, version, alpn }, message);

          assert.is(served.length, 1, `one connection reached the wasm server\n${run.transcript}`);
          const result = await served[0];
          assert.is(result.error, undefined, `the wasm server failed: ${result.error}\n${run.transcript}`);
          assert.is(result.info.protocol, version);
          assert.is(result.info.alpnProtocol, alpn);
          assert.is(result.info.servername, 'localhost', 'SNI reached the wasm server');
          assert.is(result.received, message);

          assert.is(run.code, 0, `exit code\n${run.transcript}`);
          const output = withoutAnswer(run, `pong:${message}`);
          assertOutput(output, peerClient.version(version), 'version', run.transcript);
          assertOutput(output, peerClient.alpn(alpn), 'ALPN', run.transcript);
          assertOutput(output, peerClient.verified, 'verification', run.transcript);
          assertOutput(output, peerClient.key(cert), 'server key', run.transcript);
        });
      }
    }
  }
}

// ------------------------------------------------------------------ resumption

for (const [peerName, peerServer] of Object.entries(PEER_SERVERS)) {
  for (const version of VERSIONS) {
    test(`wasm client → ${peerName}, ${version}, resumption`, async (scope) => {
      const { peer, port, finish } = await peerServer.start({ cert: CERTS.ECDSA, connections: 2 });
      scope.defer(() => peer.kill());

      // First connection: a full handshake; the session arrives through onsession (with
      // TLS 1.3 in a NewSessionTicket after the handshake, read along with the answer).
      const sessions = [];
      const first = await connectTcp(scope, port, { ...onlyVersion(version), onsession: (s) => sessions.push(s) });
      assert.is(first.getProtocol(), version);
      assert.is(first.isSessionReused(), false);
      const m1 = 'first connection\n';
      assert.is(await exchange(first, m1), peerServer.answer(m1));
      const session = first.getSession();
      assert.ok(session instanceof Uint8Array && session.length > 0, 'getSession() after reading');
      assert.ok(sessions.length >= 1, 'onsession was called');
      assert.equal(sessions.at(-1), session, 'getSession() is the newest onsession session');
      await first.close();

      // Second connection: resumes it.
      const second = await connectTcp(scope, port, { ...onlyVersion(version), session });
      assert.is(second.getProtocol(), version);
      assert.is(second.isSessionReused(), true, 'the second connection resumed');
      const m2 = 'second connection\n';
      assert.is(await exchange(second, m2), peerServer.answer(m2));
      await second.close();

      await finish();
      assert.is(peerServer.reusedCount(peer.output), 1, `the peer saw exactly one resumed connection\n${peer.transcript()}`);
    });
  }
}

for (const [peerName, peerClient] of Object.entries(PEER_CLIENTS)) {
  for (const version of VERSIONS) {
    test(`${peerName} → wasm server, ${version}, resumption`, async (scope) => {
      const { port, served } = await wasmServer(scope, { cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key') });
      const runs = [];
      if (peerName === 'openssl s_client') {
        // Two processes: the first saves its session to a file, the second resumes from it.
        const tmp = tempDir();
        scope.defer(() => tmp.remove());
        const file = `${tmp.dir}/session.pem`;
        runs.push(await runClient(peerClient, { port, version, sessOut: file }, 'first\n'));
        runs.push(await runClient(peerClient, { port, version, sessIn: file }, 'second\n'));
        const [out1, out2] = [withoutAnswer(runs[0], 'pong:first\n'), withoutAnswer(runs[1], 'pong:second\n')];
        assertOutput(out1, peerClient.fresh, 'first connection is new', runs[0].transcript);
        assertNoOutput(out1, peerClient.reused, 'first connection is new', runs[0].transcript);
        assertOutput(out2, peerClient.reused, 'second connection resumed', runs[1].transcript);
        assertOutput(out2, peerClient.version(version), 'version', runs[1].transcript);
      } else {
        // One process, two connections: gnutls-cli --resume connects, saves the session,
        // disconnects, and reconnects with it; stdin goes over the second connection.
        const run = await runClient(peerClient, { port, version, resume: true }, 'second\n');
        runs.push(run);
        const out = withoutAnswer(run, 'pong:second\n');
        assertOutput(out, peerClient.fresh, 'a first connection was made', run.transcript);
        assertOutput(out, peerClient.reused, 'second connection resumed', run.transcript);
        assertOutput(out, peerClient.version(version), 'version', run.transcript);
      }
      const transcript = runs.map((r) => r.transcript).join('\n');
      for (const run of runs) assert.is(run.code, 0, `exit code\n${run.transcript}`);

      assert.is(served.length, 2, `two connections reached the wasm server\n${transcript}`);
      const [one, two] = await Promise.all(served);
      assert.is(one.error, undefined, `first connection failed: ${one.error}`);
      assert.is(two.error, undefined, `second connection failed: ${two.error}`);
      assert.is(one.info.protocol, version);
      assert.is(two.info.protocol, version);
      assert.is(one.info.sessionReused, false);
      assert.is(two.info.sessionReused, true, 'the wasm server resumed the second connection');
      assert.is(two.received, 'second\n');
    });
  }
}

// ------------------------------------------------------------------ mutual TLS

const clientCert = { cert: pem('client-chain.pem'), key: pem('client.key') };

/** The TlsError code for a fatal alert received: ERR_SSL_ and OpenSSL 3's reason text. */
const ALERT_CODES = {
  certificate_required: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', // tlsv13 alert certificate required
  handshake_failure: 'ERR_SSL_SSL_TLS_ALERT_HANDSHAKE_FAILURE', // ssl/tls alert handshake failure
  decode_error: 'ERR_SSL_TLSV1_ALERT_DECODE_ERROR', // tlsv1 alert decode error
};

for (const [peerName, peerServer] of Object.entries(PEER_SERVERS)) {
  for (const version of VERSIONS) {
    test(`wasm client → ${peerName}, ${version}, mTLS accepted`, async (scope) => {
      const { peer, port, finish } = await peerServer.start({ cert: CERTS.ECDSA, mtls: true });
      scope.defer(() => peer.kill());
      const tls = await connectTcp(scope, port, { ...onlyVersion(version), ...clientCert });
      assert.is(tls.getProtocol(), version);
      assert.ok(tls.authorized, `authorized (${tls.authorizationError})`);
      const m = 'ping with a client certificate\n';
      assert.is(await exchange(tls, m), peerServer.answer(m));
      await tls.close();
      await finish();
      for (const re of peerServer.clientCert) assertOutput(peer.output, re, 'the peer verified our client certificate', peer.transcript());
    });

    test(`wasm client → ${peerName}, ${version}, mTLS refused (no client certificate)`, async (scope) => {
      const { peer, port, finish } = await peerServer.start({ cert: CERTS.ECDSA, mtls: true });
      scope.defer(() => peer.kill());
      let connected = false;
      const err = await rejection(async () => {
        const tls = await connectTcp(scope, port, onlyVersion(version));
        connected = true;
        // TLS 1.3: our side of the handshake is over before the server reads our (empty)
        // Certificate; its refusal arrives as an alert on the next read.
        await exchange(tls, 'ping without a client certificate\n');
      }, 'connecting without a client certificate');
      assert.instance(err, TlsError, `a TlsError, got ${err?.stack ?? err}`);
      const alert = peerServer.noCertAlert[version];
      assert.is(err.alertReceived?.name, alert, `alert received (${err.message})`);
      assert.is(err.alertReceived?.level, 'fatal');
      assert.is(err.code, ALERT_CODES[alert]);
      assert.is(connected, version === 'TLSv1.3', 'TLS 1.3 fails after connect(), TLS 1.2 in it');
      await finish();
      assertOutput(peer.output, peerServer.noCertMessage, 'the peer says why', peer.transcript());
    });
  }
}

for (const [peerName, peerClient] of Object.entries(PEER_CLIENTS)) {
  for (const version of VERSIONS) {
    const mtlsServer = (scope) => wasmServer(scope, {
      cert: pem('ecdsa-chain.pem'), key: pem('ecdsa.key'), requestCert: true, ca: pem('ca.pem'),
    });

    test(`${peerName} → wasm server, ${version}, mTLS accepted`, async (scope) => {
      const { port, served } = await mtlsServer(scope);
      const run = await runClient(peerClient, { port, version, clientCert: true }, 'ping with a client certificate\n');
      assert.is(served.length, 1, `one connection reached the wasm server\n${run.transcript}`);
      const result = await served[0];
      assert.is(result.error, undefined, `the wasm server failed: ${result.error}\n${run.transcript}`);
      assert.is(result.info.protocol, version);
      assert.ok(result.info.authorized, `the client is authorized (${result.info.authorizationError})`);
      assert.equal(result.info.peerCertificates[0], leafDer('client.pem'), 'the client certificate');
      assert.is(result.received, 'ping with a client certificate\n');
      assert.is(run.code, 0, `exit code\n${run.transcript}`);
      const output = withoutAnswer(run, 'pong:ping with a client certificate\n');
      assertOutput(output, peerClient.version(version), 'version', run.transcript);
    });

    test(`${peerName} → wasm server, ${version}, mTLS refused (no client certificate)`, async (scope) => {
      const { port, served } = await mtlsServer(scope);
      const run = await runClient(peerClient, { port, version }, 'ping without a client certificate\n');
      assert.is(served.length, 1, `one connection reached the wasm server\n${run.transcript}`);
      const { error } = await served[0];
      assert.instance(error, TlsError, `the wasm server refused with a TlsError, got ${error?.stack ?? error}`);
      assert.is(error.code, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
      const alert = version === 'TLSv1.3' ? 'certificate_required' : 'handshake_failure';
      assert.is(error.alertSent?.name, alert, `alert sent (${error.message})`);

      assert.is.not(run.code, 0, `the peer fails\n${run.transcript}`);
      assertNoOutput(run.stdout, /pong:/, 'no answer', run.transcript);
      assertOutput(run.output, peerClient.refused[version], 'the peer reports the alert', run.transcript);
    });
  }
}

t.run();
