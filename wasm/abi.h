/*
 * The one ABI between OpenSSL and TypeScript: every function the module exports is declared
 * here and nowhere else. wasm/gen-abi.mjs reads this file at build time and writes
 *   - bindings/abi.generated.ts: the typed interface of the exports, the status values, the
 *     struct layouts and, per function, its wasm signature;
 *   - wasm/build/exports-<module>.json: the export list emcc is given for each module.
 * The C compiler checks every definition against its declaration here (each source file
 * includes this header), and test/abi.test.js checks every export of every built module
 * against the generated signatures (name, arity, parameter kinds). So a prototype changed on
 * one side only fails the build or that test.
 *
 * The generator reads declarations of the form
 *     OW_API <return type> <name>(<parameters>);
 * one per line, with the comment block above each as its documentation. Keep to the types it
 * knows (gen-abi.mjs lists them); it refuses anything else.
 *
 * Conventions, after rustls-ffi's:
 * - Objects are made by ow_<object>_new* and freed exactly once by ow_<object>_free; freeing
 *   NULL does nothing. An object keeps what it needs: a connection keeps its context alive.
 * - Fallible calls return ow_status: OW_OK, or a negative OW_* value. Calls that also count
 *   something return ow_count: the count (>= 0) on success, else a negative ow_status. No
 *   value means two things. Details of an OW_ERR_OPENSSL failure are on OpenSSL's error queue
 *   (ow_err_get drains it).
 * - A byte buffer parameter is always followed by its length. Out-parameters are written only
 *   on success. There are no selector arguments: one function per action.
 * - Returned pointers are marked: OW_OWNED (the caller frees it with ow_free, wiping it first
 *   with ow_cleanse when it may hold secrets) or OW_BORROWED (points into static data or into
 *   the object asked about; valid until the next call on that object). Object pointers
 *   returned by *_new are freed by the object's own *_free.
 * - Nothing trusts its arguments: every pointer that may be NULL and every OpenSSL return value
 *   is checked, since a read through NULL in wasm does not trap, it reads address 0.
 * - OW_TESTING_API marks functions linked only into the testing module (openssl-testing.wasm),
 *   never into the production modules.
 */
#ifndef OPENSSL_WASM_ABI_H
#define OPENSSL_WASM_ABI_H

#include <stddef.h>
#include <stdint.h>

/* Markers read by the generator; to the compiler they are nothing. The export list is the
 * generator's, given to emcc, so no export needs EMSCRIPTEN_KEEPALIVE. */
#define OW_API
#define OW_TESTING_API
#define OW_OWNED
#define OW_BORROWED

/* Opaque objects. The X.509 ones are OpenSSL's own types, named by their struct tags so this
 * header needs no OpenSSL include. */
typedef struct ow_ctx ow_ctx;
typedef struct ow_conn ow_conn;
typedef struct x509_store_st ow_store;
typedef struct x509_st ow_x509;
typedef struct evp_pkey_st ow_key;

/*
 * The status vocabulary. The TLS I/O values are minus OpenSSL's SSL_get_error() codes, so the
 * nonblocking contract of SSL_do_handshake/SSL_read/SSL_write reaches TypeScript unchanged;
 * the shim's own failures are below -15, clear of them.
 */
typedef enum ow_status {
    OW_OK = 0,
    OW_ERR_OPENSSL = -1,     /* failed; OpenSSL's error queue says why (SSL_ERROR_SSL) */
    OW_WANT_READ = -2,       /* feed more ciphertext, then call again */
    OW_WANT_WRITE = -3,      /* drain the output, then call again */
    OW_ERR_TRANSPORT = -5,   /* the transport ended without close_notify (SSL_ERROR_SYSCALL) */
    OW_CLOSED = -6,          /* the peer sent close_notify (SSL_ERROR_ZERO_RETURN) */
    OW_ERR_ARGUMENT = -16,   /* a NULL object, a length out of range, a value not allowed */
    OW_ERR_NO_MEMORY = -17,  /* the wasm heap could not grow */
    OW_ERR_ENDED = -18,      /* ciphertext fed after ow_conn_feed_end */
    OW_ERR_UNEXPECTED = -19  /* SSL_get_error gave a code this ABI does not use */
} ow_status;

