/**
 * A test PKI, made with libcrypto inside the testing module: root and intermediate CAs and
 * leaves with chosen key types (RSA, ECDSA P-256/P-384, Ed25519, ML-DSA), names, SANs,
 * validity windows, key usage and extended key usage, as PEM and DER. For tests only: the
 * keys are fresh and held in memory, and nothing about them is meant to be kept secret.
 *
 * @example
 * ```ts
 * import { connect, createServer } from 'openssl-tls-wasm';
 * import { loadTestingOpenSSL, TestPki } from 'openssl-tls-wasm/testing';
 *
 * const pki = new TestPki(await loadTestingOpenSSL());
 * const root = pki.root({ subject: 'openssl-wasm test root' });
 * const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost', 'IP:127.0.0.1'] });
 * const server = await createServer({ cert: leaf.chainPem, key: leaf.keyPem });
 * const client = await connect(transport, { servername: 'localhost', ca: root.certPem });
 * ```
 * @module
 */
import { NULL, type KeyPtr, type Owned, type OutPtr, type TestingExports, type X509Ptr } from '../abi.js';
import { derToPem } from '../context.js';
import { TlsError, formatOpenSSLError } from '../errors.js';
import type { Instance } from '../loader.js';
import { drainErrors } from '../native.js';
import type { OpenSSL } from '../openssl.js';
import type { loadTestingOpenSSL } from './instance.js';

/** Key types by name. */
export type KeyType =
  | 'rsa-2048' | 'rsa-3072' | 'rsa-4096'
  | 'ecdsa-p256' | 'ecdsa-p384'
  | 'ed25519'
  | 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87';

const KEYS: Record<KeyType, [string, string | null, number]> = {
  'rsa-2048': ['RSA', null, 2048], 'rsa-3072': ['RSA', null, 3072], 'rsa-4096': ['RSA', null, 4096],
  'ecdsa-p256': ['EC', 'P-256', 0], 'ecdsa-p384': ['EC', 'P-384', 0],
  'ed25519': ['ED25519', null, 0],
  'ml-dsa-44': ['ML-DSA-44', null, 0], 'ml-dsa-65': ['ML-DSA-65', null, 0], 'ml-dsa-87': ['ML-DSA-87', null, 0],
};

const DAY = 86_400_000;

export interface IssueOptions {
  /** The subject's common name, or name entries in order: { CN: 'x', O: 'y' }. */
  subject: string | Readonly<Record<string, string>>;
  /** Default 'ecdsa-p256'. */
  key?: KeyType;
  /** Validity start; default one day ago (of the PKI's clock). */
  notBefore?: Date | number;
  /** Validity end; default one year after notBefore. */
  notAfter?: Date | number;
  /** subjectAltName entries in OpenSSL syntax: 'DNS:localhost', 'IP:127.0.0.1', 'email:a@b'. */
  san?: readonly string[];
  /** Make it a CA (basicConstraints CA:TRUE, keyCertSign and cRLSign usage). */
  ca?: boolean;
  /** For a CA: its pathLenConstraint. */
  pathLength?: number;
  /** keyUsage names, e.g. ['digitalSignature', 'keyEncipherment']. Defaults suit a CA or a TLS leaf. */
  keyUsage?: readonly string[];
  /** extendedKeyUsage names, e.g. ['serverAuth', 'clientAuth']. Default for leaves: both. */
  extKeyUsage?: readonly string[];
  /** More extension lines in OpenSSL config syntax, e.g. 'nsComment=for tests'. */
  extensions?: readonly string[];
}

/** A certificate with its key, as PEM and DER, and the chain up to (not including) the root. */
export class IssuedCertificate {
  readonly #pki: TestPki;
  readonly #cert: X509Ptr;
  readonly #key: KeyPtr;
  readonly certPem: string;
  readonly certDer: Uint8Array;
  readonly keyPem: string;
  readonly keyDer: Uint8Array;
  /** The certificates from this one up to the root, excluding the root: what a server sends. */
  readonly chain: readonly IssuedCertificate[];

  /** @internal */
  constructor(pki: TestPki, cert: X509Ptr, key: KeyPtr, issuer: IssuedCertificate | undefined) {
    this.#pki = pki;
    this.#cert = cert;
    this.#key = key;
    const inst = pki.instance;
    const x = inst.exports as TestingExports; // TestPki checked that it is the testing module
    this.certDer = exportDer(inst, (len) => x.ow_cert_export_der(cert, len), 'certificate', false);
    this.keyDer = exportDer(inst, (len) => x.ow_key_export_der(key, len), 'key', true);
    this.certPem = derToPem(this.certDer, 'CERTIFICATE');
    this.keyPem = derToPem(this.keyDer, 'PRIVATE KEY');
    const isRoot = issuer === undefined;
    this.chain = isRoot ? [] : [this, ...issuer.chain];
  }

  /** This certificate followed by its intermediates, as one PEM string (for `cert`). */
  get chainPem(): string {
    return this.chain.map((c) => c.certPem).join('');
  }

  /** Issues a certificate signed by this one (which should be a CA). */
  issue(options: IssueOptions): IssuedCertificate {
    return this.#pki.issue(options, this);
  }

