"""
test_daemon_smtp_limits.py -- inbound SMTP limits set in sluiced's
configuration reach the SMTP server: PowerMTA's `max-message-size` (per
<source>) and Sluice's global smtp-in-command-timeout, smtp-in-data-timeout,
smtp-in-max-line-length, smtp-in-max-data-line-length and
smtp-in-max-errors (docs/config.md). Each limit is set away from its
default, and the test checks both sides of it. Raw sockets, so every byte
and reply is under the test's control.
"""
import os
import socket
import subprocess
import time

import pytest

from conftest import bin_path
from relayenv import RelayEnv

LIMITS = """\
smtp-in-command-timeout 1s
smtp-in-data-timeout 3s
smtp-in-max-line-length 1024
smtp-in-max-data-line-length 2000
smtp-in-max-errors 3
<source 127.0.0.2>
    always-allow-relaying yes
    max-message-size 4k
</source>
"""


class Client:
    def __init__(self, port, source="127.0.0.1"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                          source_address=(source, 0))
        self.buf = b""
        assert self.reply().startswith("220")

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode()

    def reply(self):
        lines = [self.line()]
        while lines[-1][3:4] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with RelayEnv(tmp_path_factory.mktemp("limits"), extra=LIMITS) as e:
        yield e


def envelope(c, rcpt="big@ok.test", mail="MAIL FROM:<a@sender.test>"):
    assert c.cmd("EHLO client.test").startswith("250")
    assert c.cmd(mail).startswith("250")
    assert c.cmd(f"RCPT TO:<{rcpt}>").startswith("250")
    assert c.cmd("DATA").startswith("354")


def test_max_message_size_after_data(env):
    c = Client(env.smtp_port, "127.0.0.2")
    ehlo = c.cmd("EHLO client.test")
    assert "250-SIZE 4096" in ehlo or "250 SIZE 4096" in ehlo, ehlo
    assert c.cmd("MAIL FROM:<a@sender.test>").startswith("250")
    assert c.cmd("RCPT TO:<big@ok.test>").startswith("250")
    assert c.cmd("DATA").startswith("354")
    body = ("x" * 70 + "\r\n") * 80          # 5.7 KB, no SIZE= given
    r = c.cmd("Subject: big\r\n\r\n" + body + ".")
    assert r.startswith("552 5.3.4"), r
    # below the limit on the same connection: accepted
    assert c.cmd("MAIL FROM:<a@sender.test>").startswith("250")
    assert c.cmd("RCPT TO:<small@ok.test>").startswith("250")
    assert c.cmd("DATA").startswith("354")
    assert c.cmd("Subject: small\r\n\r\n" + ("y" * 70 + "\r\n") * 20
                 + ".").startswith("250")
    # SIZE= over the limit is refused at MAIL
    c.cmd("RSET")
    r = c.cmd("MAIL FROM:<a@sender.test> SIZE=5000")
    assert r.startswith("552"), r
    c.close()
    # the default source (127.0.0.1) has no limit
    c = Client(env.smtp_port)
    envelope(c, "big2@ok.test")
    assert c.cmd("Subject: big\r\n\r\n" + body + ".").startswith("250")
    c.close()


def test_command_timeout_closes_idle_client(env):
    c = Client(env.smtp_port)
    assert c.cmd("EHLO client.test").startswith("250")
    t0 = time.monotonic()
    r = c.reply()                       # nothing sent: wait for the 421
    waited = time.monotonic() - t0
    assert r.startswith("421 4.4.2"), r
    assert 0.5 <= waited < 4, waited    # 1s, not the 5m default
    assert c.closed()
    c.close()


def test_data_timeout_is_separate(env):
    c = Client(env.smtp_port)
    envelope(c, "slow@ok.test")
    c.s.sendall(b"Subject: slow\r\n\r\npart one\r\n")
    time.sleep(1.8)                     # past the 1s command timeout
    c.s.sendall(b"part two\r\n")
    t0 = time.monotonic()
    r = c.reply()
    waited = time.monotonic() - t0
    assert r.startswith("421 4.4.2"), r
    assert 2 <= waited < 6, waited      # the 3s data timeout
    c.close()


def test_command_line_length(env):
    c = Client(env.smtp_port)
    assert c.cmd("EHLO client.test").startswith("250")
    assert c.cmd("NOOP " + "a" * 900).startswith("250")     # > 512
    assert c.cmd("NOOP " + "a" * 1100).startswith("500 5.5.2")
    assert c.cmd("NOOP").startswith("250")
    c.close()


def test_data_line_length(env):
    c = Client(env.smtp_port)
    envelope(c, "wide@ok.test")
    r = c.cmd("Subject: wide\r\n\r\n" + "w" * 1500 + "\r\n.")  # > 1000
    assert r.startswith("250"), r
    assert c.cmd("MAIL FROM:<a@sender.test>").startswith("250")
    assert c.cmd("RCPT TO:<wider@ok.test>").startswith("250")
    assert c.cmd("DATA").startswith("354")
    r = c.cmd("Subject: wider\r\n\r\n" + "w" * 2500 + "\r\n.")
    assert r.startswith("554 5.6.0"), r
    c.close()
    # accepted and queued (the aiosmtpd sink itself refuses lines over
    # RFC 5321's 1000, so delivery is not the point here)
    env.wait_acct(lambda r: r["type"] == "r" and r["rcpt"] == "wide@ok.test")
    assert not [r for r in env.acct_records()
                if r["type"] == "r" and r["rcpt"] == "wider@ok.test"]


def test_max_errors(env):
    c = Client(env.smtp_port)
    assert c.cmd("EHLO client.test").startswith("250")
    assert c.cmd("BOGUS 1").startswith("5")
    assert c.cmd("BOGUS 2").startswith("5")
    assert c.cmd("BOGUS 3").startswith("5")    # the third error, then:
    r = c.reply()
    assert r.startswith("421 4.7.0"), r
    assert c.closed()
    c.close()


@pytest.mark.parametrize("line,msg", [
    ("smtp-in-max-line-length 100", "100 out of range 512..65536"),
    ("smtp-in-command-timeout 2h", "out of range"),
    ("smtp-in-max-errors zero", "not a number"),
])
def test_bad_values_refused(tmp_path, line, msg):
    conf = tmp_path / "sluice.conf"
    conf.write_text(f"host-name x.test\n{line}\n")
    r = subprocess.run([bin_path("sluiced"), "-f", str(conf)],
                       capture_output=True, text=True, timeout=30,
                       cwd=str(tmp_path))
    assert r.returncode != 0
    assert f"{os.path.basename(str(conf))}:2:" in r.stderr, r.stderr
    assert msg in r.stderr, r.stderr
