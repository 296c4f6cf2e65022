/*
 * What the shim's files share and the ABI does not show: the objects behind ow_ctx and
 * ow_conn, and the helpers more than one file uses (each defined once, in the file named).
 */
#ifndef OPENSSL_WASM_INTERNAL_H
#define OPENSSL_WASM_INTERNAL_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../abi.h"
#include "pipe.h"

struct ow_ctx {
    SSL_CTX *ctx;
    int refs;            /* the host's reference plus one per live connection */
    int server;
    int report_only;     /* verify and record the result, but never fail the handshake on it */
    X509 *leaf;          /* the certificate set last, so the key can be checked against it */
    unsigned char *alpn; /* server: the protocols it accepts, in ALPN wire format; owned */
    unsigned int alpn_len;
};

/* How many (depth, error) pairs a connection keeps of what verification met. */
#define OW_VERIFY_ERRORS_MAX 16

struct ow_conn {
    SSL *ssl;
    ow_ctx *ctx;        /* holds a reference */
    ow_pipe pipe;       /* ciphertext both ways; the SSL's BIO reads and writes it */
    int alert_sent;     /* last alert sent: (level << 8) | description, or -1 */
    int alert_received; /* last alert received, likewise */
    STACK_OF(X509) *sent_chain; /* what the peer sent (leaf first), as verification saw it:
                                   kept even when it failed and OpenSSL keeps nothing */
    int sessions;       /* client: how many resumable sessions (tickets) have arrived */
    int verify_error_depth; /* where in the chain verification first failed, or -1 */
    int32_t verify_errors[2 * OW_VERIFY_ERRORS_MAX]; /* (depth, error) pairs, in order */
    size_t verify_error_count;
    int keylog;            /* this connection asked for key-log lines */
    unsigned char *events; /* queued trace and key-log events (events.c); owned */
    size_t events_len, events_cap;
};

/* core.c: drops one reference to a context, freeing it with the last. */
void ow_ctx_release(ow_ctx *ctx);

/* store.c: one DER certificate, or every certificate of a PEM text, into a new stack; NULL
 * with the error queue set. And whether bytes are PEM text rather than DER. */
STACK_OF(X509) *ow_parse_certs(const uint8_t *buf, size_t len);
int ow_is_pem(const uint8_t *buf, size_t len);
/* store.c: adds every certificate in buf to store: how many, or a status. */
ow_count ow_store_add_certs(X509_STORE *store, const uint8_t *buf, size_t len);

/* connection.c: the callbacks a connection's SSL is given, defined where their state lives. */
int ow_verify_callback(int ok, X509_STORE_CTX *store);            /* verify.c */
int ow_new_session_callback(SSL *ssl, SSL_SESSION *sess);         /* session.c */
void ow_info_callback(const SSL *ssl, int where, int ret);        /* events.c */
/* events.c: wipes and frees the event queue. */
void ow_events_free(ow_conn *conn);

/* verify.c: how many certificates the peer sent, also after a failed verification. */
int32_t ow_peer_cert_count(ow_conn *conn);
/* verify.c: an owned, NUL-terminated copy of a memory BIO's contents; frees the BIO. */
char *ow_bio_take_string(BIO *bio);

/* entropy.c: installs the host entropy seed source, with the default provider, in the default
 * library context, or in another one (make kat runs OpenSSL's tests in their own, as OpenSSL
 * does: wasm/kat/kat.c). Returns 1, or 0 with the error queue set. */
int ow_entropy_install(void);
int ow_entropy_install_in(OSSL_LIB_CTX *libctx);

#endif
