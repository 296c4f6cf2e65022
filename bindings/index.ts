/**
 * openssl-tls-wasm: OpenSSL 3.5 LTS compiled to WebAssembly, for browsers, Node, Deno and Bun.
 *
 * The high level, {@link connect} and {@link createServer}, runs TLS over any transport (a
 * socket, a WebSocket, a pair of WHATWG streams). The low level, a {@link SecureContext} and its
 * {@link TlsEngine}s, is OpenSSL's nonblocking contract with no I/O of its own.
 *
 * ```ts
 * import net from 'node:net';
 * import { connect } from 'openssl-tls-wasm';
 *
 * await using tls = await connect(net.connect(443, 'example.com'), { servername: 'example.com' });
 * console.log(tls.getProtocol(), tls.authorized);
 * ```
 *
 * This entry is the production API only. The tools for tests (the in-memory Link, the
 * Sandbox and the test PKI) are in `openssl-tls-wasm/testing`.
 * @module
 */
export { OpenSSL, getOpenSSL } from './openssl.js';
export { SecureContext, alpnWire, derToPem } from './context.js';
export type { SecureContextOptions, TlsVersion } from './context.js';
export { TrustStore } from './store.js';
export type { CertificateInput } from './store.js';
export type { CertificateInfo, CertificateName } from './certificate.js';
export { TlsEngine } from './engine.js';
export type { CipherInfo, EngineOptions, Negotiated, TlsMessageEvent, VerifyFailure, Want } from './engine.js';
export { TlsError } from './errors.js';
export type { OpenSSLError, TlsAlert, TlsErrorDetails } from './errors.js';
export type { Flavor, LoadOptions, WasmSource } from './loader.js';
export { connect, createServer } from './tls.js';
export type { ConnectOptions, HandshakeLimits, PeerCertificate, ServerOptions, TlsServer, TlsStream } from './tls.js';
export { fromSocket, fromWebSocket, memoryPair } from './transports.js';
export type { SocketLike, Transport, TransportLike, WebSocketLike } from './transports.js';
export { WispClient, WispError, WispStream } from './wisp.js';
export type { WebSocketConstructor, WebSocketFactory, WispClientOptions, WispErrorDetails, WispServerInfo } from './wisp.js';
