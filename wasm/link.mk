# Links the shim and OpenSSL into one standalone .wasm per flavor, plus a manifest beside each:
# wasm/build/openssl.wasm (small, the default) and wasm/build/openssl-full.wasm; and for each
# flavor a testing module, the same plus the test PKI (wasm/testing/): openssl-testing.wasm and
# openssl-testing-full.wasm, for openssl-tls-wasm/testing.
# Included by the top-level Makefile after wasm/openssl.mk.

# The shim, split by concern (wasm/shim/): core, context, store, connection, verify, session,
# events, entropy and the ciphertext pipe. Its ABI is declared once, in wasm/abi.h.
SHIM_SOURCES  := $(sort $(wildcard wasm/shim/*.c))
SHIM_HEADERS  := wasm/abi.h $(wildcard wasm/shim/*.h)
# C linked only into the testing module.
TESTING_SOURCES := wasm/testing/pki.c

# What wasm/gen-abi.mjs derives from the header: the bindings' typed view of the exports and
# the export list of each kind of module (production, testing).
ABI_TS      := bindings/abi.ts
ABI_EXPORTS := wasm/build/exports-production.json wasm/build/exports-testing.json
$(ABI_TS) $(ABI_EXPORTS) &: wasm/abi.h wasm/gen-abi.mjs
	@mkdir -p wasm/build
	node wasm/gen-abi.mjs wasm/abi.h $(ABI_TS) wasm/build

# Faster primitives, written for wasm, that replace OpenSSL's portable C at link time: an object
# given to the linker defines the symbol, so the archive member that also defines it is never
# pulled in. Each file says what it replaces and why.
FAST_SOURCES  := wasm/fast/chacha20.c wasm/fast/poly1305.c
FAST_OBJECTS  := $(FAST_SOURCES:wasm/fast/%.c=wasm/build/fast/%.o)

SHIM_CFLAGS := -Wall -Wextra -Werror -Wno-unused-parameter
# WebAssembly SIMD (fixed-width, 128-bit): every runtime this package supports has it (Node 16.4+,
# Deno, Bun, Chrome 91+, Firefox 89+, Safari 16.4+). Only wasm/fast/ uses it explicitly.
SHIM_CFLAGS += -msimd128

# Link flags, each with its reason. The optimization level (which also sets the wasm-opt
# passes emcc runs on the linked module) is the flavor's: WASM_OPT_<flavor>.
WASM_OPT_small := -Oz -flto  # link-time optimization over the -flto libraries (wasm/flavors/small.mk)
WASM_OPT_full  := -O2
WASM_LDFLAGS := -sSTANDALONE_WASM         # no Emscripten JS glue: bindings/ has its own loader
WASM_LDFLAGS += --no-entry                # a reactor: exports only, no main()
WASM_LDFLAGS += -sALLOW_MEMORY_GROWTH=1   # each connection's state lives on the heap
WASM_LDFLAGS += -sINITIAL_MEMORY=4MB      # stack plus OpenSSL's start-up allocations
WASM_LDFLAGS += -sTOTAL_STACK=1MB         # OpenSSL's deepest frames (ML-DSA, ASN.1) fit well inside
WASM_LDFLAGS += -sFILESYSTEM=0            # no files: certificates and keys come from memory
WASM_LDFLAGS += -sERROR_ON_UNDEFINED_SYMBOLS=1
WASM_LDFLAGS += --js-library wasm/imports.js  # declares the host imports named in the shim
# The exports are exactly the header's (generated list); nothing else is kept alive.

# C that only one flavor links, each file saying what it replaces: the small flavor's own
# default provider (which needs OpenSSL's internal provider headers), and its P-224/P-521.
FLAVOR_SOURCES_small := wasm/flavors/small-provider.c wasm/flavors/small-ec.c
FLAVOR_INCLUDES_small = -I$(OPENSSL_TREE) -I$(OPENSSL_TREE)/providers/common/include \
  -I$(OPENSSL_TREE)/providers/implementations/include -I$(OPENSSL_BUILD_small) \
  -I$(OPENSSL_BUILD_small)/providers/common/include
FLAVOR_SOURCES_full  :=

WASM_FILE_small     := openssl.wasm
WASM_FILE_full      := openssl-full.wasm
WASM_TESTING_FILE_small := openssl-testing.wasm
WASM_TESTING_FILE_full  := openssl-testing-full.wasm
MANIFEST_FILE_small := manifest.json
MANIFEST_FILE_full  := manifest-full.json

# The fast paths are the same in every flavor, and always -O2: they are what records spend
# their time in. They use only OpenSSL's source headers, none of a flavor's configuration.
wasm/build/fast/%.o: wasm/fast/%.c wasm/link.mk $(OPENSSL_TREE)/.openssl-wasm-sha256
	@mkdir -p $(@D)
	emcc $(SHIM_CFLAGS) -O2 -I$(OPENSSL_TREE)/include -c $< -o $@

# wasm_module(name, flavor, file, export list, extra sources): one module, linked from a flavor's
# libraries with the shim and the extra sources, exporting exactly the list's functions.
define wasm_module
WASM_OUT_$(1) := wasm/build/$(3)

$$(WASM_OUT_$(1)): $(SHIM_SOURCES) $(SHIM_HEADERS) $(FAST_OBJECTS) $$(FLAVOR_SOURCES_$(2)) $(5) $$(OPENSSL_LIBS_$(2)) wasm/link.mk wasm/imports.js wasm/build/exports-$(4).json
	emcc $(SHIM_CFLAGS) $$(OPENSSL_INCLUDES_$(2)) $$(FLAVOR_INCLUDES_$(2)) -DOW_FLAVOR='"$(2)"' $(WASM_LDFLAGS) $$(WASM_OPT_$(2)) \
	  -sEXPORTED_FUNCTIONS=@wasm/build/exports-$(4).json \
	  $(SHIM_SOURCES) $(5) $(FAST_OBJECTS) $$(FLAVOR_SOURCES_$(2)) $$(OPENSSL_LIBS_$(2)) -o $$@
endef

# wasm_flavor(flavor): the flavor's production module and its manifest, and its testing module.
define wasm_flavor
$(call wasm_module,$(1),$(1),$$(WASM_FILE_$(1)),production,)
$(call wasm_module,testing-$(1),$(1),$$(WASM_TESTING_FILE_$(1)),testing,$(TESTING_SOURCES))
WASM_MANIFEST_$(1) := wasm/build/$$(MANIFEST_FILE_$(1))

$$(WASM_MANIFEST_$(1)): $$(WASM_OUT_$(1)) wasm/manifest.mjs
	node wasm/manifest.mjs $$(WASM_OUT_$(1)) $(OPENSSL_VERSION) $(1) "$$(OPENSSL_CONFIG_OPTIONS) $$(OPENSSL_OPTIONS_$(1))" > $$@
endef

$(foreach f,$(OPENSSL_FLAVORS),$(eval $(call wasm_flavor,$(f))))

WASM_OUTPUTS := $(foreach f,$(OPENSSL_FLAVORS),$(WASM_OUT_$(f)) $(WASM_MANIFEST_$(f)) $(WASM_OUT_testing-$(f)))
