/*
 * P-256 (NIST FIPS 186-4 D.1.2.3) point multiplication and inversion modulo the group order, in
 * 29-bit limbs, for wasm32.
 *
 * Replaces OpenSSL's crypto/ec/ecp_nistp256.c at link time: this file defines the three symbols
 * the rest of libcrypto asks that object for (EC_GFp_nistp256_method, the curve table's method
 * for P-256, and the two hooks ec_lib.c calls for a precomputed table of its kind), so the
 * archive member is never pulled in. OpenSSL's code does its field arithmetic in 64-bit limbs
 * with 128-bit products, which clang lowers in wasm32 to calls to a runtime routine (__multi3)
 * that passes its result through memory; an ECDSA verification took about 500 µs in V8, three
 * of them half of a TLS client's handshake. Here a field element is nine 29-bit limbs, every
 * product is one native i64.mul, and a product's 81 terms add up without carries.
 *
 * The method is OpenSSL's nistp256 method with three functions replaced: points_mul (k * G,
 * k * P, and u1 * G + u2 * Q for verification), point_get_affine_coordinates, and
 * field_inverse_mod_ord (OpenSSL's default is a generic Montgomery exponentiation over BIGNUMs).
 * Everything else (encoding, checks, BIGNUM field arithmetic) is OpenSSL's generic code, as it
 * is for OpenSSL's own nistp256 method.
 *
 * Field arithmetic. An element is sum l[i] 2^(29 i), i < 9, each l[i] < 2^29, in Montgomery
 * form x R mod p with R = 2^261, and between operations below 2p. Multiplication goes column by
 * column (product scanning) in signed 64-bit sums: column k takes its products (at most nine,
 * each below 2^58), the carry from column k - 1, and the multiples of p that the reduction of
 * earlier limbs put there, and is reduced at once: since p = -1 mod 2^96, the multiple of p that
 * clears limb i is m = l[i] itself, and adding m p = m (2^256 - 2^224 + 2^192 + 2^96 - 1) is four
 * shifted additions. For inputs below 4p the result is below 1.5p. Linear combinations (fe_lin:
 * small constant coefficients, plus 16p so that nothing is negative) end by folding the bits
 * above 2^256 back in (2^256 = 2^224 - 2^192 - 2^96 + 1 mod p), which leaves them below
 * 2^256 + 2^230 < 2p.
 *
 * Points are Jacobian (X, Y, Z), the point (X / Z^2, Y / Z^3), Z = 0 the point at infinity;
 * a = -3. Doubling is dbl-2001-b, addition add-2007-bl and, with an affine second point,
 * madd-2007-bl, from the Explicit-Formulas Database, each with 2 Y Z (2 Z1 Z2 H) computed as a
 * product instead of from squares: 4M + 4S, 12M + 4S and 8M + 3S.
 *
 * Scalar multiplication:
 * - k * G (key generation, signing): a comb of two 15-entry tables of affine points (the
 *   generator's multiples by sums of 2^(64 j + 32 t), p256-tables.h), 31 doublings and 64
 *   additions, each entry read by a constant-time scan of its table.
 * - k * P (ECDH): signed 5-bit windows (digits -16..16), a table of P..16P scanned in constant
 *   time, 255 doublings and 52 additions.
 * - u1 * G + u2 * Q (ECDSA verification, public scalars): the same two, interleaved over one
 *   run of 255 doublings, reading the tables directly; or, for a key met before (a client
 *   verifies with the same roots', intermediates' and servers' keys again and again), two
 *   combs over 31 doublings, with tables made for Q as the generator's are (see qcache below).
 * Constant time: the secret scalars choose no branch and no address, the point at infinity is
 * handled by masks. As in OpenSSL's nistp code, one case branches: adding a point to itself,
 * which the formulas do not cover. It needs the running sum to equal the table entry being
 * added, which for a scalar below the group order takes a scalar with a particular relation
 * between its own digits (a random key meets one with negligible probability).
 *
 * Scalar inversion: x^(n - 2) mod n (Fermat; n is prime), in the same limbs with a generic
 * Montgomery reduction, a fixed 4-bit window over the public exponent.
 */
#include <stdint.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include "crypto/ec/ec_local.h"
#include "p256-tables.h"

#define M29 0x1fffffffu

typedef uint32_t fe[9];
typedef struct { fe x, y, z; } jpoint;
typedef struct { fe x, y; } apoint;

static const fe fe_16p = P256_16P, fe_p = P256_P, fe_r2 = P256_R2, fe_one = P256_ONE;
static const fe sc_n = P256_N, sc_r2 = P256_N_R2;
static const apoint comb[2][15] = P256_COMB;
static const unsigned char gx_bytes[32] = P256_GX, gy_bytes[32] = P256_GY;
static const unsigned char n_minus_2[32] = P256_N_MINUS_2, n_bytes[32] = P256_N_BYTES;
static const unsigned char p_bytes[32] = P256_P_BYTES, a_bytes[32] = P256_A_BYTES, b_bytes[32] = P256_B_BYTES;

/* ------------------------------------------------------------------ the field */

/*
 * Column k of a Montgomery product: s holds its products (and the carry from column k - 1).
 * Adds the multiples of p that the reductions of limbs k - 3, k - 6, k - 7 and k - 8 put here,
 * then either reduces limb k (k < 9: m[k] = its low 29 bits, whose multiple of p clears it) or
 * writes result limb k - 9; returns the carry into column k + 1.
 */
