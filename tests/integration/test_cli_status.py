"""
test_cli_status.py -- the text form of `sluice status` (the JSON form is
checked in test_daemon_smtp.py and test_control.py): after three messages
(one delivered, one bounced with 550, one with two recipients queued for an
unreachable MX) the lines for traffic in/out, bounces, the queue and the
spool show those numbers, and agree with `sluice status --json`.
"""
import json
import os
import re
import subprocess

from conftest import bin_path, wait_for
from relayenv import RelayEnv


def status(env, *args):
    p = subprocess.run([bin_path("sluice"), "status", *args, "--socket",
                        os.path.join(env.dir, "sluiced.sock")],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and p.stderr == "", p
    return p.stdout


def test_status_text_lines(tmp_path):
    script = {"rcpt": [{"addr": "bad@ok.test", "reply": "550 5.1.1 no"}]}
    with RelayEnv(tmp_path, rcpt_script=script, retry="1h") as env:
        assert env.send(["q1@down.test", "q2@down.test"])[0] == 250
        assert env.send(["good@ok.test"])[0] == 250
        assert env.send(["bad@ok.test"])[0] == 250
        # the DSN for bad@ok.test goes out too: 2 rcpt out, 1 bounced
        text = wait_for(lambda: (lambda t: t if re.search(
            r"^out\s+2\s+2$", t, re.M) and re.search(
            r"^bounced\s+1\s", t, re.M) else None)(status(env)),
            timeout=30, what="out 2 / bounced 1 in sluice status")
        lines = text.splitlines()
        assert re.match(r"^uptime\s+\d+ s$", lines[0]), lines
        assert re.match(r"^traffic\s+rcpt\s+msg$", lines[1]), lines
        assert re.match(r"^in\s+5\s+4$", lines[2]), lines   # 4 + the DSN
        assert re.match(r"^out\s+2\s+2$", lines[3]), lines
        assert re.match(r"^bounced\s+1\s+expired 0\s+deferred \d+$",
                        lines[4]), lines
        assert re.match(r"^connections\s+smtpIn \d+\s+smtpOut \d+$",
                        lines[5]), lines
        assert re.match(r"^queue\s+rcpt 2\s+msg 1\s+domains 1$",
                        lines[6]), lines
        m = re.match(r"^spool\s+messages (\d+)\s+recipients (\d+)\s+"
                     r"segments (\d+)\s+bytes (\d+)$", lines[7])
        assert m, lines
        js = json.loads(status(env, "--json"))["status"]
        assert (js["traffic"]["in"]["rcpt"], js["traffic"]["in"]["msg"],
                js["traffic"]["out"]["rcpt"],
                js["traffic"]["bounced"]) == (5, 4, 2, 1)
        assert (js["queue"]["rcpt"], js["queue"]["msg"],
                js["queue"]["domains"]) == (2, 1, 1)
        assert int(m.group(1)) == js["spool"]["messages"] >= 1
        assert int(m.group(2)) == js["spool"]["recipients"] >= 2
