/**
 * What a relay may reach, and how much it may hold: the one policy that the Node relay
 * (`openssl-tls-wasm/relay`) and the Cloudflare Worker relay (`openssl-tls-wasm/relay/worker`)
 * both apply, to every `?target` connection and every Wisp stream alike. No platform APIs here:
 * resolving names and opening sockets are the platform's, passed in.
 *
 * The rules:
 * - **The allowlist.** Entries are `host:port`. The host is a name (`example.com`), an address
 *   (`192.0.2.1`, `[2001:db8::1]`), `*.example.com` (any name under it, not itself) or `*` (any
 *   host); the port is a number or `*`. Names compare without regard to case, addresses by value.
 * - **Addresses.** A destination named in an exact entry (`localhost:8443`, `10.0.0.5:5432`)
 *   may be wherever that name resolves: the operator named it. A destination that only a
 *   wildcard lets through must resolve to public addresses only, and every address the name
 *   resolves to is checked (one private answer among public ones refuses the name): a page
 *   cannot reach loopback, private, link-local or otherwise special addresses through `*:443`
 *   or `*.example.com:443`, however the name is spelled, unless `allowPrivate` says so. The
 *   relay connects to the address it checked, never to the name again.
 * - **Origins.** When a list is given, a browser page from another origin is refused; requests
 *   without an Origin header (not from a browser) are accepted.
 * - **Limits.** WebSockets and streams are counted per client (its address) and in total.
 * @module
 */

// ------------------------------------------------------------ defaults

/** The limits and timeouts a relay applies, with their defaults. */
export interface RelayLimits {
  /** Concurrent WebSockets, all clients together. Default 1024. */
  maxWebSockets: number;
  /** Concurrent WebSockets from one client address. Default 32. */
  maxWebSocketsPerClient: number;
  /** Concurrent TCP connections (`?target` connections and Wisp streams), all clients together. Default 4096. */
  maxStreams: number;
  /** Concurrent TCP connections for one client address. Default 128. */
  maxStreamsPerClient: number;
  /** Milliseconds to resolve and connect to a destination. Default 10000. */
  connectTimeout: number;
  /**
   * Milliseconds a connection may pass with no byte in either direction before it is closed;
   * also how long a Wisp WebSocket may stay open with no stream. 0 turns it off. Default 300000.
   */
  idleTimeout: number;
  /** Bytes queued on the WebSocket before the TCP sockets that feed it are paused. Default 64 KiB. */
  highWaterMark: number;
  /**
   * Bytes from the client queued for a `?target` destination that reads slowly, where the
   * platform cannot pause the WebSocket (Workers): past it the connection is closed. Default 1 MiB.
   */
  maxBuffered: number;
  /** Wisp: the DATA packets each stream may have in flight (the CONTINUE credit). Default 16. */
  wispBufferSize: number;
  /** The largest WebSocket message in `?target` mode, in bytes (larger ones close with 1009). Default 1 MiB. */
  maxPayload: number;
  /**
   * The largest Wisp packet, in bytes (larger ones close the WebSocket with 1009). With the
   * credit, it bounds what one stream can make the relay hold: 2 x wispBufferSize x this
   * (4 MiB by default). Default 128 KiB.
   */
  wispMaxPacket: number;
}

export const DEFAULT_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxWebSockets: 1024,
  maxWebSocketsPerClient: 32,
  maxStreams: 4096,
  maxStreamsPerClient: 128,
  connectTimeout: 10_000,
  idleTimeout: 300_000,
  highWaterMark: 64 * 1024,
  maxBuffered: 1024 * 1024,
  wispBufferSize: 16,
  maxPayload: 1024 * 1024,
  wispMaxPacket: 128 * 1024,
});

