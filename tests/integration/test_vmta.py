"""
test_vmta.py -- virtual MTAs end to end (issue #4 items 1-2): source IP and
EHLO per vmta, pools, X-Virtual-MTA / listener port / pattern-list routing,
unknown vmta rejection, smtp-hosts (route) levels, domain-macro, IPv6;
rcpt-to pattern rules routing each recipient of one message on its own
(also across a restart), X-Virtual-MTA naming the source's default vmta.

Real sockets on loopback: sluiced binds 127.0.0.2, 127.0.0.3 ... (all of
127.0.0.0/8 is local) and ::1 as source addresses; every destination domain
has its own scripted sink (peers.sink), which records the peer IP (our
source IP) and the EHLO name of each message.
"""
import csv
import glob
import io
import json
import os
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import Sluiced, bin_path, free_port, wait_for
from peers.dnsserver import DNSServer
from peers.sink import SMTPSink

VMTAS = """\
<virtual-mta v1>
    smtp-source-host 127.0.0.2 v1.sluice.test
</virtual-mta>
<virtual-mta v2>
    smtp-source-host 127.0.0.3 v2.sluice.test
</virtual-mta>
<virtual-mta v3>
    smtp-source-host 127.0.0.4 v3a.sluice.test
    smtp-source-host 127.0.0.5 v3b.sluice.test
</virtual-mta>
<virtual-mta-pool p1>
    virtual-mta v1
    virtual-mta v2
</virtual-mta-pool>
"""


def _has_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class World:
    """A DNS server, one sink per domain (MX -> 127.0.0.1 or ::1 at the
    sink's port via <domain> default-smtp-port) and a sluiced."""

    def __init__(self, tmp_path, domains, extra="", listeners=None,
                 source_extra="", v6_domains=(), scripts=None,
                 global_extra=""):
        self.dir = str(tmp_path)
        scripts = scripts or {}
        zone = {}
        self.sinks = {}
        for d in list(domains) + list(v6_domains):
            v6 = d in v6_domains
            sink = SMTPSink(scripts.get(d, {}), hostname="mx." + d,
                            address="::1" if v6 else "127.0.0.1")
            sink.start()
            self.sinks[d] = sink
            zone[d] = {"MX": [(10, "mx." + d)]}
            zone["mx." + d] = {"AAAA": ["::1"]} if v6 else {"A": ["127.0.0.1"]}
        self.dns = DNSServer(zone)
        self.dns.start()
        self.smtp_port = free_port()
        lines = listeners or [f"smtp-listener 127.0.0.1:{self.smtp_port}"]
        # v6 domains: MX host with only an AAAA record (::1), found by DNS
        doms = "".join(
            f"<domain {d}>\n    default-smtp-port {s.port}\n</domain>\n"
            for d, s in self.sinks.items())
        if callable(extra):
            extra = extra(self)
        self.config = f"""\
host-name sluice.test
postmaster postmaster@sluice.test
{chr(10).join(lines)}
http-mgmt-port 0
dns-server 127.0.0.1:{self.dns.port}
control-socket {self.dir}/sluiced.sock
{global_extra}
<spool {self.dir}/spool>
</spool>
<source 0/0>
    always-allow-relaying no
</source>
<source 127.0.0.1>
    always-allow-relaying yes
    process-x-virtual-mta yes
{source_extra}
</source>
<acct-file {self.dir}/acct.csv>
    records d,b,t,tq,r
</acct-file>
<domain *>
    retry-after 1s
    use-starttls no
</domain>
{doms}
{VMTAS}
{extra}
"""
        self.daemon = Sluiced(os.path.join(self.dir, "d"), self.config)

    def __enter__(self):
        self.daemon.start()
        return self

    def __exit__(self, *exc):
        try:
            if self.daemon.proc and self.daemon.proc.poll() is None:
                assert self.daemon.stop() == 0, self.daemon.log()
        finally:
            for s in self.sinks.values():
                s.stop()
            self.dns.stop()
            self.daemon.check_sanitizers()

    def send(self, rcpts, headers=None, sender="alice@sender.test",
             port=None, body="hello\r\n"):
        hdrs = {"From": sender, "To": ", ".join(rcpts), "Subject": "t",
                "Message-ID": f"<{time.time_ns()}@sender.test>"}
        hdrs.update(headers or {})
        msg = "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n" + body
        with smtplib.SMTP("127.0.0.1", port or self.smtp_port,
                          timeout=15) as s:
            s.ehlo("client.test")
            s.mail(sender)
            for r in rcpts:
                s.rcpt(r)
            return s.data(msg.encode())

    def acct(self):
        rows = []
        for path in sorted(glob.glob(os.path.join(self.dir, "acct*.csv"))):
            with open(path, newline="") as f:
                header = None
                for row in csv.reader(io.StringIO(f.read())):
                    if row and row[0] == "type":
                        header = row
                    elif header and row:
                        rows.append(dict(zip(header, row)))
        return rows

    def wait_acct(self, pred, n=1, timeout=20):
        return wait_for(lambda: (lambda r: r if len(r) >= n else None)(
            [r for r in self.acct() if pred(r)]), timeout,
            what=f"{n} accounting records")


