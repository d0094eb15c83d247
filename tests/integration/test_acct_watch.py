"""`sluice acct watch`: follows the accounting file while it grows and
across rotation (rename + new file), printing alerts as they start and a
rolling summary."""
import os
import subprocess
import time

from test_acct import ACCT

HDR = ("type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,"
       "dsnDiag,dsnMta,bounceCat,srcType,srcMta,dlvType,dlvSourceIp,"
       "dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,envId,queue,"
       "vmtaPool\r\n")


def line(typ, dom, ip, diag="smtp;250 ok"):
    t = int(time.time())
    status = {"d": "2.0.0 (success)", "t": "4.7.0 (other)",
              "b": "5.1.1 (bad destination mailbox address)"}[typ]
    return ("%s,%d,%d,o@x.org,u@%s,,x,%s,\"%s\",mx (1.1.1.1),,smtp,h,smtp,"
            "%s,1.1.1.1,\"SIZE,8BITMIME\",,v1,j1,,%s/v1,p\r\n" % (
                typ, t, t - 5, dom, status, diag, ip, dom))


def wait_for(proc, lines, text, deadline):
    while time.time() < deadline:
        l = proc.stdout.readline()
        if not l:
            break
        lines.append(l)
        if text in l:
            return True
    return False


def test_watch_follows_growth_and_rotation(tmp_path):
    path = tmp_path / "acct.csv"
    with open(path, "w", newline="") as f:
        f.write(HDR)
        for _ in range(50):          # history: not read (starts at the end)
            f.write(line("t", "gmail.com", "10.0.0.9", "421 4.7.0 old"))
    p = subprocess.Popen(ACCT + ["watch", str(path), "--interval", "0.5",
                                 "--window", "60", "--exit-after", "25",
                                 "--threshold", "min-volume=20"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out = []
    try:
        assert wait_for(p, out, "last 60s", time.time() + 10), out
        assert not any("10.0.0.9" in l for l in out)
        with open(path, "a", newline="") as f:
            for i in range(100):
                f.write(line("t" if i % 3 == 0 else "d", "gmail.com",
                             "10.0.0.1", "421 4.7.0 [1.2.3.4] try later, "
                             "\"quoted\""))
        assert wait_for(p, out, "ALERT critical isp-deferral Gmail",
                        time.time() + 10), out
        # rotate: rename, then a new file with its own header
        os.rename(path, str(path) + ".1")
        with open(path, "w", newline="") as f:
            f.write(HDR)
            for i in range(100):
                f.write(line("b" if i % 4 == 0 else "d", "yahoo.com",
                              "10.0.0.2", "550 5.1.1 user unknown"))
        assert wait_for(p, out, "ALERT warning ip-bounce 10.0.0.2",
                        time.time() + 10), out
    finally:
        p.terminate()
        rest, err = p.communicate(timeout=10)
    out.append(rest)
    assert p.returncode == 0, err
    assert "Sanitizer" not in err and "runtime error" not in err
    assert "malformed" in "".join(out)


def test_watch_reports_malformed_lines_with_line_numbers(tmp_path):
    path = tmp_path / "acct.csv"
    with open(path, "w", newline="") as f:
        f.write(HDR)
        for i in range(50):          # history: skipped, but its lines count
            diag = "421 4.7.0 a\r\nb" if i == 7 else "421 4.7.0 old"
            f.write(line("t", "gmail.com", "10.0.0.9", diag))
    # header + 50 records, one holding a quoted CRLF: 52 lines so far
    p = subprocess.Popen(ACCT + ["watch", str(path), "--interval", "0.5",
                                 "--window", "60", "--exit-after", "25"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    out = []
    try:
        assert wait_for(p, out, "last 60s", time.time() + 10), out
        with open(path, "a", newline="") as f:
            f.write(line("d", "gmail.com", "10.0.0.1"))         # line 53
            f.write("zz,1,2,3\r\n")                              # line 54
            f.write(line("d", "gmail.com", "10.0.0.1"))         # line 55
        assert wait_for(p, out, "%s:54: unknown record type 'zz'" % path,
                        time.time() + 10), out
        assert wait_for(p, out, "1 malformed since start",
                        time.time() + 10), out
        # a later tick still counts it; a second bad line adds to it
        assert wait_for(p, out, "1 malformed since start",
                        time.time() + 10), out
        with open(path, "a", newline="") as f:
            f.write("qq,1,2,3\r\n")                              # line 56
        assert wait_for(p, out, "%s:56: unknown record type 'qq'" % path,
                        time.time() + 10), out
        assert wait_for(p, out, "2 malformed since start",
                        time.time() + 10), out
        assert wait_for(p, out, "2 malformed since start",
                        time.time() + 10), out
    finally:
        p.terminate()
        rest, _ = p.communicate(timeout=10)
    out.append(rest)
    text = "".join(out)
    assert p.returncode == 0, text
    assert "Sanitizer" not in text and "runtime error" not in text
