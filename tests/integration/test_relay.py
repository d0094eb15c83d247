"""
test_relay.py -- sluiced end to end on loopback: real SMTP clients inject,
a real DNS server answers MX queries, scripted aiosmtpd sinks receive.

Covers issue #2's list: delivered; deferred then delivered on retry; hard
bounce with a DSN received by the sender's sink; expiry; null MX; NXDOMAIN;
relay denied; restart with queued mail; accounting fields as PowerMTA
writes them.
"""
import email
import email.policy
import re
import smtplib
import subprocess
import time

import pytest

from conftest import wait_for
from peers.sink import SMTPSink
from relayenv import RelayEnv

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4}$")


def parse_dsn(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def dsn_fields(msg):
    """(per-message, [per-recipient]) field dicts of a multipart/report."""
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = [p for p in msg.get_payload()
             if p.get_content_type() == "message/delivery-status"]
    assert len(parts) == 1
    blocks = parts[0].get_payload()
    return dict(blocks[0].items()), [dict(b.items()) for b in blocks[1:]]


def test_delivered(tmp_path):
    with RelayEnv(tmp_path) as env:
        code, text = env.send(["bob@ok.test"])
        assert code == 250, text
        env.rcpt.wait_for_messages(1, timeout=20)
        m = env.rcpt.messages[0]
        assert m.mail_from == "alice@sender.test"
        assert m.rcpt_tos == ["bob@ok.test"]
        assert m.ehlo == "sluice.test"
        assert b"Subject: test" in m.data and b"hello" in m.data
        (d,) = env.wait_acct(lambda r: r["type"] == "d")
        assert d["rcpt"] == "bob@ok.test"
        assert d["orig"] == "alice@sender.test"
        assert d["dsnAction"] == "relayed"
        assert d["dsnStatus"] == "2.0.0 (success)"
        assert d["dsnDiag"].startswith("smtp;250 ")
        assert d["dsnMta"] == "mx.ok.test (127.0.0.1)"
        assert d["bounceCat"] == ""
        assert d["srcType"] == "smtp"
        assert d["srcMta"] == "client.test (127.0.0.1)"
        assert d["dlvType"] == "smtp"
        assert d["dlvSourceIp"] == "127.0.0.1"
        assert d["dlvDestinationIp"] == "127.0.0.1"
        assert "8BITMIME" in d["dlvEsmtpAvailable"]
        assert int(d["dlvSize"]) > 0
        assert d["vmta"] == "{default}"
        assert d["queue"] == "ok.test/{default}"
        assert TIME_RE.match(d["timeLogged"]) and TIME_RE.match(d["timeQueued"])
        # r (receipt) record written at injection
        (r,) = env.wait_acct(lambda r: r["type"] == "r")
        assert r["rcpt"] == "bob@ok.test"


def test_deferred_then_delivered(tmp_path):
    script = {"rcpt": [{"addr": "slow@ok.test", "first": 2,
                        "reply": "450 4.2.0 mailbox busy, try later"}]}
    with RelayEnv(tmp_path, rcpt_script=script, retry="1s") as env:
        assert env.send(["slow@ok.test"])[0] == 250
        env.rcpt.wait_for_messages(1, timeout=30)
        (d,) = env.wait_acct(lambda r: r["type"] == "d")
        ts = [r for r in env.acct_records() if r["type"] == "t"]
        assert len(ts) == 2, ts
        for t in ts:
            assert t["dsnAction"] == "delayed"
            assert t["dsnStatus"].startswith("4.2.0 (")
            assert t["dsnDiag"] == "smtp;450 4.2.0 mailbox busy, try later"
        assert d["rcpt"] == "slow@ok.test"


def test_421_defers_then_delivers(tmp_path):
    """A 421 4.7.0 (throttling) at RCPT defers; the retry delivers."""
    script = {"rcpt": [{"addr": "busy@ok.test", "first": 1,
                        "reply": "421 4.7.0 too many connections, try later"}]}
    with RelayEnv(tmp_path, rcpt_script=script, retry="1s") as env:
        assert env.send(["busy@ok.test"])[0] == 250
        env.rcpt.wait_for_messages(1, timeout=30)
        (d,) = env.wait_acct(lambda r: r["type"] == "d")
        (t,) = [r for r in env.acct_records() if r["type"] == "t"]
        assert t["dsnStatus"].startswith("4.7.0 (")
        assert t["dsnDiag"] == "smtp;421 4.7.0 too many connections, try later"
        assert t["bounceCat"] != ""


def test_hard_bounce_sends_dsn(tmp_path):
    script = {"rcpt": [{"addr": "nobody@ok.test",
                        "reply": "550 5.1.1 no such user"}]}
    with RelayEnv(tmp_path, rcpt_script=script) as env:
        assert env.send(["nobody@ok.test", "bob@ok.test"])[0] == 250
        env.rcpt.wait_for_messages(1, timeout=20)
        assert env.rcpt.messages[0].rcpt_tos == ["bob@ok.test"]
        (b,) = env.wait_acct(lambda r: r["type"] == "b")
        assert b["rcpt"] == "nobody@ok.test"
        assert b["dsnAction"] == "failed"
        assert b["dsnStatus"] == "5.1.1 (bad destination mailbox address)"
        assert b["dsnDiag"] == "smtp;550 5.1.1 no such user"
        assert b["bounceCat"] == "bad-mailbox"
        env.sender.wait_for_messages(1, timeout=20)
        dsn = env.sender.messages[0]
        assert dsn.mail_from in ("", "<>")  # null sender
        assert dsn.rcpt_tos == ["alice@sender.test"]
        per_msg, per_rcpt = dsn_fields(parse_dsn(dsn.data))
        assert "sluice.test" in per_msg["Reporting-MTA"]
        assert len(per_rcpt) == 1
        assert per_rcpt[0]["Final-Recipient"].endswith("nobody@ok.test")
        assert per_rcpt[0]["Action"] == "failed"
        assert per_rcpt[0]["Status"] == "5.1.1"
        assert "550 5.1.1 no such user" in per_rcpt[0]["Diagnostic-Code"]


def test_no_dsn_for_null_sender(tmp_path):
    script = {"rcpt": [{"addr": "nobody@ok.test", "reply": "550 5.1.1 no"}]}
    with RelayEnv(tmp_path, rcpt_script=script) as env:
        with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15) as s:
            s.ehlo("client.test")
            s.mail("<>")
            s.rcpt("nobody@ok.test")
            assert s.data(b"Subject: x\r\n\r\nbody\r\n")[0] == 250
        env.wait_acct(lambda r: r["type"] == "b")
        time.sleep(2)
        assert env.sender.messages == []


