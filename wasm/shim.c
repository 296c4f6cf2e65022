/*
 * openssl-wasm's C shim: contexts, connections, the handshake/read/write/shutdown steps, the
 * error queue and what was negotiated. Conventions are in shim.h.
 *
 * A connection owns a pipe (pipe.c): two byte queues and the BIO OpenSSL reads and writes
 * records through. The host moves ciphertext with ow_conn_feed (bytes that arrived) and
 * ow_conn_drain (bytes to send). Each queue has a cap, so a host that stops draining sees
 * want-write and a host that feeds too fast sees a short feed count: memory stays bounded by
 * construction. The queues hold memory only while bytes wait, so idle connections are small.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pipe.h"
#include "shim.h"

/* ---------------------------------------------------------------- memory, init, version */

OW_API void *ow_malloc(size_t n) { return malloc(n == 0 ? 1 : n); }
OW_API void ow_free(void *p) { free(p); }

/* Zeroes a buffer that held secrets (keys, passphrases, plaintext) before the host frees it. */
OW_API void ow_cleanse(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}

/* Bytes of the wasm heap in use by malloc; the leak tests and benchmarks read it. */
OW_API size_t ow_heap_used(void)
{
    struct mallinfo mi = mallinfo();
    return (size_t)mi.uordblks;
}

static int initialized;

/*
 * Names for EVP_get_digestbyname/nid and EVP_get_cipherbyname, which X.509 (the security
 * level's digest check) and traditional encrypted PEM keys ("DEK-Info: AES-128-CBC,...") still
 * use. OpenSSL registers every algorithm it has at start-up unless built no-autoalginit, as
 * the small flavor is, which keeps those tables out of the module; these are the ones needed.
 */
static int register_legacy_names(void)
{
#ifdef OPENSSL_NO_AUTOALGINIT
    const EVP_MD *mds[] = { EVP_md5(), EVP_sha1(), EVP_sha224(), EVP_sha256(), EVP_sha384(),
                            EVP_sha512(), EVP_sha512_224(), EVP_sha512_256(), EVP_sha3_224(),
                            EVP_sha3_256(), EVP_sha3_384(), EVP_sha3_512() };
    const EVP_CIPHER *ciphers[] = { EVP_aes_128_cbc(), EVP_aes_192_cbc(), EVP_aes_256_cbc(),
                                    EVP_aes_128_gcm(), EVP_aes_256_gcm(),
                                    EVP_chacha20_poly1305() };
    size_t i;

    for (i = 0; i < sizeof(mds) / sizeof(mds[0]); i++)
        if (mds[i] == NULL || !EVP_add_digest(mds[i]))
            return 0;
    for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
        if (ciphers[i] == NULL || !EVP_add_cipher(ciphers[i]))
            return 0;
#endif
    return 1; /* otherwise OpenSSL registered them all at start-up */
}

/* Must be called once before anything else. Returns 1, or 0 with the error queue set. */
OW_API int ow_init(void)
{
    if (initialized)
        return 1;
    if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) || !register_legacy_names())
        return 0;
    if (!ow_seed_install())
        return 0;
    initialized = 1;
    return 1;
}

/* Borrowed: e.g. "OpenSSL 3.5.7 27 Jan 2026". */
OW_API const char *ow_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

#ifndef OW_FLAVOR
#error "OW_FLAVOR (the build flavor's name, see wasm/flavors/) must be defined"
#endif
/* Which flavor of the build this module is: "small" or "full" (wasm/flavors/). */
OW_API const char *ow_flavor(void) { return OW_FLAVOR; }

/* ---------------------------------------------------------------- errors */

/*
 * Pops the oldest error off OpenSSL's queue. Returns its packed code (0 when the queue is
 * empty) and sets *lib, *reason and *data to borrowed strings (any may be NULL); read them
 * before the next call.
 */
OW_API unsigned long ow_err_get(const char **lib, const char **reason, const char **data)
{
    const char *d = NULL;
    int flags = 0;
    unsigned long code = ERR_get_error_all(NULL, NULL, NULL, &d, &flags);

    if (lib != NULL)
        *lib = code != 0 ? ERR_lib_error_string(code) : NULL;
    if (reason != NULL)
        *reason = code != 0 ? ERR_reason_error_string(code) : NULL;
    if (data != NULL)
        *data = (code != 0 && d != NULL && (flags & ERR_TXT_STRING) && d[0] != '\0') ? d : NULL;
    return code;
}

OW_API void ow_err_clear(void) { ERR_clear_error(); }

/* Borrowed: OpenSSL's text for an X.509 verify result, e.g. "certificate has expired". */
OW_API const char *ow_verify_error_string(long v) { return X509_verify_cert_error_string(v); }

