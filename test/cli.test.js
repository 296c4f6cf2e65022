// The command-line tool, bin/openssl-tls-wasm.js, run by the runtime that runs this file (node,
// deno or bun) against real `openssl s_server` / `openssl s_client` peers over TCP on
// 127.0.0.1 ephemeral ports. Every process is spawned with a kill timer and killed in the
// test's cleanup if it is still running.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { concat, freePort, runtime, scaffold, Scope, text } from './helpers.js';

const t = suite('cli');

const CLI = fileURLToPath(new URL('../bin/openssl-tls-wasm.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TEST_TIMEOUT = 30_000;
const PROCESS_TIMEOUT = 20_000;

/** The command that runs the CLI in this runtime. */
const cli = (...args) => [process.execPath, ...(runtime === 'deno' ? ['run', '-A'] : []), CLI, ...args];

/**
 * A spawned process: its output collected as bytes, `exited` resolving with the exit code,
 * `waitFor` watching the output for a pattern. A timer kills it after PROCESS_TIMEOUT.
 */
class Proc {
  out = [];
  err = [];
  code = undefined;
  #watchers = [];

  constructor([cmd, ...args], { cwd = FIXTURES } = {}) {
    this.label = [cmd, ...args].join(' ').replace(process.execPath, runtime);
    this.child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    this.child.stdin.on('error', () => {}); // a process that exits early closes its stdin
    this.child.stdout.on('data', (d) => { this.out.push(new Uint8Array(d)); this.#check(); });
    this.child.stderr.on('data', (d) => { this.err.push(new Uint8Array(d)); this.#check(); });
    const timer = setTimeout(() => this.kill(), PROCESS_TIMEOUT);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.err.push(new TextEncoder().encode(String(e)));
        clearTimeout(timer);
        this.code = -1;
        resolve(-1);
      });
      this.child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.code = code ?? (signal ? `signal ${signal}` : -1);
        this.#check();
        resolve(this.code);
      });
    });
  }

  get stdout() { return text(concat(this.out)); }
  get stderr() { return text(concat(this.err)); }
  get running() { return this.code === undefined; }

  write(data) { this.child.stdin.write(data); }
  end(data) { this.child.stdin.end(data); }

  kill() {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** Resolves with the match once stdout or stderr matches `re`; rejects if the process exits first. */
  waitFor(re, where = 'stdout') {
    return new Promise((resolve, reject) => {
      this.#watchers.push({ re, where, resolve, reject });
      this.#check();
    });
  }

  #check() {
    this.#watchers = this.#watchers.filter((w) => {
      const m = (w.where === 'stdout' ? this.stdout : this.stderr).match(w.re);
      if (m) {
        w.resolve(m);
        return false;
      }
      if (!this.running) {
        w.reject(new Error(`${this.label} exited (${this.code}) before printing ${w.re}\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`));
        return false;
      }
      return true;
    });
  }

  describe() {
    return `${this.label} (exit ${this.code})\n--- stdout\n${this.stdout.slice(0, 3000)}\n--- stderr\n${this.stderr.slice(0, 3000)}`;
  }
}

/** A test's Scope that also spawns processes and makes temporary directories, cleaned up whatever happens. */
class CliScope extends Scope {
  spawn(argv, opts) {
    const p = new Proc(argv, opts);
    this.defer(() => { p.kill(); return p.exited; });
    return p;
  }
  tmpdir() {
    const d = mkdtempSync(join(tmpdir(), 'openssl-tls-wasm-cli-'));
    this.defer(() => rmSync(d, { recursive: true, force: true }));
    return d;
  }
}

const { test } = scaffold(t, TEST_TIMEOUT, { cleanup: 10_000, newScope: () => new CliScope() });

/** Starts `openssl s_server` on an ephemeral port of 127.0.0.1; its stdin stays open. */
async function opensslServer(scope, args) {
  const p = scope.spawn(['openssl', 's_server', '-accept', '127.0.0.1:0', ...args]);
  const [, port] = await p.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
  return { proc: p, port: Number(port) };
}

