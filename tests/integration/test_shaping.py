"""
test_shaping.py -- traffic shaping end to end (issue #4 items 3-8): smooth
max-msg-rate pacing (600/min = one recipient every 100 ms; 20/2s held within
5 %), backoff mode from an <smtp-pattern-list> reply rule and its return to
normal, bounce-rcpt, fairness between a bulk backlog and transactional mail
under total-max-smtp-out, MX rollup into one queue, /queues mode, and the
DSN of a hard bounce carrying the original headers.

Timing is measured at the sinks (time.time() per received message).
"""
import http.client
import json
import os
import signal
import smtplib
import socket
import threading
import time

from conftest import wait_for
from relayenv import RelayEnv
from test_vmta import World


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self._path)


def queues(w):
    c = _UnixHTTP(os.path.join(w.dir, "sluiced.sock"))
    try:
        c.request("GET", "/queues?format=json")
        r = c.getresponse()
        assert r.status == 200
        return {q["name"]: q for q in json.loads(r.read())["queues"]}
    finally:
        c.close()


def inject_many(port, rcpts, headers=None, sessions=1):
    """Inject one message per recipient over `sessions` parallel SMTP
    sessions (several transactions each)."""
    def run(part):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.test")
            for r in part:
                hdrs = {"From": "bulk@sender.test", "To": r, "Subject": "t"}
                hdrs.update(headers or {})
                msg = "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
                refused = s.sendmail("bulk@sender.test", [r],
                                     (msg + "\r\nbody\r\n").encode())
                assert not refused, refused
    parts = [rcpts[i::sessions] for i in range(sessions)]
    ts = [threading.Thread(target=run, args=(p,)) for p in parts]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)


def arrival_times(sink):
    return sorted(m.received for m in sink.messages)


def test_rate_600_per_min_spacing(tmp_path):
    """600/min: one recipient every 100 ms (+-5 %), no minute burst."""
    extra = "<domain a.test>\n    max-msg-rate 600/min\n</domain>\n"
    with World(tmp_path, ["a.test"], extra=extra,
               global_extra="spool-sync no") as w:
        n = 50
        inject_many(w.smtp_port, [f"r{i}@a.test" for i in range(n)])
        w.sinks["a.test"].wait_for_messages(n, timeout=30)
        t = arrival_times(w.sinks["a.test"])
        # the burst tolerance allows floor(600/100) = 6 early after idle
        steady = t[7:]
        spacing = (steady[-1] - steady[0]) / (len(steady) - 1)
        assert abs(spacing - 0.100) <= 0.005, spacing
        # never more than 6+1 within any 100 ms
        for i in range(len(t) - 8):
            assert t[i + 8] - t[i] > 0.1, (i, t[i:i + 9])


def test_rate_600_per_min_over_a_minute_multi_rcpt(tmp_path):
    """600/min held over a whole minute when messages have 3 recipients
    each: max-msg-rate counts recipient attempts, so 200 messages x 3
    recipients = 600 attempts take a minute (+-5 %), a batch is cut to the
    tokens available (no 1 s window over 10 + the 6 burst + one batch, no
    10 s window over 100 + the same)."""
    extra = "<domain a.test>\n    max-msg-rate 600/min\n</domain>\n"
    with World(tmp_path, ["a.test"], extra=extra,
               global_extra="spool-sync no") as w:
        nmsg, per = 200, 3
        with smtplib.SMTP("127.0.0.1", w.smtp_port, timeout=30) as c:
            c.ehlo("client.test")
            for i in range(nmsg):
                rc = [f"m{i}r{k}@a.test" for k in range(per)]
                c.sendmail("bulk@sender.test", rc,
                           (f"From: bulk@sender.test\r\nTo: {rc[0]}\r\n"
                            "Subject: t\r\n\r\nbody\r\n").encode())
        sink = w.sinks["a.test"]
        wait_for(lambda: sum(len(m.rcpt_tos) for m in sink.messages)
                 >= nmsg * per, timeout=100, interval=0.5,
                 what="600 recipients at the sink")
        ev = sorted((m.received, len(m.rcpt_tos)) for m in sink.messages)
        assert sum(k for _, k in ev) == nmsg * per
        # one arrival time per recipient
        t = [x for x, k in ev for _ in range(k)]
        steady = t[7:]
        rate = (len(steady) - 1) / (steady[-1] - steady[0]) * 60
        assert abs(rate - 600) <= 30, rate
        for i in range(len(t)):
            in1 = sum(1 for x in t if t[i] <= x < t[i] + 1.0)
            assert in1 <= 10 + 6 + per, (i, in1)
            in10 = sum(1 for x in t if t[i] <= x < t[i] + 10.0)
            assert in10 <= 100 + 6 + per, (i, in10)


