/**
 * The sandbox: a {@link Link} between a client and a server that it makes itself, in a
 * private OpenSSL instance on a virtual clock (and, with a seed, on reproducible entropy),
 * with a test PKI whose certificates follow that clock.
 * @module
 */
import type { SecureContext, SecureContextOptions } from '../context.js';
import type { EngineOptions, TlsEngine, TlsMessageEvent } from '../engine.js';
import type { Flavor, WasmSource } from '../loader.js';
import type { OpenSSL } from '../openssl.js';
import { SandboxClock } from './clock.js';
import type { SandboxError } from './error.js';
import { loadTestingOpenSSL } from './instance.js';
import { Link } from './link.js';
import type { SandboxPeer } from './peer.js';
import { TestPki } from './pki.js';
import type { Wire } from './wire.js';

/**
 * Per-connection options that a sandbox side accepts beside its context options (see
 * {@link EngineOptions}). Tracing and key logging are the sandbox's own options.
 *
 * @example
 * ```ts
 * const options: SandboxEngineOptions = { session: savedSession };
 * sandbox.reconnect(options);
 * ```
 */
export type SandboxEngineOptions = Pick<EngineOptions,
  'servername' | 'host' | 'checkHost' | 'session' | 'bufferSize' | 'verifyTime'>;

/**
 * One side's configuration: the `node:tls`-style context options (without `isServer`) and
 * the connection options, in one object.
 *
 * @example
 * ```ts
 * const client: SandboxSideOptions = { ca: root.certPem, servername: 'localhost', ciphersuites: 'TLS_AES_128_GCM_SHA256' };
 * ```
 */
export type SandboxSideOptions = Omit<SecureContextOptions, 'isServer'> & SandboxEngineOptions;

/**
 * Options for {@link Sandbox.create}.
 *
 * @example
 * ```ts
 * const sandbox = await Sandbox.create({
 *   clock: Date.UTC(2030, 0, 1), seed: 'run-1', trace: true, keylog: true,
 *   server: { cert: chainPem, key: keyPem },
 *   client: { ca: rootPem, servername: 'localhost' },
 * });
 * ```
 */
export interface SandboxOptions {
  /**
   * The client's configuration. With `server`, the sandbox connects at once; without both,
   * call {@link Sandbox.connect} later (for example after making certificates with
   * {@link Sandbox.pki}).
   *
   * @example
   * ```ts
   * { client: { ca: rootPem, servername: 'localhost', ALPNProtocols: ['h2'] } }
   * ```
   */
  client?: SandboxSideOptions;
  /**
   * The server's configuration; it needs `cert` and `key`.
   *
   * @example
   * ```ts
   * { server: { cert: leaf.chainPem, key: leaf.keyPem, requestCert: true, ca: rootPem } }
   * ```
   */
  server?: SandboxSideOptions;
  /**
   * Where the sandbox's virtual clock starts, in ms since the epoch (or a Date). Default: the
   * real time when the sandbox is created. The clock moves only when the test moves it
   * ({@link SandboxClock.set}, {@link SandboxClock.advance}).
   *
   * @example
   * ```ts
   * { clock: Date.UTC(2030, 0, 1) }
   * ```
   */
  clock?: number | Date;
  /**
   * TEST ONLY: makes every random byte the sandbox's OpenSSL uses a function of this seed
   * (`entropy: { testOnlySeed }`), so that runs with the same seed, clock and steps produce
   * byte-identical transcripts. Default: the host's real entropy.
   *
   * @example
   * ```ts
   * { seed: 'regression-1234' }
   * ```
   */
  seed?: string | Uint8Array;
  /**
   * Keep each side's protocol messages in {@link Sandbox.trace}. Default false.
   *
   * @example
   * ```ts
   * { trace: true }   // then sandbox.client.handshakeMessages()
   * ```
   */
  trace?: boolean;
  /**
   * Keep each side's SSLKEYLOGFILE lines in {@link Sandbox.keylog}. Default false.
   *
   * @example
   * ```ts
   * { keylog: true }  // then sandbox.keylog.client
   * ```
   */
  keylog?: boolean;
  /**
   * Where the wasm module comes from (see `LoadOptions.wasm`). Default: beside the package.
   *
   * @example
   * ```ts
   * { wasm: new URL('./openssl.wasm', import.meta.url) }
   * ```
   */
  wasm?: WasmSource;
  /**
   * Which build to load (see `LoadOptions.flavor`): `'small'`, the default, or `'full'` for
   * ML-DSA test certificates, TLS 1.0/1.1, DHE suites and the other algorithms it adds.
   */
  flavor?: Flavor;
}

