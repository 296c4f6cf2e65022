/*
 * Trust stores, and the certificate parsing that contexts share with them. A store made here
 * is shared by many contexts (the bundled root certificates are parsed once per instance, not
 * once per connection); a context's own CAs go into the store it was born with.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "internal.h"

int ow_is_pem(const uint8_t *buf, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    size_t i = 0;

    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return len - i >= sizeof(tag) - 1 && memcmp(buf + i, tag, sizeof(tag) - 1) == 0;
}

STACK_OF(X509) *ow_parse_certs(const uint8_t *buf, size_t len)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x = NULL;

    if (certs == NULL || buf == NULL || len == 0 || len > INT32_MAX)
        goto fail;
    if (ow_is_pem(buf, len)) {
        BIO *in = BIO_new_mem_buf(buf, (int)len);

        if (in == NULL)
            goto fail;
        while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
            if (!sk_X509_push(certs, x)) {
                BIO_free(in);
                goto fail;
            }
        }
        BIO_free(in);
        /* The loop ends on "no start line" at the end of the text: expected, not an error. */
        if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE
            && sk_X509_num(certs) > 0)
            ERR_clear_error();
        else
            goto fail;
    } else {
        const unsigned char *p = buf;

        x = d2i_X509(NULL, &p, (long)len);
        if (x == NULL)
            goto fail;
        if (p != buf + len) {
            ERR_raise_data(ERR_LIB_X509, ERR_R_PASSED_INVALID_ARGUMENT,
                           "trailing bytes after a DER certificate");
            goto fail;
        }
        if (!sk_X509_push(certs, x))
            goto fail;
    }
    return certs;
fail:
    X509_free(x);
    OSSL_STACK_OF_X509_free(certs);
    return NULL;
}

ow_count ow_store_add_certs(X509_STORE *store, const uint8_t *buf, size_t len)
{
    STACK_OF(X509) *certs;
    int i, n;

    if (store == NULL)
        return OW_ERR_ARGUMENT;
    if ((certs = ow_parse_certs(buf, len)) == NULL)
        return OW_ERR_OPENSSL;
    n = sk_X509_num(certs);
    for (i = 0; i < n; i++) {
        if (!X509_STORE_add_cert(store, sk_X509_value(certs, i))) {
            n = OW_ERR_OPENSSL;
            break;
        }
    }
    OSSL_STACK_OF_X509_free(certs);
    return n;
}

ow_store *ow_store_new(void) { return X509_STORE_new(); }

void ow_store_free(ow_store *store) { X509_STORE_free(store); }

ow_count ow_store_add(ow_store *store, const uint8_t *buf, size_t len)
{
    return ow_store_add_certs(store, buf, len);
}
