#!/usr/bin/env bash
# bench/profile-relay.sh -- CPU cost of sluiced per relayed message, for
# tuning the hot path: smtp-source -> sluiced (-> smtp-sink), measuring only
# the sluiced process: utime+stime from /proc/PID/stat and, with perf,
# instructions and context switches (far less noisy than time on a shared
# machine). No Postfix. Prints one RESULT line per mode and run.
#
# Usage (as root): bench/profile-relay.sh
# Knobs: BUILD=build MODES="inject e2e" N=20000 SIZE=5120 SESSIONS=50 CONC=20
#        RUNS=1 PERF=1 (0: no perf stat) STRACE=0 (1: strace -c -f summary
#        of sluiced per mode into $OUT/strace-MODE.txt; slows everything)
#        RECORD=0 (1: perf record of sluiced into $OUT/perf-MODE.data,
#        with RECORD_ARGS, default -g; e.g. RECORD_ARGS="-e
#        syscalls:sys_enter_futex --call-graph dwarf")
#        OUT=/var/tmp (where strace summaries and perf data go)
# inject: the destination port is closed, so mail is spooled and deferred.
# e2e: delivered to smtp-sink; the window ends when the sink has all N.
# Everything runs in a private network namespace (loopback only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
N=${N:-20000} SIZE=${SIZE:-5120} SESSIONS=${SESSIONS:-50} CONC=${CONC:-20}
RUNS=${RUNS:-1} PERF=${PERF:-1} STRACE=${STRACE:-0} RECORD=${RECORD:-0} MODES=${MODES:-"inject e2e"}
OUT=${OUT:-/var/tmp}
BUILD=${BUILD:-$root/build}
SLUICED=$BUILD/src/daemon/sluiced

if [ -z "${SLUICE_BENCH_NS:-}" ] && command -v unshare >/dev/null &&
    [ "$(id -u)" = 0 ]; then
  export SLUICE_BENCH_NS=1
  exec unshare -n bash -c "ip link set lo up; exec bash '$0'"
fi
for t in smtp-source smtp-sink; do
  command -v $t >/dev/null || { echo "missing $t: apt-get install postfix" >&2; exit 1; }
done
[ -x "$SLUICED" ] || { echo "no $SLUICED: build it first" >&2; exit 1; }
[ "$PERF" = 1 ] && ! command -v perf >/dev/null && PERF=0

W=$(mktemp -d /var/tmp/sluice-prof.XXXXXX)
cleanup() {
  for p in ${perf_pid:-} ${rec_pid:-} ${st_pid:-} ${sl_pid:-} ${sink_pid:-}; do
    kill "$p" 2>/dev/null || true
  done
  rm -rf "$W"
}
trap cleanup EXIT
SINK_PORT=${SINK_PORT:-2525} SL_PORT=${SL_PORT:-2527}
hz=$(getconf CLK_TCK)
lo_packets() { awk '$1 == "lo:" { print $3 }' /proc/net/dev; }
proc_jiffies() { awk '{print $14+$15}' "/proc/$1/stat"; }
now() { date +%s.%N; }

conf() {  # $1 = destination port
  mkdir -p "$W/sl"
  cat > "$W/sl/sluice.conf" <<CF
host-name relay.bench.example
smtp-listener 127.0.0.1:$SL_PORT
http-mgmt-port 0
dns-server 127.0.0.1:9
control-socket $W/sl/sluiced.sock
total-max-smtp-in 1000
<spool $W/sl/spool>
</spool>
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<acct-file $W/sl/acct.csv>
    records d,b
</acct-file>
<domain *>
    smtp-hosts [127.0.0.1]:$1
    max-smtp-out $CONC
    retry-after 1h
</domain>
CF
}

wait_port() {
  for _ in $(seq 200); do ss -ltn | grep -q ":$1 " && return 0; sleep 0.05; done
  echo "nothing listens on $1" >&2; exit 1
}

start_sluiced() {
  rm -rf "$W/sl/spool" "$W/sl/acct.csv"
  "$SLUICED" -f "$W/sl/sluice.conf" 2>"$W/sl/log" &
  sl_pid=$!
  wait_port "$SL_PORT"
}

stop_sluiced() { kill "$sl_pid"; wait "$sl_pid" || true; sl_pid=; }

