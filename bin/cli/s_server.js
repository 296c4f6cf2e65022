// openssl-tls-wasm s_server: a TLS server on a real TCP port, as OpenSSL 3.5's `openssl s_server`:
// either a status page for each HTTP GET (-www), or stdin/stdout relayed to one connection at
// a time.
import net from 'node:net';
import process from 'node:process';
import {
  Exit, UsageError, err, errnoOf, htmlEscape, keylogWriter, parseAlpn, parseArgs, parseHostPort, parsePort,
  printTlsError, readOptionFile, readPass, socketErrorText, tmpKeyLine, toPem, verifyText,
  versionOptions, write,
} from './common.js';

const CMD = 's_server';
const DEFAULT_PORT = 4433; // openssl's

export const usage = `Usage: openssl-tls-wasm s_server [options]

 -accept [host:]port      Listen here (default 127.0.0.1:${DEFAULT_PORT}). Without a host, only
                          127.0.0.1 is bound (openssl binds every interface): give
                          0.0.0.0:port or [::]:port for that. Port 0 picks a free port,
                          printed as "ACCEPT host:port".
 -port port               Same as -accept port
 -cert file               Certificate chain (PEM, leaf first; default server.pem)
 -cert_chain file         More intermediate certificates to send
 -key file                Private key (PEM or DER; default: the -cert file)
 -pass arg                Private key passphrase: pass:text, env:VAR or file:path
 -CAfile file             PEM file of CAs trusted for client certificates
 -verify depth            Ask for a client certificate (the depth is not enforced)
 -Verify depth            Require a verified client certificate (the depth is not enforced)
 -alpn list               Comma-separated ALPN protocols to accept, in preference order
 -tls1_2, -tls1_3         Use only this TLS version
 -groups list             Key-exchange groups, colon-separated (-curves is an alias)
 -ciphersuites list       TLS 1.3 ciphersuites, colon-separated
 -cipher list             TLS 1.2 cipher list, in OpenSSL's syntax
 -www                     Answer "GET ..." with a status page describing the session
 -naccept n               Exit after n connections
 -brief                   Print a short summary of each connection (on stderr)
 -quiet                   No server output
 -keylogfile file         Append TLS secrets to file (SSLKEYLOGFILE format, for Wireshark)
 -help                    Show this summary
`;

const SPEC = {
  accept: 'value', port: 'value', cert: 'value', cert_chain: 'value', key: 'value', pass: 'value',
  CAfile: 'value', verify: 'number', Verify: 'number', alpn: 'value', tls1_2: 'flag', tls1_3: 'flag',
  groups: 'value', curves: 'value', ciphersuites: 'value', cipher: 'value', www: 'flag',
  naccept: 'number', brief: 'flag', quiet: 'flag', keylogfile: 'value', help: 'flag', CApath: 'value',
};

