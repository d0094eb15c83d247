"""
test_systemd_unit.py -- etc/sluiced.service is a valid unit and matches the
daemon: `systemd-analyze verify` reports nothing (unknown keys and bad
values are warnings there, so any output fails), Type=simple with the
foreground daemon, ExecReload sends SIGHUP, the CLI's default socket lies
inside ReadWritePaths, and the daemon started the way ExecStart starts it
survives the ExecReload command and exits 0 on the unit's KillSignal.
"""
import os
import re
import shlex
import shutil
import signal
import subprocess
import time

import pytest

from conftest import ROOT, bin_path, wait_for
from relayenv import RelayEnv

UNIT = os.path.join(ROOT, "etc", "sluiced.service")


def service():
    keys = {}
    with open(UNIT) as f:
        section = None
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, v = line.split("=", 1)
            keys[(section, k)] = v
    return keys


def test_unit_keys():
    u = service()
    assert u[("Service", "Type")] == "simple"
    assert u[("Service", "ExecReload")] == "/bin/kill -HUP $MAINPID"
    assert u[("Service", "KillSignal")] == "SIGTERM"
    argv = shlex.split(u[("Service", "ExecStart")])
    assert os.path.basename(argv[0]) == "sluiced" and argv[1] == "-f"
    rw = u[("Service", "ReadWritePaths")].split()
    out = subprocess.run([bin_path("sluice"), "--help"], capture_output=True,
                         text=True, timeout=10)
    m = re.search(r"(/\S+)/sluiced\.sock", out.stdout + out.stderr)
    assert m, out
    assert m.group(1) in rw, (m.group(1), rw)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path):
    unit = tmp_path / "sluiced.service"
    with open(UNIT) as f:
        text = f.read()
    unit.write_text(text.replace("/usr/local/sbin/sluiced",
                                 bin_path("sluiced")))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r


def test_exec_reload_and_kill_signal(tmp_path):
    u = service()
    with RelayEnv(tmp_path) as env:
        pid = env.daemon.proc.pid
        reload = u[("Service", "ExecReload")].replace("$MAINPID", str(pid))
        subprocess.run(shlex.split(reload), check=True, timeout=10)
        wait_for(lambda: "reload" in env.daemon.log().lower(), timeout=10,
                 what="reload logged")
        time.sleep(0.3)
        assert env.daemon.proc.poll() is None, env.daemon.log()
        assert env.send(["after-reload@ok.test"])[0] == 250
        env.rcpt.wait_for_messages(1, timeout=20)
        env.daemon.signal(getattr(signal, u[("Service", "KillSignal")]))
        assert env.daemon.proc.wait(30) == 0, env.daemon.log()
        env.daemon.stop()                  # closes the log
