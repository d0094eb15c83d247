"""Reusable test peers for Sluice integration tests.

- peers.dnsserver.DNSServer: authoritative DNS server (dnslib) on 127.0.0.1,
  UDP+TCP on one free port, zone from a dict or zone text, SERVFAIL/REFUSED/
  timeout injection, per-name query counters.
- peers.sink.SMTPSink: scripted SMTP sink (aiosmtpd) on 127.0.0.1 that
  records every message and can be scripted per recipient / per connection;
  also runnable as a process: python3 -m peers.sink --port-file F --script J.

Import with tests/integration on sys.path (pytest's rootdir-relative
imports do this when the test file lives in tests/integration):

    from peers.dnsserver import DNSServer
    from peers.sink import SMTPSink
"""
