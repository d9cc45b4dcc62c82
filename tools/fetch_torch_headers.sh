#!/usr/bin/env bash
# Fetches the LibTorch 2.x headers of Debian trixie's libtorch-dev (2.6; 2.4
# MB) for //port:torch2_compile_test, which compiles every LibTorch
# translation unit against them: the GPU machine has PyTorch 2.x while CI
# builds against bookworm's 1.13, and API breaks should show here first.
#
# Nothing is installed and bookworm's apt state is untouched: the .deb comes
# through a temporary trixie source list with its own lists and cache
# directories (apt-get download) and is unpacked with dpkg -x into
#   ${XDG_CACHE_HOME:-~/.cache}/sniper-cpp/libtorch-headers/<version>/usr/include
# with `current` linking to it. Idempotent: does nothing when `current`
# exists. On failure (no network, package gone) it writes the reason to
# libtorch-headers/fetch_error.txt, which the test prints when it skips,
# and exits 0 unless --strict is given.
set -uo pipefail
strict=0
[ "${1:-}" = "--strict" ] && strict=1
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sniper-cpp/libtorch-headers"
mkdir -p "$cache"
if [ -e "$cache/current/usr/include/torch/csrc/api/include/torch/torch.h" ]; then
  echo "fetch_torch_headers: $(readlink "$cache/current") present"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "$(date -u +%FT%TZ): $*" > "$cache/fetch_error.txt"
  echo "fetch_torch_headers: $* (the LibTorch 2.x header check will skip)" >&2
  exit "$strict"
}
mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial"
# The Debian archive this machine's apt already uses (no mirror named here).
mirror=$(bash "$(dirname "$0")/debian_mirror.sh")
[ -n "$mirror" ] || fail "no Debian archive in this machine's apt sources"
cat > "$work/sources/trixie.sources" <<EOF
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o "Dir::Etc::SourceList=/dev/null"
  -o "Dir::Etc::SourceParts=$work/sources"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -q)
apt-get "${apt_opts[@]}" update > "$work/update.log" 2>&1 ||
  fail "apt-get update of a trixie source list failed: $(tail -1 "$work/update.log")"
version=$(apt-cache "${apt_opts[@]}" show libtorch-dev 2> /dev/null |
  sed -n 's/^Version: //p' | head -1)
[ -n "$version" ] || fail "trixie has no libtorch-dev"
case "$version" in 2.*) ;; *) fail "trixie's libtorch-dev is $version, not 2.x" ;; esac
(cd "$work" && apt-get "${apt_opts[@]}" download "libtorch-dev=$version" \
  > "$work/download.log" 2>&1) ||
  fail "apt-get download libtorch-dev=$version failed: $(tail -1 "$work/download.log")"
deb=$(ls "$work"/libtorch-dev_*.deb 2> /dev/null | head -1)
[ -n "$deb" ] || fail "apt-get download left no libtorch-dev .deb"
dir_name="libtorch-dev-${version//[^A-Za-z0-9.+-]/_}"
rm -rf "$work/x" && dpkg -x "$deb" "$work/x" || fail "dpkg -x $deb failed"
[ -e "$work/x/usr/include/torch/csrc/api/include/torch/torch.h" ] ||
  fail "libtorch-dev=$version has no torch/csrc/api/include/torch/torch.h"
rm -rf "$cache/$dir_name"
mkdir -p "$cache/$dir_name/usr"
mv "$work/x/usr/include" "$cache/$dir_name/usr/include"
ln -sfn "$dir_name" "$cache/current.tmp" && mv -T "$cache/current.tmp" "$cache/current"
rm -f "$cache/fetch_error.txt"
echo "fetch_torch_headers: libtorch-dev $version headers in $cache/$dir_name"
