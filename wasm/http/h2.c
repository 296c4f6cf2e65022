/*
 * HTTP/2 client sessions, run by nghttp2: framing, HPACK, stream states, flow control,
 * SETTINGS, GOAWAY and RST_STREAM. The shim only moves bytes and turns nghttp2's callbacks
 * into events (abi.h). Two choices matter:
 * - Receive windows are opened by the caller (ow_h2_consume), not by nghttp2 on receipt, so a
 *   stream's body is read from the server no faster than the page reads it.
 * - Request bodies are queued here per stream (ow_h2_data) and handed to nghttp2's data source
 *   as the server's windows allow; an empty queue defers the stream until more arrives.
 */
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "internal.h"

typedef struct chunk {
    struct chunk *next;
    size_t len, off;
    uint8_t data[];
} chunk;

/* A request body waiting to be sent; the stream's data source, freed when the stream closes. */
typedef struct body {
    struct body *prev, *next;    /* every live body, so ow_h2_free frees them all */
    int32_t stream;
    chunk *head, *tail;
    size_t pending;
    int end, deferred;
} body;

struct ow_h2 {
    nghttp2_session *session;
    ow_events events;
    const uint8_t *input;        /* the buffer of the ow_h2_feed call in progress */
    size_t input_len;
    uint8_t *out;
    size_t out_len, out_cap;
    body *bodies;
    int32_t last_error;
};

