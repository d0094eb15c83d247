"""DKIM signing in the running daemon (src/daemon/dkim_cache.c, rules in
docs/dkim-signing.md): messages injected into sluiced over SMTP and received
by the sink (the recipient's MX) are checked with dkimpy, Mail::DKIM (RSA)
and opendkim through the offline wrappers used by test_dkim_verify.py.

Keys are made with `sluice dkim keygen`; the DNS TXT records go into the
verifiers' offline DNS file. Covered: RSA-2048, Ed25519, RSA+Ed25519 on one
message, author + ESP domain (dkim-esp-domain), "*" keys, the key directory,
which <domain>/<source> settings decide signing, the dkim-* settings, that
the signature covers the headers the daemon added and not the X- headers it
stripped, tampering, keys loaded at start (not per message), a bad key at
start (exit non-zero naming the file) and at SIGHUP (old config kept), and
the whole verification corpus of test_dkim_verify.py sent through the
daemon over SMTP (RSA and Ed25519, relaxed and simple, 63 recipients).
"""
import os
import re
import signal
import smtplib
import time

import pytest

import test_dkim_verify as tdv
from conftest import wait_for
from relayenv import RelayEnv

BRAND = "brand.test"
ESP = "esp.test"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """{name: (path, selector, domain)} plus 'dns' (offline DNS file)."""
    d = tmp_path_factory.mktemp("daemonkeys")
    lines, k = [], {}
    for name, dom, sel, extra in (
            ("rsa", BRAND, "rsa2048", ["--bits", "2048"]),
            ("ed", BRAND, "ed", ["--ed25519"]),
            ("esp", ESP, "esp1", ["--bits", "2048"]),
            ("dir", BRAND, "dirsel", ["--bits", "2048"])):
        kd = d / ("dir" if name == "dir" else "keys")
        out = tdv.run([tdv.DEV, "keygen", dom, sel, "--dir", str(kd)] + extra)
        rec, val = tdv.txt_value(out.stdout.decode())
        lines.append("%s %s" % (rec, val))
        k[name] = (str(kd / dom / (sel + ".pem")), sel, dom)
    k["keydir"] = str(d / "dir")
    dns = d / "dns.txt"
    dns.write_text("\n".join(lines) + "\n")
    k["dns"] = str(dns)
    return k


def domain_key(k):
    path, sel, dom = k
    return "domain-key %s,%s,%s\n" % (sel, dom, path)


def inject(env, rcpts, frm="Alice <alice@brand.test>", extra_headers=(),
           body="Hello,\r\nthis is a test.\r\n", mail_from="alice@brand.test",
           message_id=True, date=False):
    hdrs = ["From: %s" % frm, "To: %s" % ", ".join(rcpts),
            "Subject: dkim test"]
    if message_id:
        hdrs.append("Message-ID: <%d@brand.test>" % time.time_ns())
    if date:
        hdrs.append("Date: Thu, 01 Jan 2015 00:00:00 +0000")
    hdrs += list(extra_headers)
    msg = "\r\n".join(hdrs) + "\r\n\r\n" + body
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15) as s:
        s.ehlo("client.test")
        code, text = s.mail(mail_from)
        assert code == 250, text
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, text
        return s.data(msg.encode())


def delivered(env, n, tmp_path, name="got.eml"):
    """The n-th message at the ok.test sink, written to a file."""
    msgs = env.rcpt.wait_for_messages(n, timeout=20)
    raw = msgs[n - 1].data
    path = tmp_path / name
    path.write_bytes(raw)
    return raw, str(path)


def sigs(raw):
    return [re.sub(r"\s", "", s) for s in tdv.sig_headers(raw)]


def tag(sig, t):
    m = re.search(r"(?:^|;)%s=([^;]*)" % t, sig.split(":", 1)[1])
    return m and m.group(1)


def header_block(raw):
    return raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")


@pytest.fixture
def envs():
    made = []
    yield made
    for e in made:
        e.close()


