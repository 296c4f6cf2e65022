# make kat: OpenSSL's own known-answer tests. test/evp_test.c, from the unpacked tree, compiled
# against each flavor's libcrypto.a and linked exactly as that flavor's module is (wasm/link.mk:
# the shim, the fast paths, the flavor's own C, the same link flags and -O level), so a
# replacement added there (FAST_SOURCES, FLAVOR_SOURCES_<flavor>) is tested here with no change.
# test/kat/run.mjs runs the result over test/recipes/30-test_evp_data/*.txt.
# Included by the top-level Makefile after wasm/link.mk.

KAT_BUILD := wasm/build/kat

# libtestutil.a's sources as OpenSSL's test/build.info lists them, with apps/lib/opt.c (the
# option parser they use). Compiled from the unpacked tree: no line of OpenSSL is in this repo.
KAT_TESTUTIL := basic_output output driver tests cb stanza format_output load fake_random \
  test_cleanup main testutil_init options test_options provider apps_shims random helper compare
KAT_TESTUTIL_SOURCES := $(KAT_TESTUTIL:%=test/testutil/%.c) apps/lib/opt.c

# The test program's stdio and config-file calls, redirected to wasm/kat/kat.c (compat.h says
# which and why). -D on the command line, not a patched copy: OpenSSL's files stay as shipped.
KAT_REDIRECTS := -include wasm/kat/compat.h -DBIO_new_fp=kat_bio_new_fp \
  -DBIO_new_file=kat_bio_new_file -DERR_print_errors_fp=kat_err_print_errors_fp
# evp_test.c only: its provider set-up, wrapped by kat_get_libctx (kat.c) to start the module
# as the product does and give the test's own library context the host's entropy.
KAT_EVP_REDIRECTS := -Dtest_get_libctx=kat_get_libctx
# What OpenSSL's Makefile gives its test programs (BIN_CPPFLAGS), and their include paths
# (test/build.info). -O1: the test program is not what is measured; the libraries keep theirs.
KAT_CFLAGS := -O1 -DOPENSSL_BUILDING_OPENSSL -DNDEBUG
KAT_INCLUDES := -I$(OPENSSL_TREE)/apps/include -I$(OPENSSL_TREE)
# evp_test calls deprecated APIs on purpose where a flavor still has them (CMAC keys).
KAT_WARNINGS := -Wno-deprecated-declarations

# The product's link flags, except that this is a program (main, run through WASI _start)
# rather than a reactor, plus the harness's own host imports.
KAT_LDFLAGS := $(filter-out --no-entry,$(WASM_LDFLAGS))
KAT_LDFLAGS += --js-library wasm/kat/imports.js  # kat.file_size and kat.file_read (kat.c)

# A source in the tree exists once the tarball is unpacked (and checked): this lets the
# objects' pattern rules wait for the fetch on a fresh clone.
$(OPENSSL_TREE)/%.c: $(OPENSSL_TREE)/.openssl-wasm-sha256 ;

# kat_flavor(flavor): wasm/build/kat/evp_test-<flavor>.wasm.
define kat_flavor
KAT_DIR_$(1)      := $(KAT_BUILD)/$(1)
KAT_WASM_$(1)     := $(KAT_BUILD)/evp_test-$(1).wasm
KAT_TESTUTIL_$(1) := $$(KAT_DIR_$(1))/libtestutil.a
KAT_OBJECTS_$(1)  := $$(KAT_DIR_$(1))/test/evp_test.o $$(KAT_DIR_$(1))/kat.o
# Only a flavor built with the legacy provider loads it (kat.c), as OpenSSL's own tests do.
KAT_DEFINES_$(1)  := $(if $(filter no-legacy,$(OPENSSL_CONFIG_OPTIONS) $(OPENSSL_OPTIONS_$(1))),,-DKAT_LEGACY)

# Each flavor's objects: its configuration.h decides what the test program compiles in.
$$(KAT_DIR_$(1))/%.o: $(OPENSSL_TREE)/%.c wasm/kat/compat.h wasm/kat/kat.mk $$(OPENSSL_LIBS_$(1))
	@mkdir -p $$(@D)
	emcc $(KAT_CFLAGS) $(KAT_WARNINGS) $$(OPENSSL_INCLUDES_$(1)) $(KAT_INCLUDES) $(KAT_REDIRECTS) \
	  $$(if $$(filter %/evp_test.o,$$@),$(KAT_EVP_REDIRECTS)) -c $$< -o $$@

$$(KAT_DIR_$(1))/kat.o: wasm/kat/kat.c wasm/kat/compat.h $(SHIM_HEADERS) wasm/kat/kat.mk $$(OPENSSL_LIBS_$(1))
	@mkdir -p $$(@D)
	emcc $(SHIM_CFLAGS) $(KAT_CFLAGS) $$(KAT_DEFINES_$(1)) $$(OPENSSL_INCLUDES_$(1)) $(KAT_REDIRECTS) -c $$< -o $$@

$$(KAT_TESTUTIL_$(1)): $(KAT_TESTUTIL_SOURCES:%.c=$$(KAT_DIR_$(1))/%.o)
	rm -f $$@ && emar rcs $$@ $$^

$$(KAT_WASM_$(1)): $$(KAT_OBJECTS_$(1)) $$(KAT_TESTUTIL_$(1)) $(SHIM_SOURCES) $(SHIM_HEADERS) $$(FAST_OBJECTS_$(1)) \
    $$(FLAVOR_SOURCES_$(1)) $$(OPENSSL_LIBS_$(1)) wasm/link.mk wasm/imports.js wasm/kat/kat.mk wasm/kat/imports.js
	emcc $(SHIM_CFLAGS) $$(OPENSSL_INCLUDES_$(1)) $$(FLAVOR_INCLUDES_$(1)) -DOW_FLAVOR='"$(1)"' $(KAT_LDFLAGS) $$(WASM_OPT_$(1)) \
	  $(SHIM_SOURCES) $$(FAST_OBJECTS_$(1)) $$(FLAVOR_SOURCES_$(1)) $$(KAT_OBJECTS_$(1)) $$(KAT_TESTUTIL_$(1)) \
	  $$(OPENSSL_LIBS_$(1)) -o $$@
endef

$(foreach f,$(OPENSSL_FLAVORS),$(eval $(call kat_flavor,$(f))))

KAT_WASM := $(foreach f,$(OPENSSL_FLAVORS),$(KAT_WASM_$(f)))
