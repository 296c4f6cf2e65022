/*
 * The ABI of the HTTP module (wasm/build/openssl-http.wasm): llhttp, the HTTP/1.1 parser Node
 * uses, and nghttp2, the HTTP/2 library (framing, HPACK, flow control), with a thin shim. It is
 * a separate module, so the TLS-only openssl.wasm stays as it is; the fetch entry loads both.
 * Every function the module exports is declared here and nowhere else; wasm/gen-abi.mjs reads
 * this header (`--module http`) and writes bindings/http-abi.ts and wasm/build/exports-http.json,
 * as it does for ../abi.h, whose conventions this header follows: objects are made by *_new and
 * freed by *_free (NULL is fine), fallible calls return ow_status or ow_count, a buffer is
 * followed by its length, returned pointers are OW_OWNED or OW_BORROWED.
 *
 * Neither parser calls back into JavaScript. What they find is queued as events, which the
 * caller takes after each call (ow_h1_events, ow_h2_events) and then clears. Each event is
 *     [kind u8][flags u8][0 u16][stream i32][a i32][b i32][len u32][len bytes][0-3 bytes to 4]
 * with kind one of OW_EV_*, and a, b and the bytes as each kind says. A body's bytes are not
 * copied: a BODY event gives their offset (a) and length (b) in the buffer of the call that
 * found them, which the caller still holds.
 */
#ifndef OPENSSL_HTTP_WASM_ABI_H
#define OPENSSL_HTTP_WASM_ABI_H

#include <stddef.h>
#include <stdint.h>

#define OW_API
#define OW_OWNED
#define OW_BORROWED

/* An HTTP/1.1 response parser (llhttp). */
typedef struct ow_h1 ow_h1;
/* An HTTP/2 client session (nghttp2). */
typedef struct ow_h2 ow_h2;

typedef enum ow_status {
    OW_OK = 0,
    OW_ERR_PROTOCOL = -1,    /* the peer broke the protocol; ow_h1_error_* / ow_h2_last_error say how */
    OW_ERR_ARGUMENT = -16,   /* a NULL object, an unknown stream, a value not allowed */
    OW_ERR_NO_MEMORY = -17   /* the wasm heap could not grow */
} ow_status;

typedef int32_t ow_count;

/* The kinds of event. */
typedef enum ow_event_kind {
    OW_EV_STATUS_TEXT = 1,   /* h1: the reason phrase, as the bytes */
    OW_EV_HEADER = 2,        /* a header (or trailer: flags bit 0): name then value as the bytes, a = the name's length */
    OW_EV_HEADERS_END = 3,   /* h1: a = status, b = (major << 8) | minor. h2: a = nghttp2's category, flags bit 0 = END_STREAM */
    OW_EV_BODY = 4,          /* body bytes: a = offset in the call's buffer, b = length; flags bit 0: copied into the bytes instead */
    OW_EV_MESSAGE_END = 5,   /* the response is complete. h1: a = 1 when the connection may be reused, b = status */
    OW_EV_STREAM_CLOSE = 6,  /* h2: the stream is closed, a = the HTTP/2 error code (0 for none) */
    OW_EV_GOAWAY = 7,        /* h2: a = the last stream id the server will process, b = error code, bytes = debug data */
    OW_EV_SETTINGS = 8       /* h2: the server's SETTINGS arrived, a = its MAX_CONCURRENT_STREAMS */
} ow_event_kind;

/* ------------------------------------------------------------------- core (core.c) */

/* n bytes of the wasm heap (at least one). NULL when the heap cannot grow. */
OW_API OW_OWNED uint8_t *ow_malloc(size_t n);
OW_API void ow_free(void *p);
/* Zeroes n bytes at p. */
OW_API void ow_cleanse(void *p, size_t n);
/* Bytes of the wasm heap in use by malloc, for leak tests. */
OW_API size_t ow_heap_used(void);
/* e.g. "llhttp 9.2.1, nghttp2 1.64.0". */
OW_API OW_BORROWED const char *ow_http_versions(void);

/* ------------------------------------------------------------------- HTTP/1.1 (h1.c) */