/** Starts the CLI's s_server on an ephemeral port. */
async function cliServer(scope, args) {
  const p = scope.spawn(cli('s_server', '-accept', '0', ...args));
  const [, port] = await p.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
  return { proc: p, port: Number(port) };
}

/** Runs a process to its end with `input` on stdin; returns it (code, stdout, stderr). */
async function run(scope, argv, input = '') {
  const p = scope.spawn(argv);
  p.end(input);
  await p.exited;
  return p;
}

const GET = 'GET / HTTP/1.0\r\n\r\n';
// OpenSSL 3.0 (Debian's) has no ML-KEM, so the group against it is X25519; 3.5 would pick the hybrid.
const GROUP_LINE = /^(Peer Temp Key: X25519, 253 bits|Negotiated TLS1\.3 group: X25519MLKEM768)$/m;
const RSA_SERVER = ['-cert', 'rsa.pem', '-key', 'rsa.key', '-cert_chain', 'int.pem'];

test('s_client -brief against openssl s_server -www: the summary, then the page on stdout', async (scope) => {
  const { port } = await opensslServer(scope, [...RSA_SERVER, '-www', '-naccept', '1']);
  const c = await run(scope, cli('s_client', '-brief', '-CAfile', 'ca.pem', '-verify_return_error',
    '-verify_hostname', 'localhost', '-connect', `127.0.0.1:${port}`), GET);
  assert.is(c.code, 0, c.describe());
  const err = c.stderr;
  for (const line of ['CONNECTION ESTABLISHED', 'Protocol version: TLSv1.3', 'Ciphersuite: TLS_CHACHA20_POLY1305_SHA256',
    'Peer certificate: CN=localhost', 'Verification: OK', 'Verified peername: localhost']) {
    assert.ok(err.split('\n').includes(line), `missing "${line}" in\n${err}`);
  }
  assert.match(err, GROUP_LINE);
  assert.ok(err.indexOf('CONNECTION ESTABLISHED') < err.indexOf('Protocol version:'));
  assert.not.match(err, /ALPN protocol/);
  // The request went through stdin, and the status page came back on stdout.
  assert.match(c.stdout, /^HTTP\/1\.0 200 ok\r\n/, c.describe());
  assert.match(c.stdout, /New, TLSv1\.3, Cipher is TLS_CHACHA20_POLY1305_SHA256/);
  assert.match(c.stdout, /<\/HTML>/);
  assert.is.not(c.stdout.includes('CONNECTED('), true, '-brief prints nothing else on stdout');
});

test('s_client without -brief prints the chain, the certificate and the session on stdout', async (scope) => {
  const { port } = await opensslServer(scope, [...RSA_SERVER, '-www', '-naccept', '1']);
  const c = await run(scope, cli('s_client', '-CAfile', 'ca.pem', '-connect', `127.0.0.1:${port}`), GET);
  assert.is(c.code, 0, c.describe());
  const out = c.stdout;
  assert.match(out, /^CONNECTED\([0-9A-F]{8}\)\n---\nCertificate chain\n 0 s:CN=localhost\n   i:CN=openssl-wasm test intermediate\n/);
  assert.match(out, /   a:PKEY: RSA, 2048 \(bit\); sigalg: ecdsa-with-SHA256\n   v:NotBefore: Jan  1 00:00:00 2020 GMT; NotAfter: Jan  1 00:00:00 2120 GMT\n 1 s:CN=openssl-wasm test intermediate\n/);
  assert.match(out, /Server certificate\n-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\nsubject=CN=localhost\nissuer=CN=openssl-wasm test intermediate\n/);
  assert.match(out, /\nVerification: OK\n---\nNew, TLSv1\.3, Cipher is TLS_CHACHA20_POLY1305_SHA256\nProtocol: TLSv1\.3\nServer public key is 2048 bit\n/);
  assert.match(out, /\nNo ALPN negotiated\nVerify return code: 0 \(ok\)\n---\n/);
  assert.match(out, /HTTP\/1\.0 200 ok/);
  assert.match(out, /<\/HTML>\r\n\r\nclosed\n$/); // the server's close_notify
});