/** What both relays take to build their policy. */
export interface RelayPolicyOptions extends Partial<RelayLimits> {
  /**
   * The destinations that may be reached: `host:port` entries such as `'example.com:443'`,
   * `'[::1]:8443'`, `'*.example.com:443'`, `'*:443'`. Required and not empty.
   */
  allow: Iterable<string>;
  /**
   * Let wildcard entries reach loopback, private, link-local and other non-public addresses
   * too. Default false: only exact entries reach them.
   */
  allowPrivate?: boolean;
  /** Web origins whose pages may use the relay, e.g. `['https://app.example']`. Default: any. */
  origins?: Iterable<string>;
  /** Which modes the relay speaks: `'target'` (`?target=host:port`) and `'wisp'`. Default both. */
  modes?: Iterable<'target' | 'wisp'>;
  /**
   * Wisp v2 password authentication: username to password, or a function that checks a pair.
   * When given, every Wisp client must authenticate, v1 clients and `?target` connections
   * (which cannot) are refused.
   */
  passwords?: Record<string, string> | ((username: string, password: string) => boolean | Promise<boolean>);
  /** Wisp v2: a message of the day sent to clients. */
  motd?: string;
}

// ------------------------------------------------------------ addresses

/** Four bytes of an IPv4 address written as a dotted quad, or undefined. */
function parseIPv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Sixteen bytes of an IPv6 address (a zone id is dropped), or undefined. */
function parseIPv6(input: string): number[] | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!/^[0-9a-f:.]+$/i.test(s) || s.length < 2) return undefined;
  let tail: number[] = [];
  if (s.includes('.')) {
    // An IPv4 address in the last 32 bits (::ffff:192.0.2.1).
    const at = s.lastIndexOf(':');
    const v4 = at < 0 ? undefined : parseIPv4(s.slice(at + 1));
    if (!v4) return undefined;
    tail = v4;
    s = s.slice(0, at + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1); // the colon before the IPv4 part separates, unless part of ::
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const want = 8 - tail.length / 2;
  if (head.some((g) => !/^[0-9a-f]{1,4}$/i.test(g)) || rest.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  let all: string[];
  if (halves.length === 2) {
    if (head.length + rest.length >= want) return undefined;
    all = [...head, ...Array<string>(want - head.length - rest.length).fill('0'), ...rest];
  } else {
    all = head;
  }
  if (all.length !== want) return undefined;
  const out: number[] = [];
  for (const g of all) {
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  return [...out, ...tail];
}

/** 4 for an IPv4 dotted quad, 6 for an IPv6 address, 0 for anything else (a name). */
export function ipVersion(s: string): 0 | 4 | 6 {
  if (parseIPv4(s)) return 4;
  if (s.includes(':') && parseIPv6(s)) return 6;
  return 0;
}

/** An IPv6 address in its canonical text (RFC 5952: lowercase, longest zero run as ::). */
function formatIPv6(b: number[]): string {
  // IPv4-mapped addresses in the mixed notation RFC 5952 asks for (::ffff:192.0.2.1).
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${b.slice(12).join('.')}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** An address in canonical text (IPv6 compressed and lowercase, no zone), or undefined. */
export function canonicalAddress(s: string): string | undefined {
  const v4 = parseIPv4(s);
  if (v4) return v4.join('.');
  const v6 = s.includes(':') ? parseIPv6(s) : undefined;
  return v6 ? formatIPv6(v6) : undefined;
}

/** The kinds of address that only an exact allowlist entry (or `allowPrivate`) may reach. */
export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'shared'
  | 'multicast' | 'documentation' | 'reserved';

const inV4 = (b: number[], net: number[], bits: number) => {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if ((b[i] & mask) !== (net[i] & mask)) return false;
  }
  return true;
};

const V4_RANGES: Array<[number[], number, AddressKind]> = [
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'shared'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 88, 99, 0], 24, 'reserved'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'reserved'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

function classifyV4(b: number[]): AddressKind {
  for (const [net, bits, kind] of V4_RANGES) if (inV4(b, net, bits)) return kind;
  return 'public';
}

function classifyV6(b: number[]): AddressKind {
  const zeroUpTo = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(15) && b[15] === 0) return 'unspecified';
  if (zeroUpTo(15) && b[15] === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): the IPv4 address decides.
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(b.slice(12));
  if (zeroUpTo(12)) return 'reserved';
  // NAT64 (64:ff9b::/96) carries an IPv4 address; 64:ff9b:1::/48 is for local use.
  const w = (i: number) => (b[i] << 8) | b[i + 1];
  if (w(0) === 0x64 && w(2) === 0xff9b && b.slice(4, 12).every((x) => x === 0)) return classifyV4(b.slice(12));
  if (w(0) === 0x64 && w(2) === 0xff9b && w(4) === 1) return 'private';
  if (w(0) === 0x2002) return classifyV4(b.slice(2, 6)); // 6to4 carries an IPv4 address
  if (w(0) === 0x2001 && w(2) === 0x0db8) return 'documentation';
  if (w(0) === 0x2001 && w(2) === 0) return 'reserved'; // Teredo: tunnels to anywhere
  if ((b[0] & 0xfe) === 0xfc) return 'private'; // unique local fc00::/7
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return 'private'; // site-local (deprecated)
  if (b[0] === 0xff) return 'multicast';
  if ((b[0] & 0xe0) !== 0x20) return 'reserved'; // outside global unicast 2000::/3
  return 'public';
}

/** What kind of address `s` is; an unparsable one is 'reserved' (never reached by a wildcard). */
export function addressKind(s: string): AddressKind {
  const v4 = parseIPv4(s);
  if (v4) return classifyV4(v4);
  const v6 = s.includes(':') ? parseIPv6(s) : undefined;
  return v6 ? classifyV6(v6) : 'reserved';
}

// ------------------------------------------------------------ the allowlist

/** A destination, parsed and normalized. */
export interface Destination {
  /** For messages and logs: `host:port`, the host lowercase, IPv6 in brackets. */
  readonly key: string;
  /** The host without brackets: a lowercase name or a canonical address. */
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for an address, 0 for a name. */
  readonly ip: 0 | 4 | 6;
}

const NAME = /^[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?$/i;

/** A host (name, address, or `[v6]`) and port as a destination, or undefined when either is malformed. */
export function destination(hostInput: string, port: number): Destination | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const bare = hostInput.startsWith('[') && hostInput.endsWith(']') ? hostInput.slice(1, -1) : hostInput;
  const ip = ipVersion(bare);
  if (ip === 6 && bare.includes('%')) return undefined; // no zone ids from clients
  if (ip === 0 && (bare !== hostInput || !NAME.test(bare) || bare.includes('..'))) return undefined;
  const host = ip ? canonicalAddress(bare)! : bare.toLowerCase();
  return { key: `${ip === 6 ? `[${host}]` : host}:${port}`, host, port, ip };
}

const TARGET = /^(\[[0-9a-f:.]+\]|[^:\s]+):([0-9]{1,5})$/i;

/** `host:port` (`[v6]:port` for IPv6), as in `?target=`, parsed; undefined when malformed. */
export function parseTarget(s: string): Destination | undefined {
  const m = TARGET.exec(s);
  return m ? destination(m[1], Number(m[2])) : undefined;
}

interface AllowEntry {
  readonly text: string;
  /** 'exact' host, any host under a 'suffix', or 'any' host. */
  readonly kind: 'exact' | 'suffix' | 'any';
  /** The host (exact) or the suffix with its leading dot (suffix). */
  readonly host: string;
  /** The port, or 0 for any. */
  readonly port: number;
}

function parseAllowEntry(text: string): AllowEntry | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:\s]+):([0-9]{1,5}|\*)$/i.exec(text);
  if (!m) return undefined;
  const port = m[2] === '*' ? 0 : Number(m[2]);
  if (m[2] !== '*' && (port < 1 || port > 65535)) return undefined;
  if (m[1] === '*') return { text, kind: 'any', host: '', port };
  if (m[1].startsWith('*.')) {
    const d = destination(m[1].slice(2), 1);
    return d && d.ip === 0 ? { text, kind: 'suffix', host: `.${d.host}`, port } : undefined;
  }
  const d = destination(m[1], port || 1);
  return d ? { text, kind: 'exact', host: d.host, port } : undefined;
}

