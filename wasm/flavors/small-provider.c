/*
 * The "small" flavor's default provider: a replacement for OpenSSL's providers/defltprov.c
 * that offers only what a TLS 1.2/1.3 client or server needs. Linked into the small flavor
 * only (wasm/flavors/small.mk); the full flavor keeps OpenSSL's own.
 *
 * Why: defltprov.c's algorithm tables point at the dispatch table of every implementation,
 * so every algorithm is linked whether anything fetches it or not. This file defines
 * ossl_default_provider_init itself and is given to the linker before libcrypto.a, so the
 * archive member that also defines it (libdefault-lib-defltprov.o) is never pulled in, and
 * only the implementations named below are linked.
 *
 * Kept (what libssl, X.509 verification, key loading and the test PKI in wasm/pki.c fetch):
 *   digests     SHA-1, SHA-2 (224 to 512, 512/224, 512/256), SHA-3 and SHAKE (ML-KEM), MD5
 *               (EVP_BytesToKey for traditional "Proc-Type: 4,ENCRYPTED" PEM keys), NULL
 *               (EVP_md_null)
 *   ciphers     AES-GCM, AES-CBC (TLS 1.2 CBC suites, session tickets, PBES2 keys),
 *               AES-256-CTR and -ECB (the CTR-DRBG), ChaCha20-Poly1305
 *   MAC, KDF    HMAC; HKDF, TLS13-KDF, TLS1-PRF, PBKDF2 (encrypted PKCS#8 keys)
 *   rand        CTR-DRBG (its seed comes from wasm/seed.c's own provider, never SEED-SRC)
 *   keys        RSA, RSA-PSS, EC, X25519, X448, Ed25519, Ed448, ML-KEM and the four hybrid
 *               TLS groups, and HMAC as a key (libssl signs with it: TLS 1.2 CBC record MACs,
 *               TLS 1.3 PSK binders)
 *   operations  ECDH/X25519/X448 exchange, RSA/ECDSA/EdDSA/HMAC signatures, RSA decryption
 *               (TLS 1.2 RSA key exchange), ML-KEM and hybrid KEMs
 *   encoders    PrivateKeyInfo and SubjectPublicKeyInfo, DER and PEM, for the kept key types
 *   decoders    PEM to DER, EncryptedPrivateKeyInfo, PrivateKeyInfo, SubjectPublicKeyInfo,
 *               and PKCS#1/SEC1 ("BEGIN RSA/EC PRIVATE KEY") keys
 * Dropped: AES-CCM (no browser offers its suites and OpenSSL's default TLS 1.3 list leaves it
 * out; libssl just skips a suite whose cipher no provider has), other AES modes and key wrap,
 * ChaCha20 alone, KECCAK, SHA-256/192, MD5-SHA1 (only below TLS 1.2), the NULL cipher (eNULL
 * suites), the composite RSA-SHA256 and ECDSA-SHA256 style signatures, GMAC/KMAC/Poly1305
 * MACs, the other KDFs, the other DRBGs and SEED-SRC, RSA and DHKEM KEMs, KDF and MAC keys
 * other than HMAC, symmetric key management, text/MSBLOB/PVK/EncryptedPrivateKeyInfo
 * encoders, MSBLOB/PVK decoders, ML-KEM key files, and the file store.
 */
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include "prov/bio.h"
#include "prov/implementations.h"
#include "prov/names.h"
#include "prov/provider_ctx.h"
#include "prov/provider_util.h"
#include "prov/providercommon.h"
#include "prov/seeding.h"

#define PROPS "provider=default"

/* An algorithm: its names, the implementation, and (optionally) a description. */
#define ALG(names, impl) { names, PROPS, impl, NULL }
#define ALGD(names, impl, desc) { names, PROPS, impl, desc }
#define END { NULL, NULL, NULL, NULL }

static const OSSL_ALGORITHM digests[] = {
    ALG(PROV_NAMES_SHA1, ossl_sha1_functions),
    ALG(PROV_NAMES_SHA2_224, ossl_sha224_functions),
    ALG(PROV_NAMES_SHA2_256, ossl_sha256_functions),
    ALG(PROV_NAMES_SHA2_384, ossl_sha384_functions),
    ALG(PROV_NAMES_SHA2_512, ossl_sha512_functions),
    ALG(PROV_NAMES_SHA2_512_224, ossl_sha512_224_functions),
    ALG(PROV_NAMES_SHA2_512_256, ossl_sha512_256_functions),
    ALG(PROV_NAMES_SHA3_224, ossl_sha3_224_functions),
    ALG(PROV_NAMES_SHA3_256, ossl_sha3_256_functions),
    ALG(PROV_NAMES_SHA3_384, ossl_sha3_384_functions),
    ALG(PROV_NAMES_SHA3_512, ossl_sha3_512_functions),
    ALG(PROV_NAMES_SHAKE_128, ossl_shake_128_functions),
    ALG(PROV_NAMES_SHAKE_256, ossl_shake_256_functions),
    ALG(PROV_NAMES_MD5, ossl_md5_functions),
    ALG(PROV_NAMES_NULL, ossl_nullmd_functions),
    END
};