def start(envs, tmp_path, extra, name="env"):
    env = RelayEnv(tmp_path / name, extra=extra)
    envs.append(env)
    return env.start()


SIGN_ALL = """
<domain *>
    dkim-sign yes
</domain>
<source 127.0.0.1>
    add-message-id-header yes
    add-date-header yes
</source>
<virtual-mta v1>
</virtual-mta>
"""


@pytest.mark.parametrize("which", [["rsa"], ["ed"], ["rsa", "ed"]],
                         ids=["rsa2048", "ed25519", "rsa+ed25519"])
def test_signed_and_verified(tmp_path, keys, envs, which):
    extra = "".join(domain_key(keys[w]) for w in which) + SIGN_ALL
    env = start(envs, tmp_path, extra)
    code, _ = inject(env, ["bob@ok.test"], message_id=False,
                     extra_headers=["X-Virtual-MTA: v1", "X-Job: job42"])
    assert code == 250
    raw, path = delivered(env, 1, tmp_path)
    hdr = header_block(raw)
    # X- headers were processed and stripped before signing ...
    assert "X-Virtual-MTA" not in hdr and "X-Job" not in hdr
    # ... and the signature covers what the daemon added.
    assert re.search(r"^Message-Id: <", hdr, re.M | re.I)
    assert re.search(r"^Date: ", hdr, re.M)
    s = sigs(raw)
    assert len(s) == len(which)
    algs = {"rsa": "rsa-sha256", "ed": "ed25519-sha256"}
    assert [tag(x, "a") for x in s] == [algs[w] for w in which]
    for x in s:
        assert tag(x, "d") == BRAND
        h = tag(x, "h").lower().split(":")
        assert "message-id" in h and "date" in h and "x-job" not in h
    tdv.assert_all_pass(keys["dns"], path, nsig=len(which))
    # The accounting still has the job and vmta taken from the headers.
    rec = env.wait_acct(lambda r: r["type"] == "d")[0]
    assert rec["jobId"] == "job42" and rec["vmta"] == "v1"
    # A tampered delivered copy fails everywhere.
    bad = tmp_path / "tampered.eml"
    bad.write_bytes(raw.replace(b"this is a test.", b"this is a tesT.", 1))
    tdv.assert_all_fail(keys["dns"], str(bad), nsig=len(which))
    bad2 = tmp_path / "tampered2.eml"
    bad2.write_bytes(raw.replace(b"Subject: dkim test", b"Subject: dkim tesT", 1))
    tdv.assert_all_fail(keys["dns"], str(bad2), nsig=len(which))


def test_author_and_esp_signatures(tmp_path, keys, envs):
    extra = domain_key(keys["rsa"]) + SIGN_ALL.replace(
        "<virtual-mta v1>\n", "<virtual-mta v1>\n    %s    dkim-esp-domain %s\n"
        % (domain_key(keys["esp"]), ESP))
    env = start(envs, tmp_path, extra)
    inject(env, ["bob@ok.test"], extra_headers=["X-Virtual-MTA: v1"])
    raw, path = delivered(env, 1, tmp_path)
    s = sigs(raw)
    assert [(tag(x, "d"), tag(x, "s")) for x in s] == [
        (BRAND, "rsa2048"), (ESP, "esp1")]
    tdv.assert_all_pass(keys["dns"], path, nsig=2)
    # Not through v1: the author signature only.
    inject(env, ["carol@ok.test"])
    raw, path = delivered(env, 2, tmp_path, "second.eml")
    assert [tag(x, "d") for x in sigs(raw)] == [BRAND]
    tdv.assert_all_pass(keys["dns"], path)
    # Author domain without a key: the ESP signature alone.
    inject(env, ["dave@ok.test"], frm="x@nokey.test", mail_from="x@nokey.test",
           extra_headers=["X-Virtual-MTA: v1"])
    raw, path = delivered(env, 3, tmp_path, "third.eml")
    assert [tag(x, "d") for x in sigs(raw)] == [ESP]
    tdv.assert_all_pass(keys["dns"], path)