def test_expiry_bounces_with_message_expired(tmp_path):
    script = {"rcpt": [{"re": ".*", "reply": "451 4.3.0 temporary problem"}]}
    with RelayEnv(tmp_path, rcpt_script=script, retry="1s",
                  bounce_after="3s") as env:
        assert env.send(["later@ok.test"])[0] == 250
        (b,) = env.wait_acct(lambda r: r["type"] == "b", timeout=30)
        assert b["bounceCat"] == "message-expired"
        assert b["dsnStatus"].startswith("4.4.7") or b["dsnStatus"].startswith("5.4.7")
        assert any(r["type"] == "t" for r in env.acct_records())
        env.sender.wait_for_messages(1, timeout=20)
        _, per_rcpt = dsn_fields(parse_dsn(env.sender.messages[0].data))
        assert per_rcpt[0]["Action"] == "failed"


@pytest.mark.parametrize("domain,cat", [("nullmx.test", "bad-domain"),
                                        ("nx.test", "bad-domain")])
def test_null_mx_and_nxdomain_bounce_immediately(tmp_path, domain, cat):
    with RelayEnv(tmp_path) as env:
        t0 = time.monotonic()
        assert env.send([f"x@{domain}"])[0] == 250
        (b,) = env.wait_acct(lambda r: r["type"] == "b", timeout=15)
        assert time.monotonic() - t0 < 10
        assert b["rcpt"] == f"x@{domain}"
        assert b["dsnStatus"].startswith("5.")
        assert b["bounceCat"] == cat
        env.sender.wait_for_messages(1, timeout=20)


def test_relay_denied_for_unknown_client(tmp_path):
    with RelayEnv(tmp_path) as env:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            env.send(["bob@ok.test"], source="127.0.0.2")
        (code, text), = ei.value.recipients.values()
        assert code == 550 and b"5.7.1" in text
        time.sleep(1)
        assert env.rcpt.messages == []


def test_restart_with_queued_mail(tmp_path):
    """Mail for an unreachable MX stays queued across a clean restart and
    is delivered once the MX comes up."""
    with RelayEnv(tmp_path, retry="1s") as env:
        assert env.send(["carol@down.test"])[0] == 250
        env.wait_acct(lambda r: r["type"] in ("t", "tq"), timeout=15)
        assert env.daemon.stop() == 0
        up = SMTPSink({})
        up.start()
        try:
            # the MX comes up (on another port): point down.test at it
            with open(env.daemon.conf) as f:
                text = f.read()
            with open(env.daemon.conf, "w") as f:
                f.write(text.replace(f"default-smtp-port {env.down_port}",
                                     f"default-smtp-port {up.port}"))
            env.daemon.start()
            up.wait_for_messages(1, timeout=30)
            assert up.messages[0].rcpt_tos == ["carol@down.test"]
            env.wait_acct(lambda r: r["type"] == "d" and r["rcpt"] == "carol@down.test")
        finally:
            up.stop()


