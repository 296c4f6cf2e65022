/*
 * Sessions, for resumption. A client context keeps no internal cache: the host keeps each
 * session (ow_conn_get_session) and offers it back to a later connection (ow_conn_set_session).
 * And keying material exported from the connection's master secret (RFC 5705).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "internal.h"

/* Client: counts new sessions so the host knows when to save one; keeps no reference. */
int ow_new_session_callback(SSL *ssl, SSL_SESSION *sess)
{
    ow_conn *conn = SSL_get_app_data(ssl);

    (void)sess;
    if (conn != NULL)
        conn->sessions++;
    return 0;
}

uint8_t *ow_conn_get_session(ow_conn *conn, size_t *len)
{
    SSL_SESSION *sess;
    unsigned char *der = NULL;
    int n;

    if (conn == NULL || len == NULL || (sess = SSL_get1_session(conn->ssl)) == NULL)
        return NULL;
    n = SSL_SESSION_is_resumable(sess) ? i2d_SSL_SESSION(sess, &der) : 0;
    SSL_SESSION_free(sess);
    if (n <= 0)
        return NULL;
    *len = (size_t)n;
    return der;
}

ow_status ow_conn_set_session(ow_conn *conn, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    SSL_SESSION *sess;
    int ok;

    if (conn == NULL || der == NULL || len == 0 || len > INT32_MAX || conn->ctx->server)
        return OW_ERR_ARGUMENT;
    if ((sess = d2i_SSL_SESSION(NULL, &p, (long)len)) == NULL)
        return OW_ERR_OPENSSL;
    ok = p == der + len && SSL_set_session(conn->ssl, sess);
    SSL_SESSION_free(sess);
    return ok ? OW_OK : OW_ERR_OPENSSL;
}

ow_count ow_conn_session_count(ow_conn *conn)
{
    return conn == NULL ? OW_ERR_ARGUMENT : conn->sessions;
}

ow_status ow_conn_export_keying_material(ow_conn *conn, uint8_t *out, size_t len, const uint8_t *label,
                                         size_t label_len, const uint8_t *context, size_t context_len,
                                         int32_t has_context)
{
    static const unsigned char empty[1];
    unsigned char *tmp;
    int ok;

    if (conn == NULL || out == NULL || len == 0 || len > INT32_MAX || (label == NULL && label_len > 0)
            || (context == NULL && context_len > 0) || (has_context != 0 && has_context != 1)
            || !SSL_is_init_finished(conn->ssl))
        return OW_ERR_ARGUMENT;
    /* Into a buffer of our own first, so that out is written only on success. */
    if ((tmp = OPENSSL_malloc(len)) == NULL)
        return OW_ERR_NO_MEMORY;
    ok = SSL_export_keying_material(conn->ssl, tmp, len, label_len > 0 ? (const char *)label : "", label_len,
                                    context_len > 0 ? context : empty, context_len, has_context);
    if (ok == 1)
        memcpy(out, tmp, len);
    OPENSSL_clear_free(tmp, len);
    return ok == 1 ? OW_OK : OW_ERR_OPENSSL;
}
