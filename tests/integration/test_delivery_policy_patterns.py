"""
test_delivery_policy_patterns.py -- <smtp-pattern-list> reply actions end
to end (issue #4): skip-mx (the next MX gets the message), bounce-queue
(every queued recipient of the domain bounces, with DSNs), defer-queue (the
queue goes into retry: no attempt before retry-after) and disable-source-ip
(the next connections use only the vmta's other source IP until
reenable-after).

To have several messages queued before the first attempt, the queue is
paused by a wildcard rule (the queue does not exist yet), the messages are
injected, and the queue is resumed.
"""
import asyncio
import datetime
import http.client
import os
import socket
import threading
import time
import urllib.parse

from conftest import wait_for
from peers.sink import SMTPSink
from test_vmta import World


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=15)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(15)
        self.sock.connect(self._path)


def command(w, verb, **params):
    c = _UnixHTTP(os.path.join(w.dir, "sluiced.sock"))
    try:
        body = urllib.parse.urlencode(params)
        c.request("POST", "/" + verb, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        text = r.read().decode()
        assert r.status == 200, text
        return text
    finally:
        c.close()


def queued_then_resumed(w, spec, batches):
    """Pause spec (a rule), inject each list of recipients as one message,
    wait until they are queued, resume."""
    command(w, "pause", queue=spec)
    for rcpts in batches:
        assert w.send(rcpts)[0] == 250
    w.wait_acct(lambda r: r["type"] == "r", sum(len(b) for b in batches),
                timeout=10)
    command(w, "resume", queue=spec)


class PortSink(SMTPSink):
    """A sink on a given address and port (two MX hosts share a domain's
    default-smtp-port, on different loopback addresses)."""

    def __init__(self, script, address, port, hostname):
        super().__init__(script, hostname=hostname, address=address)
        self._want = port

    def start(self):
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                self._loop.create_server(self._protocol, self.address,
                                         self._want))
            self.port = self._want
            ready.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10)
        return self


def test_skip_mx(tmp_path):
    extra = """
<smtp-pattern-list pl>
    reply /try the next MX/ skip-mx
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list pl
</domain>
"""
    bad = {"rcpt": [{"reply": "452 4.7.1 busy, try the next MX"}]}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": bad}) as w:
        mx1 = w.sinks["a.test"]
        mx2 = PortSink({}, "127.0.0.9", mx1.port, "mx2.a.test").start()
        try:
            w.dns.set("a.test", {"MX": [(10, "mx.a.test"),
                                        (20, "mx2.a.test")]})
            w.dns.set("mx2.a.test", {"A": ["127.0.0.9"]})
            assert w.send(["s1@a.test", "s2@a.test"])[0] == 250
            (m,) = mx2.wait_for_messages(1, timeout=20)
            assert sorted(m.rcpt_tos) == ["s1@a.test", "s2@a.test"]
            ds = w.wait_acct(lambda r: r["type"] == "d", 2)
            assert {d["dlvDestinationIp"] for d in ds} == {"127.0.0.9"}
            assert {d["dsnMta"] for d in ds} == {"mx2.a.test (127.0.0.9)"}
            assert not mx1.messages
            assert [c.rcpt_attempts for c in mx1.connections if
                    c.rcpt_attempts]
            # a skipped MX is no attempt: no t (or b) record
            assert not [r for r in w.acct() if r["type"] in ("t", "b")]
        finally:
            mx2.stop()


def test_bounce_queue(tmp_path):
    extra = """
<smtp-pattern-list pl>
    reply /blocked, bounce all/ bounce-queue
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list pl
    max-smtp-out 1
</domain>
"""
    script = {"rcpt": [{"addr": "trigger@a.test",
                        "reply": "554 5.7.1 blocked, bounce all"}]}
    with World(tmp_path, ["a.test", "sender.test"], extra=extra,
               scripts={"a.test": script}) as w:
        queued_then_resumed(w, "a.test/*", [["trigger@a.test"],
                                            ["o1@a.test"],
                                            ["o2@a.test", "o3@a.test"]])
        bs = w.wait_acct(lambda r: r["type"] == "b", 4)
        assert sorted(b["rcpt"] for b in bs) == [
            "o1@a.test", "o2@a.test", "o3@a.test", "trigger@a.test"]
        for b in bs:
            assert b["dsnDiag"] == "smtp;554 5.7.1 blocked, bounce all", b
            assert b["dsnStatus"].startswith("5.")
        # one DSN per message
        dsn = wait_for(lambda: (lambda m: m if len(m) >= 3 else None)(
            [m for m in w.sinks["sender.test"].messages
             if m.mail_from in ("", "<>")]), 20, what="3 DSNs")
        assert len(dsn) == 3
        got = b"".join(m.data for m in dsn)
        for a in (b"o1@a.test", b"o2@a.test", b"o3@a.test",
                  b"trigger@a.test"):
            assert a in got
        assert not w.sinks["a.test"].messages
        # only the trigger was ever offered to the remote
        att = [a for c in w.sinks["a.test"].connections
               for a in c.rcpt_attempts]
        assert att == ["trigger@a.test"], att