interface Contexts { client: SecureContext; server: SecureContext }

const CONN_KEYS = ['servername', 'host', 'checkHost', 'session', 'bufferSize', 'verifyTime'] as const;

function splitOptions(o: SandboxSideOptions): [SecureContextOptions, SandboxEngineOptions] {
  const ctx: Record<string, unknown> = { ...o };
  const conn: Record<string, unknown> = {};
  for (const k of CONN_KEYS) {
    if (k in ctx) {
      if (ctx[k] !== undefined) conn[k] = ctx[k];
      delete ctx[k];
    }
  }
  if ('isServer' in ctx) throw new TypeError('isServer is not a sandbox option: the sandbox has one client and one server');
  return [ctx as SecureContextOptions, conn as SandboxEngineOptions];
}

/**
 * A client and a server in one private OpenSSL instance, joined by a {@link Link}, on a
 * {@link SandboxClock}, moved forward only by the test. For tests only.
 *
 * @example
 * ```ts
 * const sandbox = await Sandbox.create({
 *   server: { cert: chainPem, key: keyPem },
 *   client: { ca: rootPem, servername: 'localhost' },
 * });
 * sandbox.handshake();
 * sandbox.client.write('hello');
 * sandbox.run();
 * sandbox.server.read();  // 'hello'
 * sandbox.free();
 * ```
 */
export class Sandbox {
  /**
   * The sandbox's own OpenSSL instance: its clock and entropy affect nothing else.
   *
   * @example
   * ```ts
   * const extra = sandbox.openssl.createSecureContext({ ca: rootPem });
   * ```
   */
  readonly openssl: OpenSSL;
  /**
   * The virtual clock.
   *
   * @example
   * ```ts
   * sandbox.clock.advance(86_400_000);
   * ```
   */
  readonly clock: SandboxClock;
  readonly #trace: boolean;
  readonly #keylog: boolean;
  #pki: TestPki | undefined;
  #contexts: Contexts | undefined;
  #clientConn: SandboxEngineOptions = {};
  #serverConn: SandboxEngineOptions = {};
  #link: Link | undefined;

  private constructor(openssl: OpenSSL, clock: SandboxClock, options: SandboxOptions) {
    this.openssl = openssl;
    this.clock = clock;
    this.#trace = options.trace === true;
    this.#keylog = options.keylog === true;
  }

  /**
   * Loads a private OpenSSL instance on a virtual clock (and seeded entropy with `seed`),
   * and, given `client` and `server`, connects them (see {@link connect}).
   *
   * @example
   * ```ts
   * const sandbox = await Sandbox.create({ clock: Date.UTC(2030, 0, 1), seed: 'abc', trace: true });
   * ```
   */
  static async create(options: SandboxOptions = {}): Promise<Sandbox> {
    const start = options.clock === undefined ? Date.now() : +options.clock;
    const clock = new SandboxClock(0).set(start);
    if ((options.client === undefined) !== (options.server === undefined)) {
      throw new TypeError('give both client and server options, or neither (and call connect() later)');
    }
    const openssl = await loadTestingOpenSSL({
      now: clock.now,
      ...(options.seed !== undefined ? { entropy: { testOnlySeed: options.seed } } : {}),
      ...(options.wasm !== undefined ? { wasm: options.wasm } : {}),
      ...(options.flavor !== undefined ? { flavor: options.flavor } : {}),
    });
    const sandbox = new Sandbox(openssl, clock, options);
    if (options.client && options.server) sandbox.connect({ client: options.client, server: options.server });
    return sandbox;
  }

