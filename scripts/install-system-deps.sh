#!/usr/bin/env bash
# Install the Debian packages the course needs, if they are missing.
# dataset-fashion-mnist ships the real Fashion-MNIST files under
# /usr/share/datasets/fashion-mnist/, so nothing has to be downloaded.
# Idempotent: does nothing (and needs no root) when everything is installed.
set -euo pipefail
packages=(dataset-fashion-mnist "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "note: not a Debian/Ubuntu system; install ${missing[*]} yourself or set" \
       "COURSE_DATA_DIR (see README)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "note: run 'sudo apt-get install ${missing[*]}' (no root here)" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