static inline __attribute__((always_inline)) int64_t fe_column(int k, int64_t s, int64_t m[9], fe r)
{
    if (k >= 3 && k - 3 <= 8)
        s += m[k - 3] << 9;   /* + m 2^96 */
    if (k >= 6 && k - 6 <= 8)
        s += m[k - 6] << 18;  /* + m 2^192 */
    if (k >= 7 && k - 7 <= 8)
        s -= m[k - 7] << 21;  /* - m 2^224 */
    if (k >= 8 && k - 8 <= 8)
        s += m[k - 8] << 24;  /* + m 2^256 (and - m, at limb k - 8 itself, leaves it 0) */
    if (k < 9)
        m[k] = s & M29;
    else
        r[k - 9] = (uint32_t)s & M29;
    return s >> 29;
}

/* r = a b / R mod p, in one pass over the 17 product columns. */
static void fe_mul(fe r, const fe a, const fe b)
{
    int64_t m[9], c = 0;

#pragma clang loop unroll(full)
    for (int k = 0; k < 17; k++) {
        int64_t s = c;

#pragma clang loop unroll(full)
        for (int i = (k > 8 ? k - 8 : 0); i <= (k < 8 ? k : 8); i++)
            s += (int64_t)((uint64_t)a[i] * b[k - i]);
        c = fe_column(k, s, m, r);
    }
    r[8] = (uint32_t)c;
}

/* r = a^2 / R mod p. */
static void fe_sqr(fe r, const fe a)
{
    int64_t m[9], c = 0;

#pragma clang loop unroll(full)
    for (int k = 0; k < 17; k++) {
        int64_t s = 0;

#pragma clang loop unroll(full)
        for (int i = 0; i < 9; i++)
            if (k - i > i && k - i <= 8)
                s += (int64_t)((uint64_t)a[i] * a[k - i]);
        s *= 2;
        if ((k & 1) == 0)
            s += (int64_t)((uint64_t)a[k / 2] * a[k / 2]);
        c = fe_column(k, s + c, m, r);
    }
    r[8] = (uint32_t)c;
}

/* Normalizes signed limbs whose value is in [0, 2^262) to limbs below 2^29, value below 2^256 + 2^230. */
static inline __attribute__((always_inline)) void fe_carry(fe r, int64_t t[9])
{
    int64_t q;

#pragma clang loop unroll(full)
    for (int i = 0; i < 8; i++) {
        t[i + 1] += t[i] >> 29;
        t[i] &= M29;
    }
    q = t[8] >> 24; /* the value's bits from 2^256 up: 2^256 = 2^224 - 2^192 - 2^96 + 1 mod p */
    t[8] &= 0xffffff;
    t[0] += q;
    t[3] -= q << 9;
    t[6] -= q << 18;
    t[7] += q << 21;
#pragma clang loop unroll(full)
    for (int i = 0; i < 8; i++) {
        t[i + 1] += t[i] >> 29;
        t[i] &= M29;
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < 9; i++)
        r[i] = (uint32_t)t[i];
}

/*
 * r = ka a + kb b + kc c + 16p, for small constant coefficients whose negative ones add up to
 * no less than -8 (so that the sum, of values below 2p, stays positive); b and c are ignored
 * when their coefficient is 0.
 */
static inline __attribute__((always_inline)) void fe_lin(fe r, int ka, const fe a, int kb, const fe b, int kc, const fe c)
{
    int64_t t[9];

#pragma clang loop unroll(full)
    for (int i = 0; i < 9; i++) {
        t[i] = (int64_t)ka * a[i] + fe_16p[i];
        if (kb != 0)
            t[i] += (int64_t)kb * b[i];
        if (kc != 0)
            t[i] += (int64_t)kc * c[i];
    }
    fe_carry(r, t);
}

/* r = a if mask is all ones, else b (mask 0). */
static void fe_select(fe r, uint32_t mask, const fe a, const fe b)
{
    for (int i = 0; i < 9; i++)
        r[i] = (a[i] & mask) | (b[i] & ~mask);
}

/* The canonical value of a (below 2p): a or a - p, in [0, p). */
static void fe_canon(fe r, const fe a)
{
    fe t;
    int64_t c = 0;
    uint32_t borrow;

    for (int i = 0; i < 9; i++) {
        c += (int64_t)a[i] - fe_p[i];
        t[i] = (uint32_t)c & M29;
        c >>= 29;
    }
    borrow = (uint32_t)c; /* all ones when a < p */
    fe_select(r, borrow, a, t);
}

/* All ones when a is 0 mod p, else 0. */
static uint32_t fe_is_zero(const fe a)
{
    fe c;
    uint32_t acc = 0;

    fe_canon(c, a);
    for (int i = 0; i < 9; i++)
        acc |= c[i];
    return 0u - ((acc - 1) >> 31); /* acc < 2^29: acc - 1 has its top bit set only when acc == 0 */
}

/* 32 big-endian bytes to limbs (no conversion to Montgomery form). */
static void limbs_from_bytes(fe r, const unsigned char in[32])
{
    uint32_t w[9] = { 0 };

    for (int i = 0; i < 8; i++)
        w[i] = (uint32_t)in[31 - 4 * i] | (uint32_t)in[30 - 4 * i] << 8 | (uint32_t)in[29 - 4 * i] << 16
            | (uint32_t)in[28 - 4 * i] << 24;
    for (int i = 0; i < 9; i++) {
        int bit = 29 * i;
        uint64_t v = (uint64_t)w[bit >> 5] | (uint64_t)w[(bit >> 5) + 1] << 32;

        r[i] = (uint32_t)(v >> (bit & 31)) & M29;
    }
    OPENSSL_cleanse(w, sizeof(w));
}