static void body_free(ow_h2 *s, body *b)
{
    chunk *c, *next;

    if (b == NULL)
        return;
    for (c = b->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    if (b->prev != NULL)
        b->prev->next = b->next;
    else
        s->bodies = b->next;
    if (b->next != NULL)
        b->next->prev = b->prev;
    free(b);
}

/* The body of a stream, from the shim's own list: nghttp2 knows a stream's user data only once
 * its HEADERS have gone out, and a body may be supplied before that. */
static body *body_of(ow_h2 *s, int32_t stream)
{
    body *b;

    for (b = s->bodies; b != NULL; b = b->next)
        if (b->stream == stream)
            return b;
    return NULL;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    ow_h2 *s = user_data;

    if (!ow_events_push2(&s->events, OW_EV_HEADER, 0, frame->hd.stream_id, (int32_t)namelen, 0,
                         name, namelen, value, valuelen))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    ow_h2 *s = user_data;
    int ok = 1;
    int end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        ok = ow_events_push(&s->events, OW_EV_HEADERS_END, end_stream, frame->hd.stream_id,
                            frame->headers.cat, 0, NULL, 0);
        if (ok && end_stream)
            ok = ow_events_push(&s->events, OW_EV_MESSAGE_END, 0, frame->hd.stream_id, 0, 0, NULL, 0);
        break;
    case NGHTTP2_DATA:
        if (end_stream)
            ok = ow_events_push(&s->events, OW_EV_MESSAGE_END, 0, frame->hd.stream_id, 0, 0, NULL, 0);
        break;
    case NGHTTP2_GOAWAY:
        ok = ow_events_push(&s->events, OW_EV_GOAWAY, 0, 0, frame->goaway.last_stream_id,
                            (int32_t)frame->goaway.error_code, frame->goaway.opaque_data,
                            frame->goaway.opaque_data_len);
        break;
    case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
            ok = ow_events_push(&s->events, OW_EV_SETTINGS, 0, 0,
                                (int32_t)nghttp2_session_get_remote_settings(
                                    session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS),
                                0, NULL, 0);
        break;
    default:
        break;
    }
    return ok ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                              const uint8_t *data, size_t len, void *user_data)
{
    ow_h2 *s = user_data;
    int ok;

    /* With nghttp2_session_mem_recv2 the data points into the caller's buffer: say where. */
    if (s->input != NULL && data >= s->input && data + len <= s->input + s->input_len)
        ok = ow_events_push(&s->events, OW_EV_BODY, 0, stream_id, (int32_t)(data - s->input),
                            (int32_t)len, NULL, 0);
    else
        ok = ow_events_push(&s->events, OW_EV_BODY, 1, stream_id, 0, (int32_t)len, data, len);
    return ok ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    ow_h2 *s = user_data;

    body_free(s, body_of(s, stream_id));
    if (!ow_events_push(&s->events, OW_EV_STREAM_CLOSE, 0, stream_id, (int32_t)error_code, 0,
                        NULL, 0))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static nghttp2_ssize read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                               size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                               void *user_data)
{
    body *b = source->ptr;
    size_t n = 0;

    while (n < length && b->head != NULL) {
        chunk *c = b->head;
        size_t take = c->len - c->off;

        if (take > length - n)
            take = length - n;
        memcpy(buf + n, c->data + c->off, take);
        n += take;
        c->off += take;
        if (c->off == c->len) {
            b->head = c->next;
            if (b->head == NULL)
                b->tail = NULL;
            free(c);
        }
    }
    b->pending -= n;
    if (b->head == NULL && b->end)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    else if (n == 0) {
        b->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (nghttp2_ssize)n;
}

ow_h2 *ow_h2_new(uint32_t stream_window, uint32_t connection_window, uint32_t max_header_list)
{
    ow_h2 *s = calloc(1, sizeof(*s));
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    nghttp2_settings_entry settings[3];
    int ok = 0;

    if (s == NULL)
        return NULL;
    if (stream_window == 0 || stream_window > 0x7fffffff)
        stream_window = 1 << 20;
    if (connection_window < stream_window || connection_window > 0x7fffffff)
        connection_window = stream_window;
    if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
        goto done;
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    /* Until the server's SETTINGS say otherwise, assume RFC 9113's recommended minimum. */
    nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
    if (nghttp2_session_client_new2(&s->session, cb, s, opt) != 0)
        goto done;
    settings[0].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
    settings[0].value = 0;
    settings[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
    settings[1].value = stream_window;
    settings[2].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
    settings[2].value = max_header_list == 0 ? 256 * 1024 : max_header_list;
    if (nghttp2_submit_settings(s->session, NGHTTP2_FLAG_NONE, settings, 3) != 0
        || nghttp2_session_set_local_window_size(s->session, NGHTTP2_FLAG_NONE, 0,
                                                 (int32_t)connection_window) != 0)
        goto done;
    ok = 1;
done:
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (!ok) {
        ow_h2_free(s);
        return NULL;
    }
    return s;
}

void ow_h2_free(ow_h2 *s)
{
    if (s == NULL)
        return;
    nghttp2_session_del(s->session); /* calls no callbacks: free the bodies here */
    while (s->bodies != NULL)
        body_free(s, s->bodies);
    ow_events_release(&s->events);
    free(s->out);
    free(s);
}

static ow_status failed(ow_h2 *s, int rv)
{
    s->last_error = rv;
    return rv == NGHTTP2_ERR_NOMEM ? OW_ERR_NO_MEMORY
        : rv == NGHTTP2_ERR_INVALID_ARGUMENT || rv == NGHTTP2_ERR_STREAM_CLOSED ? OW_ERR_ARGUMENT
        : OW_ERR_PROTOCOL;
}

ow_count ow_h2_request(ow_h2 *s, const uint8_t *headers, size_t len, int32_t has_body)
{
    nghttp2_nv *nva;
    size_t count = 0, i, at;
    body *b = NULL;
    int32_t id;

    if (s == NULL || headers == NULL || len == 0 || headers[len - 1] != 0)
        return OW_ERR_ARGUMENT;
    for (i = 0; i < len; i++)
        count += headers[i] == 0;
    if (count % 2 != 0)
        return OW_ERR_ARGUMENT;
    nva = calloc(count / 2 + 1, sizeof(*nva));
    if (nva == NULL)
        return OW_ERR_NO_MEMORY;
    for (i = 0, at = 0; i < count / 2; i++) {
        nva[i].name = (uint8_t *)headers + at;
        nva[i].namelen = strlen((const char *)headers + at);
        at += nva[i].namelen + 1;
        nva[i].value = (uint8_t *)headers + at;
        nva[i].valuelen = strlen((const char *)headers + at);
        at += nva[i].valuelen + 1;
        nva[i].flags = NGHTTP2_NV_FLAG_NONE;
    }
    if (has_body) {
        nghttp2_data_provider2 provider;

        b = calloc(1, sizeof(*b));
        if (b == NULL) {
            free(nva);
            return OW_ERR_NO_MEMORY;
        }
        provider.source.ptr = b;
        provider.read_callback = read_body;
        id = nghttp2_submit_request2(s->session, NULL, nva, count / 2, &provider, NULL);
    } else {
        id = nghttp2_submit_request2(s->session, NULL, nva, count / 2, NULL, NULL);
    }
    free(nva);
    if (id < 0) {
        free(b);
        return failed(s, id);
    }
    if (b != NULL) {
        b->stream = id;
        b->next = s->bodies;
        if (s->bodies != NULL)
            s->bodies->prev = b;
        s->bodies = b;
    }
    return id;
}

ow_status ow_h2_data(ow_h2 *s, int32_t stream, const uint8_t *buf, size_t len, int32_t end)
{
    body *b;
    int rv;

    if (s == NULL || (buf == NULL && len > 0))
        return OW_ERR_ARGUMENT;
    b = body_of(s, stream);
    if (b == NULL || b->end)
        return OW_ERR_ARGUMENT;
    if (len > 0) {
        chunk *c = malloc(sizeof(*c) + len);

        if (c == NULL)
            return OW_ERR_NO_MEMORY;
        c->next = NULL;
        c->len = len;
        c->off = 0;
        memcpy(c->data, buf, len);
        if (b->tail != NULL)
            b->tail->next = c;
        else
            b->head = c;
        b->tail = c;
        b->pending += len;
    }
    if (end)
        b->end = 1;
    if (b->deferred) {
        b->deferred = 0;
        rv = nghttp2_session_resume_data(s->session, stream);
        if (rv != 0)
            return failed(s, rv);
    }
    return OW_OK;
}

ow_count ow_h2_data_pending(ow_h2 *s, int32_t stream)
{
    body *b;

    if (s == NULL)
        return OW_ERR_ARGUMENT;
    b = body_of(s, stream);
    if (b == NULL)
        return OW_ERR_ARGUMENT;
    return b->pending > INT32_MAX ? INT32_MAX : (ow_count)b->pending;
}

ow_count ow_h2_feed(ow_h2 *s, const uint8_t *buf, size_t len)
{
    nghttp2_ssize rv;

    if (s == NULL || (buf == NULL && len > 0) || len > INT32_MAX)
        return OW_ERR_ARGUMENT;
    s->input = buf;
    s->input_len = len;
    rv = nghttp2_session_mem_recv2(s->session, buf, len);
    s->input = NULL;
    s->input_len = 0;
    if (rv < 0)
        return failed(s, (int)rv);
    return (ow_count)rv;
}

const uint8_t *ow_h2_output(ow_h2 *s, size_t *len)
{
    if (s == NULL || len == NULL)
        return NULL;
    s->out_len = 0;
    while (s->out_len < 64 * 1024) {
        const uint8_t *data;
        nghttp2_ssize n = nghttp2_session_mem_send2(s->session, &data);

        if (n < 0) {
            failed(s, (int)n);
            return NULL;
        }
        if (n == 0)
            break;
        if (!ow_bytes_append(&s->out, &s->out_len, &s->out_cap, data, (size_t)n)) {
            failed(s, NGHTTP2_ERR_NOMEM);
            return NULL;
        }
    }
    *len = s->out_len;
    return s->out != NULL ? s->out : (const uint8_t *)"";
}

ow_status ow_h2_consume(ow_h2 *s, int32_t stream, size_t n)
{
    int rv;

    if (s == NULL)
        return OW_ERR_ARGUMENT;
    rv = nghttp2_session_consume(s->session, stream, n);
    /* A stream already closed still took its share of the connection's window. */
    if (rv == NGHTTP2_ERR_INVALID_ARGUMENT)
        rv = nghttp2_session_consume_connection(s->session, n);
    return rv == 0 ? OW_OK : failed(s, rv);
}

ow_status ow_h2_reset(ow_h2 *s, int32_t stream, uint32_t error_code)
{
    int rv;

    if (s == NULL)
        return OW_ERR_ARGUMENT;
    rv = nghttp2_submit_rst_stream(s->session, NGHTTP2_FLAG_NONE, stream, error_code);
    return rv == 0 ? OW_OK : failed(s, rv);
}

ow_status ow_h2_goaway(ow_h2 *s, uint32_t error_code)
{
    int rv;

    if (s == NULL)
        return OW_ERR_ARGUMENT;
    rv = nghttp2_session_terminate_session(s->session, error_code);
    return rv == 0 ? OW_OK : failed(s, rv);
}

int32_t ow_h2_want_read(ow_h2 *s) { return s != NULL && nghttp2_session_want_read(s->session); }

int32_t ow_h2_want_write(ow_h2 *s) { return s != NULL && nghttp2_session_want_write(s->session); }

int32_t ow_h2_last_error(ow_h2 *s) { return s == NULL ? 0 : s->last_error; }

const char *ow_h2_strerror(int32_t code) { return nghttp2_strerror(code); }

const char *ow_h2_error_code_name(uint32_t code) { return nghttp2_http2_strerror(code); }

const uint8_t *ow_h2_events(ow_h2 *s, size_t *len)
{
    if (s == NULL || len == NULL)
        return NULL;
    *len = s->events.len;
    return s->events.buf;
}

void ow_h2_events_clear(ow_h2 *s)
{
    if (s != NULL)
        ow_events_reset(&s->events);
}
