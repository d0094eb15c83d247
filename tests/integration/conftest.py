"""
conftest.py -- shared pytest fixtures for Sluice integration tests.

Owned by the lead. Provides:
  build_dir / release_dir  -- where the binaries are (env SLUICE_BUILD, default ./build)
  bin_path(name)           -- path of a built program, skipping nothing: a missing
                              binary is a test failure
  free_port()              -- a free TCP port on 127.0.0.1 (probe, bind 0)
  Sluiced                  -- start/stop/kill the real daemon with a config text
  sluiced_factory          -- fixture creating Sluiced instances, all stopped at teardown
Every process started here is stopped at teardown, and each wait has a timeout.
Sanitizer reports in a daemon's stderr fail the test.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)  # so tests can `import peers`


def _build_dir():
    return os.environ.get("SLUICE_BUILD", os.path.join(ROOT, "build"))


@pytest.fixture(scope="session")
def build_dir():
    return _build_dir()


def bin_path(name, build=None):
    """Locate a built executable by name under the build tree."""
    build = build or _build_dir()
    for sub in ("src/daemon", "src/cli", "tests/harness", "src/smtpd",
                "src/smtpc", "src/dns", "src/dkim", "src/bounce",
                "src/analyser", "src/spool", ""):
        p = os.path.join(build, sub, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    for dirpath, _, files in os.walk(build):
        if name in files and os.access(os.path.join(dirpath, name), os.X_OK):
            return os.path.join(dirpath, name)
    raise FileNotFoundError(f"{name} not built under {build}")


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                          r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


class Sluiced:
    """The real daemon, started from a config text in its own directory."""

    def __init__(self, workdir, config_text, build=None, extra_args=()):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.conf = os.path.join(self.workdir, "sluice.conf")
        with open(self.conf, "w") as f:
            f.write(config_text)
        self.ports_file = os.path.join(self.workdir, "ports")
        self.log_path = os.path.join(self.workdir, "sluiced.log")
        self.binary = bin_path("sluiced", build)
        self.extra_args = list(extra_args)
        self.proc = None
        self.ports = []
        self.logs = []  # stderr of every run, for sanitizer checks

    def start(self, timeout=20.0):
        if os.path.exists(self.ports_file):
            os.unlink(self.ports_file)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "-f", self.conf, "--ports-file", self.ports_file,
             *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir,
            start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"sluiced exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with open(self.ports_file) as f:
                    txt = f.read()
            except FileNotFoundError:
                return False
            return txt if txt.endswith("\n") else False

        txt = wait_for(ready, timeout, what="sluiced ports file")
        self.ports = [line.strip() for line in txt.splitlines() if line.strip()]
        return self

    @property
    def port(self):
        """Port of the first SMTP listener ("smtp 127.0.0.1:PORT" lines)."""
        for line in self.ports:
            m = re.match(r"(?:smtp\s+)?\[?([0-9a-fA-F.:]+)\]?:(\d+)$", line)
            if m and not line.startswith("http"):
                return int(m.group(2))
        raise RuntimeError(f"no SMTP listener in ports file: {self.ports}")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout=30.0):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"sluiced did not stop on SIGTERM:\n{self.log()}")
        self._log.close()
        return self.proc.returncode

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()

    def check_sanitizers(self):
        m = SANITIZER_RE.search(self.log())
        if m:
            raise AssertionError(f"sanitizer report in sluiced log:\n{self.log()}")


@pytest.fixture
def sluiced_factory(tmp_path):
    made = []

    def make(config_text, name="sluiced", **kw):
        d = Sluiced(tmp_path / name, config_text, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        try:
            if d.proc and d.proc.poll() is None:
                d.stop()
        finally:
            d.check_sanitizers()
