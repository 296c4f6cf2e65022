/*
 * Poly1305 (RFC 8439) in 26-bit limbs, for wasm32.
 *
 * Replaces OpenSSL's crypto/poly1305/poly1305.c at link time (see chacha20.c for how). On a
 * target that has __int128, OpenSSL picks its 64-bit-limb code, whose 64x64->128 products are
 * calls to a compiler runtime routine in wasm32. Here every product is 32x32->64, one native
 * i64.mul, and the whole state fits the opaque POLY1305 structure of include/crypto/poly1305.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "crypto/poly1305.h"

typedef struct {
    uint32_t r[5], s[4]; /* key limbs; s[i] = 5 * r[i + 1] */
    uint32_t h[5];       /* accumulator */
} p1305_state;

/* The state lives in the caller's POLY1305 (its opaque member), so the size must fit. */
typedef char p1305_state_fits[sizeof(p1305_state) <= sizeof(((POLY1305 *)0)->opaque) ? 1 : -1];

#define M26 0x3ffffffu

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* h = (h + m) * r mod 2^130 - 5, for each 16-byte block m; hibit is 2^128 in limb 4 (bit 24). */
static void p1305_blocks(p1305_state *st, const unsigned char *m, size_t len, uint32_t hibit)
{
    const uint64_t r0 = st->r[0], r1 = st->r[1], r2 = st->r[2], r3 = st->r[3], r4 = st->r[4];
    const uint64_t s1 = st->s[0], s2 = st->s[1], s3 = st->s[2], s4 = st->s[3];
    uint32_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4];

    while (len >= 16) {
        uint32_t t0 = le32(m), t1 = le32(m + 4), t2 = le32(m + 8), t3 = le32(m + 12);
        uint64_t d0, d1, d2, d3, d4, c;

        h0 += t0 & M26;
        h1 += ((t0 >> 26) | (t1 << 6)) & M26;
        h2 += ((t1 >> 20) | (t2 << 12)) & M26;
        h3 += ((t2 >> 14) | (t3 << 18)) & M26;
        h4 += (t3 >> 8) | hibit;

        d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
        d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
        d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
        d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
        d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;

        c = d0 >> 26; h0 = (uint32_t)d0 & M26; d1 += c;
        c = d1 >> 26; h1 = (uint32_t)d1 & M26; d2 += c;
        c = d2 >> 26; h2 = (uint32_t)d2 & M26; d3 += c;
        c = d3 >> 26; h3 = (uint32_t)d3 & M26; d4 += c;
        c = d4 >> 26; h4 = (uint32_t)d4 & M26;
        h0 += (uint32_t)c * 5;
        h1 += h0 >> 26;
        h0 &= M26;

        m += 16;
        len -= 16;
    }
    st->h[0] = h0; st->h[1] = h1; st->h[2] = h2; st->h[3] = h3; st->h[4] = h4;
}

size_t Poly1305_ctx_size(void)
{
    return sizeof(POLY1305);
}

void Poly1305_Init(POLY1305 *ctx, const unsigned char key[32])
{
    p1305_state *st = (p1305_state *)ctx->opaque;
    int i;

    memset(ctx, 0, sizeof(*ctx));
    /* r, clamped as RFC 8439 section 2.5 says, split into 26-bit limbs. */
    st->r[0] = le32(key) & 0x3ffffff;
    st->r[1] = (le32(key + 3) >> 2) & 0x3ffff03;
    st->r[2] = (le32(key + 6) >> 4) & 0x3ffc0ff;
    st->r[3] = (le32(key + 9) >> 6) & 0x3f03fff;
    st->r[4] = (le32(key + 12) >> 8) & 0x00fffff;
    for (i = 0; i < 4; i++)
        st->s[i] = st->r[i + 1] * 5;
    for (i = 0; i < 4; i++)
        ctx->nonce[i] = le32(key + 16 + 4 * i);
    ctx->num = 0;
}

