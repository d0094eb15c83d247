#!/usr/bin/env bash
# bench/relay.sh -- loopback relay throughput: smtp-source -> MTA -> smtp-sink,
# for Sluice and for Postfix configured as a plain relay to the same sink, in
# the same run. Prints msgs/s end-to-end, the injection rate, CPU per message
# and the Sluice/Postfix ratio. Also an injection-only figure for Sluice
# (destination unreachable, so everything is spooled and deferred), and
# the load generator's ceiling (smtp-source straight into smtp-sink).
#
# Usage (as root, from anywhere): bench/relay.sh
# Knobs: N=20000 SIZE=5120 SESSIONS=20 CONC=20 RUNS=1 SKIP_POSTFIX=0 BUILD=build
#        VMTAS=4 DOMAINS=20 DCONC=10: also run Sluice with 4 virtual MTAs (source IPs
#        127.0.0.2-5, in a pool that the injecting source uses by default),
#        each with 20 <domain> blocks of max-smtp-out DCONC (issue #4: the
#        figure must hold; 4 x 20 x 10 allows 800 connections); that
#        run's mail goes to rcpt@d1..d20.example (20 smtp-source processes
#        sharing SESSIONS), so all 4 x 20 domain/vmta queues carry traffic.
# Durable: sluiced fdatasyncs every accepted message (group commit); Postfix
# fsyncs each queue file. Everything runs in a private network namespace
# with only loopback up when `unshare -n` is available.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
N=${N:-20000} SIZE=${SIZE:-5120} SESSIONS=${SESSIONS:-20} CONC=${CONC:-20}
RUNS=${RUNS:-1} SKIP_POSTFIX=${SKIP_POSTFIX:-0}
VMTAS=${VMTAS:-0} DOMAINS=${DOMAINS:-20} DCONC=${DCONC:-10}
BUILD=${BUILD:-$root/build}
SLUICED=$BUILD/src/daemon/sluiced

if [ -z "${SLUICE_BENCH_NS:-}" ] && command -v unshare >/dev/null && [ "$(id -u)" = 0 ]; then
  export SLUICE_BENCH_NS=1
  exec unshare -n bash -c "ip link set lo up; exec bash '$0'"
fi
for t in smtp-source smtp-sink postfix; do
  command -v $t >/dev/null || { echo "missing $t: apt-get install postfix" >&2; exit 1; }
done
[ -x "$SLUICED" ] || { echo "build sluiced first: bash scripts/build.sh build" >&2; exit 1; }

W=$(mktemp -d /var/tmp/sluice-bench.XXXXXX)
chmod 755 "$W"   # postfix daemons run unprivileged
cleanup() {
  [ -n "${sl_pid:-}" ] && kill "$sl_pid" 2>/dev/null || true
  [ -n "${sink_pid:-}" ] && { pkill -TERM -P "$sink_pid"; kill "$sink_pid"; } 2>/dev/null || true
  "$here/postfix-relay.sh" stop "$W/pf" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

SINK_PORT=${SINK_PORT:-2525} SL_PORT=${SL_PORT:-2527} PF_PORT=${PF_PORT:-2526}

busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
proc_jiffies() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)
now() { date +%s.%N; }

# start_sink COUNT: smtp-sink exits after COUNT messages
start_sink() {
  /usr/bin/time -f "%U %S" -o "$W/sink.time" smtp-sink -u postfix -M "$1" \
    "127.0.0.1:$SINK_PORT" 1024 >/dev/null 2>&1 &
  sink_pid=$!
  for _ in $(seq 100); do ss -ltn | grep -q ":$SINK_PORT " && return; sleep 0.05; done
  echo "sink did not start" >&2; exit 1
}

