#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (a browser, a software TPM, ...).
# Each file in scripts/system-packages.d/ lists "<command> <debian-package>" pairs, one per line;
# a package is installed only when its command is missing, so a prepared machine pays nothing.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
for list in system-packages.d/*.txt; do
  [ -e "$list" ] || continue
  while read -r command package; do
    case "$command" in ''|'#'*) continue ;; esac
    command -v "$command" >/dev/null 2>&1 || missing+=("$package")
  done < "$list"
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages for the test suite: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
