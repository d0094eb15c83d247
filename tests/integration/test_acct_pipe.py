"""`sluice acct` on a single compressed input or stdin with several threads:
one thread decompresses into blocks cut at record boundaries, the others
parse them (src/analyser/an_pipe.c). Every report, malformed-line
file:line and message must be those of --threads 1, whatever the block
size (--block-size), with quoted CRLF fields straddling block boundaries,
header changes, a headerless start whose layout guess is wrong in later
blocks, and malformed lines; memory stays bounded by the blocks in flight.
Binary as in test_acct.py."""
import csv
import gzip
import io
import json
import os
import subprocess

import pytest

from test_acct import ACCT, TIMEOUT, gen, rows

VOLATILE = ("seconds", "chunks_reparsed", "stream_blocks")


def body(path):
    """Records of a gen-acct file without its header line."""
    with open(path, "rb") as f:
        data = f.read()
    return data[data.index(b"\n") + 1:]


def quoted_record(header_line):
    """A deferral whose quoted dsnDiag holds 60 CRLFs, commas and quotes."""
    names = next(csv.reader([header_line.decode().strip()]))
    row = {"type": "t", "timeLogged": "2024-03-01 12:00:00+0000",
           "rcpt": "c@yahoo.com", "dsnStatus": "4.7.0",
           "dsnDiag": "smtp;421 a\r\n" + "\r\n".join(
               'line %d, "q" x' % i for i in range(60)),
           "dlvSourceIp": "192.0.2.9"}
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        [row.get(n, "") for n in names])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    """The input, as (name, file args, stdin bytes) for each way the
    pipeline is fed, its plain bytes and its number of header lines."""
    d = tmp_path_factory.mktemp("pipe")
    leg = gen(d / "leg.csv", "--records", "1500", "--seed", "11", "--legacy",
              "--crlf-diag", "0.3")
    new = gen(d / "new.csv", "--records", "2500", "--seed", "12",
              "--crlf-diag", "0.3", "--header-every", "400",
              "--other-types", "0.05")
    tail = gen(d / "tail.csv", "--records", "800", "--seed", "13",
               "--legacy", "--epoch-times")
    with open(new, "rb") as f:
        new_data = f.read()
    with open(tail, "rb") as f:
        tail_data = f.read()
    parsed = b"".join([
        body(leg),                    # no header: 22-column layout assumed
        b"zz,1709251200,a@gmail.com\r\n",
        # 23-column records, still no header: later blocks guess another
        # layout (cut before a record, not inside a quoted field)
        body(new)[:body(new).index(b"\nd,", 60000) + 1],
        b"d,notatime,b@gmail.com\r\n",
        new_data,                     # a header, repeated every 400 records
        quoted_record(new_data[:new_data.index(b"\n")]),
        b"q,1709251200,x\n",
        tail_data,                    # back to the 22-column header
        b"x\r\n"])
    headers = sum(1 for r in csv.reader(io.StringIO(parsed.decode(),
                                                    newline=""))
                  if r and r[0] in ("type", "#type"))
    data = parsed + (b't,1709270000,"unterminated\r\n'   # no closing quote
                     b"d,1709270001,e@gmail.com\r\n")
    gz = d / "m.csv.gz"
    gz.write_bytes(gzip.compress(data, 6))
    zst = d / "m.csv.zst"
    subprocess.run(["zstd", "-q", "-f", "-o", str(zst), "-"], input=data,
                   check=True, timeout=TIMEOUT)
    ways = [("gz", [str(gz)], None), ("zst", [str(zst)], None),
            ("stdin", [], data), ("stdin-gz", ["-"], gz.read_bytes())]
    return ways, data, headers


def run_acct(args, stdin=None, rc=(0, 3)):
    p = subprocess.run(ACCT + args + ["--no-progress"], input=stdin,
                       capture_output=True, timeout=TIMEOUT)
    err = p.stderr.decode(errors="replace")
    assert "runtime error" not in err and "Sanitizer" not in err, err
    assert p.returncode in rc, "rc %d: %s" % (p.returncode, err)
    return p.stdout, err


def stable(out):
    j = json.loads(out)
    for k in VOLATILE:
        j["meta"].pop(k)
    return j


REPORTS = [["summary"], ["ips"], ["diag", "--top", "0"],
           ["report", "--top", "0"]]


SERIAL = {}


