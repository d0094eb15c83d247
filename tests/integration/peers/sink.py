"""peers.sink -- a scripted SMTP sink for tests (aiosmtpd), on 127.0.0.1.

It accepts connections on a free loopback port (port 0) in a background
thread (or as a separate process, see the end), records every connection
and every accepted message, and answers according to a script.

Recorded per message (`sink.messages`, a list of `Message`):
    mail_from, rcpt_tos (accepted only), data (bytes as delivered, dots
    already un-stuffed), peer_ip, ehlo (EHLO/HELO name), tls (bool),
    tls_version, received (time.time()), conn_id, mail_options.
Recorded per connection (`sink.connections`, a list of `Connection`):
    conn_id (1-based), peer_ip, ehlo, tls, raw (list of bytes chunks as
    received before TLS, for pipelining/dot-stuffing checks), commands
    (command lines in order, without data), rcpt_attempts, pipelined
    (True if one received chunk held more than one command).

Script (a dict; JSON-compatible, all keys optional)::

    {
      "greeting": "421 4.7.0 try later",      # every connection, or:
      "connections": {"1": {"greeting": "554 5.7.1 go away"}},
      "ehlo": "502 5.5.1 no EHLO",             # reject EHLO (HELO works)
      "pipelining": true,                      # advertise PIPELINING
      "starttls": true,                        # offer STARTTLS (needs cert)
      "mail": [RULE, ...],                     # matched on the sender
      "rcpt": [RULE, ...],                     # matched on each recipient
      "data": [RULE, ...],                     # matched on the first
                                               # accepted recipient
      "data_354_without_rcpts": false          # answer DATA with 354 even
                                               # when no RCPT was accepted
    }

A RULE matches by exact address ("addr": "a@x", case-insensitive) or by a
regular expression ("re": "^bad"), or always when neither is given, and
answers "reply" (e.g. "550 5.1.1 no such user", "450 4.2.0 busy",
"421 4.7.0 closing"). With "first": N the reply is used for the first N
attempts of that address only (counted across connections) and "then"
(default "250 2.1.5 OK") afterwards: "first N attempts 4xx then 250".
A 421 reply anywhere closes the connection after it is sent. The first
matching rule wins; no match means 250.

Usage::

    with SMTPSink({"rcpt": [{"addr": "bad@x.test", "reply": "550 5.1.1 no"}]}) as s:
        deliver_to("127.0.0.1", s.port)
        s.wait_for_messages(1)
        assert s.messages[0].rcpt_tos == ["good@x.test"]

TLS: SMTPSink(script, tls_cert=CERT, tls_key=KEY); `make_self_signed(dir)`
creates a throwaway pair with the openssl command.

As a process:
    python3 -m peers.sink --port-file F [--script JSON] [--tls-cert C
        --tls-key K] [--messages-file M]
(run with tests/integration as the working directory or on PYTHONPATH).
It writes the port to F once listening and appends one JSON object per
message to M; SIGTERM stops it.
"""

import asyncio
import dataclasses
import json
import os
import re
import ssl
import subprocess
import threading
import time

from aiosmtpd.smtp import SMTP

_ACCEPT_RCPT = "250 2.1.5 OK"
_ACCEPT_MAIL = "250 2.1.0 OK"
_ACCEPT_DATA = "250 2.0.0 queued"


@dataclasses.dataclass
class Message:
    mail_from: str
    rcpt_tos: list
    data: bytes
    peer_ip: str
    ehlo: str
    tls: bool
    tls_version: str
    received: float
    conn_id: int
    mail_options: list

    def as_json(self):
        d = dataclasses.asdict(self)
        d["data"] = self.data.decode("utf-8", "replace")
        return d


@dataclasses.dataclass
class Connection:
    conn_id: int
    peer_ip: str
    ehlo: str = None
    tls: bool = False
    raw: list = dataclasses.field(default_factory=list)
    commands: list = dataclasses.field(default_factory=list)
    rcpt_attempts: list = dataclasses.field(default_factory=list)
    pipelined: bool = False