/* A count (>= 0), or a negative ow_status. */
typedef int32_t ow_count;

/*
 * What a connection negotiated and where it stands, read in one call (ow_conn_get_info). Every
 * field is 32 bits. Strings are borrowed from the connection (NULL when there is none) and must
 * be read before the next call on it.
 */
typedef struct ow_conn_info {
    int32_t handshake_done;      /* 1 once the handshake has completed */
    int32_t version;             /* on the wire, e.g. 0x0304; 0 before the handshake */
    OW_BORROWED const char *cipher;          /* OpenSSL's name, "TLS_AES_128_GCM_SHA256" */
    OW_BORROWED const char *cipher_standard; /* the IANA name */
    OW_BORROWED const char *group;           /* "X25519MLKEM768", "x25519", "secp256r1" */
    OW_BORROWED const uint8_t *alpn;         /* the protocol selected, alpn_len bytes */
    int32_t alpn_len;
    OW_BORROWED const char *servername;      /* SNI asked for (server) or sent (client) */
    OW_BORROWED const char *peer_signature;  /* scheme the peer signed with, "rsa_pss_rsae_sha256" */
    OW_BORROWED const char *peername;        /* the certificate name that matched the host */
    int32_t verify_result;       /* X509_V_OK (0) or the X.509 error */
    int32_t verify_error_depth;  /* where in the chain verification first failed, or -1 */
    int32_t peer_cert_count;     /* certificates the peer sent, leaf first */
    int32_t session_reused;      /* 1 when this connection resumed a session */
    int32_t session_count;       /* client: sessions (tickets) received so far */
    int32_t alert_sent;          /* last alert sent: (level << 8) | description, or -1 */
    int32_t alert_received;      /* last alert received, likewise */
    int32_t close_sent;          /* 1 once this side's close_notify is queued */
    int32_t close_received;      /* 1 once the peer's close_notify has been read */
} ow_conn_info;

/* ------------------------------------------------------------------- core (core.c) */

/* n bytes of the wasm heap (at least one). NULL when the heap cannot grow. */
OW_API OW_OWNED uint8_t *ow_malloc(size_t n);
OW_API void ow_free(void *p);
/* Zeroes n bytes at p (keys, passphrases, plaintext) so a later allocation cannot see them. */
OW_API void ow_cleanse(void *p, size_t n);
/* Bytes of the wasm heap in use by malloc; leak tests and benchmarks read it. */
OW_API size_t ow_heap_used(void);
/* Starts OpenSSL and installs the host entropy source; call once, before anything else. */
OW_API ow_status ow_init(void);
/* e.g. "OpenSSL 3.5.7 27 Jan 2026". */
OW_API OW_BORROWED const char *ow_openssl_version(void);
/* Which build this module is: "small" or "full" (wasm/flavors/). */
OW_API OW_BORROWED const char *ow_flavor(void);

/* ------------------------------------------------------------------- errors (core.c) */

/*
 * Pops the oldest error off OpenSSL's queue: its packed code (0 when the queue is empty), with
 * *lib, *reason and *data set to borrowed strings (each may be NULL).
 */
OW_API uint32_t ow_err_get(const char **lib, const char **reason, const char **data);
OW_API void ow_err_clear(void);
/* OpenSSL's text for an X.509 verify result, e.g. "certificate has expired". */
OW_API OW_BORROWED const char *ow_verify_error_string(int32_t result);

/* ------------------------------------------------------------------- contexts (context.c) */

