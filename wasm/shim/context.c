/*
 * Contexts: the configuration connections are made from, in the client or server role, with
 * node:tls's defaults (TLS 1.2 to 1.3; a client verifies its peer).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* OpenSSL's own defaults, reordered: ChaCha20-Poly1305 first (ctx_new says why). */
#define DEFAULT_CIPHERSUITES "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
#define DEFAULT_CIPHER_LIST "CHACHA20:ALL:!COMPLEMENTOFDEFAULT:!eNULL"

static void ctx_free(ow_ctx *c);

static ow_ctx *ctx_new(int server)
{
    ow_ctx *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->refs = 1;
    c->server = server;
    c->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
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
    /*
     * ChaCha20-Poly1305 first, as BoringSSL orders it on hardware without AES instructions:
     * wasm has none, so AES-GCM runs several times slower here than ChaCha20-Poly1305 (see
     * bench/README.md). A server also prefers its own order, so it picks ChaCha20 whenever the
     * client offers it, and OpenSSL's prioritize-ChaCha option keeps that true when the host
     * sets its own list with AES first: a client that puts ChaCha20 first still gets it.
     */
    if (!SSL_CTX_set_ciphersuites(c->ctx, DEFAULT_CIPHERSUITES)
        || !SSL_CTX_set_cipher_list(c->ctx, DEFAULT_CIPHER_LIST)) {
        ctx_free(c);
        return NULL;
    }
    if (server)
        SSL_CTX_set_options(c->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_set_verify(c->ctx, server ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, ow_verify_callback);
    X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(c->ctx),
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    /*
     * A server that verifies clients must name a session ID context, or OpenSSL fails every
     * resumption with internal_error ("session id context uninitialized") instead of resuming.
     * node:tls sets one on every server too. One name serves: the session cache and the ticket
     * keys belong to this SSL_CTX alone, so no session crosses to another context anyway.
     */
    static const unsigned char sid_ctx[] = "openssl-tls-wasm";
    if (server && !SSL_CTX_set_session_id_context(c->ctx, sid_ctx, sizeof(sid_ctx) - 1)) {
        SSL_CTX_free(c->ctx);
        free(c);
        return NULL;
    }
    if (!server) {
        /* No internal cache: the host keeps sessions (ow_conn_get_session) and offers them back. */
        SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(c->ctx, ow_new_session_callback);
    }
    SSL_CTX_set_app_data(c->ctx, c);
    return c;
}

ow_ctx *ow_ctx_new_client(void) { return ctx_new(0); }

ow_ctx *ow_ctx_new_server(void) { return ctx_new(1); }

static void ctx_free(ow_ctx *c)
{
    SSL_CTX_free(c->ctx);
    X509_free(c->leaf);
    free(c->alpn);
    free(c);
}

void ow_ctx_release(ow_ctx *c)
{
    if (c == NULL || --c->refs > 0)
        return;
    ctx_free(c);
}

void ow_ctx_free(ow_ctx *c) { ow_ctx_release(c); }

/* Sets the verify mode, keeping the shim's callback (and the report-only choice, which it reads). */
static ow_status set_verify(ow_ctx *c, int mode)
{
    if (c == NULL)
        return OW_ERR_ARGUMENT;
    SSL_CTX_set_verify(c->ctx, mode, ow_verify_callback);
    return OW_OK;
}

ow_status ow_ctx_request_peer_cert(ow_ctx *c)
{
    return c != NULL && c->server ? set_verify(c, SSL_VERIFY_PEER) : OW_ERR_ARGUMENT;
}

ow_status ow_ctx_require_peer_cert(ow_ctx *c)
{
    return c != NULL && c->server ? set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT)
                                  : OW_ERR_ARGUMENT;
}

ow_status ow_ctx_report_verify_only(ow_ctx *c)
{
    if (c == NULL)
        return OW_ERR_ARGUMENT;
    c->report_only = 1;
    return OW_OK;
}

ow_status ow_ctx_set_min_version(ow_ctx *c, int32_t version)
{
    if (c == NULL)
        return OW_ERR_ARGUMENT;
    return SSL_CTX_set_min_proto_version(c->ctx, version) ? OW_OK : OW_ERR_OPENSSL;
}

ow_status ow_ctx_set_max_version(ow_ctx *c, int32_t version)
{
    if (c == NULL)
        return OW_ERR_ARGUMENT;
    return SSL_CTX_set_max_proto_version(c->ctx, version) ? OW_OK : OW_ERR_OPENSSL;
}

/* SSL_CTX_set1_groups_list is a macro: this gives it an address, as the other two setters have. */
static int set_groups(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }

