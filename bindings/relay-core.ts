/**
 * The relay's two modes over any platform: `?target=host:port` (one WebSocket, one TCP
 * connection, bytes unchanged) and Wisp (one WebSocket, many TCP streams), with the
 * {@link RelayPolicy} applied to every connection. The Node relay (relay.ts) and the Worker
 * relay (relay-worker.ts) only adapt their WebSocket and their TCP sockets to the small
 * interfaces below; everything a client can observe is decided here, once.
 *
 * Why a Wisp server of our own rather than wisp-js's (`@mercuryworkshop/wisp-js/server`):
 * its options are one object for the whole process, so two relays cannot have two policies;
 * it checks one DNS answer, not each; it has no connect or idle timeout and reports every
 * failed connection as 0x03; its per-host stream limit throws (it iterates an object); it
 * queues whatever a client sends past its credit (a client that ignores CONTINUE grew one
 * wisp-js 0.5.0 server by about 400 MiB with one stream); and it runs on Node only, while the
 * Worker needs the same server.
 * @module
 */
import {
  CLOSE_CODE, classifyError, type Destination, destination, errorCode, parseTarget, RelayFailure,
  type RelayPolicy, type Resolver, shown, WISP_REASON,
} from './relay-policy.js';
import {
  CLOSE, CONNECT, continuePacket, DATA, EXT_MOTD, EXT_PASSWORD, extension, HEADER, INFO, infoPayload, packet,
  parseExtensions, REASON_AUTH_FAILED, REASON_AUTH_REQUIRED, REASON_VOLUNTARY, STREAM_TCP, SUBPROTOCOL_V2, u16, u32,
} from './wisp-wire.js';

// ------------------------------------------------------------ what a platform provides

/** The relay's end of one accepted WebSocket. */
export interface PeerSocket {
  /** Sends one binary message (nothing once closed). */
  send(data: Uint8Array): void;
  /** Closes the WebSocket with this code and reason (nothing once closed). */
  close(code: number, reason: string): void;
  /** Resolves once at most `limit` bytes wait to be sent (at once where the platform cannot tell). */
  drained(limit: number): Promise<void>;
  /** Stops delivering messages until `resume()`; absent where the platform cannot (Workers). */
  pause?(): void;
  resume?(): void;
}

/** An open TCP connection. */
export interface TcpConnection {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Destroys it at once. */
  close(): void;
}

/** DNS and TCP, as the platform has them. */
export interface Network {
  resolve: Resolver;
  /**
   * Connects to an address (never a name: the policy resolved and checked it). Rejects with
   * an error carrying node's code (ECONNREFUSED, ...) or saying it in its message; gives up
   * when `signal` aborts.
   */
  connect(address: string, port: number, signal: AbortSignal): Promise<TcpConnection>;
}

/** What the relay tells `onEvent`, for logs. `client` is the client's address and port. */
export type RelayEvent =
  | { type: 'open'; id: number; client: string; target: string; mode: 'target' | 'wisp' }
  | {
    type: 'refused'; client: string; mode: 'target' | 'wisp';
    /** The WebSocket close code, or for a Wisp stream the Wisp close reason (0x48, ...). */
    code: number; reason: string; target?: string;
  }
  | {
    type: 'close'; id: number; client: string; target: string; mode: 'target' | 'wisp';
    /** The WebSocket close code (sent or received), or for a Wisp stream the Wisp close reason. */
    code: number; reason: string;
    /** Bytes relayed from the client to the target, and from the target to the client. */
    bytesUp: number; bytesDown: number;
  }
  | { type: 'wisp'; client: string; version: 1 | 2 };

/** What the platform knows about one WebSocket request. */
export interface Upgrade {
  /** For events: the client's address and port. */
  client: string;
  /** For limits: the client's address (what counts as one client). */
  clientKey: string;
  origin: string | null | undefined;
  /** The query's `target` values. */
  targets: string[];
  /** The subprotocols the client offered. */
  protocols: string[];
}

/** The handlers a platform calls for one accepted WebSocket. */
export interface Session {
  message(data: Uint8Array | string): void;
  closed(code: number, reason: string): void;
}

