/*
 * Memory, start-up, versions and the error queue. The ABI and its conventions are in
 * ../abi.h; what the shim's files share is in internal.h.
 */
#include <malloc.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "internal.h"

uint8_t *ow_malloc(size_t n) { return malloc(n == 0 ? 1 : n); }

void ow_free(void *p) { free(p); }

void ow_cleanse(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}

size_t ow_heap_used(void)
{
    struct mallinfo mi = mallinfo();
    return (size_t)mi.uordblks;
}

/*
 * Names for EVP_get_digestbyname/nid and EVP_get_cipherbyname, which X.509 (the security
 * level's digest check) and traditional encrypted PEM keys ("DEK-Info: AES-128-CBC,...") still
 * use. OpenSSL registers every algorithm it has at start-up unless built no-autoalginit, as
 * the small flavor is, which keeps those tables out of the module; these are the ones needed.
 */
static int register_legacy_names(void)
{
#ifdef OPENSSL_NO_AUTOALGINIT
    const EVP_MD *mds[] = { EVP_md5(), EVP_sha1(), EVP_sha224(), EVP_sha256(), EVP_sha384(),
                            EVP_sha512(), EVP_sha512_224(), EVP_sha512_256(), EVP_sha3_224(),
                            EVP_sha3_256(), EVP_sha3_384(), EVP_sha3_512() };
    const EVP_CIPHER *ciphers[] = { EVP_aes_128_cbc(), EVP_aes_192_cbc(), EVP_aes_256_cbc(),
                                    EVP_aes_128_gcm(), EVP_aes_256_gcm(),
                                    EVP_chacha20_poly1305() };
    size_t i;

    for (i = 0; i < sizeof(mds) / sizeof(mds[0]); i++)
        if (mds[i] == NULL || !EVP_add_digest(mds[i]))
            return 0;
    for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
        if (ciphers[i] == NULL || !EVP_add_cipher(ciphers[i]))
            return 0;
#endif
    return 1; /* otherwise OpenSSL registered them all at start-up */
}

ow_status ow_init(void)
{
    static int initialized;

    if (initialized)
        return OW_OK;
    if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) || !register_legacy_names()
        || !ow_entropy_install())
        return OW_ERR_OPENSSL;
    initialized = 1;
    return OW_OK;
}

const char *ow_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

#ifndef OW_FLAVOR
#error "OW_FLAVOR (the build flavor's name, see wasm/flavors/) must be defined"
#endif
const char *ow_flavor(void) { return OW_FLAVOR; }

uint32_t ow_err_get(const char **lib, const char **reason, const char **data)
{
    const char *d = NULL;
    int flags = 0;
    unsigned long code = ERR_get_error_all(NULL, NULL, NULL, &d, &flags);

    if (code == 0)
        return 0; /* nothing written: out-parameters are written only on success */
    if (lib != NULL)
        *lib = ERR_lib_error_string(code);
    if (reason != NULL)
        *reason = ERR_reason_error_string(code);
    if (data != NULL)
        *data = (d != NULL && (flags & ERR_TXT_STRING) && d[0] != '\0') ? d : NULL;
    return (uint32_t)code;
}

void ow_err_clear(void) { ERR_clear_error(); }

const char *ow_verify_error_string(int32_t result) { return X509_verify_cert_error_string(result); }
