"""
test_sigterm_load.py -- a clean SIGTERM under load loses nothing.

Four client threads inject 400 uniquely numbered messages (paced, so the
injection is still running) to a sink that is slow (each accepted message
holds its event loop for 20 ms) and defers every id ending in 3 or 7 once
(451). When half the messages are acknowledged and deliveries are under
way, sluiced gets SIGTERM: it must exit 0 within the stop timeout with no
sanitizer report. Restarted on the same spool (sink now fast), every
acknowledged message must arrive at least once.
"""
import re
import signal
import threading
import time

from conftest import wait_for
from relayenv import RelayEnv, inject_ids

N = 400
THREADS = 4
ID_RE = re.compile(rb"X-Test-Id: (\d+)")
SCRIPT = {"rcpt": [{"re": r"^r\d*[37]@", "first": 1,
                    "reply": "451 4.3.0 try again"}]}


def inject(env, ids, acked, lock):
    """Send ids on one session, paced; stop at the first refusal or
    disconnect (the daemon shutting down). Only a 250 records an id."""
    inject_ids(env.smtp_port, ids, acked, lock, "term", pause=0.01)


def seen(env):
    return {int(m.group(1)) for msg in list(env.rcpt.messages)
            if (m := ID_RE.search(msg.data))}


def test_sigterm_mid_delivery_loses_nothing(tmp_path):
    with RelayEnv(tmp_path, rcpt_script=SCRIPT, retry="1s") as env:
        env.rcpt.on_message = lambda m: time.sleep(0.02)   # slow sink
        acked, lock = set(), threading.Lock()
        threads = [threading.Thread(target=inject,
                                    args=(env, range(k, N, THREADS), acked,
                                          lock))
                   for k in range(THREADS)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= N // 2 and seen(env), timeout=60,
                 interval=0.01, what="half acknowledged, deliveries started")
        t0 = time.monotonic()
        env.daemon.signal(signal.SIGTERM)
        try:
            rc = env.daemon.proc.wait(30)
        finally:
            for t in threads:
                t.join(60)
        stop_s = time.monotonic() - t0
        env.daemon.stop()                  # closes the log
        assert rc == 0, f"exit {rc} after SIGTERM:\n{env.daemon.log()}"
        env.daemon.check_sanitizers()
        want = set(acked)
        assert len(want) < N, "injection finished before SIGTERM"
        assert not want <= seen(env), "nothing was left queued at SIGTERM"

        env.rcpt.on_message = None
        env.daemon.start()
        wait_for(lambda: want <= seen(env), timeout=60, interval=0.2,
                 what="every acknowledged message delivered after restart")
        print(f"SIGTERM: stopped in {stop_s:.2f}s with {len(want)} acked")