/*
 * Plain OSSL_ALGORITHM, not defltprov.c's OSSL_ALGORITHM_CAPABLE: the capability checks are
 * for hardware-only ciphers (AES-CBC-HMAC-SHA*), which wasm has none of.
 */
static const OSSL_ALGORITHM ciphers[] = {
    ALG(PROV_NAMES_AES_256_GCM, ossl_aes256gcm_functions),
    ALG(PROV_NAMES_AES_128_GCM, ossl_aes128gcm_functions),
    ALG(PROV_NAMES_AES_256_CBC, ossl_aes256cbc_functions),
    ALG(PROV_NAMES_AES_192_CBC, ossl_aes192cbc_functions),
    ALG(PROV_NAMES_AES_128_CBC, ossl_aes128cbc_functions),
    /* The CTR-DRBG's cipher, and the ECB mode it derives from the name for its df. */
    ALG(PROV_NAMES_AES_256_CTR, ossl_aes256ctr_functions),
    ALG(PROV_NAMES_AES_256_ECB, ossl_aes256ecb_functions),
    ALG(PROV_NAMES_ChaCha20_Poly1305, ossl_chacha20_ossl_poly1305_functions),
    END
};

static const OSSL_ALGORITHM macs[] = {
    ALG(PROV_NAMES_HMAC, ossl_hmac_functions),
    END
};

static const OSSL_ALGORITHM kdfs[] = {
    ALG(PROV_NAMES_HKDF, ossl_kdf_hkdf_functions),
    ALG(PROV_NAMES_TLS1_3_KDF, ossl_kdf_tls1_3_kdf_functions),
    ALG(PROV_NAMES_TLS1_PRF, ossl_kdf_tls1_prf_functions),
    ALG(PROV_NAMES_PBKDF2, ossl_kdf_pbkdf2_functions),
    END
};

static const OSSL_ALGORITHM rands[] = {
    ALG(PROV_NAMES_CTR_DRBG, ossl_drbg_ctr_functions),
    END
};

static const OSSL_ALGORITHM keymgmt[] = {
    ALGD(PROV_NAMES_RSA, ossl_rsa_keymgmt_functions, PROV_DESCS_RSA),
    ALGD(PROV_NAMES_RSA_PSS, ossl_rsapss_keymgmt_functions, PROV_DESCS_RSA_PSS),
    ALGD(PROV_NAMES_EC, ossl_ec_keymgmt_functions, PROV_DESCS_EC),
    ALGD(PROV_NAMES_X25519, ossl_x25519_keymgmt_functions, PROV_DESCS_X25519),
    ALGD(PROV_NAMES_X448, ossl_x448_keymgmt_functions, PROV_DESCS_X448),
    ALGD(PROV_NAMES_ED25519, ossl_ed25519_keymgmt_functions, PROV_DESCS_ED25519),
    ALGD(PROV_NAMES_ED448, ossl_ed448_keymgmt_functions, PROV_DESCS_ED448),
    ALGD(PROV_NAMES_ML_KEM_512, ossl_ml_kem_512_keymgmt_functions, PROV_DESCS_ML_KEM_512),
    ALGD(PROV_NAMES_ML_KEM_768, ossl_ml_kem_768_keymgmt_functions, PROV_DESCS_ML_KEM_768),
    ALGD(PROV_NAMES_ML_KEM_1024, ossl_ml_kem_1024_keymgmt_functions, PROV_DESCS_ML_KEM_1024),
    ALGD(PROV_NAMES_X25519MLKEM768, ossl_mlx_x25519_kem_kmgmt_functions,
         PROV_DESCS_X25519MLKEM768),
    ALGD(PROV_NAMES_X448MLKEM1024, ossl_mlx_x448_kem_kmgmt_functions,
         PROV_DESCS_X448MLKEM1024),
    ALGD(PROV_NAMES_SecP256r1MLKEM768, ossl_mlx_p256_kem_kmgmt_functions,
         PROV_DESCS_SecP256r1MLKEM768),
    ALGD(PROV_NAMES_SecP384r1MLKEM1024, ossl_mlx_p384_kem_kmgmt_functions,
         PROV_DESCS_SecP384r1MLKEM1024),
    /* libssl makes HMAC keys with EVP_PKEY_new_raw_private_key_ex(.., "HMAC", ..). */
    ALGD(PROV_NAMES_HMAC, ossl_mac_legacy_keymgmt_functions, PROV_DESCS_HMAC_SIGN),
    END
};

