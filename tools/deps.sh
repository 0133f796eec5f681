#!/usr/bin/env bash
# deps.sh: installs every Debian package arc's build, tests, examples and
# benchmarks need. Does nothing when all are there; needs root otherwise.
set -euo pipefail

packages=(
    meson ninja-build pkg-config gcc clang libclang-rt-14-dev binutils
    libcmocka-dev valgrind redis-server python3 openssl libssl-dev
    libevent-dev libev-dev libuv1-dev libglib2.0-dev cmake
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: ${missing[*]}" >&2
    echo "deps.sh: as root, run: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
