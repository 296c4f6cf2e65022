/**
 * The typed view of the wasm module's exports: one line per `OW_API` function in
 * `wasm/shim.c`, with the same name and argument order. `test/abi.test.js` fails if this
 * list and the module's exports drift apart.
 *
 * Private: the ABI may change between releases; use the classes exported from the package.
 * @module
 */

/** A wasm address, branded by what it points at so a connection can't be passed as a context. */
export type Pointer<T extends string> = number & { readonly __pointee: T };
export type CtxPtr = Pointer<'ow_ctx'>;
export type ConnPtr = Pointer<'ow_conn'>;
export type BytePtr = Pointer<'uint8_t'>;
export type CStr = Pointer<'char'>;
export type StorePtr = Pointer<'X509_STORE'>;
export type KeyPtr = Pointer<'EVP_PKEY'>;
export type CertPtr = Pointer<'X509'>;
export const NULL = 0 as Pointer<never>;

/** Status codes of the TLS I/O calls: minus OpenSSL's `SSL_get_error()` values. */
export const enum Io {
  Ssl = -1,
  WantRead = -2,
  WantWrite = -3,
  Syscall = -5,
  ZeroReturn = -6,
}

/** `SSL_VERIFY_*` bits for `ow_ctx_set_verify`. */
export const VERIFY_PEER = 1;
export const VERIFY_FAIL_IF_NO_PEER_CERT = 2;
/** The shim's own bit: verify and record the result, but never fail the handshake on it. */
export const VERIFY_REPORT_ONLY = 0x100;

export interface ShimExports {
  readonly memory: WebAssembly.Memory;
  _initialize?(): void;

  ow_malloc(n: number): BytePtr;
  ow_free(p: number): void;
  ow_cleanse(p: number, n: number): void;
  ow_heap_used(): number;
  ow_init(): number;
  ow_openssl_version(): CStr;
  ow_flavor(): CStr;

  ow_err_get(lib: number, reason: number, data: number): number;
  ow_err_clear(): void;
  ow_verify_error_string(v: number): CStr;
  ow_alert_string(desc: number): CStr;

  ow_ctx_new(server: number): CtxPtr;
  ow_ctx_free(c: CtxPtr): void;
  ow_ctx_set_verify(c: CtxPtr, mode: number): number;
  ow_ctx_set_versions(c: CtxPtr, min: number, max: number): number;
  ow_ctx_set_ciphers(c: CtxPtr, list: CStr): number;
  ow_ctx_set_ciphersuites(c: CtxPtr, list: CStr): number;
  ow_ctx_set_groups(c: CtxPtr, list: CStr): number;
  ow_ctx_add_ca(c: CtxPtr, buf: BytePtr, len: number): number;
  ow_ctx_use_cert_chain(c: CtxPtr, buf: BytePtr, len: number): number;
  ow_ctx_use_key(c: CtxPtr, buf: BytePtr, len: number, pass: CStr): number;
  ow_ctx_set_alpn(c: CtxPtr, wire: BytePtr, len: number): number;

  ow_conn_new(c: CtxPtr, bioSize: number): ConnPtr;
  ow_conn_free(c: ConnPtr): void;
  ow_conn_set_host(c: ConnPtr, sni: CStr, verifyHost: CStr): number;
  ow_conn_handshake(c: ConnPtr): number;
  ow_conn_feed(c: ConnPtr, buf: BytePtr, len: number): number;
  ow_conn_feed_eof(c: ConnPtr): number;
  ow_conn_pending_out(c: ConnPtr): number;
  ow_conn_drain(c: ConnPtr, buf: BytePtr, len: number): number;
  ow_conn_read(c: ConnPtr, buf: BytePtr, len: number): number;
  ow_conn_write(c: ConnPtr, buf: BytePtr, len: number): number;
  ow_conn_pending_in(c: ConnPtr): number;
  ow_conn_shutdown(c: ConnPtr): number;
  ow_conn_shutdown_state(c: ConnPtr): number;
  ow_conn_handshake_done(c: ConnPtr): number;
  ow_conn_version(c: ConnPtr): number;
  ow_conn_cipher(c: ConnPtr): CStr;
  ow_conn_cipher_standard(c: ConnPtr): CStr;
  ow_conn_group(c: ConnPtr): CStr;
  ow_conn_alpn(c: ConnPtr, out: number): number;
  ow_conn_servername(c: ConnPtr): CStr;
  ow_conn_verify_result(c: ConnPtr): number;
  ow_conn_session_reused(c: ConnPtr): number;
  ow_conn_verify_error_depth(c: ConnPtr): number;
  ow_conn_peer_signature(c: ConnPtr): CStr;
  ow_conn_alert(c: ConnPtr, which: number): number;
  ow_conn_peer_cert_count(c: ConnPtr): number;
  ow_conn_peer_cert(c: ConnPtr, i: number, len: number): BytePtr;
  ow_conn_peer_san(c: ConnPtr): CStr;
  ow_conn_get_session(c: ConnPtr, len: number): BytePtr;
  ow_conn_set_session(c: ConnPtr, der: BytePtr, len: number): number;
  ow_conn_session_count(c: ConnPtr): number;

