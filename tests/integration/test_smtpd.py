"""
test_smtpd.py -- black-box tests of the SMTP injection server (src/smtpd)
through tests/harness/smtpd_harness.c (binary `smtpd-harness`).

Every test starts its own harness on 127.0.0.1 port 0 (it prints "PORT n")
with --max-seconds as a backstop, and stops it with SIGTERM at teardown;
sanitizer reports on the harness's stderr fail the test. Clients are raw
sockets (for byte-exact probes), Python smtplib and swaks, all with
timeouts. The SMTP-smuggling probes re-implement the smtpsmug endings from
the table in shared/testdata/smtp-conformance/MANIFEST.md.
"""
import os
import re
import select
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import SANITIZER_RE, bin_path, wait_for

FROM = "sender@example.org"
TO = "rcpt@example.net"


class Harness:
    def __init__(self, tmp_path, args):
        self.dir = tmp_path / "msgs"
        self.dir.mkdir(exist_ok=True)
        self.errpath = tmp_path / "harness.err"
        self.err = open(self.errpath, "wb")
        self.proc = subprocess.Popen(
            [bin_path("smtpd-harness"), "--dir", str(self.dir),
             "--max-seconds", "90", *args],
            stdout=subprocess.PIPE, stderr=self.err, start_new_session=True)
        r, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline().decode() if r else ""
        m = re.match(r"PORT (\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError("harness did not start: %r %s" %
                               (line, self.stderr()))
        self.port = int(m.group(1))

    def stderr(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("harness ignored SIGTERM")
        self.proc.stdout.close()
        self.err.close()
        if SANITIZER_RE.search(self.stderr()):
            raise AssertionError("sanitizer report:\n" + self.stderr())
        assert self.proc.returncode == 0, self.stderr()

    def messages(self):
        """[(envelope dict, data bytes)] in submission order."""
        out = []
        names = [n for n in os.listdir(self.dir) if n.endswith(".env")]
        for n in sorted(names, key=lambda x: int(x[4:-4])):
            env = {"rcpt": []}
            with open(self.dir / n) as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition(": ")
                    if k == "rcpt":
                        env["rcpt"].append(v)
                    else:
                        env[k] = v
            with open(self.dir / (n[:-4] + ".eml"), "rb") as f:
                out.append((env, f.read()))
        return out


@pytest.fixture
def harness(tmp_path):
    made = []

    def make(*args):
        d = tmp_path / ("h%d" % len(made))
        d.mkdir()
        h = Harness(d, args)
        made.append(h)
        return h

    yield make
    for h in made:
        h.stop()


class Client:
    """Raw SMTP client: byte-exact sends, reply parsing, timeouts."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def reply(self, timeout=5):
        """(code, [text lines]) of one complete reply; None on EOF."""
        self.sock.settimeout(timeout)
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            line = line.decode("utf-8", "replace")
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def cmd(self, line, timeout=5):
        self.send(line.encode() + b"\r\n")
        return self.reply(timeout)

    def no_reply(self, wait=0.7):
        """True if nothing arrives within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        self.buf += chunk
        return False

    def closed(self, timeout=5):
        """True once the server has closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def start_tx(self, mail=FROM, rcpt=TO):
        assert self.reply()[0] == 220
        assert self.cmd("EHLO client.test")[0] == 250
        assert self.cmd("MAIL FROM:<%s>" % mail)[0] == 250
        assert self.cmd("RCPT TO:<%s>" % rcpt)[0] == 250
        assert self.cmd("DATA")[0] == 354

    def close(self):
        self.sock.close()


@pytest.fixture
def client():
    made = []

    def make(port, timeout=5):
        c = Client(port, timeout)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def body_of(data):
    return data.split(b"\r\n\r\n", 1)[1]


def headers_of(data):
    return data.split(b"\r\n\r\n", 1)[0].decode()


# ---------------------------------------------------------------- basics

def test_swaks_pipelined_session(harness):
    h = harness("--relay")
    r = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % h.port, "--from", FROM,
         "--to", TO, "--pipeline", "--h-Subject", "swaks test",
         "--body", "hello from swaks"],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250-PIPELINING" in r.stdout
    assert "250 2.0.0 OK queued" in r.stdout
    (env, data), = h.messages()
    assert env["mail_from"] == FROM
    assert env["rcpt"][0].startswith(TO + " ")
    assert data.startswith(b"Received: from ")
    assert b"Subject: swaks test\r\n" in data
    assert b"hello from swaks" in body_of(data)


def test_ehlo_capabilities(harness, client):
    h = harness("--relay", "--max-size", "12345")
    c = client(h.port)
    code, text = c.reply()
    assert code == 220 and "ESMTP" in text[0]
    code, caps = c.cmd("EHLO client.test")
    assert code == 250
    for cap in ("PIPELINING", "SIZE 12345", "8BITMIME",
                "ENHANCEDSTATUSCODES", "DSN"):
        assert cap in caps
    assert not any(x.startswith("AUTH") for x in caps)
    assert "STARTTLS" not in caps  # no certificate configured


def test_smtplib_dsn_params(harness):
    h = harness("--relay")
    with smtplib.SMTP("127.0.0.1", h.port, timeout=10) as s:
        s.ehlo("client.test")
        s.sendmail(FROM, [TO, "second@example.com"],
                   b"Subject: dsn\r\n\r\nbody\r\n",
                   mail_options=["RET=HDRS", "ENVID=QQ+2B314", "BODY=8BITMIME"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE",
                                 "ORCPT=rfc822;x+2By@example.net"])
    (env, _), = h.messages()
    assert env["envid"] == "QQ+314"
    assert env["ret_full"] == "0"
    assert env["rcpt"] == [
        TO + " notify=6 orcpt=rfc822;x+y@example.net",
        "second@example.com notify=6 orcpt=rfc822;x+y@example.net"]


def test_command_replies(harness, client):
    h = harness("--relay")
    c = client(h.port)
    c.reply()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    assert c.cmd("EHLO client.test")[0] == 250
    assert c.cmd("FOO bar") == (500, ["5.5.1 Error: command not recognized"])
    code, text = c.cmd("VRFY someone")
    assert code == 252 and text[0].startswith("2.5.0")
    assert c.cmd("EXPN list")[0] == 502
    code, text = c.cmd("HELP")
    assert code == 214 and text[0].startswith("2.0.0")
    assert c.cmd("NOOP") == (250, ["2.0.0 OK"])
    assert c.cmd("RCPT TO:<x@y.example>")[0] == 503
    assert c.cmd("MAIL FROM:<a@b.example> FOO=BAR")[0] == 555
    assert c.cmd("MAIL FROM:a@b.example")[0] == 501
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    assert c.cmd("RCPT TO:<>")[0] == 501
    assert c.cmd("DATA")[0] == 554  # no valid recipients
    assert c.cmd("RSET") == (250, ["2.0.0 OK"])
    assert c.cmd("QUIT") == (221, ["2.0.0 Bye"])
    assert c.closed()


def test_every_reply_has_enhanced_code(harness, client):
    h = harness()
    c = client(h.port)
    c.reply()
    # RFC 2034 §3: not on the greeting nor on the HELO/EHLO reply.
    assert c.cmd("HELO client.test")[0] == 250
    for line in ("NOOP", "FOO", "MAIL FROM:<a@b.c>",
                 "RCPT TO:<x@y.z>", "DATA", "RSET", "VRFY x", "QUIT"):
        code, text = c.cmd(line)
        assert re.match(r"[245]\.\d{1,3}\.\d{1,3} ", text[-1]), (line, text)


# ---------------------------------------------------------------- smuggling

SMUGGLE_ENDINGS = {
    "lflf": b"\n.\n", "crcr": b"\r.\r", "crlf": b"\r.\n", "lfcr": b"\n.\r",
    "lfcrlf": b"\n.\r\n", "crlflf": b"\r\n.\n", "crcrlf": b"\r.\r\n",
    "crlfcr": b"\r\n.\r", "nullbefore": b"\r\n\x00.\r\n",
    "nullafter": b"\r\n.\x00\r\n",
}
SMUGGLED = (b"MAIL FROM:<admin@example.org>\r\nRCPT TO:<victim@example.net>"
            b"\r\nDATA\r\nFrom: admin@example.org\r\n\r\nsmuggled\r\n")


@pytest.mark.parametrize("name", sorted(SMUGGLE_ENDINGS))
def test_smuggling_ending_not_end_of_data(harness, client, name):
    h = harness("--relay")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: smuggle\r\n\r\nbody" + SMUGGLE_ENDINGS[name] + SMUGGLED)
    # A server that took the malformed ending as the end would answer now.
    assert c.no_reply(0.8), "malformed ending %r was taken as end of data: %r" \
        % (name, c.buf)
    c.send(b"\r\n.\r\n")
    code, text = c.reply()
    assert code == 554 and text[0].startswith("5.6.0"), (code, text)
    # The session goes on normally afterwards, and nothing was queued.
    assert c.cmd("NOOP")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    assert h.messages() == []


def test_pipelined_commands_after_dot(harness, client):
    """Commands in the same packet as the final dot run after the 250."""
    h = harness("--relay", "--submit-delay-ms", "200")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<b@example.org>\r\n"
           b"RCPT TO:<c@example.net>\r\nDATA\r\n")
    assert c.reply()[0] == 250  # message 1 queued
    assert c.reply()[0] == 250  # MAIL
    assert c.reply()[0] == 250  # RCPT
    assert c.reply()[0] == 354  # DATA
    c.send(b"Subject: two\r\n\r\nsecond\r\n.\r\n")
    assert c.reply()[0] == 250
    msgs = h.messages()
    assert len(msgs) == 2
    assert body_of(msgs[0][1]) == b"first\r\n"
    assert msgs[1][0]["mail_from"] == "b@example.org"
    assert body_of(msgs[1][1]) == b"second\r\n"


def test_pipelining_probe_text_before_354(harness, client):
    """smtpsmug 'pipelining': message text sent before our 354 is refused."""
    h = harness("--relay")
    c = client(h.port)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
           b"Subject: early\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    code, text = c.reply()
    assert code == 554 and text[0].startswith("5.5.0")
    assert c.closed()
    assert h.messages() == []


def test_bare_lf_and_cr_in_commands(harness, client):
    h = harness("--relay")
    c = client(h.port)
    c.reply()
    c.send(b"QUIT\n")
    assert c.reply() == (500, ["5.5.2 Syntax error: bare CR, bare LF or NUL "
                               "in command line"])
    c.send(b"NO\rOP\r\n")
    assert c.reply()[0] == 500
    c.send(b"NOOP\x00\r\n")
    assert c.reply()[0] == 500
    assert c.cmd("NOOP")[0] == 250  # QUIT above was not executed


def test_command_line_too_long(harness, client):
    h = harness("--relay", "--max-line", "100")
    c = client(h.port)
    c.reply()
    c.send(b"NOOP " + b"x" * 300 + b"\r\n")
    assert c.reply() == (500, ["5.5.2 Line too long"])
    assert c.cmd("NOOP")[0] == 250


def test_data_line_too_long(harness, client):
    h = harness("--relay")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: long\r\n\r\n" + b"y" * 1500 + b"\r\n.\r\n")
    code, text = c.reply()
    assert code == 554 and text[0].startswith("5.6.0")
    assert h.messages() == []


def test_data_exact_bytes_and_unstuffing(harness, client):
    h = harness("--relay", "--no-received")
    c = client(h.port)
    c.start_tx()
    body = (b"Subject: exact\r\n\r\n..leading dot\r\n.\xc3\xa9t\xe9\r\n"
            b"\ttab line\r\n\r\n\r\n...\r\n")
    c.send(body + b".\r\n")
    assert c.reply()[0] == 250
    (env, data), = h.messages()
    assert data == (b"Subject: exact\r\n\r\n.leading dot\r\n\xc3\xa9t\xe9\r\n"
                    b"\ttab line\r\n\r\n\r\n..\r\n")
    assert env["datalen"] == str(len(data))


# ---------------------------------------------------------------- policy

def test_relay_denied(harness, client):
    h = harness()
    c = client(h.port)
    c.reply()
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<b@example.net>") == (550, ["5.7.1 Relaying denied"])


def test_require_auth(harness, client):
    h = harness("--relay", "--require-auth")
    c = client(h.port)
    c.reply()
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<a@example.org>") == \
        (530, ["5.7.0 Authentication required"])


def test_auth_needs_tls(harness, client):
    h = harness("--user", "u:p")
    c = client(h.port)
    c.reply()
    c.cmd("EHLO client.test")
    code, text = c.cmd("AUTH PLAIN AHUAcA==")
    assert code == 538 and text[0].startswith("5.7.11")


def test_no_service(harness, client):
    h = harness("--no-service")
    c = client(h.port)
    code, text = c.reply()
    assert code == 554 and text[0].startswith("5.7.1")
    assert c.closed()


def test_size_limit(harness, client):
    h = harness("--relay", "--max-size", "1000")
    c = client(h.port)
    c.reply()
    code, caps = c.cmd("EHLO client.test")
    assert "SIZE 1000" in caps
    code, text = c.cmd("MAIL FROM:<a@example.org> SIZE=2000")
    assert code == 552 and text[0].startswith("5.3.4")
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=500")[0] == 250
    assert c.cmd("RCPT TO:<b@example.net>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + (b"z" * 70 + b"\r\n") * 30 + b".\r\n")
    code, text = c.reply()
    assert code == 552 and text[0].startswith("5.3.4")
    assert c.cmd("NOOP")[0] == 250
    assert h.messages() == []


def test_max_rcpt(harness, client):
    h = harness("--relay", "--max-rcpt", "2")
    c = client(h.port)
    c.reply()
    c.cmd("EHLO client.test")
    c.cmd("MAIL FROM:<a@example.org>")
    assert c.cmd("RCPT TO:<b1@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<b2@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<b3@example.net>") == \
        (452, ["4.5.3 Too many recipients"])


def test_max_errors(harness, client):
    h = harness("--max-errors", "3")
    c = client(h.port)
    c.reply()
    assert c.cmd("BOGUS1")[0] == 500
    assert c.cmd("BOGUS2")[0] == 500
    assert c.cmd("BOGUS3")[0] == 500
    code, text = c.reply()
    assert code == 421 and text[0].startswith("4.7.0")
    assert c.closed()


def test_max_connections(harness, client):
    h = harness("--max-conn", "2")
    a, b = client(h.port), client(h.port)
    assert a.reply()[0] == 220 and b.reply()[0] == 220
    c = client(h.port)
    code, text = c.reply()
    assert code == 421 and text[0].startswith("4.3.2")
    assert c.closed()
    a.cmd("QUIT")
    assert a.closed()
    # A slot is free again.
    d = wait_for(lambda: _greeted(h.port), timeout=5, what="free slot")
    d.close()


def _greeted(port):
    c = Client(port)
    r = c.reply()
    if r and r[0] == 220:
        return c
    c.close()
    return None


def test_command_timeout(harness, client):
    h = harness("--timeout", "1")
    c = client(h.port)
    c.reply()
    t0 = time.monotonic()
    code, text = c.reply(timeout=5)
    assert code == 421 and text[0].startswith("4.4.2")
    assert 0.5 < time.monotonic() - t0 < 4
    assert c.closed()


def test_data_timeout(harness, client):
    h = harness("--relay", "--timeout", "10", "--data-timeout", "1")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: slow\r\n\r\npartial")
    code, text = c.reply(timeout=5)
    assert code == 421 and text[0].startswith("4.4.2")
    assert c.closed()
    assert h.messages() == []


def test_submit_failure_is_452(harness, client):
    h = harness("--relay", "--fail-submit")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    assert c.reply() == (452, ["4.3.1 Insufficient system storage"])


def test_client_gone_during_submit(harness, client):
    """The session survives (zombie) until the delayed submit answers."""
    h = harness("--relay", "--submit-delay-ms", "400")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: bye\r\n\r\nbody\r\n.\r\n")
    time.sleep(0.1)
    # Abortive close (RST): the server sees an error, not a half-close.
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack("ii", 1, 0))
    c.close()
    time.sleep(0.8)
    d = client(h.port)
    d.start_tx()
    d.send(b"Subject: after\r\n\r\nbody\r\n.\r\n")
    assert d.reply()[0] == 250
    assert len(h.messages()) == 2
    assert h.proc.poll() is None


def test_half_close_after_pipelined_quit(harness, client):
    """'.' and QUIT pipelined, then shutdown(SHUT_WR): both still answered."""
    h = harness("--relay", "--submit-delay-ms", "300")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: hc\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    c.sock.shutdown(socket.SHUT_WR)
    assert c.reply()[0] == 250
    assert c.reply() == (221, ["2.0.0 Bye"])
    assert c.closed()
    assert len(h.messages()) == 1


# ---------------------------------------------------------------- headers

def test_x_virtual_mta_and_job_read_and_stripped(harness, client):
    h = harness("--relay", "--process-x-virtual-mta", "--process-x-job",
                "--default-vmta", "dflt")
    c = client(h.port)
    c.start_tx()
    c.send(b"From: a@example.org\r\nX-Virtual-MTA: vmta-blue\r\n"
           b"X-Job: campaign-7\r\nSubject: v\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    (env, data), = h.messages()
    assert env["vmta"] == "vmta-blue"
    assert env["job_id"] == "campaign-7"
    hdrs = headers_of(data)
    assert "X-Virtual-MTA" not in hdrs and "X-Job" not in hdrs
    assert "Subject: v" in hdrs


def test_default_vmta_and_headers_kept_when_not_processing(harness, client):
    h = harness("--relay", "--default-vmta", "dflt")
    c = client(h.port)
    c.start_tx()
    c.send(b"X-Virtual-MTA: vmta-blue\r\nX-Job: j\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    (env, data), = h.messages()
    assert env["vmta"] == "dflt" and env["job_id"] == ""
    assert "X-Virtual-MTA: vmta-blue" in headers_of(data)


def test_custom_jobid_header(harness, client):
    h = harness("--relay", "--process-x-job", "--jobid-header", "X-Mailing")
    c = client(h.port)
    c.start_tx()
    c.send(b"X-Mailing: m1\r\nX-Job: stays\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    (env, data), = h.messages()
    assert env["job_id"] == "m1"
    assert "X-Mailing" not in headers_of(data)
    assert "X-Job: stays" in headers_of(data)


def test_headers_added(harness, client):
    h = harness("--relay", "--add-message-id", "--add-date",
                "--hostname", "mx.sluice.test")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: bare\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    (env, data), = h.messages()
    hdrs = headers_of(data)
    assert hdrs.startswith("Received: from client.test ([127.0.0.1])\r\n"
                           "\tby mx.sluice.test (Sluice) with ESMTP;")
    assert re.search(r"\r\nMessage-Id: <[^>]+@mx\.sluice\.test>", hdrs)
    assert re.search(r"\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d "
                     r"[+-]\d{4}", hdrs)
    assert body_of(data) == b"body\r\n"


def test_existing_message_id_and_date_kept(harness, client):
    h = harness("--relay", "--add-message-id", "--add-date")
    c = client(h.port)
    c.start_tx()
    c.send(b"Message-ID: <orig@x>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000"
           b"\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    hdrs = headers_of(h.messages()[0][1])
    assert hdrs.count("Message-I") == 1 and hdrs.count("\r\nDate:") == 1


def test_hide_source_and_no_received(harness, client):
    h = harness("--relay", "--hide-source")
    c = client(h.port)
    c.start_tx()
    c.send(b"Subject: s\r\n\r\nb\r\n.\r\n")
    assert c.reply()[0] == 250
    hdrs = headers_of(h.messages()[0][1])
    assert hdrs.startswith("Received: by ")
    assert "127.0.0.1" not in hdrs and "client.test" not in hdrs
    h2 = harness("--relay", "--no-received")
    c2 = client(h2.port)
    c2.start_tx()
    c2.send(b"Subject: s\r\n\r\nb\r\n.\r\n")
    assert c2.reply()[0] == 250
    assert h2.messages()[0][1] == b"Subject: s\r\n\r\nb\r\n"


# ---------------------------------------------------------------- TLS + AUTH

@pytest.fixture
def cert(tmp_path):
    crt, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", str(key), "-out", str(crt), "-days", "2",
         "-subj", "/CN=harness.test"],
        check=True, capture_output=True, timeout=60)
    return str(crt), str(key)


def _tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _tls_harness(harness, cert, *args):
    return harness("--tls-cert", cert[0], "--tls-key", cert[1],
                   "--user", "alice:s3cret", *args)


def test_starttls_auth_plain(harness, cert):
    h = _tls_harness(harness, cert)
    with smtplib.SMTP("127.0.0.1", h.port, timeout=10) as s:
        s.ehlo("client.test")
        assert s.has_extn("starttls") and not s.has_extn("auth")
        s.starttls(context=_tls_ctx())
        s.ehlo("client.test")
        assert not s.has_extn("starttls")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth("PLAIN", lambda challenge=None: "\0alice\0wrong",
                   initial_response_ok=True)
        assert e.value.smtp_code == 535
        code, _ = s.auth("PLAIN", lambda challenge=None: "\0alice\0s3cret",
                         initial_response_ok=True)
        assert code == 235
        # Authenticated: relaying allowed without --relay.
        s.sendmail(FROM, [TO], b"Subject: tls\r\n\r\nsecret body\r\n")
    (env, data), = h.messages()
    assert env["auth_user"] == "alice"
    assert "with ESMTPSA" in headers_of(data)


def test_starttls_auth_login_two_steps(harness, cert):
    h = _tls_harness(harness, cert)
    with smtplib.SMTP("127.0.0.1", h.port, timeout=10) as s:
        s.starttls(context=_tls_ctx())
        s.ehlo("client.test")
        s.user, s.password = "alice", "s3cret"
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235
        assert s.docmd("AUTH", "PLAIN AGFsaWNlAHMzY3JldA==")[0] == 503


def test_auth_cancel_and_bad_line_end_exchange(harness, cert):
    h = _tls_harness(harness, cert, "--max-line", "100")
    with smtplib.SMTP("127.0.0.1", h.port, timeout=10) as s:
        s.starttls(context=_tls_ctx())
        s.ehlo("client.test")
        assert s.docmd("AUTH", "PLAIN")[0] == 334
        code, msg = s.docmd("*")
        assert code == 501 and msg.startswith(b"5.0.0")
        assert s.docmd("NOOP")[0] == 250
        assert s.docmd("AUTH", "LOGIN")[0] == 334
        assert s.docmd("x" * 300)[0] == 500  # too long: exchange over
        assert s.docmd("NOOP")[0] == 250
        assert s.docmd("AUTH", "CRAM-MD5")[0] == 504


def test_swaks_tls_auth(harness, cert):
    h = _tls_harness(harness, cert, "--require-auth")
    r = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % h.port, "--from", FROM,
         "--to", TO, "--tls", "--auth", "LOGIN", "--auth-user", "alice",
         "--auth-password", "s3cret", "--body", "via swaks tls"],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    (env, _), = h.messages()
    assert env["auth_user"] == "alice"


def test_starttls_resets_session_and_drops_injection(harness, cert, client):
    h = _tls_harness(harness, cert, "--relay")
    c = client(h.port)
    c.reply()
    c.cmd("EHLO client.test")
    # RSET pipelined after STARTTLS must not be executed after the handshake.
    c.send(b"STARTTLS\r\nRSET\r\n")
    assert c.reply()[0] == 220
    assert c.buf == b""
    tls = _tls_ctx().wrap_socket(c.sock, server_hostname="harness.test")
    tls.settimeout(5)
    c.sock = tls
    # RFC 3207: the EHLO state is gone; MAIL before EHLO is refused.
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 503
    code, caps = c.cmd("EHLO client.test")
    assert code == 250 and "STARTTLS" not in caps
    assert c.cmd("NOOP") == (250, ["2.0.0 OK"])


def test_many_messages_smtp_source(harness):
    """Load sanity: smtp-source, 20 sessions, 400 messages, all stored."""
    h = harness("--relay", "--no-received")
    r = subprocess.run(
        ["smtp-source", "-s", "20", "-m", "400", "-c", "-f", FROM,
         "-t", TO, "127.0.0.1:%d" % h.port],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(h.messages()) == 400
