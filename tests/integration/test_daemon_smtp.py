"""
test_daemon_smtp.py -- the injection side of the real sluiced: every
smtpsmug SMTP-smuggling probe is refused end to end (nothing smuggled ever
reaches a recipient's MX), inbound STARTTLS + AUTH lets an authenticated
client relay, and the `sluice` CLI reads status and queues over the control
socket.
"""
import json
import os
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import bin_path
from peers.sink import make_self_signed
from relayenv import RelayEnv

ENDINGS = {
    "lflf": b"\n.\n", "crcr": b"\r.\r", "crlf": b"\r.\n", "lfcr": b"\n.\r",
    "lfcrlf": b"\n.\r\n", "crlflf": b"\r\n.\n", "crcrlf": b"\r.\r\n",
    "crlfcr": b"\r\n.\r", "nullbefore": b"\r\n\x00.\r\n",
    "nullafter": b"\r\n.\x00\r\n",
}
SMUGGLED = (b"MAIL FROM:<admin@ok.test>\r\nRCPT TO:<victim@ok.test>\r\n"
            b"DATA\r\nFrom: admin@ok.test\r\n\r\nsmuggled\r\n")


class Raw:
    """A byte-exact SMTP client: what smtplib would normalise, we send."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def reply(self, timeout=10):
        self.s.settimeout(timeout)
        while True:
            lines = self.buf.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) >= 4 and line[3:4] == b" ":
                    self.buf = b"\r\n".join(lines[i + 1:])
                    return int(line[:3]), line
            chunk = self.s.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def silent(self, wait=0.8):
        self.s.settimeout(wait)
        try:
            chunk = self.s.recv(4096)
        except socket.timeout:
            return True
        self.buf += chunk
        return False

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def close(self):
        self.s.close()


@pytest.mark.parametrize("name", sorted(ENDINGS))
def test_smtpsmug_probe_refused(tmp_path, name):
    with RelayEnv(tmp_path) as env:
        c = Raw(env.smtp_port)
        assert c.reply()[0] == 220
        assert c.cmd(b"EHLO probe.test")[0] == 250
        assert c.cmd(b"MAIL FROM:<alice@sender.test>")[0] == 250
        assert c.cmd(b"RCPT TO:<bob@ok.test>")[0] == 250
        assert c.cmd(b"DATA")[0] == 354
        c.s.sendall(b"Subject: probe\r\n\r\nbody" + ENDINGS[name] + SMUGGLED)
        assert c.silent(), f"{name}: malformed ending taken as end of data"
        c.s.sendall(b"\r\n.\r\n")
        code, line = c.reply()
        assert code >= 500, line      # the whole message is refused
        assert c.cmd(b"QUIT")[0] == 221
        c.close()
        time.sleep(1.5)
        assert all(b"smuggled" not in m.data for m in env.rcpt.messages)
        assert all("victim@ok.test" not in m.rcpt_tos for m in env.rcpt.messages)


def test_pipelining_probe_refused(tmp_path):
    """Message text sent before the 354 is not taken as a message."""
    with RelayEnv(tmp_path) as env:
        c = Raw(env.smtp_port)
        assert c.reply()[0] == 220
        assert c.cmd(b"EHLO probe.test")[0] == 250
        c.s.sendall(b"MAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@ok.test>\r\n"
                    b"DATA\r\nSubject: early\r\n\r\nbody\r\n.\r\n" + SMUGGLED +
                    b".\r\n")
        codes = []
        try:
            while True:
                codes.append(c.reply(3)[0])
        except (ConnectionError, socket.timeout, OSError):
            pass
        c.close()
        assert 554 in codes or any(x >= 500 for x in codes), codes
        time.sleep(1.5)
        assert env.rcpt.messages == []


def test_starttls_auth_relay(tmp_path):
    cert, key = make_self_signed(str(tmp_path), cn="sluice.test")
    extra = (f"smtp-server-tls-certificate {cert}\n"
             f"smtp-server-tls-private-key {key}\n"
             "<smtp-user sender1>\n    password s3cret\n</smtp-user>\n")
    with RelayEnv(tmp_path, extra=extra) as env:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        # from 127.0.0.2: no relaying without AUTH, AUTH only after STARTTLS
        with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                          source_address=("127.0.0.2", 0)) as s:
            s.ehlo("client.test")
            assert s.has_extn("starttls")
            assert not s.has_extn("auth")
            s.starttls(context=ctx)
            s.ehlo("client.test")
            assert "PLAIN" in s.esmtp_features.get("auth", "").upper()
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("sender1", "wrong")
            s.login("sender1", "s3cret")
            s.sendmail("alice@sender.test", ["tls@ok.test"],
                       b"Subject: over tls\r\n\r\nhi\r\n")
        env.rcpt.wait_for_messages(1, timeout=20)
        assert env.rcpt.messages[0].rcpt_tos == ["tls@ok.test"]


def test_starttls_outbound(tmp_path):
    cert, key = make_self_signed(str(tmp_path), cn="mx.ok.test")
    with RelayEnv(tmp_path, use_starttls="yes", sink_tls=(cert, key)) as env:
        assert env.send(["secure@ok.test"])[0] == 250
        env.rcpt.wait_for_messages(1, timeout=20)
        assert env.rcpt.messages[0].tls


def test_cli_status_and_queues(tmp_path):
    with RelayEnv(tmp_path, retry="1h") as env:
        assert env.send(["q1@down.test", "q2@down.test"])[0] == 250
        sock = os.path.join(env.dir, "sluiced.sock")
        sluice = bin_path("sluice")
        deadline = time.monotonic() + 20
        while True:
            out = subprocess.run([sluice, "queues", "--json", "--socket", sock],
                                 capture_output=True, text=True, timeout=10)
            assert out.returncode == 0, out.stderr
            qs = json.loads(out.stdout)["queues"]
            q = [x for x in qs if x["name"] == "down.test/{default}"]
            if q and q[0]["rcpt"] == 2:
                break
            assert time.monotonic() < deadline, out.stdout
            time.sleep(0.3)
        text = subprocess.run([sluice, "queues", "--socket", sock],
                              capture_output=True, text=True, timeout=10)
        assert text.returncode == 0 and "down.test/{default}" in text.stdout
        st = subprocess.run([sluice, "status", "--json", "--socket", sock],
                            capture_output=True, text=True, timeout=10)
        assert st.returncode == 0, st.stderr
        status = json.loads(st.stdout)["status"]
        assert status["traffic"]["in"]["rcpt"] >= 2
        assert status["queue"]["rcpt"] >= 2
        bad = subprocess.run([sluice, "status", "--socket",
                              os.path.join(env.dir, "nope.sock")],
                             capture_output=True, text=True, timeout=10)
        assert bad.returncode == 1 and "cannot reach sluiced" in bad.stderr