// ------------------------------------------------------------ refusals

/**
 * Why a destination or a connection was refused, or how a connection failed: each maps to a
 * Wisp close reason and to a WebSocket close code for `?target` mode.
 */
export type Failure =
  | 'invalid' // malformed destination: Wisp 0x41, close 4003
  | 'blocked' // not allowed by the policy: 0x48, 4003
  | 'throttled' // over a limit: 0x49, 1013
  | 'unreachable' // does not resolve, no route: 0x42, 1011
  | 'refused' // ECONNREFUSED: 0x44, 1011
  | 'timeout' // connecting timed out: 0x43, 1011
  | 'idle' // no traffic for idleTimeout: 0x47, 4008
  | 'network'; // reset, or anything else: 0x03, 1011

export const WISP_REASON: Record<Failure, number> = {
  invalid: 0x41, blocked: 0x48, throttled: 0x49, unreachable: 0x42,
  refused: 0x44, timeout: 0x43, idle: 0x47, network: 0x03,
};

export const CLOSE_CODE: Record<Failure, number> = {
  invalid: 4003, blocked: 4003, throttled: 1013, unreachable: 1011,
  refused: 1011, timeout: 1011, idle: 4008, network: 1011,
};

/** A refusal or a connection failure, with a message meant for the client. */
export class RelayFailure extends Error {
  override readonly name = 'RelayFailure';
  constructor(readonly failure: Failure, message: string, readonly code?: string) {
    super(message);
  }
}