/** After the WebSocket closes, how long a target may take to close before it is destroyed. */
const LINGER = 5000;
/** Wisp v2: how long the client has to answer the server's INFO (the protocol says 5 s). */
const INFO_TIMEOUT = 5000;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455 5.5): longer ones are cut. */
export function fitReason(s: string): string {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= 123) return s;
  let out = s.slice(0, 120);
  while (enc.encode(out + '...').length > 123) out = out.slice(0, -1);
  return out + '...';
}

// ------------------------------------------------------------ the core

/** One relay's sessions and connections, whatever the platform. */
export class RelayCore {
  readonly #sessions = new Set<{ shutdown(): void; sweep(now: number): void }>();
  #nextId = 1;
  #active = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  closing = false;

  constructor(readonly policy: RelayPolicy, readonly network: Network, readonly onEvent: (e: RelayEvent) => void = () => {}) {}

  /** TCP connections being relayed now (`?target` connections and Wisp streams). */
  get connections(): number {
    return this.#active;
  }

  /**
   * The subprotocol to accept for a request: `wisp-v2` for a Wisp client that asks for it,
   * else the first one offered (a browser fails a WebSocket whose server picks none of those
   * it asked for, and epoxy-tls asks for a random one).
   */
  static protocol(targets: string[], protocols: string[]): string | undefined {
    return targets.length === 0 && protocols.includes(SUBPROTOCOL_V2) ? SUBPROTOCOL_V2 : protocols[0];
  }

  /**
   * Starts a session on a WebSocket the platform has accepted: refuses it (with a close code
   * and reason the page can read) or relays it in the mode the request asks for.
   */
  accept(peer: PeerSocket, upgrade: Upgrade): Session {
    const mode = upgrade.targets.length > 0 ? 'target' : 'wisp';
    const refuse = (code: number, reason: string): Session => {
      const why = fitReason(reason);
      peer.close(code, why);
      this.onEvent({ type: 'refused', client: upgrade.client, mode, code, reason: why });
      return { message() {}, closed() {} };
    };
    if (this.closing) return refuse(1001, 'the relay is shutting down');
    const originProblem = this.policy.checkOrigin(upgrade.origin);
    if (originProblem) return refuse(4003, originProblem);
    const modeProblem = this.policy.checkMode(mode);
    if (modeProblem) return refuse(4003, mode === 'wisp' && this.policy.modes.has('target') ? 'no target: connect to ?target=host:port' : modeProblem);
    let target: Destination | undefined;
    if (mode === 'target') {
      if (upgrade.targets.length !== 1) return refuse(4003, 'give one target');
      target = parseTarget(upgrade.targets[0]);
      if (!target) return refuse(4003, `target ${shown(upgrade.targets[0])} is not allowed`);
      try {
        this.policy.check(target);
      } catch (e) {
        return refuse(4003, (e as Error).message);
      }
    }
    const limit = this.policy.openWebSocket(upgrade.clientKey);
    if (limit) return refuse(1013, limit);
    const session = target
      ? new TargetSession(this, peer, upgrade, target)
      : new WispSession(this, peer, upgrade, upgrade.protocols.includes(SUBPROTOCOL_V2));
    this.#sessions.add(session);
    this.#startSweeper();
    session.start();
    return session;
  }

