/*
 * A test PKI made with libcrypto inside the module: keys of the chosen type, and certificates
 * with chosen names, validity, SANs, key usage and extended key usage, signed by a chosen
 * issuer. For tests: no openssl CLI needed, and the results work with node:tls too. Linked
 * only into the testing module (openssl-testing.wasm), never into the production ones.
 * The ABI and its conventions are in ../abi.h.
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

#include "../abi.h"

/*
 * A new key: type "RSA" (bits), "EC" (curve: "P-256", "P-384"), "ED25519", "ED448", or an
 * ML-DSA parameter set ("ML-DSA-44", "ML-DSA-65", "ML-DSA-87"). NULL with the error queue set.
 */
ow_key *ow_key_generate(const char *type, const char *curve, int32_t bits)
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

void ow_key_free(ow_key *key) { EVP_PKEY_free(key); }

uint8_t *ow_key_export_der(ow_key *key, size_t *len)
{
    PKCS8_PRIV_KEY_INFO *p8 = key == NULL || len == NULL ? NULL : EVP_PKEY2PKCS8(key);
    unsigned char *der = NULL;
    int n = p8 == NULL ? 0 : i2d_PKCS8_PRIV_KEY_INFO(p8, &der);

    PKCS8_PRIV_KEY_INFO_free(p8);
    if (n <= 0)
        return NULL;
    *len = (size_t)n;
    return der;
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
ow_x509 *ow_cert_issue(ow_key *key, const char *subject, ow_x509 *issuer, ow_key *issuer_key,
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

void ow_cert_free(ow_x509 *x) { X509_free(x); }

uint8_t *ow_cert_export_der(ow_x509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n = x == NULL || len == NULL ? 0 : i2d_X509(x, &der);

    if (n <= 0)
        return NULL;
    *len = (size_t)n;
    return der;
}