def by_rcpt(msgs):
    return {m.rcpt_tos[0]: m for m in msgs}


def test_header_routing_source_ip_ehlo_and_accounting(tmp_path):
    with World(tmp_path, ["a.test"]) as w:
        assert w.send(["x1@a.test"], {"X-Virtual-MTA": "v1"})[0] == 250
        assert w.send(["x2@a.test"], {"X-Virtual-MTA": "v2"})[0] == 250
        assert w.send(["x3@a.test"])[0] == 250
        got = by_rcpt(w.sinks["a.test"].wait_for_messages(3, timeout=20))
        assert (got["x1@a.test"].peer_ip, got["x1@a.test"].ehlo) == \
            ("127.0.0.2", "v1.sluice.test")
        assert (got["x2@a.test"].peer_ip, got["x2@a.test"].ehlo) == \
            ("127.0.0.3", "v2.sluice.test")
        # no vmta: the kernel's source address and the global host-name
        assert got["x3@a.test"].ehlo == "sluice.test"
        assert b"X-Virtual-MTA" not in got["x1@a.test"].data
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 3)}
        assert ds["x1@a.test"]["vmta"] == "v1"
        assert ds["x1@a.test"]["dlvSourceIp"] == "127.0.0.2"
        assert ds["x1@a.test"]["queue"] == "a.test/v1"
        assert ds["x1@a.test"]["vmtaPool"] == ""
        assert ds["x2@a.test"]["queue"] == "a.test/v2"
        assert ds["x2@a.test"]["dlvSourceIp"] == "127.0.0.3"
        assert ds["x3@a.test"]["queue"] == "a.test/{default}"
        rs = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "r", 3)}
        assert rs["x1@a.test"]["vmta"] == "v1"
        assert rs["x2@a.test"]["vmta"] == "v2"


def test_pool_round_robin(tmp_path):
    with World(tmp_path, ["a.test"]) as w:
        for i in range(6):
            assert w.send([f"p{i}@a.test"], {"X-Virtual-MTA": "p1"})[0] == 250
        msgs = w.sinks["a.test"].wait_for_messages(6, timeout=20)
        ips = sorted(m.peer_ip for m in msgs)
        assert ips == ["127.0.0.2"] * 3 + ["127.0.0.3"] * 3
        for m in msgs:
            assert m.ehlo == {"127.0.0.2": "v1.sluice.test",
                              "127.0.0.3": "v2.sluice.test"}[m.peer_ip]
        ds = w.wait_acct(lambda r: r["type"] == "d", 6)
        assert {r["vmtaPool"] for r in ds} == {"p1"}
        assert sorted(r["vmta"] for r in ds) == ["v1"] * 3 + ["v2"] * 3
        for r in ds:
            assert r["queue"] == "a.test/" + r["vmta"]
        rs = w.wait_acct(lambda r: r["type"] == "r", 6)
        assert {r["vmta"] for r in rs} == {"p1"}


def test_source_host_round_robin(tmp_path):
    extra = "<domain a.test>\n    max-msg-per-connection 1\n</domain>\n"
    with World(tmp_path, ["a.test"], extra=extra) as w:
        for i in range(4):
            assert w.send([f"r{i}@a.test"], {"X-Virtual-MTA": "v3"})[0] == 250
        msgs = w.sinks["a.test"].wait_for_messages(4, timeout=20)
        pairs = sorted((m.peer_ip, m.ehlo) for m in msgs)
        assert pairs == [("127.0.0.4", "v3a.sluice.test")] * 2 + \
            [("127.0.0.5", "v3b.sluice.test")] * 2


