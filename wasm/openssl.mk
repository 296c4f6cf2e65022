# How OpenSSL itself is fetched, configured and built for wasm32. Included by the top-level
# Makefile. What goes into the libraries is in wasm/openssl-options.mk; only a change there, to
# the pinned version, or to the compiler rebuilds them (about 3 minutes on 2 cores).

OPENSSL_VERSION := $(shell cat openssl-src/VERSION)
OPENSSL_SHA256  := $(shell cat openssl-src/SHA256)
OPENSSL_TREE    := openssl-src/openssl-$(OPENSSL_VERSION)
OPENSSL_BUILD   := wasm/build/openssl-$(OPENSSL_VERSION)

include wasm/openssl-options.mk

$(OPENSSL_TREE)/.openssl-wasm-sha256: openssl-src/VERSION openssl-src/SHA256 openssl-src/fetch.sh
	openssl-src/fetch.sh
	@touch $@

# Configure runs out of tree, directly with CC=emcc (not under emconfigure, which would set
# CROSS_COMPILE=em and make the Makefile call "ememcc").
$(OPENSSL_BUILD)/Makefile: $(OPENSSL_TREE)/.openssl-wasm-sha256 wasm/openssl-options.mk
	rm -rf $(OPENSSL_BUILD) && mkdir -p $(OPENSSL_BUILD)
	cd $(OPENSSL_BUILD) && $(CURDIR)/$(OPENSSL_TREE)/Configure linux-generic32 \
	  $(OPENSSL_CONFIG_OPTIONS) CC=emcc AR=emar RANLIB=emranlib CFLAGS="$(OPENSSL_CFLAGS)" \
	  > configure.log 2>&1 || { cat configure.log; exit 1; }

# The libraries are also kept in a per-machine cache keyed by everything that goes into them
# (version, checksum, openssl-options.mk, the compiler), so a fresh clone on the same machine
# (as CI is) restores them in a second instead of compiling for minutes. The key is computed
# when the recipe runs (=, not :=), after scripts/install-deps.sh has installed emcc.
OPENSSL_CACHE ?= $(HOME)/.cache/openssl-wasm
export OPENSSL_CACHE
OPENSSL_KEY = $(shell { cat openssl-src/VERSION openssl-src/SHA256 wasm/openssl-options.mk; emcc --version 2>/dev/null | head -1; } | sha256sum | cut -c1-16)
OPENSSL_CACHED = $(OPENSSL_CACHE)/libs-$(OPENSSL_KEY)

$(OPENSSL_BUILD)/libssl.a: $(OPENSSL_BUILD)/Makefile
	@if [ -f $(OPENSSL_CACHED)/libssl.a ]; then \
	  echo "OpenSSL libraries: restored from $(OPENSSL_CACHED)"; \
	  cp $(OPENSSL_CACHED)/libssl.a $(OPENSSL_CACHED)/libcrypto.a $(OPENSSL_BUILD)/ && \
	  cp -r $(OPENSSL_CACHED)/include/. $(OPENSSL_BUILD)/include/ || exit 1; \
	else \
	  echo "OpenSSL libraries: compiling (a few minutes; log in $(OPENSSL_BUILD)/build.log)"; \
	  $(MAKE) -C $(OPENSSL_BUILD) -j$(JOBS) build_libs > $(OPENSSL_BUILD)/build.log 2>&1 || \
	    { tail -40 $(OPENSSL_BUILD)/build.log; exit 1; }; \
	  { rm -rf $(OPENSSL_CACHED).tmp && mkdir -p $(OPENSSL_CACHED).tmp && \
	    cp -r $(OPENSSL_BUILD)/libssl.a $(OPENSSL_BUILD)/libcrypto.a $(OPENSSL_BUILD)/include $(OPENSSL_CACHED).tmp/ && \
	    rm -rf $(OPENSSL_CACHED) && mv $(OPENSSL_CACHED).tmp $(OPENSSL_CACHED); } || \
	    echo "OpenSSL libraries: could not write the cache $(OPENSSL_CACHE); continuing"; \
	fi
	@touch $@

OPENSSL_LIBS := $(OPENSSL_BUILD)/libssl.a $(OPENSSL_BUILD)/libcrypto.a
OPENSSL_INCLUDES := -I$(OPENSSL_BUILD)/include -I$(OPENSSL_TREE)/include