/* Limbs of a value below 2^256 to 32 big-endian bytes. */
static void limbs_to_bytes(unsigned char out[32], const fe a)
{
    uint32_t w[8] = { 0 };

    for (int i = 0; i < 9; i++) {
        int bit = 29 * i, k = bit >> 5, s = bit & 31;
        uint64_t v = (uint64_t)a[i] << s;

        w[k] |= (uint32_t)v;
        if (k + 1 < 8)
            w[k + 1] |= (uint32_t)(v >> 32);
    }
    for (int i = 0; i < 8; i++) {
        out[31 - 4 * i] = (unsigned char)w[i];
        out[30 - 4 * i] = (unsigned char)(w[i] >> 8);
        out[29 - 4 * i] = (unsigned char)(w[i] >> 16);
        out[28 - 4 * i] = (unsigned char)(w[i] >> 24);
    }
    OPENSSL_cleanse(w, sizeof(w));
}

static const fe raw_one = { 1 };

/* From 32 big-endian bytes (any value below 2^256) to Montgomery form. */
static void fe_from_bytes(fe r, const unsigned char in[32])
{
    fe raw;

    limbs_from_bytes(raw, in);
    fe_mul(r, raw, fe_r2);
}

/* Out of Montgomery form, canonical, to 32 big-endian bytes. */
static void fe_to_bytes(unsigned char out[32], const fe a)
{
    fe t;

    fe_mul(t, a, raw_one);
    fe_canon(t, t);
    limbs_to_bytes(out, t);
}

static void fe_sqr_n(fe r, const fe a, int n)
{
    fe_sqr(r, a);
    while (--n > 0)
        fe_sqr(r, r);
}

/* r = a^(p - 2) = 1 / a (0 for 0). p - 2 = (2^32 - 1) 2^224 + 2^192 + (2^94 - 1) 2^2 + 1. */
static void fe_inv(fe r, const fe a)
{
    fe x2, x4, x8, x16, x32, t, y;

    fe_sqr(t, a);
    fe_mul(x2, t, a);           /* a^(2^2 - 1) */
    fe_sqr_n(t, x2, 2);
    fe_mul(x4, t, x2);          /* a^(2^4 - 1) */
    fe_sqr_n(t, x4, 4);
    fe_mul(x8, t, x4);
    fe_sqr_n(t, x8, 8);
    fe_mul(x16, t, x8);
    fe_sqr_n(t, x16, 16);
    fe_mul(x32, t, x16);        /* a^(2^32 - 1) */
    /* y = a^(2^94 - 1): 32 + 32 + 16 + 8 + 4 + 2 ones. */
    fe_sqr_n(t, x32, 32);
    fe_mul(y, t, x32);
    fe_sqr_n(t, y, 16);
    fe_mul(y, t, x16);
    fe_sqr_n(t, y, 8);
    fe_mul(y, t, x8);
    fe_sqr_n(t, y, 4);
    fe_mul(y, t, x4);
    fe_sqr_n(t, y, 2);
    fe_mul(y, t, x2);
    fe_sqr_n(y, y, 2);
    fe_mul(y, y, a);            /* a^(2^96 - 3), the low 192 bits of the exponent */
    /* The top 64 bits: (2^32 - 1) 2^32 + 1, then shifted up by 192. */
    fe_sqr_n(t, x32, 32);
    fe_mul(t, t, a);
    fe_sqr_n(t, t, 192);
    fe_mul(r, t, y);
}

/* ------------------------------------------------------------------ points */

/* r = 2a (dbl-2001-b with 2YZ for (Y + Z)^2 - Y^2 - Z^2); r may be a. */
static void point_double(jpoint *r, const jpoint *a)
{
    fe delta, gamma, beta, alpha, t0, t1;

    fe_sqr(delta, a->z);
    fe_sqr(gamma, a->y);
    fe_mul(beta, a->x, gamma);
    fe_lin(t0, 1, a->x, -1, delta, 0, NULL);
    fe_lin(t1, 3, a->x, 3, delta, 0, NULL);
    fe_mul(alpha, t0, t1);                          /* alpha = 3 (X - Z^2)(X + Z^2) */
    fe_mul(t0, a->y, a->z);
    fe_lin(r->z, 2, t0, 0, NULL, 0, NULL);          /* Z3 = 2 Y Z */
    fe_sqr(t0, alpha);
    fe_lin(r->x, 1, t0, -8, beta, 0, NULL);         /* X3 = alpha^2 - 8 beta */
    fe_lin(t0, 4, beta, -1, r->x, 0, NULL);
    fe_mul(t0, alpha, t0);
    fe_sqr(t1, gamma);
    fe_lin(r->y, 1, t0, -8, t1, 0, NULL);           /* Y3 = alpha (4 beta - X3) - 8 gamma^2 */
}

static void point_select(jpoint *r, uint32_t mask, const jpoint *a, const jpoint *b)
{
    fe_select(r->x, mask, a->x, b->x);
    fe_select(r->y, mask, a->y, b->y);
    fe_select(r->z, mask, a->z, b->z);
}

/*
 * r = a + b (add-2007-bl, or madd-2007-bl for an affine b, with 2 Z1 Z2 H for Z3). b is
 * Jacobian, or affine (bz NULL, Z = 1) with b_inf the mask saying it stands for the point at
 * infinity. r may be a. Constant time except when a = b (see the top of the file).
 */