for (const [name, serverArgs, args, code] of [
  ['a wrong host name', RSA_SERVER, ['-verify_hostname', 'wrong.example'], 'num=62:hostname mismatch'],
  ['an unknown CA', ['-cert', 'other-chain.pem', '-key', 'other.key'], [], 'num=20:unable to get local issuer certificate'],
  ['an expired certificate', ['-cert', 'expired.pem', '-key', 'expired.key', '-cert_chain', 'int.pem'], [], 'num=10:certificate has expired'],
]) {
  test(`s_client -verify_return_error fails on ${name}`, async (scope) => {
    const { proc: server, port } = await opensslServer(scope, [...serverArgs, '-naccept', '1']);
    const c = await run(scope, cli('s_client', '-brief', '-CAfile', 'ca.pem', '-verify_return_error', ...args,
      '-connect', `127.0.0.1:${port}`), 'not sent\n');
    assert.is.not(c.code, 0, c.describe());
    assert.ok(c.stderr.includes(`verify error:${code}\n`), c.describe());
    assert.match(c.stderr, /error:0A000086:SSL routines::certificate verify failed/);
    assert.not.match(c.stderr, /CONNECTION ESTABLISHED/);
    assert.is(c.stdout, '');
    await server.exited; // -naccept 1: the server saw the failed handshake and exited
  });
}

test('s_client without -verify_return_error reports a failed verification and carries on', async (scope) => {
  const { port } = await opensslServer(scope, ['-cert', 'expired.pem', '-key', 'expired.key', '-cert_chain', 'int.pem', '-www', '-naccept', '1']);
  const c = await run(scope, cli('s_client', '-brief', '-CAfile', 'ca.pem', '-verify_hostname', 'wrong.example',
    '-connect', `127.0.0.1:${port}`), GET);
  assert.is(c.code, 0, c.describe());
  // As OpenSSL orders them: the name check, then the validity check; the last error stands.
  assert.match(c.stderr, /^depth=0 CN=localhost\nverify error:num=62:hostname mismatch\ndepth=0 CN=localhost\nverify error:num=10:certificate has expired\nnotAfter=Jan  1 00:00:00 2021 GMT\nCONNECTION ESTABLISHED\n/, c.describe());
  assert.match(c.stderr, /^Verification error: certificate has expired$/m);
  assert.match(c.stdout, /^HTTP\/1\.0 200 ok/);
});

test('openssl s_client against s_server -www, TLS 1.3 and 1.2', async (scope) => {
  const { proc: server, port } = await cliServer(scope, ['-cert', 'rsa-chain.pem', '-key', 'rsa.key', '-www', '-naccept', '2']);
  for (const [version, cipher] of [['TLSv1.3', /TLS_CHACHA20_POLY1305_SHA256/], ['TLSv1.2', /ECDHE-RSA-CHACHA20-POLY1305/]]) {
    const flag = version === 'TLSv1.3' ? '-tls1_3' : '-tls1_2';
    const c = await run(scope, ['openssl', 's_client', '-connect', `127.0.0.1:${port}`, '-CAfile', 'ca.pem',
      '-verify_return_error', '-verify_hostname', 'localhost', '-quiet', flag], GET);
    assert.is(c.code, 0, c.describe());
    assert.match(c.stdout, /^HTTP\/1\.0 200 ok\r\nContent-type: text\/html\r\n\r\n<HTML><BODY BGCOLOR="#ffffff">\n<pre>\n/, c.describe());
    assert.match(c.stdout, new RegExp(`New, ${version.replace('.', '\\.')}, Cipher is ${cipher.source}`));
    assert.match(c.stdout, new RegExp(`Protocol  : ${version.replace('.', '\\.')}`));
    assert.match(c.stdout, /Verify return code: 0 \(ok\)/);
    assert.match(c.stdout, GROUP_LINE);
    assert.match(c.stdout, /no client certificate available/);
    assert.match(c.stdout, /<\/pre><\/BODY><\/HTML>\r\n\r\n$/);
  }
  assert.is(await server.exited, 0, server.describe()); // -naccept 2
});

