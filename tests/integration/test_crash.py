"""
test_crash.py -- the durability promise: every message that got "250" is
delivered at least once, even if sluiced is killed with SIGKILL while
10,000 messages are in flight.

Eight client threads inject 10,000 uniquely numbered messages over
persistent SMTP sessions; the id of every message acknowledged with 250 is
recorded. While deliveries to the sink are under way, the daemon gets
SIGKILL right after the last acknowledgement. It is restarted on the same
spool; the sink must then receive every acknowledged id. Duplicates (sent
before the kill but not yet journaled as delivered) are allowed and printed.
"""
import collections
import re
import smtplib
import threading
import time

from conftest import wait_for
from relayenv import RelayEnv

N = 10000
THREADS = 8
ID_RE = re.compile(rb"X-Test-Id: (\d+)")


def inject(env, ids, acked, lock):
    s = smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=30)
    s.ehlo("crash.test")
    try:
        for i in ids:
            msg = (f"From: a@sender.test\r\nTo: r{i}@ok.test\r\n"
                   f"Subject: crash {i}\r\nX-Test-Id: {i}\r\n\r\n"
                   f"body {i}\r\n").encode()
            try:
                s.sendmail("a@sender.test", [f"r{i}@ok.test"], msg)
            except smtplib.SMTPException:
                return
            with lock:
                acked.add(i)
    finally:
        try:
            s.quit()
        except Exception:
            pass


def test_kill9_loses_no_acknowledged_message(tmp_path):
    with RelayEnv(tmp_path, retry="1s") as env:
        acked, lock = set(), threading.Lock()
        threads = [threading.Thread(target=inject,
                                    args=(env, range(k, N, THREADS), acked, lock))
                   for k in range(THREADS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        inject_s = time.monotonic() - t0
        delivered_before = len(env.rcpt.messages)
        env.daemon.kill9()
        assert len(acked) == N, f"only {len(acked)} of {N} acknowledged"

        env.daemon.start()
        want = set(acked)

        def all_seen():
            seen = {int(m.group(1)) for msg in list(env.rcpt.messages)
                    if (m := ID_RE.search(msg.data))}
            return want <= seen
        wait_for(all_seen, timeout=600, interval=0.5,
                 what="every acknowledged message delivered after restart")
        counts = collections.Counter(
            int(ID_RE.search(m.data).group(1)) for m in env.rcpt.messages)
        dups = sum(c - 1 for c in counts.values() if c > 1)
        print(f"\ncrash test: {N} injected in {inject_s:.1f}s, "
              f"{delivered_before} delivered before SIGKILL, "
              f"{len(want)} acknowledged, all delivered after restart, "
              f"{dups} duplicates")
        assert not (want - set(counts))
