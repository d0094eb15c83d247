"""peers.dnsserver -- a small authoritative DNS server for tests (dnslib).

It listens on 127.0.0.1, UDP and TCP on the same free port (port 0 probing),
in background threads, and answers from a zone given as a Python dict or as
simple zone text. Nothing else is ever contacted.

Zone as a dict (names are case-insensitive, a trailing dot is optional)::

    zone = {
        "example.com": {"MX": [(10, "mx1.example.com"), (20, "mx2.example.com")],
                        "ttl": 300},
        "mx1.example.com": {"A": ["127.0.0.1"], "AAAA": ["::1"]},
        "mx2.example.com": {"A": ["127.0.0.2"], "ttl": 60},
        "txt.example.com": {"TXT": ["v=spf1 -all"]},
        "nullmx.example": {"MX": [(0, ".")]},            # RFC 7505 null MX
        "broken.example": "SERVFAIL",                    # every type
        "slow.example": "TIMEOUT",                       # never answered
        "refusing.example": "REFUSED",
        "half.example": {"MX": [(10, "mx1.example.com")], "A": "SERVFAIL"},
    }

Records are lists; MX entries are (pref, host) tuples or "pref host"
strings; any record list may instead be one of the strings "SERVFAIL",
"TIMEOUT", "REFUSED" to fail only that type. "ttl" sets the TTL of every
record of the name (default 300). A name that is absent gets NXDOMAIN; a
name that exists without records of the asked type gets NODATA (NOERROR,
empty answer). Negative answers carry an SOA whose TTL/minimum is
`neg_ttl` (default 60).

Zone text: one record per line, "name [ttl] TYPE rdata", or "name SERVFAIL",
"name TIMEOUT", "name REFUSED"; '#' and ';' start comments::

    example.com 300 MX 10 mx1.example.com
    mx1.example.com A 127.0.0.1
    broken.example SERVFAIL

Usage::

    with DNSServer(zone) as dns:
        run_client("--server", f"127.0.0.1:{dns.port}")
        assert dns.query_count("example.com", "MX") == 1

`set(name, entry)` and `remove(name)` change the zone while running;
`reset_counts()` clears the counters; `queries` is the list of
(name, type) in arrival order.
"""

import socket
import socketserver
import threading

from dnslib import AAAA, MX, QTYPE, RCODE, RR, SOA, TXT, A, DNSLabel
from dnslib.server import DNSHandler, DNSServer as _LibServer

FAILURES = ("SERVFAIL", "TIMEOUT", "REFUSED")
_TYPES = {"A": A, "AAAA": AAAA, "MX": MX, "TXT": TXT}


class _Drop(Exception):
    """Raised by the resolver to send no answer at all (timeout)."""


class _QuietLogger:
    def __getattr__(self, name):
        return lambda *args, **kw: None


class _Handler(DNSHandler):
    def handle(self):
        try:
            super().handle()
        except _Drop:
            pass
        except (ConnectionError, OSError):
            pass


def _norm(name):
    return str(name).rstrip(".").lower()


def _parse_text(text):
    zone = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        name = _norm(parts[0])
        if len(parts) == 2 and parts[1].upper() in FAILURES:
            zone[name] = parts[1].upper()
            continue
        rest = parts[1:]
        entry = zone.setdefault(name, {})
        if not isinstance(entry, dict):
            raise ValueError(f"zone line {lineno}: {name} already failed")
        if rest and rest[0].isdigit():
            entry["ttl"] = int(rest[0])
            rest = rest[1:]
        if len(rest) < 2 or rest[0].upper() not in _TYPES:
            raise ValueError(f"zone line {lineno}: cannot parse {raw!r}")
        rtype, rdata = rest[0].upper(), " ".join(rest[1:])
        if rdata.upper() in FAILURES:
            entry[rtype] = rdata.upper()
        else:
            entry.setdefault(rtype, []).append(rdata)
    return zone


class _Resolver:
    def __init__(self, owner):
        self.owner = owner

    def resolve(self, request, handler):
        return self.owner._answer(request)


