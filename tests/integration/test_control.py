"""
test_control.py -- operator control of a running sluiced through the
`sluice` CLI and the management HTTP API (issue #4 item 6): pause/resume of
queues (wildcards), domains, vmtas and jobs; schedule (retry now); delete
with and without DSNs (and their absence after a restart); list; reload;
rotate; error replies and exit codes.

Every test runs the real daemon on loopback (relayenv.RelayEnv): the sink
"rcpt" is ok.test's MX, the sink "sender" receives DSNs.
"""
import http.client
import json
import os
import socket
import stat
import subprocess
import time

from conftest import bin_path, free_port, wait_for
from relayenv import RelayEnv

QUIET = 2.5  # seconds a held queue must stay quiet (retry-after is 1s)


def ctl(env, *args, check=None):
    """Run `sluice ARGS --socket SOCK`; returns CompletedProcess."""
    sock = os.path.join(env.dir, "sluiced.sock")
    p = subprocess.run([bin_path("sluice"), *args, "--socket", sock],
                       capture_output=True, text=True, timeout=30)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


def ctl_json(env, *args):
    p = ctl(env, *args, "--json", check=0)
    return json.loads(p.stdout)


def queue(env, name):
    for q in ctl_json(env, "queues")["queues"]:
        if q["name"] == name:
            return q
    return None


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=15)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(15)
        self.sock.connect(self.path)


def api_http(env, method, url, body=None, headers=None, port=None,
             source=None):
    c = (http.client.HTTPConnection("127.0.0.1", port, timeout=15,
                                    source_address=source) if port
         else UnixHTTP(os.path.join(env.dir, "sluiced.sock")))
    hdrs = dict(headers or {})
    if body is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, url, body=body, headers=hdrs)
    r = c.getresponse()
    data = r.read().decode()
    c.close()
    return r.status, data


def deliver_first(env, rcpt="first@ok.test"):
    """Create the ok.test queue by delivering one message through it."""
    assert env.send([rcpt])[0] == 250
    env.rcpt.wait_for_messages(1, timeout=20)


def delivered_to(env):
    return sorted(r for m in env.rcpt.messages for r in m.rcpt_tos)


def test_pause_resume_queue(tmp_path):
    with RelayEnv(tmp_path) as env:
        mode = os.stat(os.path.join(env.dir, "sluiced.sock")).st_mode
        assert stat.S_IMODE(mode) == 0o660
        deliver_first(env)
        p = ctl(env, "pause", "queue", "ok.test/{default}", check=0)
        assert "1 queue paused" in p.stdout
        assert env.send(["h1@ok.test"])[0] == 250
        assert env.send(["h2@ok.test"])[0] == 250
        wait_for(lambda: queue(env, "ok.test/{default}")["rcpt"] == 2,
                 timeout=10, what="2 recipients queued")
        time.sleep(QUIET)
        assert delivered_to(env) == ["first@ok.test"]
        q = queue(env, "ok.test/{default}")
        assert q["paused"] is True and q["rcpt"] == 2 and q["conn"] == 0
        text = ctl(env, "queues", check=0).stdout
        line = [x for x in text.splitlines() if x.startswith("ok.test/")][0]
        assert " yes " in line
        lst = ctl_json(env, "list", "--queue=ok.test/{default}")
        assert lst["total"] == 2
        assert {r["rcpt"] for r in lst["recipients"]} == {"h1@ok.test",
                                                          "h2@ok.test"}
        assert all(r["state"] == "held" for r in lst["recipients"])
        p = ctl(env, "resume", "queue", "ok.test/{default}", check=0)
        assert "1 queue resumed (2 recipients released)" in p.stdout
        env.rcpt.wait_for_messages(3, timeout=20)
        assert delivered_to(env) == ["first@ok.test", "h1@ok.test",
                                     "h2@ok.test"]
        assert queue(env, "ok.test/{default}")["paused"] is False


def test_pause_job(tmp_path):
    with RelayEnv(tmp_path) as env:
        p = ctl(env, "pause", "job", "J1", check=0)
        assert "job J1 paused" in p.stdout
        assert ctl_json(env, "queues")["pausedJobs"] == ["J1"]
        assert env.send(["j1@ok.test"], headers={"X-Job": "J1"})[0] == 250
        assert env.send(["j2@ok.test"], headers={"X-Job": "J2"})[0] == 250
        env.rcpt.wait_for_messages(1, timeout=20)
        time.sleep(QUIET)
        assert delivered_to(env) == ["j2@ok.test"]
        lst = ctl_json(env, "list", "--job=J1")
        assert [(r["rcpt"], r["jobId"], r["state"])
                for r in lst["recipients"]] == [("j1@ok.test", "J1", "held")]
        text = ctl(env, "list", "--queue=ok.test", check=0).stdout
        assert "j1@ok.test" in text and "1 of 1 recipient listed" in text
        p = ctl(env, "resume", "job", "J1", check=0)
        assert "1 recipient released" in p.stdout
        env.rcpt.wait_for_messages(2, timeout=20)
        assert delivered_to(env) == ["j1@ok.test", "j2@ok.test"]
        p = ctl(env, "resume", "job", "J1", check=1)
        assert "job J1 is not paused" in p.stderr


