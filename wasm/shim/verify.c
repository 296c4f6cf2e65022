/*
 * Peer certificates and their verification: the verify callback, the chain the peer sent
 * (kept even when verification fails, so the failure can be explained), the errors
 * verification met in OpenSSL's order, and OpenSSL's own description of a certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* Appends one (depth, error) pair to the connection's list, while there is room. */
static void record_error(ow_conn *conn, int depth, int error)
{
    if (conn->verify_error_count < OW_VERIFY_ERRORS_MAX) {
        conn->verify_errors[2 * conn->verify_error_count] = depth;
        conn->verify_errors[2 * conn->verify_error_count + 1] = error;
        conn->verify_error_count++;
    }
}

/*
 * Keeps what the peer sent, and each error verification meets, so that a failure can be
 * explained (its SANs, peerCertificates(), s_client's report); in report-only mode turns a
 * failure into a recorded result instead of a failed handshake. OpenSSL still stores the
 * last error for SSL_get_verify_result.
 */
int ow_verify_callback(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    ow_conn *conn = ssl == NULL ? NULL : SSL_get_app_data(ssl);

    if (conn == NULL)
        return ok;
    if (conn->sent_chain == NULL && X509_STORE_CTX_get0_untrusted(store) != NULL)
        conn->sent_chain = X509_chain_up_ref(X509_STORE_CTX_get0_untrusted(store));
    if (!ok) {
        int depth = X509_STORE_CTX_get_error_depth(store);

        if (conn->verify_error_depth < 0)
            conn->verify_error_depth = depth;
        record_error(conn, depth, X509_STORE_CTX_get_error(store));
        /*
         * The leaf's issuer is nowhere (the chain is the leaf alone). Verification that goes on
         * (report-only, and node:tls, which always goes on and decides afterwards) next fails
         * the leaf's signature and ends with UNABLE_TO_VERIFY_LEAF_SIGNATURE; stopping here
         * would report UNABLE_TO_GET_ISSUER_CERT_LOCALLY instead. One failure, one code,
         * whatever rejectUnauthorized says: report the one verification ends with.
         */
        if (!conn->ctx->report_only && depth == 0
                && X509_STORE_CTX_get_error(store) == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                && sk_X509_num(X509_STORE_CTX_get0_chain(store)) == 1) {
            X509_STORE_CTX_set_error(store, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
            record_error(conn, 0, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
        }
    }
    return conn->ctx->report_only ? 1 : ok;
}

ow_status ow_conn_set_verify_time(ow_conn *conn, double seconds)
{
    if (conn == NULL || !(seconds >= 0))
        return OW_ERR_ARGUMENT;
    X509_VERIFY_PARAM_set_time(SSL_get0_param(conn->ssl), (time_t)seconds);
    return OW_OK;
}

const int32_t *ow_conn_verify_errors(ow_conn *conn, size_t *count)
{
    if (conn == NULL || count == NULL)
        return NULL;
    *count = conn->verify_error_count;
    return conn->verify_errors;
}

int32_t ow_peer_cert_count(ow_conn *conn)
{
    STACK_OF(X509) *chain;
    int n;

    if (SSL_get0_peer_certificate(conn->ssl) == NULL) {
        /* Verification failed, so OpenSSL kept nothing: what the peer sent, as the callback saw it. */
        return conn->sent_chain == NULL ? 0 : sk_X509_num(conn->sent_chain);
    }
    chain = SSL_get_peer_cert_chain(conn->ssl);
    n = chain == NULL ? 0 : sk_X509_num(chain);
    /* A server's view of the client's chain leaves out the leaf; a client's includes it. */
    return SSL_is_server(conn->ssl) ? n + 1 : (n > 0 ? n : 1);
}

ow_count ow_conn_peer_cert_count(ow_conn *conn)
{
    return conn == NULL ? OW_ERR_ARGUMENT : ow_peer_cert_count(conn);
}

uint8_t *ow_conn_peer_cert(ow_conn *conn, int32_t i, size_t *len)
{
    X509 *x;
    unsigned char *der = NULL;
    int n;

    if (conn == NULL || len == NULL || i < 0 || i >= ow_peer_cert_count(conn))
        return NULL;
    if (SSL_get0_peer_certificate(conn->ssl) == NULL)
        x = sk_X509_value(conn->sent_chain, i);
    else if (i == 0)
        x = SSL_get0_peer_certificate(conn->ssl);
    else
        x = sk_X509_value(SSL_get_peer_cert_chain(conn->ssl), SSL_is_server(conn->ssl) ? i - 1 : i);
    if (x == NULL || (n = i2d_X509(x, &der)) <= 0)
        return NULL;
    *len = (size_t)n;
    return der; /* OpenSSL's malloc is this module's malloc: ow_free frees it */
}

uint8_t *ow_conn_verified_cert(ow_conn *conn, int32_t i, size_t *len)
{
    STACK_OF(X509) *chain;
    X509 *x;
    unsigned char *der = NULL;
    int n;

    if (conn == NULL || len == NULL || i < 0 || (chain = SSL_get0_verified_chain(conn->ssl)) == NULL
            || i >= sk_X509_num(chain) || (x = sk_X509_value(chain, i)) == NULL || (n = i2d_X509(x, &der)) <= 0)
        return NULL;
    *len = (size_t)n;
    return der;
}

char *ow_bio_take_string(BIO *bio)
{
    char *data = NULL, *s = NULL;
    long n = BIO_get_mem_data(bio, &data);

    if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
        memcpy(s, data, (size_t)n);
        s[n] = '\0';
    }
    BIO_free(bio);
    return s;
}

/* ------------------------------------------------------------------- ow_x509_describe */

/*
 * The description is one "name=value" line per fact, in this order (a fact the certificate
 * does not have is left out; names may repeat where noted):
 *   subject=, issuer=       the name as OpenSSL's apps print it (-nameopt's default)
 *   subject.<SN>=, issuer.<SN>=   each attribute, in order (repeats)
 *   serial=                 hexadecimal, upper case
 *   valid_from=, valid_to=  as ASN1_TIME_print: "Jan  1 00:00:00 2030 GMT"
 *   not_before=, not_after= seconds since the epoch
 *   key_type=, key_bits=    "RSA", "EC", "ED25519", ... and the key's size in bits
 *   key_curve=              EC only: the curve's short name, e.g. "prime256v1"
 *   modulus=, exponent=     RSA only: hexadecimal, upper case; "0x10001"
 *   pubkey=                 the SubjectPublicKeyInfo as hexadecimal
 *   sig_alg=                the signature algorithm's long name, e.g. "ecdsa-with-SHA256"
 *   ca=                     1 when basicConstraints says CA:TRUE
 *   san=                    subjectAltName as OpenSSL prints it: "DNS:localhost, IP Address:127.0.0.1"
 *   info_access=            authorityInfoAccess, one "method - URI:..." per line (repeats)
 *   ext_key_usage=          each extended key usage OID, dotted (repeats)
 *   fingerprint=, fingerprint256=, fingerprint512=   SHA-1/256/512 of the DER, "AB:CD:..."
 * A value never holds a newline: control characters are escaped as OpenSSL escapes them.
 */

#define NAME_FLAGS (XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_ESC_CTRL \
                    | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_DUMP_UNKNOWN | ASN1_STRFLGS_DUMP_DER)
