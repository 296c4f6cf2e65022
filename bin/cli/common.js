// Shared by s_client and s_server: option parsing in OpenSSL's style, files, PEM, output
// that is flushed before exit, and OpenSSL's wording for results and errors.
import { readFileSync } from 'node:fs';
import process from 'node:process';

export const PROG = 'openssl-wasm';

/** A usage error: the message is printed with the command's usage, and the exit code is 1. */
export class UsageError extends Error {}

/** A failure already explained on stderr: exit with `code`. */
export class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/**
 * Parses argv as OpenSSL's apps do: options start with '-' (or '--'), and each takes at most
 * one value, the next argument. `spec` maps option names to 'flag', 'value' or 'number'.
 * Returns { opts, rest } where opts holds the last value of each option (flags are true).
 */
export function parseArgs(cmd, argv, spec) {
  const opts = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') {
      rest.push(a);
      continue;
    }
    const name = a.replace(/^--?/, '');
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`${cmd}: Unknown option: ${a}`);
    if (kind === 'flag') {
      opts[name] = true;
      continue;
    }
    if (i + 1 >= argv.length) throw new UsageError(`${cmd}: Option -${name} needs a value`);
    const v = argv[++i];
    if (kind === 'number' && !/^\d+$/.test(v)) throw new UsageError(`${cmd}: Non-numeric value "${v}" for option -${name}`);
    opts[name] = kind === 'number' ? Number(v) : v;
  }
  return { opts, rest };
}

/**
 * Splits "host:port", "[v6]:port", ":port" or "port" (when `portOnly` allows a bare number)
 * as BIO_parse_hostserv does. Missing parts come back undefined.
 */
export function parseHostPort(s, { preferPort = false } = {}) {
  let m = /^\[([^\]]+)\](?::(\w*))?$/.exec(s);
  if (m) return { host: m[1], port: m[2] || undefined };
  const colons = (s.match(/:/g) ?? []).length;
  if (colons > 1) return { host: s, port: undefined }; // a bare IPv6 address
  if (colons === 1) {
    const i = s.indexOf(':');
    return { host: s.slice(0, i) || undefined, port: s.slice(i + 1) || undefined };
  }
  if (preferPort) return { host: undefined, port: s };
  return { host: s, port: undefined };
}

export function parsePort(cmd, p) {
  const n = Number(p);
  if (!/^\d+$/.test(String(p)) || n > 65535) throw new UsageError(`${cmd}: invalid port "${p}"`);
  return n;
}

/** Reads a file for an option, or explains which one could not be read. */
export function readOptionFile(cmd, option, path) {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    process.stderr.write(`${cmd}: Can't open "${path}" for reading (-${option}): ${e.code ?? e.message}\n`);
    throw new Exit(1);
  }
}

/** The passphrase from an OpenSSL -pass argument: pass:text, env:VAR or file:path (first line). */
export function readPass(cmd, arg) {
  if (arg === undefined) return undefined;
  if (arg.startsWith('pass:')) return arg.slice(5);
  if (arg.startsWith('env:')) {
    const v = process.env[arg.slice(4)];
    if (v === undefined) throw new UsageError(`${cmd}: No environment variable ${arg.slice(4)}`);
    return v;
  }
  if (arg.startsWith('file:')) {
    const text = new TextDecoder().decode(readOptionFile(cmd, 'pass', arg.slice(5)));
    return text.split(/\r?\n/)[0];
  }
  throw new UsageError(`${cmd}: Invalid password argument, missing ':' within the first 5 chars (pass:, env:, file:)`);
}

/** ALPN list as openssl takes it: comma separated, e.g. "h2,http/1.1". */
export function parseAlpn(cmd, s) {
  if (s === undefined) return undefined;
  const list = s.split(',');
  if (list.some((p) => p.length === 0 || p.length > 255)) throw new UsageError(`${cmd}: invalid ALPN list "${s}"`);
  return list;
}

/** minVersion/maxVersion for -tls1_2 / -tls1_3 (both pin the version, as openssl does). */
export function versionOptions(cmd, opts) {
  if (opts.tls1_2 && opts.tls1_3) throw new UsageError(`${cmd}: Cannot supply both -tls1_2 and -tls1_3`);
  if (opts.tls1_2) return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
  if (opts.tls1_3) return { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
  return {};
}

/**
 * Binary-safe write to stdout or stderr. Resolves once the runtime has taken the bytes: true,
 * or false when the stream is gone (a closed pipe), which callers treat as the end.
 */
export function write(stream, data) {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve(false);
    try {
      stream.write(data, (e) => resolve(!e));
    } catch {
      resolve(false);
    }
  });
}

export const err = (text) => process.stderr.write(text);

