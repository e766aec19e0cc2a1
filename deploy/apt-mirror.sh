#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses, for debootstrap in
# deploy/test.sh: the first `deb` source (not deb-src, not a -security suite,
# not disabled) in /etc/apt/sources.list.d/*.sources (deb822 stanzas),
# /etc/apt/sources.list.d/*.list or /etc/apt/sources.list (one-line form).
# Reusing apt's choice means no mirror host is named here, and a machine that
# can install packages can also bootstrap an image.
#
#   deploy/apt-mirror.sh [APT_DIR]    # APT_DIR defaults to /etc/apt
#
# Exit 1, with a line on stderr, when no usable source is configured.
set -euo pipefail
apt_dir=${1:-/etc/apt}

# deb822: stanzas separated by blank lines; print the first URI of the first
# enabled `deb` stanza whose suites are not all security suites.
from_deb822() {
  awk '
    function flush() {
      if (types ~ /(^| )deb( |$)/ && enabled != "no" && uri != "" && has_main) { print uri; found = 1; exit }
      types = ""; uri = ""; enabled = ""; has_main = 0
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    tolower($1) == "types:" { $1 = ""; types = $0 " " }
    tolower($1) == "uris:" { uri = $2 }
    tolower($1) == "enabled:" { enabled = tolower($2) }
    tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-security$|\/updates$/) has_main = 1 }
    END { if (!found) flush() }
  ' "$@"
}

# One-line form: `deb [options] URI SUITE COMPONENTS...`.
from_one_line() {
  awk '
    $1 != "deb" { next }
    {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      uri = $i; suite = $(i + 1)
      if (uri != "" && suite !~ /-security$|\/updates$/) { print uri; exit }
    }
  ' "$@"
}

shopt -s nullglob
mirror=""
sources=("$apt_dir"/sources.list.d/*.sources)
if [ "${#sources[@]}" -gt 0 ]; then
  mirror=$(from_deb822 "${sources[@]}" | head -n 1)
fi
if [ -z "$mirror" ]; then
  lists=("$apt_dir"/sources.list "$apt_dir"/sources.list.d/*.list)
  existing=()
  for f in "${lists[@]}"; do [ -f "$f" ] && existing+=("$f"); done
  if [ "${#existing[@]}" -gt 0 ]; then
    mirror=$(from_one_line "${existing[@]}" | head -n 1)
  fi
fi
if [ -z "$mirror" ]; then
  echo "apt-mirror: no deb source in $apt_dir (set DEBIAN_MIRROR to a Debian mirror URL)" >&2
  exit 1
fi
echo "${mirror%/}"