/* A client context: TLS 1.2 to 1.3, verifies its peer; trusts no CA until some are added. */
OW_API ow_ctx *ow_ctx_new_client(void);
/* A server context: TLS 1.2 to 1.3, asks for no client certificate. */
OW_API ow_ctx *ow_ctx_new_server(void);
/* Drops the host's reference; the context lives on while connections made from it do. */
OW_API void ow_ctx_free(ow_ctx *ctx);
/* Server: ask the client for a certificate, and verify it when one is sent. */
OW_API ow_status ow_ctx_request_peer_cert(ow_ctx *ctx);
/* Server: as ow_ctx_request_peer_cert, and refuse a client that sends none. */
OW_API ow_status ow_ctx_require_peer_cert(ow_ctx *ctx);
/*
 * Verify the peer (chain and name) and record the result, but never fail the handshake on
 * it: node:tls's rejectUnauthorized: false.
 */
OW_API ow_status ow_ctx_report_verify_only(ow_ctx *ctx);
/* Lowest and highest protocol versions, as on the wire (0x0303 for TLS 1.2). */
OW_API ow_status ow_ctx_set_min_version(ow_ctx *ctx, int32_t version);
OW_API ow_status ow_ctx_set_max_version(ow_ctx *ctx, int32_t version);
/* TLS 1.2 and below: a cipher list in OpenSSL's syntax. */
OW_API ow_status ow_ctx_set_ciphers(ow_ctx *ctx, const char *list);
/* TLS 1.3 suites, colon-separated. */
OW_API ow_status ow_ctx_set_ciphersuites(ow_ctx *ctx, const char *list);
/* Key-exchange groups in order of preference, e.g. "X25519MLKEM768:X25519:P-256". */
OW_API ow_status ow_ctx_set_groups(ow_ctx *ctx, const char *list);
/* Trusts every certificate in buf (a PEM bundle or one DER certificate): how many. */
OW_API ow_count ow_ctx_add_ca(ow_ctx *ctx, const uint8_t *buf, size_t len);
/* Trusts exactly the certificates of a shared store (ow_store_new), instead of its own. */
OW_API ow_status ow_ctx_use_store(ow_ctx *ctx, ow_store *store);
/* This side's certificate: a leaf then intermediates (PEM), or one DER leaf: how many. */
OW_API ow_count ow_ctx_use_cert_chain(ow_ctx *ctx, const uint8_t *buf, size_t len);
/*
 * The private key for the certificate: PEM or DER; PKCS#8 (encrypted or not), PKCS#1 or
 * SEC1. pass may be NULL. Fails when the key does not match the certificate set before it.
 */
OW_API ow_status ow_ctx_use_key(ow_ctx *ctx, const uint8_t *buf, size_t len, const char *pass);
/* ALPN protocols in wire format (each name prefixed by its length), in order of preference. */
OW_API ow_status ow_ctx_set_alpn(ow_ctx *ctx, const uint8_t *wire, size_t len);
/*
 * Server: pick the cipher by the client's order of preference instead of the server's own
 * (which puts ChaCha20-Poly1305 first): node:tls's honorCipherOrder: false.
 */
OW_API ow_status ow_ctx_honor_client_order(ow_ctx *ctx);
/* Server: how many sessions its cache keeps for resumption by session ID (0: none). */
OW_API ow_status ow_ctx_set_session_cache_size(ow_ctx *ctx, int32_t sessions);
/* Server: how long, in seconds, a session (cached or in a ticket) may be resumed. */
OW_API ow_status ow_ctx_set_session_timeout(ow_ctx *ctx, int32_t seconds);

/* ------------------------------------------------------------------- stores (store.c) */

/* A trust store many contexts share (the bundled roots are parsed once per instance). */
OW_API ow_store *ow_store_new(void);
/* Drops the host's reference; contexts using the store keep theirs. */
OW_API void ow_store_free(ow_store *store);
/* Adds every certificate in buf (a PEM bundle or one DER certificate): how many. */
OW_API ow_count ow_store_add(ow_store *store, const uint8_t *buf, size_t len);

