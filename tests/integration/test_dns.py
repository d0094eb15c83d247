"""Integration tests for src/dns/ through dns-harness against peers.dnsserver.

Covers RFC 5321 §5.1 MX ordering and equal-preference shuffling, implicit
MX, RFC 7505 null MX, NXDOMAIN, no host, SERVFAIL and timeout as temporary
failures, the TTL cache (query counts at the server), AAAA, smtp-hosts
specs and cancellation.
"""

import os
import subprocess

import pytest

from peers.dnsserver import DNSServer


def _bin(name, subdir):
    build = os.environ.get("SLUICE_BUILD",
                           os.path.join(os.path.dirname(__file__), "..", "..",
                                        "build"))
    for cand in (os.path.join(build, subdir, name), os.path.join(build, name)):
        if os.access(cand, os.X_OK):
            return cand
    pytest.fail(f"{name} not built under {build}")


def resolve(dns, name, *args, timeout=30):
    """Run dns-harness; return a list of lookups (dicts)."""
    cmd = [_bin("dns-harness", "src/dns"), "--server", dns.server,
           *args, name]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    assert "Sanitizer" not in r.stderr, r.stderr
    assert "runtime error" not in r.stderr, r.stderr
    lookups, cur = [], None
    for line in r.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "lookup":
            cur = {"hosts": []}
        elif key in ("status", "error", "implicit"):
            cur[key] = rest
        elif key == "host":
            f = rest.split(" ")
            cur["hosts"].append({"name": f[0], "pref": int(f[2]),
                                 "port": int(f[4]),
                                 "addrs": f[6].split(",") if len(f) > 6
                                 and f[6] else []})
        elif key == "end":
            lookups.append(cur)
    return lookups


ZONE = {
    "example.test": {"MX": [(10, "a.mx.test"), (10, "b.mx.test"),
                            (10, "c.mx.test"), (20, "backup.mx.test"),
                            (5, "first.mx.test")], "ttl": 300},
    "a.mx.test": {"A": ["127.0.0.11"]},
    "b.mx.test": {"A": ["127.0.0.12"]},
    "c.mx.test": {"A": ["127.0.0.13"], "AAAA": ["::1"]},
    "backup.mx.test": {"A": ["127.0.0.20"]},
    "first.mx.test": {"A": ["127.0.0.5"]},
    "implicit.test": {"A": ["127.0.0.9"], "TXT": ["v=spf1 -all"]},
    "nullmx.test": {"MX": [(0, ".")]},
    "nohost.test": {"TXT": ["just text"]},
    "broken.test": "SERVFAIL",
    "slow.test": "TIMEOUT",
    "short.test": {"MX": [(10, "a.mx.test")], "ttl": 1},
    "halfbroken.test": {"MX": [(10, "dead.mx.test"), (20, "a.mx.test")]},
    "dead.mx.test": {"A": "SERVFAIL"},
    "alldead.test": {"MX": [(10, "dead.mx.test")]},
}


@pytest.fixture
def dns():
    with DNSServer(ZONE) as server:
        yield server


def test_mx_order_and_equal_pref_shuffled(dns):
    lookups = resolve(dns, "example.test", "--repeat", "40")
    assert len(lookups) == 40
    orders = set()
    for lk in lookups:
        assert lk["status"] == "OK" and lk["implicit"] == "0"
        prefs = [h["pref"] for h in lk["hosts"]]
        assert prefs == [5, 10, 10, 10, 20]
        assert lk["hosts"][0]["name"] == "first.mx.test"
        assert lk["hosts"][0]["addrs"] == ["127.0.0.5:25"]
        assert lk["hosts"][-1]["name"] == "backup.mx.test"
        group = tuple(h["name"] for h in lk["hosts"][1:4])
        assert sorted(group) == ["a.mx.test", "b.mx.test", "c.mx.test"]
        orders.add(group)
    # 40 draws of 6 permutations: all equal has probability 6^-39.
    assert len(orders) >= 2


def test_implicit_mx(dns):
    (lk,) = resolve(dns, "implicit.test")
    assert lk["status"] == "OK"
    assert lk["implicit"] == "1"
    assert [h["name"] for h in lk["hosts"]] == ["implicit.test"]
    assert lk["hosts"][0]["addrs"] == ["127.0.0.9:25"]


def test_null_mx(dns):
    (lk,) = resolve(dns, "nullmx.test")
    assert lk["status"] == "NULLMX"
    assert "null MX" in lk["error"]
    assert lk["hosts"] == []