def test_sender_header_and_wildcard_key(tmp_path, keys, envs):
    """The Sender domain wins over From's (PowerMTA); a "*" key signs with
    the author's domain as d=."""
    path, sel, _ = keys["rsa"]
    extra = "domain-key %s,*,%s\n" % (sel, path) + SIGN_ALL
    env = start(envs, tmp_path, extra)
    inject(env, ["bob@ok.test"], frm="someone@other.test",
           mail_from="bounce@other.test",
           extra_headers=["Sender: Mailer <mailer@brand.test>"])
    raw, path = delivered(env, 1, tmp_path)
    assert [(tag(x, "d"), tag(x, "s")) for x in sigs(raw)] == [(BRAND, sel)]
    tdv.assert_all_pass(keys["dns"], path)


def test_key_directory_pickup(tmp_path, keys, envs):
    """dkim-key-directory DIR: DIR/<domain>/<selector>.pem for the From
    domain or its nearest parent, no domain-key line needed."""
    extra = "dkim-key-directory %s\n" % keys["keydir"] + SIGN_ALL
    env = start(envs, tmp_path, extra)
    inject(env, ["bob@ok.test"])
    inject(env, ["bob@ok.test"], frm="news@mail.brand.test",
           mail_from="news@mail.brand.test")
    inject(env, ["bob@ok.test"], frm="x@nokey.test", mail_from="x@nokey.test")
    env.rcpt.wait_for_messages(3, timeout=20)
    by_from = {}
    for i in (1, 2, 3):
        raw, path = delivered(env, i, tmp_path, "m%d.eml" % i)
        frm = re.search(r"^From: (.*)$", header_block(raw), re.M).group(1)
        by_from[frm.strip()] = (raw, path)
    for frm in ("Alice <alice@brand.test>", "news@mail.brand.test"):
        raw, path = by_from[frm]
        assert [(tag(x, "d"), tag(x, "s")) for x in sigs(raw)] == [
            (BRAND, "dirsel")]
        tdv.assert_all_pass(keys["dns"], path)
    assert sigs(by_from["x@nokey.test"][0]) == []


SETTINGS = """
<domain ok.test>
    dkim-sign yes
    dkim-headers-canon simple
    dkim-body-canon simple
    dkim-headers from:to:subject:message-id
    dkim-identity news@brand.test
    dkim-expire-after 2h
</domain>
"""


def test_which_settings_apply(tmp_path, keys, envs):
    """<domain> dkim-sign is honoured if ANY recipient's domain says yes;
    the dkim-* settings come from that domain; <source> dkim-sign signs
    regardless of the recipients."""
    extra = domain_key(keys["rsa"]) + SETTINGS + """
<source 127.0.0.2>
    always-allow-relaying yes
    dkim-sign yes
</source>
"""
    env = start(envs, tmp_path, extra)
    # sender.test alone: <domain sender.test> has no dkim-sign -> unsigned
    inject(env, ["x@sender.test"])
    got = env.sender.wait_for_messages(1, timeout=20)[0].data
    assert tdv.sig_headers(got) == []
    # sender.test first, ok.test second: signed, with ok.test's settings
    inject(env, ["y@sender.test", "bob@ok.test"])
    raw, path = delivered(env, 1, tmp_path)
    (s,) = sigs(raw)
    assert tag(s, "c") == "simple/simple"
    assert tag(s, "h") == "from:to:subject:message-id"
    assert tag(s, "i") == "news@brand.test"
    assert int(tag(s, "x")) - int(tag(s, "t")) == 7200
    tdv.assert_all_pass(keys["dns"], path)
    got = env.sender.wait_for_messages(2, timeout=20)[1].data
    assert len(tdv.sig_headers(got)) == 1      # one signed copy for both
    # From a source with dkim-sign yes: signed even to sender.test
    hdrs = "From: alice@brand.test\r\nTo: z@sender.test\r\nSubject: s\r\n\r\nhi\r\n"
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15,
                      source_address=("127.0.0.2", 0)) as c:
        c.sendmail("alice@brand.test", ["z@sender.test"], hdrs.encode())
    got = env.sender.wait_for_messages(3, timeout=20)[2].data
    assert len(tdv.sig_headers(got)) == 1
    p = tmp_path / "src.eml"
    p.write_bytes(got)
    tdv.assert_all_pass(keys["dns"], str(p))


