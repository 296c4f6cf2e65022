# openssl-tls-wasm: `make` fetches OpenSSL (once), builds libcrypto/libssl for wasm32 (only when
# their inputs change), links the shim into one module per flavor (wasm/build/openssl.wasm and
# openssl-full.wasm; see wasm/flavors/), and builds the TypeScript.
JOBS ?= $(shell nproc)
export NODE_PATH ?= /usr/share/nodejs

.DEFAULT_GOAL := all

include wasm/openssl.mk
include wasm/link.mk
include wasm/http/http.mk
include wasm/kat/kat.mk

.PHONY: all deps wasm bindings test kat clean distclean
all: deps wasm bindings

# Debian packages (emscripten, binaryen, the TLS peers) and npm packages, when missing.
deps:
	@scripts/install-deps.sh

# Every suite in every runtime; ends with one line "N passed, N failed".
test: all
	node test/all.mjs

wasm: $(WASM_OUTPUTS) $(CHECK_OUTPUTS)

# OpenSSL's own known-answer tests (test/evp_test.c over every test/recipes/30-test_evp_data
# file) against each flavor, linked as its module is (wasm/kat/kat.mk). test/kat/run.mjs runs
# them and ends with one line "N passed, N failed"; test/kat/skips.txt lists what each flavor
# is expected not to run, and why. make test runs this too (test/all.mjs).
kat: deps $(KAT_WASM)
	node test/kat/run.mjs

# The package: compiled bindings and the module beside them, as `exports` in package.json names them.
# The bundled roots are data, written by scripts/gen-roots.mjs straight into dist/ (no source map).
ROOTS_JS   := dist/roots-data.js
# Generated sources are listed by name: bindings/abi.ts and bindings/http-abi.ts (wasm/gen-abi.mjs).
TS_SOURCES := $(filter-out $(ABI_TS) $(HTTP_ABI_TS),$(wildcard bindings/*.ts bindings/*/*.ts)) $(ABI_TS) $(HTTP_ABI_TS)
NPM_STAMP  := node_modules/.package-lock.json

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# After tsc, which starts from a dist/ without earlier output.
$(ROOTS_JS): scripts/gen-roots.mjs dist/index.js
	node scripts/gen-roots.mjs $@

# tsc writes into a dist/ without earlier output, so a moved or deleted source leaves no stale module.
dist/index.js: $(TS_SOURCES) tsconfig.json $(NPM_STAMP)
	rm -rf dist/testing dist/fetch && find dist -maxdepth 1 -type f \( -name '*.js' -o -name '*.d.ts' -o -name '*.js.map' \) -delete 2>/dev/null || true
	npx tsc -p .
	@touch $@

DIST_WASM := $(patsubst wasm/build/%,dist/%,$(WASM_OUTPUTS))

$(DIST_WASM): dist/%: wasm/build/%
	@mkdir -p dist && cp $< $@

bindings: dist/index.js $(DIST_WASM) $(ROOTS_JS)

clean:
	rm -rf $(WASM_OUTPUTS) $(CHECK_OUTPUTS) wasm/build/fast $(ABI_EXPORTS) $(HTTP_ABI_EXPORTS) $(KAT_BUILD) dist $(ABI_TS) $(HTTP_ABI_TS)

distclean:
	rm -rf wasm/build
