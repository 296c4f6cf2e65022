/*
 * The ciphertext path between one SSL object and the host: two byte queues, and a BIO that
 * OpenSSL reads the inbound queue and writes the outbound one through.
 *
 * It replaces a BIO pair, which allocates both of its buffers (17 KiB each by default) when it
 * is made and keeps them for the connection's life. Here a queue holds memory only while bytes
 * wait in it, so an idle connection costs none; `cap` still bounds each direction the same way
 * (a full queue refuses more: the host must drain or read first).
 */
#ifndef OW_PIPE_H
#define OW_PIPE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/bio.h>

typedef struct {
    uint8_t *buf; /* NULL while empty */
    size_t head;  /* offset of the first unread byte in buf */
    size_t len;   /* bytes waiting */
    size_t size;  /* bytes allocated */
    size_t cap;   /* most bytes it may hold */
    int eof;      /* inbound only: the host said no more bytes will come */
} ow_queue;

typedef struct {
    ow_queue in;  /* from the host (ciphertext received) to OpenSSL */
    ow_queue out; /* from OpenSSL to the host (ciphertext to send) */
} ow_pipe;

/* Sets both queues' cap (0: 17 KiB, room for one full record) and empties them. */
void ow_pipe_init(ow_pipe *p, size_t cap);
/* Frees what the queues hold. */
void ow_pipe_clear(ow_pipe *p);
/* A new BIO over the pipe, for SSL_set_bio; it does not own the pipe. NULL on failure. */
BIO *ow_pipe_bio(ow_pipe *p);

/* Appends up to len bytes; returns how many fit (0 when full), or -1 when out of memory. */
int ow_queue_put(ow_queue *q, const uint8_t *src, size_t len);
/* Removes up to len bytes into dst; returns the count (0 when empty). */
size_t ow_queue_take(ow_queue *q, uint8_t *dst, size_t len);

#endif