def test_rate_20_per_2s_held(tmp_path):
    """20/2s over a 6-second run: 10/s within 5 %, no 2 s window > 21."""
    extra = "<domain a.test>\n    max-msg-rate 20/2s\n</domain>\n"
    with World(tmp_path, ["a.test"], extra=extra,
               global_extra="spool-sync no") as w:
        n = 61
        inject_many(w.smtp_port, [f"r{i}@a.test" for i in range(n)],
                    sessions=2)
        w.sinks["a.test"].wait_for_messages(n, timeout=40)
        t = arrival_times(w.sinks["a.test"])
        rate = (n - 1) / (t[-1] - t[0])
        assert abs(rate - 10.0) <= 0.5, rate
        for i in range(n):
            inwin = [x for x in t if t[i] <= x < t[i] + 2.0]
            assert len(inwin) <= 21, (i, len(inwin))


def test_backoff_mode_and_recovery(tmp_path):
    extra = """
<smtp-pattern-list slow>
    reply /4\\.7\\.0 slow down/ mode=backoff
</smtp-pattern-list>
<domain a.test>
    max-msg-rate 20/s
    backoff-max-msg-rate 4/s
    backoff-to-normal-after 4s
    backoff-retry-after 1s
    smtp-pattern-list slow
</domain>
"""
    with World(tmp_path, ["a.test"], extra=extra,
               global_extra="spool-sync no") as w:
        sink = w.sinks["a.test"]
        n = 150
        inject_many(w.smtp_port, [f"r{i}@a.test" for i in range(n)])
        sink.wait_for_messages(15, timeout=20)
        t_switch = time.time()
        # one recipient a little ahead in the queue gets one 421 (which
        # also closes the connection)
        k = len(sink.messages) + 6
        sink.set_script({"rcpt": [{"addr": f"r{k}@a.test", "first": 1,
                                   "reply": "421 4.7.0 slow down"}]})
        wait_for(lambda: queues(w)["a.test/{default}"]["mode"] == "backoff",
                 5, what="backoff in /queues")
        t0 = time.time()
        sink.wait_for_messages(n, timeout=60)
        t = arrival_times(sink)
        before = [x for x in t if t_switch - 0.75 <= x < t_switch]
        assert [r for r in w.acct() if r["type"] == "t"
                and r["rcpt"] == f"r{k}@a.test"]
        assert 12 <= len(before) / 0.75 <= 24, len(before)
        during = [x for x in t if t0 + 0.5 <= x < t0 + 3.0]
        rate_b = len(during) / 2.5
        assert 3.0 <= rate_b <= 5.0, rate_b
        after = [x for x in t if t0 + 5.0 <= x < t0 + 6.5]
        rate_a = len(after) / 1.5
        assert rate_a >= 16, (rate_a, len(t))
        assert queues(w)["a.test/{default}"]["mode"] == "normal"
        log = w.daemon.log()
        assert "backoff mode" in log and "normal mode" in log


def test_bounce_rcpt_action(tmp_path):
    extra = """
<smtp-pattern-list pl>
    reply /4\\.2\\.2 mailbox full/ bounce-rcpt
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list pl
</domain>
"""
    script = {"rcpt": [{"addr": "full@a.test",
                        "reply": "452 4.2.2 mailbox full"}]}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": script}) as w:
        assert w.send(["full@a.test", "ok@a.test"])[0] == 250
        (b,) = w.wait_acct(lambda r: r["type"] == "b" and
                           r["rcpt"] == "full@a.test")
        assert b["rcpt"] == "full@a.test"
        assert b["dsnDiag"] == "smtp;452 4.2.2 mailbox full"
        assert b["dsnStatus"].startswith("5.")
        w.wait_acct(lambda r: r["type"] == "d" and r["rcpt"] == "ok@a.test")
        assert not [r for r in w.acct() if r["type"] == "t"]


def test_fairness_bulk_backlog_does_not_starve(tmp_path):
    """2000 bulk messages on vmta v1 to a slow sink hold every global
    connection slot; 20 transactional messages on v2 to another domain
    still go out within a bound independent of the backlog."""
    extra = "<domain a.test>\n    max-smtp-out 4\n</domain>\n"
    with World(tmp_path, ["a.test", "b.test"], extra=extra,
               global_extra="spool-sync no\ntotal-max-smtp-out 4") as w:
        slow = w.sinks["a.test"]
        slow.on_message = lambda m: time.sleep(0.02)  # ~50 msg/s, serial
        bulk = [f"bulk{i}@a.test" for i in range(2000)]
        inject_many(w.smtp_port, bulk, {"X-Virtual-MTA": "v1"}, sessions=4)
        slow.wait_for_messages(50, timeout=60)
        t0 = time.time()
        tx = [f"tx{i}@b.test" for i in range(20)]
        inject_many(w.smtp_port, tx, {"X-Virtual-MTA": "v2"})
        w.sinks["b.test"].wait_for_messages(20, timeout=30)
        took = time.time() - t0
        backlog = 2000 - len(slow.messages)
        assert backlog > 500, backlog      # the bulk queue is still full
        assert took < 6.0, took
        assert {m.peer_ip for m in w.sinks["b.test"].messages} == \
            {"127.0.0.3"}


