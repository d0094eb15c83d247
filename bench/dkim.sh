#!/usr/bin/env bash
# bench/dkim.sh -- DKIM signing throughput vs. raw OpenSSL signing.
#
# Prints signatures/s of dkim_sign() (src/dkim, one thread, ~1 KB message,
# relaxed/relaxed, default header list) for RSA-2048 and Ed25519, the raw
# sign/s that `openssl speed -seconds 3 rsa2048 ed25519` measures on this
# machine in the same run, and the ratio (target >= 90% for small messages).
# Because a busy machine makes two separate timings disagree by more than
# the margin being measured, it also prints the ratio against bare OpenSSL
# signing interleaved in the same process (sluice-dkim-bench alternates
# batches of both), which is the steadier figure.
# Not a test: it only prints figures.
#
# Usage: bench/dkim.sh [BUILD_DIR]   (default: $SLUICE_BUILD or ./build; the
# release build is the meaningful one -- not an ASan build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${SLUICE_BUILD:-build}}
secs=${DKIM_BENCH_SECONDS:-3}
if [ ! -x "$build/src/dkim/sluice-dkim-bench" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target sluice-dkim-bench sluice-dkim-dev >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/src/dkim/sluice-dkim-dev" keygen bench.example rsa --bits 2048 --dir "$tmp" >/dev/null 2>&1
"$build/src/dkim/sluice-dkim-dev" keygen bench.example ed --ed25519 --dir "$tmp" >/dev/null 2>&1

die() { echo "bench/dkim.sh: $*" >&2; exit 1; }

ours() {  # KEYNAME -> "dkim_sign/s inprocess_raw/s", by the labels printed
  "$build/src/dkim/sluice-dkim-bench" "$tmp/bench.example/$1.pem" "$1" bench.example "$secs" |
    awk '{ for (i = 1; i < NF; i++) { if ($i == "signs/s:") s = $(i + 1)
                                      if ($i == "raw/s:") r = $(i + 1) } }
         END { if (s == "" || r == "") exit 1; print s, r }' ||
    die "no signs/s: and raw/s: figures from sluice-dkim-bench ($1)"
}

# speed_col ROW_REGEX COLUMN: the value under COLUMN (e.g. sign/s) in the
# `openssl speed` row matching ROW_REGEX. The column is found by name in
# the header line above the row and counted from the right, where the
# figures are (row labels have a varying number of words, and newer
# OpenSSL versions add columns to the RSA rows).
speed_col() {
  printf '%s\n' "$speed" | awk -v row="$1" -v col="$2" '
    /^[ \t]+[A-Za-z]/ { n = 0; for (i = 1; i <= NF; i++) if ($i == col) { n = NF; k = i }
                        next }
    $0 ~ row && n { print $(NF - (n - k)); found = 1; exit }
    END { exit !found }' || die "no \"$2\" column for /$1/ in the openssl speed output"
}

rsa_ours=$(ours rsa)
ed_ours=$(ours ed)
speed=$(openssl speed -seconds "$secs" rsa2048 ed25519 2>/dev/null)
rsa_raw=$(speed_col '^rsa 2048 bits' sign/s)
ed_raw=$(speed_col 'EdDSA \\(Ed25519\\)' sign/s)

echo "openssl: $(openssl version)   cpu: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)   load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %12s %15s %7s   %17s %11s\n' algorithm "dkim_sign/s" "openssl speed/s" ratio \
  "interleaved raw/s" "interl.ratio"
for row in "rsa-2048 $rsa_ours $rsa_raw" "ed25519 $ed_ours $ed_raw"; do
  set -- $row
  awk -v a="$1" -v o="$2" -v i="$3" -v r="$4" 'BEGIN {
    printf "%-9s %12.1f %15.1f %6.1f%%   %17.1f %10.1f%%\n", a, o, r, 100 * o / r, i, 100 * o / i }'
done
echo "ratio: dkim_sign/s over openssl speed/s (separate timings); interl.ratio: over"
echo "bare OpenSSL signing interleaved in the same process (the steadier figure)"
echo "target: dkim_sign/s >= 90% of raw sign/s for small messages"