def test_listener_port_routing(tmp_path):
    p1, p2 = free_port(), free_port()
    listeners = [f"smtp-listener 127.0.0.1:{p1} source=port1",
                 f"smtp-listener 127.0.0.1:{p2} source=port2"]
    extra = """
<source port1>
    always-allow-relaying yes
    default-virtual-mta v1
</source>
<source port2>
    always-allow-relaying yes
    default-virtual-mta p1
</source>
"""
    with World(tmp_path, ["a.test"], extra=extra, listeners=listeners) as w:
        assert w.send(["l1@a.test"], port=p1)[0] == 250
        for i in range(2):
            assert w.send([f"l2{i}@a.test"], port=p2)[0] == 250
        got = by_rcpt(w.sinks["a.test"].wait_for_messages(3, timeout=20))
        assert got["l1@a.test"].peer_ip == "127.0.0.2"
        assert got["l1@a.test"].ehlo == "v1.sluice.test"
        assert sorted(got[f"l2{i}@a.test"].peer_ip for i in range(2)) == \
            ["127.0.0.2", "127.0.0.3"]
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 3)}
        assert ds["l20@a.test"]["vmtaPool"] == "p1"


def test_unknown_vmta_rejected(tmp_path):
    with World(tmp_path, ["a.test"]) as w:
        code, text = w.send(["u@a.test"], {"X-Virtual-MTA": "nosuch"})
        assert code == 550, text
        assert b"5.7.1" in text and b"nosuch" in text
        assert w.send(["ok@a.test"], {"X-Virtual-MTA": "v1"})[0] == 250
        w.sinks["a.test"].wait_for_messages(1, timeout=20)
        time.sleep(0.3)
        assert [m.rcpt_tos for m in w.sinks["a.test"].messages] == \
            [["ok@a.test"]]


def test_pattern_list_and_domain_routing(tmp_path):
    extra = """
<pattern-list pl>
    header X-Campaign /^bulk/ virtual-mta=v2
    mail-from /^tx@/ virtual-mta=v1
    rcpt-to /@c\\.test$/ virtual-mta=v3
</pattern-list>
"""
    with World(tmp_path, ["a.test", "c.test"], extra=extra,
               source_extra="    pattern-list pl\n") as w:
        assert w.send(["h@a.test"], {"X-Campaign": "bulk-42"})[0] == 250
        assert w.send(["f@a.test"], sender="tx@sender.test")[0] == 250
        assert w.send(["d@c.test"])[0] == 250
        # the header beats the pattern list (PowerMTA's precedence)
        assert w.send(["o@a.test"], {"X-Campaign": "bulk-1",
                                     "X-Virtual-MTA": "v1"})[0] == 250
        got = by_rcpt(w.sinks["a.test"].wait_for_messages(3, timeout=20))
        assert got["h@a.test"].peer_ip == "127.0.0.3"
        assert got["f@a.test"].peer_ip == "127.0.0.2"
        assert got["o@a.test"].peer_ip == "127.0.0.2"
        (c,) = w.sinks["c.test"].wait_for_messages(1, timeout=20)
        assert c.peer_ip in ("127.0.0.4", "127.0.0.5")
        assert c.ehlo in ("v3a.sluice.test", "v3b.sluice.test")


def test_smtp_hosts_levels_and_domain_macro(tmp_path):
    down = free_port()

    def extra(w):
        # route: the first level is dead, the second is a.test's sink; the
        # macro names both routed domains; a per-vmta <domain> block.
        return f"""
domain-macro routed r1.test, r2.test
<domain $routed>
    route [127.0.0.1]:{down}; [127.0.0.1]:{w.sinks["a.test"].port}
</domain>
<virtual-mta v4>
    smtp-source-host 127.0.0.7 v4.sluice.test
    <domain r2.test>
        route [127.0.0.1]:{w.sinks["a.test"].port}
        max-msg-per-connection 1
    </domain>
</virtual-mta>
"""
    with World(tmp_path, ["a.test"], extra=extra) as w:
        assert w.send(["m1@r1.test"], {"X-Virtual-MTA": "v1"})[0] == 250
        assert w.send(["m2@r2.test"], {"X-Virtual-MTA": "v2"})[0] == 250
        assert w.send(["m3@r2.test"], {"X-Virtual-MTA": "v4"})[0] == 250
        got = by_rcpt(w.sinks["a.test"].wait_for_messages(3, timeout=30))
        assert got["m1@r1.test"].peer_ip == "127.0.0.2"
        assert got["m2@r2.test"].peer_ip == "127.0.0.3"
        assert got["m3@r2.test"].peer_ip == "127.0.0.7"
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 3)}
        assert ds["m1@r1.test"]["queue"] == "r1.test/v1"
        assert ds["m2@r2.test"]["queue"] == "r2.test/v2"
        assert ds["m3@r2.test"]["queue"] == "r2.test/v4"
        # the vmta's own <domain> route skipped the dead first level
        ts = [r for r in w.acct() if r["type"] in ("t", "tq")
              and "r2.test/v4" in r["queue"]]
        assert ts == []