/* ------------------------------------------------------------------- connections (connection.c) */

/*
 * A connection in the context's role. buffer_size caps each direction's ciphertext queue (0
 * for 17 KiB, one full record); the queues take memory only while bytes wait in them.
 */
OW_API ow_conn *ow_conn_new(ow_ctx *ctx, size_t buffer_size);
OW_API void ow_conn_free(ow_conn *conn);
/* Client: the server_name to send (a DNS name; never an IP address, RFC 6066). */
OW_API ow_status ow_conn_set_sni(ow_conn *conn, const char *name);
/* Client: the DNS name or IP address the server's certificate must match. */
OW_API ow_status ow_conn_set_verify_host(ow_conn *conn, const char *host);
/* One handshake step: OW_OK when done, else OW_WANT_READ, OW_WANT_WRITE or a failure. */
OW_API ow_status ow_conn_handshake(ow_conn *conn);
/* Ciphertext from the peer: how many bytes were taken (fewer when the queue is full). */
OW_API ow_count ow_conn_feed(ow_conn *conn, const uint8_t *buf, size_t len);
/* The peer's transport ended: OpenSSL sees the end once it has read what was fed. */
OW_API ow_status ow_conn_feed_end(ow_conn *conn);
/* Bytes of ciphertext waiting to be sent. */
OW_API ow_count ow_conn_pending_output(ow_conn *conn);
/* Takes up to len bytes of ciphertext to send: how many (0 when there is none). */
OW_API ow_count ow_conn_drain(ow_conn *conn, uint8_t *buf, size_t len);
/* Plaintext from the peer: how many bytes, or OW_WANT_READ, OW_CLOSED or a failure. */
OW_API ow_count ow_conn_read(ow_conn *conn, uint8_t *buf, size_t len);
/* Plaintext to send: how many bytes were taken (a record's worth at least), or a status. */
OW_API ow_count ow_conn_write(ow_conn *conn, const uint8_t *buf, size_t len);
/* Plaintext already decrypted and waiting to be read. */
OW_API ow_count ow_conn_pending_input(ow_conn *conn);
/* Sends close_notify: 1 when both sides' have now been exchanged, 0 when ours is queued. */
OW_API ow_count ow_conn_shutdown(ow_conn *conn);
/* What was negotiated and where the connection stands, into *out. */
OW_API ow_status ow_conn_get_info(ow_conn *conn, ow_conn_info *out);

/* ------------------------------------------------------------------- peer certificates and verification (verify.c) */

/* Certificates are verified as at this time (seconds since the epoch) instead of the clock's. */
OW_API ow_status ow_conn_set_verify_time(ow_conn *conn, double seconds);
/* How many certificates the peer sent (negotiated()'s peer_cert_count, on its own). */
OW_API ow_count ow_conn_peer_cert_count(ow_conn *conn);
/*
 * Certificate i of the peer's chain (0 is the leaf) as DER, also after a failed verification;
 * *len is set. NULL when there is no such certificate.
 */
OW_API OW_OWNED uint8_t *ow_conn_peer_cert(ow_conn *conn, int32_t i, size_t *len);
/*
 * Certificate i of the chain verification built (0 is the leaf, the last the trust anchor when
 * one was found) as DER; *len is set. Also after a failed verification, as far as it got. NULL
 * when there is no such certificate.
 */
OW_API OW_OWNED uint8_t *ow_conn_verified_cert(ow_conn *conn, int32_t i, size_t *len);
/*
 * Each X.509 error verification met, in OpenSSL's order (with rejectUnauthorized: false it
 * goes on past each one, as s_client does): pairs of int32 (depth, error), *count pairs. Borrowed.
 */