static void point_add(jpoint *r, const jpoint *a, const fe bx, const fe by, const fe bz, uint32_t b_inf)
{
    fe z1z1, z2z2, u1, u2, s1, s2, h, rr, i, j, v, t;
    jpoint out, bj;
    uint32_t a_inf = fe_is_zero(a->z);

    fe_sqr(z1z1, a->z);
    if (bz != NULL) {
        b_inf = fe_is_zero(bz);
        fe_sqr(z2z2, bz);
        fe_mul(u1, a->x, z2z2);
        fe_mul(s1, a->y, bz);
        fe_mul(s1, s1, z2z2);
    } else {
        memcpy(u1, a->x, sizeof(fe));
        memcpy(s1, a->y, sizeof(fe));
    }
    fe_mul(u2, bx, z1z1);
    fe_mul(s2, by, a->z);
    fe_mul(s2, s2, z1z1);
    fe_lin(h, 1, u2, -1, u1, 0, NULL);              /* H = U2 - U1 */
    fe_lin(rr, 2, s2, -2, s1, 0, NULL);             /* r = 2 (S2 - S1) */
    memcpy(bj.x, bx, sizeof(fe));
    memcpy(bj.y, by, sizeof(fe));
    memcpy(bj.z, bz != NULL ? bz : fe_one, sizeof(fe));
    if (fe_is_zero(h) & fe_is_zero(rr) & ~a_inf & ~b_inf) {
        point_double(r, &bj); /* a = b: the one case these formulas do not cover */
        return;
    }
    fe_sqr(t, h);
    fe_lin(i, 4, t, 0, NULL, 0, NULL);              /* I = (2H)^2 */
    fe_mul(j, h, i);                                /* J = H I */
    fe_mul(v, u1, i);                               /* V = U1 I */
    fe_sqr(t, rr);
    fe_lin(out.x, 1, t, -1, j, -2, v);              /* X3 = r^2 - J - 2V */
    fe_lin(t, 1, v, -1, out.x, 0, NULL);
    fe_mul(t, rr, t);
    fe_mul(s1, s1, j);
    fe_lin(out.y, 1, t, -2, s1, 0, NULL);           /* Y3 = r (V - X3) - 2 S1 J */
    if (bz != NULL) {
        fe_mul(t, a->z, bz);
        fe_mul(t, t, h);
    } else {
        fe_mul(t, a->z, h);
    }
    fe_lin(out.z, 2, t, 0, NULL, 0, NULL);          /* Z3 = 2 Z1 Z2 H */
    /* The point at infinity on either side: a = O gives b, b = O gives a. */
    point_select(&out, a_inf, &bj, &out);
    point_select(r, b_inf, a, &out);
}

/* ------------------------------------------------------------------ scalars */

/* A 256-bit scalar as 33 little-endian bytes (the last one 0, so windows may read past the top). */
typedef unsigned char scalar[33];

/* The signed 5-bit digit at bit i (i = 0, 5, ..., 255): b(i-1) + b(i) + 2b(i+1) + 4b(i+2) + 8b(i+3) - 16b(i+4). */
static void booth_digit(const scalar k, int i, uint32_t *mag, uint32_t *neg)
{
    uint32_t w;
    int32_t d, s;

    if (i == 0) {
        w = (uint32_t)(k[0] << 1) & 63;
    } else {
        int b = i - 1;
        w = (((uint32_t)k[b >> 3] | (uint32_t)k[(b >> 3) + 1] << 8) >> (b & 7)) & 63;
    }
    d = (int32_t)(w & 1) + (int32_t)((w >> 1) & 15) - 16 * (int32_t)(w >> 5);
    s = d >> 31;
    *mag = (uint32_t)((d ^ s) - s);
    *neg = (uint32_t)s;
}

/* The comb digit for table t at bit i (i < 32): bits i + 32t + 64j, j = 0..3. */
static uint32_t comb_digit(const scalar k, int t, int i)
{
    uint32_t d = 0;

    for (int j = 0; j < 4; j++) {
        int b = i + 32 * t + 64 * j;

        d |= (uint32_t)((k[b >> 3] >> (b & 7)) & 1) << j;
    }
    return d;
}

/* mask of all ones when a == b, for small non-negative values. */
static uint32_t eq_mask(uint32_t a, uint32_t b)
{
    uint32_t x = a ^ b;

    return 0u - ((x - 1) >> 31);
}

/* P, 2P, ..., 16P. */
static void window_table(jpoint table[16], const jpoint *p)
{
    table[0] = *p;
    for (int j = 2; j <= 16; j++) {
        if (j & 1)
            point_add(&table[j - 1], &table[j - 2], p->x, p->y, p->z, 0);
        else
            point_double(&table[j - 1], &table[j / 2 - 1]);
    }
}

/* acc += digit * P for a signed window digit, with the table scanned in constant time. */
static void add_window_ct(jpoint *acc, const jpoint table[16], uint32_t mag, uint32_t neg)
{
    jpoint s;
    fe ny;

    memset(&s, 0, sizeof(s)); /* mag 0 leaves Z = 0: the point at infinity */
    for (uint32_t j = 0; j < 16; j++) {
        uint32_t m = eq_mask(mag, j + 1);

        for (int l = 0; l < 9; l++) {
            s.x[l] |= table[j].x[l] & m;
            s.y[l] |= table[j].y[l] & m;
            s.z[l] |= table[j].z[l] & m;
        }
    }
    fe_lin(ny, -1, s.y, 0, NULL, 0, NULL);
    fe_select(s.y, neg, ny, s.y);
    point_add(acc, acc, s.x, s.y, s.z, 0);
}

