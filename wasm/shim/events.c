/*
 * Events and callbacks. OpenSSL reports protocol messages, key-log lines and alerts through
 * callbacks, during a step. Messages and key-log lines are queued here and taken by the host
 * after the step, so no host code ever runs inside OpenSSL; alerts are kept as the last one
 * each way, for the error a failed step becomes.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "internal.h"

/* Event kinds; each event is [kind u8][sent u8][version u16][type u16][len u32][2 zero bytes][bytes]. */
#define EVENT_MESSAGE 1 /* a protocol message, from the message callback */
#define EVENT_KEYLOG 2  /* one SSLKEYLOGFILE line */
#define EVENT_HEADER 12
#define EVENTS_MAX (4u << 20) /* a host that never drains loses events, not memory */

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void event_push(ow_conn *conn, int kind, int sent, int version, int type,
                       const void *buf, size_t len)
{
    size_t need = conn->events_len + EVENT_HEADER + len;
    unsigned char *e;

    if (len > EVENTS_MAX || need > EVENTS_MAX)
        return;
    if (need > conn->events_cap) {
        size_t cap = conn->events_cap ? conn->events_cap : 4096;
        unsigned char *grown;

        while (cap < need)
            cap *= 2;
        /* Not realloc: the old block may hold key-log secrets, so it is wiped before it goes. */
        if ((grown = malloc(cap)) == NULL)
            return;
        if (conn->events != NULL) {
            memcpy(grown, conn->events, conn->events_len);
            OPENSSL_clear_free(conn->events, conn->events_cap);
        }
        conn->events = grown;
        conn->events_cap = cap;
    }
    e = conn->events + conn->events_len;
    e[0] = (unsigned char)kind;
    e[1] = (unsigned char)sent;
    put16(e + 2, (unsigned)version);
    put16(e + 4, (unsigned)type);
    put16(e + 6, (unsigned)(len & 0xffff));
    put16(e + 8, (unsigned)(len >> 16));
    e[10] = e[11] = 0;
    if (len > 0)
        memcpy(e + EVENT_HEADER, buf, len);
    conn->events_len = need;
}

static void message_callback(int write_p, int version, int content_type, const void *buf,
                             size_t len, SSL *ssl, void *arg)
{
    ow_conn *conn = SSL_get_app_data(ssl);

    (void)arg;
    if (conn != NULL)
        event_push(conn, EVENT_MESSAGE, write_p, version, content_type, buf, len);
}

static void keylog_callback(const SSL *ssl, const char *line)
{
    ow_conn *conn = SSL_get_app_data(ssl);

    if (conn != NULL && conn->keylog && line != NULL)
        event_push(conn, EVENT_KEYLOG, 1, 0, 0, line, strlen(line));
}

void ow_info_callback(const SSL *ssl, int where, int ret)
{
    ow_conn *conn;

    if (!(where & SSL_CB_ALERT) || (conn = SSL_get_app_data(ssl)) == NULL)
        return;
    if (where & SSL_CB_READ)
        conn->alert_received = ret & 0xffff;
    else
        conn->alert_sent = ret & 0xffff;
}

ow_status ow_conn_enable_trace(ow_conn *conn)
{
    if (conn == NULL)
        return OW_ERR_ARGUMENT;
    SSL_set_msg_callback(conn->ssl, message_callback);
    return OW_OK;
}

ow_status ow_conn_enable_keylog(ow_conn *conn)
{
    if (conn == NULL)
        return OW_ERR_ARGUMENT;
    /* The key-log callback lives on the context; only connections that asked keep lines. */
    SSL_CTX_set_keylog_callback(SSL_get_SSL_CTX(conn->ssl), keylog_callback);
    conn->keylog = 1;
    return OW_OK;
}

const uint8_t *ow_conn_events(ow_conn *conn, size_t *len)
{
    if (conn == NULL || len == NULL)
        return NULL;
    *len = conn->events_len;
    return conn->events;
}

void ow_conn_events_clear(ow_conn *conn)
{
    if (conn != NULL && conn->events_len > 0) {
        OPENSSL_cleanse(conn->events, conn->events_len);
        conn->events_len = 0;
    }
}

void ow_events_free(ow_conn *conn)
{
    if (conn->events != NULL)
        OPENSSL_clear_free(conn->events, conn->events_cap);
    conn->events = NULL;
    conn->events_len = conn->events_cap = 0;
}