@pytest.mark.skipif(not _has_ipv6(), reason="no ::1 on this host")
def test_ipv6_source_host(tmp_path):
    extra = """
<virtual-mta v6>
    smtp-source-host ::1 v6.sluice.test
    smtp-source-host 127.0.0.6 v4.sluice.test
</virtual-mta>
"""
    with World(tmp_path, ["a.test"], v6_domains=["six.test"],
               extra=extra) as w:
        assert w.send(["s@six.test"], {"X-Virtual-MTA": "v6"})[0] == 250
        assert w.send(["f@a.test"], {"X-Virtual-MTA": "v6"})[0] == 250
        (m6,) = w.sinks["six.test"].wait_for_messages(1, timeout=20)
        assert m6.peer_ip == "::1" and m6.ehlo == "v6.sluice.test"
        (m4,) = w.sinks["a.test"].wait_for_messages(1, timeout=20)
        assert m4.peer_ip == "127.0.0.6" and m4.ehlo == "v4.sluice.test"
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 2)}
        assert ds["s@six.test"]["dlvSourceIp"] == "::1"


# rcpt-to rules route per recipient; default-virtual-mta v1 for the rest
RCPT_RULES = """
<pattern-list pl>
    rcpt-to /@c\\.test$/ virtual-mta=v2
    rcpt-to /@b\\.test$/ virtual-mta=p1
</pattern-list>
"""
RCPT_SOURCE = "    default-virtual-mta v1\n    pattern-list pl\n"


def ctl(w, *args):
    p = subprocess.run([bin_path("sluice"), *args, "--json", "--socket",
                        os.path.join(w.dir, "sluiced.sock")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return json.loads(p.stdout)


def test_rcpt_to_rules_route_each_recipient(tmp_path):
    """ONE message to three domains: a rcpt-to rule picks each recipient's
    vmta (or pool), the others keep the source's default-virtual-mta."""
    with World(tmp_path, ["a.test", "b.test", "c.test"], extra=RCPT_RULES,
               source_extra=RCPT_SOURCE) as w:
        assert w.send(["x@a.test", "y@c.test", "z@b.test",
                       "x2@a.test"])[0] == 250
        (ma,) = w.sinks["a.test"].wait_for_messages(1, timeout=20)
        (mc,) = w.sinks["c.test"].wait_for_messages(1, timeout=20)
        (mb,) = w.sinks["b.test"].wait_for_messages(1, timeout=20)
        assert sorted(ma.rcpt_tos) == ["x2@a.test", "x@a.test"]
        assert (ma.peer_ip, ma.ehlo) == ("127.0.0.2", "v1.sluice.test")
        assert (mc.peer_ip, mc.ehlo) == ("127.0.0.3", "v2.sluice.test")
        assert mb.peer_ip in ("127.0.0.2", "127.0.0.3")    # a p1 member
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 4)}
        assert [ds["x@a.test"][k] for k in ("vmta", "queue", "vmtaPool",
                                            "dlvSourceIp")] == \
            ["v1", "a.test/v1", "", "127.0.0.2"]
        assert [ds["y@c.test"][k] for k in ("vmta", "queue", "vmtaPool",
                                            "dlvSourceIp")] == \
            ["v2", "c.test/v2", "", "127.0.0.3"]
        member = {"127.0.0.2": "v1", "127.0.0.3": "v2"}[mb.peer_ip]
        assert [ds["z@b.test"][k] for k in ("vmta", "queue", "vmtaPool")] \
            == [member, "b.test/" + member, "p1"]
        # r records: the name each recipient asked for
        rs = {r["rcpt"]: r["vmta"]
              for r in w.wait_acct(lambda r: r["type"] == "r", 4)}
        assert rs == {"x@a.test": "v1", "y@c.test": "v2", "z@b.test": "p1",
                      "x2@a.test": "v1"}


