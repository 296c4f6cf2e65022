/*
 * Memory, versions and the event queue of the HTTP module. The ABI is in abi.h.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>
#include "llhttp.h"

#include "internal.h"

uint8_t *ow_malloc(size_t n) { return malloc(n == 0 ? 1 : n); }

void ow_free(void *p) { free(p); }

void ow_cleanse(void *p, size_t n)
{
    volatile uint8_t *v = p;

    while (v != NULL && n-- > 0)
        *v++ = 0;
}

size_t ow_heap_used(void)
{
    struct mallinfo mi = mallinfo();
    return (size_t)mi.uordblks;
}

#define STR(x) #x
#define XSTR(x) STR(x)

const char *ow_http_versions(void)
{
    return "llhttp " XSTR(LLHTTP_VERSION_MAJOR) "." XSTR(LLHTTP_VERSION_MINOR) "."
        XSTR(LLHTTP_VERSION_PATCH) ", nghttp2 " NGHTTP2_VERSION;
}

int ow_bytes_append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n)
{
    if (n > SIZE_MAX / 2 - *len)
        return 0;
    if (*len + n > *cap) {
        size_t want = *cap < 256 ? 256 : *cap;
        uint8_t *grown;

        while (want < *len + n)
            want *= 2;
        grown = realloc(*buf, want);
        if (grown == NULL)
            return 0;
        *buf = grown;
        *cap = want;
    }
    if (n > 0)
        memcpy(*buf + *len, p, n);
    *len += n;
    return 1;
}

int ow_events_push2(ow_events *q, int kind, int flags, int32_t stream, int32_t a, int32_t b,
                    const uint8_t *p1, size_t n1, const uint8_t *p2, size_t n2)
{
    uint8_t head[20];
    uint32_t total = (uint32_t)(n1 + n2);
    static const uint8_t zeros[4];
    size_t start = q->len, pad = (4 - (n1 + n2) % 4) % 4;

    head[0] = (uint8_t)kind;
    head[1] = (uint8_t)flags;
    head[2] = head[3] = 0;
    memcpy(head + 4, &stream, 4); /* wasm is little-endian, as the format says */
    memcpy(head + 8, &a, 4);
    memcpy(head + 12, &b, 4);
    memcpy(head + 16, &total, 4);
    if (!ow_bytes_append(&q->buf, &q->len, &q->cap, head, sizeof(head))
        || !ow_bytes_append(&q->buf, &q->len, &q->cap, p1, n1)
        || !ow_bytes_append(&q->buf, &q->len, &q->cap, p2, n2)
        || !ow_bytes_append(&q->buf, &q->len, &q->cap, zeros, pad)) {
        q->len = start;
        return 0;
    }
    return 1;
}

int ow_events_push(ow_events *q, int kind, int flags, int32_t stream, int32_t a, int32_t b,
                   const uint8_t *bytes, size_t len)
{
    return ow_events_push2(q, kind, flags, stream, a, b, bytes, len, NULL, 0);
}

void ow_events_reset(ow_events *q)
{
    q->len = 0;
    /* A queue that grew for one large header block gives the memory back. */
    if (q->cap > 64 * 1024) {
        free(q->buf);
        q->buf = NULL;
        q->cap = 0;
    }
}

void ow_events_release(ow_events *q)
{
    free(q->buf);
    q->buf = NULL;
    q->len = q->cap = 0;
}
