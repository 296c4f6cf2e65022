/*
 * HTTP/1.1 responses, parsed by llhttp. Each callback turns into an event (abi.h); header
 * names and values that llhttp hands over in pieces (a header split across two reads) are
 * joined here first, so every HEADER event is whole.
 */
#include <stdlib.h>
#include <string.h>

#include "llhttp.h"

#include "internal.h"

struct ow_h1 {
    llhttp_t parser;
    llhttp_settings_t settings;
    ow_events events;
    const uint8_t *input;        /* the buffer of the ow_h1_execute call in progress */
    uint8_t *field;              /* the header (name then value) or reason phrase being read */
    size_t field_len, field_cap, name_len;
    size_t header_bytes, max_header_bytes;
    int head;                    /* the request was HEAD: the response has no body */
    int in_trailers;             /* the header section is over: what follows are trailers */
    int status;
    int overflow;                /* the header section went over max_header_bytes */
    int no_memory;
};

#define H1(parser) ((ow_h1 *)(parser)->data)

static int fail_no_memory(ow_h1 *p)
{
    p->no_memory = 1;
    llhttp_set_error_reason(&p->parser, "out of wasm memory");
    return HPE_USER;
}

/* Adds a piece of a header or reason phrase, counting it against the limit. */
static int take(llhttp_t *parser, const char *at, size_t len)
{
    ow_h1 *p = H1(parser);

    p->header_bytes += len;
    if (p->header_bytes > p->max_header_bytes) {
        p->overflow = 1;
        llhttp_set_error_reason(parser, "the response's header section is larger than maxHeaderSize");
        return HPE_USER;
    }
    if (!ow_bytes_append(&p->field, &p->field_len, &p->field_cap, (const uint8_t *)at, len))
        return fail_no_memory(p);
    return 0;
}

static int on_message_begin(llhttp_t *parser)
{
    ow_h1 *p = H1(parser);

    p->field_len = p->name_len = p->header_bytes = 0;
    p->in_trailers = 0;
    return 0;
}

static int on_status_complete(llhttp_t *parser)
{
    ow_h1 *p = H1(parser);

    if (!ow_events_push(&p->events, OW_EV_STATUS_TEXT, 0, 0, 0, 0, p->field, p->field_len))
        return fail_no_memory(p);
    p->field_len = 0;
    return 0;
}

static int on_header_field_complete(llhttp_t *parser)
{
    H1(parser)->name_len = H1(parser)->field_len;
    return 0;
}

static int on_header_value_complete(llhttp_t *parser)
{
    ow_h1 *p = H1(parser);

    if (!ow_events_push(&p->events, OW_EV_HEADER, p->in_trailers, 0, (int32_t)p->name_len, 0,
                        p->field, p->field_len))
        return fail_no_memory(p);
    p->field_len = p->name_len = 0;
    return 0;
}

static int on_headers_complete(llhttp_t *parser)
{
    ow_h1 *p = H1(parser);
    int status = parser->status_code;

    p->status = status;
    p->in_trailers = 1;
    p->header_bytes = 0; /* trailers have a limit of their own */
    if (!ow_events_push(&p->events, OW_EV_HEADERS_END, 0, 0, status,
                        (parser->http_major << 8) | parser->http_minor, NULL, 0))
        return fail_no_memory(p);
    /* 1 means "no body": every informational response (llhttp knows only 100, 102 and 103
     * as such; 101 is an upgrade, which this client never asks for) and a HEAD's response. */
    if ((status < 200 && status != 101) || p->head)
        return 1;
    return 0;
}

static int on_body(llhttp_t *parser, const char *at, size_t len)
{
    ow_h1 *p = H1(parser);

    if (!ow_events_push(&p->events, OW_EV_BODY, 0, 0, (int32_t)((const uint8_t *)at - p->input),
                        (int32_t)len, NULL, 0))
        return fail_no_memory(p);
    return 0;
}

static int on_message_complete(llhttp_t *parser)
{
    ow_h1 *p = H1(parser);

    if (!ow_events_push(&p->events, OW_EV_MESSAGE_END, 0, 0, llhttp_should_keep_alive(parser),
                        p->status, NULL, 0))
        return fail_no_memory(p);
    /* The final response: stop, so that bytes after it are not taken for another response. */
    return p->status >= 200 ? HPE_PAUSED : 0;
}

ow_h1 *ow_h1_new(size_t max_header_bytes)
{
    ow_h1 *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    llhttp_settings_init(&p->settings);
    p->settings.on_message_begin = on_message_begin;
    p->settings.on_status = take;
    p->settings.on_status_complete = on_status_complete;
    p->settings.on_header_field = take;
    p->settings.on_header_field_complete = on_header_field_complete;
    p->settings.on_header_value = take;
    p->settings.on_header_value_complete = on_header_value_complete;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_message_complete = on_message_complete;
    llhttp_init(&p->parser, HTTP_RESPONSE, &p->settings);
    p->parser.data = p;
    p->max_header_bytes = max_header_bytes == 0 ? 64 * 1024 : max_header_bytes;
    return p;
}

void ow_h1_free(ow_h1 *p)
{
    if (p == NULL)
        return;
    ow_events_release(&p->events);
    free(p->field);
    free(p);
}

ow_status ow_h1_start(ow_h1 *p, int32_t head)
{
    if (p == NULL)
        return OW_ERR_ARGUMENT;
    llhttp_reset(&p->parser);
    p->parser.data = p;
    p->head = head != 0;
    p->status = 0;
    p->overflow = p->no_memory = 0;
    p->field_len = p->name_len = p->header_bytes = 0;
    p->in_trailers = 0;
    return OW_OK;
}

ow_count ow_h1_execute(ow_h1 *p, const uint8_t *buf, size_t len)
{
    llhttp_errno_t err;

    if (p == NULL || (buf == NULL && len > 0) || len > INT32_MAX)
        return OW_ERR_ARGUMENT;
    p->input = buf;
    err = llhttp_execute(&p->parser, (const char *)buf, len);
    p->input = NULL;
    if (err == HPE_OK)
        return (ow_count)len;
    if (err == HPE_PAUSED)
        return (ow_count)((const uint8_t *)llhttp_get_error_pos(&p->parser) - buf);
    return p->no_memory ? OW_ERR_NO_MEMORY : OW_ERR_PROTOCOL;
}

ow_status ow_h1_finish(ow_h1 *p)
{
    llhttp_errno_t err;

    if (p == NULL)
        return OW_ERR_ARGUMENT;
    err = llhttp_finish(&p->parser);
    if (err == HPE_OK || err == HPE_PAUSED)
        return OW_OK;
    return p->no_memory ? OW_ERR_NO_MEMORY : OW_ERR_PROTOCOL;
}

const char *ow_h1_error_name(ow_h1 *p)
{
    if (p == NULL)
        return NULL;
    if (p->overflow)
        return "HPE_HEADER_OVERFLOW"; /* node's name for it */
    return llhttp_errno_name(llhttp_get_errno(&p->parser));
}

const char *ow_h1_error_reason(ow_h1 *p)
{
    return p == NULL ? NULL : llhttp_get_error_reason(&p->parser);
}

const uint8_t *ow_h1_events(ow_h1 *p, size_t *len)
{
    if (p == NULL || len == NULL)
        return NULL;
    *len = p->events.len;
    return p->events.buf;
}

void ow_h1_events_clear(ow_h1 *p)
{
    if (p != NULL)
        ow_events_reset(&p->events);
}