/* Borrowed: "handshake failure" for 40, and so on; "unknown" for codes OpenSSL does not name. */
OW_API const char *ow_alert_string(int desc) { return SSL_alert_desc_string_long(desc); }

/* ---------------------------------------------------------------- contexts */

typedef struct ow_ctx {
    SSL_CTX *ctx;
    int refs;   /* the host's reference plus one per live connection (callbacks use this) */
    int server;
    int report_only;     /* verify, record the result, but never fail the handshake on it */
    X509 *leaf;          /* the certificate set last, so its key can be checked against it */
    unsigned char *alpn; /* server: protocols it accepts, in ALPN wire format; owned */
    unsigned int alpn_len;
} ow_ctx;

/* A certificate or key given as PEM text, rather than DER, starts with this. */
static int is_pem(const uint8_t *buf, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    size_t i = 0;

    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return len - i >= sizeof(tag) - 1 && memcmp(buf + i, tag, sizeof(tag) - 1) == 0;
}

static int verify_cb(int ok, X509_STORE_CTX *store);
static int new_session_cb(SSL *ssl, SSL_SESSION *sess);

/*
 * A fresh context for the client (server = 0) or server role. Defaults match node:tls: TLS 1.2
 * to 1.3, and a client verifies its peer. No CA is trusted until the host adds some.
 */
OW_API ow_ctx *ow_ctx_new(int server)
{
    ow_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->refs = 1;
    c->server = server != 0;
    c->ctx = SSL_CTX_new(c->server ? TLS_server_method() : TLS_client_method());
    if (c->ctx == NULL
        || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION)
        || !SSL_CTX_set_max_proto_version(c->ctx, TLS1_3_VERSION)) {
        SSL_CTX_free(c->ctx);
        free(c);
        return NULL;
    }
    /*
     * The host may move its buffer between retries of a write (it copies into wasm memory each
     * time), and takes back control after every record instead of after the whole buffer.
     * An idle connection gives its record buffers (about 17 KiB each way) back to the heap.
     */
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE
                                 | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(c->ctx, c->server ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, verify_cb);
    X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(c->ctx),
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (!c->server) {
        /* No internal cache: the host keeps sessions (ow_conn_get_session) and offers them back. */
        SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(c->ctx, new_session_cb);
    }
    SSL_CTX_set_app_data(c->ctx, c);
    return c;
}

static void ctx_release(ow_ctx *c)
{
    if (c == NULL || --c->refs > 0)
        return;
    SSL_CTX_free(c->ctx);
    X509_free(c->leaf);
    free(c->alpn);
    free(c);
}

/* Drops the host's reference; the context lives on while connections made from it do. */
OW_API void ow_ctx_free(ow_ctx *c)
{
    ctx_release(c);
}

/*
 * mode is a combination of SSL_VERIFY_PEER (1), SSL_VERIFY_FAIL_IF_NO_PEER_CERT (2) and
 * OW_VERIFY_REPORT_ONLY (0x100): verify the peer (chain and name) and record the result for
 * SSL_get_verify_result, but let the handshake go on whatever it is, as node:tls does for
 * rejectUnauthorized: false.
 */
#define OW_VERIFY_REPORT_ONLY 0x100
OW_API int ow_ctx_set_verify(ow_ctx *c, int mode)
{
    if (c == NULL || (mode & ~(SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | OW_VERIFY_REPORT_ONLY)) != 0)
        return -1;
    c->report_only = (mode & OW_VERIFY_REPORT_ONLY) != 0;
    SSL_CTX_set_verify(c->ctx, mode & ~OW_VERIFY_REPORT_ONLY, verify_cb);
    return 1;
}

/* Versions as on the wire: 0x0303 for TLS 1.2, 0x0304 for TLS 1.3; 0 keeps the default. */
OW_API int ow_ctx_set_versions(ow_ctx *c, int min, int max)
{
    if (c == NULL)
        return -1;
    if (min != 0 && !SSL_CTX_set_min_proto_version(c->ctx, min))
        return -1;
    if (max != 0 && !SSL_CTX_set_max_proto_version(c->ctx, max))
        return -1;
    return 1;
}

/* `ciphers` (TLS 1.2 and below, OpenSSL cipher-list syntax). */
OW_API int ow_ctx_set_ciphers(ow_ctx *c, const char *list)
{
    return c != NULL && list != NULL && SSL_CTX_set_cipher_list(c->ctx, list) ? 1 : -1;
}

/* `ciphersuites` (TLS 1.3), colon-separated. */
OW_API int ow_ctx_set_ciphersuites(ow_ctx *c, const char *list)
{
    return c != NULL && list != NULL && SSL_CTX_set_ciphersuites(c->ctx, list) ? 1 : -1;
}

