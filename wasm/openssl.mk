# How OpenSSL itself is fetched, configured and built for wasm32, once per flavor. Included by
# the top-level Makefile. What goes into the libraries is in wasm/openssl-options.mk (shared)
# and wasm/flavors/<flavor>.mk; only a change there, to the pinned version, or to the compiler
# rebuilds a flavor's libraries (1 to 4 minutes each on 2 cores).

OPENSSL_VERSION := $(shell cat openssl-src/VERSION)
OPENSSL_SHA256  := $(shell cat openssl-src/SHA256)
OPENSSL_TREE    := openssl-src/openssl-$(OPENSSL_VERSION)

include wasm/openssl-options.mk
include $(foreach f,$(OPENSSL_FLAVORS),wasm/flavors/$(f).mk)

$(OPENSSL_TREE)/.openssl-wasm-sha256: openssl-src/VERSION openssl-src/SHA256 openssl-src/fetch.sh
	openssl-src/fetch.sh
	@touch $@

# A flavor may list further passes (OPENSSL_PASSES_<flavor>), each recompiling some objects
# (OPENSSL_PASS_<flavor>_<pass>_OBJECTS) with other flags (..._CFLAGS) after the first: OpenSSL's
# Makefile then rebuilds only the objects removed, and the archives.

# The libraries are also kept in a per-machine cache keyed by everything that goes into them
# (version, checksum, the options files, the compiler), so a fresh clone on the same machine
# (as CI is) restores them in a second instead of compiling for minutes. The key is computed
# when the recipe runs (=, not :=), after scripts/install-deps.sh has installed emcc.
OPENSSL_CACHE ?= $(HOME)/.cache/openssl-wasm
export OPENSSL_CACHE

# openssl_flavor(flavor): the rules that build one flavor's libcrypto.a and libssl.a in
# wasm/build/<flavor>/openssl-<version>.
define openssl_flavor
OPENSSL_BUILD_$(1) := wasm/build/$(1)/openssl-$(OPENSSL_VERSION)
OPENSSL_INPUTS_$(1) := openssl-src/VERSION openssl-src/SHA256 wasm/openssl-options.mk wasm/flavors/$(1).mk
OPENSSL_KEY_$(1) = $$(shell { cat $$(OPENSSL_INPUTS_$(1)); emcc --version 2>/dev/null | head -1; } | sha256sum | cut -c1-16)
OPENSSL_CACHED_$(1) = $$(OPENSSL_CACHE)/libs-$(1)-$$(OPENSSL_KEY_$(1))

# Configure runs out of tree, directly with CC=emcc (not under emconfigure, which would set
# CROSS_COMPILE=em and make the Makefile call "ememcc").
$$(OPENSSL_BUILD_$(1))/Makefile: $(OPENSSL_TREE)/.openssl-wasm-sha256 $$(OPENSSL_INPUTS_$(1))
	rm -rf $$(OPENSSL_BUILD_$(1)) && mkdir -p $$(OPENSSL_BUILD_$(1))
	cd $$(OPENSSL_BUILD_$(1)) && $(CURDIR)/$(OPENSSL_TREE)/Configure linux-generic32 \
	  $$(OPENSSL_CONFIG_OPTIONS) $$(OPENSSL_OPTIONS_$(1)) \
	  CC=emcc AR=emar RANLIB=emranlib CFLAGS="$$(OPENSSL_CFLAGS_$(1))" \
	  > configure.log 2>&1 || { cat configure.log; exit 1; }

$$(OPENSSL_BUILD_$(1))/libssl.a: $$(OPENSSL_BUILD_$(1))/Makefile
	@if [ -f $$(OPENSSL_CACHED_$(1))/libssl.a ]; then \
	  echo "OpenSSL $(1) libraries: restored from $$(OPENSSL_CACHED_$(1))"; \
	  cp $$(OPENSSL_CACHED_$(1))/libssl.a $$(OPENSSL_CACHED_$(1))/libcrypto.a $$(OPENSSL_BUILD_$(1))/ && \
	  cp -r $$(OPENSSL_CACHED_$(1))/include/. $$(OPENSSL_BUILD_$(1))/include/ || exit 1; \
	else \
	  echo "OpenSSL $(1) libraries: compiling (a few minutes; log in $$(OPENSSL_BUILD_$(1))/build.log)"; \
	  $(MAKE) -C $$(OPENSSL_BUILD_$(1)) -j$(JOBS) build_libs > $$(OPENSSL_BUILD_$(1))/build.log 2>&1 || \
	    { tail -40 $$(OPENSSL_BUILD_$(1))/build.log; exit 1; }; \
	  $$(foreach pass,$$(OPENSSL_PASSES_$(1)), \
	    (cd $$(OPENSSL_BUILD_$(1)) && rm -f $$(OPENSSL_PASS_$(1)_$$(pass)_OBJECTS)) && \
	    $(MAKE) -C $$(OPENSSL_BUILD_$(1)) -j$(JOBS) build_libs CFLAGS="$$(OPENSSL_PASS_$(1)_$$(pass)_CFLAGS)" \
	      >> $$(OPENSSL_BUILD_$(1))/build.log 2>&1 || { tail -40 $$(OPENSSL_BUILD_$(1))/build.log; exit 1; };) \
	  { rm -rf $$(OPENSSL_CACHED_$(1)).tmp && mkdir -p $$(OPENSSL_CACHED_$(1)).tmp && \
	    cp -r $$(OPENSSL_BUILD_$(1))/libssl.a $$(OPENSSL_BUILD_$(1))/libcrypto.a $$(OPENSSL_BUILD_$(1))/include $$(OPENSSL_CACHED_$(1)).tmp/ && \
	    rm -rf $$(OPENSSL_CACHED_$(1)) && mv $$(OPENSSL_CACHED_$(1)).tmp $$(OPENSSL_CACHED_$(1)); } || \
	    echo "OpenSSL $(1) libraries: could not write the cache $$(OPENSSL_CACHE); continuing"; \
	fi
	@touch $$@

OPENSSL_LIBS_$(1) := $$(OPENSSL_BUILD_$(1))/libssl.a $$(OPENSSL_BUILD_$(1))/libcrypto.a
OPENSSL_INCLUDES_$(1) := -I$$(OPENSSL_BUILD_$(1))/include -I$(OPENSSL_TREE)/include
endef

$(foreach f,$(OPENSSL_FLAVORS),$(eval $(call openssl_flavor,$(f))))