def test_mx_rollup_one_queue(tmp_path):
    def extra(w):
        port = w.sinks["a.test"].port
        return f"""
<mx-rollup-list>
    mx mx.shared.test shared.rollup
</mx-rollup-list>
<domain shared.rollup>
    default-smtp-port {port}
</domain>
"""
    with World(tmp_path, ["a.test"], extra=extra) as w:
        for d in ("r1.test", "r2.test"):
            w.dns.set(d, {"MX": [(10, "mx.shared.test")]})
        w.dns.set("mx.shared.test", {"A": ["127.0.0.1"]})
        # first messages: queued per domain, re-routed after the MX lookup
        assert w.send(["first@r1.test"])[0] == 250
        assert w.send(["first@r2.test"])[0] == 250
        w.sinks["a.test"].wait_for_messages(2, timeout=20)
        # now known: straight into the rollup queue, one transaction
        assert w.send(["y@r2.test", "z@r1.test"])[0] == 250
        w.sinks["a.test"].wait_for_messages(3, timeout=20)
        ds = w.wait_acct(lambda r: r["type"] == "d", 4)
        assert {r["queue"] for r in ds} == {"shared.rollup/{default}"}, ds
        q = queues(w)
        assert "shared.rollup/{default}" in q
        assert q["shared.rollup/{default}"]["domain"] == "shared.rollup"
        # one transaction carried both domains' recipients of one message
        both = [m for m in w.sinks["a.test"].messages if len(m.rcpt_tos) == 2]
        assert both and sorted(both[0].rcpt_tos) == ["y@r2.test", "z@r1.test"]


def test_mx_rollup_forgotten_on_reload(tmp_path):
    """A reload drops what was learnt about rollups: when the
    <mx-rollup-list> no longer matches its MX, a domain that rolled up
    before is queued under its own name again."""
    rollup = "<mx-rollup-list>\n    mx mx.shared.test shared.rollup\n" \
        "</mx-rollup-list>\n"

    def extra(w):
        port = w.sinks["a.test"].port
        return rollup + "".join(
            f"<domain {d}>\n    default-smtp-port {port}\n</domain>\n"
            for d in ("shared.rollup", "r1.test"))
    with World(tmp_path, ["a.test"], extra=extra) as w:
        w.dns.set("r1.test", {"MX": [(10, "mx.shared.test")]})
        w.dns.set("mx.shared.test", {"A": ["127.0.0.1"]})
        assert w.send(["first@r1.test"])[0] == 250
        w.sinks["a.test"].wait_for_messages(1, timeout=20)
        assert w.send(["second@r1.test"])[0] == 250     # known: rollup
        w.sinks["a.test"].wait_for_messages(2, timeout=20)
        with open(w.daemon.conf) as f:
            conf = f.read()
        assert rollup in conf
        with open(w.daemon.conf, "w") as f:
            f.write(conf.replace("mx.shared.test", "mx.other.test"))
        w.daemon.signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in w.daemon.log(), 10, what="reload")
        assert w.send(["third@r1.test"])[0] == 250
        w.sinks["a.test"].wait_for_messages(3, timeout=20)
        ds = {r["rcpt"]: r["queue"]
              for r in w.wait_acct(lambda r: r["type"] == "d", 3)}
        assert ds == {"first@r1.test": "shared.rollup/{default}",
                      "second@r1.test": "shared.rollup/{default}",
                      "third@r1.test": "r1.test/{default}"}, ds


def test_hard_bounce_dsn_has_original_headers(tmp_path):
    script = {"rcpt": [{"addr": "gone@ok.test",
                        "reply": "550 5.1.1 no such user"}]}
    with RelayEnv(tmp_path, rcpt_script=script) as env:
        assert env.send(["gone@ok.test"],
                        headers={"Subject": "original-subject-42"})[0] == 250
        (dsn,) = env.sender.wait_for_messages(1, timeout=20)
        assert dsn.mail_from in ("", "<>")
        assert b"Subject: original-subject-42" in dsn.data
        assert b"Message-ID: <" in dsn.data
        assert b"multipart/report" in dsn.data
        assert "cannot read message" not in env.daemon.log()