def test_keys_loaded_at_start_not_per_message(tmp_path, keys, envs):
    kd = tmp_path / "k"
    kd.mkdir()
    copy = kd / "brand.pem"
    copy.write_bytes(open(keys["rsa"][0], "rb").read())
    extra = "domain-key rsa2048,%s,%s\n" % (BRAND, copy) + SIGN_ALL
    env = start(envs, tmp_path, extra)
    copy.unlink()                      # gone after start: still signs
    inject(env, ["bob@ok.test"])
    raw, path = delivered(env, 1, tmp_path)
    assert len(sigs(raw)) == 1
    tdv.assert_all_pass(keys["dns"], path)


@pytest.mark.parametrize("kind", ["missing", "garbage", "keydir", "rsa512"])
def test_bad_key_is_a_start_error(tmp_path, keys, kind):
    bad = tmp_path / "bad.pem"
    if kind == "rsa512":
        tdv.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                 "rsa_keygen_bits:512", "-out", str(bad)])
    if kind == "garbage":
        bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n"
                       "-----END PRIVATE KEY-----\n")
    if kind == "keydir":
        d = tmp_path / "kd" / BRAND
        d.mkdir(parents=True)
        bad = d / "s1.pem"
        bad.write_text("garbage\n")
        extra = "dkim-key-directory %s\n" % (tmp_path / "kd")
    else:
        extra = "domain-key s1,%s,%s\n" % (BRAND, bad)
    env = RelayEnv(tmp_path / "env", extra=extra + SIGN_ALL)
    try:
        with pytest.raises(RuntimeError) as ei:
            env.daemon.start(timeout=20)
        assert env.daemon.proc.returncode not in (0, None)
        assert str(bad) in str(ei.value), str(ei.value)
        line = [ln for ln in env.daemon.log().splitlines() if str(bad) in ln][0]
        assert ("cannot open key file" in line if kind == "missing"
                else "s1" in line), line
        if kind == "rsa512":
            assert "RSA key has 512 bits; DKIM keys must have 1024-4096" \
                in line, line
    finally:
        env.rcpt.stop()
        env.sender.stop()
        env.dns.stop()
        env.daemon.check_sanitizers()


def test_sighup_with_bad_key_keeps_old_config(tmp_path, keys, envs):
    extra = domain_key(keys["rsa"]) + SIGN_ALL
    env = start(envs, tmp_path, extra)
    bad = tmp_path / "bad.pem"
    bad.write_text("garbage\n")
    conf = open(env.daemon.conf).read()
    with open(env.daemon.conf, "w") as f:
        f.write(conf.replace(domain_key(keys["rsa"]),
                             "domain-key rsa2048,%s,%s\n" % (BRAND, bad)))
    env.daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in env.daemon.log(), 10,
             what="reload failure logged")
    log = env.daemon.log()
    assert str(bad) in log.split("reload failed", 1)[1].splitlines()[0]
    assert env.daemon.proc.poll() is None
    inject(env, ["bob@ok.test"])
    raw, path = delivered(env, 1, tmp_path)
    assert [tag(x, "s") for x in sigs(raw)] == ["rsa2048"]
    tdv.assert_all_pass(keys["dns"], path)
    # A good reload switches keys (Ed25519 now).
    with open(env.daemon.conf, "w") as f:
        f.write(conf.replace(domain_key(keys["rsa"]), domain_key(keys["ed"])))
    env.daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in env.daemon.log(), 10, what="reload")
    inject(env, ["bob@ok.test"])
    raw, path = delivered(env, 2, tmp_path, "after.eml")
    assert [tag(x, "a") for x in sigs(raw)] == ["ed25519-sha256"]
    tdv.assert_all_pass(keys["dns"], path)