/** node's error code (ECONNREFUSED, ...) of a connection error, from its code or its message. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  const message = e instanceof Error ? e.message : String(e);
  return /\b(E(?:CONN[A-Z]+|TIMEDOUT|NOTFOUND|HOSTUNREACH|NETUNREACH|HOSTDOWN|NETDOWN|PIPE|AI_[A-Z]+|ADDRNOTAVAIL|ACCES|PERM))\b/.exec(message)?.[1]
    // workerd's connect() says only "cannot connect to the specified address": most often a refusal.
    ?? (/refused|cannot connect/i.test(message) ? 'ECONNREFUSED' : /timed? ?out/i.test(message) ? 'ETIMEDOUT'
      : /unreachable|no route/i.test(message) ? 'EHOSTUNREACH' : /not found|resolve|dns/i.test(message) ? 'ENOTFOUND' : undefined);
}

/** The failure a connection error is (refused, unreachable, timed out, or another network error). */
export function classifyError(e: unknown): Failure {
  if (e instanceof RelayFailure) return e.failure;
  switch (errorCode(e)) {
    case 'ECONNREFUSED': return 'refused';
    case 'ETIMEDOUT': return 'timeout';
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': case 'EAI_FAIL': case 'ENODATA':
    case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EHOSTDOWN': case 'ENETDOWN': case 'EADDRNOTAVAIL':
      return 'unreachable';
    default: return 'network';
  }
}

// ------------------------------------------------------------ the policy

/** Resolves a name to its addresses (the platform's DNS). Rejects with an error coded ENOTFOUND etc. */
export type Resolver = (name: string) => Promise<string[]>;

/** What an allowed destination resolved to: the addresses to connect to, in order. */
export interface Resolved {
  readonly destination: Destination;
  readonly addresses: readonly string[];
}

const positive = (name: string, v: unknown, zeroOk = false) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk) || (name !== 'connectTimeout' && name !== 'idleTimeout' && !Number.isInteger(v))) {
    throw new TypeError(`${name}: ${String(v)} is not a positive ${zeroOk ? 'number (or 0)' : 'number'}`);
  }
  return v;
};

/** A short, printable form of client-given text for messages. */
export const shown = (s: string) => JSON.stringify(s.length > 64 ? s.slice(0, 64) + '...' : s).slice(1, -1);

/**
 * The relay policy: the allowlist with its address rule, the origins, the modes, Wisp's
 * authentication, and the limits with their counters. One instance per relay.
 */
