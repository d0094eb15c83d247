"""
test_bounce_dsn.py -- a DSN built by dsn_build() (via the dsn-harness
program) is parsed by Python's email package as a valid RFC 3464
multipart/report with the required per-message and per-recipient fields.
"""
import email
import email.policy
import subprocess

import pytest

from conftest import bin_path

ORIG = (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\n"
        b"Subject: quarterly report\r\nMessage-Id: <q1@example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
        b"Hello Bob,\r\nthe numbers are in.\r\n")


def run_harness(*args, stdin=ORIG):
    p = subprocess.run([bin_path("dsn-harness"), *args], input=stdin,
                       capture_output=True, timeout=30, check=True)
    return p.stdout


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def recipients(msg):
    parts = list(msg.iter_parts())
    ds = parts[1]
    assert ds.get_content_type() == "message/delivery-status"
    blocks = ds.get_payload()
    return blocks[0], blocks[1:]


@pytest.mark.parametrize("full", [False, True])
def test_dsn_is_valid_multipart_report(full):
    args = ["-m", "mta1.example.net", "-s", "alice@example.org",
            "-e", "ENV-42",
            "-r", "bob@example.com|rfc822;Bob@example.com|failed|5.1.1|"
                  "smtp; 550 5.1.1 <bob@example.com>: user unknown|"
                  "mx.example.com",
            "-r", "carol@example.com||delayed|4.4.1||"]
    if full:
        args.insert(0, "-f")
    raw = run_harness(*args)
    assert b"\n" not in raw.replace(b"\r\n", b"")      # CRLF only
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert "mailer-daemon@" in str(msg["From"]).lower()
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["To"].addresses[0].addr_spec == "alice@example.org"
    assert msg["Date"].datetime is not None
    assert str(msg["Message-Id"]).startswith("<")
    parts = list(msg.iter_parts())
    assert len(parts) == 3
    assert parts[0].get_content_type() == "text/plain"
    assert "bob@example.com" in parts[0].get_content()

    per_msg, rcpts = recipients(msg)
    assert per_msg["Reporting-MTA"] == "dns; mta1.example.net"
    assert per_msg["Original-Envelope-Id"] == "ENV-42"
    assert per_msg["Arrival-Date"]
    assert len(rcpts) == 2
    bob, carol = rcpts
    assert bob["Final-Recipient"] == "rfc822; bob@example.com"
    assert bob["Original-Recipient"] == "rfc822;Bob@example.com"
    assert bob["Action"] == "failed"
    assert bob["Status"] == "5.1.1"
    assert bob["Remote-MTA"] == "dns; mx.example.com"
    assert bob["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert bob["Last-Attempt-Date"]
    assert carol["Action"] == "delayed"
    assert carol["Status"] == "4.4.1"
    assert carol["Original-Recipient"] is None

    orig = parts[2]
    if full:
        assert orig.get_content_type() == "message/rfc822"
        inner = orig.get_payload()[0]
        assert inner["Subject"] == "quarterly report"
        assert "the numbers are in." in inner.get_content()
    else:
        assert orig.get_content_type() == "text/rfc822-headers"
        text = orig.get_payload(decode=True).decode()
        assert "Subject: quarterly report" in text
        assert "the numbers are in" not in text


def test_boundary_not_in_content():
    # An original that contains many boundary-like lines.
    body = b"".join(b"--=_sluice_dsn_%02x\r\n" % i for i in range(64))
    raw = run_harness("-f", "-r", "x@example.com||failed|5.0.0||",
                      stdin=ORIG + body)
    msg = parse(raw)
    boundary = msg.get_boundary()
    assert boundary
    assert len(list(msg.iter_parts())) == 3
    assert raw.count(boundary.encode()) == 5   # header + 3 + closing
    inner = list(msg.iter_parts())[2].get_payload()[0]
    assert inner.get_content().count("--=_sluice_dsn_") == 64