/* A response parser; a response whose header section exceeds max_header_bytes is refused. */
OW_API ow_h1 *ow_h1_new(size_t max_header_bytes);
OW_API void ow_h1_free(ow_h1 *p);
/* Before each response: head is 1 when the request was HEAD (the response then has no body). */
OW_API ow_status ow_h1_start(ow_h1 *p, int32_t head);
/*
 * Parses response bytes: how many were consumed. Parsing stops after the final (non-1xx)
 * response is complete, so a count below len means bytes followed it. OW_ERR_PROTOCOL when
 * the bytes are not HTTP.
 */
OW_API ow_count ow_h1_execute(ow_h1 *p, const uint8_t *buf, size_t len);
/* The transport ended: ends a body delimited by the close, fails a response cut short. */
OW_API ow_status ow_h1_finish(ow_h1 *p);
/* llhttp's name for the last failure, e.g. "HPE_INVALID_CONSTANT". */
OW_API OW_BORROWED const char *ow_h1_error_name(ow_h1 *p);
/* Why, e.g. "Expected HTTP/". */
OW_API OW_BORROWED const char *ow_h1_error_reason(ow_h1 *p);
/* The queued events, *len bytes; borrowed until the next call on the parser. */
OW_API OW_BORROWED const uint8_t *ow_h1_events(ow_h1 *p, size_t *len);
OW_API void ow_h1_events_clear(ow_h1 *p);

/* ------------------------------------------------------------------- HTTP/2 (h2.c) */

/*
 * A client session. It queues the connection preface and SETTINGS (no server push; each
 * stream's receive window stream_window; header lists up to max_header_list bytes) and opens
 * the connection's receive window to connection_window. Receive windows reopen only as the
 * caller reports data consumed (ow_h2_consume), so a slow reader holds the server back.
 */
OW_API ow_h2 *ow_h2_new(uint32_t stream_window, uint32_t connection_window, uint32_t max_header_list);
OW_API void ow_h2_free(ow_h2 *s);
/*
 * Submits a request: headers are "name\0value\0" pairs (pseudo-headers first, names in lower
 * case). With has_body, DATA follows as ow_h2_data supplies it. Returns the stream id.
 */
OW_API ow_count ow_h2_request(ow_h2 *s, const uint8_t *headers, size_t len, int32_t has_body);
/* Request body bytes for a stream (copied; sent as flow control allows); end ends the stream. */
OW_API ow_status ow_h2_data(ow_h2 *s, int32_t stream, const uint8_t *buf, size_t len, int32_t end);
/* Bytes given to ow_h2_data for a stream and not yet sent. */
OW_API ow_count ow_h2_data_pending(ow_h2 *s, int32_t stream);
/* Bytes from the server: how many were processed (all, unless OW_ERR_PROTOCOL). */
OW_API ow_count ow_h2_feed(ow_h2 *s, const uint8_t *buf, size_t len);
/* Frames to send, *len bytes (up to 64 KiB; call again while ow_h2_want_write). NULL on failure. */
OW_API OW_BORROWED const uint8_t *ow_h2_output(ow_h2 *s, size_t *len);
/* The caller took n bytes of a stream's body: the windows may reopen (WINDOW_UPDATE). */
OW_API ow_status ow_h2_consume(ow_h2 *s, int32_t stream, size_t n);
/* Resets a stream (RST_STREAM with error_code, e.g. 8 CANCEL). */
OW_API ow_status ow_h2_reset(ow_h2 *s, int32_t stream, uint32_t error_code);
/* Ends the session: GOAWAY with error_code, then nothing more is sent or read. */
OW_API ow_status ow_h2_goaway(ow_h2 *s, uint32_t error_code);
/* 1 while the session wants to read, or has frames to write; 0 once both are over. */
OW_API int32_t ow_h2_want_read(ow_h2 *s);
OW_API int32_t ow_h2_want_write(ow_h2 *s);
/* nghttp2's code for the last failure (a negative NGHTTP2_ERR_*), and its text. */
OW_API int32_t ow_h2_last_error(ow_h2 *s);
OW_API OW_BORROWED const char *ow_h2_strerror(int32_t code);
/* The name of an HTTP/2 error code, e.g. "PROTOCOL_ERROR" for 1. */
OW_API OW_BORROWED const char *ow_h2_error_code_name(uint32_t code);
/* The queued events, *len bytes; borrowed until the next call on the session. */
OW_API OW_BORROWED const uint8_t *ow_h2_events(ow_h2 *s, size_t *len);
OW_API void ow_h2_events_clear(ow_h2 *s);

#endif
