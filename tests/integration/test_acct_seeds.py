"""
test_acct_seeds.py -- the operator notes' awk one-liners, verbatim, on an
accounting file written by the real sluiced (default 23-field layout,
records d,b,t): which columns they read and whether the answers are right.

The one-liners are in tests/data/acct/seed-awk-oneliners.txt, copied from
/work/shared/seeds/ unchanged; only the file name is replaced. The
corrections documented in docs/accounting.md section 10 are the "fix-"
entries of tests/data/acct/seed-awk-fixes.txt; each must appear verbatim in
the document and give the right answer here. Every expectation is computed
from the same file read with Python's csv module, never typed in.

The daemon's run: deliveries to two domains, a 550 5.1.1 bounce, two
recipients deferred twice (451) then delivered, a DSN to the sender, and a
second virtual MTA with its own source IP (127.0.0.2). A snapshot of the
file is taken then ("clean": no dsnDiag holds a comma). Afterwards one
recipient is deferred with a reply containing a comma, and the whole file
("comma") shows what a plain -F, split does to such a line.
"""
import collections
import csv
import io
import os
import re
import subprocess

import pytest

from conftest import ROOT, wait_for
from relayenv import RelayEnv

DATA = os.path.join(ROOT, "tests", "data", "acct")
DOC = os.path.join(ROOT, "docs", "accounting.md")
SEED_PATHS = ("/var/log/pmta/accounting-YYYYMMDD.csv",
              "/var/log/pmta/accounting.csv", "accounting.csv")
FIX_PATH = "acct.csv"

SCRIPT = {"rcpt": [
    {"addr": "bad@ok.test", "reply": "550 5.1.1 no such user"},
    {"addr": "bad2@ok.test", "reply": "550 5.1.1 no such user"},
    {"re": r"^slow\d@ok\.test$", "first": 2, "reply": "451 4.3.0 try later"},
    {"addr": "comma@ok.test", "first": 1,
     "reply": "451 4.7.0 busy, try later"},
]}


def load(name):
    """{entry name: shell command} from a %%-separated data file."""
    entries, name_, lines = {}, None, []
    with open(os.path.join(DATA, name)) as f:
        for line in f.read().splitlines():
            if line.startswith("%% "):
                if name_:
                    entries[name_] = "\n".join(lines)
                name_, lines = line.split()[1], []
            elif name_:
                lines.append(line)
    if name_:
        entries[name_] = "\n".join(lines)
    return entries


SEEDS = load("seed-awk-oneliners.txt")
FIXES = load("seed-awk-fixes.txt")


def run(cmd, path, awk, tmp_path, paths=SEED_PATHS):
    """Run a one-liner with `awk` being mawk or gawk, on path."""
    for p in paths:                 # longest first: no partial replacement
        cmd = cmd.replace(p, path)
    bindir = tmp_path / f"bin-{awk}"
    if not bindir.exists():
        bindir.mkdir()
        os.symlink(f"/usr/bin/{awk}", bindir / "awk")
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", LC_ALL="C")
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                       env=env, timeout=30)
    return r


def out(cmd, path, awk, tmp_path, paths=SEED_PATHS):
    r = run(cmd, path, awk, tmp_path, paths)
    assert r.returncode == 0 and not r.stderr, (cmd, r.stderr)
    return r.stdout


def rows(path):
    with open(path, newline="") as f:
        data = list(csv.DictReader(io.StringIO(f.read())))
    return data


def dom(addr):
    return addr.split("@")[1] if "@" in addr else ""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("seeds")
    extra = (f"<acct-file {d}/seeds/acct.csv>\n    records d,b,t\n"
             "</acct-file>\n<virtual-mta v2>\n"
             "    smtp-source-host 127.0.0.2 v2.sluice.test\n"
             "</virtual-mta>\n")
    with RelayEnv(d, rcpt_script=SCRIPT, extra=extra) as env:
        env.send(["g1@ok.test", "g2@ok.test", "slow1@ok.test",
                  "slow2@ok.test"])
        env.send(["bad@ok.test"])
        env.send(["x1@sender.test", "x2@sender.test"])
        env.send(["g3@ok.test", "bad2@ok.test"],
                 headers={"X-Virtual-MTA": "v2"})
        path = os.path.join(d, "seeds")

        def text():
            names = os.listdir(path) if os.path.isdir(path) else []
            assert len(names) <= 1, names
            if not names:
                return None
            with open(os.path.join(path, names[0]), newline="") as f:
                return os.path.join(path, names[0]), f.read()

        def clean_done():
            t = text()
            if not t:
                return None
            recs = list(csv.DictReader(io.StringIO(t[1])))
            d_rcpts = {r["rcpt"] for r in recs if r["type"] == "d"}
            want = {"g1@ok.test", "g2@ok.test", "slow1@ok.test",
                    "slow2@ok.test", "x1@sender.test", "x2@sender.test",
                    "g3@ok.test", "alice@sender.test"}
            nb = sum(r["type"] == "b" for r in recs)
            # alice@sender.test: the DSNs for the two bounces
            nd = sum(r["rcpt"] == "alice@sender.test" for r in recs)
            return t if want <= d_rcpts and nb == 2 and nd == 2 else None
        real, clean_text = wait_for(clean_done, 30, what="clean records")
        clean = str(d / "clean.csv")
        with open(clean, "w", newline="") as f:
            f.write(clean_text)

        env.send(["comma@ok.test"])
        wait_for(lambda: any(r["rcpt"] == "comma@ok.test" and r["type"] == "d"
                             for r in rows(real)), 30,
                 what="comma@ok.test delivered")
    return {"clean": clean, "comma": real}


