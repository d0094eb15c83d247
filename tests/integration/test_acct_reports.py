"""`sluice acct` report values checked against an independent computation
with Python's csv module: per-ISP time series, the ISP x IP matrix, the
vmta/job dimensions and filters, expired counts, alerts and trends.
Binary as in test_acct.py."""
import collections
import csv
import datetime
import json

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


def ip_of(r):
    return r.get("dlvSourceIp") or "(none)"


def counts_by(path, key, pred=lambda r: True):
    ref = collections.defaultdict(collections.Counter)
    for r in records(path):
        if pred(r):
            ref[key(r)][r["type"]] += 1
    return ref


def check_dim(got, ref):
    """Attempts/delivered/deferred/bounced of report rows vs reference."""
    for k, c in ref.items():
        att = c["d"] + c["b"] + c["t"]
        if att == 0:
            assert k not in got or got[k]["attempts"] == 0, k
            continue
        g = got[k]
        assert (g["attempts"], g["delivered"], g["deferred"],
                g["bounced"]) == (att, c["d"], c["t"], c["b"]), k
        assert g["deferral_rate"] == pytest.approx(100 * c["t"] / att,
                                                   abs=1e-3), k
        assert g["bounce_rate"] == pytest.approx(100 * c["b"] / att,
                                                 abs=1e-3), k
    assert len([k for k, c in ref.items() if c["d"] + c["b"] + c["t"]]) \
        == len([g for g in got.values() if g["attempts"]])


def test_isp_ip_matrix_matches_csv_module(data):
    isp = isp_of(data)
    ref = counts_by(data, lambda r: (isp[domain(r)], ip_of(r)))
    j = jrun(["matrix", data, "--top", "0"])
    got = {(r["isp"], r["ip"]): r for r in j["matrix"]}
    check_dim(got, ref)


def test_vmta_and_job_sections_and_filters(data):
    j = jrun(["report", data, "--top", "0", "--section", "vmtas,jobs"])
    check_dim(rows(j, "vmtas", "vmta"), counts_by(data, lambda r: r["vmta"]))
    check_dim(rows(j, "jobs", "job"), counts_by(data, lambda r: r["jobId"]))
    for opt, col, val in (("--vmta", "vmta", "vmta-12"),
                          ("--job", "jobId", "job-0007")):
        ref = collections.Counter(r["type"] for r in records(data)
                                  if r[col] == val)
        assert ref["d"] > 0
        s = rows(jrun(["summary", data, opt, val]), "summary", "outcome")
        assert s["delivered"]["count"] == ref["d"], opt
        assert s["deferred"]["count"] == ref["t"], opt
        assert s["bounced"]["count"] == ref["b"], opt
        assert s["queue-deferred"]["count"] == ref["tq"], opt
    # both filters: the intersection
    both = [r for r in records(data)
            if r["vmta"] == "vmta-12" and r["jobId"] == "job-0007"]
    s = rows(jrun(["summary", data, "--vmta", "vmta-12", "--job",
                   "job-0007"]), "summary", "outcome")
    assert s["records"]["count"] == len(both)


def test_expired_counted_in_summary(data):
    exp = sum(1 for r in records(data) if r["type"] == "b" and (
        r["bounceCat"] == "message-expired" or
        r["dsnStatus"].startswith("4.")))
    bounced = sum(1 for r in records(data) if r["type"] == "b")
    assert 0 < exp < bounced
    s = rows(jrun(["summary", data]), "summary", "outcome")
    assert s["expired"]["count"] == exp
    assert s["bounced"]["count"] == bounced


def test_isp_on_one_ip_deferral_alerts_match_csv_module(data):
    isp = isp_of(data)
    ref = counts_by(data, lambda r: (isp[domain(r)], ip_of(r)))
    want = set()
    for (name, ip), c in ref.items():
        att = c["d"] + c["b"] + c["t"]
        if att >= 100 and 100 * c["t"] / att > 10:
            want.add("%s on %s" % (name, ip))
    assert "Gmail on 192.0.2.13" in want     # gen-acct's deferral burst
    j = jrun(["alerts", data])
    got = {a["subject"] for a in j["alerts"] if a["kind"] == "isp-ip-deferral"}
    assert got == want
    # a higher threshold silences them
    j = jrun(["alerts", data, "--threshold", "isp-ip-deferral=99"])
    assert not [a for a in j["alerts"] if a["kind"] == "isp-ip-deferral"]


def test_ip_without_deliveries_alerts_by_itself(tmp_path):
    hdr = "type,timeLogged,rcpt,dsnStatus,dsnDiag,dlvSourceIp\n"
    body = []
    for i in range(150):        # blocked: attempts, no delivery
        body.append("t,%d,u%d@gmail.com,4.7.0,421 4.7.0 blocked,10.9.9.9"
                    % (1709251200 + i, i))
    for i in range(150):        # one delivery among failures: sending
        body.append("%s,%d,u%d@gmail.com,4.7.0,421 try later,10.9.9.8"
                    % ("d" if i == 0 else "t", 1709251200 + i, i))
    for i in range(99):         # below min-volume: not judged
        body.append("t,%d,u%d@gmail.com,4.7.0,421 x,10.9.9.7"
                    % (1709251200 + i, i))
    for i in range(500):
        body.append("d,%d,v%d@yahoo.com,2.0.0,250 ok,10.9.9.1"
                    % (1709251200 + i, i))
    p = tmp_path / "z.csv"
    p.write_text(hdr + "\n".join(body) + "\n")
    r = run(["alerts", str(p), "--json", "--no-progress"], rc=3)
    al = json.loads(r.stdout)["alerts"]
    nodel = {a["subject"]: a for a in al if a["kind"] == "ip-no-delivery"}
    assert set(nodel) == {"10.9.9.9"}
    assert nodel["10.9.9.9"]["level"] == "critical"
    assert json.loads(r.stdout)["meta"]["max_alert_level"] == "critical"