  /** Closes every session (1001) and destroys their TCP connections. */
  shutdown(): void {
    this.closing = true;
    for (const s of [...this.#sessions]) s.shutdown();
  }

  /** @internal */
  ended(session: { shutdown(): void; sweep(now: number): void }, clientKey: string): void {
    if (!this.#sessions.delete(session)) return;
    this.policy.closeWebSocket(clientKey);
    if (this.#sessions.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** @internal A connection id, counted as relaying. */
  opened(): number {
    this.#active++;
    return this.#nextId++;
  }

  /** @internal */
  closedOne(): void {
    this.#active--;
  }

  /** Checks idle timeouts a few times per timeout. */
  #startSweeper(): void {
    const idle = this.policy.limits.idleTimeout;
    if (this.#sweeper !== undefined || idle === 0) return;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const s of [...this.#sessions]) s.sweep(now);
    }, Math.min(Math.max(idle / 4, 50), 15_000));
    (this.#sweeper as { unref?: () => void }).unref?.();
  }

  /**
   * Resolves, checks and connects to `d` within the connect timeout, trying each checked
   * address in turn while they fail fast (refused, unreachable). Throws a RelayFailure.
   */
  async dial(d: Destination, signal: AbortSignal): Promise<TcpConnection> {
    const { connectTimeout } = this.policy.limits;
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new RelayFailure('timeout', `ETIMEDOUT (${d.key})`, 'ETIMEDOUT'));
      }, connectTimeout);
    });
    const attempt = (async () => {
      const { addresses } = await this.policy.resolve(d, this.network.resolve);
      let last: unknown;
      for (const address of addresses) {
        if (controller.signal.aborted) break;
        try {
          const conn = await this.network.connect(address, d.port, controller.signal);
          if (controller.signal.aborted) {
            conn.close();
            break;
          }
          return conn;
        } catch (e) {
          last = e;
          const kind = classifyError(e);
          if (kind !== 'refused' && kind !== 'unreachable') break;
        }
      }
      if (signal.aborted) throw new RelayFailure('network', `cancelled (${d.key})`);
      const code = errorCode(last) ?? (last instanceof Error ? last.message : String(last));
      throw new RelayFailure(classifyError(last), `${code} (${d.key})`, errorCode(last));
    })();
    try {
      return await Promise.race([attempt, timedOut]);
    } catch (e) {
      attempt.then((c) => c.close(), () => {}); // a connection that won after the timeout
      throw e instanceof RelayFailure ? e : new RelayFailure(classifyError(e), `${errorCode(e) ?? String(e)} (${d.key})`, errorCode(e));
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    }
  }
}

// ------------------------------------------------------------ one TCP connection

/**
 * One TCP connection of a session: connects through the policy, writes what the client sends
 * (queued while connecting), reads what the target sends (paused while the WebSocket is backed
 * up), and ends once. `onData` sends target bytes to the client; `onEnd` is told how it ended.
 */