test('-sess_out then -sess_in resumes against openssl s_server; the file is OpenSSL\'s format', async (scope) => {
  const dir = scope.tmpdir();
  const file = join(dir, 'session.pem');
  const { port } = await opensslServer(scope, [...RSA_SERVER, '-www', '-naccept', '3']);
  const base = ['-brief', '-CAfile', 'ca.pem', '-connect', `127.0.0.1:${port}`];
  const first = await run(scope, cli('s_client', ...base, '-sess_out', file));
  assert.is(first.code, 0, first.describe());
  assert.not.match(first.stderr, /Reused/);
  const saved = readFileSync(file, 'utf8');
  assert.match(saved, /^-----BEGIN SSL SESSION PARAMETERS-----\n[A-Za-z0-9+/=\n]+-----END SSL SESSION PARAMETERS-----\n$/);

  const second = await run(scope, cli('s_client', ...base, '-sess_in', file), GET);
  assert.is(second.code, 0, second.describe());
  assert.match(second.stderr, /^Reused, TLSv1\.3, Cipher is TLS_CHACHA20_POLY1305_SHA256$/m, second.describe());
  assert.match(second.stdout, /Reused, TLSv1\.3/); // the server's page agrees

  // OpenSSL's own s_client resumes from the file too. A TLS 1.3 session resumes only under a
  // suite with its hash, SHA-256 for ChaCha20-Poly1305, which openssl's default list puts after
  // AES-256 (SHA-384): so it is asked to offer that suite first, as this package's client does.
  const native = await run(scope, ['openssl', 's_client', '-connect', `127.0.0.1:${port}`, '-CAfile', 'ca.pem', '-sess_in', file,
    '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384']);
  assert.match(native.stdout, /^Reused, TLSv1\.3, Cipher is TLS_CHACHA20_POLY1305_SHA256$/m, native.describe());
});

test('-alpn against openssl s_server -alpn h2 prints the protocol', async (scope) => {
  const { port } = await opensslServer(scope, [...RSA_SERVER, '-alpn', 'h2', '-www', '-naccept', '1']);
  const c = await run(scope, cli('s_client', '-brief', '-CAfile', 'ca.pem', '-alpn', 'h2,http/1.1',
    '-connect', `127.0.0.1:${port}`), GET);
  assert.is(c.code, 0, c.describe());
  assert.match(c.stderr, /^ALPN protocol: h2$/m);
});

test('-tls1_2 with -cipher and -groups negotiates what was asked', async (scope) => {
  const { port } = await opensslServer(scope, [...RSA_SERVER, '-www', '-naccept', '1']);
  const c = await run(scope, cli('s_client', '-brief', '-CAfile', 'ca.pem', '-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256',
    '-groups', 'P-256', '-connect', `127.0.0.1:${port}`), GET);
  assert.is(c.code, 0, c.describe());
  assert.match(c.stderr, /^Protocol version: TLSv1\.2$/m);
  assert.match(c.stderr, /^Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256$/m);
  assert.match(c.stderr, /^Peer Temp Key: ECDH, prime256v1, 256 bits$/m);
});