  ow_store_new(): StorePtr;
  ow_store_free(s: StorePtr): void;
  ow_store_add(s: StorePtr, buf: BytePtr, len: number): number;
  ow_ctx_use_store(c: CtxPtr, s: StorePtr): number;

  ow_conn_set_events(c: ConnPtr, what: number): number;
  ow_conn_events(c: ConnPtr, len: number): BytePtr;
  ow_conn_events_clear(c: ConnPtr): void;
  ow_conn_set_verify_time(c: ConnPtr, when: number): number;

  ow_key_generate(type: CStr, curve: CStr, bits: number): KeyPtr;
  ow_key_free(k: KeyPtr): void;
  ow_key_export(k: KeyPtr, der: number, len: number): BytePtr;
  ow_cert_issue(key: KeyPtr, subject: CStr, issuer: CertPtr, issuerKey: KeyPtr, notBefore: number, notAfter: number, exts: CStr): CertPtr;
  ow_cert_free(x: CertPtr): void;
  ow_cert_export(x: CertPtr, der: number, len: number): BytePtr;
}

/** Every `ow_*` export the bindings use; the ABI test compares it with the module. */
export const SHIM_FUNCTIONS = [
  'ow_malloc', 'ow_free', 'ow_cleanse', 'ow_heap_used', 'ow_init', 'ow_openssl_version', 'ow_flavor',
  'ow_err_get', 'ow_err_clear', 'ow_verify_error_string', 'ow_alert_string',
  'ow_ctx_new', 'ow_ctx_free', 'ow_ctx_set_verify', 'ow_ctx_set_versions', 'ow_ctx_set_ciphers',
  'ow_ctx_set_ciphersuites', 'ow_ctx_set_groups', 'ow_ctx_add_ca', 'ow_ctx_use_cert_chain',
  'ow_ctx_use_key', 'ow_ctx_set_alpn',
  'ow_conn_new', 'ow_conn_free', 'ow_conn_set_host', 'ow_conn_handshake', 'ow_conn_feed',
  'ow_conn_feed_eof', 'ow_conn_pending_out', 'ow_conn_drain', 'ow_conn_read', 'ow_conn_write',
  'ow_conn_pending_in', 'ow_conn_shutdown', 'ow_conn_shutdown_state', 'ow_conn_handshake_done',
  'ow_conn_version', 'ow_conn_cipher', 'ow_conn_cipher_standard', 'ow_conn_group', 'ow_conn_alpn',
  'ow_conn_servername', 'ow_conn_verify_result', 'ow_conn_session_reused',
  'ow_conn_verify_error_depth', 'ow_conn_peer_signature', 'ow_conn_alert',
  'ow_conn_peer_cert_count', 'ow_conn_peer_cert', 'ow_conn_peer_san',
  'ow_conn_get_session', 'ow_conn_set_session', 'ow_conn_session_count',
  'ow_store_new', 'ow_store_free', 'ow_store_add', 'ow_ctx_use_store',
  'ow_conn_set_events', 'ow_conn_events', 'ow_conn_events_clear', 'ow_conn_set_verify_time',
  'ow_key_generate', 'ow_key_free', 'ow_key_export', 'ow_cert_issue', 'ow_cert_free', 'ow_cert_export',
] as const satisfies readonly (keyof ShimExports)[];