class Pipe {
  readonly id: number;
  bytesUp = 0;
  bytesDown = 0;
  lastActive = Date.now();
  /** Client bytes accepted and not yet written to TCP. */
  queuedBytes = 0;
  /** Client chunks accepted and not yet written to TCP. */
  queuedChunks = 0;
  #conn: TcpConnection | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #pending: Uint8Array[] = [];
  readonly #abort = new AbortController();
  #ended = false;
  #released = false;
  #readDone = false;
  #writeDone = false;
  #linger: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly core: RelayCore,
    readonly peer: PeerSocket,
    readonly clientKey: string,
    readonly target: Destination,
    /** Called with each chunk from the target; the pipe then waits for the WebSocket to drain. */
    readonly onData: (chunk: Uint8Array) => void,
    /** Called once: how the target side ended (undefined: it closed cleanly). */
    readonly onEnd: (failure: RelayFailure | undefined) => void,
    /** Called as queued client chunks are written to TCP. */
    readonly onWritten: () => void = () => {},
  ) {
    this.id = core.opened();
  }

  /** Connects and starts relaying; failures go to onEnd. */
  async start(): Promise<void> {
    let conn: TcpConnection;
    try {
      conn = await this.core.dial(this.target, this.#abort.signal);
    } catch (e) {
      this.#end(e instanceof RelayFailure ? e : new RelayFailure('network', String(e)));
      this.#release();
      return;
    }
    if (this.#ended) {
      conn.close();
      this.#release();
      return;
    }
    this.#conn = conn;
    this.#writer = conn.writable.getWriter();
    this.#writer.closed.catch(() => {});
    for (const chunk of this.#pending.splice(0)) this.#write(chunk);
    this.#read(conn.readable.getReader());
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const { highWaterMark } = this.core.policy.limits;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.#ended) continue; // the client is gone: drop what still arrives until the FIN
        this.bytesDown += value.length;
        this.lastActive = Date.now();
        this.onData(value);
        await this.peer.drained(highWaterMark);
      }
      this.#readDone = true;
      this.#end(undefined);
      if (this.#writeDone) this.#destroy();
      else this.#finish();
    } catch (e) {
      const kind = classifyError(e);
      this.#end(new RelayFailure(kind, `${errorCode(e) ?? (e instanceof Error ? e.message : String(e))} (${this.target.key})`, errorCode(e)));
      this.#destroy();
    }
  }

  /** Bytes from the client, for the target. */
  write(chunk: Uint8Array): void {
    if (this.#ended) return;
    this.bytesUp += chunk.length;
    this.lastActive = Date.now();
    this.queuedBytes += chunk.length;
    this.queuedChunks++;
    if (this.#writer) this.#write(chunk);
    else this.#pending.push(chunk);
  }

  #write(chunk: Uint8Array): void {
    this.#writer!.write(chunk).then(() => {
      this.queuedBytes -= chunk.length;
      this.queuedChunks--;
      this.onWritten();
    }, (e) => {
      this.#end(new RelayFailure(classifyError(e), `${errorCode(e) ?? String(e)} (${this.target.key})`, errorCode(e)));
      this.#destroy();
    });
  }

  /** Resolves when the target's side has room again (or the pipe is over). */
  async writable(): Promise<void> {
    await this.#writer?.ready.catch(() => {});
  }

  /** The client is done (or gone): FIN after what is queued, then destroy after a grace period. */
  finish(): void {
    this.#ended = true;
    this.#abort.abort();
    this.#finish();
  }

  #finish(): void {
    if (this.#linger !== undefined || !this.#conn) return;
    this.#linger = setTimeout(() => this.#destroy(), LINGER);
    (this.#linger as { unref?: () => void }).unref?.();
    // Once both directions are done the connection is over; until then, LINGER at most.
    this.#writer?.close().then(() => {
      this.#writeDone = true;
      if (this.#readDone) this.#destroy();
    }, () => this.#destroy());
  }

  /** Ends it now: no FIN, no waiting. */
  destroy(): void {
    this.#ended = true;
    this.#abort.abort();
    this.#destroy();
  }

  #destroy(): void {
    clearTimeout(this.#linger);
    this.#linger = -1 as unknown as ReturnType<typeof setTimeout>; // no new linger timer
    this.#conn?.close();
    this.#release();
  }

  #end(failure: RelayFailure | undefined): void {
    if (this.#ended && failure === undefined) return;
    const was = this.#ended;
    this.#ended = true;
    if (!was) this.onEnd(failure);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.core.policy.closeStream(this.clientKey);
  }

  get ended(): boolean {
    return this.#ended;
  }
}

// ------------------------------------------------------------ ?target=host:port

class TargetSession {
  #pipe: Pipe | undefined;
  #closeSent: { code: number; reason: string } | undefined;
  #done = false;
  #paused = false;

  constructor(readonly core: RelayCore, readonly peer: PeerSocket, readonly upgrade: Upgrade, readonly target: Destination) {}