def test_rule_order_and_header_over_default(tmp_path):
    """A mail-from rule before the rcpt-to rule takes the whole message;
    an X-Virtual-MTA header naming the source's default vmta still beats a
    matching pattern rule."""
    extra = """
<pattern-list pl>
    mail-from /^tx@/ virtual-mta=v3
    rcpt-to /@c\\.test$/ virtual-mta=v2
</pattern-list>
"""
    with World(tmp_path, ["a.test", "c.test"], extra=extra,
               source_extra=RCPT_SOURCE) as w:
        assert w.send(["h@a.test", "h@c.test"],
                      {"X-Virtual-MTA": "v1"})[0] == 250
        assert w.send(["t@a.test", "t@c.test"], sender="tx@sender.test")[0] \
            == 250
        got_a = by_rcpt(w.sinks["a.test"].wait_for_messages(2, timeout=20))
        got_c = by_rcpt(w.sinks["c.test"].wait_for_messages(2, timeout=20))
        assert got_a["h@a.test"].peer_ip == "127.0.0.2"
        assert got_c["h@c.test"].peer_ip == "127.0.0.2"     # header: v1
        assert got_a["t@a.test"].peer_ip in ("127.0.0.4", "127.0.0.5")
        assert got_c["t@c.test"].peer_ip in ("127.0.0.4", "127.0.0.5")
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 4)}
        assert ds["h@c.test"]["queue"] == "c.test/v1"
        assert ds["t@c.test"]["queue"] == "c.test/v3"


def test_rcpt_vmta_survives_restart(tmp_path):
    """Per-recipient vmtas are in the spool: queued (paused) mail comes
    back after a restart in the same domain/vmta queues."""
    with World(tmp_path, ["a.test", "c.test"], extra=RCPT_RULES,
               source_extra=RCPT_SOURCE) as w:
        ctl(w, "pause", "queue", "*/*")
        assert w.send(["x@a.test", "y@c.test"])[0] == 250

        def queued():
            qs = {q["name"]: q["rcpt"] for q in ctl(w, "queues")["queues"]}
            return qs if qs.get("a.test/v1") == 1 and \
                qs.get("c.test/v2") == 1 else None
        wait_for(queued, 20, what="both queues filled")
        assert w.daemon.stop() == 0, w.daemon.log()
        assert not w.sinks["a.test"].messages
        assert not w.sinks["c.test"].messages
        w.daemon.start()            # pauses do not survive a restart
        (ma,) = w.sinks["a.test"].wait_for_messages(1, timeout=20)
        (mc,) = w.sinks["c.test"].wait_for_messages(1, timeout=20)
        assert (ma.peer_ip, ma.ehlo) == ("127.0.0.2", "v1.sluice.test")
        assert (mc.peer_ip, mc.ehlo) == ("127.0.0.3", "v2.sluice.test")
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 2)}
        assert ds["x@a.test"]["queue"] == "a.test/v1"
        assert ds["y@c.test"]["queue"] == "c.test/v2"


def test_pool_msg_rate_shared_by_members(tmp_path):
    """max-smtp-msg-rate of a <virtual-mta-pool> paces the messages of all
    its members together (here 240/min: one every 250 ms), whether they
    came through the pool or named a member vmta directly."""
    extra = """
<virtual-mta-pool lim>
    virtual-mta v1
    virtual-mta v2
    max-smtp-msg-rate 240/min
</virtual-mta-pool>
"""
    with World(tmp_path, ["a.test", "c.test"], extra=extra) as w:
        for i in range(4):
            assert w.send([f"m{i}@a.test"], {"X-Virtual-MTA": "v1"})[0] == 250
            assert w.send([f"m{i}@c.test"], {"X-Virtual-MTA": "v2"})[0] == 250
        msgs = w.sinks["a.test"].wait_for_messages(4, timeout=20) + \
            w.sinks["c.test"].wait_for_messages(4, timeout=20)
        times = sorted(m.received for m in msgs)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # 8 messages through one 4/s pacer whose burst tolerance is 1 %
        # of the rate (2 here, docs/shaping.md): 3 at once, then one per
        # 250 ms (without the pool's limit all 8 go at once)
        assert times[-1] - times[0] >= 5 * 0.25 * 0.9, gaps
        assert sorted(gaps)[2] >= 0.25 * 0.6, gaps
        assert {m.peer_ip for m in msgs} == {"127.0.0.2", "127.0.0.3"}


