"""<source> directives in the running daemon, observed at the recipient's
sink or in the SMTP dialogue: add-message-id-header, add-date-header
(yes / override), add-received-header / hide-message-source,
process-x-virtual-mta / retain-x-virtual-mta, process-x-job / retain-x-job /
jobid-header, always-allow-relaying, max-smtp-in (421 4.7.0 per client IP),
max-msg-rate (451 4.7.1 at MAIL, per client IP), smtp-service no (554
greeting), require-auth (530 at MAIL), and the {auth} / <smtp-user>
source applied after AUTH.

Clients bind different loopback addresses (127.0.0.x) to select sources.
"""
import email.utils
import re
import smtplib
import socket
import time

import pytest

from conftest import wait_for
from relayenv import RelayEnv


@pytest.fixture
def envs():
    made = []
    yield made
    for e in made:
        e.close()


def start(envs, tmp_path, extra):
    env = RelayEnv(tmp_path / "env", extra=extra)
    envs.append(env)
    return env.start()


def send(env, src, headers, rcpt="bob@ok.test", body="hi\r\n"):
    msg = "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n" + body
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                      source_address=(src, 0)) as s:
        s.ehlo("client.test")
        code, text = s.mail("alice@sender.test")
        assert code == 250, text
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        return s.data(msg.encode())


def head(raw):
    return raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def fields(raw, name):
    return re.findall(r"^%s:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)" % re.escape(name),
                      head(raw), re.M | re.I)


BASIC = [("From", "alice@sender.test"), ("To", "bob@ok.test"),
         ("Subject", "source test")]
OLD_DATE = "Thu, 01 Jan 2015 00:00:00 +0000"

HEADERS = """
<source 127.0.0.2>
    always-allow-relaying yes
    add-message-id-header yes
    add-date-header yes
    hide-message-source yes
    process-x-virtual-mta yes
    retain-x-virtual-mta yes
    process-x-job yes
    retain-x-job yes
</source>
<source 127.0.0.3>
    always-allow-relaying yes
    add-date-header override
    add-received-header no
    process-x-job yes
    jobid-header X-Campaign
</source>
<virtual-mta v1>
</virtual-mta>
"""


def test_header_directives(tmp_path, envs):
    env = start(envs, tmp_path, HEADERS)
    # 127.0.0.1 (relayenv's source): defaults, X- headers processed, stripped
    send(env, "127.0.0.1", BASIC + [("X-Virtual-MTA", "v1"), ("X-Job", "j1")])
    # 127.0.0.2: Message-Id/Date added, Received without the client, kept X-
    send(env, "127.0.0.2", BASIC + [("X-Virtual-MTA", "v1"), ("X-Job", "j2")])
    # 127.0.0.2 with a Date already: add-date-header yes keeps it
    send(env, "127.0.0.2", BASIC + [("Date", OLD_DATE)])
    # 127.0.0.3: Date overridden, no Received, job id from X-Campaign
    send(env, "127.0.0.3", BASIC + [("Date", OLD_DATE), ("X-Campaign", "c3"),
                                    ("X-Job", "ignored")])
    msgs = env.rcpt.wait_for_messages(4, timeout=20)
    raw = [m.data for m in msgs]

    def pick(pred):
        got = [r for r in raw if pred(r)]
        assert len(got) == 1, [head(r) for r in raw]
        return got[0]
    m1 = pick(lambda r: b"[127.0.0.1]" in r)
    m2 = pick(lambda r: b"X-Job: j2" in r)
    m3 = pick(lambda r: OLD_DATE.encode() in r and b"X-Campaign" not in r)
    m4 = pick(lambda r: b"X-Job: ignored" in r)

    # defaults: Received with the client, nothing added, X- stripped
    rcv = fields(m1, "Received")[0]
    assert "from client.test ([127.0.0.1])" in rcv and "by sluice.test" in rcv
    assert fields(m1, "Message-Id") == [] and fields(m1, "Date") == []
    assert "X-Virtual-MTA" not in head(m1) and "X-Job" not in head(m1)

    # hide-message-source, add-message-id/date, retain-x-*
    rcv = fields(m2, "Received")[0]
    assert "127.0.0.2" not in rcv and "client.test" not in rcv
    assert rcv.strip().startswith("by sluice.test")
    (mid,) = fields(m2, "Message-Id")
    assert re.match(r"\s*<[^@>]+@sluice\.test>$", mid), mid
    (date,) = fields(m2, "Date")
    assert abs(email.utils.parsedate_to_datetime(date.strip()).timestamp()
               - time.time()) < 300
    assert fields(m2, "X-Virtual-MTA") == [" v1"]
    assert fields(m2, "X-Job") == [" j2"]

    assert [d.strip() for d in fields(m3, "Date")] == [OLD_DATE]

    # override: one Date, ours; no Received of ours
    (date,) = fields(m4, "Date")
    assert date.strip() != OLD_DATE
    assert abs(email.utils.parsedate_to_datetime(date.strip()).timestamp()
               - time.time()) < 300
    assert fields(m4, "Received") == []
    assert fields(m4, "X-Campaign") == []          # processed, stripped
    assert fields(m4, "X-Job") == [" ignored"]     # not the job header here

    wanted = {("j1", "v1"), ("j2", "v1"), ("c3", "{default}")}

    def seen():
        return wanted <= {(r["jobId"], r["vmta"]) for r in env.acct_records()
                          if r["type"] == "d"}
    wait_for(seen, 20, what="d records with jobId/vmta")


