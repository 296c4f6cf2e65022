/*
 * Connections: OpenSSL's nonblocking contract, step by step, over a pipe (pipe.c) of two byte
 * queues. The host moves ciphertext with ow_conn_feed (bytes that arrived) and ow_conn_drain
 * (bytes to send). Each queue has a cap, so a host that stops draining sees want-write and a
 * host that feeds too fast sees a short count: memory stays bounded by construction. The
 * queues hold memory only while bytes wait, so an idle connection is small.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "internal.h"

ow_conn *ow_conn_new(ow_ctx *c, size_t buffer_size)
{
    ow_conn *conn;
    BIO *bio = NULL;

    if (c == NULL || (conn = calloc(1, sizeof(*conn))) == NULL)
        return NULL;
    conn->alert_sent = conn->alert_received = -1;
    conn->verify_error_depth = -1;
    ow_pipe_init(&conn->pipe, buffer_size);
    if ((conn->ssl = SSL_new(c->ctx)) == NULL || (bio = ow_pipe_bio(&conn->pipe)) == NULL) {
        SSL_free(conn->ssl);
        free(conn);
        return NULL;
    }
    SSL_set_bio(conn->ssl, bio, bio); /* the same BIO both ways: the SSL takes our one reference */
    conn->ctx = c;
    c->refs++;
    SSL_set_app_data(conn->ssl, conn);
    SSL_set_info_callback(conn->ssl, ow_info_callback);
    if (c->server)
        SSL_set_accept_state(conn->ssl);
    else
        SSL_set_connect_state(conn->ssl);
    return conn;
}

void ow_conn_free(ow_conn *conn)
{
    if (conn == NULL)
        return;
    SSL_free(conn->ssl); /* frees its BIO, which does not own the pipe */
    ow_pipe_clear(&conn->pipe);
    OSSL_STACK_OF_X509_free(conn->sent_chain);
    ow_events_free(conn);
    ow_ctx_release(conn->ctx);
    free(conn);
}

ow_status ow_conn_set_sni(ow_conn *conn, const char *name)
{
    if (conn == NULL || name == NULL || conn->ctx->server)
        return OW_ERR_ARGUMENT;
    return SSL_set_tlsext_host_name(conn->ssl, name) ? OW_OK : OW_ERR_OPENSSL;
}

ow_status ow_conn_set_verify_host(ow_conn *conn, const char *host)
{
    if (conn == NULL || host == NULL || conn->ctx->server)
        return OW_ERR_ARGUMENT;
    return SSL_set1_host(conn->ssl, host) ? OW_OK : OW_ERR_OPENSSL;
}

/* A TLS call's result in this ABI: n when it succeeded, else its SSL_get_error() as a status. */
static ow_count io_result(ow_conn *conn, int ret, size_t n)
{
    if (ret > 0)
        return (ow_count)n;
    switch (SSL_get_error(conn->ssl, ret)) {
    case SSL_ERROR_SSL:
        return OW_ERR_OPENSSL;
    case SSL_ERROR_WANT_READ:
        return OW_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return OW_WANT_WRITE;
    case SSL_ERROR_SYSCALL:
        return OW_ERR_TRANSPORT;
    case SSL_ERROR_ZERO_RETURN:
        return OW_CLOSED;
    default:
        return OW_ERR_UNEXPECTED;
    }
}

ow_status ow_conn_handshake(ow_conn *conn)
{
    if (conn == NULL)
        return OW_ERR_ARGUMENT;
    return io_result(conn, SSL_do_handshake(conn->ssl), OW_OK);
}

ow_count ow_conn_feed(ow_conn *conn, const uint8_t *buf, size_t len)
{
    int n;

    if (conn == NULL || (buf == NULL && len > 0) || len > INT32_MAX)
        return OW_ERR_ARGUMENT;
    if (conn->pipe.in.eof)
        return OW_ERR_ENDED; /* nothing may follow the end the host reported */
    if (len == 0)
        return 0;
    n = ow_queue_put(&conn->pipe.in, buf, len);
    return n >= 0 ? n : OW_ERR_NO_MEMORY; /* 0: the queue is full, read plaintext first */
}

