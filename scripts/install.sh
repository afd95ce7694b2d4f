#!/bin/sh
# agproxy installer (Linux, macOS): downloads the release binary for this OS and CPU and its SHA256SUMS, verifies the
# checksum, checks that it runs, and installs it as PREFIX/bin/agproxy (default ~/.local/bin/agproxy).
#
#   curl -fsSL https://github.com/agproxy/agproxy/releases/latest/download/install.sh | sh
#   curl -fsSL …/install.sh | sh -s -- --prefix /usr/local        # installs /usr/local/bin/agproxy
#
# Settings (environment):
#   AGPROXY_DOWNLOAD_BASE  where the binaries and SHA256SUMS are (default: the latest GitHub release)
#   AGPROXY_VERSION        a release to install instead of the latest, e.g. 0.2.0 (ignored with AGPROXY_DOWNLOAD_BASE)
#   AGPROXY_PREFIX         same as --prefix
# A checksum mismatch, a failed download or a binary that does not run installs nothing (an installed agproxy stays).
set -eu

REPO='agproxy/agproxy'
PREFIX="${AGPROXY_PREFIX:-${HOME:?HOME is not set}/.local}"

say() { printf '%s\n' "$*"; }
die() {
  printf 'agproxy install: %s\n' "$*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die '--prefix needs a directory'; PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; shift ;;
    -h | --help) sed -n '2,12p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (usage: install.sh [--prefix DIR])" ;;
  esac
done

if [ -n "${AGPROXY_DOWNLOAD_BASE:-}" ]; then
  BASE="${AGPROXY_DOWNLOAD_BASE%/}"
elif [ -n "${AGPROXY_VERSION:-}" ]; then
  BASE="https://github.com/$REPO/releases/download/v${AGPROXY_VERSION#v}"
else
  BASE="https://github.com/$REPO/releases/latest/download"
fi

os=$(uname -s)
case "$os" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT) die "on Windows use install.ps1 in PowerShell: irm $BASE/install.ps1 | iex" ;;
  *) die "no agproxy release for $os; build it from source (npm run build), see the README" ;;
esac
arch=$(uname -m)
case "$arch" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no agproxy release for $os on $arch (there are x64 and arm64); build it from source (npm run build)" ;;
esac
# a shell running under Rosetta on Apple silicon reports x86_64: install the native binary
if [ "$os-$arch" = darwin-x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then arch=arm64; fi
FILE="agproxy-$os-$arch"

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  die 'needs curl or wget to download'
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  die 'needs sha256sum or shasum to verify the download'
fi

BIN_DIR="$PREFIX/bin"
TARGET="$BIN_DIR/agproxy"
TMP=$(mktemp -d 2>/dev/null || mktemp -d -t agproxy)
STAGED=''
cleanup() {
  rm -rf "$TMP"
  [ -z "$STAGED" ] || rm -f "$STAGED"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

say "Downloading $FILE from $BASE"
fetch "$BASE/SHA256SUMS" "$TMP/SHA256SUMS" || die "could not download $BASE/SHA256SUMS"
fetch "$BASE/$FILE" "$TMP/$FILE" || die "could not download $BASE/$FILE"

want=$(sed -n "s/^\([0-9a-fA-F]\{64\}\) [ *]$FILE\$/\1/p" "$TMP/SHA256SUMS" | head -n 1 | tr 'A-F' 'a-f')
[ -n "$want" ] || die "SHA256SUMS at $BASE does not list $FILE; nothing was installed"
got=$(sha256 "$TMP/$FILE")
if [ "$got" != "$want" ]; then
  die "checksum mismatch for $FILE: SHA256SUMS says $want, the download is $got. The file is damaged or was tampered with; nothing was installed."
fi
chmod 755 "$TMP/$FILE"
version=$("$TMP/$FILE" --version 2>&1) || die "the downloaded $FILE does not run on this machine: $version; nothing was installed"

mkdir -p "$BIN_DIR" || die "cannot create $BIN_DIR (choose another with --prefix)"
# copy next to the target, then rename over it: an interrupted install never leaves a partial agproxy
STAGED="$BIN_DIR/.agproxy.$$.tmp"
cp "$TMP/$FILE" "$STAGED" 2>/dev/null || die "cannot write to $BIN_DIR (choose another with --prefix, or run with the rights to write there)"
chmod 755 "$STAGED"
mv -f "$STAGED" "$TARGET" || die "cannot replace $TARGET"
STAGED=''

say "Installed $version as $TARGET"
case ":$PATH:" in
  *":$BIN_DIR:"*) run=agproxy ;;
  *)
    run="$TARGET"
    say ''
    say "$BIN_DIR is not on your PATH. Add it (then open a new shell):"
    say "  echo 'export PATH=\"$BIN_DIR:\$PATH\"' >> ~/.profile"
    ;;
esac
say ''
say 'Next:'
say "  $run                      start the gateway on http://127.0.0.1:8045 (API reference at /swagger)"
say "  $run clients              the base URL and key each client should use"
say "  $run service install      keep it running in the background from login on"
