# The "full" flavor (dist/openssl-full.wasm): everything this build of OpenSSL can do, on top of
# the shared options in wasm/openssl-options.mk: TLS 1.0 and 1.1, DHE and PSK suites, DSA,
# ML-DSA and SLH-DSA, Camellia, ARIA, SM2/3/4, CMS, OCSP and the rest. For tests that need the
# old or the rare (and for the test PKI's ML-DSA keys), at about 1.6 times the download.
OPENSSL_OPTIONS_full :=
OPENSSL_CFLAGS_full := -O2