export async function sServer(api, argv, { commandLine }) {
  const { opts, rest } = parseArgs(CMD, argv, SPEC);
  if (opts.help) {
    await write(process.stdout, usage);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`${CMD}: Extra argument(s): ${rest.join(' ')}`);
  if (opts.CApath !== undefined) throw new UsageError(`${CMD}: -CApath is not supported: put the CA certificates in one file and use -CAfile`);
  const where = opts.accept !== undefined ? parseHostPort(opts.accept, { preferPort: true })
    : opts.port !== undefined ? { port: opts.port } : {};
  const bindHost = where.host === undefined ? '127.0.0.1' : where.host === '*' ? '0.0.0.0' : where.host;
  const port = parsePort(CMD, where.port ?? DEFAULT_PORT);
  const brief = opts.brief === true;
  const quiet = opts.quiet === true || brief;
  const www = opts.www === true;
  const naccept = opts.naccept ?? Infinity;

  const certFile = opts.cert ?? 'server.pem';
  const chain = [readOptionFile(CMD, 'cert', certFile)];
  if (opts.cert_chain !== undefined) chain.push(readOptionFile(CMD, 'cert_chain', opts.cert_chain));
  const serverOptions = {
    ...versionOptions(CMD, opts),
    cert: chain.length === 1 ? chain[0] : chain,
    key: readOptionFile(CMD, 'key', opts.key ?? certFile),
    passphrase: readPass(CMD, opts.pass),
  };
  if (opts.CAfile !== undefined) serverOptions.ca = readOptionFile(CMD, 'CAfile', opts.CAfile);
  if (opts.keylogfile !== undefined) serverOptions.onkeylog = keylogWriter(CMD, opts.keylogfile);
  if (opts.Verify !== undefined || opts.verify !== undefined) {
    serverOptions.requestCert = true;
    serverOptions.rejectUnauthorized = opts.Verify !== undefined;
    if (!quiet) err(`verify depth is ${opts.Verify ?? opts.verify}${opts.Verify !== undefined ? ', must return a certificate' : ''}\n`);
  }
  const alpn = parseAlpn(CMD, opts.alpn);
  if (alpn) serverOptions.ALPNProtocols = alpn;
  if (opts.groups ?? opts.curves) serverOptions.ecdhCurve = opts.groups ?? opts.curves;
  if (opts.ciphersuites !== undefined) serverOptions.ciphersuites = opts.ciphersuites;
  if (opts.cipher !== undefined) serverOptions.ciphers = opts.cipher;

  let tlsServer;
  try {
    serverOptions.openssl = await api.getOpenSSL();
    tlsServer = await api.createServer(serverOptions);
  } catch (e) {
    err(`${CMD}: ${e.message}\n`);
    return 1;
  }

  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host: bindHost, port }, () => {
      listener.off('error', reject);
      resolve();
    });
  }).catch((e) => {
    err(`${CMD}: bind ${bindHost}:${port}: ${socketErrorText(e)}\nbind:errno=${errnoOf(e)}\n`);
    throw new Exit(1);
  });
  if (!quiet) {
    const a = listener.address();
    const addr = port === 0 && a && typeof a === 'object'
      ? (a.address.includes(':') ? ` [${a.address}]:${a.port}` : ` ${a.address}:${a.port}`) : '';
    await write(process.stdout, `ACCEPT${addr}\n`);
  }

  // Connections are served one at a time, as openssl does; -www pages are served as they come.
  let accepted = 0;
  let active = 0;
  let stopped = false;
  let queue = Promise.resolve();
  const finished = new Promise((resolve) => {
    const maybeDone = () => {
      if (stopped && active === 0) resolve();
    };
    const stop = () => {
      if (stopped) return;
      stopped = true;
      listener.close();
      maybeDone();
    };
    listener.on('connection', (socket) => {
      if (stopped) {
        socket.destroy();
        return;
      }
      accepted++;
      active++;
      if (accepted >= naccept) stop();
      const run = async () => {
        try {
          const r = await serve(tlsServer, socket, { www, quiet, brief, commandLine, openssl: serverOptions.openssl });
          if (r === 'shutdown') stop();
        } catch (e) {
          err(`${CMD}: ${e?.stack ?? e}\n`);
          socket.destroy();
        } finally {
          active--;
          maybeDone();
        }
      };
      if (www) void run();
      else queue = queue.then(run);
    });
  });
  await finished;
  tlsServer.close();
  return 0;
}

/** One connection: the handshake, what openssl prints about it, then -www or the relay. */
async function serve(tlsServer, socket, { www, quiet, brief, commandLine, openssl }) {
  socket.on('error', () => {});
  socket.resume();
  let tls;
  try {
    tls = await tlsServer.accept(socket);
  } catch (e) {
    if (!quiet) err('ERROR\n');
    const first = e?.verifyFailures?.[0]?.error ?? e?.verifyResult; // where OpenSSL's callback stopped
    if (first) err(`verify error:${first === e.verifyResult ? e.verifyError ?? verifyText(first) : verifyText(first)}\n`);
    printTlsError(e);
    socket.destroy();
    if (!quiet) await write(process.stdout, 'CONNECTION CLOSED\n');
    return 'closed';
  }
  const certs = tls.peerCertificates();
  const neg = tls.engine.negotiated();
  let peer;
  try {
    peer = certs.length > 0 ? openssl.describeCertificate(certs[0]) : undefined;
  } catch {
    peer = undefined; // printed as no certificate details, as OpenSSL prints what it cannot read
  }
  const verifyResult = neg.verifyResult;
  if (brief) {
    const lines = ['CONNECTION ESTABLISHED', `Protocol version: ${neg.protocol}`, `Ciphersuite: ${neg.cipher?.name}`];
    if (peer) {
      lines.push(`Peer certificate: ${peer.subjectText}`);
      lines.push(verifyResult === 0 ? 'Verification: OK' : `Verification error: ${verifyText(verifyResult)}`);
    } else {
      lines.push('No peer certificate or raw public key');
    }
    const tmp = tmpKeyLine(neg.group, neg.protocol);
    if (tmp) lines.push(tmp);
    if (neg.alpnProtocol) lines.push(`ALPN protocol: ${neg.alpnProtocol}`);
    err(lines.join('\n') + '\n');
  } else if (!quiet && !www) {
    const out = [];
    if (peer) out.push('Client certificate', toPem(certs[0], 'CERTIFICATE').trimEnd(), `subject=${peer.subjectText}`, `issuer=${peer.issuerText}`);
    out.push(`CIPHER is ${neg.cipher?.name ?? '(NONE)'}`);
    const tmp = tmpKeyLine(neg.group, neg.protocol);
    if (tmp) out.push(tmp);
    if (neg.alpnProtocol) out.push(`ALPN protocol: ${neg.alpnProtocol}`);
    if (neg.sessionReused) out.push('Reused session-id');
    if (neg.protocol === 'TLSv1.3') out.push('This TLS version forbids renegotiation.');
    await write(process.stdout, out.join('\n') + '\n');
  }
  const info = { neg, certs, peer, verifyResult, commandLine };
  return www ? serveWww(tls, info, quiet) : relay(tls, quiet);
}

