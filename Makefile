# openssl-wasm: `make` fetches OpenSSL (once), builds libcrypto/libssl for wasm32 (only when
# their inputs change), links the shim into wasm/build/openssl.wasm, and builds the TypeScript.
JOBS ?= $(shell nproc)
export NODE_PATH ?= /usr/share/nodejs

include wasm/openssl.mk
include wasm/link.mk

.PHONY: all wasm clean distclean
all: wasm

wasm: $(WASM_OUT) $(WASM_MANIFEST)

clean:
	rm -f $(WASM_OUT) $(WASM_MANIFEST)

distclean:
	rm -rf wasm/build
