/*
 * AES (FIPS 197) in constant time with WebAssembly SIMD: byte shuffles instead of tables.
 *
 * What it replaces. OpenSSL's portable AES (crypto/aes/aes_core.c: AES_set_encrypt_key,
 * AES_set_decrypt_key, AES_encrypt, AES_decrypt), at link time: this object defines those four
 * symbols and is linked before libcrypto.a, so the archive member that also defines them is
 * never pulled in (see chacha20.c). Everything in OpenSSL that runs AES goes through them: the
 * GCM, CBC, CTR and ECB ciphers of the default provider, the CTR-DRBG, session tickets. It also
 * defines ow_aes_ctr32_encrypt_blocks, eight blocks at a time, which aes_gcm_hw.c gives GCM.
 *
 * Why. aes_core.c looks up 1 KB tables by secret bytes (key and data): what it reads, and so
 * its time, depends on the secrets through the cache, and in wasm it is also slow. Here every
 * step is the same sequence of vector instructions whatever the data; the only tables are 16
 * bytes, read with i8x16.swizzle, which takes the index as data in a register and touches no
 * memory that depends on it.
 *
 * The technique is the vector-permute AES of M. Hamburg ("Accelerating AES with Vector Permute
 * Instructions", CHES 2009), worked out again here. The S-box is inversion in GF(2^8) followed
 * by an affine map. Write GF(2^8) as GF(16)[t] / (t^2 + t + 1/c) (c = 2, GF(16) modulo
 * x^4 + x + 1) and each byte as two nibbles i (high) and k (low) of the element c·i·t + k. For
 * x = c·i·t + k the norm is N = c·i^2 + c·i·k + k^2 and 1/x = (c·i·t + c·i + k) / N. With
 * j = i + k, one checks that
 *     io = j + 1 / (1/i + c/k)  =  N / (c·i + k)
 *     jo = i + 1 / (1/j + c/k)  =  N / (c·i + (1 + c)·k)
 * so 1/io is the constant coordinate of 1/x, and its t coordinate is (1/jo + (1 + c)/io) / c:
 * the inverse is F1(io) + F2(jo), a function of io plus a function of jo. Each of 1/i, c/k, 1/j,
 * 1/(..), F1 and F2 is a lookup in a 16-entry table, which swizzle does for sixteen bytes at
 * once. Division by zero is handled by giving 1/0 the value 0x10: swizzle reads 0 for any index
 * of 16 or more, and xor with a nibble keeps such a value out of range, so "1/infinity = 0"
 * and every case with a zero nibble comes out right (checked exhaustively by the generator).
 *
 * The tables F1 and F2 fold in the rest of the round, GF(2)-linear maps all: the S-box's
 * affine map, the change back to nibble coordinates for the next round, and for MixColumns a
 * second pair giving 2·S(x). MixColumns is then three byte rotations and xors, ShiftRows a
 * constant shuffle; round keys are kept in the same coordinates, with the S-box's constant
 * 0x63 folded into them. Decryption mirrors this with InvMixColumns' 14, 11, 13, 9 (four table
 * pairs). All the tables, and a model of exactly these steps checked against FIPS 197, come
 * from aes-tables.mjs; aes-tables.h is its output.
 *
 * Constant time: no branch and no memory address depends on the key or the data; the only
 * data-dependent operation is swizzle, a register permutation in every engine (pshufb on x86,
 * tbl on ARM; V8 adds a saturating add that maps indices of 16 and more to "zero"). Key
 * expansion uses the same vector S-box. The round keys live in the caller's AES_KEY, which
 * OpenSSL clears when it frees the cipher context. Key expansion's words are on the stack and
 * cleared; everything else stays in wasm locals, never in linear memory.
 *
 * Speed, in V8 on x86-64 (bench/README.md): about 440 MB/s for AES-128 in counter mode (eight
 * blocks side by side), 220 MB/s one block at a time (CBC), each round nine swizzles, four
 * constant shuffles and a dozen xors per block. aes_core.c's tables, compiled the same way,
 * do about 220 MB/s, one block at a time whatever the mode (OpenSSL has no multi-block path
 * for them), and decrypt about 15% faster than this file does one block at a time.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wasm_simd128.h>
#include "internal/deprecated.h" /* AES_KEY is deprecated for applications, not inside OpenSSL */
#include <openssl/aes.h>
#include "aes-tables.h"

