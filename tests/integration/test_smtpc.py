"""Integration tests for src/smtpc/ through smtpc-harness against
peers.sink (aiosmtpd).

Covers per-recipient replies, connection reuse, greetings 421/554, HELO
fallback, opportunistic and required STARTTLS, source-address binding,
PIPELINING on and off, all-recipients-failed handling (RSET / lone "."),
421 mid-transaction, "first N attempts 4xx then 250", dot-stuffing,
network errors and timeouts, and the sink as a separate process.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from peers.sink import SMTPSink, make_self_signed

HERE = os.path.dirname(os.path.abspath(__file__))
MSG = (b"From: a@x.test\r\nSubject: hi\r\n\r\nline one\r\n"
       b".hidden dot line\r\n..two dots\r\nlast\r\n")


def _bin(name, subdir):
    build = os.environ.get("SLUICE_BUILD",
                           os.path.join(HERE, "..", "..", "build"))
    for cand in (os.path.join(build, subdir, name), os.path.join(build, name)):
        if os.access(cand, os.X_OK):
            return cand
    pytest.fail(f"{name} not built under {build}")


@pytest.fixture
def msgfile(tmp_path):
    p = tmp_path / "msg.eml"
    p.write_bytes(MSG)
    return str(p)


def deliver(port, msgfile, rcpts, *args, mail_from="a@x.test", timeout=10):
    """Run smtpc-harness; return (lines, parsed) where parsed has 'ready',
    'txns' (list of {'mail','rcpt':{addr:(code,enh,text)},'data'}) and
    'closed'."""
    cmd = [_bin("smtpc-harness", "src/smtpc"), "--host", "127.0.0.1",
           "--port", str(port), "--from", mail_from, "--data", msgfile,
           "--timeout", str(timeout), *args]
    for r in rcpts:
        cmd += ["--rcpt", r]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=4 * timeout + 20)
    assert "Sanitizer" not in r.stderr, r.stderr
    assert "runtime error" not in r.stderr, r.stderr
    out = {"ready": None, "txns": [], "closed": None}

    def rep(fields):
        code, enh, text = fields.split(" ", 2)
        return int(code), ("" if enh == "-" else enh), text
    for line in r.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "ready":
            out["ready"] = dict(kv.split("=", 1) for kv in rest.split(" "))
        elif key == "txn":
            out["txns"].append({"rcpt": {}})
        elif key in ("mail", "data"):
            out["txns"][-1][key] = rep(rest)
        elif key == "rcpt":
            addr, _, fields = rest.partition(" ")
            out["txns"][-1]["rcpt"][addr] = rep(fields)
        elif key == "closed":
            out["closed"] = "quit" if rest == "quit" else rep(rest)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return out


def test_per_recipient_replies(msgfile):
    script = {"rcpt": [{"addr": "bad@y.test", "reply": "550 5.1.1 no user"},
                       {"re": "^busy", "reply": "450 4.2.0 mailbox busy"}]}
    with SMTPSink(script) as s:
        out = deliver(s.port, msgfile,
                      ["ok@y.test", "bad@y.test", "busy@y.test"])
        (t,) = out["txns"]
        assert t["mail"][0] == 250
        assert t["rcpt"]["ok@y.test"][:2] == (250, "2.1.5")
        assert t["rcpt"]["bad@y.test"] == (550, "5.1.1",
                                           "550 5.1.1 no user")
        assert t["rcpt"]["busy@y.test"][:2] == (450, "4.2.0")
        assert t["data"][:2] == (250, "2.0.0")
        assert out["closed"] == "quit"
        (m,) = s.wait_for_messages(1)
        assert m.rcpt_tos == ["ok@y.test"]
        assert m.mail_from == "a@x.test"
        assert m.ehlo == "sluice.test"
        # The sink un-stuffs dots: what arrives is what was sent.
        assert m.data == MSG


def test_dot_stuffing_on_the_wire(msgfile):
    with SMTPSink() as s:
        deliver(s.port, msgfile, ["ok@y.test"])
        raw = b"".join(s.connections[0].raw)
        assert b"\r\n..hidden dot line\r\n...two dots\r\n" in raw
        assert raw.count(b"\r\n.\r\n") == 1


def test_connection_reuse_three_transactions(msgfile):
    with SMTPSink() as s:
        out = deliver(s.port, msgfile, ["r1@y.test", "r2@y.test"],
                      "--txns", "3")
        assert len(out["txns"]) == 3
        for t in out["txns"]:
            assert t["data"][0] == 250
            assert [v[0] for v in t["rcpt"].values()] == [250, 250]
        msgs = s.wait_for_messages(3)
        assert len(s.connections) == 1
        assert {m.conn_id for m in msgs} == {1}
        cmds = s.connections[0].commands
        assert cmds.count("EHLO sluice.test") == 1
        assert "RSET" not in cmds       # nothing needed a reset
        assert cmds[-1] == "QUIT"


@pytest.mark.parametrize("greeting", ["421 4.7.0 try again later",
                                      "554 5.7.1 go away"])
def test_greeting_refused(msgfile, greeting):
    with SMTPSink({"greeting": greeting}) as s:
        out = deliver(s.port, msgfile, ["ok@y.test"])
        assert out["ready"] is None and out["txns"] == []
        code, enh, text = out["closed"]
        assert (code, enh, text) == (int(greeting[:3]), greeting[4:9],
                                     greeting)
        assert s.messages == []


def test_helo_fallback(msgfile):
    with SMTPSink({"ehlo": "502 5.5.1 EHLO not implemented"}) as s:
        out = deliver(s.port, msgfile, ["ok@y.test"])
        assert out["ready"]["ext"] == ""
        assert out["txns"][0]["data"][0] == 250
        cmds = s.connections[0].commands
        assert cmds[:2] == ["EHLO sluice.test", "HELO sluice.test"]
        assert not s.connections[0].pipelined


def test_esmtp_ext_string(msgfile):
    with SMTPSink() as s:
        out = deliver(s.port, msgfile, ["ok@y.test"])
        # aiosmtpd's EHLO order, PIPELINING inserted first by the sink.
        assert out["ready"]["ext"] == "PIPELINING,SIZE,8BITMIME,HELP"
        assert out["ready"]["tls"] == ""


def test_starttls_opportunistic_offered(msgfile, tmp_path):
    cert, key = make_self_signed(tmp_path)
    with SMTPSink(tls_cert=cert, tls_key=key) as s:
        out = deliver(s.port, msgfile, ["ok@y.test"], "--starttls")
        assert out["ready"]["tls"].startswith("TLSv1")
        assert out["ready"]["cipher"] != ""
        assert "STARTTLS" not in out["ready"]["ext"]   # after re-EHLO
        assert out["txns"][0]["data"][0] == 250
        (m,) = s.wait_for_messages(1)
        assert m.tls and m.tls_version.startswith("TLSv1")
        assert m.data == MSG


def test_starttls_opportunistic_not_offered(msgfile):
    with SMTPSink() as s:
        out = deliver(s.port, msgfile, ["ok@y.test"], "--starttls")
        assert out["ready"]["tls"] == ""
        assert out["txns"][0]["data"][0] == 250
        (m,) = s.wait_for_messages(1)
        assert not m.tls


def test_starttls_required_not_offered(msgfile):
    with SMTPSink() as s:
        out = deliver(s.port, msgfile, ["ok@y.test"], "--require-tls")
        assert out["txns"] == []
        assert out["closed"][0] == 0
        assert "STARTTLS required" in out["closed"][2]
        assert s.messages == []


def test_source_ip_binding(msgfile):
    with SMTPSink() as s:
        out = deliver(s.port, msgfile, ["ok@y.test"],
                      "--source-ip", "127.0.0.2")
        assert out["ready"]["local"] == "127.0.0.2"
        (m,) = s.wait_for_messages(1)
        assert m.peer_ip == "127.0.0.2"


def test_pipelining_used_when_offered(msgfile):
    with SMTPSink() as s:
        deliver(s.port, msgfile, ["r1@y.test", "r2@y.test"])
        conn = s.connections[0]
        assert conn.pipelined
        chunk = next(c for c in conn.raw if b"MAIL FROM" in c)
        assert b"RCPT TO:<r2@y.test>\r\nDATA\r\n" in chunk


def test_lock_step_without_pipelining(msgfile):
    with SMTPSink({"pipelining": False}) as s:
        out = deliver(s.port, msgfile, ["r1@y.test", "r2@y.test"])
        assert "PIPELINING" not in out["ready"]["ext"]
        assert out["txns"][0]["data"][0] == 250
        assert not s.connections[0].pipelined
        assert len(s.wait_for_messages(1)) == 1


def test_all_rcpts_fail_lock_step_sends_rset_not_data(msgfile):
    script = {"pipelining": False,
              "rcpt": [{"reply": "550 5.1.1 nobody here"}]}
    with SMTPSink(script) as s:
        out = deliver(s.port, msgfile, ["x1@y.test", "x2@y.test"],
                      "--txns", "2")
        for t in out["txns"]:
            assert [v[0] for v in t["rcpt"].values()] == [550, 550]
            assert t["data"][0] == 0
            assert t["data"][2] == "no recipients accepted"
        cmds = s.connections[0].commands
        assert "DATA" not in cmds
        # The failed transaction is reset before the next MAIL.
        second_mail = [i for i, c in enumerate(cmds)
                       if c.startswith("MAIL")][1]
        assert cmds[second_mail - 1] == "RSET"
        assert s.messages == []


def test_all_rcpts_fail_pipelined_data_rejected(msgfile):
    with SMTPSink({"rcpt": [{"reply": "550 5.1.1 nobody"}]}) as s:
        out = deliver(s.port, msgfile, ["x1@y.test"], "--txns", "2")
        for t in out["txns"]:
            assert t["rcpt"]["x1@y.test"][0] == 550
            assert t["data"][0] == 0
        cmds = s.connections[0].commands
        second_mail = [i for i, c in enumerate(cmds)
                       if c.startswith("MAIL")][1]
        assert cmds[second_mail - 1] == "RSET"
        assert s.messages == []


def test_all_rcpts_fail_pipelined_354_gets_lone_dot(msgfile):
    script = {"rcpt": [{"reply": "550 5.1.1 nobody"}],
              "data_354_without_rcpts": True}
    with SMTPSink(script) as s:
        out = deliver(s.port, msgfile, ["x1@y.test"], "--txns", "2")
        assert len(out["txns"]) == 2
        for t in out["txns"]:
            assert t["data"] == (0, "", "no recipients accepted")
        raw = b"".join(s.connections[0].raw)
        assert b"line one" not in raw          # the message never went
        assert b"DATA\r\n" in raw and b".\r\n" in raw
        assert out["closed"] == "quit"
        assert s.messages == []


def test_421_mid_transaction(msgfile):
    script = {"rcpt": [{"addr": "r2@y.test", "reply": "421 4.7.0 closing"}]}
    with SMTPSink(script) as s:
        out = deliver(s.port, msgfile, ["r1@y.test", "r2@y.test"])
        (t,) = out["txns"]
        assert t["rcpt"]["r1@y.test"][0] == 250
        assert t["rcpt"]["r2@y.test"][:2] == (421, "4.7.0")
        assert t["data"][0] in (0, 421)
        assert out["closed"][:2] == (421, "4.7.0")
        assert s.messages == []


def test_first_attempts_tempfail_then_accept(msgfile):
    script = {"rcpt": [{"addr": "slow@y.test", "first": 2,
                        "reply": "450 4.2.0 try later"}]}
    with SMTPSink(script) as s:
        out = deliver(s.port, msgfile, ["slow@y.test"], "--txns", "3")
        codes = [t["rcpt"]["slow@y.test"][0] for t in out["txns"]]
        assert codes == [450, 450, 250]
        assert len(s.wait_for_messages(1)) == 1


def test_mail_from_rejected(msgfile):
    with SMTPSink({"mail": [{"reply": "553 5.1.8 bad sender"}]}) as s:
        out = deliver(s.port, msgfile, ["r1@y.test", "r2@y.test"])
        (t,) = out["txns"]
        assert t["mail"][:2] == (553, "5.1.8")
        # Every recipient carries the MAIL reply.
        assert [v[0] for v in t["rcpt"].values()] == [553, 553]
        assert s.messages == []


def test_data_rejected(msgfile):
    with SMTPSink({"data": [{"reply": "554 5.7.1 content rejected"}]}) as s:
        out = deliver(s.port, msgfile, ["r1@y.test"])
        assert out["txns"][0]["rcpt"]["r1@y.test"][0] == 250
        assert out["txns"][0]["data"][:2] == (554, "5.7.1")


def test_connection_refused(msgfile):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()                    # nothing listens there now
    out = deliver(port, msgfile, ["r1@y.test"])
    assert out["closed"] == (0, "", "connection refused")


def test_greeting_timeout(msgfile):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        t0 = time.time()
        out = deliver(srv.getsockname()[1], msgfile, ["r1@y.test"],
                      timeout=1)
        assert out["closed"] == (0, "", "timeout waiting for greeting")
        assert time.time() - t0 < 10
    finally:
        srv.close()


def test_connection_reset_during_transaction(msgfile):
    """A server that greets, answers EHLO and then drops the connection."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        conn.sendall(b"220 fake ESMTP\r\n")
        conn.recv(1000)
        conn.sendall(b"250-fake\r\n250 PIPELINING\r\n")
        conn.recv(1000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()                    # RST
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        out = deliver(srv.getsockname()[1], msgfile, ["r1@y.test"])
        (t,) = out["txns"]
        assert t["mail"][0] == 0
        assert out["closed"][0] == 0
        assert out["closed"][2] in ("connection reset by peer",
                                    "connection closed by peer")
    finally:
        th.join(5)
        srv.close()


def test_sink_as_process(msgfile, tmp_path):
    portfile = tmp_path / "port"
    msgs = tmp_path / "msgs.jsonl"
    script = json.dumps({"rcpt": [{"addr": "bad@y.test",
                                   "reply": "550 5.1.1 no"}]})
    proc = subprocess.Popen([sys.executable, "-m", "peers.sink",
                             "--port-file", str(portfile), "--script",
                             script, "--messages-file", str(msgs)],
                            cwd=HERE)
    try:
        deadline = time.time() + 15
        while not portfile.exists() and time.time() < deadline:
            time.sleep(0.05)
        port = int(portfile.read_text())
        out = deliver(port, msgfile, ["ok@y.test", "bad@y.test"])
        assert out["txns"][0]["rcpt"]["bad@y.test"][0] == 550
        deadline = time.time() + 10
        while (not msgs.exists() or not msgs.read_text()) and \
                time.time() < deadline:
            time.sleep(0.05)
        (rec,) = [json.loads(x) for x in msgs.read_text().splitlines()]
        assert rec["rcpt_tos"] == ["ok@y.test"]
        assert rec["peer_ip"] == "127.0.0.1"
    finally:
        proc.terminate()
        proc.wait(10)


def test_starttls_handshake_failure_closes(msgfile):
    """The server accepts STARTTLS and then talks garbage instead of TLS."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        conn.settimeout(10)
        conn.sendall(b"220 fake ESMTP\r\n")
        conn.recv(1000)
        conn.sendall(b"250-fake\r\n250 STARTTLS\r\n")
        conn.recv(1000)
        conn.sendall(b"220 go ahead\r\n")
        conn.recv(1000)                 # the ClientHello
        conn.sendall(b"this is not TLS at all\r\n" * 4)
        time.sleep(0.5)
        conn.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        out = deliver(srv.getsockname()[1], msgfile, ["r1@y.test"],
                      "--starttls")
        assert out["ready"] is None
        assert out["closed"][0] == 0
        assert out["closed"][2].startswith("TLS handshake failed")
    finally:
        th.join(5)
        srv.close()
