#!/usr/bin/env bash
# Installs permcache's build, test and benchmark dependencies from Debian packages when missing.
# Debian 12 note: libboost-dev is 1.74 there; permcache needs the 1.81 packages named below.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libsqlite3-dev libssl-dev libhiredis-dev libpq-dev libargon2-dev
  libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools postgresql sqlite3 curl wrk
  prometheus  # promtool, for the monitoring kit test (deploy/)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system redis-server (and prometheus, on :9090) on install where systemd runs;
# permcache's tests start their own Redis on free ports and use only promtool.