#define VALUE_FLAGS (ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_DUMP_UNKNOWN \
                     | ASN1_STRFLGS_DUMP_DER)

static int put_name(BIO *out, const char *label, const X509_NAME *name)
{
    int i;

    if (BIO_printf(out, "%s=", label) <= 0 || X509_NAME_print_ex(out, name, 0, NAME_FLAGS) < 0
        || BIO_puts(out, "\n") <= 0)
        return 0;
    for (i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        char oid[80];
        const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;

        if (sn == NULL) {
            if (OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1) <= 0)
                return 0;
            sn = oid;
        }
        if (BIO_printf(out, "%s.%s=", label, sn) <= 0
            || ASN1_STRING_print_ex(out, X509_NAME_ENTRY_get_data(e), VALUE_FLAGS) < 0
            || BIO_puts(out, "\n") <= 0)
            return 0;
    }
    return 1;
}

static int put_hex(BIO *out, const char *label, const unsigned char *b, size_t n, int colons)
{
    size_t i;

    if (BIO_printf(out, "%s=", label) <= 0)
        return 0;
    for (i = 0; i < n; i++)
        if (BIO_printf(out, colons && i > 0 ? ":%02X" : "%02X", b[i]) <= 0)
            return 0;
    return BIO_puts(out, "\n") > 0;
}

