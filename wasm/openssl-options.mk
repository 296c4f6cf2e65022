# The inputs of the OpenSSL build that every flavor shares: Configure options, each with its
# reason. What a flavor adds (algorithms trimmed, optimization level) is in wasm/flavors/*.mk.
# Changing this file (or openssl-src/VERSION) reconfigures and recompiles every flavor.

# Every option, and why it is there. A TLS engine fed through memory BIOs needs none of
# OpenSSL's ways of touching the operating system, and a standalone wasm module has none.
OPENSSL_CONFIG_OPTIONS += no-asm                 # wasm has no x86/ARM assembly; the portable C paths are used
OPENSSL_CONFIG_OPTIONS += no-threads             # the module is single-threaded: no pthreads inside wasm
OPENSSL_CONFIG_OPTIONS += no-shared              # static archives, linked with the shim into one .wasm
OPENSSL_CONFIG_OPTIONS += no-dso                 # no dlopen in a standalone module
OPENSSL_CONFIG_OPTIONS += no-module              # providers are built in; none is loaded from disk
OPENSSL_CONFIG_OPTIONS += no-engine              # engines are loadable modules (and deprecated)
OPENSSL_CONFIG_OPTIONS += no-sock                # no sockets: ciphertext moves through memory BIOs
OPENSSL_CONFIG_OPTIONS += no-dgram               # no datagram BIO, so no DTLS and no QUIC over UDP
OPENSSL_CONFIG_OPTIONS += no-quic                # QUIC needs datagram I/O, which this build does not do
OPENSSL_CONFIG_OPTIONS += no-stdio               # no FILE* APIs: certificates and keys come from memory
OPENSSL_CONFIG_OPTIONS += no-ui-console          # no terminal prompts; passphrases are passed in
OPENSSL_CONFIG_OPTIONS += no-autoload-config     # never read openssl.cnf from a file system
OPENSSL_CONFIG_OPTIONS += no-async               # no ucontext/fibres in wasm
OPENSSL_CONFIG_OPTIONS += no-afalgeng no-ktls    # Linux kernel crypto and kernel TLS: not in wasm
OPENSSL_CONFIG_OPTIONS += no-secure-memory       # the secure heap needs mmap/mlock
OPENSSL_CONFIG_OPTIONS += no-egd                 # no entropy-gathering daemon socket
OPENSSL_CONFIG_OPTIONS += --with-rand-seed=none  # no OS entropy source is compiled in: the shim installs the host's (wasm/seed.c)
OPENSSL_CONFIG_OPTIONS += no-apps no-tests no-docs # only libcrypto and libssl are built
OPENSSL_CONFIG_OPTIONS += no-pic                 # static archives only: position-independent code only costs size and speed
OPENSSL_CONFIG_OPTIONS += no-ssl-trace           # SSL_trace's text dumps; the message callback (onmessage) does not need them
# P-224/256/384/521 in 64-bit limbs with 128-bit products (the "nistp" code, which needs
# __int128; clang has it for wasm32). It made a P-256 handshake 1.6x faster than the generic
# BIGNUM code: see bench/README.md.
OPENSSL_CONFIG_OPTIONS += enable-ec_nistp_64_gcc_128

# The flavors, each a wasm module of its own: "small" (the default: what a TLS client or server
# needs) and "full" (everything this build of OpenSSL can do). See wasm/flavors/.
OPENSSL_FLAVORS := small full