def test_vmta_level_domain_dkim_sign(tmp_path, keys, envs):
    """dkim-sign per <virtual-mta>, PowerMTA-style: a <domain> block inside
    the vmta turns signing on for mail routed through it only."""
    extra = domain_key(keys["rsa"]) + """
<domain *>
    dkim-sign no
</domain>
<virtual-mta signing>
    <domain *>
        dkim-sign yes
    </domain>
</virtual-mta>
<virtual-mta plain>
</virtual-mta>
"""
    env = start(envs, tmp_path, extra)
    assert inject(env, ["a@ok.test"], extra_headers=["X-Virtual-MTA: plain"])[0] == 250
    raw, _ = delivered(env, 1, tmp_path, "plain.eml")
    assert tdv.sig_headers(raw) == []
    assert inject(env, ["b@ok.test"], extra_headers=["X-Virtual-MTA: signing"])[0] == 250
    raw, path = delivered(env, 2, tmp_path, "signed.eml")
    assert len(sigs(raw)) == 1
    tdv.assert_all_pass(keys["dns"], path)


# ------------------------------------------------- the verification corpus

CORPUS_DOMAIN = "example.org"      # the From domain of every corpus message


@pytest.fixture(scope="module")
def corpus_keys(tmp_path_factory):
    """{'rsa'|'ed25519': (path, selector, domain)}, 'dns': file."""
    d = tmp_path_factory.mktemp("corpuskeys")
    lines, k = [], {}
    for alg, sel, extra in (("rsa", "crsa", ["--bits", "2048"]),
                            ("ed25519", "ced", ["--ed25519"])):
        out = tdv.run([tdv.DEV, "keygen", CORPUS_DOMAIN, sel, "--dir",
                       str(d)] + extra)
        rec, val = tdv.txt_value(out.stdout.decode())
        lines.append("%s %s" % (rec, val))
        k[alg] = (str(d / CORPUS_DOMAIN / (sel + ".pem")), sel, CORPUS_DOMAIN)
    (d / "dns.txt").write_text("\n".join(lines) + "\n")
    k["dns"] = str(d / "dns.txt")
    return k


@pytest.fixture(scope="module")
def corpus_envs(tmp_path_factory, corpus_keys):
    """One running sluiced per (alg, canon), started on first use."""
    made = {}

    def get(alg, canon):
        if (alg, canon) not in made:
            extra = domain_key(corpus_keys[alg]) + """
<domain *>
    dkim-sign yes
    dkim-headers-canon %s
    dkim-body-canon %s
</domain>
""" % (canon, canon)
            env = RelayEnv(tmp_path_factory.mktemp("corpus-%s-%s" % (alg, canon)),
                           extra=extra)
            made[(alg, canon)] = env
            env.start()
        return made[(alg, canon)]
    yield get
    for env in made.values():
        env.close()


def copies_of(sink, msgid, nrcpt, timeout=30):
    """Every delivered transaction carrying msgid, once all nrcpt
    recipients have been delivered."""
    def got():
        c = [m for m in list(sink.messages) if msgid in m.data]
        return c if sum(len(m.rcpt_tos) for m in c) >= nrcpt else False
    return wait_for(got, timeout, what="%d recipients of %r" % (nrcpt, msgid))


MANY = ["r%03d@ok.test" % i for i in range(60)] + \
    ["s%d@sender.test" % i for i in range(3)]