  /** @internal */
  get pointers(): [X509Ptr, KeyPtr] {
    return [this.#cert, this.#key];
  }
}

function exportDer(inst: Instance, call: (len: OutPtr) => Owned<'uint8_t'>, what: string, secret: boolean): Uint8Array {
  const [p, [len]] = inst.heap.withOut(1, call);
  if (p === NULL) throw pkiError(inst, `exporting the ${what}`);
  return inst.heap.takeBytes(p, len, secret);
}

function pkiError(inst: Instance, what: string): TlsError {
  const errors = drainErrors(inst);
  return new TlsError(`${what}: ${errors.length ? formatOpenSSLError(errors[0]) : 'failed'}`, { errors, code: 'ERR_TEST_PKI' });
}

/**
 * A factory for test certificates. Native keys and certificates live as long as the PKI;
 * call {@link free} when done with it (the PEM and DER copies stay usable).
 */
export class TestPki {
  readonly #inst: Instance;
  readonly #owned: (() => void)[] = [];
  readonly #now: () => number;

  /**
   * A PKI in `openssl`, an instance from {@link loadTestingOpenSSL} (the only module with the
   * PKI's functions). `now` sets the default validity window's anchor (default Date.now).
   *
   * @example
   * ```ts
   * const pki = new TestPki(await loadTestingOpenSSL(), { now: () => Date.UTC(2030, 0, 1) });
   * ```
   */
  constructor(openssl: OpenSSL, { now = Date.now }: { now?: () => number } = {}) {
    const inst = openssl.instance;
    if (typeof (inst.exports as Partial<TestingExports>).ow_cert_issue !== 'function') {
      throw new TypeError("this OpenSSL instance has no test PKI: load one with loadTestingOpenSSL() from 'openssl-tls-wasm/testing'");
    }
    this.#inst = inst;
    this.#now = now;
  }


  /** @internal */
  get instance(): Instance {
    return this.#inst;
  }

  /** A self-signed root CA. */
  root(options: Omit<IssueOptions, 'ca'>): IssuedCertificate {
    return this.issue({ ...options, ca: true }, undefined);
  }

  /** @internal Use {@link root} and {@link IssuedCertificate.issue}. */
  issue(o: IssueOptions, issuer: IssuedCertificate | undefined): IssuedCertificate {
    const { heap } = this.#inst;
    const x = this.#inst.exports as TestingExports;
    const keyType = o.key ?? 'ecdsa-p256';
    const spec = KEYS[keyType];
    if (!spec) throw new TypeError(`unknown key type '${keyType}'; one of ${Object.keys(KEYS).join(', ')}`);
    if (keyType.startsWith('ml-dsa') && this.#inst.flavor !== 'full') {
      throw new TlsError(`${keyType} keys need the 'full' flavor, which has ML-DSA: load it with loadTestingOpenSSL({ flavor: 'full' })`,
        { code: 'ERR_OSSL_UNSUPPORTED' });
    }
    const key = heap.withCString(spec[0], false, (t) => heap.withCString(spec[1], false, (c) => x.ow_key_generate(t, c, spec[2])));
    if (key === NULL) throw pkiError(this.#inst, `generating a ${keyType} key`);
    this.#owned.push(() => x.ow_key_free(key));

    const start = o.notBefore !== undefined ? +o.notBefore : this.#now() - DAY;
    const end = o.notAfter !== undefined ? +o.notAfter : start + 365 * DAY;
    if (!(Number.isFinite(start) && Number.isFinite(end)) || end < start) throw new RangeError('notAfter must be a date after notBefore');
    const subject = typeof o.subject === 'string' ? { CN: o.subject } : o.subject;
    const nameLines = Object.entries(subject).map(([k, v]) => {
      if (/[\n=]/.test(k) || v.includes('\n')) throw new TypeError(`bad name entry ${k}=${v}`);
      return `${k}=${v}`;
    }).join('\n');
    const exts = [
      o.ca ? `basicConstraints=critical,CA:TRUE${o.pathLength !== undefined ? `,pathlen:${o.pathLength}` : ''}` : 'basicConstraints=critical,CA:FALSE',
      `keyUsage=critical,${(o.keyUsage ?? (o.ca ? ['keyCertSign', 'cRLSign'] : leafUsage(keyType))).join(',')}`,
      ...(o.ca ? (o.extKeyUsage ? [`extendedKeyUsage=${o.extKeyUsage.join(',')}`] : [])
        : [`extendedKeyUsage=${(o.extKeyUsage ?? ['serverAuth', 'clientAuth']).join(',')}`]),
      'subjectKeyIdentifier=hash',
      ...(issuer ? ['authorityKeyIdentifier=keyid:always'] : []),
      ...(o.san?.length ? [`subjectAltName=${o.san.join(',')}`] : []),
      ...(o.extensions ?? []),
    ];
    for (const e of exts) if (e.includes('\n')) throw new TypeError(`bad extension line ${e}`);
    const [issuerCert, issuerKey] = issuer ? issuer.pointers : [NULL as X509Ptr, NULL as KeyPtr];
    const cert = heap.withCString(nameLines, false, (n) => heap.withCString(exts.join('\n'), false, (e) =>
      x.ow_cert_issue(key, n, issuerCert, issuerKey, Math.floor(start / 1000), Math.floor(end / 1000), e)));
    if (cert === NULL) throw pkiError(this.#inst, `issuing the certificate for ${nameLines.replace(/\n/g, ', ')}`);
    this.#owned.push(() => x.ow_cert_free(cert));
    return new IssuedCertificate(this, cert, key, issuer);
  }

  /** Frees the native keys and certificates. */
  free(): void {
    for (const f of this.#owned.splice(0)) f();
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/** RSA leaves may encipher keys (TLS 1.2 RSA key exchange); the others only sign. */
function leafUsage(key: KeyType): string[] {
  return key.startsWith('rsa') ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
}