/** -www: reads request lines; the first "GET " one gets the status page, then the connection closes. */
async function serveWww(tls, info, quiet) {
  const reader = tls.readable.getReader();
  const writer = tls.writable.getWriter();
  let buffered = new Uint8Array(0);
  const td = new TextDecoder('latin1');
  try {
    for (;;) {
      const nl = buffered.indexOf(10);
      if (nl >= 0) {
        const line = td.decode(buffered.subarray(0, nl + 1));
        buffered = buffered.subarray(nl + 1);
        if (line.startsWith('GET ')) {
          await writer.write(new TextEncoder().encode(statusPage(info)));
          break;
        }
        continue;
      }
      const { value, done } = await reader.read();
      if (done) break;
      const next = new Uint8Array(buffered.length + value.length);
      next.set(buffered);
      next.set(value, buffered.length);
      buffered = next;
    }
  } catch (e) {
    if (!quiet) err('ERROR\n');
    printTlsError(e);
  } finally {
    await tls.close().catch(() => {});
  }
  return 'closed';
}

function statusPage({ neg, certs, peer, verifyResult, commandLine }) {
  const lines = [];
  lines.push('<HTML><BODY BGCOLOR="#ffffff">', '<pre>', '', htmlEscape(commandLine.join(' ') + ' '));
  if (neg.protocol === 'TLSv1.3') lines.push('This TLS version forbids renegotiation.');
  const tmp = tmpKeyLine(neg.group, neg.protocol);
  if (tmp) lines.push('---', tmp);
  if (neg.alpnProtocol) lines.push(`ALPN protocol: ${neg.alpnProtocol}`);
  if (neg.servername) lines.push(`Server name (SNI): ${neg.servername}`);
  const cipher = neg.cipher?.name ?? '(NONE)';
  lines.push('---', `${neg.sessionReused ? 'Reused' : 'New'}, ${neg.protocol}, Cipher is ${cipher}`);
  lines.push('SSL-Session:', `    Protocol  : ${neg.protocol}`, `    Cipher    : ${cipher}`);
  lines.push(`    Verify return code: ${verifyResult} (${verifyText(verifyResult)})`, '---');
  if (peer) {
    lines.push('Client certificate', `subject=${peer.subjectText}`, `issuer=${peer.issuerText}`, toPem(certs[0], 'CERTIFICATE').trimEnd());
  } else {
    lines.push('no client certificate available');
  }
  return 'HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n' + lines.join('\n') + '\n</pre></BODY></HTML>\r\n\r\n';
}

/**
 * stdin to the client and the client to stdout, until either ends. The end of stdin closes
 * this connection with close_notify and shuts the server down, as openssl does.
 */
async function relay(tls, quiet) {
  const reader = tls.readable.getReader();
  const writer = tls.writable.getWriter();
  const stdin = process.stdin;
  let stdinEnded = false;
  let chain = Promise.resolve();
  let failed = false;
  const onData = (chunk) => {
    stdin.pause();
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    chain = chain.then(() => (failed ? undefined : writer.write(bytes))).then(() => stdin.resume(), () => { failed = true; });
  };
  const onEnd = () => {
    stdinEnded = true;
    chain = chain.then(async () => {
      if (!quiet) await write(process.stdout, 'DONE\n');
      reader.cancel().catch(() => {});
    });
  };
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  if (stdin.readableEnded) onEnd();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(await write(process.stdout, value))) break;
    }
    if (!quiet && !stdinEnded) await write(process.stdout, 'DONE\n');
  } catch (e) {
    if (!stdinEnded) {
      if (!quiet) await write(process.stdout, 'ERROR\n');
      printTlsError(e);
    }
  } finally {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
    if (!quiet) await write(process.stdout, 'shutting down SSL\n');
    await tls.close().catch(() => {});
    if (!quiet) await write(process.stdout, 'CONNECTION CLOSED\n');
  }
  return stdinEnded ? 'shutdown' : 'closed';
}
