/* Byte queues and the BIO over them: see pipe.h. */
#include <stdlib.h>
#include <string.h>
#include "pipe.h"

#define OW_PIPE_DEFAULT_CAP (17 * 1024)
#define OW_QUEUE_MIN_ALLOC 1024

/* The bytes are ciphertext, public on the wire anyway: freed without clearing. */
static void queue_release(ow_queue *q)
{
    free(q->buf);
    q->buf = NULL;
    q->head = q->len = q->size = 0;
}

void ow_pipe_init(ow_pipe *p, size_t cap)
{
    memset(p, 0, sizeof(*p));
    p->in.cap = p->out.cap = cap > 0 ? cap : OW_PIPE_DEFAULT_CAP;
}

void ow_pipe_clear(ow_pipe *p)
{
    queue_release(&p->in);
    queue_release(&p->out);
}

int ow_queue_put(ow_queue *q, const uint8_t *src, size_t len)
{
    size_t n = q->cap - q->len;

    if (n > len)
        n = len;
    if (n == 0)
        return 0;
    if (q->head + q->len + n > q->size) {
        if (q->head > 0 && q->len + n <= q->size) {
            /* Room at the front: move the waiting bytes there. */
            memmove(q->buf, q->buf + q->head, q->len);
            q->head = 0;
        } else {
            /* Grow: to what is needed, at least doubling, within the cap. */
            size_t want = q->len + n, size = q->size * 2;
            uint8_t *buf;

            if (size < want)
                size = want;
            if (size < OW_QUEUE_MIN_ALLOC)
                size = OW_QUEUE_MIN_ALLOC;
            if (size > q->cap)
                size = q->cap;
            if ((buf = malloc(size)) == NULL)
                return -1;
            if (q->len > 0)
                memcpy(buf, q->buf + q->head, q->len);
            free(q->buf);
            q->buf = buf;
            q->size = size;
            q->head = 0;
        }
    }
    memcpy(q->buf + q->head + q->len, src, n);
    q->len += n;
    return (int)n;
}

size_t ow_queue_take(ow_queue *q, uint8_t *dst, size_t len)
{
    size_t n = q->len < len ? q->len : len;

    if (n == 0)
        return 0;
    memcpy(dst, q->buf + q->head, n);
    q->head += n;
    q->len -= n;
    if (q->len == 0)
        queue_release(q); /* idle: give the memory back */
    return n;
}

/* ------------------------------------------------------------------ the BIO OpenSSL sees */

static int pipe_write(BIO *b, const char *data, size_t len, size_t *written)
{
    ow_pipe *p = BIO_get_data(b);
    int n;

    BIO_clear_retry_flags(b);
    if (p == NULL)
        return 0;
    n = ow_queue_put(&p->out, (const uint8_t *)data, len);
    if (n < 0)
        return 0;
    if (n == 0) {
        BIO_set_retry_write(b); /* full: the host drains it, then OpenSSL tries again */
        return 0;
    }
    *written = (size_t)n;
    return 1;
}

static int pipe_read(BIO *b, char *data, size_t len, size_t *readbytes)
{
    ow_pipe *p = BIO_get_data(b);
    size_t n;

    BIO_clear_retry_flags(b);
    if (p == NULL)
        return 0;
    n = ow_queue_take(&p->in, (uint8_t *)data, len);
    if (n == 0) {
        if (!p->in.eof)
            BIO_set_retry_read(b); /* nothing yet: the host feeds more, then OpenSSL tries again */
        return 0;
    }
    *readbytes = n;
    return 1;
}

static long pipe_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    ow_pipe *p = BIO_get_data(b);

    (void)num;
    (void)ptr;
    if (p == NULL)
        return 0;
    switch (cmd) {
    case BIO_CTRL_PENDING: /* bytes OpenSSL could read now */
        return (long)p->in.len;
    case BIO_CTRL_WPENDING: /* bytes written, not yet taken by the host */
        return (long)p->out.len;
    case BIO_CTRL_EOF:
        return p->in.eof && p->in.len == 0;
    case BIO_CTRL_FLUSH: /* nothing to flush: the host takes bytes when it wants them */
        return 1;
    default:
        return 0;
    }
}

static int pipe_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int pipe_destroy(BIO *b)
{
    BIO_set_data(b, NULL); /* the connection owns the pipe */
    return 1;
}

static BIO_METHOD *pipe_method;

BIO *ow_pipe_bio(ow_pipe *p)
{
    BIO *b;

    if (pipe_method == NULL) {
        int index = BIO_get_new_index();
        BIO_METHOD *m = index < 0 ? NULL : BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "openssl-tls-wasm pipe");

        if (m == NULL || !BIO_meth_set_write_ex(m, pipe_write) || !BIO_meth_set_read_ex(m, pipe_read)
            || !BIO_meth_set_ctrl(m, pipe_ctrl) || !BIO_meth_set_create(m, pipe_create)
            || !BIO_meth_set_destroy(m, pipe_destroy)) {
            BIO_meth_free(m);
            return NULL;
        }
        pipe_method = m;
    }
    if ((b = BIO_new(pipe_method)) == NULL)
        return NULL;
    BIO_set_data(b, p);
    return b;
}