def test_wildcards_domain_vmta(tmp_path):
    with RelayEnv(tmp_path) as env:
        deliver_first(env)
        # "*/*" pauses existing queues and, as a rule, queues created later
        p = ctl(env, "pause", "queue", "*/*", check=0)
        assert "1 queue paused" in p.stdout
        assert env.send(["w1@ok.test", "w2@sender.test"])[0] == 250
        wait_for(lambda: queue(env, "sender.test/{default}") is not None,
                 timeout=10, what="sender.test queue")
        time.sleep(QUIET)
        assert delivered_to(env) == ["first@ok.test"]
        assert env.sender.messages == []
        assert queue(env, "sender.test/{default}")["paused"] is True
        # resume one domain only
        ctl(env, "resume", "domain", "ok.test", check=0)
        env.rcpt.wait_for_messages(2, timeout=20)
        time.sleep(1)
        assert env.sender.messages == []
        # vmta form: */{default} covers sender.test/{default}
        p = ctl(env, "resume", "vmta", "{default}", check=0)
        assert "2 queues resumed" in p.stdout
        env.sender.wait_for_messages(1, timeout=20)
        # pattern that matches nothing: fine with a wildcard
        p = ctl(env, "schedule", "*.nothing/*", check=0)
        assert "0 queues scheduled" in p.stdout


def test_delete_by_queue_without_and_with_dsn(tmp_path):
    with RelayEnv(tmp_path) as env:
        deliver_first(env)
        ctl(env, "pause", "queue", "ok.test", check=0)
        assert env.send(["d1@ok.test", "d2@ok.test"])[0] == 250
        wait_for(lambda: queue(env, "ok.test/{default}")["rcpt"] == 2,
                 timeout=10, what="queued")
        p = ctl(env, "delete", "--queue=ok.test/{default}", check=0)
        assert p.stdout.strip() == "2 recipients deleted"
        recs = env.wait_acct(lambda r: r["type"] == "b", what="b records")
        assert sorted(r["rcpt"] for r in recs) == ["d1@ok.test", "d2@ok.test"]
        for r in recs:
            assert r["dsnDiag"] == "deleted by administrator"
            assert r["dsnStatus"].startswith("5.0.0 ")
            assert r["dsnAction"] == "failed"
            assert r["bounceCat"] == "other"
            assert r["queue"] == "ok.test/{default}"
        assert queue(env, "ok.test/{default}")["rcpt"] == 0
        # with --dsn (and --no-accounting): a DSN, no further b record
        assert env.send(["d3@ok.test"])[0] == 250
        wait_for(lambda: queue(env, "ok.test/{default}")["rcpt"] == 1,
                 timeout=10, what="queued")
        time.sleep(QUIET)
        assert env.sender.messages == []  # the first delete sent no DSN
        p = ctl(env, "delete", "--queue=ok.test/{default}", "--dsn",
                "--no-accounting", check=0)
        assert p.stdout.strip() == "1 recipient deleted"
        env.sender.wait_for_messages(1, timeout=20)
        dsn = env.sender.messages[0]
        assert dsn.mail_from in ("", "<>")
        assert b"deleted by administrator" in dsn.data
        assert b"d3@ok.test" in dsn.data
        time.sleep(1)
        assert len([r for r in env.acct_records() if r["type"] == "b"]) == 2
        # the deleted recipients never come back
        assert env.daemon.stop() == 0
        env.daemon.start()
        time.sleep(QUIET)
        st = ctl_json(env, "status")["status"]
        assert st["queue"]["rcpt"] == 0
        assert delivered_to(env) == ["first@ok.test"]


