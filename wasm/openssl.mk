# How OpenSSL itself is configured and built for wasm32. Included by the top-level Makefile.
# Changing anything in this file reconfigures and rebuilds libcrypto and libssl (about 4 minutes
# on 2 cores); nothing else does, so a second `make` leaves them alone.

OPENSSL_VERSION := $(shell cat openssl-src/VERSION)
OPENSSL_SHA256  := $(shell cat openssl-src/SHA256)
OPENSSL_TREE    := openssl-src/openssl-$(OPENSSL_VERSION)
OPENSSL_BUILD   := wasm/build/openssl-$(OPENSSL_VERSION)

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

$(OPENSSL_TREE)/.openssl-wasm-sha256: openssl-src/VERSION openssl-src/SHA256 openssl-src/fetch.sh
	openssl-src/fetch.sh
	@touch $@

# Configure runs out of tree, directly with CC=emcc (not under emconfigure, which would set
# CROSS_COMPILE=em and make the Makefile call "ememcc").
$(OPENSSL_BUILD)/Makefile: $(OPENSSL_TREE)/.openssl-wasm-sha256 wasm/openssl.mk
	rm -rf $(OPENSSL_BUILD) && mkdir -p $(OPENSSL_BUILD)
	cd $(OPENSSL_BUILD) && $(CURDIR)/$(OPENSSL_TREE)/Configure linux-generic32 \
	  $(OPENSSL_CONFIG_OPTIONS) CC=emcc AR=emar RANLIB=emranlib CFLAGS="$(OPENSSL_CFLAGS)" \
	  > configure.log 2>&1 || { cat configure.log; exit 1; }

$(OPENSSL_BUILD)/libssl.a: $(OPENSSL_BUILD)/Makefile
	$(MAKE) -C $(OPENSSL_BUILD) -j$(JOBS) build_libs > $(OPENSSL_BUILD)/build.log 2>&1 || \
	  { tail -40 $(OPENSSL_BUILD)/build.log; exit 1; }
	@touch $@

OPENSSL_LIBS := $(OPENSSL_BUILD)/libssl.a $(OPENSSL_BUILD)/libcrypto.a
OPENSSL_INCLUDES := -I$(OPENSSL_BUILD)/include -I$(OPENSSL_TREE)/include