ow_status ow_conn_feed_end(ow_conn *conn)
{
    if (conn == NULL)
        return OW_ERR_ARGUMENT;
    conn->pipe.in.eof = 1;
    return OW_OK;
}

ow_count ow_conn_pending_output(ow_conn *conn)
{
    return conn == NULL ? OW_ERR_ARGUMENT : (ow_count)conn->pipe.out.len;
}

ow_count ow_conn_drain(ow_conn *conn, uint8_t *buf, size_t len)
{
    if (conn == NULL || (buf == NULL && len > 0) || len > INT32_MAX)
        return OW_ERR_ARGUMENT;
    return (ow_count)ow_queue_take(&conn->pipe.out, buf, len);
}

ow_count ow_conn_read(ow_conn *conn, uint8_t *buf, size_t len)
{
    size_t n = 0;

    if (conn == NULL || buf == NULL || len == 0 || len > INT32_MAX)
        return OW_ERR_ARGUMENT;
    return io_result(conn, SSL_read_ex(conn->ssl, buf, len, &n), n);
}

ow_count ow_conn_write(ow_conn *conn, const uint8_t *buf, size_t len)
{
    size_t n = 0;

    if (conn == NULL || buf == NULL || len == 0 || len > INT32_MAX)
        return OW_ERR_ARGUMENT;
    return io_result(conn, SSL_write_ex(conn->ssl, buf, len, &n), n);
}

ow_count ow_conn_pending_input(ow_conn *conn)
{
    return conn == NULL ? OW_ERR_ARGUMENT : SSL_pending(conn->ssl);
}

ow_count ow_conn_shutdown(ow_conn *conn)
{
    int r;

    if (conn == NULL)
        return OW_ERR_ARGUMENT;
    r = SSL_shutdown(conn->ssl);
    return r >= 0 ? r : io_result(conn, r, 0);
}

ow_status ow_conn_get_info(ow_conn *conn, ow_conn_info *out)
{
    const SSL_CIPHER *cipher;
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;
    const char *sig = NULL;
    int done, shut;

    if (conn == NULL || out == NULL)
        return OW_ERR_ARGUMENT;
    done = SSL_is_init_finished(conn->ssl);
    cipher = done ? SSL_get_current_cipher(conn->ssl) : NULL;
    SSL_get0_alpn_selected(conn->ssl, &alpn, &alpn_len);
    shut = SSL_get_shutdown(conn->ssl);
    memset(out, 0, sizeof(*out));
    out->handshake_done = done;
    out->version = done ? SSL_version(conn->ssl) : 0;
    out->cipher = cipher != NULL ? SSL_CIPHER_get_name(cipher) : NULL;
    out->cipher_standard = cipher != NULL ? SSL_CIPHER_standard_name(cipher) : NULL;
    out->group = SSL_get0_group_name(conn->ssl);
    out->alpn = alpn;
    out->alpn_len = (int32_t)alpn_len;
    out->servername = SSL_get_servername(conn->ssl, TLSEXT_NAMETYPE_host_name);
    out->peer_signature = SSL_get0_peer_signature_name(conn->ssl, &sig) ? sig : NULL;
    out->peername = SSL_get0_peername(conn->ssl);
    out->verify_result = (int32_t)SSL_get_verify_result(conn->ssl);
    out->verify_error_depth = conn->verify_error_depth;
    out->peer_cert_count = ow_peer_cert_count(conn);
    out->session_reused = SSL_session_reused(conn->ssl);
    out->session_count = conn->sessions;
    out->alert_sent = conn->alert_sent;
    out->alert_received = conn->alert_received;
    out->close_sent = (shut & SSL_SENT_SHUTDOWN) != 0;
    out->close_received = (shut & SSL_RECEIVED_SHUTDOWN) != 0;
    return OW_OK;
}
