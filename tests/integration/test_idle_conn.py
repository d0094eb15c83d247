"""
test_idle_conn.py -- PowerMTA's connection-idle-timeout end to end: an
outbound connection with nothing to send stays open for more mail of its
queue, is reused, QUITs when the timeout expires, and never holds a
connection slot another queue needs (total-max-smtp-out).
"""
import time

from conftest import wait_for
from relayenv import RelayEnv


def idle_extra(timeout, more=""):
    return (f"<domain ok.test>\n    connection-idle-timeout {timeout}\n"
            f"</domain>\n{more}")


def send_two(env, gap=1.0):
    assert env.send(["bob@ok.test"])[0] == 250
    env.rcpt.wait_for_messages(1, timeout=20)
    time.sleep(gap)
    assert env.send(["carol@ok.test"])[0] == 250
    return env.rcpt.wait_for_messages(2, timeout=20)


def test_idle_connection_reused(tmp_path):
    with RelayEnv(tmp_path, extra=idle_extra("3s")) as env:
        msgs = send_two(env)
        assert [m.rcpt_tos for m in msgs] == [["bob@ok.test"],
                                              ["carol@ok.test"]]
        assert msgs[0].conn_id == msgs[1].conn_id
        assert len(env.rcpt.connections) == 1
        env.wait_acct(lambda r: r["type"] == "d" and
                      r["rcpt"] == "carol@ok.test")


def test_default_quits_when_idle(tmp_path):
    with RelayEnv(tmp_path) as env:
        msgs = send_two(env)
        assert msgs[0].conn_id != msgs[1].conn_id
        assert len(env.rcpt.connections) == 2
        assert "QUIT" in [c.upper() for c in
                          env.rcpt.connections[0].commands]


def test_idle_timeout_sends_quit(tmp_path):
    with RelayEnv(tmp_path, extra=idle_extra("2s")) as env:
        assert env.send(["bob@ok.test"])[0] == 250
        env.rcpt.wait_for_messages(1, timeout=20)
        done = time.time()
        conn = env.rcpt.connections[0]
        time.sleep(1.0)
        assert "QUIT" not in [c.upper() for c in conn.commands]
        wait_for(lambda: "QUIT" in [c.upper() for c in conn.commands],
                 10, what="QUIT after the idle timeout")
        assert time.time() - done >= 1.5
        # the next message opens a new connection
        assert env.send(["carol@ok.test"])[0] == 250
        msgs = env.rcpt.wait_for_messages(2, timeout=20)
        assert msgs[1].conn_id != msgs[0].conn_id
        # no deferral or queue-level record from the idle period
        recs = env.acct_records()
        assert not [r for r in recs if r["type"] in ("t", "tq", "b")], recs


def test_idle_connection_frees_slot(tmp_path):
    """total-max-smtp-out 1: ok.test's idle connection must not delay
    sender.test's mail by the idle timeout."""
    extra = idle_extra("30s", "total-max-smtp-out 1\n")
    with RelayEnv(tmp_path, extra=extra) as env:
        assert env.send(["bob@ok.test"])[0] == 250
        env.rcpt.wait_for_messages(1, timeout=20)
        time.sleep(0.5)
        conn = env.rcpt.connections[0]
        assert "QUIT" not in [c.upper() for c in conn.commands]
        t0 = time.time()
        assert env.send(["dave@sender.test"])[0] == 250
        env.sender.wait_for_messages(1, timeout=10)
        assert time.time() - t0 < 8, "blocked by an idle connection"
        assert "QUIT" in [c.upper() for c in conn.commands]