def test_nxdomain(dns):
    (lk,) = resolve(dns, "nowhere.test")
    assert lk["status"] == "NXDOMAIN"
    assert "NXDOMAIN" in lk["error"] and "nowhere.test" in lk["error"]


def test_no_mx_no_address_is_nohost(dns):
    (lk,) = resolve(dns, "nohost.test")
    assert lk["status"] == "NOHOST"
    assert "nohost.test" in lk["error"]


def test_servfail_is_tempfail(dns):
    (lk,) = resolve(dns, "broken.test", "--timeout-ms", "300")
    assert lk["status"] == "TEMPFAIL"
    assert "broken.test" in lk["error"]


def test_timeout_is_tempfail(dns):
    (lk,) = resolve(dns, "slow.test", "--timeout-ms", "200", "--tries", "2")
    assert lk["status"] == "TEMPFAIL"
    assert dns.query_count("slow.test", "MX") >= 2


def test_mx_host_lookup_failure(dns):
    (lk,) = resolve(dns, "halfbroken.test", "--timeout-ms", "300")
    assert lk["status"] == "OK"
    assert [h["name"] for h in lk["hosts"]] == ["dead.mx.test", "a.mx.test"]
    assert lk["hosts"][0]["addrs"] == []
    (lk,) = resolve(dns, "alldead.test", "--timeout-ms", "300")
    assert lk["status"] == "TEMPFAIL"


def test_ttl_cache_sends_no_second_query(dns):
    lookups = resolve(dns, "example.test", "--repeat", "3")
    assert [lk["status"] for lk in lookups] == ["OK"] * 3
    assert dns.query_count("example.test", "MX") == 1
    for host in ("a.mx.test", "b.mx.test", "first.mx.test"):
        assert dns.query_count(host, "A") == 1
    # Negative answers are cached too (SOA minimum = 60 s).
    resolve(dns, "nowhere.test", "--repeat", "2")
    assert dns.query_count("nowhere.test", "MX") == 1


def test_ttl_expiry_queries_again(dns):
    lookups = resolve(dns, "short.test", "--repeat", "2",
                      "--delay-ms", "2100")
    assert [lk["status"] for lk in lookups] == ["OK", "OK"]
    assert dns.query_count("short.test", "MX") == 2


def test_tempfail_not_cached(dns):
    resolve(dns, "broken.test", "--repeat", "2", "--timeout-ms", "300",
            "--tries", "1")
    assert dns.query_count("broken.test", "MX") == 2


def test_ipv6_addresses(dns):
    (lk,) = resolve(dns, "example.test", "--ipv6")
    c = next(h for h in lk["hosts"] if h["name"] == "c.mx.test")
    assert c["addrs"] == ["127.0.0.13:25", "[::1]:25"]
    assert dns.query_count("c.mx.test", "AAAA") == 1


def test_smtp_hosts_spec(dns):
    spec = "a.mx.test, b.mx.test:2526; [127.0.0.99]:2525; " \
           "lookup-mx:implicit.test"
    (lk,) = resolve(dns, spec, "--hosts")
    assert lk["status"] == "OK"
    names = [h["name"] for h in lk["hosts"]]
    assert sorted(names[:2]) == ["a.mx.test", "b.mx.test"]
    assert names[2:] == ["127.0.0.99", "implicit.test"]
    assert [h["pref"] for h in lk["hosts"]] == [0, 0, 1, 2]
    b = next(h for h in lk["hosts"] if h["name"] == "b.mx.test")
    assert b["port"] == 2526 and b["addrs"] == ["127.0.0.12:2526"]
    assert lk["hosts"][2]["addrs"] == ["127.0.0.99:2525"]
    assert lk["hosts"][3]["addrs"] == ["127.0.0.9:25"]


def test_smtp_hosts_spec_errors(dns):
    (lk,) = resolve(dns, "a.mx.test,,b", "--hosts")
    assert lk["status"] == "NOHOST"
    assert lk["error"].startswith("smtp-hosts:")
    (lk,) = resolve(dns, "nowhere.test", "--hosts")
    assert lk["status"] == "NOHOST"


def test_cancel_suppresses_callback(dns):
    cmd = [_bin("dns-harness", "src/dns"), "--server", dns.server,
           "--cancel", "example.test"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["cancelled"]
    assert dns.query_count("example.test", "MX") == 1
