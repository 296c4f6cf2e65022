# Links the shim and OpenSSL into one standalone .wasm, plus a manifest beside it.
# Included by the top-level Makefile after wasm/openssl.mk.

WASM_OUT      := wasm/build/openssl.wasm
WASM_MANIFEST := wasm/build/manifest.json
SHIM_SOURCES  := wasm/shim.c wasm/seed.c wasm/pki.c
SHIM_HEADERS  := wasm/shim.h

SHIM_CFLAGS := -O2 -Wall -Wextra -Werror -Wno-unused-parameter $(OPENSSL_INCLUDES)

# Link flags, each with its reason.
WASM_LDFLAGS := -O2
WASM_LDFLAGS += -sSTANDALONE_WASM         # no Emscripten JS glue: bindings/ has its own loader
WASM_LDFLAGS += --no-entry                # a reactor: exports only, no main()
WASM_LDFLAGS += -sALLOW_MEMORY_GROWTH=1   # each connection's state lives on the heap
WASM_LDFLAGS += -sINITIAL_MEMORY=4MB      # stack plus OpenSSL's start-up allocations
WASM_LDFLAGS += -sTOTAL_STACK=1MB         # OpenSSL's deepest frames (ML-DSA, ASN.1) fit well inside
WASM_LDFLAGS += -sFILESYSTEM=0            # no files: certificates and keys come from memory
WASM_LDFLAGS += -sERROR_ON_UNDEFINED_SYMBOLS=1
WASM_LDFLAGS += --js-library wasm/imports.js  # declares the host imports named in the shim
WASM_LDFLAGS += -sEXPORTED_FUNCTIONS=_malloc,_free  # the rest are OW_API (EMSCRIPTEN_KEEPALIVE)

$(WASM_OUT): $(SHIM_SOURCES) $(SHIM_HEADERS) $(OPENSSL_LIBS) wasm/link.mk wasm/imports.js
	emcc $(SHIM_CFLAGS) $(WASM_LDFLAGS) $(SHIM_SOURCES) $(OPENSSL_LIBS) -o $@

$(WASM_MANIFEST): $(WASM_OUT) wasm/manifest.mjs
	node wasm/manifest.mjs $(WASM_OUT) $(OPENSSL_VERSION) "$(OPENSSL_CONFIG_OPTIONS)" > $@