# source PORT [SPREAD]: inject N messages; writes wall seconds to
# $W/source.wall and the injectors' user+sys seconds to $W/source.time.
# With SPREAD=M, M smtp-source processes run at once, process j sending its
# share of N to rcpt@dJ.example over its share of SESSIONS, so the mail is
# spread over M destination domains (and, with a pool, M x VMTAS queues).
run_source() {
  local port=$1 spread=${2:-0} t0 t1 j m s pids=()
  t0=$(now)
  if [ "$spread" -gt 0 ]; then
    for j in $(seq "$spread"); do
      m=$(( N / spread + (j <= N % spread ? 1 : 0) ))
      s=$(( SESSIONS / spread + (j <= SESSIONS % spread ? 1 : 0) ))
      [ "$s" -gt 0 ] || s=1
      /usr/bin/time -f "%U %S" -o "$W/source.time.$j" smtp-source -s "$s" \
        -l "$SIZE" -m "$m" -d -f sender@bench.example -t "rcpt@d$j.example" \
        "127.0.0.1:$port" >/dev/null &
      pids+=($!)
    done
    for j in "${pids[@]}"; do wait "$j"; done
    cat "$W"/source.time.* | awk '{u+=$1; s+=$2} END {print u, s}' > "$W/source.time"
    rm -f "$W"/source.time.*
  else
    /usr/bin/time -f "%U %S" -o "$W/source.time" smtp-source -s "$SESSIONS" \
      -l "$SIZE" -m "$N" -d -f sender@bench.example -t rcpt@dest.example \
      "127.0.0.1:$port" >/dev/null
  fi
  t1=$(now)
  echo "$t1 - $t0" | bc -l > "$W/source.wall"
}

cpu_of() { awk '{print $1+$2}' "$1"; }

# vmta_conf N: N virtual MTAs with DOMAINS <domain> blocks each, and a pool
vmta_conf() {
  local n=$1 i j
  [ "$n" -gt 0 ] || return 0
  for i in $(seq "$n"); do
    echo "<virtual-mta bench-v$i>"
    echo "    smtp-source-host 127.0.0.$((i + 1)) v$i.bench.example"
    for j in $(seq "$DOMAINS"); do
      printf '    <domain d%d.example>\n        max-smtp-out %d\n    </domain>\n' "$j" "$DCONC"
    done
    echo "</virtual-mta>"
  done
  echo "<virtual-mta-pool bench-pool>"
  for i in $(seq "$n"); do echo "    virtual-mta bench-v$i"; done
  echo "</virtual-mta-pool>"
}

sluice_conf() {  # $1 = destination port, $2 = number of vmtas (0 = none)
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
$( [ "${2:-0}" -gt 0 ] && echo "    default-virtual-mta bench-pool" )
</source>
$(vmta_conf "${2:-0}")
<acct-file $W/sl/acct.csv>
    records d,b
</acct-file>
<domain *>
    smtp-hosts [127.0.0.1]:$1
    max-smtp-out $CONC
    retry-after 1h
    # keep connections open across momentary empty queues (no reconnect
    # per burst: connect + greeting + EHLO + QUIT + DNS)
    connection-idle-timeout 2s
</domain>
CF
}

start_sluiced() {
  rm -rf "$W/sl/spool"
  "$SLUICED" -f "$W/sl/sluice.conf" 2>"$W/sl/log" &
  sl_pid=$!
  for _ in $(seq 200); do ss -ltn | grep -q ":$SL_PORT " && return; sleep 0.05; done
  echo "sluiced did not start:"; cat "$W/sl/log"; exit 1
}

report() {  # label e2e_seconds mta_cpu_seconds
  local label=$1 e2e=$2 cpu=$3 inj
  inj=$(cat "$W/source.wall")
  printf 'RESULT %-22s e2e %8.0f msgs/s   inject %8.0f msgs/s   MTA CPU %6.0f us/msg\n' \
    "$label" "$(echo "$N / $e2e" | bc -l)" "$(echo "$N / $inj" | bc -l)" \
    "$(echo "$cpu * 1000000 / $N" | bc -l)"
  echo "$N / $e2e" | bc -l > "$W/$label.rate"
}

