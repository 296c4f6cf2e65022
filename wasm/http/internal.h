/*
 * What the HTTP module's files share: the event queue (its format is in abi.h).
 */
#ifndef OPENSSL_HTTP_WASM_INTERNAL_H
#define OPENSSL_HTTP_WASM_INTERNAL_H

#include "abi.h"

typedef struct ow_events {
    uint8_t *buf;
    size_t len, cap;
} ow_events;

/* Appends one event; 0 when the heap cannot grow (the queue is left as it was). */
int ow_events_push(ow_events *q, int kind, int flags, int32_t stream, int32_t a, int32_t b,
                   const uint8_t *bytes, size_t len);
/* As ow_events_push, with two pieces of bytes one after the other (a header's name and value). */
int ow_events_push2(ow_events *q, int kind, int flags, int32_t stream, int32_t a, int32_t b,
                    const uint8_t *p1, size_t n1, const uint8_t *p2, size_t n2);
void ow_events_reset(ow_events *q);
void ow_events_release(ow_events *q);

/* A growable byte buffer. */
int ow_bytes_append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n);

#endif