  start(): void {
    const { client, clientKey } = this.upgrade;
    try {
      this.core.policy.openStream(clientKey);
    } catch (e) {
      const why = fitReason((e as Error).message);
      this.#close(CLOSE_CODE.throttled, why);
      this.core.onEvent({ type: 'refused', client, mode: 'target', code: CLOSE_CODE.throttled, reason: why, target: this.target.key });
      return;
    }
    const pipe = new Pipe(this.core, this.peer, clientKey, this.target,
      (chunk) => this.peer.send(chunk),
      (failure) => {
        if (!failure) this.#close(1000, 'the target closed the connection');
        else this.#close(CLOSE_CODE[failure.failure], failure.message);
      },
      () => this.#maybeResume());
    this.#pipe = pipe;
    this.core.onEvent({ type: 'open', id: pipe.id, client, target: this.target.key, mode: 'target' });
    pipe.start();
  }

  #close(code: number, reason: string): void {
    if (this.#closeSent || this.#done) return;
    this.#closeSent = { code, reason: fitReason(reason) };
    this.peer.close(code, this.#closeSent.reason);
    if (this.#paused) this.peer.resume?.(); // a paused WebSocket could not read the client's answer
  }

  message(data: Uint8Array | string): void {
    const pipe = this.#pipe;
    if (this.#closeSent || !pipe) return;
    if (typeof data === 'string' || data.length > this.core.policy.limits.maxPayload) {
      if (typeof data === 'string') this.#close(1003, 'binary frames only');
      else this.#close(1009, `a message over ${this.core.policy.limits.maxPayload} bytes`);
      pipe.destroy();
      return;
    }
    pipe.write(data);
    const { highWaterMark, maxBuffered } = this.core.policy.limits;
    if (pipe.queuedBytes <= highWaterMark) return;
    if (this.peer.pause) {
      // The target is not keeping up: stop reading the WebSocket until it has room.
      if (!this.#paused) {
        this.#paused = true;
        this.peer.pause();
        pipe.writable().then(() => this.#maybeResume());
      }
    } else if (pipe.queuedBytes > maxBuffered) {
      this.#close(1008, `the client sends faster than the target reads (over ${maxBuffered} bytes waiting)`);
      pipe.destroy();
    }
  }

  #maybeResume(): void {
    if (!this.#paused || !this.#pipe || this.#pipe.queuedBytes > this.core.policy.limits.highWaterMark) return;
    this.#paused = false;
    this.peer.resume?.();
  }

  closed(code: number, reason: string): void {
    if (this.#done) return;
    this.#done = true;
    const pipe = this.#pipe;
    if (pipe) {
      if (this.core.closing) pipe.destroy();
      else pipe.finish();
      this.core.closedOne();
      const by = this.#closeSent ?? { code, reason };
      this.core.onEvent({
        type: 'close', id: pipe.id, client: this.upgrade.client, target: this.target.key, mode: 'target',
        code: by.code, reason: by.reason, bytesUp: pipe.bytesUp, bytesDown: pipe.bytesDown,
      });
    }
    this.core.ended(this, this.upgrade.clientKey);
  }

  shutdown(): void {
    this.#close(1001, 'the relay is shutting down');
    this.#pipe?.destroy();
  }

  sweep(now: number): void {
    const pipe = this.#pipe;
    const idle = this.core.policy.limits.idleTimeout;
    if (!pipe || pipe.ended || this.#closeSent || now - pipe.lastActive < idle) return;
    this.#close(CLOSE_CODE.idle, `idle for ${Math.round(idle / 1000)} s`);
    pipe.destroy();
  }
}

// ------------------------------------------------------------ Wisp

interface WispStream {
  readonly id: number;
  pipe: Pipe | undefined;
  /** DATA packets written to TCP since the last CONTINUE. */
  written: number;
}

class WispSession {
  #state: 'handshake' | 'checking' | 'ready' | 'closed' = 'handshake';
  /** Packets that arrived while the password was being checked. */
  readonly #held: Uint8Array[] = [];
  readonly #streams = new Map<number, WispStream>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastStream = Date.now();
  #closeSent = false;

  constructor(readonly core: RelayCore, readonly peer: PeerSocket, readonly upgrade: Upgrade, readonly v2: boolean) {}

  get #bufferSize(): number {
    return this.core.policy.limits.wispBufferSize;
  }

  start(): void {
    const policy = this.core.policy;
    if (!this.v2) {
      if (policy.requiresPassword) return this.#authFailure(REASON_AUTH_REQUIRED, 'this relay requires Wisp v2 password authentication');
      this.#ready(1);
      return;
    }
    const records: Uint8Array[] = [];
    if (policy.requiresPassword) records.push(extension(EXT_PASSWORD, new Uint8Array([1])));
    if (policy.motd !== undefined) records.push(extension(EXT_MOTD, new TextEncoder().encode(policy.motd)));
    this.peer.send(packet(INFO, 0, infoPayload(records)));
    // A client that never answers: proceed in v1 as the protocol says, unless it must authenticate.
    this.#timer = setTimeout(() => {
      if (this.#state !== 'handshake') return;
      if (policy.requiresPassword) this.#authFailure(REASON_AUTH_REQUIRED, 'no Wisp INFO packet with credentials');
      else this.#ready(1);
    }, INFO_TIMEOUT);
  }

  #ready(version: 1 | 2): void {
    clearTimeout(this.#timer);
    this.#state = 'ready';
    this.#lastStream = Date.now();
    this.peer.send(continuePacket(0, this.#bufferSize));
    this.core.onEvent({ type: 'wisp', client: this.upgrade.client, version });
    for (const data of this.#held.splice(0)) this.message(data);
  }

  #authFailure(reason: number, why: string): void {
    this.peer.send(packet(CLOSE, 0, [reason]));
    this.#closeWs(1008, why);
  }

  #closeWs(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    clearTimeout(this.#timer);
    this.peer.close(code, fitReason(reason));
    for (const s of [...this.#streams.values()]) this.#drop(s, undefined, true);
  }

  message(data: Uint8Array | string): void {
    if (this.#closeSent || this.#state === 'closed') return;
    if (typeof data === 'string') return this.#closeWs(1003, 'Wisp packets are binary frames');
    if (this.#state === 'checking') {
      if (this.#held.push(data) > 2 * this.#bufferSize) this.#closeWs(1008, 'too many packets before the handshake was done');
      return;
    }
    if (data.length < HEADER) return this.#closeWs(1002, 'malformed Wisp packet: shorter than its header');
    if (data.length > this.core.policy.limits.wispMaxPacket) return this.#closeWs(1009, `a Wisp packet over ${this.core.policy.limits.wispMaxPacket} bytes`);
    const type = data[0];
    const id = u32(data, 1);
    const payload = data.subarray(HEADER);
    if (this.#state === 'handshake') {
      if (type === INFO && id === 0) {
        this.#info(payload);
        return;
      }
      // A client that skipped INFO speaks v1 (unless it must authenticate).
      if (this.core.policy.requiresPassword) return this.#authFailure(REASON_AUTH_REQUIRED, 'no Wisp INFO packet with credentials');
      this.#ready(1);
    }
    this.#packet(type, id, payload);
  }

  async #info(payload: Uint8Array): Promise<void> {
    clearTimeout(this.#timer);
    this.#state = 'checking'; // packets wait until the check below is done
    const extensions = parseExtensions(payload);
    if (typeof extensions === 'string') return this.#closeWs(1002, `malformed Wisp packet: ${extensions}`);
    const policy = this.core.policy;
    if (policy.requiresPassword) {
      const pw = extensions.find((e) => e.id === EXT_PASSWORD)?.data;
      if (!pw) return this.#authFailure(REASON_AUTH_REQUIRED, 'this relay requires Wisp v2 password authentication');
      let ok = false;
      if (pw.length >= 3) {
        const userLength = pw[0];
        const passLength = u16(pw, 1);
        if (pw.length === 3 + userLength + passLength) {
          try {
            const username = decoder.decode(pw.subarray(3, 3 + userLength));
            const password = decoder.decode(pw.subarray(3 + userLength));
            ok = await policy.checkPassword(username, password);
          } catch {
            ok = false;
          }
        }
      }
      if (this.#closeSent) return;
      if (!ok) return this.#authFailure(REASON_AUTH_FAILED, 'wrong username or password');
    }
    this.#ready(2);
  }

  #packet(type: number, id: number, payload: Uint8Array): void {
    switch (type) {
      case CONNECT: return this.#connect(id, payload);
      case DATA: {
        const s = this.#streams.get(id);
        if (!s?.pipe) return; // closed here already: what was in flight is dropped
        if (s.pipe.queuedChunks >= 2 * this.#bufferSize) {
          // Past the credit it was given (allowing for a CONTINUE in flight): it ignores flow control.
          return this.#drop(s, new RelayFailure('throttled', `the client sent past its Wisp credit (${s.pipe.queuedChunks} packets waiting)`));
        }
        s.pipe.write(payload);
        return;
      }
      case CLOSE: {
        const s = this.#streams.get(id);
        if (s) this.#drop(s, undefined, false, payload[0] ?? REASON_VOLUNTARY);
        return;
      }
      default:
        return; // CONTINUE from a client, a late INFO, or an extension's packet: ignored, as the protocol says
    }
  }

  #connect(id: number, payload: Uint8Array): void {
    const { client, clientKey } = this.upgrade;
    if (id === 0) return this.#closeWs(1002, 'malformed Wisp packet: CONNECT for stream 0');
    if (this.#streams.has(id)) return this.#closeWs(1002, `malformed Wisp packet: stream ${id} is already open`);
    const refuse = (failure: RelayFailure, target?: string) => {
      this.peer.send(packet(CLOSE, id, [WISP_REASON[failure.failure]]));
      this.core.onEvent({ type: 'refused', client, mode: 'wisp', code: WISP_REASON[failure.failure], reason: failure.message, target });
    };
    if (payload.length < 3) return refuse(new RelayFailure('invalid', 'a CONNECT packet without a destination'));
    if (payload[0] !== STREAM_TCP) return refuse(new RelayFailure('invalid', `stream type ${payload[0]}: this relay carries TCP only`));
    const port = u16(payload, 1);
    let host: string;
    try {
      host = decoder.decode(payload.subarray(3));
    } catch {
      return refuse(new RelayFailure('invalid', 'a destination that is not UTF-8'));
    }
    const d = destination(host, port);
    if (!d) return refuse(new RelayFailure('invalid', `${shown(host)}:${port} is not a destination`));
    try {
      this.core.policy.check(d);
      this.core.policy.openStream(clientKey);
    } catch (e) {
      return refuse(e as RelayFailure, d.key);
    }
    const stream: WispStream = { id, pipe: undefined, written: 0 };
    const pipe = new Pipe(this.core, this.peer, clientKey, d,
      (chunk) => this.peer.send(packet(DATA, id, chunk)),
      (failure) => this.#drop(stream, failure),
      () => {
        // Credit back to the client each time half the buffer has been written out.
        if (++stream.written < Math.max(1, this.#bufferSize >> 1) || this.#streams.get(id) !== stream) return;
        stream.written = 0;
        this.peer.send(continuePacket(id, Math.max(0, this.#bufferSize - pipe.queuedChunks)));
      });
    stream.pipe = pipe;
    this.#streams.set(id, stream);
    this.core.onEvent({ type: 'open', id: pipe.id, client, target: d.key, mode: 'wisp' });
    pipe.start();
  }

  /**
   * Ends a stream: `failure` (or a clean end of the target, when undefined) is told to the
   * client with CLOSE unless the client closed it (`fromClient`, its reason) or the whole
   * WebSocket is going (`silent`).
   */
  #drop(s: WispStream, failure: RelayFailure | undefined, silent = false, fromClient?: number): void {
    if (this.#streams.get(s.id) !== s) return;
    this.#streams.delete(s.id);
    this.#lastStream = Date.now();
    const pipe = s.pipe!;
    const reason = fromClient ?? (failure ? WISP_REASON[failure.failure] : REASON_VOLUNTARY);
    if (!silent && fromClient === undefined) this.peer.send(packet(CLOSE, s.id, [reason]));
    if (fromClient !== undefined && !this.core.closing) pipe.finish();
    else if (failure || silent) pipe.destroy();
    else pipe.finish();
    this.core.closedOne();
    this.core.onEvent({
      type: 'close', id: pipe.id, client: this.upgrade.client, target: pipe.target.key, mode: 'wisp', code: reason,
      reason: failure?.message ?? (fromClient !== undefined ? 'closed by the client' : silent ? 'the WebSocket closed' : 'the target closed the connection'),
      bytesUp: pipe.bytesUp, bytesDown: pipe.bytesDown,
    });
  }

  closed(): void {
    this.#closeSent = true;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    for (const s of [...this.#streams.values()]) this.#drop(s, undefined, true);
    this.core.ended(this, this.upgrade.clientKey);
  }

  shutdown(): void {
    this.#closeWs(1001, 'the relay is shutting down');
  }

  sweep(now: number): void {
    const idle = this.core.policy.limits.idleTimeout;
    for (const s of [...this.#streams.values()]) {
      if (s.pipe && now - s.pipe.lastActive >= idle) this.#drop(s, new RelayFailure('idle', `idle for ${Math.round(idle / 1000)} s`));
    }
    if (this.#streams.size === 0 && this.#state === 'ready' && now - this.#lastStream >= idle) {
      this.#closeWs(1000, `no stream for ${Math.round(idle / 1000)} s`);
    }
  }
}
