#!/usr/bin/env bash
# scripts/setup.sh [--tests] - install the Debian packages folio needs, if any are missing.
# Works as root on a minimal Debian bookworm (no compiler, no cmake); uses sudo otherwise.
# Run by demo.sh and test.sh; safe to run any number of times.
set -euo pipefail

folio_packages=(gcc libc6-dev make cmake pkg-config
                liblmdb-dev libmsgpack-dev libmsgpuck-dev libxxhash-dev libjansson-dev
                libutf8proc-dev libcsv-dev)
if [[ "${1:-}" == "--tests" ]]; then
  folio_packages+=(libcriterion-dev lmdb-utils chromium poppler-utils
                  clang libclang-rt-14-dev valgrind)
fi

missing=()
for p in "${folio_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
    [[ -t 0 ]] || sudo=(sudo -n) # no terminal (CI): fail rather than wait for a password
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
