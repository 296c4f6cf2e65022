/**
 * openssl-wasm: OpenSSL 3.5 LTS compiled to WebAssembly, for browsers, Node, Deno and Bun.
 *
 * ```ts
 * import { getOpenSSL } from 'openssl-wasm';
 * const openssl = await getOpenSSL();
 * const ctx = openssl.createSecureContext({ ca: caPem });
 * using conn = ctx.createConnection({ servername: 'example.com' });
 * ```
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
export { TestPki, IssuedCertificate } from './pki.js';
export type { IssueOptions, KeyType } from './pki.js';
export type { TlsMessageEvent } from './connection.js';
export { Sandbox, SandboxClock, SandboxError, SandboxPeer, Wire, WireDirection, WireRecord } from './sandbox.js';
export type { Direction, InterceptResult, Interceptor, PeerStatus, SandboxConnectionOptions, SandboxOptions, SandboxSideOptions, Side } from './sandbox.js';
export { WispClient, WispError, WispStream } from './wisp.js';
export type { WebSocketConstructor, WebSocketFactory, WispClientOptions, WispErrorDetails, WispServerInfo } from './wisp.js';
