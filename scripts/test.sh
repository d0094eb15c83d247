#!/usr/bin/env bash
# scripts/test.sh -- set up a fresh Debian 12 machine and run every test.
#
#  1. installs the Debian packages (scripts/deps.sh test)
#  2. gcc release build + cmocka unit tests (ctest)
#  3. clang build (must compile clean with -Werror)
#  4. gcc ASan+UBSan build + unit tests + pytest integration tests against it
#
# Exits non-zero if anything fails. Set SLUICE_SKIP_DEPS=1 to skip step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ "${SLUICE_SKIP_DEPS:-0}" = 1 ] || bash scripts/deps.sh test

echo "== gcc release build"
CC=gcc bash scripts/build.sh build
(cd build && ctest --output-on-failure -j2)

echo "== clang build"
CC=clang bash scripts/build.sh build-clang -DBUILD_TESTS=OFF

echo "== gcc ASan+UBSan build"
CC=gcc BUILD_TYPE=Debug bash scripts/build.sh build-asan -DENABLE_SANITIZERS=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j2)

echo "== integration tests (pytest, daemon built with ASan+UBSan)"
export SLUICE_BUILD=$root/build-asan SLUICE_BUILD_RELEASE=$root/build
set +e
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest: no integration tests collected"; rc=0
fi
exit $rc
