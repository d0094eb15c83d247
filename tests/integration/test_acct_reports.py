"""`sluice acct` report values checked against an independent computation
with Python's csv module: per-ISP time series, the ISP x IP matrix, the
vmta/job dimensions and filters, expired counts, alerts and trends.
Binary as in test_acct.py."""
import collections
import csv
import datetime

import pytest

from test_acct import gen, jrun, run, rows


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("acctr")
    return gen(d / "r.csv", "--records", "20000", "--seed", "11",
               "--crlf-diag", "0.1")


def epoch(s):
    if s.isdigit():
        return int(s)
    return int(datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S%z")
               .timestamp())


def records(path):
    """Each record as a dict by column name (header-driven)."""
    with open(path, newline="") as f:
        hdr = None
        for row in csv.reader(f):
            if row and row[0].lstrip("#") == "type":
                hdr = [n.lstrip("#") for n in row]
                continue
            yield dict(zip(hdr, row))


def domain(r):
    rcpt = r.get("rcpt", "")
    if "@" in rcpt:
        return rcpt.rsplit("@", 1)[1].lower()
    return r.get("queue", "").split("/")[0].lower()


def isp_of(path):
    j = jrun(["domains", path, "--top", "0"])
    return {r["domain"]: r["isp"] for r in j["domains"]}


@pytest.mark.parametrize("bucket,secs", [("1h", 3600), ("15m", 900)])
def test_isp_series_matches_csv_module(data, bucket, secs):
    isp = isp_of(data)
    ref = collections.defaultdict(collections.Counter)
    for r in records(data):
        if r["type"] in ("d", "b", "t"):
            b = epoch(r["timeLogged"]) // secs * secs
            ref[(isp[domain(r)], b)][r["type"]] += 1
    j = jrun(["series", data, "--bucket", bucket])
    got = {(r["isp"], r["epoch"]): r for r in j["isp_series"]}
    buckets = {r["epoch"] for r in j["series"]}
    assert len(buckets) == 24 * 3600 // secs
    # every ISP with attempts, every bucket of the period
    assert len(got) == len({k[0] for k in ref}) * len(buckets)
    for (name, b), row in got.items():
        c = ref.get((name, b), collections.Counter())
        att = c["d"] + c["b"] + c["t"]
        assert row["attempts"] == att, (name, b)
        assert row["delivered"] == c["d"], (name, b)
        assert row["deferred"] == c["t"], (name, b)
        assert row["bounced"] == c["b"], (name, b)
        if att:
            for k, t in (("deferral", "t"), ("bounce", "b"),
                         ("delivery", "d")):
                assert row[k + "_rate"] == pytest.approx(
                    100 * c[t] / att, abs=1e-3), (name, b, k)
        else:
            assert row["deferral_rate"] is None
    # the terminal table shows the top 4 ISPs only, and says so
    out = run(["series", data, "--bucket", bucket,
               "--no-progress"]).stdout.decode()
    nisp = len({k[0] for k in ref})
    assert "(top 4 of %d ISPs shown" % nisp in out
    part = out.split("Time series per ISP")[1]
    vol = collections.Counter()
    for (name, _), c in ref.items():
        vol[name] += c["d"] + c["b"] + c["t"]
    shown = [n for n, _ in vol.most_common()]
    assert "\n%s " % shown[0] in part and "\n%s " % shown[3] in part
    assert "\n%s " % shown[-1] not in part
    # CSV has every row too
    csvout = run(["series", data, "--bucket", bucket, "--csv",
                  "--no-progress"]).stdout.decode()
    sect = csvout.split("# isp_series\r\n")[1]
    assert len(sect.strip().split("\r\n")) == 1 + len(got)