void ow_aes_ctr32_encrypt_blocks(const unsigned char *in, unsigned char *out, size_t blocks,
                                 const void *key, const unsigned char ivec[16]);

#define U8X16(...) wasm_u8x16_const(__VA_ARGS__)
#define TABLE(name) U8X16(AES_T_##name)
/* A constant byte permutation, as a swizzle: V8 turns an i8x16.shuffle of an arbitrary pattern into a
 * pshufb whose mask it rebuilds from immediates at every use, and a swizzle by a constant whose
 * indices are all in range into a pshufb alone. */
#define SHUF(v, ...) wasm_i8x16_swizzle((v), wasm_u8x16_const(__VA_ARGS__))
#define XOR(a, b) wasm_v128_xor((a), (b))
#define LOOK(t, i) wasm_i8x16_swizzle((t), (i))

/* Round keys: 16 bytes each, in AES_KEY's rd_key (15 fit: enough for AES-256). */
#define RK(key, r) wasm_v128_load((const unsigned char *)(key)->rd_key + 16 * (r))

/* A linear map of bytes given by its values on the low and the high nibble. */
static inline v128_t linear(v128_t x, v128_t lo, v128_t hi)
{
    const v128_t m = wasm_u8x16_splat(0x0f);

    return XOR(LOOK(lo, wasm_v128_and(x, m)), LOOK(hi, wasm_v128_and(wasm_u16x8_shr(x, 4), m)));
}

/* The inversion: x in nibble coordinates to the (io, jo) pair described above. */
static inline void invert(v128_t x, v128_t *io, v128_t *jo)
{
    const v128_t m = wasm_u8x16_splat(0x0f), inv = TABLE(INV);
    v128_t k = wasm_v128_and(x, m);
    v128_t i = wasm_v128_and(wasm_u16x8_shr(x, 4), m);
    v128_t j = XOR(i, k);
    v128_t ck = LOOK(TABLE(CK), k);

    *io = XOR(j, LOOK(inv, XOR(LOOK(inv, i), ck)));
    *jo = XOR(i, LOOK(inv, XOR(LOOK(inv, j), ck)));
}

/* One full encryption round: SubBytes, ShiftRows, MixColumns, AddRoundKey. */
static inline v128_t enc_round(v128_t x, v128_t rk)
{
    v128_t io, jo, a, b, t;

    invert(x, &io, &jo);
    a = XOR(LOOK(TABLE(ENC_A1), io), LOOK(TABLE(ENC_A2), jo)); /* S(x) without its constant */
    b = XOR(LOOK(TABLE(ENC_B1), io), LOOK(TABLE(ENC_B2), jo)); /* 2·S(x) */
    /* Per column, out_r = 2a_r + 3a_{r+1} + a_{r+2} + a_{r+3}, after ShiftRows. */
    t = XOR(SHUF(b, AES_SH_SR), SHUF(a, AES_SH_SR_ROT1));
    return XOR(XOR(XOR(t, SHUF(t, AES_SH_ROT1)), SHUF(a, AES_SH_SR_ROT3)), rk);
}

static inline v128_t enc_last(v128_t x, v128_t rk)
{
    v128_t io, jo;

    invert(x, &io, &jo);
    return XOR(SHUF(XOR(LOOK(TABLE(ENC_O1), io), LOOK(TABLE(ENC_O2), jo)), AES_SH_SR), rk);
}

static inline v128_t dec_round(v128_t x, v128_t rk)
{
    v128_t io, jo, e, b, d, n;

    invert(x, &io, &jo);
    /* InvShiftRows, then per column out_r = 14w_r + 11w_{r+1} + 13w_{r+2} + 9w_{r+3}. */
    e = SHUF(XOR(LOOK(TABLE(DEC_E1), io), LOOK(TABLE(DEC_E2), jo)), AES_SH_ISR);
    b = SHUF(XOR(LOOK(TABLE(DEC_B1), io), LOOK(TABLE(DEC_B2), jo)), AES_SH_ISR_ROT1);
    d = SHUF(XOR(LOOK(TABLE(DEC_D1), io), LOOK(TABLE(DEC_D2), jo)), AES_SH_ISR_ROT2);
    n = SHUF(XOR(LOOK(TABLE(DEC_9_1), io), LOOK(TABLE(DEC_9_2), jo)), AES_SH_ISR_ROT3);
    return XOR(XOR(XOR(e, b), XOR(d, n)), rk);
}

