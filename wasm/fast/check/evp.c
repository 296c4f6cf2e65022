/*
 * A test-only driver for wasm/fast/: AEAD seal and open, and plain ciphers, through OpenSSL's
 * EVP interface as the product runs it (the flavor's default provider, this project's AES and
 * GHASH linked in place of OpenSSL's). Linked into wasm/build/fast-check-<flavor>.wasm, never
 * into the package's modules; test/fast.test.js drives it against node:crypto and Wycheproof.
 */
#include <stddef.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* Feeds n bytes to EVP_CipherUpdate in pieces of at most chunk bytes (all at once if 0). */
static int update(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, size_t n,
                  size_t chunk, size_t *written)
{
    size_t done = 0;

    *written = 0;
    while (done < n) {
        size_t take = chunk == 0 || chunk > n - done ? n - done : chunk;
        int outl = 0;

        if (!EVP_CipherUpdate(ctx, out == NULL ? NULL : out + *written, &outl, in + done, (int)take))
            return 0;
        if (out != NULL)
            *written += (size_t)outl;
        done += take;
    }
    return 1;
}

/*
 * Seals (enc = 1) or opens (enc = 0) with the named cipher ("AES-128-GCM", ...). Seal writes
 * the ciphertext to out and taglen bytes of tag to tag; open reads the tag from tag and
 * writes the plaintext to out. AAD and data go in pieces of chunk bytes (0: one piece).
 * Returns 1, or 0 on any failure (for open: a tag that does not verify).
 */
__attribute__((export_name("check_aead")))
int check_aead(int enc, const char *cipher, const unsigned char *key, size_t keylen,
               const unsigned char *iv, size_t ivlen, const unsigned char *aad, size_t aadlen,
               const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag,
               size_t taglen, size_t chunk)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
    size_t written = 0, n;
    int outl = 0, ok = 0;

    if (c == NULL || ctx == NULL || (size_t)EVP_CIPHER_get_key_length(c) != keylen)
        goto end;
    params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen);
    if (!EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, params)
        || !EVP_CipherInit_ex2(ctx, NULL, key, iv, enc, NULL))
        goto end;
    if (!enc) {
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, taglen);
        if (!EVP_CIPHER_CTX_set_params(ctx, params))
            goto end;
    }
    if (!update(ctx, NULL, aad, aadlen, chunk, &n) || !update(ctx, out, in, len, chunk, &written))
        goto end;
    if (!EVP_CipherFinal_ex(ctx, out + written, &outl))
        goto end;
    if (enc) {
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, taglen);
        if (!EVP_CIPHER_CTX_get_params(ctx, params))
            goto end;
    }
    ok = written + (size_t)outl == len;
end:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok;
}

/*
 * Encrypts or decrypts len bytes with a cipher without padding ("AES-128-CBC", "AES-256-CTR",
 * "AES-256-ECB", ...), in pieces of chunk bytes (0: one piece). Returns 1, or 0 on failure.
 */
__attribute__((export_name("check_cipher")))
int check_cipher(int enc, const char *cipher, const unsigned char *key, size_t keylen,
                 const unsigned char *iv, const unsigned char *in, size_t len, unsigned char *out,
                 size_t chunk)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t written = 0;
    int outl = 0, ok = 0;

    if (c == NULL || ctx == NULL || (size_t)EVP_CIPHER_get_key_length(c) != keylen)
        goto end;
    if (!EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL) || !EVP_CIPHER_CTX_set_padding(ctx, 0))
        goto end;
    if (!update(ctx, out, in, len, chunk, &written) || !EVP_CipherFinal_ex(ctx, out + written, &outl))
        goto end;
    ok = written + (size_t)outl == len;
end:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok;
}

__attribute__((export_name("check_malloc")))
void *check_malloc(size_t n)
{
    return OPENSSL_malloc(n == 0 ? 1 : n);
}

__attribute__((export_name("check_free")))
void check_free(void *p)
{
    OPENSSL_free(p);
}