def test_delete_by_job(tmp_path):
    with RelayEnv(tmp_path) as env:
        ctl(env, "pause", "job", "J9", check=0)
        assert env.send(["k1@ok.test", "k2@ok.test"],
                        headers={"X-Job": "J9"})[0] == 250
        assert env.send(["other@ok.test"], headers={"X-Job": "J8"})[0] == 250
        env.rcpt.wait_for_messages(1, timeout=20)
        wait_for(lambda: ctl_json(env, "list", "--job=J9")["total"] == 2,
                 timeout=10, what="J9 held")
        p = ctl(env, "delete", "--job=J9", check=0)
        assert p.stdout.strip() == "2 recipients deleted"
        time.sleep(QUIET)
        assert env.sender.messages == []
        assert ctl_json(env, "list", "--job=J9")["total"] == 0
        assert env.send(["k3@ok.test"], headers={"X-Job": "J9"})[0] == 250
        wait_for(lambda: ctl_json(env, "list", "--job=J9")["total"] == 1,
                 timeout=10, what="J9 held again")
        p = ctl(env, "delete", "--jobId=J9", "--dsn", check=0)
        assert p.stdout.strip() == "1 recipient deleted"
        env.sender.wait_for_messages(1, timeout=20)
        assert b"k3@ok.test" in env.sender.messages[0].data
        b = [r for r in env.acct_records() if r["type"] == "b"]
        assert sorted(r["rcpt"] for r in b) == ["k1@ok.test", "k2@ok.test",
                                                "k3@ok.test"]
        assert all(r["jobId"] == "J9" for r in b)
        assert env.daemon.stop() == 0
        env.daemon.start()
        time.sleep(QUIET)
        assert delivered_to(env) == ["other@ok.test"]
        assert ctl_json(env, "status")["status"]["queue"]["rcpt"] == 0


def test_schedule_retries_now(tmp_path):
    script = {"rcpt": [{"addr": "late@ok.test", "reply": "450 4.2.0 busy",
                        "first": 1}]}
    with RelayEnv(tmp_path, rcpt_script=script, retry="1h") as env:
        assert env.send(["late@ok.test"])[0] == 250
        env.wait_acct(lambda r: r["type"] == "t", what="t record")
        lst = ctl_json(env, "list", "--queue=ok.test/{default}")
        (r,) = lst["recipients"]
        assert r["state"] == "deferred" and r["attempts"] == 1
        assert r["nextAttempt"] > time.time() + 3000
        p = ctl(env, "schedule", "ok.test/{default}", check=0)
        assert "1 queue scheduled (1 deferred recipient retried now)" \
            in p.stdout
        env.rcpt.wait_for_messages(1, timeout=20)
        assert delivered_to(env) == ["late@ok.test"]


def test_set_queue_mode(tmp_path):
    with RelayEnv(tmp_path) as env:
        deliver_first(env)
        p = ctl(env, "set", "queue", "--mode=backoff", "ok.test/{default}",
                check=0)
        assert "1 queue set to backoff mode" in p.stdout
        assert queue(env, "ok.test/{default}")["mode"] == "backoff"
        p = ctl(env, "set", "queue", "--mode=normal", "*/*", check=0)
        assert "set to normal mode" in p.stdout
        assert queue(env, "ok.test/{default}")["mode"] == "normal"
        ctl(env, "set", "queue", "--mode=backoff", "nosuch.test/v", check=1)
        ctl(env, "set", "queue", "--mode=slow", "ok.test", check=2)


def test_reload_and_rotate(tmp_path):
    with RelayEnv(tmp_path) as env:
        deliver_first(env)
        ctl(env, "pause", "queue", "ok.test/{default}", check=0)
        p = ctl(env, "reload", check=0)
        assert "reloaded" in p.stdout
        assert queue(env, "ok.test/{default}")["paused"] is True  # survives
        # SIGHUP keeps it too
        env.daemon.signal(1)
        wait_for(lambda: env.daemon.log().count("reloaded") >= 2,
                 timeout=10, what="SIGHUP reload")
        assert queue(env, "ok.test/{default}")["paused"] is True
        good = open(env.daemon.conf).read()
        with open(env.daemon.conf, "a") as f:
            f.write("no-such-directive 1\n")
        p = ctl(env, "reload", check=1)
        assert "reload failed" in p.stderr and "sluice.conf:" in p.stderr
        with open(env.daemon.conf, "w") as f:
            f.write(good)
        p = ctl(env, "rotate", "acct", check=0)
        assert "rotated" in p.stdout