static inline v128_t dec_last(v128_t x, v128_t rk)
{
    v128_t io, jo;

    invert(x, &io, &jo);
    return XOR(SHUF(XOR(LOOK(TABLE(DEC_O1), io), LOOK(TABLE(DEC_O2), jo)), AES_SH_ISR), rk);
}

static inline v128_t encrypt_block(v128_t p, const AES_KEY *key)
{
    int r, nr = key->rounds;
    v128_t x = XOR(linear(p, TABLE(ENC_IN_LO), TABLE(ENC_IN_HI)), RK(key, 0));

    for (r = 1; r < nr; r++)
        x = enc_round(x, RK(key, r));
    return enc_last(x, RK(key, nr));
}

/* ---- key schedule ---- */

/* The S-box on sixteen AES bytes. */
static v128_t sub_bytes(v128_t x)
{
    v128_t io, jo;

    invert(linear(x, TABLE(ENC_IN_LO), TABLE(ENC_IN_HI)), &io, &jo);
    return XOR(XOR(LOOK(TABLE(ENC_O1), io), LOOK(TABLE(ENC_O2), jo)), wasm_u8x16_splat(0x63));
}

/* Multiplication by 2 in GF(2^8), bytewise, without branches. */
static inline v128_t xtime(v128_t v)
{
    return XOR(wasm_i8x16_add(v, v), wasm_v128_and(wasm_i8x16_lt(v, wasm_i8x16_splat(0)), wasm_u8x16_splat(0x1b)));
}

static v128_t inv_mix_columns(v128_t k1)
{
    v128_t k2 = xtime(k1), k4 = xtime(k2), k8 = xtime(k4);
    v128_t e = XOR(XOR(k8, k4), k2), b = XOR(XOR(k8, k2), k1), d = XOR(XOR(k8, k4), k1), n = XOR(k8, k1);

    return XOR(XOR(e, SHUF(b, AES_SH_ROT1)), XOR(SHUF(d, AES_SH_ROT2), SHUF(n, AES_SH_ROT3)));
}

/*
 * FIPS 197 key expansion into w (4 * (rounds + 1) words, byte 0 of a word in its low bits).
 * Returns the number of rounds, or 0 for a key size AES does not have.
 */
static int expand_key(const unsigned char *user_key, int bits, uint32_t w[60])
{
    int nk = bits / 32, nr, i;
    uint32_t t, rcon = 1;

    if (bits != 128 && bits != 192 && bits != 256)
        return 0;
    nr = nk + 6;
    memcpy(w, user_key, 4 * nk);
    for (i = nk; i < 4 * (nr + 1); i++) {
        t = w[i - 1];
        if (i % nk == 0) {
            t = (t >> 8) | (t << 24); /* RotWord */
            t = (uint32_t)wasm_i32x4_extract_lane(sub_bytes(wasm_i32x4_splat((int32_t)t)), 0) ^ rcon;
            rcon = (rcon << 1) ^ (0x11b & -(rcon >> 7));
        } else if (nk > 6 && i % nk == 4) {
            t = (uint32_t)wasm_i32x4_extract_lane(sub_bytes(wasm_i32x4_splat((int32_t)t)), 0);
        }
        w[i] = w[i - nk] ^ t;
    }
    return nr;
}

static void wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ volatile("" : : "r"(p) : "memory");
}

int AES_set_encrypt_key(const unsigned char *userKey, const int bits, AES_KEY *key)
{
    uint32_t w[60];
    int nr, r;

    if (userKey == NULL || key == NULL)
        return -1;
    if ((nr = expand_key(userKey, bits, w)) == 0)
        return -2;
    for (r = 0; r <= nr; r++) {
        v128_t k = wasm_v128_load(w + 4 * r);

        if (r > 0 && r < nr) /* E(k + 0x63) = E(k) + E(0x63): the S-box's constant */
            k = XOR(linear(k, TABLE(ENC_IN_LO), TABLE(ENC_IN_HI)), wasm_u8x16_splat(AES_ENC_K63));
        else if (r == 0)
            k = linear(k, TABLE(ENC_IN_LO), TABLE(ENC_IN_HI));
        else
            k = XOR(k, wasm_u8x16_splat(0x63));
        wasm_v128_store((unsigned char *)key->rd_key + 16 * r, k);
    }
    key->rounds = nr;
    wipe(w, sizeof(w));
    return 0;
}

