// openssl-tls-wasm s_client: a TLS client over a real TCP socket that prints what OpenSSL 3.5's
// `openssl s_client` prints, then relays stdin to the server and the server to stdout.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import {
  Exit, UsageError, err, errnoOf, fromPem, keylogWriter, parseAlpn, parseArgs, parseHostPort, parsePort,
  printTlsError, readOptionFile, readPass, socketErrorText, tmpKeyLine, toPem, verifyText,
  versionOptions, write,
} from './common.js';

const CMD = 's_client';
const DEFAULT_PORT = 4433; // openssl's

export const usage = `Usage: openssl-tls-wasm s_client [options] [host:port]

 -connect host:port       TCP/IP where to connect (default localhost:${DEFAULT_PORT})
 -servername name         Set the TLS SNI (server name indication) extension
                          (default: the -connect host, unless it is an IP address)
 -noservername            Do not send the server name (SNI) extension
 -CAfile file             PEM file of trusted CA certificates (default: the bundled Mozilla roots)
 -cert file               Client certificate chain (PEM, leaf first)
 -cert_chain file         More intermediate certificates to send with -cert
 -key file                Client private key (PEM or DER; default: the -cert file)
 -pass arg                Private key passphrase: pass:text, env:VAR or file:path
 -alpn list               Comma-separated ALPN protocols, e.g. h2,http/1.1
 -tls1_2, -tls1_3         Use only this TLS version
 -groups list             Key-exchange groups, colon-separated (-curves is an alias)
 -ciphersuites list       TLS 1.3 ciphersuites, colon-separated
 -cipher list             TLS 1.2 cipher list, in OpenSSL's syntax
 -verify_return_error     Close the connection if the server's certificate does not verify
 -verify_hostname name    Check that the server's certificate matches this name
 -verify depth            Accepted for compatibility (the depth is not enforced)
 -showcerts               Show every certificate the server sent, as PEM
 -brief                   Print only a short summary of the connection (on stderr)
 -quiet                   No connection information (implies -ign_eof)
 -ign_eof                 Ignore end of input: keep relaying until the server closes
 -no_ign_eof              Don't ignore end of input
 -crlf                    Translate a line feed from the terminal into CR+LF
 -sess_out file           Write the TLS session to this file (PEM, as openssl does)
 -sess_in file            Offer the TLS session in this file, to resume it
 -keylogfile file         Append TLS secrets to file (SSLKEYLOGFILE format, for Wireshark)
 -help                    Show this summary
`;

const SPEC = {
  connect: 'value', servername: 'value', noservername: 'flag', CAfile: 'value', cert: 'value',
  cert_chain: 'value', key: 'value', pass: 'value', alpn: 'value', tls1_2: 'flag', tls1_3: 'flag',
  groups: 'value', curves: 'value', ciphersuites: 'value', cipher: 'value',
  verify_return_error: 'flag', verify_hostname: 'value', verify: 'number', showcerts: 'flag',
  brief: 'flag', quiet: 'flag', ign_eof: 'flag', no_ign_eof: 'flag', crlf: 'flag',
  sess_out: 'value', sess_in: 'value', keylogfile: 'value', help: 'flag', CApath: 'value',
};

/** The bindings' errors for option values, which name the option first. */
const CONFIG_ERROR = /^(ca|cert|key|passphrase|ciphers|ciphersuites|groups|ALPNProtocols|minVersion|maxVersion|minVersion\/maxVersion|session|servername)\b/;

const isIp = (h) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');