export class RelayPolicy {
  readonly limits: Readonly<RelayLimits>;
  readonly allowPrivate: boolean;
  readonly modes: ReadonlySet<'target' | 'wisp'>;
  readonly motd: string | undefined;
  readonly requiresPassword: boolean;
  readonly #entries: AllowEntry[] = [];
  readonly #origins: ReadonlySet<string> | undefined;
  readonly #passwords: RelayPolicyOptions['passwords'];
  readonly #webSockets = new Map<string, number>();
  readonly #streams = new Map<string, number>();
  #webSocketTotal = 0;
  #streamTotal = 0;

  /** Checks the options; throws a TypeError naming the first bad one. */
  constructor(options: RelayPolicyOptions) {
    for (const text of options.allow ?? []) {
      const entry = typeof text === 'string' ? parseAllowEntry(text.trim()) : undefined;
      if (!entry) throw new TypeError(`allow: ${JSON.stringify(text)} is not host:port`);
      this.#entries.push(entry);
    }
    if (this.#entries.length === 0) throw new TypeError('allow: list at least one host:port the relay may connect to');
    const limits: RelayLimits = { ...DEFAULT_LIMITS };
    for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof RelayLimits>) {
      if (options[key] !== undefined) limits[key] = positive(key, options[key], key === 'idleTimeout');
    }
    this.limits = Object.freeze(limits);
    this.allowPrivate = options.allowPrivate === true;
    this.#origins = options.origins === undefined ? undefined : new Set(options.origins);
    const modes = new Set(options.modes ?? ['target', 'wisp']);
    for (const m of modes) if (m !== 'target' && m !== 'wisp') throw new TypeError(`modes: ${JSON.stringify(m)} is not 'target' or 'wisp'`);
    if (modes.size === 0) throw new TypeError('modes: give \'target\', \'wisp\' or both');
    this.modes = modes;
    const pw = options.passwords;
    if (pw !== undefined && typeof pw !== 'function' && (typeof pw !== 'object' || pw === null || Object.keys(pw).length === 0)) {
      throw new TypeError('passwords: give a username-to-password object with at least one entry, or a function');
    }
    this.#passwords = pw;
    this.requiresPassword = pw !== undefined;
    if (options.motd !== undefined && typeof options.motd !== 'string') throw new TypeError('motd: a string');
    this.motd = options.motd;
  }

  /** The allowlist as given. */
  get allowlist(): string[] {
    return this.#entries.map((e) => e.text);
  }

