"""`sluice acct` agrees with the operational notes' awk one-liners (mawk
and gawk, columns corrected for the 23-column layout) wherever awk is
correct: on a gen-acct file whose dsnDiag values hold no commas or quotes.
On a normal file (quoted dsnDiag with commas) awk's field split is wrong on
those lines while sluice still matches the csv-module reference."""
import collections
import subprocess

import pytest

from test_acct import GEN, TIMEOUT, jrun, reference, rows

SUMMARY = 'NR>1 {c[$1]++} END {print c["d"]+0, c["b"]+0, c["t"]+0}'
CODES = 'NR>1 && $1=="t" {codes[$8]++} END {for(c in codes) print codes[c] "\\t" c}'
IPS = ('NR>1 {ip=$15; if($1=="d") del[ip]++; if($1=="b") bnc[ip]++;'
       ' if($1=="t") def[ip]++; seen[ip]=1} END {for(ip in seen)'
       ' print ip "\\t" del[ip]+0 "\\t" bnc[ip]+0 "\\t" def[ip]+0}')
DIAG = 'NR>1 && $1=="t" {print substr($9,1,60)}'


def awk(prog, path, which):
    return subprocess.run([which, "-F,", prog, path], capture_output=True,
                          text=True, check=True, timeout=TIMEOUT).stdout


@pytest.fixture(scope="module")
def safe(tmp_path_factory):
    p = tmp_path_factory.mktemp("awk") / "safe.csv"
    subprocess.run([GEN, "--records", "15000", "--seed", "11", "--awk-safe",
                    "-o", str(p)], check=True, timeout=TIMEOUT)
    return str(p)


@pytest.mark.parametrize("which", ["mawk", "gawk"])
def test_awk_agreement(safe, which):
    d, b, t = map(int, awk(SUMMARY, safe, which).split())
    s = rows(jrun(["summary", safe]), "summary", "outcome")
    assert (s["delivered"]["count"], s["bounced"]["count"],
            s["deferred"]["count"]) == (d, b, t)

    want = {}
    for l in awk(CODES, safe, which).splitlines():
        n, code = l.split("\t", 1)
        want[code] = int(n)
    got = {r["status"]: r["deferred"] for r in
           jrun(["codes", safe, "--type", "t", "--top", "0"])["codes"]}
    assert got == want

    got = rows(jrun(["ips", safe, "--top", "0"]), "ips", "ip")
    for l in awk(IPS, safe, which).splitlines():
        ip, de, bn, df = l.split("\t")
        if ip == "0.0.0.0":
            continue                    # tq records only
        assert (got[ip]["delivered"], got[ip]["bounced"],
                got[ip]["deferred"]) == (int(de), int(bn), int(df)), ip

    want = collections.Counter(awk(DIAG, safe, which).splitlines())
    got = {r["pattern"]: r["count"] for r in jrun(
        ["diag", safe, "--type", "t", "--diag-prefix", "60", "--top", "0"]
    )["diag"]}
    assert got == dict(want)


def test_awk_wrong_on_quoted_commas_sluice_right(tmp_path):
    p = tmp_path / "quoted.csv"
    subprocess.run([GEN, "--records", "15000", "--seed", "12", "-o", str(p)],
                   check=True, timeout=TIMEOUT)
    types, ips, _ = reference(str(p))
    awk_ips = {}
    for l in awk(IPS, str(p), "mawk").splitlines():
        ip, de, bn, df = l.split("\t")
        awk_ips[ip] = (int(de), int(bn), int(df))
    ref = {ip: (c["d"], c["b"], c["t"]) for ip, c in ips.items()}
    assert awk_ips != ref               # awk mis-splits quoted dsnDiag
    got = rows(jrun(["ips", str(p), "--top", "0"]), "ips", "ip")
    for ip, (de, bn, df) in ref.items():
        if de + bn + df:
            assert (got[ip]["delivered"], got[ip]["bounced"],
                    got[ip]["deferred"]) == (de, bn, df)