def test_queue_to_groups_domains(tmp_path):
    """queue-to: two domains share the queue grp.queue/VMTA (one
    transaction for both recipients of one message) whose <domain> has
    smtp-hosts; a queue-to whose target has no smtp-hosts is ignored
    with a warning and the mail goes to its own MX."""
    def extra(w):
        return f"""
<domain q1.test>
    queue-to grp.queue
</domain>
<domain q2.test>
    queue-to grp.queue
</domain>
<domain grp.queue>
    route [127.0.0.1]:{w.sinks["a.test"].port}
</domain>
<domain [*.]c.test>
    queue-to nohosts.queue
</domain>
"""
    with World(tmp_path, ["a.test", "c.test"], extra=extra) as w:
        assert w.send(["x@q1.test", "y@Q2.test"],
                      {"X-Virtual-MTA": "v1"})[0] == 250
        assert w.send(["z@c.test"])[0] == 250
        (m,) = w.sinks["a.test"].wait_for_messages(1, timeout=20)
        assert sorted(m.rcpt_tos) == ["x@q1.test", "y@Q2.test"]
        assert m.peer_ip == "127.0.0.2"
        (mc,) = w.sinks["c.test"].wait_for_messages(1, timeout=20)
        assert mc.rcpt_tos == ["z@c.test"]
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 3)}
        assert ds["x@q1.test"]["queue"] == "grp.queue/v1"
        assert ds["y@Q2.test"]["queue"] == "grp.queue/v1"
        assert ds["z@c.test"]["queue"] == "c.test/{default}"
        assert "queue-to nohosts.queue for c.test" in w.daemon.log()
        assert "has no smtp-hosts" in w.daemon.log()


def test_reroute_to_virtual_mta(tmp_path):
    """reroute-to-virtual-mta in a <domain> inside a vmta (v4's a.test
    mail leaves through v2) and in a global <domain> naming a pool (c.test
    mail of v3 leaves through p1's members in turn): the sinks see the
    target's source IP and EHLO, and d records carry the target's vmta,
    queue and pool. v4's other domains and v2's own mail are untouched."""
    extra = """
<virtual-mta v4>
    smtp-source-host 127.0.0.6 v4.sluice.test
    <domain a.test>
        reroute-to-virtual-mta v2
    </domain>
</virtual-mta>
<domain c.test>
    reroute-to-virtual-mta p1
</domain>
"""
    with World(tmp_path, ["a.test", "c.test", "e.test"], extra=extra) as w:
        assert w.send(["x@a.test"], {"X-Virtual-MTA": "v4"})[0] == 250
        assert w.send(["y@e.test"], {"X-Virtual-MTA": "v4"})[0] == 250
        for i in range(2):
            assert w.send([f"c{i}@c.test"], {"X-Virtual-MTA": "v3"})[0] == 250
        (ma,) = w.sinks["a.test"].wait_for_messages(1, timeout=20)
        assert (ma.peer_ip, ma.ehlo) == ("127.0.0.3", "v2.sluice.test")
        (me,) = w.sinks["e.test"].wait_for_messages(1, timeout=20)
        assert (me.peer_ip, me.ehlo) == ("127.0.0.6", "v4.sluice.test")
        mc = w.sinks["c.test"].wait_for_messages(2, timeout=20)
        assert sorted((m.peer_ip, m.ehlo) for m in mc) == [
            ("127.0.0.2", "v1.sluice.test"), ("127.0.0.3", "v2.sluice.test")]
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 4)}
        assert (ds["x@a.test"]["vmta"], ds["x@a.test"]["queue"],
                ds["x@a.test"]["vmtaPool"], ds["x@a.test"]["dlvSourceIp"]) == \
            ("v2", "a.test/v2", "", "127.0.0.3")
        assert ds["y@e.test"]["queue"] == "e.test/v4"
        for i in range(2):
            r = ds[f"c{i}@c.test"]
            assert r["vmtaPool"] == "p1"
            assert r["queue"] == "c.test/" + r["vmta"]
        rs = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "r", 4)}
        assert rs["x@a.test"]["vmta"] == "v4"      # as asked for