static int put_bn(BIO *out, const char *label, const BIGNUM *bn)
{
    char *hex = bn == NULL ? NULL : BN_bn2hex(bn);
    int ok = hex != NULL && BIO_printf(out, "%s=%s\n", label, hex) > 0;

    OPENSSL_free(hex);
    return ok;
}

static int put_time(BIO *out, const char *text_label, const char *seconds_label, const ASN1_TIME *t)
{
    struct tm tm;
    const ASN1_TIME *epoch;
    int days = 0, secs = 0;
    ASN1_TIME *zero;
    int ok;

    if (BIO_printf(out, "%s=", text_label) <= 0 || !ASN1_TIME_print(out, t) || BIO_puts(out, "\n") <= 0)
        return 0;
    if (!ASN1_TIME_to_tm(t, &tm))
        return 0;
    /* Seconds since the epoch: the difference from 1970-01-01, which OpenSSL computes in days. */
    if ((zero = ASN1_TIME_set(NULL, 0)) == NULL)
        return 0;
    epoch = zero;
    /* Integer arithmetic: BIO_printf's %f refuses values past ULONG_MAX, 2106 in wasm32. */
    ok = ASN1_TIME_diff(&days, &secs, epoch, t)
         && BIO_printf(out, "%s=%lld\n", seconds_label, (long long)days * 86400 + secs) > 0;
    ASN1_TIME_free(zero);
    return ok;
}

static int put_digest(BIO *out, const char *label, X509 *x, const EVP_MD *md)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    /* A digest the flavor does not have (none today) is left out rather than failing. */
    if (md == NULL)
        return 1;
    return X509_digest(x, md, buf, &n) && put_hex(out, label, buf, n, 1);
}

static int put_key(BIO *out, X509 *x)
{
    EVP_PKEY *key = X509_get0_pubkey(x);
    unsigned char *spki = NULL;
    char curve[64];
    BIGNUM *n = NULL, *e = NULL;
    int len, ok;

    if (key == NULL)
        return BIO_puts(out, "key_type=unknown\n") > 0;
    if (BIO_printf(out, "key_type=%s\nkey_bits=%d\n", EVP_PKEY_get0_type_name(key) != NULL
                   ? EVP_PKEY_get0_type_name(key) : "unknown", EVP_PKEY_get_bits(key)) <= 0)
        return 0;
    if (EVP_PKEY_is_a(key, "EC")
        && EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), NULL)) {
        int nid = OBJ_sn2nid(curve);

        if (nid == NID_undef)
            nid = EC_curve_nist2nid(curve);
        if (BIO_printf(out, "key_curve=%s\n", nid != NID_undef ? OBJ_nid2sn(nid) : curve) <= 0)
            return 0;
    }
    if (EVP_PKEY_is_a(key, "RSA")) {
        ok = EVP_PKEY_get_bn_param(key, "n", &n) && EVP_PKEY_get_bn_param(key, "e", &e)
             && put_bn(out, "modulus", n) && BIO_printf(out, "exponent=0x") > 0
             && BN_print(out, e) && BIO_puts(out, "\n") > 0;
        BN_free(n);
        BN_free(e);
        if (!ok)
            return 0;
    }
    if ((len = i2d_PUBKEY(key, &spki)) <= 0)
        return 0;
    ok = put_hex(out, "pubkey", spki, (size_t)len, 0);
    OPENSSL_free(spki);
    return ok;
}