def make_self_signed(directory, cn="sink.test"):
    """Create cert.pem/key.pem in directory (openssl CLI); return paths."""
    cert = os.path.join(str(directory), "cert.pem")
    key = os.path.join(str(directory), "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-subj", f"/CN={cn}", "-days", "2",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class _Rules:
    """Ordered reply rules with per-address attempt counters."""

    def __init__(self, rules, default):
        self.rules = rules or []
        self.default = default
        self.counts = {}

    def reply(self, addr):
        addr_l = (addr or "").lower()
        for i, rule in enumerate(self.rules):
            if "addr" in rule and rule["addr"].lower() != addr_l:
                continue
            if "re" in rule and not re.search(rule["re"], addr or ""):
                continue
            if "first" in rule:
                key = (i, addr_l)
                self.counts[key] = self.counts.get(key, 0) + 1
                if self.counts[key] > int(rule["first"]):
                    return rule.get("then", self.default)
            return rule.get("reply", self.default)
        return self.default


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    def _conn(self, server):
        return server._sink_conn

    def _maybe_close(self, server, status):
        if status.startswith("421"):
            server.loop.call_later(0.05, server.transport.close)

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        self._conn(server).ehlo = hostname
        if self.sink.script.get("ehlo"):
            return [self.sink.script["ehlo"]]
        if self.sink.script.get("pipelining", True):
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self._conn(server).ehlo = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        status = self.sink._mail.reply(address)
        if status.startswith("2"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        self._maybe_close(server, status)
        return status

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        self._conn(server).rcpt_attempts.append(address)
        status = self.sink._rcpt.reply(address)
        if status.startswith("2"):
            envelope.rcpt_tos.append(address)
        self._maybe_close(server, status)
        return status

    async def handle_DATA(self, server, session, envelope):
        if getattr(envelope, "_sink_fake", False):
            return "554 5.5.1 no valid recipients"
        status = self.sink._data.reply(envelope.rcpt_tos[0])
        if status.startswith("2"):
            conn = self._conn(server)
            self.sink._record(Message(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or b""),
                peer_ip=session.peer[0],
                ehlo=session.host_name,
                tls=session.ssl is not None,
                tls_version=(server.transport.get_extra_info("ssl_object")
                             .version() if session.ssl is not None else ""),
                received=time.time(),
                conn_id=conn.conn_id,
                mail_options=list(envelope.mail_options)))
        self._maybe_close(server, status)
        return status


class _SinkSMTP(SMTP):
    """aiosmtpd SMTP that records raw input and can fake 354."""

    def __init__(self, sink, conn, **kw):
        super().__init__(_Handler(sink), **kw)
        self._sink = sink
        self._sink_conn = conn

    def data_received(self, data):
        conn = self._sink_conn
        if self._tls_protocol is None:
            conn.raw.append(bytes(data))
        lines = [ln for ln in bytes(data).split(b"\r\n") if ln]
        if not getattr(self, "_sink_in_data", False):
            cmds = [ln for ln in lines if re.match(rb"^[A-Za-z]{4}", ln)]
            conn.commands.extend(c.decode("latin-1") for c in cmds)
            if len(cmds) > 1:
                conn.pipelined = True
        super().data_received(data)

    async def smtp_DATA(self, arg):
        fake = (not self.envelope.rcpt_tos and self.envelope.mail_from
                and self._sink.script.get("data_354_without_rcpts"))
        if fake:
            self.envelope.rcpt_tos.append("<none>")
            self.envelope._sink_fake = True
        self._sink_in_data = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self._sink_in_data = False
            if fake:
                self.envelope.rcpt_tos.clear()

    def connection_made(self, transport):
        super().connection_made(transport)
        if self._tls_protocol is not None:
            self._sink_conn.tls = True


class _Refuse(asyncio.Protocol):
    """Sends a refusing greeting, then closes after QUIT or 1 second."""

    def __init__(self, greeting):
        self.greeting = greeting

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.greeting.encode() + b"\r\n")
        self.handle = asyncio.get_event_loop().call_later(1.0,
                                                          transport.close)

    def data_received(self, data):
        if data.upper().startswith(b"QUIT"):
            self.transport.write(b"221 2.0.0 bye\r\n")
            self.transport.close()

    def connection_lost(self, exc):
        self.handle.cancel()


