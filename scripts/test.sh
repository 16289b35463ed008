#!/usr/bin/env bash
# One command for a fresh Debian machine: install deps, build the dev configuration
# (-Wall -Wextra -Werror) and the ASan+UBSan configuration, and run every test on both
# (unit, integration against real redis-server, e2e through the real binary and CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs="${PERMCACHE_JOBS:-$(nproc)}"
export CTEST_OUTPUT_ON_FAILURE=1
for preset in dev asan; do
  echo "=== ${preset}: configure + build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== ${preset}: test"
  ctest --preset "$preset" -j "$jobs" --timeout 300
done
