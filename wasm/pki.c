/*
 * A test PKI made with libcrypto inside the module: keys of the chosen type, and certificates
 * with chosen names, validity, SANs, key usage and extended key usage, signed by a chosen
 * issuer. For tests: no openssl CLI needed, and the results work with node:tls too.
 * Conventions are shim.h's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "shim.h"

/*
 * A new key: type "RSA" (bits), "EC" (curve: "P-256", "P-384"), "ED25519", "ED448", or an
 * ML-DSA parameter set ("ML-DSA-44", "ML-DSA-65", "ML-DSA-87"). NULL with the error queue set.
 */
OW_API EVP_PKEY *ow_key_generate(const char *type, const char *curve, int bits)
{
    if (type == NULL)
        return NULL;
    if (strcmp(type, "RSA") == 0) {
        if (bits < 1024 || bits > 8192) {
            ERR_raise_data(ERR_LIB_RSA, ERR_R_PASSED_INVALID_ARGUMENT, "RSA bits must be 1024 to 8192");
            return NULL;
        }
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    }
    if (strcmp(type, "EC") == 0)
        return curve == NULL ? NULL : EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    return EVP_PKEY_Q_keygen(NULL, NULL, type);
}

OW_API void ow_key_free(EVP_PKEY *key) { EVP_PKEY_free(key); }

static char *bio_take(BIO *bio, size_t *len)
{
    char *data = NULL, *out = NULL;
    long n = BIO_get_mem_data(bio, &data);

    if (n >= 0 && (out = malloc((size_t)n + 1)) != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        if (len != NULL)
            *len = (size_t)n;
    }
    BIO_free(bio);
    return out;
}

/* Owned: the private key as PKCS#8, PEM (der = 0, NUL-terminated) or DER (der = 1); *len set. */
OW_API char *ow_key_export(EVP_PKEY *key, int der, size_t *len)
{
    BIO *bio = key == NULL ? NULL : BIO_new(BIO_s_mem());
    int ok;

    if (bio == NULL)
        return NULL;
    ok = der ? i2d_PKCS8PrivateKey_bio(bio, key, NULL, NULL, 0, NULL, NULL)
             : PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    if (!ok) {
        BIO_free(bio);
        return NULL;
    }
    return bio_take(bio, len);
}

/* SHA-256 for RSA and P-256, SHA-384 for P-384; none for algorithms that hash internally. */
static const EVP_MD *digest_for(EVP_PKEY *key)
{
    if (EVP_PKEY_is_a(key, "RSA"))
        return EVP_sha256();
    if (EVP_PKEY_is_a(key, "EC"))
        return EVP_PKEY_get_bits(key) > 256 ? EVP_sha384() : EVP_sha256();
    return NULL;
}

/* Lines "KEY=value" (newline-separated) into a name, in order. */
static int name_from_lines(X509_NAME *name, const char *lines)
{
    char *copy = OPENSSL_strdup(lines), *line, *next;
    int ok = copy != NULL;

    for (line = copy; ok && line != NULL && *line != '\0'; line = next) {
        char *eq;

        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        if ((eq = strchr(line, '=')) == NULL) {
            ERR_raise_data(ERR_LIB_X509, ERR_R_PASSED_INVALID_ARGUMENT, "name entry without '=': %s", line);
            ok = 0;
            break;
        }
        *eq = '\0';
        ok = X509_NAME_add_entry_by_txt(name, line, MBSTRING_UTF8, (unsigned char *)eq + 1, -1, -1, 0);
    }
    OPENSSL_free(copy);
    return ok;
}

/*
 * Issues a certificate for `key` named by `subject` ("CN=x\nO=y"), valid from not_before to
 * not_after (seconds since the epoch). `issuer`/`issuer_key` sign it; both NULL makes it
 * self-signed. `exts` holds extension lines in OpenSSL's config syntax ("name=value"), e.g.
 * "basicConstraints=critical,CA:TRUE" or "subjectAltName=DNS:localhost,IP:127.0.0.1".
 */
OW_API X509 *ow_cert_issue(EVP_PKEY *key, const char *subject, X509 *issuer, EVP_PKEY *issuer_key,
                           double not_before, double not_after, const char *exts)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    BIGNUM *serial = BN_new();
    EVP_PKEY *signer = issuer_key != NULL ? issuer_key : key;
    char *copy = NULL, *line, *next;
    int ok = 0;

    if (x == NULL || serial == NULL || key == NULL || subject == NULL || (issuer == NULL) != (issuer_key == NULL))
        goto done;
    if (!X509_set_version(x, X509_VERSION_3)
        || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)
        || BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL
        || !name_from_lines(X509_get_subject_name(x), subject)
        || !X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : X509_get_subject_name(x))
        || ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) == NULL
        || ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL
        || !X509_set_pubkey(x, key))
        goto done;
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    if (exts != NULL && (copy = OPENSSL_strdup(exts)) == NULL)
        goto done;
    for (line = copy; line != NULL && *line != '\0'; line = next) {
        X509_EXTENSION *ext;
        char *eq;

        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        if ((eq = strchr(line, '=')) == NULL) {
            ERR_raise_data(ERR_LIB_X509V3, ERR_R_PASSED_INVALID_ARGUMENT, "extension without '=': %s", line);
            goto done;
        }
        *eq = '\0';
        if ((ext = X509V3_EXT_conf(NULL, &v3, line, eq + 1)) == NULL)
            goto done;
        ok = X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        if (!ok)
            goto done;
        ok = 0;
    }
    if (X509_sign(x, signer, digest_for(signer)) <= 0)
        goto done;
    ok = 1;
done:
    OPENSSL_free(copy);
    BN_free(serial);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

OW_API void ow_cert_free(X509 *x) { X509_free(x); }

/* Owned: the certificate as PEM (der = 0, NUL-terminated) or DER (der = 1); *len set. */
OW_API char *ow_cert_export(X509 *x, int der, size_t *len)
{
    BIO *bio = x == NULL ? NULL : BIO_new(BIO_s_mem());

    if (bio == NULL)
        return NULL;
    if (!(der ? i2d_X509_bio(bio, x) : PEM_write_bio_X509(bio, x))) {
        BIO_free(bio);
        return NULL;
    }
    return bio_take(bio, len);
}
