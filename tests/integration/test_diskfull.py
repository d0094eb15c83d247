"""
test_diskfull.py -- a full spool disk: sluiced answers 452 4.3.1 and
acknowledges nothing it could not store; everything it did acknowledge is
delivered once the destination accepts mail, and the daemon keeps running.

The spool lives on a 1 MiB tmpfs mounted for the test (needs root, which
CI has; elsewhere the test is skipped with the reason).
"""
import os
import smtplib
import subprocess

import pytest

from conftest import wait_for
from relayenv import RelayEnv


@pytest.fixture
def tiny_spool(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                        str(spool)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield spool
    subprocess.run(["umount", "-l", str(spool)], check=False)


def test_spool_full_answers_452_and_loses_nothing(tmp_path, tiny_spool):
    hold = {"rcpt": [{"re": ".*", "reply": "451 4.3.0 not yet"}]}
    env = RelayEnv(tmp_path, rcpt_script=hold, retry="1s")
    env.start()
    try:
        acked, refused = [], []
        body = ("x" * 76 + "\r\n") * 1300          # ~100 KB per message
        for i in range(40):
            msg = (f"From: a@sender.test\r\nSubject: fill {i}\r\n"
                   f"X-Fill: {i}\r\n\r\n{body}").encode()
            with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=20) as s:
                s.ehlo("fill.test")
                s.mail("a@sender.test")
                s.rcpt(f"f{i}@ok.test")
                code, text = s.data(msg)
            if code == 250:
                acked.append(i)
            else:
                refused.append((i, code, text))
        assert refused, "a 1 MiB spool accepted 4 MB of mail"
        for _, code, text in refused:
            assert code == 452 and text.startswith(b"4.3.1"), (code, text)
        assert acked, "nothing fitted in the spool"
        assert env.daemon.proc.poll() is None, env.daemon.log()
        # the destination comes back: everything acknowledged is delivered
        env.rcpt.set_script({})
        want = {f"f{i}@ok.test" for i in acked}
        wait_for(lambda: want <= {r for m in env.rcpt.messages for r in m.rcpt_tos},
                 timeout=60, what="every acknowledged message delivered")
        got = {r for m in env.rcpt.messages for r in m.rcpt_tos}
        assert not ({f"f{i}@ok.test" for i, _, _ in refused} & got), \
            "a refused message was delivered"
    finally:
        env.close()