static int put_extensions(BIO *out, X509 *x)
{
    int idx, i;
    X509_EXTENSION *ext;
    BASIC_CONSTRAINTS *bc;
    EXTENDED_KEY_USAGE *eku;
    AUTHORITY_INFO_ACCESS *aia;

    if ((bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL)) != NULL) {
        int ca = bc->ca != 0;

        BASIC_CONSTRAINTS_free(bc);
        if (BIO_printf(out, "ca=%d\n", ca) <= 0)
            return 0;
    }
    if ((idx = X509_get_ext_by_NID(x, NID_subject_alt_name, -1)) >= 0
        && (ext = X509_get_ext(x, idx)) != NULL) {
        if (BIO_puts(out, "san=") <= 0 || !X509V3_EXT_print(out, ext, 0, 0) || BIO_puts(out, "\n") <= 0)
            return 0;
    }
    if ((aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL)) != NULL) {
        int ok = 1;

        for (i = 0; ok && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
            ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
            char method[80];

            ok = OBJ_obj2txt(method, sizeof(method), ad->method, 0) > 0
                 && BIO_printf(out, "info_access=%s - ", method) > 0
                 && GENERAL_NAME_print(out, ad->location) && BIO_puts(out, "\n") > 0;
        }
        AUTHORITY_INFO_ACCESS_free(aia);
        if (!ok)
            return 0;
    }
    if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL)) != NULL) {
        int ok = 1;

        for (i = 0; ok && i < sk_ASN1_OBJECT_num(eku); i++) {
            char oid[80];

            ok = OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i), 1) > 0
                 && BIO_printf(out, "ext_key_usage=%s\n", oid) > 0;
        }
        EXTENDED_KEY_USAGE_free(eku);
        if (!ok)
            return 0;
    }
    return 1;
}

/* A part of the description that failed is named on the error queue, for the host's message. */
static int part(int ok, const char *what)
{
    if (!ok)
        ERR_raise_data(ERR_LIB_X509, ERR_R_X509_LIB, "cannot describe the certificate's %s", what);
    return ok;
}

char *ow_x509_describe(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;
    BIO *out;
    const ASN1_INTEGER *serial;
    BIGNUM *sn;
    int ok;

    if (der == NULL || len == 0 || len > INT32_MAX)
        return NULL;
    if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
        return NULL;
    if (p != der + len || (out = BIO_new(BIO_s_mem())) == NULL) {
        if (p != der + len)
            ERR_raise_data(ERR_LIB_X509, ERR_R_PASSED_INVALID_ARGUMENT, "trailing bytes after a DER certificate");
        X509_free(x);
        return NULL;
    }
    serial = X509_get0_serialNumber(x);
    sn = serial == NULL ? NULL : ASN1_INTEGER_to_BN(serial, NULL);
    ok = part(put_name(out, "subject", X509_get_subject_name(x)), "subject")
         && part(put_name(out, "issuer", X509_get_issuer_name(x)), "issuer")
         && part(put_bn(out, "serial", sn), "serial number")
         && part(put_time(out, "valid_from", "not_before", X509_get0_notBefore(x)), "notBefore")
         && part(put_time(out, "valid_to", "not_after", X509_get0_notAfter(x)), "notAfter")
         && part(put_key(out, x), "public key")
         && part(BIO_printf(out, "sig_alg=%s\n", OBJ_nid2ln(X509_get_signature_nid(x)) != NULL
                            ? OBJ_nid2ln(X509_get_signature_nid(x)) : "unknown") > 0, "signature algorithm")
         && part(put_extensions(out, x), "extensions")
         && part(put_digest(out, "fingerprint", x, EVP_sha1()), "SHA-1 fingerprint")
         && part(put_digest(out, "fingerprint256", x, EVP_sha256()), "SHA-256 fingerprint")
         && part(put_digest(out, "fingerprint512", x, EVP_sha512()), "SHA-512 fingerprint");
    BN_free(sn);
    X509_free(x);
    if (!ok) {
        BIO_free(out);
        return NULL;
    }
    return ow_bio_take_string(out);
}
