/*
 * The module's only entropy source: a built-in provider ("wasm-seed") whose seed source asks
 * the host for bytes through WASI's random_get import. The host answers with
 * crypto.getRandomValues (or, only when a test asks for it by name, a seeded stream).
 *
 * Why a provider: OpenSSL is configured --with-rand-seed=none, so no operating-system source
 * is compiled in and there is no silent fallback. RAND_set_seed_source_type() then makes this
 * seed source the parent of the primary DRBG, which every other DRBG descends from. If the
 * host cannot give entropy, seeding fails and so does every operation that needs randomness;
 * nothing ever runs on a weak seed.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "internal.h"

/* WASI preview1: fills buf with len random bytes; returns 0 (success) or a WASI errno. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("random_get")))
extern uint16_t host_random_get(uint8_t *buf, size_t len);

#define SEED_NAME "WASM-HOST-SEED"
#define SEED_PROPS "provider=wasm-seed"
/* What the seed source claims: full-entropy bytes, as OpenSSL's own OS seed source does. */
#define SEED_STRENGTH 1024
#define SEED_MAX_REQUEST 128

typedef struct {
    int state; /* EVP_RAND_STATE_UNINITIALISED / READY / ERROR */
} seed_ctx;

static int host_fill(uint8_t *out, size_t len)
{
    return len == 0 || host_random_get(out, len) == 0;
}

static void *seed_new(void *provctx, void *parent, const OSSL_DISPATCH *parent_calls)
{
    seed_ctx *s;

    (void)provctx;
    (void)parent_calls;
    if (parent != NULL) /* a seed source is the root of the DRBG tree */
        return NULL;
    s = OPENSSL_zalloc(sizeof(*s));
    if (s != NULL)
        s->state = EVP_RAND_STATE_UNINITIALISED;
    return s;
}

static void seed_free(void *vs)
{
    OPENSSL_free(vs);
}

static int seed_instantiate(void *vs, unsigned int strength, int prediction_resistance,
                            const unsigned char *pstr, size_t pstr_len,
                            const OSSL_PARAM params[])
{
    (void)strength, (void)prediction_resistance, (void)pstr, (void)pstr_len, (void)params;
    ((seed_ctx *)vs)->state = EVP_RAND_STATE_READY;
    return 1;
}

static int seed_uninstantiate(void *vs)
{
    ((seed_ctx *)vs)->state = EVP_RAND_STATE_UNINITIALISED;
    return 1;
}

static int seed_generate(void *vs, unsigned char *out, size_t outlen, unsigned int strength,
                         int prediction_resistance, const unsigned char *adin, size_t adin_len)
{
    seed_ctx *s = vs;

    (void)prediction_resistance, (void)adin, (void)adin_len;
    if (s->state != EVP_RAND_STATE_READY || strength > SEED_STRENGTH)
        return 0;
    if (!host_fill(out, outlen)) {
        s->state = EVP_RAND_STATE_ERROR;
        ERR_raise_data(ERR_LIB_RAND, RAND_R_ERROR_RETRIEVING_ENTROPY,
                       "the host's random_get import failed");
        return 0;
    }
    return 1;
}

static int seed_reseed(void *vs, int prediction_resistance, const unsigned char *ent,
                       size_t ent_len, const unsigned char *adin, size_t adin_len)
{
    (void)prediction_resistance, (void)ent, (void)ent_len, (void)adin, (void)adin_len;
    return ((seed_ctx *)vs)->state == EVP_RAND_STATE_READY;
}

/* Hands a child DRBG a freshly allocated seed of at least `entropy` bits. */
static size_t seed_get_seed(void *vs, unsigned char **pout, int entropy, size_t min_len,
                            size_t max_len, int prediction_resistance,
                            const unsigned char *adin, size_t adin_len)
{
    size_t len = min_len;
    unsigned char *buf;

    if (entropy > 0 && (size_t)(entropy + 7) / 8 > len)
        len = (size_t)(entropy + 7) / 8;
    if (len > max_len)
        return 0;
    buf = OPENSSL_secure_malloc(len);
    if (buf == NULL)
        return 0;
    if (!seed_generate(vs, buf, len, 0, prediction_resistance, adin, adin_len)) {
        OPENSSL_secure_clear_free(buf, len);
        return 0;
    }
    *pout = buf;
    return len;
}