OW_API OW_BORROWED const int32_t *ow_conn_verify_errors(ow_conn *conn, size_t *count);
/*
 * A DER certificate described by OpenSSL, as "name=value" lines: subject and issuer (one line
 * each, as s_client prints them, and one line per attribute), validity, serial, key, signature
 * algorithm, subjectAltName and fingerprints. The format is in verify.c. NULL on bad input.
 */
OW_API OW_OWNED char *ow_x509_describe(const uint8_t *der, size_t len);

/* ------------------------------------------------------------------- sessions (session.c) */

/*
 * The session to resume later, as DER (secret: it holds keys); *len is set. NULL when there is
 * none yet: in TLS 1.3 a client has one only after reading the server's tickets.
 */
OW_API OW_OWNED uint8_t *ow_conn_get_session(ow_conn *conn, size_t *len);
/* Client, before the handshake: offers a session saved by ow_conn_get_session. */
OW_API ow_status ow_conn_set_session(ow_conn *conn, const uint8_t *der, size_t len);
/* Client: how many sessions (tickets) have arrived so far; cheap enough to ask after every read. */
OW_API ow_count ow_conn_session_count(ow_conn *conn);
/*
 * Keying material exported as RFC 5705 defines it (RFC 8446 section 7.5 for TLS 1.3): len bytes
 * into out, for label and, when has_context is 1, context (which may be empty; RFC 5705 tells
 * an empty context from none). OW_ERR_ARGUMENT before the handshake is done; out is written
 * only on success.
 */
OW_API ow_status ow_conn_export_keying_material(ow_conn *conn, uint8_t *out, size_t len, const uint8_t *label, size_t label_len, const uint8_t *context, size_t context_len, int32_t has_context);

/* ------------------------------------------------------------------- events (events.c) */

/* Queue every protocol message this connection sends or receives (OpenSSL's message callback). */
OW_API ow_status ow_conn_enable_trace(ow_conn *conn);
/* Queue this connection's key-log lines (SSLKEYLOGFILE format). */
OW_API ow_status ow_conn_enable_keylog(ow_conn *conn);
/*
 * The queued events, *len bytes: each is [kind u8][sent u8][version u16][type u16][len u32]
 * [2 bytes 0][len bytes], kind 1 a protocol message, 2 a key-log line. Borrowed until the next
 * call on the connection; take them after each step, then ow_conn_events_clear.
 */
OW_API OW_BORROWED const uint8_t *ow_conn_events(ow_conn *conn, size_t *len);
/* Wipes and empties the queue (key-log lines are secrets). */
OW_API void ow_conn_events_clear(ow_conn *conn);

/* ------------------------------------------------------------------- the test PKI (testing/pki.c) */

/*
 * A new key: type "RSA" (bits), "EC" (curve "P-256", "P-384", ...), "ED25519", "ED448", or an
 * ML-DSA parameter set ("ML-DSA-65", ...). NULL with the error queue set.
 */
OW_TESTING_API ow_key *ow_key_generate(const char *type, const char *curve, int32_t bits);
OW_TESTING_API void ow_key_free(ow_key *key);
/* The private key as PKCS#8 DER (secret); *len is set. */
OW_TESTING_API OW_OWNED uint8_t *ow_key_export_der(ow_key *key, size_t *len);
/*
 * A certificate for key named by subject ("CN=x\nO=y"), valid from not_before to not_after
 * (seconds since the epoch), signed by issuer/issuer_key (both NULL: self-signed). exts holds
 * extension lines in OpenSSL's config syntax, e.g. "subjectAltName=DNS:localhost".
 */
OW_TESTING_API ow_x509 *ow_cert_issue(ow_key *key, const char *subject, ow_x509 *issuer, ow_key *issuer_key, double not_before, double not_after, const char *exts);
OW_TESTING_API void ow_cert_free(ow_x509 *cert);
/* The certificate as DER; *len is set. */
OW_TESTING_API OW_OWNED uint8_t *ow_cert_export_der(ow_x509 *cert, size_t *len);

#endif