/* Key-exchange groups in order of preference, e.g. "X25519MLKEM768:X25519:P-256". */
OW_API int ow_ctx_set_groups(ow_ctx *c, const char *list)
{
    return c != NULL && list != NULL && SSL_CTX_set1_groups_list(c->ctx, list) ? 1 : -1;
}

/* Parses one DER certificate or every certificate in a PEM text into a new stack. */
static STACK_OF(X509) *parse_certs(const uint8_t *buf, size_t len)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x = NULL;

    if (certs == NULL || buf == NULL || len == 0 || len > INT32_MAX)
        goto fail;
    if (is_pem(buf, len)) {
        BIO *in = BIO_new_mem_buf(buf, (int)len);

        if (in == NULL)
            goto fail;
        while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
            if (!sk_X509_push(certs, x)) {
                BIO_free(in);
                goto fail;
            }
        }
        BIO_free(in);
        /* The loop ends on "no start line" at the end of the text: expected, not an error. */
        if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE
            && sk_X509_num(certs) > 0)
            ERR_clear_error();
        else
            goto fail;
    } else {
        const unsigned char *p = buf;

        x = d2i_X509(NULL, &p, (long)len);
        if (x == NULL)
            goto fail;
        if (p != buf + len) {
            ERR_raise_data(ERR_LIB_X509, ERR_R_PASSED_INVALID_ARGUMENT,
                           "trailing bytes after a DER certificate");
            goto fail;
        }
        if (!sk_X509_push(certs, x))
            goto fail;
    }
    return certs;
fail:
    X509_free(x);
    OSSL_STACK_OF_X509_free(certs);
    return NULL;
}

/* Trusts every certificate in buf (PEM bundle or one DER). Returns how many were added. */
OW_API int ow_ctx_add_ca(ow_ctx *c, const uint8_t *buf, size_t len)
{
    STACK_OF(X509) *certs;
    X509_STORE *store;
    int i, n;

    if (c == NULL || (store = SSL_CTX_get_cert_store(c->ctx)) == NULL)
        return -1;
    if ((certs = parse_certs(buf, len)) == NULL)
        return -1;
    n = sk_X509_num(certs);
    for (i = 0; i < n; i++) {
        if (!X509_STORE_add_cert(store, sk_X509_value(certs, i))) {
            OSSL_STACK_OF_X509_free(certs);
            return -1;
        }
    }
    OSSL_STACK_OF_X509_free(certs);
    return n;
}

/*
 * The certificate this side presents: a leaf followed by any intermediates, as PEM, or a
 * single DER leaf. Returns the number of certificates.
 */
OW_API int ow_ctx_use_cert_chain(ow_ctx *c, const uint8_t *buf, size_t len)
{
    STACK_OF(X509) *certs;
    X509 *leaf;
    int n;

    if (c == NULL || (certs = parse_certs(buf, len)) == NULL)
        return -1;
    n = sk_X509_num(certs);
    leaf = sk_X509_shift(certs);
    /* On success the context holds its own references; we keep one to check the key against. */
    if (!SSL_CTX_use_certificate(c->ctx, leaf) || !SSL_CTX_set1_chain(c->ctx, certs)) {
        n = -1;
        X509_free(leaf);
    } else {
        X509_free(c->leaf);
        c->leaf = leaf;
    }
    OSSL_STACK_OF_X509_free(certs);
    return n;
}

/*
 * The private key for the certificate: PEM or DER, PKCS#8 (encrypted or not), PKCS#1 or
 * SEC1; RSA, EC, Ed25519 and the rest. `pass` may be NULL. Fails if the key does not match
 * the certificate set before it.
 */
OW_API int ow_ctx_use_key(ow_ctx *c, const uint8_t *buf, size_t len, const char *pass)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx;
    const unsigned char *p = buf;
    size_t left = len;
    int ok = 0;

    if (c == NULL || buf == NULL || len == 0)
        return -1;
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, is_pem(buf, len) ? "PEM" : "DER", NULL, NULL,
                                         OSSL_KEYMGMT_SELECT_KEYPAIR, NULL, NULL);
    if (dctx == NULL)
        return -1;
    if (pass != NULL
        && !OSSL_DECODER_CTX_set_passphrase(dctx, (const unsigned char *)pass, strlen(pass)))
        goto done;
    if (!OSSL_DECODER_from_data(dctx, &p, &left) || pkey == NULL)
        goto done;
    ERR_clear_error(); /* the decoder leaves notes from the formats it tried and rejected */
    /*
     * Checked here rather than by SSL_CTX_check_private_key: OpenSSL keeps one certificate slot
     * per key type, so a key of another type would land in an empty slot and pass unnoticed.
     */
    if (c->leaf != NULL && !X509_check_private_key(c->leaf, pkey))
        goto done;
    if (!SSL_CTX_use_PrivateKey(c->ctx, pkey))
        goto done;
    ok = 1;