def test_errors_and_usage(tmp_path):
    with RelayEnv(tmp_path) as env:
        p = ctl(env, "pause", "queue", "nosuch.test/{default}", check=1)
        assert "no queue nosuch.test/{default}" in p.stderr
        p = ctl(env, "schedule", "nosuch.test/v", check=1)
        assert "no queue" in p.stderr
        p = ctl(env, "delete", "--queue=nosuch.test/v", check=1)
        assert "no queue" in p.stderr
        p = ctl(env, "pause", "queue", "a/b/c", check=1)
        assert "invalid queue" in p.stderr
        for args in (["pause"], ["pause", "queue"], ["delete"],
                     ["delete", "--dsn"], ["list", "--maxitems=x"],
                     ["rotate", "log"], ["schedule"], ["status", "--bogus"]):
            p = ctl(env, *args, check=2)
            assert "usage: sluice" in p.stderr, args
        p = subprocess.run([bin_path("sluice"), "pause", "--help"],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 0 and "pause queue DOMAIN[/VMTA]" in p.stdout
        p = subprocess.run([bin_path("sluice"), "--help"],
                           capture_output=True, text=True, timeout=10)
        for word in ("pause", "resume", "schedule", "delete", "list",
                     "reload", "rotate"):
            assert f"\n  {word} " in p.stdout, word
        # raw HTTP: JSON shape, methods, 404s
        code, body = api_http(env, "POST", "/pause?format=json",
                          body="queue=nosuch.test%2Fv")
        assert code == 404
        assert json.loads(body) == {"status": "error",
                                    "message": "no queue nosuch.test/v"}
        code, body = api_http(env, "POST", "/pause",
                          body="job=JX&format=json")
        assert code == 200 and json.loads(body)["status"] == "success"
        code, _ = api_http(env, "GET", "/pause?job=JX")
        assert code == 405
        code, _ = api_http(env, "POST", "/list")
        assert code == 405
        code, _ = api_http(env, "GET", "/nowhere")
        assert code == 404
        code, body = api_http(env, "POST", "/resume?format=json&job=JX",
                          headers={"Origin": "http://evil.test"})
        assert code == 403 and "127.0.0.1" in json.loads(body)["message"]


def test_http_mgmt_port_commands(tmp_path):
    port = free_port()
    with RelayEnv(tmp_path) as env:
        env.daemon.stop()
        with open(env.daemon.conf) as f:
            conf = f.read().replace("http-mgmt-port 0",
                                    f"http-mgmt-port {port}")
        with open(env.daemon.conf, "w") as f:
            f.write(conf)
        env.daemon.start()
        wait_for(lambda: "http listening" in env.daemon.log(), timeout=10,
                 what="http listener")
        code, body = api_http(env, "POST", "/pause", body="job=J5&format=json",
                          port=port)
        assert code == 200, body
        p = subprocess.run([bin_path("sluice"), "queues", "--json", "--port",
                            str(port)], capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 0 and json.loads(p.stdout)["pausedJobs"] == \
            ["J5"]
        p = subprocess.run([bin_path("sluice"), "resume", "job", "J5",
                            "--port", str(port)], capture_output=True,
                           text=True, timeout=10)
        assert p.returncode == 0, p.stderr
        # another loopback address may read but not command
        code, _ = api_http(env, "GET", "/queues", port=port,
                           source=("127.0.0.2", 0))
        assert code == 200
        code, body = api_http(env, "POST", "/pause", body="job=J6",
                              port=port, source=("127.0.0.2", 0))
        assert code == 403 and "127.0.0.1" in body
        assert ctl_json(env, "queues")["pausedJobs"] == []


def test_http_access_levels(tmp_path):
    """http-access: the first matching CIDR gives a TCP client its level
    (none: nothing, monitor: reads, operator/admin: commands too); an
    address no line matches gets none; the control socket is not
    subject to it."""
    port = free_port()
    extra = (f"http-mgmt-port {port}\n"
             "http-access 127.0.0.1 admin\n"
             "http-access 127.0.0.2 monitor,deny-logs\n"
             "http-access 127.0.0.3/32 none\n"
             "http-access 127.0.0.4/32 operator\n")
    with RelayEnv(tmp_path) as env:
        env.daemon.stop()
        with open(env.daemon.conf) as f:
            conf = f.read().replace("http-mgmt-port 0\n", extra)
        with open(env.daemon.conf, "w") as f:
            f.write(conf)
        env.daemon.start()
        wait_for(lambda: "http listening" in env.daemon.log(), timeout=10,
                 what="http listener")

        def call(method, url, src, body=None):
            return api_http(env, method, url, body=body, port=port,
                            source=(src, 0))[0]
        assert call("POST", "/pause", "127.0.0.1", "job=A1") == 200
        assert call("GET", "/queues", "127.0.0.2") == 200
        assert call("POST", "/pause", "127.0.0.2", "job=A2") == 403
        assert call("GET", "/status", "127.0.0.3") == 403
        assert call("POST", "/pause", "127.0.0.3", "job=A3") == 403
        assert call("GET", "/status", "127.0.0.4") == 200   # operator
        # operator, but commands only from 127.0.0.1 (see docs/api.md)
        assert call("POST", "/pause", "127.0.0.4", "job=A4") == 403
        assert call("GET", "/status", "127.0.0.5") == 403   # no line
        assert ctl_json(env, "queues")["pausedJobs"] == ["A1"]
        ctl(env, "resume", "job", "A1", check=0)