class SMTPSink:
    """Scripted SMTP sink on 127.0.0.1; see the module docstring."""

    def __init__(self, script=None, tls_cert=None, tls_key=None,
                 hostname="sink.test", address="127.0.0.1",
                 on_message=None):
        self.address = address
        self.hostname = hostname
        self.port = None
        self.messages = []
        self.connections = []
        self.on_message = on_message
        self._lock = threading.Lock()
        self._tls = None
        if tls_cert:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(tls_cert, tls_key)
        self.set_script(script or {})
        self._loop = None
        self._thread = None
        self._server = None

    def set_script(self, script):
        """Replace the script (attempt counters start again)."""
        self.script = dict(script)
        self._mail = _Rules(self.script.get("mail"), _ACCEPT_MAIL)
        self._rcpt = _Rules(self.script.get("rcpt"), _ACCEPT_RCPT)
        self._data = _Rules(self.script.get("data"), _ACCEPT_DATA)

    def _record(self, msg):
        with self._lock:
            self.messages.append(msg)
        if self.on_message:
            self.on_message(msg)

    def _protocol(self):
        with self._lock:
            conn_id = len(self.connections) + 1
            conn = Connection(conn_id=conn_id, peer_ip=None)
            self.connections.append(conn)
        per = self.script.get("connections", {}).get(str(conn_id), {})
        greeting = per.get("greeting", self.script.get("greeting"))
        if greeting:
            return _Refuse(greeting)
        tls = self._tls if self.script.get("starttls", True) else None
        proto = _SinkSMTP(self, conn, hostname=self.hostname,
                          tls_context=tls, loop=self._loop, timeout=60)
        orig = proto.connection_made

        def made(transport, _orig=orig, _conn=conn):
            if _conn.peer_ip is None:
                _conn.peer_ip = transport.get_extra_info("peername")[0]
            _orig(transport)
        proto.connection_made = made
        return proto

    def start(self):
        """Listen on a free loopback port and serve in a thread."""
        ready = threading.Event()
        errors = []

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._server = self._loop.run_until_complete(
                    self._loop.create_server(self._protocol, self.address,
                                             0))
                self.port = self._server.sockets[0].getsockname()[1]
            except Exception as e:  # reported to the caller
                errors.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10) or errors:
            raise RuntimeError(f"sink did not start: {errors}")
        return self

    def stop(self):
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = None

    def wait_for_messages(self, n, timeout=10.0):
        """Wait until at least n messages arrived; return the list."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.02)
        raise TimeoutError(f"sink: {len(self.messages)} of {n} messages")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _main():
    import argparse
    import signal

    ap = argparse.ArgumentParser(description="scripted SMTP sink")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--script", default="{}", help="JSON script")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--messages-file", help="append JSON lines here")
    ap.add_argument("--hostname", default="sink.test")
    args = ap.parse_args()
    out = open(args.messages_file, "a") if args.messages_file else None

    def on_message(msg):
        if out:
            out.write(json.dumps(msg.as_json()) + "\n")
            out.flush()

    sink = SMTPSink(json.loads(args.script), args.tls_cert, args.tls_key,
                    hostname=args.hostname, on_message=on_message).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{sink.port}\n")
    os.replace(args.port_file + ".tmp", args.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    sink.stop()


if __name__ == "__main__":
    _main()