def t_rows(path):
    return [r for r in rows(path) if r["type"] == "t"]


def uniq_c(text):
    """`uniq -c` output -> {value: count}."""
    got = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\d+) (.*)$", line)
        assert m, line
        got[m.group(2)] = int(m.group(1))
    return got


def test_file_has_the_events(files):
    recs = rows(files["clean"])
    types = collections.Counter(r["type"] for r in recs)
    assert types["d"] == 9 and types["b"] == 2 and types["t"] == 4, types
    assert {r["dlvSourceIp"] for r in recs} == {"127.0.0.1", "127.0.0.2"}
    # The quoted EHLO list is in every record with a delivery attempt.
    assert all("," in r["dlvEsmtpAvailable"] for r in recs)
    assert all(r["orcpt"] == "" for r in recs)


@pytest.mark.parametrize("awk", ["mawk", "gawk"])
class TestAsWritten:
    def test_rate_by_type_right(self, files, awk, tmp_path):
        c = collections.Counter(r["type"] for r in rows(files["clean"]))
        total = c["d"] + c["b"] + c["t"]
        want = (f"Delivered: {c['d']} ({c['d'] / total * 100:.1f}%)\n"
                f"Bounced: {c['b']} ({c['b'] / total * 100:.1f}%)\n"
                f"Deferred: {c['t']}\n")
        assert out(SEEDS["001-1-rate-by-type"], files["clean"], awk,
                   tmp_path) == want

    def test_rate_by_ip_right(self, files, awk, tmp_path):
        recs = rows(files["clean"])
        want = set()
        for ip in {r["dlvSourceIp"] for r in recs if r["type"] == "d"}:
            n = collections.Counter(r["type"] for r in recs
                                    if r["dlvSourceIp"] == ip)
            want.add(f"{ip}: {n['d']} delivered, {n['b']} bounced")
        got = out(SEEDS["001-4-rate-by-ip"], files["clean"], awk, tmp_path)
        assert set(got.splitlines()) == want and len(want) == 2

    def test_per_ip_summary_right(self, files, awk, tmp_path):
        recs = rows(files["clean"])
        want = set()
        for ip in {r["dlvSourceIp"] for r in recs if r["type"] == "d"}:
            n = collections.Counter(r["type"] for r in recs
                                    if r["dlvSourceIp"] == ip)
            tot = n["d"] + n["b"] + n["t"]
            want.add(f"IP: {ip} | Delivered: {n['d']} | Bounce: "
                     f"{n['b'] / tot * 100:.1f}% | Deferral: "
                     f"{n['t'] / tot * 100:.1f}%")
        got = out(SEEDS["001-per-ip-summary"], files["clean"], awk, tmp_path)
        assert set(got.splitlines()) == want

    def test_deferral_codes_is_dsndiag(self, files, awk, tmp_path):
        want = collections.Counter(r["dsnDiag"] for r in t_rows(files["clean"]))
        got = out(SEEDS["001-3-deferral-codes"], files["clean"], awk, tmp_path)
        assert {tuple(line.split(" ", 1)[::-1]) for line in got.splitlines()} \
            == {(k, str(v)) for k, v in want.items()}

    def test_diag_prefix_reads_dsnmta(self, files, awk, tmp_path):
        """$10 is dsnMta; dsnDiag is $9."""
        t = t_rows(files["clean"])
        mta = collections.Counter(r["dsnMta"][:60] for r in t)
        diag = collections.Counter(r["dsnDiag"][:60] for r in t)
        assert mta != diag
        got = uniq_c(out(SEEDS["000-diag-prefix"], files["clean"], awk,
                         tmp_path))
        assert got == mta

    def test_diag_prefix_001_flattened_continuation(self, files, awk,
                                                     tmp_path):
        """As flattened in the seed, "| \\ sort" runs a command named
        " sort"; with the line continuation restored it is 000's $10."""
        cmd = SEEDS["001-diag-prefix"]
        r = run(cmd, files["clean"], awk, tmp_path)
        assert r.stdout == "" and "command not found" in r.stderr
        fixed = cmd.replace("| \\ sort", "| \\\nsort")
        mta = collections.Counter(r["dsnMta"][:60]
                                  for r in t_rows(files["clean"]))
        assert uniq_c(out(fixed, files["clean"], awk, tmp_path)) == mta

    def test_rate_by_isp_reads_orcpt(self, files, awk, tmp_path):
        """$6 is orcpt (empty without ORCPT=): every record lands under
        the empty domain; rcpt is $5."""
        recs = rows(files["clean"])
        d = sum(r["type"] == "d" for r in recs)
        b = sum(r["type"] == "b" for r in recs)
        got = out(SEEDS["001-2-rate-by-isp"], files["clean"], awk, tmp_path)
        assert got == f": {d / (d + b) * 100:.1f}% delivered\n"

    def test_quoted_comma_shifts_columns(self, files, awk, tmp_path):
        """A dsnDiag with a comma is quoted (RFC 4180); -F, splits it and
        every later column moves right by one on that line."""
        recs = rows(files["comma"])
        bad = [r for r in recs if "," in r["dsnDiag"]]
        assert len(bad) == 1 and bad[0]["type"] == "t"
        got = out(SEEDS["001-per-ip-summary"], files["comma"], awk, tmp_path)
        n = collections.Counter(r["type"] for r in recs
                                if r["dlvSourceIp"] == "127.0.0.1")
        tot = n["d"] + n["b"] + n["t"]
        right = (f"IP: 127.0.0.1 | Delivered: {n['d']} | Bounce: "
                 f"{n['b'] / tot * 100:.1f}% | Deferral: "
                 f"{n['t'] / tot * 100:.1f}%")
        assert right not in got.splitlines()
        assert "IP: 127.0.0.1 | " in got


