/*
 * ChaCha20 (RFC 8439) with WebAssembly SIMD: four blocks at a time.
 *
 * This file replaces OpenSSL's portable ChaCha20_ctr32 (crypto/chacha/chacha_enc.c) at link
 * time: the shim's objects are linked before libcrypto.a, so the archive member that defines
 * the same symbol is never pulled in. The contract is OpenSSL's (include/crypto/chacha.h):
 * encrypt or decrypt len bytes (in place or not) with the key stream that starts at block
 * counter[0] of nonce counter[1..3]; only the 32-bit block counter advances, and it wraps, as
 * the caller expects.
 *
 * Layout: sixteen vectors, vector i holding state word i of four consecutive blocks, so a
 * quarter round is four lane-wise quarter rounds. After the rounds a 4x4 transpose per group
 * of four words turns the lanes back into 64-byte blocks.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <wasm_simd128.h>

void ChaCha20_ctr32(unsigned char *out, const unsigned char *inp, size_t len,
                    const unsigned int key[8], const unsigned int counter[4]);

#define ROTL_V(v, n) wasm_v128_or(wasm_i32x4_shl((v), (n)), wasm_u32x4_shr((v), 32 - (n)))
/* Rotations by 16 and 8 bits are byte moves: one shuffle instead of two shifts and an or. */
#define ROTL16_V(v) wasm_i8x16_shuffle((v), (v), 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)
#define ROTL8_V(v) wasm_i8x16_shuffle((v), (v), 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14)

#define QR_V(a, b, c, d)                                                  \
    do {                                                                  \
        a = wasm_i32x4_add(a, b); d = wasm_v128_xor(d, a); d = ROTL16_V(d); \
        c = wasm_i32x4_add(c, d); b = wasm_v128_xor(b, c); b = ROTL_V(b, 12); \
        a = wasm_i32x4_add(a, b); d = wasm_v128_xor(d, a); d = ROTL8_V(d);  \
        c = wasm_i32x4_add(c, d); b = wasm_v128_xor(b, c); b = ROTL_V(b, 7);  \
    } while (0)

static const uint32_t SIGMA[4] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };

/* Four blocks of key stream, blocks ctr .. ctr+3 (mod 2^32), written as 256 bytes. */
static void chacha_4blocks(uint8_t ks[256], const uint32_t in[16])
{
    v128_t s[16], x[16];
    int i;

    for (i = 0; i < 16; i++)
        s[i] = wasm_i32x4_splat((int32_t)in[i]);
    s[12] = wasm_i32x4_add(s[12], wasm_i32x4_make(0, 1, 2, 3));
    memcpy(x, s, sizeof(x));

    for (i = 0; i < 10; i++) {
        QR_V(x[0], x[4], x[8], x[12]);
        QR_V(x[1], x[5], x[9], x[13]);
        QR_V(x[2], x[6], x[10], x[14]);
        QR_V(x[3], x[7], x[11], x[15]);
        QR_V(x[0], x[5], x[10], x[15]);
        QR_V(x[1], x[6], x[11], x[12]);
        QR_V(x[2], x[7], x[8], x[13]);
        QR_V(x[3], x[4], x[9], x[14]);
    }
    for (i = 0; i < 16; i++)
        x[i] = wasm_i32x4_add(x[i], s[i]);

    /* Words 4g..4g+3 of the four blocks: transpose so each vector is 16 bytes of one block. */
    for (i = 0; i < 16; i += 4) {
        v128_t t0 = wasm_i32x4_shuffle(x[i], x[i + 1], 0, 4, 1, 5);
        v128_t t1 = wasm_i32x4_shuffle(x[i], x[i + 1], 2, 6, 3, 7);
        v128_t t2 = wasm_i32x4_shuffle(x[i + 2], x[i + 3], 0, 4, 1, 5);
        v128_t t3 = wasm_i32x4_shuffle(x[i + 2], x[i + 3], 2, 6, 3, 7);
        wasm_v128_store(ks + 0 * 64 + i * 4, wasm_i64x2_shuffle(t0, t2, 0, 2));
        wasm_v128_store(ks + 1 * 64 + i * 4, wasm_i64x2_shuffle(t0, t2, 1, 3));
        wasm_v128_store(ks + 2 * 64 + i * 4, wasm_i64x2_shuffle(t1, t3, 0, 2));
        wasm_v128_store(ks + 3 * 64 + i * 4, wasm_i64x2_shuffle(t1, t3, 1, 3));
    }
}

void ChaCha20_ctr32(unsigned char *out, const unsigned char *inp, size_t len,
                    const unsigned int key[8], const unsigned int counter[4])
{
    uint32_t in[16];
    uint8_t ks[256];
    size_t i;

    memcpy(in, SIGMA, 16);
    memcpy(in + 4, key, 32);
    memcpy(in + 12, counter, 16);

    while (len >= 256) {
        chacha_4blocks(ks, in);
        for (i = 0; i < 256; i += 16)
            wasm_v128_store(out + i, wasm_v128_xor(wasm_v128_load(inp + i), wasm_v128_load(ks + i)));
        in[12] += 4;
        out += 256;
        inp += 256;
        len -= 256;
    }
    if (len > 0) {
        chacha_4blocks(ks, in);
        for (i = 0; i + 16 <= len; i += 16)
            wasm_v128_store(out + i, wasm_v128_xor(wasm_v128_load(inp + i), wasm_v128_load(ks + i)));
        for (; i < len; i++)
            out[i] = inp[i] ^ ks[i];
    }
    /* The key stream is a secret: do not leave it on the stack. */
    memset(ks, 0, sizeof(ks));
    __asm__ volatile("" : : "r"(ks) : "memory");
}