# Software events and syscall tracepoints only: this VM has no hardware
# counters (instructions/cycles are "not supported").
SYSCALLS="epoll_wait epoll_ctl read readv write writev ioctl sendto recvfrom
  futex fdatasync pread64 openat close connect accept4 getsockname"
start_probes() {
  local ev="task-clock,context-switches,page-faults,raw_syscalls:sys_enter"
  for c in $SYSCALLS; do ev="$ev,syscalls:sys_enter_$c"; done
  if [ "$PERF" = 1 ]; then
    perf stat -x, -e "$ev" -p "$sl_pid" -o "$W/perf.out" 2>/dev/null &
    perf_pid=$!
  fi
  if [ "$RECORD" = 1 ]; then
    # shellcheck disable=SC2086
    perf record ${RECORD_ARGS:--g} -o "$OUT/perf-$1.data" -p "$sl_pid" \
      2>/dev/null &
    rec_pid=$!
  fi
  if [ "$STRACE" = 1 ]; then
    strace -c -f -p "$sl_pid" -o "$OUT/strace-$1.txt" 2>/dev/null &
    st_pid=$!
  fi
  sleep 0.3
}

stop_probes() {
  if [ -n "${perf_pid:-}" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; perf_pid=; fi
  if [ -n "${rec_pid:-}" ]; then kill -INT "$rec_pid"; wait "$rec_pid" || true; rec_pid=; fi
  if [ -n "${st_pid:-}" ]; then kill -INT "$st_pid"; wait "$st_pid" || true; st_pid=; fi
}

perf_per_msg() {  # event name [printf format] -> count per message, or "-"
  [ -s "$W/perf.out" ] || { echo -; return; }
  awk -F, -v ev="$1" -v n="$N" -v fmt="${2:-%.0f}" \
    '$3 == ev { printf fmt, $1 / n; f=1 }
    END { if (!f) printf "-" }' "$W/perf.out"
}

run_mode() {  # mode
  local mode=$1 p0 p1 t0 t1 dest
  dest=$SINK_PORT; [ "$mode" = inject ] && dest=9
  conf "$dest"; start_sluiced
  if [ "$mode" = e2e ]; then
    smtp-sink -u postfix -M "$N" "127.0.0.1:$SINK_PORT" 1024 >/dev/null 2>&1 &
    sink_pid=$!
    wait_port "$SINK_PORT"
  fi
  : > "$W/perf.out"
  start_probes "$mode"
  k0=$(lo_packets)
  p0=$(proc_jiffies "$sl_pid"); t0=$(now)
  smtp-source -s "$SESSIONS" -l "$SIZE" -m "$N" -d -f sender@bench.example \
    -t rcpt@dest.example "127.0.0.1:$SL_PORT" >/dev/null
  [ "$mode" = e2e ] && { wait "$sink_pid"; sink_pid=; }
  p1=$(proc_jiffies "$sl_pid"); t1=$(now)
  k1=$(lo_packets)
  stop_probes
  printf 'RESULT %-7s %6.0f msgs/s  CPU %4.0f us/msg (task-clock %4s)  ctxsw %5s  syscalls %5s /msg\n' \
    "$mode" "$(echo "$N / ($t1 - $t0)" | bc -l)" \
    "$(echo "($p1 - $p0) / $hz * 1000000 / $N" | bc -l)" \
    "$(perf_per_msg task-clock %.3f | awk '{ if ($1 == "-") print "-"; else printf "%.0f", $1 * 1000 }')" \
    "$(perf_per_msg context-switches %.2f)" \
    "$(perf_per_msg raw_syscalls:sys_enter %.1f)"
  if [ "$PERF" = 1 ]; then
    printf '  lo packets/msg %.1f; page faults/msg %s; syscalls/msg:' \
      "$(echo "($k1 - $k0) / $N" | bc -l)" "$(perf_per_msg page-faults %.2f)"
    for c in $SYSCALLS; do
      v=$(perf_per_msg "syscalls:sys_enter_$c" %.2f)
      [ "$v" != 0.00 ] && printf ' %s %s' "$c" "$v"
    done
    echo
  fi
  stop_sluiced
}

echo "# profile-relay: N=$N size=$SIZE sessions=$SESSIONS conc=$CONC build=$BUILD"
for _ in $(seq "$RUNS"); do
  for m in $MODES; do run_mode "$m"; done
done