@pytest.mark.parametrize("awk", ["mawk", "gawk"])
class TestFixes:
    def test_diag_prefix(self, files, awk, tmp_path):
        want = collections.Counter(r["dsnDiag"][:60]
                                   for r in t_rows(files["clean"]))
        got = uniq_c(out(FIXES["fix-diag-prefix"], files["clean"], awk,
                         tmp_path, (FIX_PATH,)))
        assert got == want

    def test_rate_by_isp(self, files, awk, tmp_path):
        recs = rows(files["clean"])
        want = set()
        for dm in {dom(r["rcpt"]) for r in recs if r["type"] == "d"}:
            n = collections.Counter(r["type"] for r in recs
                                    if dom(r["rcpt"]) == dm)
            want.add(f"{dm}: {n['d'] / (n['d'] + n['b']) * 100:.1f}% "
                     "delivered")
        got = out(FIXES["fix-rate-by-isp"], files["clean"], awk, tmp_path,
                  (FIX_PATH,))
        assert set(got.splitlines()) == want and len(want) == 2

    def test_deferral_status(self, files, awk, tmp_path):
        want = collections.Counter(r["dsnStatus"]
                                   for r in t_rows(files["clean"]))
        got = out(FIXES["fix-deferral-status"], files["clean"], awk,
                  tmp_path, (FIX_PATH,))
        assert {tuple(line.split(" ", 1)[::-1]) for line in got.splitlines()} \
            == {(k, str(v)) for k, v in want.items()}


def test_fpat_fix_reads_quoted_fields(files, tmp_path):
    """gawk FPAT splits RFC 4180 fields: the per-IP summary and the vmta
    column ($19, after the quoted dlvEsmtpAvailable) are right even on the
    line whose dsnDiag holds a comma."""
    recs = rows(files["comma"])
    want = set()
    for ip in {r["dlvSourceIp"] for r in recs if r["type"] == "d"}:
        n = collections.Counter(r["type"] for r in recs
                                if r["dlvSourceIp"] == ip)
        tot = n["d"] + n["b"] + n["t"]
        want.add(f"IP: {ip} | Delivered: {n['d']} | Bounce: "
                 f"{n['b'] / tot * 100:.1f}% | Deferral: "
                 f"{n['t'] / tot * 100:.1f}%")
    got = out(FIXES["fix-per-ip-summary-fpat"], files["comma"], "gawk",
              tmp_path, (FIX_PATH,))
    assert set(got.splitlines()) == want
    vm = collections.Counter(r["vmta"] for r in recs if r["type"] == "d")
    got = uniq_c(out(FIXES["fix-vmta-fpat"], files["comma"], "gawk",
                     tmp_path, (FIX_PATH,)))
    assert got == vm and set(vm) == {"{default}", "v2"}
    # The plain split reads a piece of the EHLO list there instead.
    plain = out("awk -F, 'NR>1 && $1==\"d\" {print $19}' acct.csv",
                files["comma"], "mawk", tmp_path, (FIX_PATH,))
    assert "v2" not in plain.split()


def test_fixes_are_documented_verbatim():
    with open(DOC) as f:
        doc = f.read()
    assert "## 10." in doc
    for name, cmd in FIXES.items():
        assert cmd in doc, f"{name} not verbatim in docs/accounting.md"