static const OSSL_ALGORITHM keyexch[] = {
    ALG(PROV_NAMES_ECDH, ossl_ecdh_keyexch_functions),
    ALG(PROV_NAMES_X25519, ossl_x25519_keyexch_functions),
    ALG(PROV_NAMES_X448, ossl_x448_keyexch_functions),
    END
};

/*
 * X.509 and TLS fetch a signature by its key type (RSA, ECDSA, ...) and pass the digest
 * separately; the composite RSA-SHA256, ECDSA-SHA256, ... names are only for
 * EVP_PKEY_sign_message_init() callers, and none of ours is one.
 */
static const OSSL_ALGORITHM signatures[] = {
    ALG(PROV_NAMES_RSA, ossl_rsa_signature_functions),
    ALG(PROV_NAMES_ECDSA, ossl_ecdsa_signature_functions),
    ALG(PROV_NAMES_ED25519, ossl_ed25519_signature_functions),
    ALG(PROV_NAMES_ED25519ph, ossl_ed25519ph_signature_functions),
    ALG(PROV_NAMES_ED25519ctx, ossl_ed25519ctx_signature_functions),
    ALG(PROV_NAMES_ED448, ossl_ed448_signature_functions),
    ALG(PROV_NAMES_ED448ph, ossl_ed448ph_signature_functions),
    /* TLS 1.2 CBC record MACs and TLS 1.3 PSK binders: EVP_DigestSign with an HMAC key. */
    ALG(PROV_NAMES_HMAC, ossl_mac_legacy_hmac_signature_functions),
    END
};

static const OSSL_ALGORITHM asym_ciphers[] = {
    ALG(PROV_NAMES_RSA, ossl_rsa_asym_cipher_functions),
    END
};

static const OSSL_ALGORITHM kems[] = {
    ALG(PROV_NAMES_ML_KEM_512, ossl_ml_kem_asym_kem_functions),
    ALG(PROV_NAMES_ML_KEM_768, ossl_ml_kem_asym_kem_functions),
    ALG(PROV_NAMES_ML_KEM_1024, ossl_ml_kem_asym_kem_functions),
    ALG(PROV_NAMES_X25519MLKEM768, ossl_mlx_kem_asym_kem_functions),
    ALG(PROV_NAMES_X448MLKEM1024, ossl_mlx_kem_asym_kem_functions),
    ALG(PROV_NAMES_SecP256r1MLKEM768, ossl_mlx_kem_asym_kem_functions),
    ALG(PROV_NAMES_SecP384r1MLKEM1024, ossl_mlx_kem_asym_kem_functions),
    END
};

/*
 * Key files. X.509 itself encodes and decodes SubjectPublicKeyInfo through these (setting a
 * certificate's key, reading a peer's), pki.c exports PrivateKeyInfo, and the shim's key
 * loading runs any PEM or DER private key through the decoder chain: PEM to DER, then
 * decryption of EncryptedPrivateKeyInfo, then DER to key.
 */