/* acc += comb[t][d - 1] (nothing for d = 0), the table scanned in constant time. */
static void add_comb_ct(jpoint *acc, int t, uint32_t d)
{
    apoint s;

    memset(&s, 0, sizeof(s));
    for (uint32_t j = 0; j < 15; j++) {
        uint32_t m = eq_mask(d, j + 1);

        for (int l = 0; l < 9; l++) {
            s.x[l] |= comb[t][j].x[l] & m;
            s.y[l] |= comb[t][j].y[l] & m;
        }
    }
    point_add(acc, acc, s.x, s.y, NULL, eq_mask(d, 0));
}

static void point_set_infinity(jpoint *r)
{
    memset(r, 0, sizeof(*r));
}

/* r = k G, constant time. */
static void mul_base(jpoint *r, const scalar k)
{
    point_set_infinity(r);
    for (int i = 31; i >= 0; i--) {
        if (i != 31)
            point_double(r, r);
        add_comb_ct(r, 0, comb_digit(k, 0, i));
        add_comb_ct(r, 1, comb_digit(k, 1, i));
    }
}

/* r = k P, constant time. */
static void mul_point(jpoint *r, const jpoint *p, const scalar k)
{
    jpoint table[16];

    window_table(table, p);
    point_set_infinity(r);
    for (int i = 255; i >= 0; i -= 5) {
        uint32_t mag, neg;

        if (i != 255)
            for (int d = 0; d < 5; d++)
                point_double(r, r);
        booth_digit(k, i, &mag, &neg);
        add_window_ct(r, table, mag, neg);
    }
    OPENSSL_cleanse(table, sizeof(table));
}

/* r = u1 G + u2 Q, for public scalars (ECDSA verification): branches on their digits. */
static void mul_double_vartime(jpoint *r, const scalar u1, const jpoint *q, const scalar u2)
{
    jpoint table[16];
    int started = 0;

    window_table(table, q);
    point_set_infinity(r);
    for (int i = 255; i >= 0; i--) {
        if (started)
            point_double(r, r);
        if (i % 5 == 0) {
            uint32_t mag, neg;

            booth_digit(u2, i, &mag, &neg);
            if (mag != 0) {
                const jpoint *e = &table[mag - 1];

                if (neg) {
                    fe ny;

                    fe_lin(ny, -1, e->y, 0, NULL, 0, NULL);
                    point_add(r, r, e->x, ny, e->z, 0);
                } else {
                    point_add(r, r, e->x, e->y, e->z, 0);
                }
                started = 1;
            }
        }
        if (i < 32) {
            for (int t = 0; t < 2; t++) {
                uint32_t d = comb_digit(u1, t, i);

                if (d != 0) {
                    point_add(r, r, comb[t][d - 1].x, comb[t][d - 1].y, NULL, 0);
                    started = 1;
                }
            }
        }
    }
}

/*
 * Verification keys seen again. A TLS client verifies with the same few keys over and over: the
 * roots' and the common intermediates' for certificate signatures, and a server's own for each
 * handshake with it. A key met a second time gets comb tables like the generator's (about
 * 150 µs to build), after which u2 Q costs 64 additions instead of 255 doublings and 52
 * additions: verification takes about half the time. Public keys only, so nothing secret is
 * kept; 16 keys, least recently used first out (35 KiB).
 */
#define QCACHE_SIZE 16

typedef struct {
    unsigned char key[64]; /* x and y, big-endian */
    uint32_t used;         /* the clock at its last use; 0: an empty slot */
    int ready;             /* comb holds the tables (else the key was seen once) */
    apoint comb[2][15];
} qcache_entry;

static qcache_entry qcache[QCACHE_SIZE];
static uint32_t qcache_clock;

/* Jacobian to affine for many points with one inversion (Montgomery's trick); none is infinity. */
static void points_to_affine(apoint *out, const jpoint *in, int n)
{
    fe acc[30], inv, zinv, t;

    memcpy(acc[0], in[0].z, sizeof(fe));
    for (int i = 1; i < n; i++)
        fe_mul(acc[i], acc[i - 1], in[i].z);
    fe_inv(inv, acc[n - 1]);
    for (int i = n - 1; i >= 0; i--) {
        if (i > 0) {
            fe_mul(zinv, inv, acc[i - 1]);
            fe_mul(inv, inv, in[i].z);
        } else {
            memcpy(zinv, inv, sizeof(fe));
        }
        fe_sqr(t, zinv);
        fe_mul(out[i].x, in[i].x, t);
        fe_mul(t, t, zinv);
        fe_mul(out[i].y, in[i].y, t);
    }
}

/* comb[t][d - 1] = sum over the bits j of d of 2^(64 j + 32 t) Q, as the generator's tables. */
static void build_comb(apoint comb_out[2][15], const jpoint *q)
{
    jpoint teeth[8], sums[30];

    teeth[0] = *q;
    for (int k = 1; k < 8; k++) {
        teeth[k] = teeth[k - 1];
        for (int i = 0; i < 32; i++)
            point_double(&teeth[k], &teeth[k]);
    }
    for (int t = 0; t < 2; t++) {
        jpoint *row = &sums[15 * t];

        for (int d = 1; d < 16; d++) {
            int low = __builtin_ctz((unsigned)d), rest = d & (d - 1);
            const jpoint *tooth = &teeth[2 * low + t]; /* 2^(64 low + 32 t) Q */

            if (rest == 0)
                row[d - 1] = *tooth;
            else
                point_add(&row[d - 1], &row[rest - 1], tooth->x, tooth->y, tooth->z, 0);
        }
    }
    points_to_affine(&comb_out[0][0], sums, 30);
}

