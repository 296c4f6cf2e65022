# The inputs of the OpenSSL build: Configure options and compiler flags. Changing this file
# (or openssl-src/VERSION) reconfigures and recompiles libcrypto and libssl; nothing else does.

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

# -O2 keeps the build time and size moderate; see bench/ for the trade-offs measured.
OPENSSL_CFLAGS := -O2