done:
    EVP_PKEY_free(pkey);
    OSSL_DECODER_CTX_free(dctx);
    return ok ? 1 : -1;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    ow_ctx *c = arg;
    unsigned char *sel = NULL;

    (void)ssl;
    if (c->alpn == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    /* Server preference order, as node:tls does; no overlap is fatal (no_application_protocol). */
    if (SSL_select_next_proto(&sel, outlen, c->alpn, c->alpn_len, in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* ALPN protocols in wire format (length-prefixed names), in order of preference. */
OW_API int ow_ctx_set_alpn(ow_ctx *c, const uint8_t *wire, size_t len)
{
    size_t i;

    if (c == NULL || wire == NULL || len == 0 || len > 0xffff)
        return -1;
    for (i = 0; i < len; i += 1 + wire[i]) /* every name is 1..255 bytes and fits */
        if (wire[i] == 0 || i + 1 + wire[i] > len)
            return -1;
    if (!c->server)
        return SSL_CTX_set_alpn_protos(c->ctx, wire, (unsigned int)len) == 0 ? 1 : -1;
    free(c->alpn);
    if ((c->alpn = malloc(len)) == NULL)
        return -1;
    memcpy(c->alpn, wire, len);
    c->alpn_len = (unsigned int)len;
    SSL_CTX_set_alpn_select_cb(c->ctx, alpn_select, c);
    return 1;
}

/* ---------------------------------------------------------------- connections */

typedef struct ow_conn {
    SSL *ssl;
    ow_ctx *ctx;        /* holds a reference */
    ow_pipe pipe;       /* ciphertext both ways; the SSL's BIO reads and writes it */
    int alert_sent;     /* last alert sent: (level << 8) | description, or -1 */
    int alert_received; /* last alert received, likewise */
    STACK_OF(X509) *sent_chain; /* what the peer sent (leaf first), as verification saw it:
                                   kept even if it failed, when OpenSSL keeps nothing */
    int sessions;        /* client: how many resumable sessions (tickets) have arrived */
    int verify_error_depth; /* where in the chain verification first failed, or -1 */
    int keylog;            /* this connection asked for key-log lines */
    unsigned char *events; /* queued trace and key-log events (see ow_conn_events); owned */
    size_t events_len, events_cap;
} ow_conn;

/* Event kinds in the queue; each event is [kind u8][dir u8][version u16][type u16][len u32][bytes]. */
#define OW_EVENT_MESSAGE 1 /* a protocol message, from the message callback */
#define OW_EVENT_KEYLOG 2  /* one SSLKEYLOGFILE line */
#define OW_EVENT_HEADER 12
#define OW_EVENTS_MAX (4u << 20) /* a host that never drains loses events, not memory */

static void event_push(ow_conn *conn, int kind, int dir, int version, int type,
                       const void *buf, size_t len)
{
    size_t need = conn->events_len + OW_EVENT_HEADER + len;
    unsigned char *e;

    if (len > OW_EVENTS_MAX || need > OW_EVENTS_MAX)
        return;
    if (need > conn->events_cap) {
        size_t cap = conn->events_cap ? conn->events_cap : 4096;
        unsigned char *grown;

        while (cap < need)
            cap *= 2;
        if ((grown = realloc(conn->events, cap)) == NULL)
            return;
        conn->events = grown;
        conn->events_cap = cap;
    }
    e = conn->events + conn->events_len;
    e[0] = (unsigned char)kind;
    e[1] = (unsigned char)dir;
    e[2] = (unsigned char)(version & 0xff);
    e[3] = (unsigned char)((version >> 8) & 0xff);
    e[4] = (unsigned char)(type & 0xff);
    e[5] = (unsigned char)((type >> 8) & 0xff);
    e[6] = (unsigned char)(len & 0xff);
    e[7] = (unsigned char)((len >> 8) & 0xff);
    e[8] = (unsigned char)((len >> 16) & 0xff);
    e[9] = (unsigned char)((len >> 24) & 0xff);
    e[10] = e[11] = 0;
    if (len > 0)
        memcpy(e + OW_EVENT_HEADER, buf, len);
    conn->events_len = need;
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    ow_conn *conn = SSL_get_app_data(ssl);

    (void)arg;
    if (conn != NULL)
        event_push(conn, OW_EVENT_MESSAGE, write_p, version, content_type, buf, len);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
    ow_conn *conn = SSL_get_app_data(ssl);

    if (conn != NULL && conn->keylog && line != NULL)
        event_push(conn, OW_EVENT_KEYLOG, 1, 0, 0, line, strlen(line));
}

/* Client: counts new sessions so the host knows when to save one; keeps no reference. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    ow_conn *conn = SSL_get_app_data(ssl);

    (void)sess;
    if (conn != NULL)
        conn->sessions++;
    return 0;
}

/*
 * Keeps what the peer sent, so that a failure can be explained (its SANs,
 * peerCertificates()), and in report-only mode turns a failure into a recorded result instead
 * of a failed handshake. OpenSSL still stores the error for SSL_get_verify_result.
 */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    ow_conn *conn = ssl == NULL ? NULL : SSL_get_app_data(ssl);

    if (conn == NULL)
        return ok;
    if (conn->sent_chain == NULL && X509_STORE_CTX_get0_untrusted(store) != NULL)
        conn->sent_chain = X509_chain_up_ref(X509_STORE_CTX_get0_untrusted(store));
    if (!ok && conn->verify_error_depth < 0)
        conn->verify_error_depth = X509_STORE_CTX_get_error_depth(store);
    return conn->ctx->report_only ? 1 : ok;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    ow_conn *conn;

    if (!(where & SSL_CB_ALERT) || (conn = SSL_get_app_data(ssl)) == NULL)
        return;
    if (where & SSL_CB_READ)
        conn->alert_received = ret & 0xffff;
    else
        conn->alert_sent = ret & 0xffff;
}

/*
 * A connection in the context's role. bio_size caps each direction's buffer in bytes (0 for
 * 17 KiB, room for one full record); the buffers take memory only while bytes wait in them.
 */
OW_API ow_conn *ow_conn_new(ow_ctx *c, size_t bio_size)
{
    ow_conn *conn;
    BIO *bio = NULL;

    if (c == NULL || (conn = calloc(1, sizeof(*conn))) == NULL)
        return NULL;
    conn->alert_sent = conn->alert_received = -1;
    conn->verify_error_depth = -1;
    ow_pipe_init(&conn->pipe, bio_size);
    if ((conn->ssl = SSL_new(c->ctx)) == NULL || (bio = ow_pipe_bio(&conn->pipe)) == NULL) {
        SSL_free(conn->ssl);
        free(conn);
        return NULL;
    }
    SSL_set_bio(conn->ssl, bio, bio); /* the same BIO both ways: the SSL takes our one reference */
    conn->ctx = c;
    c->refs++;
    SSL_set_app_data(conn->ssl, conn);
    SSL_set_info_callback(conn->ssl, info_cb);
    if (c->server)
        SSL_set_accept_state(conn->ssl);
    else
        SSL_set_connect_state(conn->ssl);
    return conn;
}

OW_API void ow_conn_free(ow_conn *conn)
{
    if (conn == NULL)
        return;
    SSL_free(conn->ssl); /* frees its BIO, which does not own the pipe */
    ow_pipe_clear(&conn->pipe);
    OSSL_STACK_OF_X509_free(conn->sent_chain);
    if (conn->events != NULL)
        OPENSSL_clear_free(conn->events, conn->events_cap); /* may hold key-log secrets */
    ctx_release(conn->ctx);
    free(conn);
}

/*
 * Client only. `sni` (may be NULL) is sent as server_name; `verify_host` (may be NULL) is the
 * DNS name or IP address the certificate must match.
 */
OW_API int ow_conn_set_host(ow_conn *conn, const char *sni, const char *verify_host)
{
    if (conn == NULL)
        return -1;
    if (sni != NULL && !SSL_set_tlsext_host_name(conn->ssl, sni))
        return -1;
    if (verify_host != NULL && !SSL_set1_host(conn->ssl, verify_host))
        return -1;
    return 1;
}

/* Maps a TLS call's return value to this ABI: n >= 0 as is, failures as -SSL_get_error(). */
static int io_result(ow_conn *conn, int ok, size_t n)
{
    if (ok > 0)
        return (int)n;
    return -SSL_get_error(conn->ssl, ok);
}

/* One handshake step: 1 when done, else -2 (want read), -3 (want write) or a failure. */
OW_API int ow_conn_handshake(ow_conn *conn)
{
    if (conn == NULL)
        return -1;
    return io_result(conn, SSL_do_handshake(conn->ssl), 1);
}

/*
 * Ciphertext that arrived from the peer. Returns how many bytes were taken (maybe fewer), -1
 * after ow_conn_feed_eof, -2 when out of memory.
 */
OW_API int ow_conn_feed(ow_conn *conn, const uint8_t *buf, size_t len)
{
    int n;

    if (conn == NULL || (buf == NULL && len > 0) || len > INT32_MAX)
        return -1;
    if (len == 0)
        return 0;
    if (conn->pipe.in.eof)
        return -1; /* nothing may follow the end the host reported */
    n = ow_queue_put(&conn->pipe.in, buf, len);
    return n >= 0 ? n : -2; /* 0: buffer full, read plaintext first; -2: out of memory */
}

/* The peer closed its transport: OpenSSL sees EOF once it has read what was fed. */
OW_API int ow_conn_feed_eof(ow_conn *conn)
{
    if (conn == NULL)
        return -1;
    conn->pipe.in.eof = 1;
    return 1;
}

/* How many bytes of ciphertext wait to be sent. */
OW_API int ow_conn_pending_out(ow_conn *conn)
{
    return conn == NULL ? -1 : (int)conn->pipe.out.len;
}

/* Takes up to len bytes of ciphertext to send. Returns the count, 0 when there is none. */
OW_API int ow_conn_drain(ow_conn *conn, uint8_t *buf, size_t len)
{
    if (conn == NULL || buf == NULL || len > INT32_MAX)
        return -1;
    if (len == 0)
        return 0;
    return (int)ow_queue_take(&conn->pipe.out, buf, len);
}

/* Plaintext from the peer: the count, or -2 (feed more), -6 (peer sent close_notify), ... */
OW_API int ow_conn_read(ow_conn *conn, uint8_t *buf, size_t len)
{
    size_t n = 0;

    if (conn == NULL || buf == NULL || len == 0)
        return -1;
    return io_result(conn, SSL_read_ex(conn->ssl, buf, len, &n), n);
}

/* Plaintext to send. Returns how much was taken (at least one record's worth), or -3 etc. */
OW_API int ow_conn_write(ow_conn *conn, const uint8_t *buf, size_t len)
{
    size_t n = 0;

    if (conn == NULL || buf == NULL || len == 0 || len > INT32_MAX)
        return -1;
    return io_result(conn, SSL_write_ex(conn->ssl, buf, len, &n), n);
}

/* Plaintext already decrypted and waiting to be read. */
OW_API int ow_conn_pending_in(ow_conn *conn)
{
    return conn == NULL ? -1 : SSL_pending(conn->ssl);
}

/*
 * Sends close_notify. Returns 0 when ours is sent and the peer's not yet seen, 1 when both
 * have been, or a failure as the other I/O calls do.
 */
OW_API int ow_conn_shutdown(ow_conn *conn)
{
    int r;

    if (conn == NULL)
        return -1;
    r = SSL_shutdown(conn->ssl);
    if (r >= 0)
        return r;
    return -SSL_get_error(conn->ssl, r);
}

/* Bit 1: we sent close_notify; bit 2: we received the peer's (SSL_get_shutdown). */
OW_API int ow_conn_shutdown_state(ow_conn *conn)
{
    return conn == NULL ? -1 : SSL_get_shutdown(conn->ssl);
}

OW_API int ow_conn_handshake_done(ow_conn *conn)
{
    return conn != NULL && SSL_is_init_finished(conn->ssl);
}

/* ---------------------------------------------------------------- what was negotiated */

/* The protocol version on the wire, e.g. 0x0304. */
OW_API int ow_conn_version(ow_conn *conn)
{
    return conn == NULL ? -1 : SSL_version(conn->ssl);
}

/* Borrowed: the cipher's OpenSSL name ("ECDHE-RSA-AES128-GCM-SHA256"), or NULL. */
OW_API const char *ow_conn_cipher(ow_conn *conn)
{
    const SSL_CIPHER *ci = conn == NULL ? NULL : SSL_get_current_cipher(conn->ssl);
    return ci == NULL ? NULL : SSL_CIPHER_get_name(ci);
}

/* Borrowed: the cipher's IANA name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), or NULL. */
OW_API const char *ow_conn_cipher_standard(ow_conn *conn)
{
    const SSL_CIPHER *ci = conn == NULL ? NULL : SSL_get_current_cipher(conn->ssl);
    return ci == NULL ? NULL : SSL_CIPHER_standard_name(ci);
}

/* Borrowed: the key-exchange group ("X25519MLKEM768", "x25519", "secp256r1"), or NULL. */
OW_API const char *ow_conn_group(ow_conn *conn)
{
    return conn == NULL ? NULL : SSL_get0_group_name(conn->ssl);
}

/* The ALPN protocol chosen: sets *out (borrowed) and returns its length, 0 if none. */
OW_API int ow_conn_alpn(ow_conn *conn, const uint8_t **out)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;

    if (conn == NULL || out == NULL)
        return -1;
    SSL_get0_alpn_selected(conn->ssl, &p, &n);
    *out = p;
    return (int)n;
}

/* Borrowed: the server_name the client asked for (server side) or sent (client), or NULL. */
OW_API const char *ow_conn_servername(ow_conn *conn)
{
    return conn == NULL ? NULL : SSL_get_servername(conn->ssl, TLSEXT_NAMETYPE_host_name);
}

/* The X.509 verify result for the peer's chain (X509_V_OK is 0). */
OW_API long ow_conn_verify_result(ow_conn *conn)
{
    return conn == NULL ? -1 : SSL_get_verify_result(conn->ssl);
}

/* The depth in the peer's chain (0 is the leaf) where verification first failed, or -1. */
OW_API int ow_conn_verify_error_depth(ow_conn *conn)
{
    return conn == NULL ? -1 : conn->verify_error_depth;
}

/* Borrowed: the signature scheme the peer signed the handshake with, e.g. "ecdsa_secp256r1_sha256". */
OW_API const char *ow_conn_peer_signature(ow_conn *conn)
{
    const char *name = NULL;

    if (conn == NULL || !SSL_get0_peer_signature_name(conn->ssl, &name))
        return NULL;
    return name;
}

OW_API int ow_conn_session_reused(ow_conn *conn)
{
    return conn != NULL && SSL_session_reused(conn->ssl);
}

/* The last alert sent (which = 0) or received (which = 1): (level << 8) | description, or -1. */
OW_API int ow_conn_alert(ow_conn *conn, int which)
{
    if (conn == NULL)
        return -1;
    return which ? conn->alert_received : conn->alert_sent;
}

/* How many certificates the peer sent: its leaf first, then the chain as sent. */
OW_API int ow_conn_peer_cert_count(ow_conn *conn)
{
    STACK_OF(X509) *chain;
    int n;

    if (conn == NULL)
        return 0;
    if (SSL_get0_peer_certificate(conn->ssl) == NULL) {
        /* Verification failed, so OpenSSL kept nothing: what the peer sent, as verify_cb saw it. */
        return conn->sent_chain == NULL ? 0 : sk_X509_num(conn->sent_chain);
    }
    chain = SSL_get_peer_cert_chain(conn->ssl);
    n = chain == NULL ? 0 : sk_X509_num(chain);
    /* A server's view of the client's chain leaves out the leaf; a client's includes it. */
    return SSL_is_server(conn->ssl) ? n + 1 : (n > 0 ? n : 1);
}

/*
 * Certificate i of the peer's chain (0 is the leaf) as DER, also after a failed verification.
 * Owned: returns a buffer to free with ow_free and sets *len, or NULL.
 */
OW_API uint8_t *ow_conn_peer_cert(ow_conn *conn, int i, size_t *len)
{
    STACK_OF(X509) *chain;
    X509 *x;
    unsigned char *der = NULL;
    int n;

    if (conn == NULL || len == NULL || i < 0 || i >= ow_conn_peer_cert_count(conn))
        return NULL;
    if (SSL_get0_peer_certificate(conn->ssl) == NULL) {
        x = sk_X509_value(conn->sent_chain, i);
    } else {
        chain = SSL_get_peer_cert_chain(conn->ssl);
        if (i == 0)
            x = SSL_get0_peer_certificate(conn->ssl);
        else
            x = sk_X509_value(chain, SSL_is_server(conn->ssl) ? i - 1 : i);
    }
    if (x == NULL || (n = i2d_X509(x, &der)) <= 0)
        return NULL;
    *len = (size_t)n;
    return der; /* allocated by OpenSSL's malloc, which is this module's malloc */
}

/* Owned (free with ow_free): text of bio's contents, NUL-terminated; frees bio. NULL on failure. */
static char *bio_to_string(BIO *bio)
{
    char *data = NULL, *s = NULL;
    long n = BIO_get_mem_data(bio, &data);

    if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
        memcpy(s, data, (size_t)n);
        s[n] = '\0';
    }
    BIO_free(bio);
    return s;
}