def test_defer_queue(tmp_path):
    extra = """
<smtp-pattern-list pl>
    reply /over quota, come back later/ defer-queue
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list pl
    max-smtp-out 1
    retry-after 3s
</domain>
"""
    script = {"rcpt": [{"addr": "d1@a.test", "first": 1,
                        "reply": "451 4.7.1 over quota, come back later"}]}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": script}) as w:
        sink = w.sinks["a.test"]
        queued_then_resumed(w, "a.test/*", [["d1@a.test"], ["d2@a.test"]])
        (tq,) = w.wait_acct(lambda r: r["type"] == "tq", 1)
        assert tq["queue"] == "a.test/{default}"
        assert tq["dsnDiag"] == "smtp;451 4.7.1 over quota, come back later"
        # Retry times are whole seconds counted from the deferral's
        # timeLogged (the daemon's clock, as the sink's): measured from
        # there, not from when this process got to read the record, so a
        # slow poll cannot eat the margin. retry-after 1s would retry at
        # logged + 1.
        logged = datetime.datetime.strptime(
            tq["timeLogged"], "%Y-%m-%d %H:%M:%S%z").timestamp()
        (t,) = w.wait_acct(lambda r: r["type"] == "t", 1)
        assert t["rcpt"] == "d1@a.test"
        nconn = len(sink.connections)
        # the queue is in retry mode: d2 (ready) is not tried either
        time.sleep(max(0.0, logged + 2.2 - time.time()))
        assert len(sink.connections) == nconn
        assert not sink.messages
        msgs = sink.wait_for_messages(2, timeout=20)
        first = min(m.received for m in msgs)
        assert first - logged >= 3 - 0.1, (first - logged, tq["timeLogged"])
        assert sorted(r for m in msgs for r in m.rcpt_tos) == \
            ["d1@a.test", "d2@a.test"]


def test_disable_source_ip(tmp_path):
    extra = """
<smtp-pattern-list pl>
    reply /this IP is blocked/ disable-source-ip,reenable-after=4s
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list pl
    max-smtp-out 1
    max-msg-per-connection 1
</domain>
"""
    script = {"rcpt": [{"addr": "bad@a.test", "first": 1,
                        "reply": "421 4.7.0 this IP is blocked"}]}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": script}) as w:
        sink = w.sinks["a.test"]
        hdr = {"X-Virtual-MTA": "v3"}       # 127.0.0.4 and 127.0.0.5
        command(w, "pause", queue="a.test/*")
        assert w.send(["bad@a.test"], hdr)[0] == 250
        for i in range(6):
            assert w.send([f"n{i}@a.test"], hdr)[0] == 250
        w.wait_acct(lambda r: r["type"] == "r", 7, timeout=10)
        t0 = time.time()
        command(w, "resume", queue="a.test/*")
        msgs = sink.wait_for_messages(7, timeout=20)
        assert time.time() - t0 < 4.0       # all before the re-enable
        blocked = [c.peer_ip for c in sink.connections
                   if "bad@a.test" in c.rcpt_attempts][0]
        other = ({"127.0.0.4", "127.0.0.5"} - {blocked}).pop()
        assert {m.peer_ip for m in msgs} == {other}, \
            [(m.rcpt_tos, m.peer_ip) for m in msgs]
        assert "source IP %s disabled" % blocked in w.daemon.log()
        # after reenable-after both IPs take turns again
        time.sleep(max(0.0, t0 + 4.5 - time.time()))
        for i in range(4):
            assert w.send([f"late{i}@a.test"], hdr)[0] == 250
            sink.wait_for_messages(8 + i, timeout=20)
        late = [m for m in sink.messages if m.rcpt_tos[0].startswith("late")]
        assert {m.peer_ip for m in late} == {"127.0.0.4", "127.0.0.5"}


def test_pool_skips_member_with_all_ips_disabled(tmp_path):
    """disable-source-ip on the only IP of a pool member X for a.test: the
    refused recipient's retry and every later pool message picked for X go
    through the pool's other member Y (vmta Y, queue a.test/Y, vmtaPool
    p1) instead of waiting for reenable-after; mail that named X itself
    (no pool) stays and is deferred (tq 4.4.0)."""
    extra = """
<smtp-pattern-list pl>
    reply /this IP is blocked/ disable-source-ip,reenable-after=1h
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list pl
</domain>
"""
    script = {"rcpt": [{"addr": "blk@a.test", "first": 1,
                        "reply": "451 4.7.1 this IP is blocked"}]}
    ips = {"v1": "127.0.0.2", "v2": "127.0.0.3"}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": script}) as w:
        assert w.send(["blk@a.test"], {"X-Virtual-MTA": "p1"})[0] == 250
        (t,) = w.wait_acct(lambda r: r["type"] == "t", 1)
        x = t["vmta"]
        y = {"v1": "v2", "v2": "v1"}[x]
        assert t["dlvSourceIp"] == ips[x]
        for i in range(4):
            assert w.send([f"p{i}@a.test"], {"X-Virtual-MTA": "p1"})[0] == 250
        assert w.send(["own@a.test"], {"X-Virtual-MTA": x})[0] == 250
        msgs = w.sinks["a.test"].wait_for_messages(5, timeout=20)
        assert {m.peer_ip for m in msgs} == {ips[y]}
        assert sorted(m.rcpt_tos[0] for m in msgs) == \
            ["blk@a.test"] + [f"p{i}@a.test" for i in range(4)]
        ds = w.wait_acct(lambda r: r["type"] == "d", 5)
        for d in ds:
            assert (d["vmta"], d["queue"], d["vmtaPool"]) == \
                (y, "a.test/" + y, "p1"), d
        tq = w.wait_acct(lambda r: r["type"] == "tq", 1)
        assert tq[0]["queue"] == "a.test/" + x
        assert "all source IPs disabled" in tq[0]["dsnDiag"]
        time.sleep(0.5)
        assert "own@a.test" not in [m.rcpt_tos[0] for m in
                                    w.sinks["a.test"].messages]