export async function sClient(api, argv) {
  const { opts, rest } = parseArgs(CMD, argv, SPEC);
  if (opts.help) {
    await write(process.stdout, usage);
    return 0;
  }
  if (rest.length > 1) throw new UsageError(`${CMD}: Extra argument(s): ${rest.slice(1).join(' ')}`);
  if (rest.length === 1 && opts.connect !== undefined) throw new UsageError(`${CMD}: Cannot supply both -connect and a target argument`);
  if (opts.servername !== undefined && opts.noservername) throw new UsageError(`${CMD}: Can't use -servername and -noservername together`);
  if (opts.CApath !== undefined) throw new UsageError(`${CMD}: -CApath is not supported: put the CA certificates in one file and use -CAfile`);
  const target = parseHostPort(opts.connect ?? rest[0] ?? `localhost:${DEFAULT_PORT}`);
  const host = target.host ?? 'localhost';
  const port = parsePort(CMD, target.port ?? DEFAULT_PORT);
  const brief = opts.brief === true;
  const quiet = opts.quiet === true || brief;
  const ignEof = opts.no_ign_eof ? false : opts.ign_eof === true || opts.quiet === true;
  const failOnVerify = opts.verify_return_error === true;
  const sni = opts.noservername ? undefined : opts.servername ?? (isIp(host) ? undefined : host);

  // Everything from files first, so that a bad path fails before any connection is made.
  const tlsOptions = { ...versionOptions(CMD, opts) };
  if (opts.keylogfile !== undefined) tlsOptions.onkeylog = keylogWriter(CMD, opts.keylogfile);
  if (opts.CAfile !== undefined) tlsOptions.ca = readOptionFile(CMD, 'CAfile', opts.CAfile);
  if (opts.key !== undefined && opts.cert === undefined) throw new UsageError(`${CMD}: -key needs -cert`);
  if (opts.cert !== undefined) {
    const chain = [readOptionFile(CMD, 'cert', opts.cert)];
    if (opts.cert_chain !== undefined) chain.push(readOptionFile(CMD, 'cert_chain', opts.cert_chain));
    tlsOptions.cert = chain.length === 1 ? chain[0] : chain;
    tlsOptions.key = readOptionFile(CMD, 'key', opts.key ?? opts.cert);
    tlsOptions.passphrase = readPass(CMD, opts.pass);
  }
  const alpn = parseAlpn(CMD, opts.alpn);
  if (alpn) tlsOptions.ALPNProtocols = alpn;
  if (opts.groups ?? opts.curves) tlsOptions.ecdhCurve = opts.groups ?? opts.curves;
  if (opts.ciphersuites !== undefined) tlsOptions.ciphersuites = opts.ciphersuites;
  if (opts.cipher !== undefined) tlsOptions.ciphers = opts.cipher;
  if (opts.sess_in !== undefined) {
    const session = fromPem(readOptionFile(CMD, 'sess_in', opts.sess_in), 'SSL SESSION PARAMETERS');
    if (!session || session.length === 0) {
      err(`Can't open session file ${opts.sess_in}\n`);
      return 1;
    }
    tlsOptions.session = session;
  }
  if (opts.sess_out !== undefined) {
    tlsOptions.onsession = (session) => {
      try {
        writeFileSync(opts.sess_out, toPem(session, 'SSL SESSION PARAMETERS'), { mode: 0o600 });
      } catch (e) {
        err(`Error writing session file ${opts.sess_out}: ${e.code ?? e.message}\n`);
      }
    };
  }
  // OpenSSL checks the name, when -verify_hostname asks for one, inside verification (the
  // X509_VERIFY_PARAM host), in its own order among the other checks; with no name to check,
  // s_client verifies the chain only.
  tlsOptions.servername = sni;
  if (opts.verify_hostname !== undefined) tlsOptions.host = opts.verify_hostname;
  else {
    if (sni === undefined) tlsOptions.host = host;
    tlsOptions.checkServerIdentity = () => undefined;
  }
  // Without -verify_return_error: report, don't fail. OpenSSL still verifies everything and
  // records each error it passes over, as s_client's verify callback prints them.
  tlsOptions.rejectUnauthorized = failOnVerify;

  // TCP.
  const socket = await new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const onError = (e) => reject(e);
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
  }).catch(async (e) => {
    err(`${CMD}: connect to ${host}:${port}: ${socketErrorText(e)}\nconnect:errno=${errnoOf(e)}\n`);
    throw new Exit(1);
  });
  socket.on('error', () => {}); // reported through the TLS layer
  if (!quiet) {
    const fd = typeof socket._handle?.fd === 'number' && socket._handle.fd >= 0 ? socket._handle.fd : 0;
    await write(process.stdout, `CONNECTED(${fd.toString(16).toUpperCase().padStart(8, '0')})\n`);
  }

  let tls;
  try {
    tls = await api.connect(socket, tlsOptions);
  } catch (e) {
    socket.destroy();
    if (e instanceof TypeError || CONFIG_ERROR.test(e?.message ?? '')) {
      // Refused before anything was sent: a bad option value, in the bindings' words.
      err(`${CMD}: ${e.message}\n`);
      return 1;
    }
    // What OpenSSL's verify callback met first, where -verify_return_error stops it.
    const first = e?.verifyFailures?.[0]?.error ?? e?.verifyResult;
    if (first) err(`verify error:num=${first}:${first === e.verifyResult ? e.verifyError ?? verifyText(first) : verifyText(first)}\n`);
    printTlsError(e);
    return 1;
  }

  // What OpenSSL's verify callback met, in its order, and the final verification result.
  const certs = tls.peerCertificates();
  const openssl = await api.getOpenSSL();
  const parsed = certs.map((c) => {
    try {
      return openssl.describeCertificate(c);
    } catch {
      return undefined; // printed as unparsed, as OpenSSL prints what it cannot read
    }
  });
  const leaf = parsed[0];
  const negotiated = tls.engine.negotiated();
  if (!failOnVerify && certs.length > 0) {
    for (const { depth, error } of tls.engine.verifyFailures()) err(verifyErrorReport(depth, error, parsed));
  }
  const verifyResult = negotiated.verifyResult;
  const info = {
    protocol: tls.getProtocol(), cipher: tls.getCipher()?.name ?? '(NONE)', group: negotiated.group,
    alpn: tls.alpnProtocol, reused: tls.isSessionReused(), verifyResult,
    peername: verifyResult === 0 ? negotiated.peername ?? undefined : undefined,
  };

  if (brief) {
    const lines = ['CONNECTION ESTABLISHED', `Protocol version: ${info.protocol}`, `Ciphersuite: ${info.cipher}`];
    if (leaf) {
      lines.push(`Peer certificate: ${leaf.subjectText}`);
      lines.push(verifyResult === 0 ? 'Verification: OK' : `Verification error: ${verifyText(verifyResult)}`);
      if (info.peername) lines.push(`Verified peername: ${info.peername}`);
    } else {
      lines.push('No peer certificate or raw public key');
    }
    const tmp = tmpKeyLine(info.group, info.protocol);
    if (tmp) lines.push(tmp);
    // Not in OpenSSL's -brief summary (its full output has them): useful enough to add.
    if (info.alpn) lines.push(`ALPN protocol: ${info.alpn}`);
    if (info.reused) lines.push(`Reused, ${info.protocol}, Cipher is ${info.cipher}`);
    err(lines.join('\n') + '\n');
  } else if (!quiet) {
    await write(process.stdout, fullReport(certs, parsed, info, socket, opts.showcerts === true));
  }

  return relay(tls, { ignEof, crlf: opts.crlf === true, quiet });
}