/* The entry for this key, made ready when it is met the second time; NULL when it has no tables yet. */
static const qcache_entry *qcache_get(const unsigned char key[64], const jpoint *q)
{
    qcache_entry *e = NULL, *oldest = &qcache[0];

    if (++qcache_clock == 0) { /* after 2^32 uses: start the clock again */
        memset(qcache, 0, sizeof(qcache));
        qcache_clock = 1;
    }
    for (int i = 0; i < QCACHE_SIZE; i++) {
        if (qcache[i].used != 0 && memcmp(qcache[i].key, key, 64) == 0) {
            e = &qcache[i];
            break;
        }
        if (qcache[i].used < oldest->used)
            oldest = &qcache[i];
    }
    if (e == NULL) {
        memcpy(oldest->key, key, 64);
        oldest->used = qcache_clock;
        oldest->ready = 0;
        return NULL;
    }
    e->used = qcache_clock;
    if (!e->ready) {
        build_comb(e->comb, q);
        e->ready = 1;
    }
    return e;
}

/* r = u1 G + u2 Q with Q's comb tables: 31 doublings. */
static void mul_double_comb(jpoint *r, const scalar u1, const apoint qcomb[2][15], const scalar u2)
{
    int started = 0;

    point_set_infinity(r);
    for (int i = 31; i >= 0; i--) {
        if (started)
            point_double(r, r);
        for (int t = 0; t < 2; t++) {
            uint32_t d = comb_digit(u1, t, i), e = comb_digit(u2, t, i);

            if (d != 0) {
                point_add(r, r, comb[t][d - 1].x, comb[t][d - 1].y, NULL, 0);
                started = 1;
            }
            if (e != 0) {
                point_add(r, r, qcomb[t][e - 1].x, qcomb[t][e - 1].y, NULL, 0);
                started = 1;
            }
        }
    }
}

/* ------------------------------------------------------------------ OpenSSL's interface */

/* A coordinate as 32 big-endian bytes; fails for a negative or too large BIGNUM. */
static int bn_to_bytes(const BIGNUM *bn, unsigned char out[32])
{
    return !BN_is_negative(bn) && BN_bn2binpad(bn, out, 32) == 32;
}

static int point_from_ec(jpoint *r, const EC_POINT *p)
{
    unsigned char b[32];

    if (!bn_to_bytes(p->X, b))
        return 0;
    fe_from_bytes(r->x, b);
    if (!bn_to_bytes(p->Y, b))
        return 0;
    fe_from_bytes(r->y, b);
    if (p->Z_is_one) {
        memcpy(r->z, fe_one, sizeof(fe));
    } else {
        if (!bn_to_bytes(p->Z, b))
            return 0;
        fe_from_bytes(r->z, b);
    }
    return 1;
}

/* The affine coordinates of a (not the point at infinity) as big-endian bytes. */
static void point_to_affine(unsigned char x[32], unsigned char y[32], const jpoint *a)
{
    fe zinv, zinv2, t;

    fe_inv(zinv, a->z);
    fe_sqr(zinv2, zinv);
    fe_mul(t, a->x, zinv2);
    fe_to_bytes(x, t);
    fe_mul(zinv2, zinv2, zinv);
    fe_mul(t, a->y, zinv2);
    fe_to_bytes(y, t);
}

static int point_to_ec(const EC_GROUP *group, EC_POINT *r, const jpoint *a)
{
    unsigned char x[32], y[32];

    if (fe_is_zero(a->z))
        return EC_POINT_set_to_infinity(group, r);
    point_to_affine(x, y, a);
    if (BN_bin2bn(x, 32, r->X) == NULL || BN_bin2bn(y, 32, r->Y) == NULL || !BN_one(r->Z))
        return 0;
    r->Z_is_one = 1;
    return 1;
}

/* A scalar as little-endian bytes, reduced modulo the order when it does not fit 256 bits. */
static int scalar_from_bn(scalar out, const BIGNUM *k, const EC_GROUP *group, BN_CTX *ctx)
{
    memset(out, 0, sizeof(scalar));
    if (BN_num_bits(k) > 256 || BN_is_negative(k)) {
        BIGNUM *t;
        int ok;

        BN_CTX_start(ctx);
        ok = (t = BN_CTX_get(ctx)) != NULL && BN_nnmod(t, k, group->order, ctx)
            && BN_bn2lebinpad(t, out, 32) == 32;
        BN_CTX_end(ctx);
        return ok;
    }
    return BN_bn2lebinpad(k, out, 32) == 32;
}

/* True when the group's generator is the standard one, which the comb tables are made of. */
static int standard_generator(const EC_GROUP *group)
{
    unsigned char x[32], y[32];
    const EC_POINT *g = group->generator;

    return g != NULL && g->Z_is_one && bn_to_bytes(g->X, x) && bn_to_bytes(g->Y, y)
        && memcmp(x, gx_bytes, 32) == 0 && memcmp(y, gy_bytes, 32) == 0;
}