def serial(name, args, stdin):
    """--threads 1 result, computed once per input and report."""
    key = (name, tuple(args))
    if key not in SERIAL:
        SERIAL[key] = run_acct(args + ["--threads", "1"], stdin)
    return SERIAL[key]


@pytest.mark.parametrize("block", ["1", "997", "65536"])
def test_two_threads_match_one(feeds, block):
    ways, data, headers = feeds
    for name, files, stdin in ways:
        for rep in REPORTS:
            args = rep + ["--json"] + files
            one, err1 = serial(name, args, stdin)
            two, err2 = run_acct(args + ["--threads", "2", "--block-size",
                                         block], stdin)
            assert stable(one) == stable(two), (name, rep)
            assert err1 == err2, (name, rep)
            assert json.loads(one)["meta"]["stream_blocks"] == 0
            if rep[0] != "report":
                continue
            j1, j2 = json.loads(one), json.loads(two)
            blocks = j2["meta"]["stream_blocks"]
            assert blocks >= (len(data) // 65536 if block == "65536"
                              else 1000), (name, blocks)
            # the headerless start: blocks of 23-column records guessed
            # their own layout and were re-read
            if block != "65536":
                assert j2["meta"]["chunks_reparsed"] >= 1, name
            assert j1["meta"]["headers"] == headers
            where = "(stdin)" if name.startswith("stdin") else files[0]
            bad = [(m["file"], m["line"]) for m in j1["malformed"]]
            assert len(bad) == 5 and {f for f, _ in bad} == {where}, bad
            assert "%s:1: no header line" % where in err1


def test_malformed_lines_keep_file_and_line(tmp_path):
    # line numbers count the physical lines of quoted CRLF fields
    hdr = "type,timeLogged,rcpt,dsnDiag,dlvSourceIp\r\n"
    rec = 't,1709251200,a@gmail.com,"421 try\r\nlater\r\n",1.1.1.1\r\n'
    text = hdr + rec * 50 + "zz,1,2,3,4\r\n" + rec * 50 + "d,bad,x,y,z\r\n"
    gz = tmp_path / "bad.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    want = [1 + 150 + 1, 1 + 150 + 1 + 150 + 1]
    for th, bs in (("1", "1"), ("2", "1"), ("2", "100"), ("2", "4096")):
        out, err = run_acct(["report", "--json", "--threads", th,
                             "--block-size", bs, str(gz)])
        assert [m["line"] for m in json.loads(out)["malformed"]] == want
        assert "%s:%d: unknown record type 'zz'" % (gz, want[0]) in err
        assert "%s:%d: bad timeLogged 'bad'" % (gz, want[1]) in err


def test_overlong_quoted_field_same_as_one_thread(tmp_path):
    # A quote never closed within 1 MiB: the parser skips that line only,
    # deciding on a 1 MiB window; no block may end inside that window.
    lines = [b"type,timeLogged,rcpt,dsnDiag,dlvSourceIp"] + [
        b"%s,%d,u%d@gmail.com,250 ok,192.0.2.%d" % (
            b"dt"[i % 7 == 0:][:1], 1709251200 + i, i, i % 9)
        for i in range(40000)]   # no quote anywhere to close the one below
    lines.insert(100, b't,1709251200,a@gmail.com,"never closed\r')
    data = b"\n".join(lines) + b"\n"
    assert len(data) > 3 * (1 << 20) // 2
    gz = tmp_path / "q.csv.gz"
    gz.write_bytes(gzip.compress(data))
    one, err1 = run_acct(["report", "--json", "--threads", "1", str(gz)])
    assert json.loads(one)["malformed"] == [{
        "file": str(gz), "line": 101,
        "message": "quoted field longer than 1 MiB (unterminated?)"}]
    for bs in ("1", "997", "65536"):
        two, err2 = run_acct(["report", "--json", "--threads", "2",
                              "--block-size", bs, str(gz)])
        assert stable(one) == stable(two) and err1 == err2, bs
        assert json.loads(two)["meta"]["stream_blocks"] > 1


