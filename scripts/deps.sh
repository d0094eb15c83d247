#!/usr/bin/env bash
# scripts/deps.sh -- install the Debian 12 packages Sluice needs to build and test.
# Usage: scripts/deps.sh [build|test]   (default: test, which is a superset of build)
set -euo pipefail
what=${1:-test}
build_pkgs=(build-essential cmake pkg-config clang
  libevent-dev libc-ares-dev libssl-dev libpcre2-dev libsqlite3-dev zlib1g-dev libzstd-dev)
test_pkgs=(libcmocka-dev python3 python3-pytest python3-aiosmtpd python3-dnslib python3-dkim
  libmail-dkim-perl libnet-dns-resolver-mock-perl opendkim opendkim-tools swaks postfix mawk gawk openssl ca-certificates time procps
  chromium iproute2 bc zstd systemd)
pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # postfix asks debconf questions; pre-answer them so the install never blocks.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections || true
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
