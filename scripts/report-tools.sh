#!/usr/bin/env bash
# The tools the report tests check isocheck's outputs with, from Debian:
# xmllint (libxml2-utils) validates JUnit XML against tests/data/junit-10.xsd,
# and a headless Chromium renders the HTML report.
#
#   usage: scripts/report-tools.sh [install|check]
#     install  apt-get installs what is missing (needs root); the default
#     check    exit 0 when both are present, else say what is missing, exit 1
set -euo pipefail

say() { echo "report-tools: $*" >&2; }
die() { say "$*"; exit 1; }

missing() {
  local m=()
  command -v xmllint >/dev/null || m+=(libxml2-utils)
  command -v chromium >/dev/null || m+=(chromium)
  echo "${m[*]:-}"
}

case "${1:-install}" in
  check)
    m=$(missing)
    [[ -z $m ]] || die "missing: $m (bash scripts/report-tools.sh install)"
    ;;
  install)
    m=$(missing)
    [[ -z $m ]] && exit 0
    [[ $(id -u) == 0 ]] || die "missing: $m and not root: apt-get install -y $m"
    say "installing $m"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $m >&2 || die "apt-get install $m failed"
    m=$(missing)
    [[ -z $m ]] || die "still missing after install: $m"
    ;;
  *) die "usage: scripts/report-tools.sh [install|check]" ;;
esac