  /** Undefined if a page from `origin` (the Origin header, if any) may use the relay, else why not. */
  checkOrigin(origin: string | null | undefined): string | undefined {
    if (this.#origins === undefined || origin === undefined || origin === null) return undefined;
    return this.#origins.has(origin) ? undefined : `origin ${shown(origin)} is not allowed`;
  }

  /** The entries that let `d` through: exact ones first. */
  #match(d: Destination): AllowEntry[] {
    return this.#entries.filter((e) => (e.port === 0 || e.port === d.port) && (
      e.kind === 'any' || (e.kind === 'exact' ? e.host === d.host : d.ip === 0 && d.host.endsWith(e.host))));
  }

  /** Throws a 'blocked' RelayFailure unless some entry lets `d` through. */
  check(d: Destination): void {
    if (this.#match(d).length === 0) throw new RelayFailure('blocked', `target ${shown(d.key)} is not allowed`);
  }

  /**
   * Checks `d` against the allowlist, resolves it, and checks every address it resolves to:
   * the addresses to connect to, in the resolver's order. Throws a RelayFailure: 'blocked'
   * (not allowed, or an address a wildcard may not reach), 'unreachable' (does not resolve).
   */
  async resolve(d: Destination, resolver: Resolver): Promise<Resolved> {
    const entries = this.#match(d);
    if (entries.length === 0) throw new RelayFailure('blocked', `target ${shown(d.key)} is not allowed`);
    let addresses: string[];
    if (d.ip !== 0) {
      addresses = [d.host];
    } else {
      try {
        addresses = (await resolver(d.host)).map((a) => canonicalAddress(a) ?? a);
      } catch (e) {
        throw new RelayFailure('unreachable', `${errorCode(e) ?? 'ENOTFOUND'} (${d.key})`, errorCode(e) ?? 'ENOTFOUND');
      }
      if (addresses.length === 0) throw new RelayFailure('unreachable', `ENOTFOUND (${d.key})`, 'ENOTFOUND');
    }
    const trusted = this.allowPrivate || entries.some((e) => e.kind === 'exact');
    if (!trusted) {
      for (const a of addresses) {
        if (ipVersion(a) === 0) {
          throw new RelayFailure('blocked', `target ${shown(d.key)} is a name, and names are not resolved here: only exact entries reach them`);
        }
        const kind = addressKind(a);
        if (kind !== 'public') {
          const what = d.ip === 0 ? `target ${shown(d.key)} resolves to ${a}, a ${kind} address` : `target ${shown(d.key)} is a ${kind} address`;
          throw new RelayFailure('blocked', `${what}: not allowed`);
        }
      }
    }
    return { destination: d, addresses };
  }

  /** Whether `mode` is spoken, and if not, why. */
  checkMode(mode: 'target' | 'wisp'): string | undefined {
    if (!this.modes.has(mode)) return mode === 'wisp' ? 'this relay does not speak Wisp: connect to ?target=host:port' : 'this relay speaks Wisp only';
    if (mode === 'target' && this.requiresPassword) return 'this relay requires Wisp v2 password authentication';
    return undefined;
  }

  /** Checks a Wisp v2 username and password (in constant time for the object form). */
  async checkPassword(username: string, password: string): Promise<boolean> {
    const pw = this.#passwords;
    if (pw === undefined) return true;
    if (typeof pw === 'function') {
      try {
        return (await pw(username, password)) === true;
      } catch {
        return false;
      }
    }
    const expected = Object.prototype.hasOwnProperty.call(pw, username) ? pw[username] : undefined;
    // Compare digests, so that the time taken says nothing about the password or its length.
    const digest = async (s: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
    const [a, b] = await Promise.all([digest(password), digest(expected ?? '\u0000no such user')]);
    let diff = expected === undefined ? 1 : 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  // ---------------------------------------------------------- limits

  /** Counts a WebSocket for `client`; returns why not when over a limit (nothing is counted then). */
  openWebSocket(client: string): string | undefined {
    const { maxWebSockets, maxWebSocketsPerClient } = this.limits;
    const mine = this.#webSockets.get(client) ?? 0;
    if (this.#webSocketTotal >= maxWebSockets) return `the relay is at its limit of ${maxWebSockets} WebSockets`;
    if (mine >= maxWebSocketsPerClient) return `too many WebSockets from this client (limit ${maxWebSocketsPerClient})`;
    this.#webSockets.set(client, mine + 1);
    this.#webSocketTotal++;
    return undefined;
  }

  closeWebSocket(client: string): void {
    const mine = this.#webSockets.get(client) ?? 0;
    if (mine <= 1) this.#webSockets.delete(client);
    else this.#webSockets.set(client, mine - 1);
    this.#webSocketTotal = Math.max(0, this.#webSocketTotal - 1);
  }

  /** Counts a TCP connection for `client`; throws a 'throttled' RelayFailure when over a limit. */
  openStream(client: string): void {
    const { maxStreams, maxStreamsPerClient } = this.limits;
    const mine = this.#streams.get(client) ?? 0;
    if (this.#streamTotal >= maxStreams) throw new RelayFailure('throttled', `the relay is at its limit of ${maxStreams} connections`);
    if (mine >= maxStreamsPerClient) throw new RelayFailure('throttled', `too many connections from this client (limit ${maxStreamsPerClient})`);
    this.#streams.set(client, mine + 1);
    this.#streamTotal++;
  }

  closeStream(client: string): void {
    const mine = this.#streams.get(client) ?? 0;
    if (mine <= 1) this.#streams.delete(client);
    else this.#streams.set(client, mine - 1);
    this.#streamTotal = Math.max(0, this.#streamTotal - 1);
  }

  /** Open WebSockets and TCP connections, all clients together. */
  get counts(): { webSockets: number; streams: number } {
    return { webSockets: this.#webSocketTotal, streams: this.#streamTotal };
  }
}
