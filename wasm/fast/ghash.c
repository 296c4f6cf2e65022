/*
 * GHASH (the hash of GCM, NIST SP 800-38D) in constant time, with WebAssembly SIMD.
 *
 * What it replaces. OpenSSL's GCM (crypto/modes/gcm128.c) multiplies in GF(2^128) with
 * 4-bit tables: sixteen multiples of the hash key H, indexed by nibbles of the data, so which
 * entries it reads depends on the data and the key; in wasm it is also slow. gcm128.c calls
 * its multiplication through three function pointers kept in the GCM context (ginit, gmult,
 * ghash). aes_gcm_hw.c, which sets up AES-GCM for the default provider, points them here
 * after CRYPTO_gcm128_init, and this file keeps its own form of H in the context's Htable.
 *
 * The technique: carry-less multiplication from integer multiplication with "holes" (the
 * idea behind T. Pornin's constant-time GHASH in BearSSL, worked out again here for 32-bit
 * lanes). Split 32-bit x and h into four parts each, part a holding only the bits at
 * positions = a (mod 4). The integer product of two parts has all its one-bit products at
 * positions of one class mod 4, at most 8 of them at any position, so each position's sum
 * fits in the 4-bit gap before the next position of that class: the parity there is the
 * carry-less product's bit, and xor of such products keeps it. Sixteen 32x32->64 products
 * (i64x2.extmul_*_i32x4_u, two per instruction), masks and xors give a 64-bit carry-less
 * product; Karatsuba makes the 128x128-bit product from nine of those, and the reduction
 * modulo x^128 + x^7 + x^2 + x + 1 is shifts and xors.
 *
 * Bit order: GCM numbers a block's bits from the most significant bit of its first byte, so
 * reading a block as a big-endian 128-bit integer gives the polynomial with its bits
 * reversed. The integer-style product of two reversed polynomials is the reversed product
 * shifted right by one, which one left shift puts right; the reduction then works on the
 * reversed form, where multiplying by x is a shift right.
 *
 * Constant time: integer multiplications (constant time on the processors wasm engines run
 * on), shifts and bitwise operations, on every bit of the data and key alike; no table, no
 * branch on data. H's form in Htable is cleared with the rest of the context when OpenSSL
 * frees it (OPENSSL_clear_free in cipher_aes_gcm.c); the expanded copy of H this file makes
 * on the stack for each call is cleared before it returns.
 *
 * Speed, in V8 on x86-64 (bench/README.md): about 390 MB/s, against 305 MB/s for gcm128.c's
 * 4-bit tables compiled the same way. Each block costs 72 i64x2.extmul (V8 makes each one
 * two shuffles and a pmuludq) and about 350 other vector and scalar instructions.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wasm_simd128.h>
#include "crypto/modes.h"

void ow_gcm_init(u128 Htable[16], const u64 H[2]);
void ow_gcm_gmult(u64 Xi[2], const u128 Htable[16]);
void ow_gcm_ghash(u64 Xi[2], const u128 Htable[16], const u8 *inp, size_t len);

#define M32 0x11111111u
#define M64 0x1111111111111111ull

/* What Htable holds: the nine 32-bit Karatsuba operands of H (see operands()). */
typedef struct {
    uint32_t h[9];
} ghash_key;

typedef char ghash_key_fits[sizeof(ghash_key) <= sizeof(u128[16]) ? 1 : -1];

/* One operand of H expanded for bmul32: k[c] = [h_c, h_c-1, h_c-2, h_c-3], h_a = h's part a. */
typedef struct {
    v128_t k[4];
} hvec;

/*
 * i64x2.extmul_{low,high}_i32x4_u written out: clang 14 expresses them as a zero extension
 * and a multiplication, and where the extension of a shared operand is reused or hoisted it
 * emits i64x2.mul instead, which V8 builds from three multiplications.
 */