test('s_client and s_server together: mutual TLS, ALPN, the hybrid group, binary data both ways', async (scope) => {
  const dir = scope.tmpdir();
  const keys = { server: join(dir, 'server-keys.txt'), client: join(dir, 'client-keys.txt') };
  const { proc: server, port } = await cliServer(scope, ['-cert', 'ecdsa-chain.pem', '-key', 'ecdsa.key', '-CAfile', 'ca.pem',
    '-Verify', '1', '-alpn', 'h2,http/1.1', '-naccept', '1', '-keylogfile', keys.server]);
  const client = scope.spawn(cli('s_client', '-brief', '-CAfile', 'ca.pem', '-cert', 'client-chain.pem', '-key', 'client.key',
    '-alpn', 'http/1.1,h2', '-verify_return_error', '-verify_hostname', 'localhost', '-connect', `127.0.0.1:${port}`,
    '-keylogfile', keys.client));
  const up = new Uint8Array(300_000);
  const down = new Uint8Array(200_000);
  for (let i = 0; i < up.length; i += 65536) crypto.getRandomValues(up.subarray(i, i + 65536));
  for (let i = 0; i < down.length; i += 65536) crypto.getRandomValues(down.subarray(i, i + 65536));
  client.write(up);
  server.write(down);
  // The server prints what it knows of the connection on stdout, then relays the data there.
  const [header] = await server.waitFor(/^ACCEPT .*\n[\s\S]*?This TLS version forbids renegotiation\.\n/);
  const headerLength = new TextEncoder().encode(header).length;
  const received = (p, n) => new Promise((resolve) => {
    const tick = () => (concat(p.out).length >= n || !p.running ? resolve() : setTimeout(tick, 20));
    tick();
  });
  await Promise.all([received(server, headerLength + up.length), received(client, down.length)]);
  client.end(); // close_notify: the server's relay ends, it closes, and both exit
  assert.is(await client.exited, 0, client.describe());
  assert.is(await server.exited, 0, server.describe());
  const serverOut = concat(server.out);
  const trailer = new TextEncoder().encode('DONE\nshutting down SSL\nCONNECTION CLOSED\n');
  assert.equal(serverOut.subarray(headerLength, headerLength + up.length), up);
  assert.equal(serverOut.subarray(headerLength + up.length), trailer);
  assert.equal(concat(client.out), down);
  assert.match(client.stderr, /^Negotiated TLS1\.3 group: X25519MLKEM768$/m, client.describe());
  assert.match(client.stderr, /^ALPN protocol: h2$/m);
  assert.match(header, /^Client certificate\n-----BEGIN CERTIFICATE-----\n[\s\S]+\nsubject=CN=openssl-wasm test client\nissuer=CN=openssl-wasm test intermediate\nCIPHER is TLS_CHACHA20_POLY1305_SHA256\nNegotiated TLS1\.3 group: X25519MLKEM768\nALPN protocol: h2\n/m, header);
  // -keylogfile: both sides wrote the same five TLS 1.3 secrets of this connection, after a comment line.
  const [serverKeys, clientKeys] = [keys.server, keys.client].map((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
  assert.match(clientKeys[0], /^# SSL\/TLS secrets log file/);
  const secrets = (lines) => lines.filter((l) => !l.startsWith('#')).sort();
  assert.is(secrets(clientKeys).length, 5, clientKeys.join('\n'));
  for (const line of secrets(clientKeys)) assert.match(line, /^(CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]{64}$/); // SHA-256 secrets: ChaCha20-Poly1305
  assert.equal(secrets(serverKeys), secrets(clientKeys));
});

test('usage errors, unsupported options and connection errors', async (scope) => {
  const unknown = await run(scope, cli('s_client', '-bogus'));
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /^s_client: Unknown option: -bogus\nUsage: openssl-tls-wasm s_client/);

  const serverUnknown = await run(scope, cli('s_server', '-nope'));
  assert.is(serverUnknown.code, 1);
  assert.match(serverUnknown.stderr, /^s_server: Unknown option: -nope\nUsage: openssl-tls-wasm s_server/);

  const command = await run(scope, cli('x_client'));
  assert.is(command.code, 1);
  assert.match(command.stderr, /Invalid command 'x_client'/);

  const keylog = await run(scope, cli('s_client', '-connect', '127.0.0.1:1', '-keylogfile', '/nonexistent/dir/keys.txt'));
  assert.is(keylog.code, 1);
  assert.match(keylog.stderr, /^s_client: Can't open "\/nonexistent\/dir\/keys\.txt" for writing \(-keylogfile\): ENOENT$/m);

  // A port that was just free: nothing listens there.
  const port = await freePort();
  const refused = await run(scope, cli('s_client', '-connect', `127.0.0.1:${port}`));
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /Connection refused\nconnect:errno=111\n$/, refused.describe());

  const missing = await run(scope, cli('s_client', '-CAfile', 'no-such-file.pem', '-connect', `127.0.0.1:${port}`));
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /Can't open "no-such-file\.pem" for reading/);
});

t.run();
