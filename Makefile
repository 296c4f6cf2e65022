# openssl-wasm: `make` fetches OpenSSL (once), builds libcrypto/libssl for wasm32 (only when
# their inputs change), links the shim into one module per flavor (wasm/build/openssl.wasm and
# openssl-full.wasm; see wasm/flavors/), and builds the TypeScript.
JOBS ?= $(shell nproc)
export NODE_PATH ?= /usr/share/nodejs

.DEFAULT_GOAL := all

include wasm/openssl.mk
include wasm/link.mk

.PHONY: all deps wasm bindings test clean distclean
all: deps wasm bindings

# Debian packages (emscripten, binaryen, the TLS peers) and npm packages, when missing.
deps:
	@scripts/install-deps.sh

# Every suite in every runtime; ends with one line "N passed, N failed".
test: all
	node test/all.mjs

wasm: $(WASM_OUTPUTS) $(CHECK_OUTPUTS)

# The package: compiled bindings and the module beside them, as `exports` in package.json names them.
ROOTS_TS   := bindings/root-certificates.ts
TS_SOURCES := $(filter-out $(ROOTS_TS),$(wildcard bindings/*.ts)) $(ROOTS_TS)
NPM_STAMP  := node_modules/.package-lock.json

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(ROOTS_TS): scripts/gen-roots.mjs
	node scripts/gen-roots.mjs $@

dist/index.js: $(TS_SOURCES) tsconfig.json $(NPM_STAMP)
	npx tsc -p .
	@touch $@

DIST_WASM := $(patsubst wasm/build/%,dist/%,$(WASM_OUTPUTS))

$(DIST_WASM): dist/%: wasm/build/%
	@mkdir -p dist && cp $< $@

bindings: dist/index.js $(DIST_WASM)

clean:
	rm -rf $(WASM_OUTPUTS) dist $(ROOTS_TS)

distclean:
	rm -rf wasm/build
