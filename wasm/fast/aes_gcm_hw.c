/*
 * AES-GCM for the default provider, on this project's AES (aes.c) and GHASH (ghash.c).
 *
 * What it replaces. OpenSSL's providers/implementations/ciphers/cipher_aes_gcm_hw.c, whose
 * only non-static symbol is ossl_prov_aes_hw_gcm: the table of functions the provider's
 * AES-GCM (cipher_aes_gcm.c, both flavors, every TLS 1.2 and 1.3 AES-GCM suite) calls to set
 * a key and to encrypt or decrypt. This object defines that symbol and is linked before
 * libcrypto.a, so the archive member is never pulled in (see chacha20.c).
 *
 * Why this seam. AES itself is replaced underneath all of OpenSSL by aes.c (aes_core.c's four
 * functions). GCM needs two more things, and both are set when a key is set, here:
 *   - the counter-mode function (ctx->ctr). OpenSSL's generic table leaves it NULL in a
 *     build without assembly, so GCM encrypts one block at a time through AES_encrypt;
 *     ow_aes_ctr32_encrypt_blocks runs eight blocks side by side.
 *   - GHASH. gcm128.c picks its multiplication in CRYPTO_gcm128_init (a static function, for
 *     the processor's carry-less multiply or, here, its 4-bit tables) and calls it through
 *     the three pointers in GCM128_CONTEXT.funcs. Setting those pointers after
 *     CRYPTO_gcm128_init, and H's form in Htable with them, is the one place GHASH can be
 *     changed without replacing gcm128.c (thirteen functions) as a whole.
 * The rest of the table is OpenSSL's own generic functions (ciphercommon_gcm_hw.c), and the
 * GCM bookkeeping (IVs, partial blocks, lengths, the tag and its constant-time check) stays
 * gcm128.c's.
 *
 * Secrets: the AES round keys and H's form live in the provider's context (ks and gcm.Htable),
 * which cipher_aes_gcm.c frees with OPENSSL_clear_free, as before.
 */
#include "internal/deprecated.h" /* the AES_KEY functions, as OpenSSL's own file does */
#include "providers/implementations/ciphers/cipher_aes_gcm.h"

void ow_aes_ctr32_encrypt_blocks(const unsigned char *in, unsigned char *out, size_t blocks,
                                 const void *key, const unsigned char ivec[16]);
void ow_gcm_init(u128 Htable[16], const u64 H[2]);
void ow_gcm_gmult(u64 Xi[2], const u128 Htable[16]);
void ow_gcm_ghash(u64 Xi[2], const u128 Htable[16], const u8 *inp, size_t len);

static int aes_gcm_initkey(PROV_GCM_CTX *ctx, const unsigned char *key, size_t keylen)
{
    PROV_AES_GCM_CTX *actx = (PROV_AES_GCM_CTX *)ctx;
    AES_KEY *ks = &actx->ks.ks;

    if (AES_set_encrypt_key(key, (int)(keylen * 8), ks) != 0)
        return 0;
    CRYPTO_gcm128_init(&ctx->gcm, ks, (block128_f)AES_encrypt);
    ctx->gcm.funcs.ginit = ow_gcm_init;
    ctx->gcm.funcs.gmult = ow_gcm_gmult;
    ctx->gcm.funcs.ghash = ow_gcm_ghash;
    ow_gcm_init(ctx->gcm.Htable, ctx->gcm.H.u); /* over the 4-bit table CRYPTO_gcm128_init made */
    ctx->ctr = (ctr128_f)ow_aes_ctr32_encrypt_blocks;
    ctx->key_set = 1;
    return 1;
}

static int aes_gcm_cipher_update(PROV_GCM_CTX *ctx, const unsigned char *in, size_t len,
                                 unsigned char *out)
{
    if (ctx->enc)
        return CRYPTO_gcm128_encrypt_ctr32(&ctx->gcm, in, out, len, ctx->ctr) == 0;
    return CRYPTO_gcm128_decrypt_ctr32(&ctx->gcm, in, out, len, ctx->ctr) == 0;
}

static const PROV_GCM_HW aes_gcm = {
    aes_gcm_initkey,
    ossl_gcm_setiv,
    ossl_gcm_aad_update,
    aes_gcm_cipher_update,
    ossl_gcm_cipher_final,
    ossl_gcm_one_shot
};

const PROV_GCM_HW *ossl_prov_aes_hw_gcm(size_t keybits)
{
    return &aes_gcm;
}
