"""`sluice acct` over many input files: memory bounded by distinct keys
(not by the number of files), no descriptor held per waiting input, glob
order, and damaged compressed inputs. Binary as in test_acct.py."""
import gzip
import json
import os
import resource
import subprocess

from test_acct import ACCT, TIMEOUT, gen, jrun, rows


def copies(tmp_path, n, name="f%d.csv", compress=None, records=30):
    one = gen(tmp_path / "one.csv", "--records", str(records), "--seed", "3")
    with open(one, "rb") as f:
        data = f.read()
    if compress:
        data = compress(data)
    d = tmp_path / "many"
    d.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        p = d / (name % i)
        p.write_bytes(data)
        paths.append(str(p))
    return one, paths


def maxrss_kb(args):
    """Peak RSS of one run of the analyser (its own rusage, via wait4)."""
    env = dict(os.environ)
    # an ASan build keeps freed blocks in quarantine; keep that small so
    # the figure reflects what the analyser holds
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
        ":quarantine_size_mb=4"
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(ACCT + args, stdout=null,
                             stderr=subprocess.PIPE, env=env)
        err = p.stderr.read().decode(errors="replace")
        _, status, ru = os.wait4(p.pid, 0)
    assert os.waitstatus_to_exitcode(status) in (0, 3), err
    assert "Sanitizer" not in err, err
    return ru.ru_maxrss


def test_memory_bounded_by_keys_not_files(tmp_path):
    # Same keys in every file: 3000 files must cost about what 300 cost.
    # (Each file's aggregate is ~95 KB before keys; held until the end, as
    # before, 2700 more files would add ~250 MB.)
    _, paths = copies(tmp_path, 3000)
    few = maxrss_kb(["report", "--no-progress", "--json"] + paths[:300])
    many = maxrss_kb(["report", "--no-progress", "--json", "--threads",
                      "2"] + paths)
    assert many - few < 100 * 1024, (few, many)
    one = rows(jrun(["summary", paths[0]]), "summary", "outcome")
    allf = rows(jrun(["summary"] + paths), "summary", "outcome")
    assert allf["records"]["count"] == 3000 * one["records"]["count"]


def test_many_gzip_files_under_low_fd_limit(tmp_path):
    one, paths = copies(tmp_path, 1500, "f%d.csv.gz", gzip.compress)

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    base = rows(jrun(["summary", one]), "summary", "outcome")
    for th in ("1", "2"):
        p = subprocess.run(ACCT + ["summary", "--json", "--no-progress",
                                   "--threads", th] + paths,
                           capture_output=True, timeout=TIMEOUT,
                           preexec_fn=low_nofile)
        err = p.stderr.decode(errors="replace")
        assert p.returncode == 0, err
        assert "Too many open files" not in err
        got = rows(json.loads(p.stdout), "summary", "outcome")
        for k in ("records", "delivered", "deferred", "bounced"):
            assert got[k]["count"] == 1500 * base[k]["count"], k


def test_glob_in_version_order(tmp_path):
    # one malformed line per file: the malformed list follows input order
    hdr = "type,timeLogged,rcpt,dlvSourceIp\n"
    for n in (1, 2, 10, 9):
        (tmp_path / ("acct.csv.%d" % n)).write_text(
            hdr + "d,1709251200,a@gmail.com,1.1.1.1\nzz%d,1,2,3\n" % n)
    j = jrun(["report", str(tmp_path / "acct.csv.*")])
    files = [os.path.basename(m["file"]) for m in j["malformed"]]
    assert files == ["acct.csv.1", "acct.csv.2", "acct.csv.9",
                     "acct.csv.10"]


def test_truncated_compressed_inputs_warn(tmp_path):
    src = gen(tmp_path / "t.csv", "--records", "20000", "--seed", "6")
    with open(src, "rb") as f:
        data = f.read()
    nrec = rows(jrun(["summary", src]), "summary",
                "outcome")["records"]["count"]
    z = subprocess.run(["zstd", "-q", "-c", src], capture_output=True,
                       check=True, timeout=TIMEOUT).stdout
    for name, comp, what in (("t.csv.gz", gzip.compress(data), "gzip"),
                             ("t.csv.zst", z, "zstd")):
        whole = tmp_path / name
        whole.write_bytes(comp)
        p = subprocess.run(ACCT + ["summary", "--no-progress", str(whole)],
                           capture_output=True, timeout=TIMEOUT)
        assert p.returncode == 0 and b"truncated" not in p.stderr
        cut = tmp_path / ("cut-" + name)
        cut.write_bytes(comp[:len(comp) * 2 // 3])
        p = subprocess.run(ACCT + ["summary", "--json", "--no-progress",
                                   str(cut)],
                           capture_output=True, timeout=TIMEOUT)
        err = p.stderr.decode()
        assert p.returncode == 1, err          # an input could not be read
        assert "%s: truncated %s data" % (cut, what) in err
        assert "Sanitizer" not in err and ": read:" not in err, err
        # what was read before the cut is still counted
        got = rows(json.loads(p.stdout), "summary",
                   "outcome")["records"]["count"]
        assert nrec // 3 < got < nrec
