#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine, and nothing that is
# already there. Run as root (or with sudo available). Idempotent; fast when all is present.
#   emscripten (emcc 3.1.6) ... compiles OpenSSL and the shim to wasm
#   binaryen .................. wasm-dis/wasm-opt, used by checks and size work
#   openssl, gnutls-bin ....... real TLS peers for the interop tests
#   chromium .................. the browser test (driven by playwright-core)
#   nginx-light ............... the HTTP/1.1 and HTTP/2 server test/fetch.test.js fetches from
#   websockify ................ a relay people already run: the relay test shows it works
#   npm packages .............. TypeScript, esbuild, uvu, and Deno and Bun themselves
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v emcc >/dev/null || need+=(emscripten)
command -v wasm-dis >/dev/null || need+=(binaryen)
command -v openssl >/dev/null || need+=(openssl)
command -v gnutls-serv >/dev/null || need+=(gnutls-bin)
command -v chromium >/dev/null || need+=(chromium)
# Started by the tests only (test/fetch-servers.mjs), with their own config, never as a service.
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v websockify >/dev/null || need+=(websockify)
# apt-get source (openssl-src/fetch.sh) needs dpkg-dev to unpack nothing, but does need the keyring.
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "install-deps: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
