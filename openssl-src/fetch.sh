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
want=$(cat "$here/SHA256")
tarball="$here/openssl-$version.tar.gz"
tree="$here/openssl-$version"
cache="${OPENSSL_CACHE:-$HOME/.cache/openssl-wasm}/openssl-$version.tar.gz"

die() { echo "openssl-src/fetch.sh: $*" >&2; exit 1; }

verify() { # file -> 0 if its sha256 is the pinned one
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "openssl-src/fetch.sh: checksum mismatch for $1" >&2
    echo "  expected sha256 $want (OpenSSL $version)" >&2
    echo "  got      sha256 $got" >&2
    return 1
  fi
}

archive_uri() { # the first Debian archive URI in this machine's apt sources (deb822 or one-line)
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '/^deb(-src)?[ \t]/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):.*\/debian\/?$/) print $i}'
  } | head -n1 || true
}

from_debian() {
  command -v apt-get >/dev/null || die "no OPENSSL_TARBALL given, no cached tarball, and no apt-get to fetch one"
  local uri work
  uri=$(archive_uri)
  [ -n "$uri" ] || die "no Debian archive URI found in /etc/apt/sources*; set OPENSSL_TARBALL=/path/to/openssl-$version.tar.gz"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  mkdir -p "$work/sources" "$work/lists/partial"
  chmod -R a+rwX "$work" # apt downloads as the unprivileged _apt user when it can
  printf 'Types: deb-src\nURIs: %s\nSuites: trixie trixie-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" > "$work/sources/trixie-src.sources"
  local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/sources"
              -o "Dir::State::Lists=$work/lists" -o "APT::Sources::Use-Deb822=true")
  echo "openssl-src/fetch.sh: fetching openssl $version source from $uri (trixie)" >&2
  apt-get "${opts[@]}" update -qq >&2 || die "apt-get update of the private trixie deb-src list failed"
  # Exact upstream version: any Debian revision of it carries the same .orig tarball.
  local debver
  debver=$(apt-cache "${opts[@]}" showsrc openssl 2>/dev/null |
    awk -v v="$version" '/^Version:/ {split($2, a, "-"); if (a[1] == v) {print $2; exit}}')
  [ -n "$debver" ] || die "Debian's archive has no openssl $version source; set OPENSSL_TARBALL=/path/to/openssl-$version.tar.gz"
  (cd "$work" && apt-get "${opts[@]}" source --download-only -qq "openssl=$debver" >&2) ||
    die "apt-get source openssl=$debver failed"
  local orig="$work/openssl_$version.orig.tar.gz"
  [ -f "$orig" ] || die "apt-get source did not produce openssl_$version.orig.tar.gz"
  verify "$orig" || die "refusing the downloaded tarball"
  mv "$orig" "$tarball"
}

if [ -n "${OPENSSL_TARBALL:-}" ]; then
  [ -f "$OPENSSL_TARBALL" ] || die "OPENSSL_TARBALL=$OPENSSL_TARBALL: no such file"
  verify "$OPENSSL_TARBALL" || die "refusing OPENSSL_TARBALL"
  [ "$(realpath "$OPENSSL_TARBALL")" = "$(realpath -m "$tarball")" ] || cp "$OPENSSL_TARBALL" "$tarball"
elif [ -f "$tarball" ]; then
  verify "$tarball" || die "the cached $tarball is corrupt; delete it and run again"
elif [ -f "$cache" ] && verify "$cache"; then
  cp "$cache" "$tarball"
else
  from_debian
fi
# Keep a copy for other clones on this machine; failing to is not an error.
if [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")" 2>/dev/null && cp "$tarball" "$cache.tmp" 2>/dev/null && mv "$cache.tmp" "$cache" || true
fi

# Unpack only when the tree is missing or came from another tarball.
stamp="$tree/.openssl-wasm-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$tree" "$tree.tmp"
  mkdir -p "$tree.tmp"
  tar -xzf "$tarball" -C "$tree.tmp" --strip-components=1
  echo "$want" > "$tree.tmp/.openssl-wasm-sha256"
  mv "$tree.tmp" "$tree"
  echo "openssl-src/fetch.sh: unpacked OpenSSL $version into $tree" >&2
fi