@pytest.mark.parametrize("canon", ["relaxed", "simple"])
@pytest.mark.parametrize("alg", ["rsa", "ed25519"])
@pytest.mark.parametrize("msg", tdv.MESSAGES)
def test_corpus_through_daemon(tmp_path, corpus_keys, corpus_envs, msg, alg,
                               canon):
    """Each corpus message (folded headers, 8-bit, empty body, trailing
    blank lines, long lines, dot-lines, no final CRLF, ...) injected over
    SMTP into the real sluiced, signed at spool time and relayed to the
    sinks (dot-stuffed twice on the way): the received copies are the
    original plus the signature, and pass all three verifiers; a tampered
    copy fails all three. many-recipients.eml goes to 63 envelope
    recipients at two MX hosts, one signed copy for all."""
    env = corpus_envs(alg, canon)
    src = open(os.path.join(tdv.CORPUS, msg), "rb").read()
    wire = src if src.endswith(b"\r\n") else src + b"\r\n"
    msgid = re.search(rb"^Message-ID: (<[^>]*>)", src, re.M | re.I).group(1)
    rcpts = MANY if msg == "many-recipients.eml" else ["bob@ok.test"]
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=15) as s:
        s.ehlo("client.test")
        # smtplib dot-stuffs and ends the data; 8-bit goes as BODY=8BITMIME
        opts = ["BODY=8BITMIME"] if re.search(rb"[\x80-\xff]", src) else []
        refused = s.sendmail("alice@example.org", rcpts, src, mail_options=opts)
        assert refused == {}
    got = copies_of(env.rcpt, msgid, len([r for r in rcpts if "@ok.test" in r]))
    if msg == "many-recipients.eml":
        got += copies_of(env.sender, msgid, 3)
        assert sorted(r for m in got for r in m.rcpt_tos) == sorted(MANY)
    raws = {m.data for m in got}
    assert len(raws) == 1, "recipients got different copies"
    raw = raws.pop()
    s = sigs(raw)
    assert len(s) == 1, s
    assert tag(s[0], "d") == CORPUS_DOMAIN
    assert tag(s[0], "s") == corpus_keys[alg][1]
    assert tag(s[0], "c") == "%s/%s" % (canon, canon)
    assert tag(s[0], "a") == {"rsa": "rsa-sha256", "ed25519": "ed25519-sha256"}[alg]
    # The message itself arrives byte for byte (headers the daemon adds,
    # Received and the signature, come first).
    assert raw.endswith(wire), raw[-300:]
    path = tmp_path / "got.eml"
    path.write_bytes(raw)
    tdv.assert_all_pass(corpus_keys["dns"], str(path))
    hdr_end = raw.index(b"\r\n\r\n") + 4
    bad = tmp_path / "tampered.eml"
    bad.write_bytes(raw[:hdr_end] + b"X" + raw[hdr_end:])
    tdv.assert_all_fail(corpus_keys["dns"], str(bad))


# ------------------------------------------------- keys missing, identity

def test_no_key_warns_rate_limited(tmp_path, keys, envs):
    """dkim-sign yes, keys exist but none for the author domain: sent
    unsigned with a warning naming the domain, at most one per domain per
    5 minutes."""
    env = start(envs, tmp_path, domain_key(keys["rsa"]) + SIGN_ALL)
    for i in range(3):
        inject(env, ["bob@ok.test"], frm="x@nokey.test", mail_from="x@nokey.test")
    inject(env, ["bob@ok.test"], frm="y@other-nokey.test",
           mail_from="y@other-nokey.test")
    inject(env, ["bob@ok.test"])                       # brand.test: signed
    msgs = env.rcpt.wait_for_messages(5, timeout=20)
    signed = [m for m in msgs if tdv.sig_headers(m.data)]
    assert len(signed) == 1 and b"alice@brand.test" in signed[0].data
    log = env.daemon.log()
    warn = [ln for ln in log.splitlines() if "no DKIM key for" in ln]
    assert len([ln for ln in warn if "nokey.test" in ln and
                "other-nokey" not in ln]) == 1, warn
    assert len([ln for ln in warn if "other-nokey.test" in ln]) == 1, warn
    assert all("sent unsigned" in ln for ln in warn), warn
    assert not [ln for ln in warn if "brand.test" in ln], warn


