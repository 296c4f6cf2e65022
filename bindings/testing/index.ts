/**
 * openssl-tls-wasm/testing: FOR TESTS ONLY. Tools for testing TLS code, kept out of the production
 * entry.
 *
 * - {@link Link} joins two low-level connections, a client and a server, with a virtual
 *   {@link Wire} that a test can watch and break, and moves them forward only when the test
 *   says: {@link Link.step}, {@link Link.run}, {@link Link.handshake}, {@link Link.send}. No
 *   timers, no promises, no event loop.
 * - {@link Sandbox} makes such a pair itself, inside a private OpenSSL instance with its own
 *   virtual clock ({@link SandboxClock}) and, optionally, seeded and reproducible entropy:
 *   every run with the same seed, clock and steps is byte-for-byte the same. With `trace` and
 *   `keylog` it also keeps each side's protocol messages and SSLKEYLOGFILE lines.
 * - {@link TestPki} makes certificates: CAs and leaves with chosen key types, names, SANs,
 *   validity windows and usages.
 *
 * The wire cuts each direction's byte stream into TLS records ({@link WireRecord}) and holds
 * them until they are delivered, so a test can hold, drop, duplicate, corrupt, truncate,
 * reorder, split or coalesce them, inject raw bytes, or end the transport without close_notify
 * ({@link WireDirection}).
 *
 * A seeded sandbox makes keys, nonces and tickets that anyone who knows the seed can predict.
 * Never use it, or certificates made in it, outside tests.
 *
 * @example
 * ```ts
 * import { Sandbox } from 'openssl-tls-wasm/testing';
 *
 * const sandbox = await Sandbox.create({ clock: Date.UTC(2030, 0, 1), seed: 'test-1' });
 * const root = sandbox.pki.root({ subject: 'Test Root' });
 * const leaf = root.issue({ subject: 'localhost', san: ['DNS:localhost'] });
 * sandbox.connect({
 *   server: { cert: leaf.chainPem, key: leaf.keyPem },
 *   client: { ca: root.certPem, servername: 'localhost' },
 * });
 * sandbox.handshake();
 * sandbox.client.write('ping');
 * sandbox.wire.toServer.corrupt(0, -1);       // flip a bit in the record's tag
 * sandbox.run();
 * sandbox.server.error?.alertSent?.name;       // 'bad_record_mac'
 * ```
 * @module
 */
export { loadTestingOpenSSL } from './instance.js';
export { Link } from './link.js';
export type { LinkOptions } from './link.js';
export { Sandbox } from './sandbox.js';
export type { SandboxEngineOptions, SandboxOptions, SandboxSideOptions } from './sandbox.js';
export { SandboxPeer } from './peer.js';
export type { PeerStatus, Side } from './peer.js';
export { Wire } from './wire.js';
export type { InterceptResult, Interceptor } from './wire.js';
export { WireDirection } from './direction.js';
export { WireRecord } from './record.js';
export type { Direction } from './record.js';
export { SandboxClock } from './clock.js';
export { SandboxError } from './error.js';
export { IssuedCertificate, TestPki } from './pki.js';
export type { IssueOptions, KeyType } from './pki.js';
