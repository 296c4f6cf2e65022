/**
 * openssl-wasm: OpenSSL 3.5 LTS compiled to WebAssembly, for browsers, Node, Deno and Bun.
 *
 * ```ts
 * import { getOpenSSL } from 'openssl-wasm';
 * const openssl = await getOpenSSL();
 * const ctx = openssl.createSecureContext({ ca: caPem });
 * using conn = ctx.createConnection({ servername: 'example.com' });
 * ```
 *
 * This entry is the production API only. The tools for tests (the in-memory Link, the
 * Sandbox and the test PKI) are in `openssl-wasm/testing`.
 * @module
 */
export { OpenSSL, getOpenSSL } from './openssl.js';
export { SecureContext, alpnWire, derToPem } from './context.js';
export type { CertificateInput, SecureContextOptions, TlsVersion } from './context.js';
export { TlsConnection } from './connection.js';
export type { CipherInfo, ConnectionOptions, Want } from './connection.js';
export { TlsError } from './errors.js';
export type { OpenSSLError, TlsAlert, TlsErrorDetails } from './errors.js';
export type { Flavor, LoadOptions, WasmSource } from './loader.js';
export { connect, createServer, SecureConnection, TlsServer } from './tls.js';
export type { ConnectOptions, PeerCertificate, ServerOptions } from './tls.js';
export { fromSocket, fromWebSocket, memoryPair, toTransport } from './transports.js';
export type { SocketLike, Transport, TransportLike, WebSocketLike } from './transports.js';
export type { TlsMessageEvent } from './connection.js';