#define ENC_PROPS(output, structure) PROPS ",fips=yes,output=" #output ",structure=" structure
#define ENCODER(name, key, output, structure)                                                  \
    { name, ENC_PROPS(output, #structure),                                                     \
      ossl_##key##_to_##structure##_##output##_encoder_functions, NULL }
#define KEY_ENCODERS(name, key)                                                                \
    ENCODER(name, key, der, PrivateKeyInfo), ENCODER(name, key, pem, PrivateKeyInfo),          \
    ENCODER(name, key, der, SubjectPublicKeyInfo), ENCODER(name, key, pem, SubjectPublicKeyInfo)

static const OSSL_ALGORITHM encoders[] = {
    KEY_ENCODERS("RSA", rsa),
    KEY_ENCODERS("RSA-PSS", rsapss),
    KEY_ENCODERS("EC", ec),
    KEY_ENCODERS("ED25519", ed25519),
    KEY_ENCODERS("ED448", ed448),
    KEY_ENCODERS("X25519", x25519),
    KEY_ENCODERS("X448", x448),
    END
};

#define DEC_PROPS(input) PROPS ",fips=yes,input=" #input
/* structure: the name in the function's symbol; label: the "structure=" property. */
#define DECODER(name, structure, label, input, output)                                         \
    { name, DEC_PROPS(input) ",structure=" label,                                              \
      ossl_##structure##_##input##_to_##output##_decoder_functions, NULL }
#define KEY_DECODERS(name, key)                                                                \
    DECODER(name, PrivateKeyInfo, "PrivateKeyInfo", der, key),                                 \
    DECODER(name, SubjectPublicKeyInfo, "SubjectPublicKeyInfo", der, key)

static const OSSL_ALGORITHM decoders[] = {
    KEY_DECODERS("EC", ec),
    DECODER("EC", type_specific_no_pub, "type-specific", der, ec),
    DECODER("EC", EC, "ec", der, ec),
    KEY_DECODERS("ED25519", ed25519),
    KEY_DECODERS("ED448", ed448),
    KEY_DECODERS("X25519", x25519),
    KEY_DECODERS("X448", x448),
    KEY_DECODERS("RSA", rsa),
    DECODER("RSA", type_specific_keypair, "type-specific", der, rsa),
    DECODER("RSA", RSA, "rsa", der, rsa),
    KEY_DECODERS("RSA-PSS", rsapss),
    /* SubjectPublicKeyInfo to the key type's own structure, PEM to DER, decryption. */
    DECODER("DER", SubjectPublicKeyInfo, "SubjectPublicKeyInfo", der, der),
    { "DER", DEC_PROPS(pem), ossl_pem_to_der_decoder_functions, NULL },
    DECODER("DER", EncryptedPrivateKeyInfo, "EncryptedPrivateKeyInfo", der, der),
    END
};

static const OSSL_ALGORITHM *query(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_DIGEST:
        return digests;
    case OSSL_OP_CIPHER:
        return ciphers;
    case OSSL_OP_MAC:
        return macs;
    case OSSL_OP_KDF:
        return kdfs;
    case OSSL_OP_RAND:
        return rands;
    case OSSL_OP_KEYMGMT:
        return keymgmt;
    case OSSL_OP_KEYEXCH:
        return keyexch;
    case OSSL_OP_SIGNATURE:
        return signatures;
    case OSSL_OP_ASYM_CIPHER:
        return asym_ciphers;
    case OSSL_OP_KEM:
        return kems;
    case OSSL_OP_ENCODER:
        return encoders;
    case OSSL_OP_DECODER:
        return decoders;
    }
    return NULL; /* no stores, no symmetric key management */
}

static const OSSL_PARAM param_types[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *gettable_params(void *provctx)
{
    return param_types;
}

/* The same answers as OpenSSL's own default provider: callers may look for its name. */
static int get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "OpenSSL Default Provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, OPENSSL_VERSION_STR))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, OPENSSL_FULL_VERSION_STR))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, ossl_prov_is_running()))
        return 0;
    return 1;
}

static void teardown(void *provctx)
{
    BIO_meth_free(ossl_prov_ctx_get0_core_bio_method(provctx));
    ossl_prov_ctx_free(provctx);
}

typedef void (*fn)(void);
static const OSSL_DISPATCH dispatch[] = {
    { OSSL_FUNC_PROVIDER_TEARDOWN, (fn)teardown },
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (fn)gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (fn)get_params },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (fn)query },
    /* TLS-GROUP and TLS-SIGALG: libssl offers a group only if its key type is above. */
    { OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (fn)ossl_prov_get_capabilities },
    OSSL_DISPATCH_END
};

OSSL_provider_init_fn ossl_default_provider_init;

int ossl_default_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                               const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_params_fn *c_get_params = NULL;
    OSSL_FUNC_core_get_libctx_fn *c_get_libctx = NULL;
    BIO_METHOD *corebiometh;

    if (!ossl_prov_bio_from_dispatch(in) || !ossl_prov_seeding_from_dispatch(in))
        return 0;
    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            c_get_params = OSSL_FUNC_core_get_params(in);
            break;
        case OSSL_FUNC_CORE_GET_LIBCTX:
            c_get_libctx = OSSL_FUNC_core_get_libctx(in);
            break;
        }
    }
    if (c_get_libctx == NULL)
        return 0;

    /*
     * A built-in provider shares the library context it is loaded into: the implementations
     * find it (and the core's BIO method) through the provider context.
     */
    if ((*provctx = ossl_prov_ctx_new()) == NULL
        || (corebiometh = ossl_bio_prov_init_bio_method()) == NULL) {
        ossl_prov_ctx_free(*provctx);
        *provctx = NULL;
        return 0;
    }
    ossl_prov_ctx_set0_libctx(*provctx, (OSSL_LIB_CTX *)c_get_libctx(handle));
    ossl_prov_ctx_set0_handle(*provctx, handle);
    ossl_prov_ctx_set0_core_bio_method(*provctx, corebiometh);
    ossl_prov_ctx_set0_core_get_params(*provctx, c_get_params);
    *out = dispatch;
    return 1;
}