static void seed_clear_seed(void *vs, unsigned char *out, size_t outlen)
{
    (void)vs;
    OPENSSL_secure_clear_free(out, outlen);
}

/* The module is single-threaded: locking is trivially available and always succeeds. */
static int seed_enable_locking(void *vs) { (void)vs; return 1; }
static int seed_lock(void *vs) { (void)vs; return 1; }
static void seed_unlock(void *vs) { (void)vs; }
static int seed_verify_zeroization(void *vs) { (void)vs; return 1; }

static const OSSL_PARAM *seed_gettable_ctx_params(void *vs, void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
        OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
        OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
        OSSL_PARAM_END
    };
    (void)vs, (void)provctx;
    return gettable;
}

static int seed_get_ctx_params(void *vs, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE);
    if (p != NULL && !OSSL_PARAM_set_int(p, ((seed_ctx *)vs)->state))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH);
    if (p != NULL && !OSSL_PARAM_set_uint(p, SEED_STRENGTH))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST);
    if (p != NULL && !OSSL_PARAM_set_size_t(p, SEED_MAX_REQUEST))
        return 0;
    return 1;
}

typedef void (*fn)(void);
static const OSSL_DISPATCH seed_functions[] = {
    { OSSL_FUNC_RAND_NEWCTX, (fn)seed_new },
    { OSSL_FUNC_RAND_FREECTX, (fn)seed_free },
    { OSSL_FUNC_RAND_INSTANTIATE, (fn)seed_instantiate },
    { OSSL_FUNC_RAND_UNINSTANTIATE, (fn)seed_uninstantiate },
    { OSSL_FUNC_RAND_GENERATE, (fn)seed_generate },
    { OSSL_FUNC_RAND_RESEED, (fn)seed_reseed },
    { OSSL_FUNC_RAND_GET_SEED, (fn)seed_get_seed },
    { OSSL_FUNC_RAND_CLEAR_SEED, (fn)seed_clear_seed },
    { OSSL_FUNC_RAND_ENABLE_LOCKING, (fn)seed_enable_locking },
    { OSSL_FUNC_RAND_LOCK, (fn)seed_lock },
    { OSSL_FUNC_RAND_UNLOCK, (fn)seed_unlock },
    { OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (fn)seed_gettable_ctx_params },
    { OSSL_FUNC_RAND_GET_CTX_PARAMS, (fn)seed_get_ctx_params },
    { OSSL_FUNC_RAND_VERIFY_ZEROIZATION, (fn)seed_verify_zeroization },
    OSSL_DISPATCH_END
};

static const OSSL_ALGORITHM seed_algorithms[] = {
    { SEED_NAME, SEED_PROPS, seed_functions, "entropy from the wasm host" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *seed_query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    return operation_id == OSSL_OP_RAND ? seed_algorithms : NULL;
}

static const OSSL_DISPATCH seed_provider_functions[] = {
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (fn)seed_query },
    OSSL_DISPATCH_END
};

static int seed_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                              const OSSL_DISPATCH **out, void **provctx)
{
    (void)in;
    *out = seed_provider_functions;
    *provctx = (void *)handle;
    return 1;
}

int ow_entropy_install_in(OSSL_LIB_CTX *libctx)
{
    unsigned char probe[32];

    if (!OSSL_PROVIDER_add_builtin(libctx, "wasm-seed", seed_provider_init))
        return 0;
    if (OSSL_PROVIDER_load(libctx, "wasm-seed") == NULL)
        return 0;
    /* Loading any provider by hand turns off the automatic load of "default". */
    if (OSSL_PROVIDER_load(libctx, "default") == NULL)
        return 0;
    if (!RAND_set_seed_source_type(libctx, SEED_NAME, SEED_PROPS))
        return 0;
    /* Instantiates the DRBG tree now, so a host without entropy fails at load, not mid-handshake. */
    if (RAND_bytes_ex(libctx, probe, sizeof(probe), 0) != 1)
        return 0;
    OPENSSL_cleanse(probe, sizeof(probe));
    return 1;
}

int ow_entropy_install(void)
{
    return ow_entropy_install_in(NULL);
}