# One end-to-end run: label, MTA port, pid-for-cpu (or ""), spread (domains)
e2e_run() {
  local label=$1 port=$2 pid=${3:-} spread=${4:-0} b0 b1 p0 p1 t0 t1 other cpu
  start_sink "$N"
  b0=$(busy_jiffies); p0=0; [ -n "$pid" ] && p0=$(proc_jiffies "$pid")
  t0=$(now)
  run_source "$port" "$spread"
  wait "$sink_pid"; sink_pid=
  t1=$(now)
  b1=$(busy_jiffies); p1=0; [ -n "$pid" ] && p1=$(proc_jiffies "$pid")
  other=$(echo "$(cpu_of "$W/source.time") + $(cpu_of "$W/sink.time")" | bc -l)
  if [ -n "$pid" ]; then
    cpu=$(echo "($p1 - $p0) / $hz" | bc -l)
  else
    cpu=$(echo "($b1 - $b0) / $hz - $other" | bc -l)
  fi
  report "$label" "$(echo "$t1 - $t0" | bc -l)" "$cpu"
}

echo "# relay benchmark: N=$N size=$SIZE sessions=$SESSIONS dest-concurrency=$CONC runs=$RUNS ($(nproc) cores)"
for run in $(seq "$RUNS"); do
  # Sluice end to end
  sluice_conf "$SINK_PORT"; start_sluiced
  e2e_run sluice-e2e "$SL_PORT" "$sl_pid"
  kill "$sl_pid"; wait "$sl_pid" || true; sl_pid=

  if [ "$VMTAS" -gt 0 ]; then
    sluice_conf "$SINK_PORT" "$VMTAS"; start_sluiced
    e2e_run "sluice-e2e-${VMTAS}x${DOMAINS}" "$SL_PORT" "$sl_pid" "$DOMAINS"
    kill "$sl_pid"; wait "$sl_pid" || true; sl_pid=
  fi

  # Sluice injection only: destination port closed, mail is spooled+deferred
  sluice_conf 9; start_sluiced
  p0=$(proc_jiffies "$sl_pid")
  run_source "$SL_PORT"
  p1=$(proc_jiffies "$sl_pid")
  inj=$(cat "$W/source.wall")
  printf 'RESULT %-22s inject %8.0f msgs/s   MTA CPU %6.0f us/msg\n' sluice-inject-only \
    "$(echo "$N / $inj" | bc -l)" "$(echo "($p1 - $p0) / $hz * 1000000 / $N" | bc -l)"
  kill "$sl_pid"; wait "$sl_pid" || true; sl_pid=

  # The load generator's own ceiling: smtp-source straight into smtp-sink
  # (no MTA; smtp-sink does no disk I/O), same N, size and sessions. On 2
  # cores this bounds what any MTA's injection figure can show here.
  # (-M above N: a sink that exits at the Nth message drops the sessions
  # still closing, which smtp-source treats as fatal)
  start_sink "$((N + 1))"
  run_source "$SINK_PORT"
  # ($sink_pid is /usr/bin/time, which does not pass SIGTERM on: stop the
  # smtp-sink below it, or it keeps the port for the next run)
  pkill -TERM -P "$sink_pid" 2>/dev/null || true
  wait "$sink_pid" 2>/dev/null || true; sink_pid=
  printf 'RESULT %-22s inject %8.0f msgs/s   (smtp-source -> smtp-sink, no MTA)\n' loadgen-ceiling \
    "$(echo "$N / $(cat "$W/source.wall")" | bc -l)"

  if [ "$SKIP_POSTFIX" != 1 ]; then
    "$here/postfix-relay.sh" start "$W/pf" "$PF_PORT" "$SINK_PORT" "$CONC"
    sleep 1
    e2e_run postfix-e2e "$PF_PORT" ""
    "$here/postfix-relay.sh" stop "$W/pf"
    printf 'RATIO  sluice/postfix e2e = %.1fx\n' \
      "$(echo "$(cat "$W/sluice-e2e.rate") / $(cat "$W/postfix-e2e.rate")" | bc -l)"
  fi
done