/**
 * What OpenSSL's verify callback prints for an error it lets pass: the certificate at that
 * depth (when the server sent it), the error, and the date or issuer at fault.
 */
function verifyErrorReport(depth, code, parsed) {
  const cert = parsed[depth];
  const lines = [];
  if (cert) lines.push(`depth=${depth} ${cert.subjectText}`);
  lines.push(`verify error:num=${code}:${verifyText(code)}`);
  if (cert && code === 10) lines.push(`notAfter=${cert.valid_to}`);
  if (cert && code === 9) lines.push(`notBefore=${cert.valid_from}`);
  if (cert && code === 2) lines.push(`issuer= ${cert.issuerText}`);
  return lines.join('\n') + '\n';
}

/** The parts of s_client's print_stuff() that the bindings can tell. */
function fullReport(certs, parsed, info, socket, showcerts) {
  const out = [];
  if (certs.length > 0) {
    out.push('---', 'Certificate chain');
    parsed.forEach((c, i) => {
      if (!c) {
        out.push(`${String(i).padStart(2)} s:<unparsed certificate>`);
        return;
      }
      out.push(`${String(i).padStart(2)} s:${c.subjectText}`, `   i:${c.issuerText}`);
      out.push(c.asn1Curve
        ? `   a:PKEY: ${c.keyType}, (${c.asn1Curve}); sigalg: ${c.signatureAlgorithm}`
        : `   a:PKEY: ${c.keyType}, ${c.bits} (bit); sigalg: ${c.signatureAlgorithm}`);
      out.push(`   v:NotBefore: ${c.valid_from}; NotAfter: ${c.valid_to}`);
      if (showcerts) out.push(toPem(certs[i], 'CERTIFICATE').trimEnd());
    });
  }
  out.push('---');
  if (certs.length > 0) {
    out.push('Server certificate');
    if (!showcerts) out.push(toPem(certs[0], 'CERTIFICATE').trimEnd());
    if (parsed[0]) out.push(`subject=${parsed[0].subjectText}`, `issuer=${parsed[0].issuerText}`);
  } else {
    out.push('no peer certificate available');
  }
  const tmp = tmpKeyLine(info.group, info.protocol);
  if (tmp) out.push('---', tmp);
  if (typeof socket.bytesRead === 'number' && typeof socket.bytesWritten === 'number') {
    out.push('---', `SSL handshake has read ${socket.bytesRead} bytes and written ${socket.bytesWritten} bytes`);
  }
  out.push(info.verifyResult === 0 ? 'Verification: OK' : `Verification error: ${verifyText(info.verifyResult)}`);
  if (info.peername) out.push(`Verified peername: ${info.peername}`);
  out.push('---', `${info.reused ? 'Reused' : 'New'}, ${info.protocol}, Cipher is ${info.cipher}`);
  out.push(`Protocol: ${info.protocol}`);
  if (parsed[0]?.bits) out.push(`Server public key is ${parsed[0].bits} bit`);
  if (info.protocol === 'TLSv1.3') out.push('This TLS version forbids renegotiation.');
  out.push(info.alpn ? `ALPN protocol: ${info.alpn}` : 'No ALPN negotiated');
  out.push(`Verify return code: ${info.verifyResult} (${verifyText(info.verifyResult)})`, '---');
  return out.join('\n') + '\n';
}