def trend_file(tmp_path, fn):
    lines = ["type,timeLogged,timeQueued,rcpt,dsnStatus,dsnDiag,dlvSourceIp"]
    for h in range(9):
        for i in range(300):
            lines.append(fn(h, i, 1709251200 + h * 3600 + i))
    p = tmp_path / "trend.csv"
    p.write_text("\n".join(lines) + "\n")
    return str(p)


def test_trend_reason_shift_is_strict(tmp_path):
    # the same deferral rate all day, but greylisting early and reputation
    # blocks late: a reason shift, and no rising deferral rate
    def rec(h, i, t):
        if i % 10:
            return "d,%d,%d,u%d@gmail.com,2.0.0,250 ok,10.0.0.1" % (
                t, t - 5, i)
        diag = ("451 4.7.1 Greylisted, please try again later" if h < 3
                else "421 4.7.0 [TSS04] Messages from 10.0.0.1 deferred")
        return 't,%d,%d,u%d@gmail.com,4.7.1,"%s",10.0.0.1' % (
            t, t - 5, i, diag)
    j = jrun(["trends", trend_file(tmp_path, rec)])
    kinds = {(t["kind"], t["subject"]): t for t in j["trends"]}
    assert ("reason-shift", "reputation") in kinds
    assert ("reason-shift", "greylisting") in kinds
    rep = kinds[("reason-shift", "reputation")]
    assert rep["before"] == 0 and rep["after"] == 100
    assert not [k for k in kinds if k[0] == "deferral-rising"]
    assert ("queue-time-growing", "all") not in kinds


def test_trend_queue_time_growing(tmp_path):
    # deliveries queued 10 s early on, 20 min in the last third
    def rec(h, i, t):
        q = 10 if h < 6 else 1200
        return "d,%d,%d,u%d@gmail.com,2.0.0,250 ok,10.0.0.1" % (t, t - q, i)
    j = jrun(["trends", trend_file(tmp_path, rec)])
    kinds = {(t["kind"], t["subject"]): t for t in j["trends"]}
    assert list(kinds) == [("queue-time-growing", "all")]
    q = kinds[("queue-time-growing", "all")]
    assert q["unit"] == "s"
    assert 8 <= q["before"] <= 12 and 1000 <= q["after"] <= 1400
    # the same file with a constant queue time: no trend
    j = jrun(["trends", trend_file(
        tmp_path, lambda h, i, t: "d,%d,%d,u%d@gmail.com,2.0.0,250 ok,"
        "10.0.0.1" % (t, t - 10, i))])
    assert j["trends"] == []


@pytest.mark.parametrize("legacy", [False, True])
def test_receipt_fbl_remote_bounce_and_status_records(tmp_path, legacy):
    p = gen(tmp_path / "o.csv", "--records", "6000", "--seed", "4",
            "--other-types", "0.3", *(["--legacy"] if legacy else []))
    types = collections.Counter(r["type"] for r in records(p))
    for t in ("r", "f", "rb", "rs"):
        assert types[t] > 200, t
    j = jrun(["report", p, "--top", "0"])
    s = rows(j, "summary", "outcome")
    for name, t in (("delivered", "d"), ("bounced", "b"), ("deferred", "t"),
                    ("queue-deferred", "tq"), ("received", "r"),
                    ("feedback-loop", "f"), ("remote-bounce", "rb"),
                    ("remote-status", "rs")):
        assert s[name]["count"] == types[t], name
    assert s["records"]["count"] == sum(types.values())
    # rs carries a 4.x.x status and rb a bounceCat: neither is expired
    exp = sum(1 for r in records(p) if r["type"] == "b" and (
        r["bounceCat"] == "message-expired" or
        r["dsnStatus"].startswith("4.")))
    assert s["expired"]["count"] == exp
    # f records name a source IP: they are not delivery attempts there
    check_dim(rows(j, "ips", "ip"), counts_by(p, ip_of))
    isp = isp_of(p)
    # (legacy tq records have neither rcpt nor queue: no domain)
    check_dim(rows(j, "isps", "isp"), counts_by(
        p, lambda r: isp.get(domain(r), "(no domain)")))
    # bounceCat: b and rb counted in their own columns
    bc = collections.defaultdict(collections.Counter)
    for r in records(p):
        if r["bounceCat"]:
            bc[r["bounceCat"]][r["type"]] += 1
    got = rows(j, "bouncecat", "category")
    for cat, c in bc.items():
        assert got[cat]["bounced"] == c["b"], cat
        assert got[cat]["remote_bounced"] == c["rb"], cat
    assert sum(g["remote_bounced"] for g in got.values()) == types["rb"]
    # one thread or several chunks: the same
    many = jrun(["report", p, "--top", "0", "--threads", "4",
                 "--split-min", "1000"])
    for k in ("summary", "ips", "isps", "bouncecat", "diag", "codes"):
        assert many[k] == j[k], k
