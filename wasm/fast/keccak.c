/*
 * Keccak-f[1600] and the sponge's absorb and squeeze (FIPS 202), in 64-bit lanes, for wasm32.
 *
 * Replaces OpenSSL's crypto/sha/keccak1600.c at link time (see chacha20.c for how): this file
 * defines the two functions that object exports, SHA3_absorb and SHA3_squeeze, which SHA-3,
 * SHAKE (and so ML-KEM, whose key generation runs some fifty permutations) reach the
 * permutation through. On a target whose pointers are 32 bits OpenSSL stores each lane
 * bit-interleaved as two 32-bit halves and rotates them as such, so that 32-bit machines need
 * no 64-bit rotation; wasm has i64.rotl, one instruction in V8. Here a lane is a plain
 * little-endian 64-bit word, so the state that passes between these two functions (which only
 * they read: sha3.c and the provider treat it as opaque, zeroing it to start) is the
 * standard one.
 *
 * The permutation is the specification's five steps per round: theta, rho and pi together
 * (each lane rotated into its new place), chi and iota, with the 25 lanes in locals.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

size_t SHA3_absorb(uint64_t A[5][5], const unsigned char *inp, size_t len, size_t r);
void SHA3_squeeze(uint64_t A[5][5], unsigned char *out, size_t len, size_t r, int next);

/* The round constants of iota: RC[i] from the degree-8 LFSR of FIPS 202 3.2.5. */
static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL
};

/* rho's offsets for lane (x, y) at index x + 5 y (FIPS 202 table 2). */
static const unsigned rho[25] = {
    0, 1, 62, 28, 27,
    36, 44, 6, 55, 20,
    3, 10, 43, 25, 39,
    41, 45, 15, 21, 8,
    18, 2, 61, 56, 14
};

static inline uint64_t rotl(uint64_t v, unsigned n)
{
    return n == 0 ? v : (v << n) | (v >> (64 - n));
}

static void keccak_f1600(uint64_t *state)
{
    uint64_t a[25], b[25], c[5], d[5];

    memcpy(a, state, sizeof(a));
    for (int round = 0; round < 24; round++) {
#pragma clang loop unroll(full)
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#pragma clang loop unroll(full)
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
        /* theta, then rho and pi: lane (x, y) goes, rotated, to (y, 2x + 3y). */
#pragma clang loop unroll(full)
        for (int y = 0; y < 5; y++) {
#pragma clang loop unroll(full)
            for (int x = 0; x < 5; x++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y] ^ d[x], rho[x + 5 * y]);
        }
        /* chi, along each row. */
#pragma clang loop unroll(full)
        for (int y = 0; y < 5; y++) {
#pragma clang loop unroll(full)
            for (int x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        }
        a[0] ^= round_constants[round];
    }
    memcpy(state, a, sizeof(a));
}

static uint64_t load64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, 8); /* wasm is little-endian, as the lanes are */
    return v;
}

/* Absorbs every whole block of r bytes; returns how many bytes were left over (fewer than r). */
size_t SHA3_absorb(uint64_t A[5][5], const unsigned char *inp, size_t len, size_t r)
{
    uint64_t *lanes = &A[0][0];
    size_t w = r / 8;

    while (len >= r) {
        for (size_t i = 0; i < w; i++)
            lanes[i] ^= load64(inp + 8 * i);
        keccak_f1600(lanes);
        inp += r;
        len -= r;
    }
    return len;
}

/*
 * Writes len bytes of output. With next set, the state is permuted before the first block (a
 * later call of a multi-call squeeze, whose len is then a multiple of r); between blocks it
 * always is.
 */
void SHA3_squeeze(uint64_t A[5][5], unsigned char *out, size_t len, size_t r, int next)
{
    uint64_t *lanes = &A[0][0];

    while (len != 0) {
        size_t n = len < r ? len : r;

        if (next)
            keccak_f1600(lanes);
        next = 1;
        memcpy(out, lanes, n); /* little-endian lanes: the bytes in order */
        out += n;
        len -= n;
    }
}