def test_vmta_msg_rate_and_connect_rate(tmp_path):
    """<virtual-mta> max-smtp-msg-rate 5/s spans the vmta's queues (two
    domains); max-connect-rate 5/s with one message per connection paces
    the messages of a queue too."""
    extra = """
<virtual-mta v9>
    smtp-source-host 127.0.0.9 v9.sluice.test
    max-smtp-msg-rate 5/s
</virtual-mta>
<domain c.test>
    max-connect-rate 5/s
    max-msg-per-connection 1
</domain>
"""
    with World(tmp_path, ["a.test", "b.test", "c.test"], extra=extra,
               global_extra="spool-sync no") as w:
        rc = [f"m{i}@{'a' if i % 2 else 'b'}.test" for i in range(30)]
        inject_many(w.smtp_port, rc, {"X-Virtual-MTA": "v9"})
        inject_many(w.smtp_port, [f"c{i}@c.test" for i in range(16)])
        w.sinks["a.test"].wait_for_messages(15, timeout=30)
        w.sinks["b.test"].wait_for_messages(15, timeout=30)
        t = sorted(arrival_times(w.sinks["a.test"]) +
                   arrival_times(w.sinks["b.test"]))
        rate = (len(t) - 1) / (t[-1] - t[0])
        assert 4.5 <= rate <= 5.5, rate
        w.sinks["c.test"].wait_for_messages(16, timeout=30)
        tc = arrival_times(w.sinks["c.test"])
        rate_c = (len(tc) - 1) / (tc[-1] - tc[0])
        assert 4.5 <= rate_c <= 5.5, rate_c
        assert len(w.sinks["c.test"].connections) >= 16


def _t_time(row):
    return time.mktime(time.strptime(row["timeLogged"][:19],
                                     "%Y-%m-%d %H:%M:%S"))


def test_retry_schedule_exponential(tmp_path):
    """retry-schedule exponential first=2s factor=2 max=5s jitter=20%:
    the sink answers 451 to the first 3 attempts; the t records (one per
    attempt) and the delivery are 2 s, 4 s and 4-5 s apart (20 % of 5 s is
    the only jitter of whole seconds; max caps 8 s), not retry-after's 1 s."""
    extra = """
<domain a.test>
    retry-after 1s
    retry-schedule exponential first=2s factor=2 max=5s jitter=20%
</domain>
"""
    script = {"rcpt": [{"addr": "x@a.test", "first": 3,
                        "reply": "451 4.3.0 try again"}]}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": script}) as w:
        assert w.send(["x@a.test"])[0] == 250
        (m,) = w.sinks["a.test"].wait_for_messages(1, timeout=40)
        ts = w.wait_acct(lambda r: r["type"] == "t", 3)
        (d,) = w.wait_acct(lambda r: r["type"] == "d")
        times = [_t_time(r) for r in ts] + [_t_time(d)]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # whole-second retry times, logged in whole seconds: +-1 s
        assert 1 <= gaps[0] <= 3, gaps
        assert 3 <= gaps[1] <= 5, gaps
        assert 3 <= gaps[2] <= 6, gaps
        assert gaps[1] > gaps[0], gaps
        assert [r["dsnDiag"] for r in ts] == ["smtp;451 4.3.0 try again"] * 3


def test_backoff_from_greeting_421(tmp_path):
    """A `421 4.7.0` greeting (no EHLO, nothing sent) matching a
    mode=backoff rule puts the queue in backoff: /queues says so, the log
    names the reply, and the queue-level retry waits backoff-retry-after
    (3 s) instead of retry-after (1 s); the second connection delivers."""
    extra = """
<smtp-pattern-list gr>
    reply /^421 4\\.7\\.0/ mode=backoff
</smtp-pattern-list>
<domain a.test>
    smtp-pattern-list gr
    retry-after 1s
    backoff-retry-after 3s
    backoff-to-normal-after 1h
</domain>
"""
    script = {"connections": {"1": {"greeting":
                                    "421 4.7.0 [TSS04] try later"}}}
    with World(tmp_path, ["a.test"], extra=extra,
               scripts={"a.test": script}) as w:
        t_send = time.time()
        assert w.send(["g@a.test"])[0] == 250
        wait_for(lambda: queues(w).get("a.test/{default}", {}).get("mode")
                 == "backoff", 10, what="backoff in /queues")
        (m,) = w.sinks["a.test"].wait_for_messages(1, timeout=20)
        assert m.received - t_send >= 2.0, m.received - t_send
        assert len(w.sinks["a.test"].connections) == 2
        assert queues(w)["a.test/{default}"]["mode"] == "backoff"
        assert 'backoff mode (reply "421 4.7.0 [TSS04] try later")' in \
            w.daemon.log()
        (tq,) = w.wait_acct(lambda r: r["type"] == "tq")
        assert "421 4.7.0" in tq["dsnDiag"]