/**
 * stdin to the server and the server to stdout, binary-safe, until the server closes. At the
 * end of stdin, close_notify is sent (unless -ign_eof) and the server's remaining data is
 * still relayed until it closes too.
 */
async function relay(tls, { ignEof, crlf, quiet }) {
  const reader = tls.readable.getReader();
  const writer = tls.writable.getWriter();
  const stdin = process.stdin;
  let chain = Promise.resolve();
  let writeFailed = false;
  const onData = (chunk) => {
    stdin.pause();
    let bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (crlf) bytes = toCrlf(bytes);
    chain = chain
      .then(() => (writeFailed ? undefined : writer.write(bytes)))
      .then(() => stdin.resume(), () => { writeFailed = true; });
  };
  const onEnd = () => {
    chain = chain.then(async () => {
      if (ignEof || writeFailed) return;
      err('DONE\n');
      await writer.close().catch(() => {});
    });
  };
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.on('error', () => onEnd());

  let code = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(await write(process.stdout, value))) return 0; // stdout closed: openssl stops too, with 0
    }
    if (!quiet) await write(process.stdout, 'closed\n');
  } catch (e) {
    printTlsError(e);
    code = 1;
  } finally {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
    await tls.close().catch(() => {});
  }
  return code;
}

/** LF to CR LF (s_client -crlf). */
function toCrlf(bytes) {
  let n = 0;
  for (const b of bytes) if (b === 10) n++;
  if (n === 0) return bytes;
  const out = new Uint8Array(bytes.length + n);
  let j = 0;
  for (const b of bytes) {
    if (b === 10) out[j++] = 13;
    out[j++] = b;
  }
  return out;
}