/* A colon-separated list option, set by one of OpenSSL's list setters. */
static ow_status set_list(ow_ctx *c, const char *list, int (*set)(SSL_CTX *, const char *))
{
    if (c == NULL || list == NULL)
        return OW_ERR_ARGUMENT;
    return set(c->ctx, list) ? OW_OK : OW_ERR_OPENSSL;
}

ow_status ow_ctx_set_ciphers(ow_ctx *c, const char *list) { return set_list(c, list, SSL_CTX_set_cipher_list); }

ow_status ow_ctx_set_ciphersuites(ow_ctx *c, const char *list) { return set_list(c, list, SSL_CTX_set_ciphersuites); }

ow_status ow_ctx_set_groups(ow_ctx *c, const char *list) { return set_list(c, list, set_groups); }

ow_count ow_ctx_add_ca(ow_ctx *c, const uint8_t *buf, size_t len)
{
    if (c == NULL)
        return OW_ERR_ARGUMENT;
    return ow_store_add_certs(SSL_CTX_get_cert_store(c->ctx), buf, len);
}

ow_status ow_ctx_use_store(ow_ctx *c, ow_store *store)
{
    if (c == NULL || store == NULL)
        return OW_ERR_ARGUMENT;
    SSL_CTX_set1_cert_store(c->ctx, store);
    return OW_OK;
}

ow_count ow_ctx_use_cert_chain(ow_ctx *c, const uint8_t *buf, size_t len)
{
    STACK_OF(X509) *certs;
    X509 *leaf;
    int n;

    if (c == NULL)
        return OW_ERR_ARGUMENT;
    if ((certs = ow_parse_certs(buf, len)) == NULL)
        return OW_ERR_OPENSSL;
    n = sk_X509_num(certs);
    leaf = sk_X509_shift(certs);
    /* On success the context holds its own references; we keep one to check the key against. */
    if (!SSL_CTX_use_certificate(c->ctx, leaf) || !SSL_CTX_set1_chain(c->ctx, certs)) {
        n = OW_ERR_OPENSSL;
        X509_free(leaf);
    } else {
        X509_free(c->leaf);
        c->leaf = leaf;
    }
    OSSL_STACK_OF_X509_free(certs);
    return n;
}

ow_status ow_ctx_use_key(ow_ctx *c, const uint8_t *buf, size_t len, const char *pass)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx;
    const unsigned char *p = buf;
    size_t left = len;
    ow_status status = OW_ERR_OPENSSL;

    if (c == NULL || buf == NULL || len == 0)
        return OW_ERR_ARGUMENT;
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, ow_is_pem(buf, len) ? "PEM" : "DER", NULL, NULL,
                                         OSSL_KEYMGMT_SELECT_KEYPAIR, NULL, NULL);
    if (dctx == NULL)
        return OW_ERR_OPENSSL;
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
    status = OW_OK;
done:
    EVP_PKEY_free(pkey);
    OSSL_DECODER_CTX_free(dctx);
    return status;
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

ow_status ow_ctx_set_alpn(ow_ctx *c, const uint8_t *wire, size_t len)
{
    size_t i;

    if (c == NULL || wire == NULL || len == 0 || len > 0xffff)
        return OW_ERR_ARGUMENT;
    for (i = 0; i < len; i += 1 + wire[i]) /* every name is 1..255 bytes and fits */
        if (wire[i] == 0 || i + 1 + wire[i] > len)
            return OW_ERR_ARGUMENT;
    if (!c->server)
        return SSL_CTX_set_alpn_protos(c->ctx, wire, (unsigned int)len) == 0 ? OW_OK : OW_ERR_OPENSSL;
    free(c->alpn);
    c->alpn = NULL;
    if ((c->alpn = malloc(len)) == NULL)
        return OW_ERR_NO_MEMORY;
    memcpy(c->alpn, wire, len);
    c->alpn_len = (unsigned int)len;
    SSL_CTX_set_alpn_select_cb(c->ctx, alpn_select, c);
    return OW_OK;
}

ow_status ow_ctx_set_session_cache_size(ow_ctx *c, int32_t sessions)
{
    if (c == NULL || !c->server || sessions < 0)
        return OW_ERR_ARGUMENT;
    /* OpenSSL reads 0 as "no limit": no cache at all is the cache turned off instead. */
    if (sessions == 0)
        SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
    else
        SSL_CTX_sess_set_cache_size(c->ctx, sessions);
    return OW_OK;
}

ow_status ow_ctx_set_session_timeout(ow_ctx *c, int32_t seconds)
{
    if (c == NULL || !c->server || seconds < 0)
        return OW_ERR_ARGUMENT;
    SSL_CTX_set_timeout(c->ctx, seconds);
    return OW_OK;
}

ow_status ow_ctx_honor_client_order(ow_ctx *c)
{
    if (c == NULL || !c->server)
        return OW_ERR_ARGUMENT;
    SSL_CTX_clear_options(c->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    return OW_OK;
}