def test_acct_opens_in_seed_awk_one_liners(tmp_path):
    """The seeds' awk practice: $1 type, $5 rcpt, $15 dlvSourceIp -- awk's
    answers agree with a real CSV parse of the same file."""
    script = {"rcpt": [{"addr": "nobody@ok.test", "reply": "550 5.1.1 no"}]}
    with RelayEnv(tmp_path, rcpt_script=script) as env:
        for i in range(3):
            assert env.send([f"u{i}@ok.test"])[0] == 250
        assert env.send(["nobody@ok.test"])[0] == 250
        # 3 deliveries, 1 bounce, and the DSN's own delivery to the sender
        wait_for(lambda: len([r for r in env.acct_records()
                              if r["type"] in ("d", "b")]) == 5, 20,
                 what="5 d/b records")
        env.daemon.stop()
        recs = env.acct_records()
        path = env.acct_path()

        def awk(prog):
            return subprocess.run(["awk", "-F,", prog, path], capture_output=True,
                                  text=True, check=True).stdout.split()
        out = awk('NR>1 {counts[$1]++} END {print counts["d"], counts["b"], counts["r"]}')
        assert out == [str(sum(r["type"] == t for r in recs)) for t in "dbr"]
        assert out[:2] == ["4", "1"]
        assert awk('$1=="d" {print $15}') == [r["dlvSourceIp"] for r in recs
                                             if r["type"] == "d"]
        assert awk('$1=="d" || $1=="b" {print $5}') == [
            r["rcpt"] for r in recs if r["type"] in ("d", "b")]
        assert awk('$1=="b" {print $11}') == ["bad-mailbox"]
        with open(path, "rb") as f:
            first = f.readline()
        assert first.startswith(b"type,timeLogged,timeQueued,orig,rcpt,orcpt,")
        assert first.endswith(b"\r\n")


def test_smtp_source_and_swaks_inject(tmp_path):
    """Postfix's smtp-source (50 messages, 5 sessions) and swaks inject."""
    with RelayEnv(tmp_path) as env:
        subprocess.run(["smtp-source", "-s", "5", "-m", "50", "-l", "2048",
                        "-d", "-f", "load@sender.test", "-t", "many@ok.test",
                        f"127.0.0.1:{env.smtp_port}"], check=True, timeout=60)
        subprocess.run(["swaks", "--server", f"127.0.0.1:{env.smtp_port}",
                        "--from", "swaks@sender.test", "--to", "sw@ok.test",
                        "--pipeline", "--h-Subject", "via swaks",
                        "--body", "hello from swaks"],
                       check=True, timeout=60, capture_output=True)
        env.rcpt.wait_for_messages(51, timeout=60)
        assert sum(m.mail_from == "load@sender.test" for m in env.rcpt.messages) == 50
        sw = [m for m in env.rcpt.messages if m.mail_from == "swaks@sender.test"]
        assert len(sw) == 1 and b"hello from swaks" in sw[0].data


def test_sighup_reload(tmp_path):
    """SIGHUP applies a new config; a broken one is refused with file:line
    and the daemon keeps running on the old one."""
    import signal
    with RelayEnv(tmp_path, retry="1s") as env:
        assert env.send(["r1@down.test"])[0] == 250
        env.wait_acct(lambda r: r["type"] in ("t", "tq"), timeout=15)
        conf = env.daemon.conf
        good = open(conf).read()
        with open(conf, "w") as f:
            f.write(good + "\nno-such-directive 1\n")
        env.daemon.signal(signal.SIGHUP)
        wait_for(lambda: "no-such-directive" in env.daemon.log(), 10,
                 what="reload error in the log")
        assert f"{conf}:" in env.daemon.log()
        assert env.daemon.proc.poll() is None
        assert env.send(["r2@ok.test"])[0] == 250     # still serving
        env.rcpt.wait_for_messages(1, timeout=20)
        up = SMTPSink({})
        up.start()
        try:
            with open(conf, "w") as f:
                f.write(good.replace(f"default-smtp-port {env.down_port}",
                                     f"default-smtp-port {up.port}"))
            env.daemon.signal(signal.SIGHUP)
            up.wait_for_messages(1, timeout=30)
            assert up.messages[0].rcpt_tos == ["r1@down.test"]
        finally:
            up.stop()


def test_time_logged_never_before_time_queued(tmp_path):
    """3,000 messages through the relay: no record is logged before it was
    queued (timeLogged >= timeQueued), and every d record has both. Event
    times once mixed time(2) (the coarse clock, up to a tick behind) with
    gettimeofday(), which logged about 1 in 2,000 deliveries a second
    before their timeQueued."""
    n = 3000
    with RelayEnv(tmp_path) as env:
        subprocess.run(["smtp-source", "-s", "10", "-m", str(n), "-l", "1024",
                        "-d", "-f", "clock@sender.test", "-t", "clock@ok.test",
                        f"127.0.0.1:{env.smtp_port}"], check=True, timeout=120)
        env.rcpt.wait_for_messages(n, timeout=120)
        wait_for(lambda: len([r for r in env.acct_records()
                              if r["type"] == "d"]) >= n,
                 timeout=30, what=f"{n} d records")
        ds = [r for r in env.acct_records() if r["type"] == "d"]
        assert len(ds) == n
        early = [(r["timeQueued"], r["timeLogged"]) for r in ds
                 if not r["timeQueued"] or r["timeLogged"] < r["timeQueued"]]
        assert early == [], f"{len(early)} records logged before queued: {early[:3]}"
