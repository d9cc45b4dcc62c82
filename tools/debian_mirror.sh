#!/usr/bin/env bash
# Prints the Debian archive this machine's apt already uses (its main
# suite's repository, not the security one), so that no script names a
# mirror. apt's index targets know it once apt's lists exist; else it is read
# from the source files (deb822 .sources and one-line .list). Exits 1,
# printing nothing, when apt's configuration names no Debian archive.
set -uo pipefail
mirror=$({
  apt-get indextargets --format '$(REPO_URI)' 2> /dev/null
  sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2> /dev/null |
    tr ' ' '\n'
  sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null
} | grep -m1 -E '/debian/?$')
[ -n "$mirror" ] || exit 1
echo "${mirror%/}/"
