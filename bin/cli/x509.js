// A minimal DER reader for X.509 certificates: enough to print what OpenSSL's s_client prints
// (subject and issuer as X509_NAME_print_ex does with the apps' default -nameopt, validity,
// key type and size, signature algorithm) and to check a hostname against the
// subjectAltName. It reads; it never verifies anything (OpenSSL in wasm does that).

const td = new TextDecoder();

/** One DER element: its tag byte, where its contents start and end. */
function readTlv(buf, pos, end = buf.length) {
  if (pos + 2 > end) throw new Error('truncated DER');
  const tag = buf[pos];
  if ((tag & 0x1f) === 0x1f) throw new Error('high-tag-number DER is not supported');
  let len = buf[pos + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + 2 + n > end) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + 2 + i];
    hdr += n;
  }
  const start = pos + hdr;
  if (start + len > end) throw new Error('truncated DER');
  return { tag, pos, start, end: start + len };
}

/** The elements directly inside a constructed element. */
function children(buf, node) {
  const out = [];
  for (let p = node.start; p < node.end;) {
    const c = readTlv(buf, p, node.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

const contents = (buf, n) => buf.subarray(n.start, n.end);

function oidString(bytes) {
  const parts = [];
  let v = 0;
  for (let i = 0; i < bytes.length; i++) {
    v = v * 128 + (bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else {
        parts.push(v);
      }
      v = 0;
    }
  }
  return parts.join('.');
}

// OpenSSL's short names (OBJ_nid2sn) for the attribute types found in names.
const NAME_SN = {
  '2.5.4.3': 'CN', '2.5.4.4': 'SN', '2.5.4.5': 'serialNumber', '2.5.4.6': 'C', '2.5.4.7': 'L',
  '2.5.4.8': 'ST', '2.5.4.9': 'street', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.12': 'title',
  '2.5.4.13': 'description', '2.5.4.15': 'businessCategory', '2.5.4.17': 'postalCode',
  '2.5.4.41': 'name', '2.5.4.42': 'GN', '2.5.4.43': 'initials', '2.5.4.44': 'generationQualifier',
  '2.5.4.46': 'dnQualifier', '2.5.4.65': 'pseudonym', '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress', '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL', '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

// OpenSSL's long names (OBJ_nid2ln) for signature algorithms, and type names for keys.
const SIG_LN = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption', '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption', '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption', '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1', '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256', '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'ED25519', '1.3.101.113': 'ED448',
  '2.16.840.1.101.3.4.3.17': 'ML-DSA-44', '2.16.840.1.101.3.4.3.18': 'ML-DSA-65',
  '2.16.840.1.101.3.4.3.19': 'ML-DSA-87',
};
const KEY_TYPE = {
  '1.2.840.113549.1.1.1': 'RSA', '1.2.840.113549.1.1.10': 'RSA-PSS', '1.2.840.10045.2.1': 'EC',
  '1.3.101.110': 'X25519', '1.3.101.111': 'X448', '1.3.101.112': 'ED25519', '1.3.101.113': 'ED448',
  '2.16.840.1.101.3.4.3.17': 'ML-DSA-44', '2.16.840.1.101.3.4.3.18': 'ML-DSA-65',
  '2.16.840.1.101.3.4.3.19': 'ML-DSA-87',
};
const CURVES = {
  '1.2.840.10045.3.1.7': ['prime256v1', 256], '1.3.132.0.34': ['secp384r1', 384],
  '1.3.132.0.35': ['secp521r1', 521], '1.3.132.0.10': ['secp256k1', 256],
  '1.3.36.3.3.2.8.1.1.7': ['brainpoolP256r1', 256], '1.3.36.3.3.2.8.1.1.11': ['brainpoolP384r1', 384],
  '1.3.36.3.3.2.8.1.1.13': ['brainpoolP512r1', 512],
};
const KEY_BITS = { X25519: 253, X448: 448, ED25519: 253, ED448: 456 };

/** A string value as OpenSSL prints it with ESC_CTRL | UTF8_CONVERT | DUMP_UNKNOWN | DUMP_DER. */
function nameValue(buf, node) {
  const b = contents(buf, node);
  let s;
  switch (node.tag) {
    case 0x0c: s = td.decode(b); break; // UTF8String
    case 0x13: case 0x16: case 0x12: case 0x1a: case 0x14: // Printable, IA5, Numeric, Visible, T61 (as Latin-1)
      s = String.fromCharCode(...b); break;
    case 0x1e: { // BMPString, UTF-16BE
      s = '';
      for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode((b[i] << 8) | b[i + 1]);
      break;
    }
    case 0x1c: { // UniversalString, UTF-32BE
      s = '';
      for (let i = 0; i + 3 < b.length; i += 4) s += String.fromCodePoint(((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0);
      break;
    }
    default: // not a string type: the whole DER, in hex
      return '#' + hex(buf.subarray(node.pos, node.end));
  }
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c < 0x20 || c === 0x7f) out += '\\' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (ch === '\\') out += '\\\\';
    else out += ch;
  }
  return out;
}

const hex = (b) => Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, '0')).join('');

/**
 * A Name as OpenSSL 3.5's apps print it (X509_NAME_print_ex with the default -nameopt:
 * sep_comma_plus_space, short names, no spaces around '='), e.g. "C=US, O=Example, CN=host".
 */
function formatName(buf, node) {
  const rdns = [];
  const attrs = [];
  for (const set of children(buf, node)) {
    const parts = [];
    for (const atv of children(buf, set)) {
      const [type, value] = children(buf, atv);
      const oid = oidString(contents(buf, type));
      const v = nameValue(buf, value);
      parts.push(`${NAME_SN[oid] ?? oid}=${v}`);
      attrs.push({ oid, name: NAME_SN[oid] ?? oid, value: v });
    }
    rdns.push(parts.join(' + '));
  }
  return { text: rdns.join(', '), attrs };
}

function parseTime(buf, node) {
  const s = td.decode(contents(buf, node));
  let m;
  if (node.tag === 0x17) m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/.exec(s);
  else m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(?:\.\d+)?Z$/.exec(s);
  if (!m) return null;
  let year = Number(m[1]);
  if (node.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A time as ASN1_TIME_print prints it: "Jan  1 00:00:00 2020 GMT". */
export function formatTime(d) {
  if (!d) return 'Bad time value';
  const p = (n) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()} GMT`;
}

/** Bits in a big-endian unsigned INTEGER (leading zero bytes ignored). */
function integerBits(b) {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]));
}

function publicKeyInfo(buf, spki) {
  const [alg, bits] = children(buf, spki);
  const [oidNode, params] = children(buf, alg);
  const oid = oidString(contents(buf, oidNode));
  const type = KEY_TYPE[oid] ?? oid;
  const info = { type, bits: undefined, curve: undefined };
  if (type === 'EC' && params?.tag === 0x06) {
    const c = CURVES[oidString(contents(buf, params))];
    if (c) [info.curve, info.bits] = c;
  } else if (type === 'RSA' || type === 'RSA-PSS') {
    try {
      const key = readTlv(buf, bits.start + 1, bits.end); // skip the unused-bits byte
      const [n] = children(buf, key);
      info.bits = integerBits(contents(buf, n));
    } catch {
      // leave the size unknown
    }
  } else {
    info.bits = KEY_BITS[type];
  }
  return info;
}

function parseSan(buf, extValue) {
  const dns = [];
  const ips = [];
  const seq = readTlv(buf, extValue.start, extValue.end);
  for (const gn of children(buf, seq)) {
    const b = contents(buf, gn);
    if (gn.tag === 0x82) dns.push(td.decode(b));
    else if (gn.tag === 0x87) {
      if (b.length === 4) ips.push(Array.from(b).join('.'));
      else if (b.length === 16) {
        const words = [];
        for (let i = 0; i < 16; i += 2) words.push(((b[i] << 8) | b[i + 1]).toString(16));
        ips.push(words.join(':'));
      }
    }
  }
  return { dns, ips };
}

/**
 * Parses a DER certificate into what the CLI prints: subject and issuer (as text and as
 * attributes), validity, key type and size, signature algorithm, SAN DNS names and IPs.
 */
export function parseCertificate(der) {
  const buf = der instanceof Uint8Array ? der : new Uint8Array(der);
  const cert = readTlv(buf, 0);
  const [tbs, sigAlg] = children(buf, cert);
  const f = children(buf, tbs);
  let i = 0;
  if (f[i].tag === 0xa0) i++; // [0] version
  i++; // serialNumber
  i++; // signature (repeated below the TBS)
  const issuer = formatName(buf, f[i++]);
  const [nb, na] = children(buf, f[i++]);
  const subject = formatName(buf, f[i++]);
  const key = publicKeyInfo(buf, f[i++]);
  let san = { dns: [], ips: [] };
  let hasSan = false;
  for (; i < f.length; i++) {
    if (f[i].tag !== 0xa3) continue;
    const exts = readTlv(buf, f[i].start, f[i].end);
    for (const ext of children(buf, exts)) {
      const parts = children(buf, ext);
      if (oidString(contents(buf, parts[0])) === '2.5.29.17') {
        san = parseSan(buf, parts[parts.length - 1]);
        hasSan = true;
      }
    }
  }
  const sigOid = oidString(contents(buf, children(buf, sigAlg)[0]));
  return {
    subject: subject.text,
    subjectAttrs: subject.attrs,
    issuer: issuer.text,
    notBefore: parseTime(buf, nb),
    notAfter: parseTime(buf, na),
    key,
    signatureAlgorithm: SIG_LN[sigOid] ?? sigOid,
    san,
    hasSan,
  };
}

/** One DNS name against one certificate pattern, as X509_check_host does by default. */
function matchDns(pattern, host) {
  pattern = pattern.toLowerCase().replace(/\.$/, '');
  host = host.toLowerCase().replace(/\.$/, '');
  if (pattern === host) return true;
  const star = pattern.indexOf('*');
  if (star < 0) return false;
  // One wildcard, in the leftmost label, which is not the only label before a public suffix
  // of at least two labels; it never matches a dot or an IDNA prefix.
  const dot = pattern.indexOf('.');
  if (dot < 0 || star > dot || pattern.indexOf('*', star + 1) >= 0) return false;
  const suffix = pattern.slice(dot);
  if (suffix.split('.').length < 3) return false;
  if (pattern.startsWith('xn--')) return false;
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, host.length - suffix.length);
  if (label.length === 0 || label.includes('.')) return false;
  const pre = pattern.slice(0, star);
  const post = pattern.slice(star + 1, dot);
  return label.length >= pre.length + post.length && label.startsWith(pre) && label.endsWith(post);
}

/** An IP address in one canonical spelling (IPv6 expanded), or null if it is not one. */
function ipKey(s) {
  if (isIPv4(s)) return s.split('.').every((n) => Number(n) < 256) ? s.split('.').map(Number).join('.') : null;
  let t = s.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    t = t.slice(0, v4.index) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return null;
  const words = [...head, ...Array(fill).fill('0'), ...tail];
  if (words.length !== 8 || !words.every((w) => /^[0-9a-f]{1,4}$/.test(w))) return null;
  return words.map((w) => parseInt(w, 16).toString(16)).join(':');
}

const isIPv4 = (s) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s);

/**
 * Checks `host` against a parsed certificate as OpenSSL's X509_check_host (or X509_check_ip
 * for an address) would with default flags: DNS SANs, else the subject's CN when there are
 * no DNS SANs. Returns { code } with 0 (match), 62 (hostname mismatch) or 64 (IP address
 * mismatch), and on a match `peername`, the certificate's name that matched.
 */
export function checkHost(cert, host) {
  if (isIPv4(host) || host.includes(':')) {
    const want = ipKey(host);
    const hit = want === null ? undefined : cert.san.ips.find((ip) => ipKey(ip) === want);
    return hit === undefined ? { code: 64 } : { code: 0, peername: host };
  }
  const names = cert.san.dns.length > 0 ? cert.san.dns
    : cert.subjectAttrs.filter((a) => a.name === 'CN').map((a) => a.value);
  const hit = names.find((p) => matchDns(p, host));
  return hit === undefined ? { code: 62 } : { code: 0, peername: hit };
}