def greeting(port, src):
    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                  source_address=(src, 0)) as s:
        return s.makefile("rb").readline().decode()


LIMITS = """
<source 127.0.0.6/31>
    always-allow-relaying yes
    max-smtp-in 2
</source>
<source 127.0.0.8>
    always-allow-relaying yes
    max-msg-rate 3/h
</source>
<source 127.0.0.9>
    smtp-service no
</source>
<source 127.0.0.10>
    always-allow-relaying yes
    require-auth yes
</source>
"""


def test_max_smtp_in_per_client_ip(tmp_path, envs):
    env = start(envs, tmp_path, LIMITS)
    held = []
    try:
        for _ in range(2):
            c = smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10,
                             source_address=("127.0.0.6", 0))
            held.append(c)
        assert greeting(env.smtp_port, "127.0.0.6").startswith("421 4.7.0 ")
        # another address of the same <source>: its own count
        assert greeting(env.smtp_port, "127.0.0.7").startswith("220 ")
        # unaffected sources
        assert greeting(env.smtp_port, "127.0.0.1").startswith("220 ")
        assert held[0].noop()[0] == 250
    finally:
        for c in held:
            c.quit()
    # the count goes down when connections close
    def ok():
        return greeting(env.smtp_port, "127.0.0.6").startswith("220 ")
    wait_for(ok, 10, what="slot freed")


def test_max_msg_rate_per_client_ip(tmp_path, envs):
    env = start(envs, tmp_path, LIMITS)
    msg = b"From: a@sender.test\r\nSubject: r\r\n\r\nhi\r\n"
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                      source_address=("127.0.0.8", 0)) as s:
        s.ehlo("client.test")
        for _ in range(3):
            assert s.mail("a@sender.test")[0] == 250
            assert s.rcpt("bob@ok.test")[0] == 250
            assert s.data(msg)[0] == 250
        code, text = s.mail("a@sender.test")
        assert (code, text[:5]) == (451, b"4.7.1"), (code, text)
        assert s.noop()[0] == 250          # the session goes on
    # a new connection from the same IP is limited too ...
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                      source_address=("127.0.0.8", 0)) as s:
        s.ehlo("client.test")
        assert s.mail("a@sender.test")[0] == 451
    # ... another client is not
    assert send(env, "127.0.0.1", BASIC)[0] == 250
    env.rcpt.wait_for_messages(4, timeout=20)


def test_service_auth_and_relaying(tmp_path, envs):
    env = start(envs, tmp_path, LIMITS)
    assert greeting(env.smtp_port, "127.0.0.9").startswith("554 5.7.1 ")
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                      source_address=("127.0.0.10", 0)) as s:
        s.ehlo("client.test")
        code, text = s.mail("a@sender.test")
        assert (code, text[:5]) == (530, b"5.7.0"), (code, text)
    # 127.0.0.11 falls to <source 0/0>: no relaying
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                      source_address=("127.0.0.11", 0)) as s:
        s.ehlo("client.test")
        assert s.mail("a@sender.test")[0] == 250
        code, text = s.rcpt("bob@ok.test")
        assert (code, text[:5]) == (550, b"5.7.1"), (code, text)


def test_auth_source_applies_after_auth(tmp_path, envs):
    """After AUTH the {auth} <source> (or the user's `source`) replaces the
    client-IP source for the rest of the session."""
    import ssl
    from peers.sink import make_self_signed
    cert, key = make_self_signed(str(tmp_path), cn="sluice.test")
    extra = (f"smtp-server-tls-certificate {cert}\n"
             f"smtp-server-tls-private-key {key}\n"
             "<smtp-user u1>\n    password p1\n</smtp-user>\n"
             "<smtp-user u2>\n    password p2\n    source feeder\n</smtp-user>\n"
             "<source {auth}>\n    add-message-id-header yes\n"
             "    process-x-job yes\n</source>\n"
             "<source feeder>\n    add-received-header no\n</source>\n")
    env = start(envs, tmp_path, extra)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for user, pw, subj in (("u1", "p1", "one"), ("u2", "p2", "two")):
        with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                          source_address=("127.0.0.12", 0)) as s:
            s.ehlo("client.test")
            s.starttls(context=ctx)
            s.ehlo("client.test")
            s.login(user, pw)
            s.sendmail("alice@sender.test", ["bob@ok.test"],
                       ("Subject: %s\r\nX-Job: job-%s\r\n\r\nhi\r\n"
                        % (subj, subj)).encode())
    msgs = env.rcpt.wait_for_messages(2, timeout=20)
    one = [m.data for m in msgs if b"Subject: one" in m.data][0]
    two = [m.data for m in msgs if b"Subject: two" in m.data][0]
    assert len(fields(one, "Message-Id")) == 1      # {auth}: added
    assert fields(one, "X-Job") == []               # {auth}: processed
    assert len(fields(one, "Received")) == 1
    assert fields(two, "Received") == []            # feeder
    assert fields(two, "Message-Id") == []
    assert fields(two, "X-Job") == [" job-two"]     # feeder: not processed
    wait_for(lambda: any(r["type"] == "d" and r["jobId"] == "job-one"
                         for r in env.acct_records()), 20, what="jobId")
