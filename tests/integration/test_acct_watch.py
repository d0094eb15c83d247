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