@pytest.mark.parametrize("where", ["domain", "source", "vmta"])
def test_sign_without_any_key_is_a_config_error(tmp_path, keys, where):
    """A dkim-sign yes block that no key can ever serve refuses to start
    (and a reload to it is refused)."""
    block = {"domain": "<domain *>\n    dkim-sign yes\n</domain>\n",
             "source": "<source 127.0.0.2>\n    dkim-sign yes\n</source>\n",
             "vmta": "<virtual-mta v2>\n    %s</virtual-mta>\n"
                     "<virtual-mta v1>\n    <domain *>\n        dkim-sign yes\n"
                     "    </domain>\n</virtual-mta>\n" % domain_key(keys["rsa"])}
    env = RelayEnv(tmp_path / "env", extra=block[where])
    try:
        with pytest.raises(RuntimeError):
            env.daemon.start(timeout=20)
        assert env.daemon.proc.returncode == 1
        want = {"domain": "<domain *>: dkim-sign yes, but no DKIM key",
                "source": "<source 127.0.0.2>: dkim-sign yes, but no DKIM key",
                "vmta": "<virtual-mta v1> <domain *>: dkim-sign yes, but no"}
        assert want[where] in env.daemon.log(), env.daemon.log()
    finally:
        env.rcpt.stop()
        env.sender.stop()
        env.dns.stop()
        env.daemon.check_sanitizers()


def test_sign_without_any_key_refused_at_reload(tmp_path, keys, envs):
    env = start(envs, tmp_path, domain_key(keys["rsa"]) + SIGN_ALL)
    conf = open(env.daemon.conf).read()
    with open(env.daemon.conf, "w") as f:
        f.write(conf.replace(domain_key(keys["rsa"]), ""))
    env.daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in env.daemon.log(), 10,
             what="reload failure logged")
    assert "dkim-sign yes, but no DKIM key" in env.daemon.log()
    inject(env, ["bob@ok.test"])                 # the old keys still sign
    raw, path = delivered(env, 1, tmp_path)
    assert [tag(x, "d") for x in sigs(raw)] == [BRAND]


def test_dkim_identity_sender_or_from_and_from(tmp_path, keys, envs):
    """Sender and From in different domains, each with a key: by default
    (sender-or-from, PowerMTA's) the Sender domain signs; with
    dkim-identity from, the From domain does. Neither sets i=."""
    extra = domain_key(keys["rsa"]) + domain_key(keys["esp"]) + SIGN_ALL + """
<domain ok.test>
    dkim-identity from
</domain>
"""
    env = start(envs, tmp_path, extra)
    hdrs = ["Sender: Mailer <mailer@%s>" % BRAND]
    inject(env, ["x@sender.test"], frm="News <news@%s>" % ESP,
           mail_from="bounce@%s" % ESP, extra_headers=hdrs)
    got = env.sender.wait_for_messages(1, timeout=20)[0].data
    p = tmp_path / "default.eml"
    p.write_bytes(got)
    assert [(tag(x, "d"), tag(x, "s"), tag(x, "i")) for x in sigs(got)] == [
        (BRAND, "rsa2048", None)]
    tdv.assert_all_pass(keys["dns"], str(p))
    inject(env, ["bob@ok.test"], frm="News <news@%s>" % ESP,
           mail_from="bounce@%s" % ESP, extra_headers=hdrs)
    raw, path = delivered(env, 1, tmp_path)
    assert [(tag(x, "d"), tag(x, "s"), tag(x, "i")) for x in sigs(raw)] == [
        (ESP, "esp1", None)]
    tdv.assert_all_pass(keys["dns"], path)
