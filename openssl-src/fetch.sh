#!/usr/bin/env bash
# Puts the pinned, checksum-verified OpenSSL source tree at openssl-src/openssl-$VERSION.
#
# Where the tarball comes from, in order:
#   1. $OPENSSL_TARBALL, a path to openssl-$VERSION.tar.gz or Debian's openssl_$VERSION.orig.tar.gz;
#   2. the cached copy openssl-src/openssl-$VERSION.tar.gz from an earlier run, or the one in
#      the per-machine cache $OPENSSL_CACHE (default ~/.cache/openssl-wasm);
#   3. `apt-get source` from Debian's archive (trixie), using the archive URI that this machine's
#      own apt sources name. A private sources/lists folder keeps the machine's apt setup untouched.
# Every path ends in the same sha256 check; a mismatch removes nothing but refuses to unpack.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(cat "$here/VERSION")
tarball="$here/openssl-$version.tar.gz"
tree="$here/openssl-$version"

PINNED_LABEL=openssl-src/fetch.sh
PINNED_PACKAGE=openssl
PINNED_VERSION=$version
PINNED_ORIG="openssl_$version.orig.tar.gz"
PINNED_CACHE_NAME="openssl-$version.tar.gz"
PINNED_SHA256=$(cat "$here/SHA256")
PINNED_OVERRIDE_VAR=OPENSSL_TARBALL
. "$here/../scripts/pinned-source.sh"
pinned_obtain "$tarball"
want=$PINNED_SHA256

# Unpack only when the tree is missing or came from another tarball.
stamp="$tree/.openssl-wasm-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$tree" "$tree.tmp"
  mkdir -p "$tree.tmp"
  tar -xzf "$tarball" -C "$tree.tmp" --strip-components=1
  echo "$want" > "$tree.tmp/.openssl-wasm-sha256"
  mv "$tree.tmp" "$tree"
  echo "$PINNED_LABEL: unpacked OpenSSL $version into $tree" >&2
fi