  /**
   * A {@link TestPki} in the sandbox's instance whose default validity window follows the
   * virtual clock (and, with a seed, whose keys are reproducible). Made on first use.
   *
   * @example
   * ```ts
   * const root = sandbox.pki.root({ subject: 'Root', key: 'ed25519' });
   * const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'], notAfter: sandbox.clock.now() + 10 * 86_400_000 });
   * ```
   */
  get pki(): TestPki {
    return (this.#pki ??= new TestPki(this.openssl, { now: this.clock.now }));
  }

  /**
   * Makes new client and server contexts and a new connected pair on a new {@link Link},
   * freeing the previous pair. Throws (TypeError or TlsError) for bad options, as
   * `createSecureContext` and `createEngine` do.
   *
   * @example
   * ```ts
   * sandbox.connect({
   *   server: { cert: leaf.certPem, key: leaf.keyPem },     // no intermediate: a bad chain
   *   client: { ca: root.certPem, servername: 'localhost' },
   * });
   * ```
   */
  connect(options: { client: SandboxSideOptions; server: SandboxSideOptions }): void {
    if (!options || typeof options !== 'object' || !options.client || !options.server) {
      throw new TypeError('connect needs { client, server } options');
    }
    const [cctx, cconn] = splitOptions(options.client);
    const [sctx, sconn] = splitOptions(options.server);
    if (sconn.servername !== undefined || sconn.host !== undefined || sconn.session !== undefined) {
      throw new TypeError('servername, host and session are client options');
    }
    const contexts: Contexts = { server: this.openssl.createSecureContext({ ...sctx, isServer: true }) } as Contexts;
    let link: Link;
    try {
      contexts.client = this.openssl.createSecureContext(cctx);
      link = this.#makeLink(contexts, cconn, sconn);
    } catch (e) {
      contexts.client?.free();
      contexts.server.free();
      throw e;
    }
    this.#freeLink();
    this.#contexts?.client.free();
    this.#contexts?.server.free();
    this.#contexts = contexts;
    this.#clientConn = cconn;
    this.#serverConn = sconn;
    this.#link = link;
  }

  /**
   * A new client and server connection on the same contexts (so a session from the last
   * pair can resume: the server keeps its ticket key) and a new link, trace and key log.
   * `client` overrides the client's connection options; `session` is never carried over.
   *
   * @example
   * ```ts
   * sandbox.handshake();
   * const session = sandbox.client.engine.getSession();
   * sandbox.reconnect({ session });
   * sandbox.handshake();
   * sandbox.client.engine.negotiated().sessionReused;  // true
   * ```
   */
  reconnect(client: SandboxEngineOptions = {}): void {
    if (!this.#contexts) throw new TypeError('nothing to reconnect: call connect() first');
    const { session: _old, ...inherited } = this.#clientConn;
    const link = this.#makeLink(this.#contexts, { ...inherited, ...client }, this.#serverConn);
    this.#freeLink();
    this.#link = link;
  }

  /** New connections from the contexts, with the sandbox's tracing and key logging, on a new Link. */
  #makeLink(ctxs: Contexts, clientConn: SandboxEngineOptions, serverConn: SandboxEngineOptions): Link {
    // The callbacks run only inside steps, once the link (and so its peers' arrays) exists.
    let link: Link | undefined;
    const events = (side: 'client' | 'server'): Pick<EngineOptions, 'onmessage' | 'onkeylog'> => ({
      ...(this.#trace ? { onmessage: (e: TlsMessageEvent) => { link![side].trace.push(e); } } : {}),
      ...(this.#keylog ? { onkeylog: (line: string) => { link![side].keylog.push(line); } } : {}),
    });
    const client = ctxs.client.createEngine({ ...clientConn, ...events('client') });
    let server: TlsEngine;
    try {
      server = ctxs.server.createEngine({ ...serverConn, ...events('server') });
    } catch (e) {
      client.free();
      throw e;
    }
    link = new Link(client, server);
    return link;
  }

  #freeLink(): void {
    this.#link?.client.engine.free();
    this.#link?.server.engine.free();
    this.#link = undefined;
  }

  get #current(): Link {
    if (!this.#link) throw new TypeError('the sandbox has no connection yet: call connect({ client, server })');
    return this.#link;
  }

  /**
   * The {@link Link} that joins the current client and server: the same wire and sides as
   * {@link client}, {@link server} and {@link wire}.
   *
   * @example
   * ```ts
   * sandbox.link.send('client', 'ping');   // what the server read
   * ```
   */
  get link(): Link {
    return this.#current;
  }

  /**
   * The client and server contexts that {@link connect} made; {@link reconnect} reuses them.
   *
   * @example
   * ```ts
   * const extra = sandbox.contexts.server.createEngine();
   * ```
   */
  get contexts(): { readonly client: SecureContext; readonly server: SecureContext } {
    if (!this.#contexts) throw new TypeError('the sandbox has no contexts yet: call connect({ client, server })');
    return this.#contexts;
  }

  /**
   * The client.
   *
   * @example
   * ```ts
   * sandbox.client.write('hi');
   * ```
   */
  get client(): SandboxPeer {
    return this.#current.client;
  }

  /**
   * The server.
   *
   * @example
   * ```ts
   * sandbox.server.read();
   * ```
   */
  get server(): SandboxPeer {
    return this.#current.server;
  }

  /**
   * The wire between them.
   *
   * @example
   * ```ts
   * sandbox.wire.toClient.hold();
   * ```
   */
  get wire(): Wire {
    return this.#current.wire;
  }

  /**
   * Each side's traced protocol messages (with `trace: true`; empty otherwise).
   *
   * @example
   * ```ts
   * sandbox.trace.client.filter((e) => e.contentType === 'handshake').map((e) => `${e.direction} ${e.message}`);
   * ```
   */
  get trace(): { readonly client: TlsMessageEvent[]; readonly server: TlsMessageEvent[] } {
    const { client, server } = this.#current;
    return { client: client.trace, server: server.trace };
  }

  /**
   * Each side's SSLKEYLOGFILE lines (with `keylog: true`; empty otherwise).
   *
   * @example
   * ```ts
   * const file = sandbox.keylog.client.join('\n') + '\n';   // for Wireshark
   * ```
   */
  get keylog(): { readonly client: string[]; readonly server: string[] } {
    const { client, server } = this.#current;
    return { client: client.keylog, server: server.keylog };
  }

  /**
   * One round: the client steps, the wire delivers to the server (unless held), the server
   * steps, the wire delivers to the client. Returns true when anything happened.
   *
   * @example
   * ```ts
   * while (sandbox.step()) {}   // what run() does
   * ```
   */
  step(): boolean {
    return this.#current.step();
  }

  /**
   * Steps until a round changes nothing (everything deliverable delivered and processed).
   * Returns the number of rounds that did something. Throws if it has not settled after
   * `maxRounds` (see {@link Link.run}).
   *
   * @example
   * ```ts
   * sandbox.client.write('ping');
   * sandbox.run();
   * ```
   */
  run(maxRounds?: number): number {
    return this.#current.run(maxRounds);
  }

  /**
   * Runs until all is quiet, so that both handshakes complete and the client has read the
   * server's session tickets. Throws a {@link SandboxError}: naming the side that failed
   * first (with its TlsError's code, e.g. `CERT_HAS_EXPIRED`), or `ERR_SANDBOX_STALLED` when
   * the run went quiet with a handshake unfinished (see {@link Link.handshake}).
   *
   * @example
   * ```ts
   * sandbox.clock.advance(11 * 86_400_000);
   * sandbox.reconnect();
   * try { sandbox.handshake(); } catch (e) { e.side; e.code; }  // 'client', 'CERT_HAS_EXPIRED'
   * ```
   */
  handshake(maxRounds?: number): number {
    return this.#current.handshake(maxRounds);
  }

  /**
   * Frees the connections, contexts and test PKI. Calling it again does nothing.
   *
   * @example
   * ```ts
   * using sandbox = await Sandbox.create({ ... });   // or sandbox.free() when done
   * ```
   */
  free(): void {
    this.#freeLink();
    this.#contexts?.client.free();
    this.#contexts?.server.free();
    this.#contexts = undefined;
    this.#pki?.free();
    this.#pki = undefined;
  }

  /**
   * The same as {@link free}, for `using`.
   *
   * @example
   * ```ts
   * { using sandbox = await Sandbox.create(); }
   * ```
   */
  [Symbol.dispose](): void {
    this.free();
  }
}
