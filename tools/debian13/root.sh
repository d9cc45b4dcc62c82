#!/usr/bin/env bash
# Runs a command on Debian 13 (trixie) from a Debian 12 machine: in a cached
# trixie root file system, made once with mmdebstrap from the Debian archive
# this machine's apt already uses, in a copy of this checkout's working tree
# (tracked and untracked, not ignored files, with its git history) at
# /build/main, after the project's dependencies are installed there by
# tools/install_deps.sh.
#
# Usage: bash tools/debian13/root.sh COMMAND [ARGS...]
#   e.g. bash tools/debian13/root.sh bash tools/run_default.sh
#        bash tools/debian13/root.sh bash   (a shell in the root)
#
# The root lives in ${XDG_CACHE_HOME:-~/.cache}/sniper-cpp/debian13/root
# (about 2.5 GB with the dependencies, plus Bazel's outputs); it is made in a
# temporary directory and renamed when complete, so a stopped run never
# leaves a half-made root. The copy of the tree is brought up to date on
# each call (files gone from the tree are removed from it; what runs wrote
# there, e.g. sniper_runs/, stays). The command runs in private mount and
# PID namespaces: /proc, /dev and the COCO data (read-only, as
# /build/shared/data) are mounted for it alone, and everything it started
# (Bazel's server too) ends with it.
#
# Exit status: the command's; 3 when the root cannot be made or entered
# (not root, no space, the archive refused), after one line saying why.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: bash tools/debian13/root.sh COMMAND [ARGS...]" >&2; exit 2; }
cd "$(dirname "$0")/../.."
repo=$(pwd)

skip() {
  echo "debian13: skipped: $*"
  exit 3
}

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
    exec sudo -n --preserve-env=XDG_CACHE_HOME,SNIPER_SHARED_DATA bash "$0" "$@"
  fi
  skip "needs root (mmdebstrap, chroot, mount namespaces) and there is no password-less sudo"
fi
command -v git > /dev/null && git -C "$repo" rev-parse --git-dir > /dev/null 2>&1 ||
  skip "$repo is not a git checkout (the working tree is copied by git ls-files)"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/sniper-cpp/debian13"
root="$cache/root"
mkdir -p "$cache"
# One run at a time per root (two clones testing at once wait here).
exec 9> "$cache/lock"
flock 9

# Space: the root with the dependencies is about 2.5 GB, Bazel's output base
# and disk cache in it about 6 GB more.
need_kb=$((10 * 1024 * 1024))
[ -e "$root/.complete" ] && need_kb=$((4 * 1024 * 1024))
free_kb=$(df -Pk "$cache" | awk 'NR == 2 { print $4 }')
[ "${free_kb:-0}" -ge "$need_kb" ] ||
  skip "$((free_kb / 1024 / 1024)) GiB free under $cache, $((need_kb / 1024 / 1024)) GiB needed"

if [ ! -e "$root/.complete" ]; then
  if ! command -v mmdebstrap > /dev/null; then
    echo "debian13: installing mmdebstrap (Debian package)"
    # (apt's lists may be missing on a machine that had all else.)
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends mmdebstrap; }; } \
      > "$cache/install_mmdebstrap.log" 2>&1 ||
      skip "apt-get install mmdebstrap failed: $(tail -1 "$cache/install_mmdebstrap.log")"
  fi
  mirror=$(bash tools/debian_mirror.sh) || skip "no Debian archive in this machine's apt sources"
  echo "debian13: making a trixie root in $root from $mirror (once; about a minute)"
  rm -rf "$root.tmp"
  if ! mmdebstrap --variant=minbase --mode=root --include=ca-certificates \
    trixie "$root.tmp" "deb $mirror trixie main" > "$cache/mmdebstrap.log" 2>&1; then
    reason=$(grep -m1 -iE 'error|fail' "$cache/mmdebstrap.log" || tail -1 "$cache/mmdebstrap.log")
    rm -rf "$root.tmp"
    skip "mmdebstrap trixie failed: $reason (log: $cache/mmdebstrap.log)"
  fi
  mkdir -p "$root.tmp/build"
  touch "$root.tmp/.complete"
  rm -rf "$root"
  mv "$root.tmp" "$root"
fi

# The working tree as it is (uncommitted edits included), with its history
# (the performance gate's A/B); Bazel's output base inside the root is keyed
# by this fixed path, so later runs rebuild only what changed.
src="$root/build/main"
mkdir -p "$src"
files="$cache/files.txt"
git -C "$repo" ls-files -co --exclude-standard | sort > "$files.new"
if [ -e "$files" ]; then
  comm -23 "$files" "$files.new" | while IFS= read -r f; do rm -f "$src/$f"; done
fi
tr '\n' '\0' < "$files.new" | (cd "$repo" && tar --null -T - -cf - 2> /dev/null) |
  tar -xf - -C "$src" || skip "copying the working tree into $src failed"
rm -rf "$src/.git"
cp -a "$(git -C "$repo" rev-parse --absolute-git-dir)" "$src/.git"
mv "$files.new" "$files"

# The real COCO subset, read-only, where tests look for it.
source tools/bazel_flags.sh
data="${SNIPER_SHARED_DATA:-}"
mkdir -p "$root/build/shared/data"

cmd=""
for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
unshare --mount --pid --fork --kill-child bash -c '
  set -e
  root="$1"; data="$2"; cmd="$3"
  mount --make-rprivate /
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
  if [ -n "$data" ]; then
    mount --bind "$data" "$root/build/shared/data"
    mount -o remount,bind,ro "$root/build/shared/data"
  fi
  exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SNIPER_SHARED_DATA="${data:+/build/shared/data}" \
    bash -c "cd /build/main && { bash tools/install_deps.sh || { echo \"debian13: skipped: tools/install_deps.sh failed in the trixie root\"; exit 3; }; } && exec $cmd"
' debian13 "$root" "$data" "$cmd"
