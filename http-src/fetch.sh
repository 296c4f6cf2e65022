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
cache="${OPENSSL_CACHE:-$HOME/.cache/openssl-wasm}/$orig"
override_var="$(echo "$name" | tr '[:lower:]' '[:upper:]')_TARBALL"
override="${!override_var:-}"

die() { echo "http-src/fetch.sh: $*" >&2; exit 1; }

verify() { # file -> 0 if its sha256 is the pinned one
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "http-src/fetch.sh: checksum mismatch for $1" >&2
    echo "  expected sha256 $want ($orig)" >&2
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
  command -v apt-get >/dev/null || die "no $override_var given, no cached tarball, and no apt-get to fetch one"
  local uri work
  uri=$(archive_uri)
  [ -n "$uri" ] || die "no Debian archive URI found in /etc/apt/sources*; set $override_var=/path/to/$orig"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  mkdir -p "$work/sources" "$work/lists/partial"
  chmod -R a+rwX "$work"
  printf 'Types: deb-src\nURIs: %s\nSuites: trixie trixie-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" > "$work/sources/trixie-src.sources"
  local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/sources"
              -o "Dir::State::Lists=$work/lists" -o "APT::Sources::Use-Deb822=true")
  echo "http-src/fetch.sh: fetching $package $version source from $uri (trixie) for $name" >&2
  apt-get "${opts[@]}" update -qq >&2 || die "apt-get update of the private trixie deb-src list failed"
  local debver
  debver=$(apt-cache "${opts[@]}" showsrc "$package" 2>/dev/null |
    awk -v v="$version" '/^Version:/ {split($2, a, "-"); if (a[1] == v) {print $2; exit}}')
  [ -n "$debver" ] || die "Debian's archive has no $package $version source; set $override_var=/path/to/$orig"
  (cd "$work" && apt-get "${opts[@]}" source --download-only -qq "$package=$debver" >&2) ||
    echo "http-src/fetch.sh: apt-get source $package=$debver did not fetch every file; the .orig tarball is all that is used" >&2
  [ -f "$work/$orig" ] || die "apt-get source did not produce $orig"
  verify "$work/$orig" || die "refusing the downloaded tarball"
  mv "$work/$orig" "$tarball"
}

if [ -n "$override" ]; then
  [ -f "$override" ] || die "$override_var=$override: no such file"
  verify "$override" || die "refusing $override_var"
  [ "$(realpath "$override")" = "$(realpath -m "$tarball")" ] || cp "$override" "$tarball"
elif [ -f "$tarball" ]; then
  verify "$tarball" || die "the cached $tarball is corrupt; delete it and run again"
elif [ -f "$cache" ] && verify "$cache"; then
  cp "$cache" "$tarball"
else
  from_debian
fi
if [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")" 2>/dev/null && cp "$tarball" "$cache.tmp" 2>/dev/null && mv "$cache.tmp" "$cache" || true
fi

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
    patch -s -p1 -d "$tree.tmp" < "$p" || die "patch $p does not apply"
  done
  echo "$stamp_want" > "$tree.tmp/.openssl-wasm-sha256"
  mv "$tree.tmp" "$tree"
  echo "http-src/fetch.sh: unpacked $name ($orig${patches:+, patched}) into $tree" >&2
fi