export function toPem(der, label) {
  let bin = '';
  for (let i = 0; i < der.length; i += 0x8000) bin += String.fromCharCode(...der.subarray(i, i + 0x8000));
  const b64 = btoa(bin).replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block with `label`, or the bytes themselves when they are not PEM. */
export function fromPem(bytes, label) {
  const text = new TextDecoder('latin1').decode(bytes);
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (!m) return text.includes('-----BEGIN ') ? null : bytes;
  try {
    return Uint8Array.from(atob(m[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

// OpenSSL's X509_verify_cert_error_string() texts for the results a TLS peer can produce.
const VERIFY_TEXT = {
  0: 'ok', 1: 'unspecified certificate verification error', 2: 'unable to get issuer certificate',
  3: 'unable to get certificate CRL', 4: "unable to decrypt certificate's signature",
  6: 'unable to decode issuer public key', 7: 'certificate signature failure',
  9: 'certificate is not yet valid', 10: 'certificate has expired',
  13: "format error in certificate's notBefore field", 14: "format error in certificate's notAfter field",
  17: 'out of memory', 18: 'self-signed certificate', 19: 'self-signed certificate in certificate chain',
  20: 'unable to get local issuer certificate', 21: 'unable to verify the first certificate',
  22: 'certificate chain too long', 23: 'certificate revoked',
  24: "issuer certificate doesn't have a public key", 25: 'path length constraint exceeded',
  26: 'unsuitable certificate purpose', 27: 'certificate not trusted', 28: 'certificate rejected',
  32: 'key usage does not include certificate signing', 37: 'invalid non-CA certificate (has CA markings)',
  39: 'key usage does not include digital signature', 62: 'hostname mismatch',
  63: 'email address mismatch', 64: 'IP address mismatch', 66: 'EE certificate key too weak',
  67: 'CA certificate key too weak', 68: 'CA signature digest algorithm too weak',
  76: 'Cannot find certificate signature algorithm', 79: 'invalid CA certificate',
};

export const verifyText = (n) => VERIFY_TEXT[n] ?? `X509 verify error ${n}`;

/**
 * The line OpenSSL's apps print about the key exchange (ssl_print_tmp_key in 3.5): KEM groups,
 * which leave no peer key behind, as "Negotiated TLS1.3 group", the others as "Peer Temp Key".
 */
export function tmpKeyLine(group, protocol) {
  if (!group) return null;
  const g = group.toLowerCase();
  const ec = {
    secp256r1: ['prime256v1', 256], prime256v1: ['prime256v1', 256], secp384r1: ['secp384r1', 384],
    secp521r1: ['secp521r1', 521], brainpoolp256r1: ['brainpoolP256r1', 256],
    brainpoolp384r1: ['brainpoolP384r1', 384], brainpoolp512r1: ['brainpoolP512r1', 512],
    brainpoolp256r1tls13: ['brainpoolP256r1', 256], brainpoolp384r1tls13: ['brainpoolP384r1', 384],
    brainpoolp512r1tls13: ['brainpoolP512r1', 512],
  }[g];
  if (!g.includes('mlkem')) {
    if (g === 'x25519') return 'Peer Temp Key: X25519, 253 bits';
    if (g === 'x448') return 'Peer Temp Key: X448, 448 bits';
    if (ec) return `Peer Temp Key: ECDH, ${ec[0]}, ${ec[1]} bits`;
    const dh = /^ffdhe(\d+)$/.exec(g);
    if (dh) return `Peer Temp Key: DH, ${dh[1]} bits`;
  }
  return protocol === 'TLSv1.3' ? `Negotiated TLS1.3 group: ${group}` : null;
}

/** An OpenSSL error queue entry as ERR_error_string_n() writes it. */
export function formatQueueEntry(e) {
  const code = (e.packed >>> 0).toString(16).toUpperCase().padStart(8, '0');
  const text = `error:${code}:${e.library ?? `lib(${e.packed >>> 23})`}::${e.reason ?? `reason(${e.packed & 0x7fffff})`}`;
  return e.data ? `${text}:${e.data}` : text;
}

/** Prints a TLS failure as OpenSSL's apps do: the error queue, one entry a line, else the message. */
export function printTlsError(e) {
  const lines = Array.isArray(e?.errors) && e.errors.length > 0
    ? e.errors.map(formatQueueEntry)
    : [e?.message ?? String(e)];
  err(lines.join('\n') + '\n');
}

// Linux errno numbers for the socket errors that node:net reports by code.
const ERRNO = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EACCES: 13, EPIPE: 32, EADDRINUSE: 98, EADDRNOTAVAIL: 99,
  ENETDOWN: 100, ENETUNREACH: 101, ECONNABORTED: 103, ECONNRESET: 104, ETIMEDOUT: 110,
  ECONNREFUSED: 111, EHOSTDOWN: 112, EHOSTUNREACH: 113,
};

/** The errno openssl would print for a socket error (0 for a failed name lookup, as openssl). */
export const errnoOf = (e) => ERRNO[e?.code] ?? 0;

/** A socket error's text, as strerror() would put it. */
export function socketErrorText(e) {
  const text = {
    ECONNREFUSED: 'Connection refused', ECONNRESET: 'Connection reset by peer', ETIMEDOUT: 'Connection timed out',
    EHOSTUNREACH: 'No route to host', ENETUNREACH: 'Network is unreachable', EADDRINUSE: 'Address already in use',
    EADDRNOTAVAIL: 'Cannot assign requested address', EACCES: 'Permission denied', ENOTFOUND: 'Name or service not known',
    EAI_AGAIN: 'Temporary failure in name resolution', EPIPE: 'Broken pipe',
  }[e?.code];
  return text ?? e?.message ?? String(e);
}

/** HTML-escapes as s_server -www does for the command line it echoes. */
export const htmlEscape = (s) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]);
