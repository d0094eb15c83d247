#!/usr/bin/env bash
# scripts/run.sh -- set up a fresh Debian 12 machine, build Sluice and run
# the daemon in the foreground with etc/sluice.conf (or the config given).
# Usage: scripts/run.sh [CONFIG]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SLUICE_SKIP_DEPS:-0}" = 1 ] || bash scripts/deps.sh build
bash scripts/build.sh build
exec build/src/daemon/sluiced -f "${1:-etc/sluice.conf}"