static inline v128_t extmul_lo(v128_t a, v128_t b)
{
    v128_t r;

    __asm__("local.get %1\nlocal.get %2\ni64x2.extmul_low_i32x4_u\nlocal.set %0" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline v128_t extmul_hi(v128_t a, v128_t b)
{
    v128_t r;

    __asm__("local.get %1\nlocal.get %2\ni64x2.extmul_high_i32x4_u\nlocal.set %0" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/*
 * The nine 32-bit operands of a 128-bit value u3:u2:u1:u0 whose pairwise products make its
 * product by another (Karatsuba on 64-bit halves, then on 32-bit quarters).
 */
static void operands(uint32_t o[9], uint64_t hi, uint64_t lo)
{
    uint32_t u3 = (uint32_t)(hi >> 32), u2 = (uint32_t)hi, u1 = (uint32_t)(lo >> 32), u0 = (uint32_t)lo;

    o[0] = u3;
    o[1] = u2;
    o[2] = u3 ^ u2;
    o[3] = u1;
    o[4] = u0;
    o[5] = u1 ^ u0;
    o[6] = u3 ^ u1;
    o[7] = u2 ^ u0;
    o[8] = o[6] ^ o[7];
}

static void expand(hvec hv[9], const uint32_t o[9])
{
    int i;

    for (i = 0; i < 9; i++) {
        v128_t c = wasm_v128_and(wasm_i32x4_splat((int32_t)o[i]), wasm_u32x4_make(M32, M32 << 1, M32 << 2, M32 << 3));

        hv[i].k[0] = wasm_i32x4_shuffle(c, c, 0, 3, 2, 1);
        hv[i].k[1] = wasm_i32x4_shuffle(c, c, 1, 0, 3, 2);
        hv[i].k[2] = wasm_i32x4_shuffle(c, c, 2, 1, 0, 3);
        hv[i].k[3] = wasm_i32x4_shuffle(c, c, 3, 2, 1, 0);
    }
}

/*
 * The carry-less product of x (splat in every lane) and one operand of H, 64 bits, left
 * unfolded: the product is lane 0 xor lane 1. With x's parts [x0, x1, x2, x3], extmul by
 * h.k[c] gives x0·h_c, x1·h_c-1 (low) and x2·h_c-2, x3·h_c-3 (high): every product whose
 * bits fall on class c, kept there by the mask.
 */
static inline __attribute__((always_inline)) v128_t bmul32(v128_t xs, const hvec *h)
{
    v128_t x = wasm_v128_and(xs, wasm_u32x4_make(M32, M32 << 1, M32 << 2, M32 << 3));
    v128_t z0 = wasm_v128_xor(extmul_lo(x, h->k[0]), extmul_hi(x, h->k[0]));
    v128_t z1 = wasm_v128_xor(extmul_lo(x, h->k[1]), extmul_hi(x, h->k[1]));
    v128_t z2 = wasm_v128_xor(extmul_lo(x, h->k[2]), extmul_hi(x, h->k[2]));
    v128_t z3 = wasm_v128_xor(extmul_lo(x, h->k[3]), extmul_hi(x, h->k[3]));

    return wasm_v128_or(wasm_v128_or(wasm_v128_and(z0, wasm_i64x2_splat((int64_t)M64)),
                                     wasm_v128_and(z1, wasm_i64x2_splat((int64_t)(M64 << 1)))),
                        wasm_v128_or(wasm_v128_and(z2, wasm_i64x2_splat((int64_t)(M64 << 2))),
                                     wasm_v128_and(z3, wasm_i64x2_splat((int64_t)(M64 << 3)))));
}

static inline uint64_t fold(v128_t v)
{
    return (uint64_t)wasm_i64x2_extract_lane(v, 0) ^ (uint64_t)wasm_i64x2_extract_lane(v, 1);
}

/* A block's bytes as a big-endian 128-bit integer, in two i64 lanes: [high, low]. */
#define BSWAP64X2(v) wasm_i8x16_swizzle((v), wasm_u8x16_const(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8))

typedef struct {
    uint64_t w3, w2, w1, w0;
} u256;

/* The 256-bit carry-less product of y ([high, low]) and the value expanded in hv. */
static inline __attribute__((always_inline)) u256 mul_wide(v128_t y, const hvec hv[9])
{
    /* y's 32-bit lanes are [u2, u3, u0, u1]. */
    v128_t a = wasm_v128_xor(y, wasm_i32x4_shuffle(y, y, 1, 0, 3, 2)); /* u3^u2, u1^u0 */
    v128_t b = wasm_v128_xor(y, wasm_i32x4_shuffle(y, y, 2, 3, 0, 1)); /* u2^u0, u3^u1 */
    v128_t c = wasm_v128_xor(b, wasm_i32x4_shuffle(b, b, 1, 0, 3, 2)); /* all four */
    uint64_t q0 = fold(bmul32(wasm_i32x4_shuffle(y, y, 1, 1, 1, 1), &hv[0]));
    uint64_t q1 = fold(bmul32(wasm_i32x4_shuffle(y, y, 0, 0, 0, 0), &hv[1]));
    uint64_t q2 = fold(bmul32(wasm_i32x4_shuffle(a, a, 0, 0, 0, 0), &hv[2])) ^ q0 ^ q1;
    uint64_t r0 = fold(bmul32(wasm_i32x4_shuffle(y, y, 3, 3, 3, 3), &hv[3]));
    uint64_t r1 = fold(bmul32(wasm_i32x4_shuffle(y, y, 2, 2, 2, 2), &hv[4]));
    uint64_t r2 = fold(bmul32(wasm_i32x4_shuffle(a, a, 2, 2, 2, 2), &hv[5])) ^ r0 ^ r1;
    uint64_t s0 = fold(bmul32(wasm_i32x4_shuffle(b, b, 1, 1, 1, 1), &hv[6]));
    uint64_t s1 = fold(bmul32(wasm_i32x4_shuffle(b, b, 0, 0, 0, 0), &hv[7]));
    uint64_t s2 = fold(bmul32(wasm_i32x4_shuffle(c, c, 0, 0, 0, 0), &hv[8])) ^ s0 ^ s1;
    /* high halves (ah:al), low halves (bh:bl), and the Karatsuba middle (ch:cl). */
    uint64_t ah = q0 ^ (q2 >> 32), al = q1 ^ (q2 << 32);
    uint64_t bh = r0 ^ (r2 >> 32), bl = r1 ^ (r2 << 32);
    uint64_t ch = s0 ^ (s2 >> 32) ^ ah ^ bh, cl = s1 ^ (s2 << 32) ^ al ^ bl;
    u256 w = { ah, al ^ ch, bh ^ cl, bl };

    return w;
}

/* The product, bit-reversed and unreduced, to the field element [high, low]. */
static inline v128_t reduce(u256 p)
{
    uint64_t w3 = (p.w3 << 1) | (p.w2 >> 63), w2 = (p.w2 << 1) | (p.w1 >> 63);
    uint64_t w1 = (p.w1 << 1) | (p.w0 >> 63), w0 = p.w0 << 1, d;

    /*
     * w1:w0 holds the coefficients of x^128 .. x^255, and x^128 = x^7 + x^2 + x + 1.
     * Bit-reversed, multiplying by x^s is a right shift by s; the bits that fall off the end
     * (degree 128 and up again) are folded in first, at the top of w1.
     */
    d = w1 ^ (w0 << 63) ^ (w0 << 62) ^ (w0 << 57);
    return wasm_i64x2_make((int64_t)(w3 ^ d ^ (d >> 1) ^ (d >> 2) ^ (d >> 7)),
                           (int64_t)(w2 ^ w0 ^ (w0 >> 1) ^ (w0 >> 2) ^ (w0 >> 7) ^ (d << 63) ^ (d << 62) ^ (d << 57)));
}

static void wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ volatile("" : : "r"(p) : "memory");
}

void ow_gcm_init(u128 Htable[16], const u64 H[2])
{
    memset(Htable, 0, sizeof(u128[16]));
    operands(((ghash_key *)Htable)->h, H[0], H[1]);
}

void ow_gcm_gmult(u64 Xi[2], const u128 Htable[16])
{
    hvec h[9];

    expand(h, ((const ghash_key *)Htable)->h);
    wasm_v128_store(Xi, BSWAP64X2(reduce(mul_wide(BSWAP64X2(wasm_v128_load(Xi)), h))));
    wipe(h, sizeof(h));
}

void ow_gcm_ghash(u64 Xi[2], const u128 Htable[16], const u8 *inp, size_t len)
{
    hvec h[9];
    v128_t y = BSWAP64X2(wasm_v128_load(Xi));

    expand(h, ((const ghash_key *)Htable)->h);
    for (; len >= 16; inp += 16, len -= 16)
        y = reduce(mul_wide(wasm_v128_xor(y, BSWAP64X2(wasm_v128_load(inp))), h));
    wasm_v128_store(Xi, BSWAP64X2(y));
    wipe(h, sizeof(h));
}
