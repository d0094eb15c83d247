#!/usr/bin/env bash
# bench/postfix-relay.sh -- start/stop a private Postfix instance configured as
# a plain relay to a sink, for the peer figure in bench/relay.sh.
# The system's /etc/postfix is not used. Everything lives under $PF_DIR.
#   bench/postfix-relay.sh start PF_DIR LISTEN_PORT SINK_PORT [CONCURRENCY]
#   bench/postfix-relay.sh stop  PF_DIR
# Settings follow ../shared/reference/anchors-perf.md (Postfix relay, 20/20).
set -euo pipefail
cmd=$1 dir=$2
case "$cmd" in
start)
  port=$3 sink=$4 conc=${5:-20}
  rm -rf "$dir"; mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
  chown postfix "$dir/data"
  cat > "$dir/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.bench.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
relay_domains =
relayhost = [127.0.0.1]:$sink
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_transport = error:local delivery disabled
alias_maps =
alias_database =
smtp_tls_security_level = none
smtpd_tls_security_level = none
default_process_limit = 200
smtp_destination_concurrency_limit = $conc
smtp_destination_rate_delay = 0s
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
CF
  sed -e "s/^smtp \{6,\}inet .*/127.0.0.1:$port inet n - n - - smtpd/" \
      -e 's/^\([a-z]\S* \+\S\+ \+\S\+ \+\S\+ \+\)y /\1n /' \
      /usr/share/postfix/master.cf.dist > "$dir/conf/master.cf"
  postfix -c "$dir/conf" check >/dev/null 2>&1 || true
  postfix -c "$dir/conf" start || { echo "postfix failed to start; see $dir/maillog" >&2; exit 1; }
  ;;
stop)
  postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
  ;;
esac