def test_line_over_1mib_skipped_whole(tmp_path):
    # 9 MiB without a line break: longer than a block and than the
    # one-thread stream buffer; skipped as one line by every reader.
    lines = [b"type,timeLogged,rcpt,dsnDiag,dlvSourceIp"] + [
        b"d,%d,u%d@gmail.com,250 ok,192.0.2.1" % (1709251200 + i, i)
        for i in range(3000)]
    lines.insert(1000, b"d,1709251200,x@gmail.com," + b"A" * (9 << 20))
    plain = tmp_path / "l.csv"
    plain.write_bytes(b"\n".join(lines) + b"\n")
    gz = tmp_path / "l.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes(), 1))
    want = [{"file": str(gz), "line": 1001,
             "message": "line longer than 1 MiB"}]
    runs = [["--threads", "1"], ["--threads", "2"]] + [
        ["--threads", "2", "--block-size", bs] for bs in ("1", "300k")]
    for args in runs:
        out, _ = run_acct(["report", "--json", str(gz)] + args)
        j = json.loads(out)
        assert j["malformed"] == want, args
        assert j["meta"]["lines"] == 3002 and \
            j["meta"]["records"] == 3000, args
        if args[-2:] == ["--block-size", "1"]:
            # a record a block, and the long line in blocks of ~1 MiB
            assert j["meta"]["stream_blocks"] >= 3000 + 9, args
    out, _ = run_acct(["report", "--json", str(plain)])
    assert json.loads(out)["malformed"][0]["line"] == 1001


def test_block_size_values(tmp_path):
    gz = tmp_path / "v.csv.gz"
    gz.write_bytes(gzip.compress(b"type,timeLogged,rcpt\n"
                                 b"d,1709251200,a@gmail.com\n"))
    for bad in ("0", "5x", "-3", "2G", ""):
        p = subprocess.run(ACCT + ["summary", "--block-size", bad, str(gz)],
                           capture_output=True, timeout=TIMEOUT)
        assert p.returncode == 2, bad
        assert b"bad value for --block-size: '%s'" % bad.encode() in \
            p.stderr, bad
    for good in ("1", "64k", "2M", "1G"):
        out, _ = run_acct(["summary", "--json", "--block-size", good,
                           "--threads", "2", str(gz)])
        assert rows(json.loads(out), "summary",
                    "outcome")["delivered"]["count"] == 1, good


def test_truncated_gzip_same_records_as_one_thread(tmp_path):
    src = gen(tmp_path / "t.csv", "--records", "6000", "--seed", "6",
              "--crlf-diag", "0.2")
    with open(src, "rb") as f:
        comp = gzip.compress(f.read())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(comp[:len(comp) * 2 // 3])
    res = []
    for th in ("1", "2"):
        out, err = run_acct(["report", "--json", "--threads", th,
                             "--block-size", "5000", str(cut)], rc=(1,))
        assert "%s: truncated gzip data" % cut in err
        res.append(stable(out))
    assert res[0] == res[1]
    assert 0 < rows(res[0], "summary", "outcome")["records"]["count"] < 6000


def peak_rss_kb(args, tmp_path):
    """Peak RSS of one run, from /usr/bin/time (a child forked by this big
    Python process would count the parent's pages up to its exec)."""
    env = dict(os.environ)
    # an ASan build keeps freed blocks in quarantine; keep that small
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
        ":quarantine_size_mb=4"
    out = tmp_path / "rss"
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(out)] +
                       ACCT + args + ["--no-progress"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    err = p.stderr.decode(errors="replace")
    assert p.returncode in (0, 3) and "Sanitizer" not in err, err
    return int(out.read_text().split()[-1])


def test_blocks_in_flight_bound_memory(tmp_path):
    # 40 copies of a 1.5 MB file, gzip'd: the decompressing thread runs
    # ahead of the full report's parser; only a few 256 KiB blocks may wait.
    one = gen(tmp_path / "one.csv", "--records", "4000", "--seed", "9")
    with open(one, "rb") as f:
        data = f.read()
    big = data + body(one) * 39
    gz = tmp_path / "big.csv.gz"
    with gzip.open(gz, "wb", compresslevel=1) as g:
        g.write(big)
    args = ["report", "--json", str(gz), "--block-size", "262144"]
    serial = peak_rss_kb(args + ["--threads", "1"], tmp_path)
    piped = peak_rss_kb(args + ["--threads", "2"], tmp_path)
    assert (piped - serial) * 1024 < len(big) // 4, (serial, piped, len(big))
    out, _ = run_acct(args + ["--threads", "2"])
    j = json.loads(out)
    assert j["meta"]["stream_blocks"] >= len(big) // 262144
    assert rows(j, "summary", "outcome")["records"]["count"] == 40 * 4000
