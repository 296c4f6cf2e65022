/**
 * The in-memory harness: two existing low-level connections, a client and a server, joined by
 * a {@link Wire} and moved forward only by the test. The {@link Sandbox} runs its pairs on it.
 * @module
 */
import type { TlsEngine } from '../engine.js';
import { SandboxError } from './error.js';
import { SandboxPeer, type Side } from './peer.js';
import { Wire } from './wire.js';
import type { Sandbox } from './sandbox.js';

/**
 * Options for a {@link Link}.
 *
 * @example
 * ```ts
 * const link = new Link(client, server, { chunk: 1 });   // one byte per step each way
 * ```
 */
export interface LinkOptions {
  /**
   * The most bytes each step delivers in each direction (see {@link WireDirection.chunk}).
   * Default `Infinity`: all that is pending.
   *
   * @example
   * ```ts
   * { chunk: 1 }
   * ```
   */
  chunk?: number;
}

/** The default bound on rounds: generous enough for a byte-at-a-time handshake. */
const MAX_ROUNDS = 100_000;

/**
 * A client and a server connection, made by the test from any contexts and instances, joined
 * by a {@link Wire}. Nothing runs by itself: {@link step}, {@link run}, {@link handshake} and
 * {@link send} move both sides forward, and between them the test may call the connections
 * directly (`feed`, `read`, `write`, `shutdown`, ...) or misbehave on the wire. The link does
 * not own the connections: free them when done.
 *
 * @example
 * ```ts
 * import { Link } from 'openssl-tls-wasm/testing';
 *
 * const client = clientContext.createEngine({ servername: 'localhost' });
 * const server = serverContext.createEngine();
 * const link = new Link(client, server);
 * link.handshake();                       // a failure throws a SandboxError naming the side
 * link.send('client', 'ping');            // Uint8Array: what the server read
 * link.server.write('pong');              // encrypted and put on the wire
 * link.wire.toClient.corrupt(0, -1);      // flip a bit of the record's tag
 * link.run();
 * link.client.error?.alertSent?.name;     // 'bad_record_mac'
 * client.free(); server.free();
 * ```
 */
export class Link {
  /**
   * The wire between the two sides.
   *
   * @example
   * ```ts
   * link.wire.log.map(String);
   * ```
   */
  readonly wire: Wire;
  /**
   * The client's side.
   *
   * @example
   * ```ts
   * link.client.write('hello');
   * ```
   */
  readonly client: SandboxPeer;
  /**
   * The server's side.
   *
   * @example
   * ```ts
   * link.server.read();
   * ```
   */
  readonly server: SandboxPeer;

  /**
   * Joins `client` and `server`, which must be a client and a server connection that have not
   * started (or that the test has stepped by hand, with their output taken and fed itself).
   *
   * @example
   * ```ts
   * const link = new Link(cctx.createEngine({ servername: 'localhost' }), sctx.createEngine());
   * ```
   */
  constructor(client: TlsEngine, server: TlsEngine, options: LinkOptions = {}) {
    if (client?.isServer !== false) throw new TypeError('a Link takes a client connection first');
    if (server?.isServer !== true) throw new TypeError('a Link takes a server connection second');
    this.wire = new Wire({ chunk: options.chunk });
    this.client = new SandboxPeer('client', client, this.wire);
    this.server = new SandboxPeer('server', server, this.wire);
    this.wire.toServer.attach(this.server);
    this.wire.toClient.attach(this.client);
  }

  /**
   * One round: the client steps, the wire delivers to the server (unless held), the server
   * steps, the wire delivers to the client. Returns true when anything happened.
   *
   * @example
   * ```ts
   * while (link.step()) {}   // what run() does
   * ```
   */
  step(): boolean {
    const before = this.wire.progressCount;
    this.client.step();
    this.wire.toServer.autoDeliver();
    this.server.step();
    this.wire.toClient.autoDeliver();
    return this.wire.progressCount !== before;
  }

  /**
   * Steps until a round changes nothing (everything deliverable delivered and processed).
   * Returns the number of rounds that did something. Throws a {@link SandboxError}
   * (`ERR_SANDBOX_RUNAWAY`) if it has not settled after `maxRounds`.
   *
   * @example
   * ```ts
   * link.client.write('ping');
   * link.run();
   * link.server.read();  // 'ping'
   * ```
   */
  run(maxRounds = MAX_ROUNDS): number {
    for (let round = 0; round < maxRounds; round++) {
      if (!this.step()) return round;
    }
    throw new SandboxError(`the run did not settle in ${maxRounds} rounds`, undefined, { code: 'ERR_SANDBOX_RUNAWAY' });
  }

  /**
   * Runs until all is quiet, so that both handshakes complete and the client has read the
   * server's session tickets; returns the rounds that did something. Throws a
   * {@link SandboxError}: naming the side that failed first (with its TlsError's code, e.g.
   * `CERT_HAS_EXPIRED`, and the error as `cause`), or `ERR_SANDBOX_STALLED` when the run went
   * quiet with a handshake unfinished.
   *
   * @example
   * ```ts
   * try { link.handshake(); } catch (e) { e.side; e.code; e.cause === link.client.error; }
   * ```
   */
  handshake(maxRounds = MAX_ROUNDS): number {
    const rounds = this.run(maxRounds);
    const { client, server, wire } = this;
    const first = wire.failures[0];
    if (first !== undefined) {
      const e = (first === 'client' ? client : server).error!;
      throw new SandboxError(`the ${first} failed: ${e.message}`, first, {
        code: e.code, errors: e.errors, verifyResult: e.verifyResult, verifyError: e.verifyError,
        alertSent: e.alertSent, alertReceived: e.alertReceived, cause: e,
      });
    }
    if (!client.handshakeDone || !server.handshakeDone) {
      throw new SandboxError(
        `the handshake stalled: the client is ${client.status}, the server ${server.status} ` +
        `(pending: ${wire.toServer.pending().length} to the server, ${wire.toClient.pending().length} to the client)`,
        undefined, { code: 'ERR_SANDBOX_STALLED' });
    }
    return rounds;
  }

  /**
   * Writes `data` on side `from`, runs, and returns all the other side has read (this and
   * whatever it had read before and not taken). Throws the sender's {@link TlsError} if it
   * fails, or the receiver's if it failed with nothing read.
   *
   * @example
   * ```ts
   * new TextDecoder().decode(link.send('server', 'pong'));  // 'pong', as the client read it
   * ```
   */
  send(from: Side, data: Uint8Array | ArrayBuffer | string, maxRounds = MAX_ROUNDS): Uint8Array {
    if (from !== 'client' && from !== 'server') throw new TypeError("send takes 'client' or 'server' first");
    const [sender, receiver] = from === 'client' ? [this.client, this.server] : [this.server, this.client];
    sender.write(data);
    this.run(maxRounds);
    return receiver.readBytes();
  }
}
