"""
test_daemon_dns.py -- DNS failures and implicit MX as the daemon handles
them (tests/integration/test_dns.py covers the resolver alone).

  broken.test  SERVFAIL for every query
  slow.test    never answered (resolver timeout)
  v6only.test  no MX, only an AAAA record ::1 (implicit MX, RFC 5321 §5.1)

A temporary DNS failure must defer, never bounce: a queue-level `tq`
record with status 4.4.3 (PowerMTA writes DNS and connect failures as tq,
reference powermta.md §2.1, not per-recipient t), then a new MX query after
retry-after-dns-error; once the zone answers again the mail is delivered. Mail for v6only.test is delivered to
a sink listening on [::1].
"""
import socket

import pytest

from conftest import wait_for
from peers.sink import SMTPSink
from relayenv import RelayEnv


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def dns_env(tmp_path, heal_port, v6_port=None):
    extra = "".join(
        f"<domain {d}>\n    retry-after-dns-error 1s\n"
        f"    default-smtp-port {heal_port}\n</domain>\n"
        for d in ("broken.test", "slow.test"))
    if v6_port:
        extra += f"<domain v6only.test>\n    default-smtp-port {v6_port}\n</domain>\n"
    return RelayEnv(tmp_path, retry="1s", extra=extra)


def deferrals(env, domain):
    return [r for r in env.acct_records() if r["type"] == "tq"
            and r["queue"].startswith(domain + "/")]


@pytest.mark.parametrize("domain,failure", [("broken.test", "SERVFAIL"),
                                            ("slow.test", "TIMEOUT")])
def test_dns_failure_defers_then_delivers(tmp_path, domain, failure):
    heal = SMTPSink({}).start()
    try:
        with dns_env(tmp_path, heal.port) as env:
            env.dns.set(domain, failure)
            assert env.send([f"u@{domain}"])[0] == 250
            # a deferral with the DNS status, and a second MX query later
            # (the c-ares timeout of slow.test takes several seconds)
            recs = wait_for(lambda: deferrals(env, domain), timeout=60,
                            what=f"deferral record for {domain}")
            assert recs[0]["dsnStatus"].startswith("4.4.3"), recs[0]
            assert not [r for r in env.acct_records() if r["type"] == "t"]
            wait_for(lambda: env.dns.query_count(domain, "MX") >= 2,
                     timeout=60, what=f"MX query for {domain} retried")
            assert not [r for r in env.acct_records() if r["type"] == "b"]
            assert not heal.messages
            env.dns.set(domain, {"MX": [(10, "mx.ok.test")]})
            heal.wait_for_messages(1, timeout=60)
            assert heal.messages[0].rcpt_tos == [f"u@{domain}"]
            env.wait_acct(lambda r: r["type"] == "d"
                          and r["rcpt"] == f"u@{domain}", timeout=20)
            assert not [r for r in env.acct_records() if r["type"] == "b"]
    finally:
        heal.stop()


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no ::1 on this host")
def test_implicit_mx_to_aaaa_only_name(tmp_path):
    v6 = SMTPSink({}, address="::1").start()
    heal = SMTPSink({}).start()
    try:
        with dns_env(tmp_path, heal.port, v6.port) as env:
            env.dns.set("v6only.test", {"AAAA": ["::1"]})
            assert env.send(["w@v6only.test"])[0] == 250
            v6.wait_for_messages(1, timeout=30)
            assert v6.messages[0].rcpt_tos == ["w@v6only.test"]
            assert v6.messages[0].peer_ip == "::1"
            (d,) = env.wait_acct(lambda r: r["type"] == "d"
                                 and r["rcpt"] == "w@v6only.test")
            assert d["dlvDestinationIp"] == "::1"
            assert env.dns.query_count("v6only.test", "AAAA") >= 1
    finally:
        v6.stop()
        heal.stop()
