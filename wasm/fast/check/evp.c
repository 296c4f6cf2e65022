/*
 * A test-only driver for wasm/fast/: AEAD seal and open, and plain ciphers, through OpenSSL's
 * EVP interface as the product runs it (the flavor's default provider, this project's AES and
 * GHASH linked in place of OpenSSL's); and P-256 (this project's p256.c) through EC_POINT_mul
 * and EVP's ECDSA and ECDH. Linked into wasm/build/fast-check-<flavor>.wasm, never into the
 * package's modules; test/fast.test.js drives it against node:crypto and Wycheproof.
 */
#include <stddef.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/x509.h>

int ow_entropy_install(void); /* wasm/shim/entropy.c */

/* The host's random_get becomes the DRBG's seed, as in the product. Returns 1. */
__attribute__((export_name("check_init")))
int check_init(void)
{
    return ow_entropy_install();
}

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

/*
 * P-256 through EC_POINT_mul: out = g * G + p * P, for big-endian scalars of any length (0 for
 * none) and P uncompressed (65 bytes) or NULL. Returns 1 with out (65 bytes, uncompressed), 2
 * when the result is the point at infinity, 0 on failure.
 */
__attribute__((export_name("check_ec_mul")))
int check_ec_mul(const unsigned char *g, size_t glen, const unsigned char *point, const unsigned char *p,
                 size_t plen, unsigned char *out)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pt = NULL, *r = NULL;
    BIGNUM *gs = NULL, *ps = NULL;
    int ok = 0;

    if (group == NULL || (r = EC_POINT_new(group)) == NULL)
        goto end;
    if (glen > 0 && (gs = BN_bin2bn(g, (int)glen, NULL)) == NULL)
        goto end;
    if (point != NULL) {
        if ((pt = EC_POINT_new(group)) == NULL || !EC_POINT_oct2point(group, pt, point, 65, NULL)
            || (ps = BN_bin2bn(p, (int)plen, NULL)) == NULL)
            goto end;
    }
    if (!EC_POINT_mul(group, r, gs, pt, ps, NULL))
        goto end;
    if (EC_POINT_is_at_infinity(group, r))
        ok = 2;
    else
        ok = EC_POINT_point2oct(group, r, POINT_CONVERSION_UNCOMPRESSED, out, 65, NULL) == 65;
end:
    BN_free(gs);
    BN_free(ps);
    EC_POINT_free(pt);
    EC_POINT_free(r);
    EC_GROUP_free(group);
    return ok;
}

/* Verifies a DER ECDSA signature over msg (SHA-256) with a DER SubjectPublicKeyInfo: 1 valid, 0 not. */
__attribute__((export_name("check_ecdsa_verify")))
int check_ecdsa_verify(const unsigned char *spki, size_t spkilen, const unsigned char *sig, size_t siglen,
                       const unsigned char *msg, size_t msglen)
{
    const unsigned char *q = spki;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &q, (long)spkilen);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = key != NULL && md != NULL && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) == 1
        && EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;

    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return ok;
}

/*
 * Signs msg (SHA-256) with a DER PKCS#8 key into sig (72 bytes at most), with RFC 6979's
 * deterministic nonce when deterministic is 1. Returns the signature's length, or 0.
 */
__attribute__((export_name("check_ecdsa_sign")))
int check_ecdsa_sign(const unsigned char *pkcs8, size_t len, const unsigned char *msg, size_t msglen,
                     int deterministic, unsigned char *sig)
{
    const unsigned char *q = pkcs8;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &q, (long)len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned int nonce = 1;
    OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
    size_t siglen = 72;
    int ok = key != NULL && md != NULL && EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) == 1;

    if (ok && deterministic) {
        params[0] = OSSL_PARAM_construct_uint(OSSL_SIGNATURE_PARAM_NONCE_TYPE, &nonce);
        ok = EVP_PKEY_CTX_set_params(pctx, params) == 1;
    }
    ok = ok && EVP_DigestSign(md, sig, &siglen, msg, msglen) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return ok ? (int)siglen : 0;
}

/* ECDH: the shared secret (32 bytes) of a DER PKCS#8 key and a DER SubjectPublicKeyInfo. Returns 1, or 0. */
__attribute__((export_name("check_ecdh")))
int check_ecdh(const unsigned char *pkcs8, size_t len, const unsigned char *spki, size_t spkilen, unsigned char *out)
{
    const unsigned char *q = pkcs8, *s = spki;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &q, (long)len), *peer = d2i_PUBKEY(NULL, &s, (long)spkilen);
    EVP_PKEY_CTX *ctx = key != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
    size_t outlen = 32;
    int ok = ctx != NULL && peer != NULL && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1
        && EVP_PKEY_derive(ctx, out, &outlen) == 1 && outlen == 32;

    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    EVP_PKEY_free(peer);
    return ok;
}

/* Generates a P-256 key and writes it as DER (i2d_PrivateKey: PKCS#8, with the public key; at most 200 bytes). Returns the length, or 0. */
__attribute__((export_name("check_ec_keygen")))
int check_ec_keygen(unsigned char *out)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    int len = key != NULL ? i2d_PrivateKey(key, NULL) : 0;
    unsigned char *p = out;

    if (len <= 0 || len > 200 || i2d_PrivateKey(key, &p) != len)
        len = 0;
    EVP_PKEY_free(key);
    return len;
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