def test_reroute_errors_refused_at_start(tmp_path):
    """An unknown target and a reroute loop (here through a backoff
    reroute in a global <domain>) stop sluiced with file:line."""
    cases = (
        ("<domain a.test>\n    reroute-to-virtual-mta nosuch\n</domain>\n",
         "reroute-to-virtual-mta nosuch",
         "unknown virtual-mta or pool nosuch"),
        ("<domain a.test>\n    backoff-reroute-to-virtual-mta v9\n"
         "</domain>\n<virtual-mta v9>\n    <domain a.test>\n"
         "        reroute-to-virtual-mta v2\n    </domain>\n"
         "</virtual-mta>\n", "backoff-reroute-to-virtual-mta v9",
         "reroute loop for domain a.test: v9 -> v2 -> v9"))
    for i, (extra, line, want) in enumerate(cases):
        w = World(tmp_path / str(i), ["a.test"], extra=extra)
        try:
            p = subprocess.run([bin_path("sluiced"), "-f", w.daemon.conf],
                               capture_output=True, text=True, timeout=30,
                               cwd=w.dir)
        finally:
            for s in w.sinks.values():
                s.stop()
            w.dns.stop()
        assert p.returncode == 1, p.stderr
        n = next(k for k, l in enumerate(w.config.splitlines(), 1)
                 if l.strip() == line)
        assert f"sluice.conf:{n}: {want}" in p.stderr, p.stderr


def test_backoff_reroute_to_virtual_mta(tmp_path):
    """backoff-reroute-to-virtual-mta: a `421 4.7.0` RCPT reply matching a
    mode=backoff rule puts a.test/v1 in backoff; the refused recipient is
    retried at once through v2 (not after backoff-retry-after 1h) and mail
    for v1 sent during backoff leaves through v2; after
    backoff-to-normal-after v1 delivers its own mail again."""
    extra = """
<smtp-pattern-list bo>
    reply /^421 4\\.7\\.0/ mode=backoff
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list bo
    backoff-reroute-to-virtual-mta v2
    backoff-to-normal-after 4s
    backoff-retry-after 1h
</domain>
"""
    script = {"rcpt": [{"addr": "b1@a.test", "first": 1,
                        "reply": "421 4.7.0 [TS01] too fast"}]}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": script}) as w:
        assert w.send(["b0@a.test"], {"X-Virtual-MTA": "v1"})[0] == 250
        w.sinks["a.test"].wait_for_messages(1, timeout=20)
        t_first = time.time()
        assert w.send(["b1@a.test"], {"X-Virtual-MTA": "v1"})[0] == 250
        w.wait_acct(lambda r: r["type"] == "t", 1)
        assert w.send(["b2@a.test"], {"X-Virtual-MTA": "v1"})[0] == 250
        msgs = w.sinks["a.test"].wait_for_messages(3, timeout=20)
        got = by_rcpt(msgs)
        assert got["b0@a.test"].peer_ip == "127.0.0.2"
        assert (got["b1@a.test"].peer_ip, got["b1@a.test"].ehlo) == \
            ("127.0.0.3", "v2.sluice.test")
        assert got["b2@a.test"].peer_ip == "127.0.0.3"
        assert got["b1@a.test"].received - t_first < 10
        assert "queue a.test/v1: backoff mode" in w.daemon.log()
        ts = w.wait_acct(lambda r: r["type"] == "t", 1)
        assert (ts[0]["rcpt"], ts[0]["queue"], ts[0]["vmta"]) == \
            ("b1@a.test", "a.test/v1", "v1")
        ds = {r["rcpt"]: r for r in w.wait_acct(lambda r: r["type"] == "d", 3)}
        assert ds["b1@a.test"]["queue"] == "a.test/v2"
        assert ds["b1@a.test"]["vmta"] == "v2"
        assert ds["b2@a.test"]["queue"] == "a.test/v2"
        # backoff over: v1's own mail leaves through v1 again
        time.sleep(max(0.0, t_first + 5 - time.time()))
        assert w.send(["b3@a.test"], {"X-Virtual-MTA": "v1"})[0] == 250
        got = by_rcpt(w.sinks["a.test"].wait_for_messages(4, timeout=20))
        assert got["b3@a.test"].peer_ip == "127.0.0.2"