int AES_set_decrypt_key(const unsigned char *userKey, const int bits, AES_KEY *key)
{
    uint32_t w[60];
    int nr, r;

    if (userKey == NULL || key == NULL)
        return -1;
    if ((nr = expand_key(userKey, bits, w)) == 0)
        return -2;
    /* The equivalent inverse cipher: round keys in reverse, InvMixColumns applied to the inner ones. */
    for (r = 0; r <= nr; r++) {
        v128_t k = wasm_v128_load(w + 4 * (nr - r));

        if (r > 0 && r < nr)
            k = inv_mix_columns(k);
        if (r < nr)
            k = XOR(linear(k, TABLE(DEC_IN_LO), TABLE(DEC_IN_HI)), wasm_u8x16_splat(AES_DEC_K05));
        wasm_v128_store((unsigned char *)key->rd_key + 16 * r, k);
    }
    key->rounds = nr;
    wipe(w, sizeof(w));
    return 0;
}

void AES_encrypt(const unsigned char *in, unsigned char *out, const AES_KEY *key)
{
    wasm_v128_store(out, encrypt_block(wasm_v128_load(in), key));
}

void AES_decrypt(const unsigned char *in, unsigned char *out, const AES_KEY *key)
{
    int r, nr = key->rounds;
    v128_t x = XOR(linear(wasm_v128_load(in), TABLE(DEC_IN_LO), TABLE(DEC_IN_HI)), RK(key, 0));

    for (r = 1; r < nr; r++)
        x = dec_round(x, RK(key, r));
    wasm_v128_store(out, dec_last(x, RK(key, nr)));
}

/*
 * CTR with a 32-bit big-endian counter in the last four bytes of ivec (OpenSSL's ctr128_f:
 * the counter wraps within those 32 bits, and ivec itself is not updated). Eight blocks go
 * through the rounds side by side: one block's chain of lookups is too serial to keep the
 * processor busy (four side by side: 8% slower, two: 30%).
 */
void ow_aes_ctr32_encrypt_blocks(const unsigned char *in, unsigned char *out, size_t blocks,
                                 const void *vkey, const unsigned char ivec[16])
{
    const AES_KEY *key = vkey;
    const v128_t lo = TABLE(ENC_IN_LO), hi = TABLE(ENC_IN_HI);
    v128_t iv = wasm_v128_load(ivec);
    uint32_t ctr = (uint32_t)ivec[12] << 24 | (uint32_t)ivec[13] << 16 | (uint32_t)ivec[14] << 8 | ivec[15];
    int r, nr = key->rounds;

#define CTR_BLOCK(n) wasm_i32x4_replace_lane(iv, 3, (int32_t)__builtin_bswap32(ctr + (n)))
    /* Eight named states, not an array: an array would live in linear memory (the C stack). */
#define EACH8(m) m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7)
    for (; blocks >= 8; blocks -= 8, ctr += 8, in += 128, out += 128) {
        v128_t k = RK(key, 0), x0, x1, x2, x3, x4, x5, x6, x7;

#define FIRST(n) x##n = XOR(linear(CTR_BLOCK(n), lo, hi), k);
#define ROUND(n) x##n = enc_round(x##n, k);
#define LAST(n) wasm_v128_store(out + 16 * n, XOR(wasm_v128_load(in + 16 * n), enc_last(x##n, k)));
        EACH8(FIRST)
        for (r = 1; r < nr; r++) {
            k = RK(key, r);
            EACH8(ROUND)
        }
        k = RK(key, nr);
        EACH8(LAST)
#undef FIRST
#undef ROUND
#undef LAST
    }
#undef EACH8
    for (; blocks > 0; blocks--, ctr++, in += 16, out += 16)
        wasm_v128_store(out, XOR(wasm_v128_load(in), encrypt_block(CTR_BLOCK(0), key)));
#undef CTR_BLOCK
}
