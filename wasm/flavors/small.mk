# The "small" flavor, the default (dist/openssl.wasm): TLS 1.2 and 1.3 as browsers, Node and
# Deno speak them today, and nothing else, so that what a browser downloads stays small. Every
# option removes something a TLS user of this package would not reach; the "full" flavor keeps
# them all. Changing this file rebuilds this flavor only.

# Protocols older than TLS 1.2 (Node's default minVersion is TLSv1.2), DTLS, and the TLS
# extensions nobody negotiates any more.
OPENSSL_OPTIONS_small += no-ssl3 no-tls1 no-tls1_1 no-dtls no-srtp no-nextprotoneg no-comp no-ct no-srp no-psk
# Ciphers and digests no TLS 1.2/1.3 cipher suite or web PKI certificate uses.
OPENSSL_OPTIONS_small += no-des no-rc2 no-rc4 no-rc5 no-md4 no-mdc2 no-idea no-seed no-camellia no-aria
OPENSSL_OPTIONS_small += no-bf no-cast no-whirlpool no-rmd160 no-sm2 no-sm3 no-sm4 no-gost no-siphash no-siv
OPENSSL_OPTIONS_small += no-ocb no-cmac no-blake2 no-argon2 no-scrypt no-multiblock no-integrity-only-ciphers
# Public-key algorithms outside TLS's default groups and signature schemes: finite-field DH
# (DHE suites), DSA, binary curves, SLH-DSA and ML-DSA (post-quantum signatures are not in the
# web PKI yet; ML-KEM key exchange stays).
OPENSSL_OPTIONS_small += no-dh no-dsa no-ec2m no-slh-dsa no-ml-dsa
# Message formats and protocols around TLS that the bindings do not use.
OPENSSL_OPTIONS_small += no-cmp no-cms no-ts no-ocsp no-http no-rfc3779
# Old interfaces: deprecated APIs, the legacy provider, file and line names in error records.
OPENSSL_OPTIONS_small += no-deprecated no-legacy no-filenames no-atexit
# No start-up registration of every algorithm's old-style EVP name: that table links every
# cipher and digest OpenSSL has. The shim registers the few names still looked up that way
# (register_legacy_names in wasm/shim.c). The providers the small flavor offers are in
# wasm/flavors/small-provider.c.
OPENSSL_OPTIONS_small += no-autoalginit

# Optimized for size. -O2 makes the module 40% larger, and most of libcrypto gains nothing from
# it, so everything is -Oz except the objects below: bench/README.md.
# -flto: the libraries are LLVM bitcode, optimized with the shim as one program at link time
# (wasm/link.mk), which removes another 7 KB gzip.
OPENSSL_CFLAGS_small := -Oz -flto
# Except the code a handshake spends its time in, recompiled outside LTO so the link does not
# re-inline it: P-384, the bignum core and SHA-2 at -O1 without inlining (client handshake CPU
# 2.28 to 2.12 ms for 3.3 KB gzip); ML-KEM and X25519 at -O2 with a small inlining budget
# (ML-KEM-768 key generation 119 to 64 µs, X25519 110 to 101 µs, for 4.7 KB). P-256 is
# wasm/fast/p256.c. bench/README.md has the steps.
OPENSSL_PASSES_small := hot o2
OPENSSL_PASS_small_hot_CFLAGS := -O1 -mllvm -inline-threshold=0
OPENSSL_PASS_small_hot_OBJECTS := crypto/ec/libcrypto-lib-ecp_nistp384.o crypto/ec/libcrypto-lib-ecp_nistputil.o \
  crypto/bn/libcrypto-lib-bn_asm.o crypto/bn/libcrypto-lib-bn_mont.o \
  crypto/bn/libcrypto-lib-bn_exp.o crypto/sha/libcrypto-lib-sha256.o crypto/sha/libcrypto-lib-sha512.o
OPENSSL_PASS_small_o2_CFLAGS := -O2 -mllvm -inline-threshold=50
OPENSSL_PASS_small_o2_OBJECTS := crypto/ec/libcrypto-lib-curve25519.o crypto/ml_kem/libcrypto-lib-ml_kem.o
