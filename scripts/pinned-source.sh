# Sourced by openssl-src/fetch.sh and http-src/fetch.sh: getting one upstream tarball, pinned by
# sha256, from (in order) a path the user gives, a copy left by an earlier run, the per-machine
# cache ($OPENSSL_CACHE, default ~/.cache/openssl-wasm), or `apt-get source --download-only`
# from Debian's archive (trixie), using the archive URI this machine's own apt sources name,
# through a private sources/lists folder so the machine's apt setup is left alone. Only the
# .orig tarball is used: apt-get may fail to fetch a .dsc or .debian.tar.xz of a newer
# revision, which is not an error as long as the .orig tarball arrived. Every path ends in the
# same sha256 check; a mismatch removes nothing but refuses to go on.
#
# The caller sets: PINNED_LABEL (for messages), PINNED_PACKAGE (Debian source package),
# PINNED_VERSION (upstream version), PINNED_ORIG (the .orig tarball's file name), PINNED_SHA256,
# PINNED_OVERRIDE_VAR (the environment variable that may name the tarball) and, optionally,
# PINNED_CACHE_NAME (its name in the per-machine cache; default PINNED_ORIG), then calls
# pinned_obtain TARBALL, which leaves the verified tarball at TARBALL.

pinned_die() { echo "$PINNED_LABEL: $*" >&2; exit 1; }

pinned_verify() { # file -> 0 if its sha256 is the pinned one
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$PINNED_SHA256" ]; then
    echo "$PINNED_LABEL: checksum mismatch for $1" >&2
    echo "  expected sha256 $PINNED_SHA256 ($PINNED_ORIG)" >&2
    echo "  got      sha256 $got" >&2
    return 1
  fi
}

pinned_archive_uri() { # the first Debian archive URI in this machine's apt sources (deb822 or one-line)
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '/^deb(-src)?[ \t]/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):.*\/debian\/?$/) print $i}'
  } | head -n1 || true
}

pinned_from_debian() { # dest
  local hint="set $PINNED_OVERRIDE_VAR=/path/to/$PINNED_ORIG"
  command -v apt-get >/dev/null || pinned_die "no $PINNED_OVERRIDE_VAR given, no cached tarball, and no apt-get to fetch one"
  local uri work
  uri=$(pinned_archive_uri)
  [ -n "$uri" ] || pinned_die "no Debian archive URI found in /etc/apt/sources*; $hint"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  mkdir -p "$work/sources" "$work/lists/partial"
  chmod -R a+rwX "$work" # apt downloads as the unprivileged _apt user when it can
  printf 'Types: deb-src\nURIs: %s\nSuites: trixie trixie-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" > "$work/sources/trixie-src.sources"
  local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/sources"
              -o "Dir::State::Lists=$work/lists" -o "APT::Sources::Use-Deb822=true")
  echo "$PINNED_LABEL: fetching $PINNED_PACKAGE $PINNED_VERSION source from $uri (trixie)" >&2
  apt-get "${opts[@]}" update -qq >&2 || pinned_die "apt-get update of the private trixie deb-src list failed"
  # Exact upstream version: any Debian revision of it carries the same .orig tarball.
  local debver
  debver=$(apt-cache "${opts[@]}" showsrc "$PINNED_PACKAGE" 2>/dev/null |
    awk -v v="$PINNED_VERSION" '/^Version:/ {split($2, a, "-"); if (a[1] == v) {print $2; exit}}')
  [ -n "$debver" ] || pinned_die "Debian's archive has no $PINNED_PACKAGE $PINNED_VERSION source; $hint"
  (cd "$work" && apt-get "${opts[@]}" source --download-only -qq "$PINNED_PACKAGE=$debver" >&2) ||
    echo "$PINNED_LABEL: apt-get source $PINNED_PACKAGE=$debver did not fetch every file; the .orig tarball is all that is used" >&2
  [ -f "$work/$PINNED_ORIG" ] || pinned_die "apt-get source did not produce $PINNED_ORIG"
  pinned_verify "$work/$PINNED_ORIG" || pinned_die "refusing the downloaded tarball"
  mv "$work/$PINNED_ORIG" "$1"
}

pinned_obtain() { # tarball
  local tarball=$1 override=${!PINNED_OVERRIDE_VAR:-}
  local cache="${OPENSSL_CACHE:-$HOME/.cache/openssl-wasm}/${PINNED_CACHE_NAME:-$PINNED_ORIG}"
  if [ -n "$override" ]; then
    [ -f "$override" ] || pinned_die "$PINNED_OVERRIDE_VAR=$override: no such file"
    pinned_verify "$override" || pinned_die "refusing $PINNED_OVERRIDE_VAR"
    [ "$(realpath "$override")" = "$(realpath -m "$tarball")" ] || cp "$override" "$tarball"
  elif [ -f "$tarball" ]; then
    pinned_verify "$tarball" || pinned_die "the cached $tarball is corrupt; delete it and run again"
  elif [ -f "$cache" ] && pinned_verify "$cache"; then
    cp "$cache" "$tarball"
  else
    pinned_from_debian "$tarball"
  fi
  # Keep a copy for other clones on this machine; failing to is not an error.
  if [ ! -f "$cache" ]; then
    mkdir -p "$(dirname "$cache")" 2>/dev/null && cp "$tarball" "$cache.tmp" 2>/dev/null && mv "$cache.tmp" "$cache" || true
  fi
}