class DNSServer:
    """Authoritative test DNS server; see the module docstring."""

    def __init__(self, zone=None, neg_ttl=60, address="127.0.0.1"):
        self.address = address
        self.neg_ttl = neg_ttl
        self.port = None
        self.queries = []
        self._counts = {}
        self._lock = threading.Lock()
        self._zone = {}
        self._servers = []
        self._threads = []
        if isinstance(zone, str):
            zone = _parse_text(zone)
        for name, entry in (zone or {}).items():
            self.set(name, entry)

    # -- zone -------------------------------------------------------------
    def set(self, name, entry):
        """Add or replace a name (dict of records or a failure string)."""
        if isinstance(entry, str) and entry.upper() not in FAILURES:
            raise ValueError(f"unknown failure mode {entry!r}")
        with self._lock:
            self._zone[_norm(name)] = entry

    def remove(self, name):
        with self._lock:
            self._zone.pop(_norm(name), None)

    # -- counters ---------------------------------------------------------
    def query_count(self, name, qtype=None):
        """Queries received for name (any type, or one type like "MX")."""
        name = _norm(name)
        with self._lock:
            if qtype is not None:
                return self._counts.get((name, qtype.upper()), 0)
            return sum(n for (nm, _), n in self._counts.items() if nm == name)

    def reset_counts(self):
        with self._lock:
            self._counts.clear()
            self.queries.clear()

    # -- answering --------------------------------------------------------
    def _rr(self, qname, rtype, value, ttl):
        if rtype == "MX":
            if isinstance(value, str):
                pref, host = value.split(None, 1)
            else:
                pref, host = value
            return RR(qname, QTYPE.MX, ttl=ttl,
                      rdata=MX(DNSLabel(host if host != "." else ""),
                               int(pref)))
        if rtype == "TXT":
            return RR(qname, QTYPE.TXT, ttl=ttl, rdata=TXT(value))
        return RR(qname, getattr(QTYPE, rtype), ttl=ttl,
                  rdata=_TYPES[rtype](value))

    def _soa(self, qname):
        return RR(qname, QTYPE.SOA, ttl=self.neg_ttl,
                  rdata=SOA("ns.test.invalid", "hostmaster.test.invalid",
                            (1, 3600, 600, 86400, self.neg_ttl)))

    def _answer(self, request):
        qname = request.q.qname
        name = _norm(qname)
        qtype = QTYPE.get(request.q.qtype)
        with self._lock:
            self.queries.append((name, qtype))
            key = (name, qtype)
            self._counts[key] = self._counts.get(key, 0) + 1
            entry = self._zone.get(name)
        reply = request.reply()
        if entry is None:
            reply.header.rcode = RCODE.NXDOMAIN
            reply.add_auth(self._soa(qname))
            return reply
        records = entry if isinstance(entry, str) else entry.get(qtype, [])
        if isinstance(records, str):
            if records == "TIMEOUT":
                raise _Drop()
            reply.header.rcode = getattr(RCODE, records)
            return reply
        ttl = int(entry.get("ttl", 300))
        for value in records:
            reply.add_answer(self._rr(qname, qtype, value, ttl))
        if not records:
            reply.add_auth(self._soa(qname))
        return reply

    # -- life cycle -------------------------------------------------------
    def _make(self, kind, port):
        cls = (socketserver.ThreadingUDPServer if kind == "udp"
               else socketserver.ThreadingTCPServer)
        cls.allow_reuse_address = False
        srv = cls((self.address, port), _Handler)
        srv.daemon_threads = True
        srv.resolver = _Resolver(self)
        srv.logger = _QuietLogger()
        return srv

    def start(self):
        """Bind UDP and TCP on one free loopback port and serve."""
        last = None
        for _ in range(50):
            udp = self._make("udp", 0)
            port = udp.server_address[1]
            try:
                tcp = self._make("tcp", port)
            except OSError as e:
                last = e
                udp.server_close()
                continue
            self._servers = [udp, tcp]
            self.port = port
            break
        else:
            raise RuntimeError(f"dnsserver: no free port pair: {last}")
        for srv in self._servers:
            t = threading.Thread(target=srv.serve_forever,
                                 kwargs={"poll_interval": 0.05}, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._servers, self._threads = [], []

    @property
    def server(self):
        """"127.0.0.1:PORT", the form c-ares and Sluice's config take."""
        return f"{self.address}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


if __name__ == "__main__":
    import argparse
    import json
    import signal
    import sys

    ap = argparse.ArgumentParser(description="test DNS server")
    ap.add_argument("--zone-file", help="zone text file")
    ap.add_argument("--zone-json", help="zone as JSON (dict form)")
    ap.add_argument("--port-file", help="write the port here once ready")
    args = ap.parse_args()
    z = None
    if args.zone_file:
        with open(args.zone_file) as f:
            z = f.read()
    elif args.zone_json:
        z = json.loads(args.zone_json)
    srv = DNSServer(z).start()
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{srv.port}\n")
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print(srv.port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    srv.stop()
    sys.exit(0)