static int p256_points_mul(const EC_GROUP *group, EC_POINT *r, const BIGNUM *scalar_g, size_t num,
                           const EC_POINT *points[], const BIGNUM *scalars[], BN_CTX *ctx)
{
    const EC_POINT *p = num == 1 ? points[0] : NULL;
    const BIGNUM *k = num == 1 ? scalars[0] : NULL;
    BN_CTX *new_ctx = NULL;
    scalar kg, kp;
    jpoint q, out;
    int ret = 0;

    /* Anything else (several points, another generator) goes to OpenSSL's generic code. */
    if (num > 1 || (scalar_g != NULL && !standard_generator(group)))
        return ossl_ec_wNAF_mul(group, r, scalar_g, num, points, scalars, ctx);
    /* NULL scalars count as 0, NULL points and the point at infinity contribute nothing. */
    if (p == NULL || k == NULL || EC_POINT_is_at_infinity(group, p))
        p = NULL;
    if (scalar_g == NULL && p == NULL)
        return EC_POINT_set_to_infinity(group, r);
    if (ctx == NULL && (ctx = new_ctx = BN_CTX_new_ex(group->libctx)) == NULL)
        return 0;
    if ((scalar_g != NULL && !scalar_from_bn(kg, scalar_g, group, ctx))
        || (p != NULL && (!scalar_from_bn(kp, k, group, ctx) || !point_from_ec(&q, p)))) {
        ERR_raise(ERR_LIB_EC, ERR_R_BN_LIB);
        goto end;
    }
    if (p == NULL)
        mul_base(&out, kg);
    else if (scalar_g == NULL)
        mul_point(&out, &q, kp);
    else {
        unsigned char key[64];
        const qcache_entry *e = NULL;

        /* Verification: a key seen before has its tables (only affine keys, as decoded keys are). */
        if (p->Z_is_one && bn_to_bytes(p->X, key) && bn_to_bytes(p->Y, key + 32))
            e = qcache_get(key, &q);
        if (e != NULL)
            mul_double_comb(&out, kg, e->comb, kp);
        else
            mul_double_vartime(&out, kg, &q, kp);
    }
    ret = point_to_ec(group, r, &out);
end:
    OPENSSL_cleanse(kg, sizeof(kg));
    OPENSSL_cleanse(kp, sizeof(kp));
    OPENSSL_cleanse(&out, sizeof(out));
    BN_CTX_free(new_ctx);
    return ret;
}

static int p256_get_affine(const EC_GROUP *group, const EC_POINT *point, BIGNUM *x, BIGNUM *y, BN_CTX *ctx)
{
    unsigned char xb[32], yb[32];
    jpoint a;

    if (EC_POINT_is_at_infinity(group, point)) {
        ERR_raise(ERR_LIB_EC, EC_R_POINT_AT_INFINITY);
        return 0;
    }
    if (point->Z_is_one) {
        if ((x != NULL && BN_copy(x, point->X) == NULL) || (y != NULL && BN_copy(y, point->Y) == NULL))
            return 0;
        return 1;
    }
    if (!point_from_ec(&a, point))
        return 0;
    point_to_affine(xb, yb, &a);
    return (x == NULL || BN_bin2bn(xb, 32, x) != NULL) && (y == NULL || BN_bin2bn(yb, 32, y) != NULL);
}

/* Montgomery multiplication modulo n: r = a b / 2^261 mod n, for inputs below 4n; result below 2n. */
static void sc_mul(fe r, const fe a, const fe b)
{
    int64_t t[18] = { 0 }, c = 0;

#pragma clang loop unroll(full)
    for (int i = 0; i < 9; i++) {
#pragma clang loop unroll(full)
        for (int j = 0; j < 9; j++)
            t[i + j] += (int64_t)((uint64_t)a[i] * b[j]);
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < 9; i++) {
        uint64_t m = ((uint32_t)t[i] * P256_N0) & M29;

#pragma clang loop unroll(full)
        for (int j = 0; j < 9; j++)
            t[i + j] += (int64_t)(m * sc_n[j]);
        t[i + 1] += t[i] >> 29;
    }
    for (int i = 0; i < 8; i++) {
        c += t[9 + i];
        r[i] = (uint32_t)c & M29;
        c >>= 29;
    }
    r[8] = (uint32_t)c;
}

/* r = x^-1 mod n (0 for 0), constant time in x. */
static int p256_inverse_mod_ord(const EC_GROUP *group, BIGNUM *r, const BIGNUM *x, BN_CTX *ctx)
{
    BN_CTX *new_ctx = NULL;
    unsigned char b[32];
    fe table[16], acc, t;
    int64_t c = 0;
    int ok = 0;

    if (ctx == NULL && (ctx = new_ctx = BN_CTX_new_ex(group->libctx)) == NULL)
        return 0;
    BN_CTX_start(ctx);
    if (BN_bn2binpad(group->order, b, 32) != 32 || memcmp(b, n_bytes, 32) != 0) {
        /* A group on this curve with another generator and order: OpenSSL's generic way. */
        BIGNUM *e = BN_CTX_get(ctx);

        ok = e != NULL && BN_copy(e, group->order) != NULL && BN_sub_word(e, 2)
            && BN_mod_exp_mont_consttime(r, x, e, group->order, ctx, NULL);
        goto end;
    }
    if (BN_num_bits(x) > 256 || BN_is_negative(x)) {
        BIGNUM *xr = BN_CTX_get(ctx);

        if (xr == NULL || !BN_nnmod(xr, x, group->order, ctx) || BN_bn2binpad(xr, b, 32) != 32)
            goto end;
    } else if (BN_bn2binpad(x, b, 32) != 32) {
        goto end;
    }
    /* table[j] = x^j in Montgomery form. */
    limbs_from_bytes(t, b);
    sc_mul(table[1], t, sc_r2);
    sc_mul(table[0], raw_one, sc_r2);
    for (int j = 2; j < 16; j++)
        sc_mul(table[j], table[j - 1], table[1]);
    /* The exponent n - 2 is public: its nibbles may choose table entries directly. */
    memcpy(acc, table[n_minus_2[0] >> 4], sizeof(fe));
    for (int i = 1; i < 64; i++) {
        unsigned nib = i & 1 ? n_minus_2[i >> 1] & 15 : n_minus_2[i >> 1] >> 4;

        for (int s = 0; s < 4; s++)
            sc_mul(acc, acc, acc);
        sc_mul(acc, acc, table[nib]);
    }
    sc_mul(acc, acc, raw_one);
    /* Below 2n: subtract n when that does not borrow. */
    for (int i = 0; i < 9; i++) {
        c += (int64_t)acc[i] - sc_n[i];
        t[i] = (uint32_t)c & M29;
        c >>= 29;
    }
    fe_select(acc, (uint32_t)c, acc, t);
    limbs_to_bytes(b, acc);
    ok = BN_bin2bn(b, 32, r) != NULL;
end:
    BN_CTX_end(ctx);
    BN_CTX_free(new_ctx);
    OPENSSL_cleanse(b, sizeof(b));
    OPENSSL_cleanse(table, sizeof(table));
    OPENSSL_cleanse(acc, sizeof(acc));
    OPENSSL_cleanse(t, sizeof(t));
    return ok;
}