void Poly1305_Update(POLY1305 *ctx, const unsigned char *inp, size_t len)
{
    p1305_state *st = (p1305_state *)ctx->opaque;
    size_t full;

    if (ctx->num > 0) {
        size_t take = POLY1305_BLOCK_SIZE - ctx->num;

        if (take > len)
            take = len;
        memcpy(ctx->data + ctx->num, inp, take);
        ctx->num += take;
        inp += take;
        len -= take;
        if (ctx->num < POLY1305_BLOCK_SIZE)
            return;
        p1305_blocks(st, ctx->data, POLY1305_BLOCK_SIZE, 1u << 24);
        ctx->num = 0;
    }
    full = len & ~(size_t)(POLY1305_BLOCK_SIZE - 1);
    if (full > 0) {
        p1305_blocks(st, inp, full, 1u << 24);
        inp += full;
        len -= full;
    }
    if (len > 0) {
        memcpy(ctx->data, inp, len);
        ctx->num = len;
    }
}

void Poly1305_Final(POLY1305 *ctx, unsigned char mac[16])
{
    p1305_state *st = (p1305_state *)ctx->opaque;
    uint32_t h0, h1, h2, h3, h4, g0, g1, g2, g3, g4, c, mask;
    uint64_t f;

    if (ctx->num > 0) {
        /* The last, short block: a 1 byte after the message, zeros after that, no 2^128. */
        ctx->data[ctx->num] = 1;
        memset(ctx->data + ctx->num + 1, 0, POLY1305_BLOCK_SIZE - ctx->num - 1);
        p1305_blocks(st, ctx->data, POLY1305_BLOCK_SIZE, 0);
    }

    h0 = st->h[0]; h1 = st->h[1]; h2 = st->h[2]; h3 = st->h[3]; h4 = st->h[4];
    c = h1 >> 26; h1 &= M26; h2 += c;
    c = h2 >> 26; h2 &= M26; h3 += c;
    c = h3 >> 26; h3 &= M26; h4 += c;
    c = h4 >> 26; h4 &= M26; h0 += c * 5;
    c = h0 >> 26; h0 &= M26; h1 += c;

    /* g = h + 5 - 2^130; if it does not go negative, h >= p and the result is g. */
    g0 = h0 + 5; c = g0 >> 26; g0 &= M26;
    g1 = h1 + c; c = g1 >> 26; g1 &= M26;
    g2 = h2 + c; c = g2 >> 26; g2 &= M26;
    g3 = h3 + c; c = g3 >> 26; g3 &= M26;
    g4 = h4 + c - (1u << 26);
    mask = (g4 >> 31) - 1; /* all ones when g is the answer, zero when h is */
    h0 = (h0 & ~mask) | (g0 & mask);
    h1 = (h1 & ~mask) | (g1 & mask);
    h2 = (h2 & ~mask) | (g2 & mask);
    h3 = (h3 & ~mask) | (g3 & mask);
    h4 = (h4 & ~mask) | (g4 & mask);

    /* To four 32-bit words (mod 2^128), then add the nonce half of the key. */
    h0 = h0 | (h1 << 26);
    h1 = (h1 >> 6) | (h2 << 20);
    h2 = (h2 >> 12) | (h3 << 14);
    h3 = (h3 >> 18) | (h4 << 8);
    f = (uint64_t)h0 + ctx->nonce[0];             put_le32(mac, (uint32_t)f);
    f = (uint64_t)h1 + ctx->nonce[1] + (f >> 32); put_le32(mac + 4, (uint32_t)f);
    f = (uint64_t)h2 + ctx->nonce[2] + (f >> 32); put_le32(mac + 8, (uint32_t)f);
    f = (uint64_t)h3 + ctx->nonce[3] + (f >> 32); put_le32(mac + 12, (uint32_t)f);

    /* The one-time key and the state are secrets. */
    memset(ctx, 0, sizeof(*ctx));
    __asm__ volatile("" : : "r"(ctx) : "memory");
}
