#!/usr/bin/env bash
# bench/acct.sh -- `sluice acct` against the awk one-liners from the
# operational notes (seeds), on one generated accounting file.
#
# For each task (summary, top deferral codes, per-IP rates, dsnDiag grouped
# by its first 60 characters) it times mawk, gawk and the equivalent
# `sluice acct` report in the same run and prints the times, MB/s and the
# ratios, then the whole set, then the summary on one core (MB/s/core),
# then the summary and the full report of the same file gzip'd (gzip -1)
# with --threads 1 and 2 (one thread decompresses, the other parses).
# The awk column numbers are corrected for the 23-column layout gen-acct
# writes (the notes mix the 22- and 23-column layouts).
#
#   ACCT_BENCH_SIZE   file size to generate (default 1G)
#   ACCT_BENCH_FILE   where (default /tmp/sluice-acct-bench-$SIZE.csv; reused;
#                     its gzip -1 copy is kept as $ACCT_BENCH_FILE.gz)
#   SLUICE_BUILD      build directory (default ./build)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${ACCT_BENCH_SIZE:-1G}
FILE=${ACCT_BENCH_FILE:-/tmp/sluice-acct-bench-$SIZE.csv}
BUILD=${SLUICE_BUILD:-build}
if [ -x "$BUILD/src/cli/sluice" ] && "$BUILD/src/cli/sluice" acct --help >/dev/null 2>&1; then
  ACCT=("$BUILD/src/cli/sluice" acct)
else
  ACCT=("$BUILD/src/analyser/sluice-acct-dev")
fi
[ -x "${ACCT[0]}" ] || { echo "build first: ${ACCT[0]} missing" >&2; exit 1; }

if [ ! -s "$FILE" ]; then
  echo "generating $FILE ($SIZE) with bench/gen-acct ..."
  t0=$(date +%s.%N)
  bench/gen-acct --size "$SIZE" --seed 1 -o "$FILE"
  echo "  generated in $(echo "$(date +%s.%N) - $t0" | bc) s"
fi
cat "$FILE" > /dev/null      # warm the page cache: we time CPU, not disk
MB=$(echo "scale=1; $(stat -c %s "$FILE") / 1000000" | bc)
echo "file: $FILE, $MB MB, $(nproc) CPUs, sluice: ${ACCT[*]}"

# seconds taken by "$@" (output discarded)
secs() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

awk_summary='NR>1 {counts[$1]++} END {
  total=counts["d"]+counts["b"]+counts["t"]+counts["f"]
  printf "Delivered: %d (%.1f%%)\nBounced: %d (%.1f%%)\nDeferred: %d\n",
    counts["d"], counts["d"]/total*100, counts["b"], counts["b"]/total*100, counts["t"] }'
awk_codes='NR>1 && $1=="t" {codes[$8]++} END { for(c in codes) print codes[c], c }'
awk_ips='NR>1 { ip=$15; if($1=="d") del[ip]++; if($1=="b") bnc[ip]++; if($1=="t") def[ip]++ }
  END { for(ip in del) { total=del[ip]+bnc[ip]+def[ip]
    printf "IP: %s | Delivered: %d | Bounce: %.1f%% | Deferral: %.1f%%\n",
      ip, del[ip], bnc[ip]/total*100, def[ip]/total*100 } }'
awk_diag='NR>1 && $1=="t" {print substr($9,1,60)}'

run_awk() {   # awk-binary task
  case $2 in
    summary) "$1" -F, "$awk_summary" "$FILE" ;;
    codes) "$1" -F, "$awk_codes" "$FILE" | sort -rn | head -10 ;;
    ips) "$1" -F, "$awk_ips" "$FILE" ;;
    diag) "$1" -F, "$awk_diag" "$FILE" | sort | uniq -c | sort -rn | head -20 ;;
  esac
}
run_sluice() {
  case $1 in
    summary) "${ACCT[@]}" summary --no-progress "$FILE" ;;
    codes) "${ACCT[@]}" codes --type t --top 10 --no-progress "$FILE" ;;
    ips) "${ACCT[@]}" ips --no-progress "$FILE" ;;
    diag) "${ACCT[@]}" diag --type t --diag-prefix 60 --top 20 --no-progress "$FILE" ;;
  esac
}

printf "\n%-8s %9s %9s %9s %9s %9s %8s %8s\n" task mawk_s gawk_s sluice_s \
  "mawk MB/s" "sluice MB/s" "x mawk" "x gawk"
tm=0; tg=0; ts=0
for task in summary codes ips diag; do
  m=$(secs run_awk mawk $task); g=$(secs run_awk gawk $task); s=$(secs run_sluice $task)
  tm=$(echo "$tm + $m" | bc); tg=$(echo "$tg + $g" | bc); ts=$(echo "$ts + $s" | bc)
  printf "%-8s %9.2f %9.2f %9.3f %9.0f %9.0f %8.1f %8.1f\n" $task "$m" "$g" "$s" \
    "$(echo "$MB / $m" | bc -l)" "$(echo "$MB / $s" | bc -l)" \
    "$(echo "$m / $s" | bc -l)" "$(echo "$g / $s" | bc -l)"
done
printf "%-8s %9.2f %9.2f %9.3f %9s %9s %8.1f %8.1f\n" "set" "$tm" "$tg" "$ts" "" "" \
  "$(echo "$tm / $ts" | bc -l)" "$(echo "$tg / $ts" | bc -l)"
one=$(secs "${ACCT[@]}" report --section summary,codes,ips,diag --type t,d,b,tq \
  --diag-prefix 60 --no-progress "$FILE")
printf "%-8s %9s %9s %9.3f %9s %9.0f %8.1f %8.1f   (all four in one sluice pass)\n" \
  "set-1x" "" "" "$one" "" "$(echo "$MB / $one" | bc -l)" \
  "$(echo "$tm / $one" | bc -l)" "$(echo "$tg / $one" | bc -l)"
c1=$(secs "${ACCT[@]}" summary --threads 1 --no-progress "$FILE")
printf "\nsummary on one core: %.3f s = %.0f MB/s per core (target >= 1000)\n" \
  "$c1" "$(echo "$MB / $c1" | bc -l)"
full=$(secs "${ACCT[@]}" report --no-progress "$FILE")
printf "full report (every section): %.3f s = %.0f MB/s\n" "$full" "$(echo "$MB / $full" | bc -l)"

GZ=$FILE.gz
if [ ! -s "$GZ" ] || [ "$GZ" -ot "$FILE" ]; then
  echo "compressing $GZ (gzip -1) ..."
  gzip -1 -c "$FILE" > "$GZ.tmp" && mv "$GZ.tmp" "$GZ"
fi
cat "$GZ" > /dev/null
GMB=$(echo "scale=1; $(stat -c %s "$GZ") / 1000000" | bc)
printf "\ngzip -1 copy: %s MB (%s MB plain, MB/s below of plain text);\n1 thread vs 2 (one decompresses, one parses):\n" "$GMB" "$MB"
for task in summary report; do
  g1=$(secs "${ACCT[@]}" $task --threads 1 --no-progress "$GZ")
  g2=$(secs "${ACCT[@]}" $task --threads 2 --no-progress "$GZ")
  printf "%-8s 1 thread %7.3f s = %5.0f MB/s   2 threads %7.3f s = %5.0f MB/s   x %.2f\n" \
    $task "$g1" "$(echo "$MB / $g1" | bc -l)" "$g2" "$(echo "$MB / $g2" | bc -l)" \
    "$(echo "$g1 / $g2" | bc -l)"
done
echo "target: set >= 10x mawk"