/* What OpenSSL's nistp256 group_init and group_set_curve do: a = -3, and only P-256's curve. */
static int p256_group_init(EC_GROUP *group)
{
    int ret = ossl_ec_GFp_simple_group_init(group);

    group->a_is_minus3 = 1;
    return ret;
}

static int p256_group_set_curve(EC_GROUP *group, const BIGNUM *p, const BIGNUM *a, const BIGNUM *b, BN_CTX *ctx)
{
    unsigned char pb[32], ab[32], bb[32];

    if (!bn_to_bytes(p, pb) || !bn_to_bytes(a, ab) || !bn_to_bytes(b, bb) || memcmp(pb, p_bytes, 32) != 0
        || memcmp(ab, a_bytes, 32) != 0 || memcmp(bb, b_bytes, 32) != 0) {
        ERR_raise(ERR_LIB_EC, EC_R_WRONG_CURVE_PARAMETERS);
        return 0;
    }
    group->field_mod_func = BN_nist_mod_256;
    return ossl_ec_GFp_simple_group_set_curve(group, p, a, b, ctx);
}

static int p256_precompute_mult(EC_GROUP *group, BN_CTX *ctx)
{
    (void)group;
    (void)ctx;
    return 1; /* the generator's tables are built in */
}

static int p256_have_precompute_mult(const EC_GROUP *group)
{
    return standard_generator(group);
}

const EC_METHOD *EC_GFp_nistp256_method(void)
{
    static const EC_METHOD ret = {
        EC_FLAGS_DEFAULT_OCT,
        NID_X9_62_prime_field,
        p256_group_init,
        ossl_ec_GFp_simple_group_finish,
        ossl_ec_GFp_simple_group_clear_finish,
        ossl_ec_GFp_nist_group_copy,
        p256_group_set_curve,
        ossl_ec_GFp_simple_group_get_curve,
        ossl_ec_GFp_simple_group_get_degree,
        ossl_ec_group_simple_order_bits,
        ossl_ec_GFp_simple_group_check_discriminant,
        ossl_ec_GFp_simple_point_init,
        ossl_ec_GFp_simple_point_finish,
        ossl_ec_GFp_simple_point_clear_finish,
        ossl_ec_GFp_simple_point_copy,
        ossl_ec_GFp_simple_point_set_to_infinity,
        ossl_ec_GFp_simple_point_set_affine_coordinates,
        p256_get_affine,
        0 /* point_set_compressed_coordinates */,
        0 /* point2oct */,
        0 /* oct2point */,
        ossl_ec_GFp_simple_add,
        ossl_ec_GFp_simple_dbl,
        ossl_ec_GFp_simple_invert,
        ossl_ec_GFp_simple_is_at_infinity,
        ossl_ec_GFp_simple_is_on_curve,
        ossl_ec_GFp_simple_cmp,
        ossl_ec_GFp_simple_make_affine,
        ossl_ec_GFp_simple_points_make_affine,
        p256_points_mul,
        p256_precompute_mult,
        p256_have_precompute_mult,
        ossl_ec_GFp_nist_field_mul,
        ossl_ec_GFp_nist_field_sqr,
        0 /* field_div */,
        ossl_ec_GFp_simple_field_inv,
        0 /* field_encode */,
        0 /* field_decode */,
        0 /* field_set_to_one */,
        ossl_ec_key_simple_priv2oct,
        ossl_ec_key_simple_oct2priv,
        0 /* set private */,
        ossl_ec_key_simple_generate_key,
        ossl_ec_key_simple_check_key,
        ossl_ec_key_simple_generate_public_key,
        0 /* keycopy */,
        0 /* keyfinish */,
        ossl_ecdh_simple_compute_key,
        ossl_ecdsa_simple_sign_setup,
        ossl_ecdsa_simple_sign_sig,
        ossl_ecdsa_simple_verify_sig,
        p256_inverse_mod_ord,
        0 /* blind_coordinates */,
        0 /* ladder_pre */,
        0 /* ladder_step */,
        0 /* ladder_post */,
        0 /* group_full_init */
    };

    return &ret;
}

/* A group made with this method never has a precomputed table of OpenSSL's nistp256 kind. */
NISTP256_PRE_COMP *EC_nistp256_pre_comp_dup(NISTP256_PRE_COMP *pre)
{
    (void)pre;
    return NULL;
}

void EC_nistp256_pre_comp_free(NISTP256_PRE_COMP *pre)
{
    (void)pre;
}
