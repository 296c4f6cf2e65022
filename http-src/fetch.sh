#!/usr/bin/env bash
# Puts one pinned, checksum-verified upstream tree of the HTTP module at http-src/NAME, as
# openssl-src/fetch.sh does for OpenSSL. NAME is a line of http-src/SOURCES (llhttp, nghttp2).
#
# Where the tarball comes from, in order:
#   1. $<NAME>_TARBALL (LLHTTP_TARBALL, NGHTTP2_TARBALL), a path to the .orig tarball;
#   2. the copy left in http-src/ by an earlier run, or the one in the per-machine cache
#      ($OPENSSL_CACHE, default ~/.cache/openssl-wasm, shared with OpenSSL's);
#   3. `apt-get source --download-only` from Debian's archive (trixie), using the archive URI this
#      machine's apt sources name, through a private sources/lists folder. Only the .orig tarball
#      is used: apt-get may fail to fetch a .dsc or .debian.tar.xz of a newer revision, which is
#      not an error as long as the .orig tarball arrived.
# Every path ends in the same sha256 check. Then only the tree named in SOURCES is unpacked, and
# http-src/patches/NAME-*.patch applied (each says where it comes from).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: http-src/fetch.sh llhttp|nghttp2}
line=$(awk -v n="$name" '$1 == n' "$here/SOURCES")
[ -n "$line" ] || { echo "http-src/fetch.sh: no '$name' in http-src/SOURCES" >&2; exit 1; }
read -r _ package version orig want inner <<<"$line"
tarball="$here/$orig"
tree="$here/$name"

PINNED_LABEL=http-src/fetch.sh
PINNED_PACKAGE=$package
PINNED_VERSION=$version
PINNED_ORIG=$orig
PINNED_SHA256=$want
PINNED_OVERRIDE_VAR="$(echo "$name" | tr '[:lower:]' '[:upper:]')_TARBALL"
. "$here/../scripts/pinned-source.sh"
pinned_obtain "$tarball"

# Unpack only when the tree is missing or came from another tarball or other patches.
patches=$(ls "$here/patches/$name"-*.patch 2>/dev/null || true)
stamp_want="$want $(cat $patches /dev/null | sha256sum | cut -d' ' -f1)"
stamp="$tree/.openssl-wasm-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$stamp_want" ]; then
  rm -rf "$tree" "$tree.tmp"
  mkdir -p "$tree.tmp"
  strip=$(($(echo "$inner" | tr -cd / | wc -c) + 1))
  tar -xf "$tarball" -C "$tree.tmp" --strip-components="$strip" "$inner"
  for p in $patches; do
    patch -s -p1 -d "$tree.tmp" < "$p" || pinned_die "patch $p does not apply"
  done
  echo "$stamp_want" > "$tree.tmp/.openssl-wasm-sha256"
  mv "$tree.tmp" "$tree"
  echo "$PINNED_LABEL: unpacked $name ($orig${patches:+, patched}) into $tree" >&2
fi