/*
 * Owned (free with ow_free): the peer leaf's subjectAltName as OpenSSL prints it, e.g.
 * "DNS:localhost, IP Address:127.0.0.1"; NULL when there is no certificate or no SAN. Works
 * after a failed verification too.
 */
OW_API char *ow_conn_peer_san(ow_conn *conn)
{
    X509 *x = conn == NULL ? NULL : SSL_get0_peer_certificate(conn->ssl);

    if (x == NULL && conn != NULL)
        x = sk_X509_value(conn->sent_chain, 0); /* verification failed: OpenSSL kept nothing */
    X509_EXTENSION *ext;
    BIO *bio;
    int idx;

    if (x == NULL || (idx = X509_get_ext_by_NID(x, NID_subject_alt_name, -1)) < 0
        || (ext = X509_get_ext(x, idx)) == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
        return NULL;
    if (!X509V3_EXT_print(bio, ext, 0, 0)) {
        BIO_free(bio);
        return NULL;
    }
    return bio_to_string(bio);
}

/* ---------------------------------------------------------------- resumption */

/*
 * The session to resume later, as DER: owned (free with ow_free), *len set; NULL when there
 * is none yet. In TLS 1.3 a client has one only after reading the server's tickets.
 */
OW_API uint8_t *ow_conn_get_session(ow_conn *conn, size_t *len)
{
    SSL_SESSION *sess;
    unsigned char *der = NULL;
    int n;

    if (conn == NULL || len == NULL || (sess = SSL_get1_session(conn->ssl)) == NULL)
        return NULL;
    if (!SSL_SESSION_is_resumable(sess) || (n = i2d_SSL_SESSION(sess, &der)) <= 0) {
        SSL_SESSION_free(sess);
        return NULL;
    }
    SSL_SESSION_free(sess);
    *len = (size_t)n;
    return der;
}

/* How many sessions have arrived so far (client); a change means a newer one to save. */
OW_API int ow_conn_session_count(ow_conn *conn)
{
    return conn == NULL ? -1 : conn->sessions;
}

/* Client, before the handshake: offers a session saved by ow_conn_get_session. */
OW_API int ow_conn_set_session(ow_conn *conn, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    SSL_SESSION *sess;
    int ok;

    if (conn == NULL || der == NULL || len == 0 || len > INT32_MAX)
        return -1;
    if ((sess = d2i_SSL_SESSION(NULL, &p, (long)len)) == NULL)
        return -1;
    ok = p == der + len && SSL_set_session(conn->ssl, sess);
    SSL_SESSION_free(sess);
    return ok ? 1 : -1;
}

/* ---------------------------------------------------------------- shared trust stores */

/*
 * A trust store that many contexts share (the bundled root certificates are parsed once per
 * instance, not once per connection). ow_store_new; ow_store_add takes PEM/DER like
 * ow_ctx_add_ca; ow_ctx_use_store makes a context trust exactly that store; ow_store_free drops
 * the host's reference (contexts keep theirs).
 */
OW_API X509_STORE *ow_store_new(void) { return X509_STORE_new(); }

OW_API void ow_store_free(X509_STORE *store) { X509_STORE_free(store); }

OW_API int ow_store_add(X509_STORE *store, const uint8_t *buf, size_t len)
{
    STACK_OF(X509) *certs;
    int i, n;

    if (store == NULL || (certs = parse_certs(buf, len)) == NULL)
        return -1;
    n = sk_X509_num(certs);
    for (i = 0; i < n; i++) {
        if (!X509_STORE_add_cert(store, sk_X509_value(certs, i))) {
            n = -1;
            break;
        }
    }
    OSSL_STACK_OF_X509_free(certs);
    return n;
}

OW_API int ow_ctx_use_store(ow_ctx *c, X509_STORE *store)
{
    if (c == NULL || store == NULL)
        return -1;
    SSL_CTX_set1_cert_store(c->ctx, store);
    return 1;
}

/* ---------------------------------------------------------------- tracing and key logging */

/*
 * Events are queued during a step and taken by the host after it, so that no host code runs
 * inside OpenSSL. what: bit 1 traces protocol messages (the message callback: handshake
 * messages, alerts, record headers, TLS 1.3's encrypted handshake too), bit 2 logs keys in
 * the SSLKEYLOGFILE format.
 */
OW_API int ow_conn_set_events(ow_conn *conn, int what)
{
    if (conn == NULL || (what & ~3) != 0)
        return -1;
    SSL_set_msg_callback(conn->ssl, (what & 1) ? msg_cb : NULL);
    /* The key-log callback lives on the context but only this connection's events are kept. */
    if (what & 2)
        SSL_CTX_set_keylog_callback(SSL_get_SSL_CTX(conn->ssl), keylog_cb);
    conn->keylog = (what & 2) != 0;
    return 1;
}

/* The queued events (borrowed until the next call on this connection); *len is set. */
OW_API const uint8_t *ow_conn_events(ow_conn *conn, size_t *len)
{
    if (conn == NULL || len == NULL)
        return NULL;
    *len = conn->events_len;
    return conn->events;
}

OW_API void ow_conn_events_clear(ow_conn *conn)
{
    if (conn != NULL && conn->events_len > 0) {
        OPENSSL_cleanse(conn->events, conn->events_len);
        conn->events_len = 0;
    }
}

/* Certificate verification at a fixed time (seconds since the epoch) instead of the clock. */
OW_API int ow_conn_set_verify_time(ow_conn *conn, double when)
{
    if (conn == NULL || when < 0)
        return -1;
    X509_VERIFY_PARAM_set_time(SSL_get0_param(conn->ssl), (time_t)when);
    return 1;
}
