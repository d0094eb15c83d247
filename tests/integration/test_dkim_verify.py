"""DKIM signatures made by `sluice dkim sign` (src/dkim) checked by three
independent verifiers, offline, with keys made by `sluice dkim keygen`:

  dkimpy 1.1.4 (python3-dkim)   rsa-sha256 + ed25519-sha256
  Mail::DKIM 1.20230212         rsa-sha256 only (reports ed25519 as
                                "unsupported algorithm"; asserted below)
  opendkim 2.11 (-t, TestDNSData) rsa-sha256 + ed25519-sha256

The verifier wrappers are in tests/data/dkim/verifiers (copied from the
shared test material; see its README). A missing verifier FAILS the tests
(CI installs them); nothing is skipped.

Binary under test: $SLUICE_BUILD/src/dkim/sluice-dkim-dev (= `sluice dkim`),
and $SLUICE_BUILD/src/cli/sluice itself for keygen and key-size limits.
"""
import base64
import os
import re
import stat
import subprocess

import pytest

SRC = os.environ.get("SLUICE_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
VDIR = os.path.join(SRC, "tests", "data", "dkim", "verifiers")
BUILD = os.environ.get("SLUICE_BUILD") or os.path.join(SRC, "build")
DEV = os.path.join(BUILD, "src", "dkim", "sluice-dkim-dev")
DATA = os.path.join(SRC, "tests", "data", "dkim")
CORPUS = os.path.join(DATA, "corpus")
MESSAGES = sorted(f for f in os.listdir(CORPUS) if f.endswith(".eml"))
TIMEOUT = 60
T0 = 1750000000          # fixed t= so expiry checks are deterministic


def run(cmd, stdin=None, check=True):
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=TIMEOUT)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (
            cmd, p.returncode, p.stderr.decode(errors="replace")))
    return p


# ---------------------------------------------------------------- verifiers

def dkimpy(dns, msg, when=None):
    """[(alg, 'pass'|'FAIL')] per signature."""
    cmd = ["/usr/bin/python3", os.path.join(VDIR, "verify-dkimpy.py"), dns, msg]
    if when is not None:
        cmd.append(str(when))
    out = run(cmd, check=False).stdout.decode()
    return re.findall(r"^sig\d+ a=(\S+) .* -> (\w+)$", out, re.M)


def maildkim(dns, msg):
    out = run(["perl", os.path.join(VDIR, "verify-maildkim.pl"), dns, msg],
              check=False).stdout.decode()
    return [(a, r, line) for line, a, r in
            re.findall(r"^(sig\d+ a=(\S+) .* -> (\w+).*)$", out, re.M)]


def opendkim(dns, msg):
    out = run([os.path.join(VDIR, "verify-opendkim.sh"), dns, msg],
              check=False).stdout.decode()
    return re.findall(r"dkim=(\w+)\b.*?header\.a=(\S+)", out)


def wire_form(msg):
    """The message as SMTP DATA delivers it: always ending in CRLF. For a
    message lacking the final line break, dkimpy must also pass on the raw
    file (RFC 6376 §3.4.3/§3.4.4 add the CRLF), but opendkim -t ignores
    such a file ("message not signed") and Mail::DKIM's simple body
    canonicaliser does not add the CRLF, so they get the wire form."""
    raw = open(msg, "rb").read()
    if raw.endswith(b"\n"):
        return msg
    with open(msg + ".wire", "wb") as f:
        f.write(raw + b"\r\n")
    return msg + ".wire"


def all_results(dns, msg, nsig):
    """{'dkimpy': [...], 'maildkim': [...], 'opendkim': [...]} of
    (alg, result); each verifier must report every signature."""
    raw_dkimpy = dkimpy(dns, msg)
    msg = wire_form(msg)
    r = {"dkimpy": dkimpy(dns, msg),
         "maildkim": [(a, res) for a, res, _ in maildkim(dns, msg)],
         "opendkim": [(a.rstrip(";"), res) for res, a in opendkim(dns, msg)]}
    for name, lst in r.items():
        assert len(lst) == nsig, "%s reported %r for %s" % (name, lst, msg)
    assert raw_dkimpy == r["dkimpy"], (raw_dkimpy, r["dkimpy"])
    return r


def assert_all_pass(dns, msg, nsig=1):
    r = all_results(dns, msg, nsig)
    for alg, res in r["dkimpy"]:
        assert res == "pass", ("dkimpy", alg, res, msg)
    for alg, res in r["opendkim"]:
        assert res == "pass", ("opendkim", alg, res, msg)
    for alg, res, line in maildkim(dns, wire_form(msg)):
        if alg == "ed25519-sha256":
            # Mail::DKIM 1.20230212 has no Ed25519; anything but
            # "unsupported" would be news worth a look.
            assert "unsupported algorithm" in line, line
        else:
            assert res == "pass", ("Mail::DKIM", line, msg)


def assert_all_fail(dns, msg, nsig=1):
    r = all_results(dns, msg, nsig)
    for name in ("dkimpy", "opendkim"):
        for alg, res in r[name]:
            assert res.lower() == "fail", (name, alg, res, msg)
    for alg, res in r["maildkim"]:
        if alg == "rsa-sha256":
            assert res == "fail", ("Mail::DKIM", alg, res, msg)
        else:
            assert res != "pass"


@pytest.fixture(scope="session", autouse=True)
def verifiers_present():
    missing = []
    for exe in (DEV, os.path.join(BUILD, "src", "cli", "sluice")):
        if not os.access(exe, os.X_OK):
            missing.append("%s (build the tree; set SLUICE_BUILD)" % exe)
    for f in ("verify-dkimpy.py", "verify-maildkim.pl", "verify-opendkim.sh"):
        if not os.path.exists(os.path.join(VDIR, f)):
            missing.append(os.path.join(VDIR, f))
    if run(["/usr/bin/python3", "-c", "import dkim"], check=False).returncode:
        missing.append("python3-dkim")
    if run(["perl", "-MMail::DKIM::Verifier", "-MNet::DNS::Resolver::Mock",
            "-e1"], check=False).returncode:
        missing.append("libmail-dkim-perl / libnet-dns-resolver-mock-perl")
    if run(["sh", "-c", "command -v opendkim"], check=False).returncode:
        missing.append("opendkim")
    if missing:
        pytest.fail("DKIM verifiers missing (scripts/deps.sh test installs "
                    "them): " + ", ".join(missing), pytrace=False)


# ---------------------------------------------------------------- keys

def txt_value(record):
    """'sel._domainkey.dom. IN TXT "a" "b"' -> ('sel._domainkey.dom', 'ab')."""
    strings = re.findall(r'"([^"]*)"', record)
    assert strings and all(len(s) <= 255 for s in strings), record
    return record.split()[0].rstrip("."), "".join(strings)


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("dkimkeys")
    lines, k = [], {}
    for alg, sel, extra in (("rsa", "rsa2048", ["--bits", "2048"]),
                            ("ed25519", "ed", ["--ed25519"])):
        out = run([DEV, "keygen", "example.org", sel, "--dir", str(d)] + extra)
        name, val = txt_value(out.stdout.decode())
        lines.append("%s %s" % (name, val))
        k[alg] = "%s/example.org/%s.pem:%s:example.org" % (d, sel, sel)
    dns = d / "dns.txt"
    dns.write_text("\n".join(lines) + "\n")
    k["dns"] = str(dns)
    return k


def sign(tmp_path, msgfile, keyspecs, *opts, name="signed.eml"):
    cmd = [DEV, "sign"]
    for ks in keyspecs:
        cmd += ["-k", ks]
    cmd += ["--timestamp", str(T0)] + list(opts) + [msgfile]
    out = run(cmd).stdout
    path = tmp_path / name
    path.write_bytes(out)
    return path, out


def sig_headers(raw):
    hdr = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return re.findall(r"^DKIM-Signature:.*?(?=\r\n(?!\s))", hdr, re.M | re.S)


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("canon", ["relaxed", "simple"])
@pytest.mark.parametrize("alg", ["rsa", "ed25519"])
@pytest.mark.parametrize("msg", MESSAGES)
def test_corpus_verifies(tmp_path, keys, msg, alg, canon):
    path, raw = sign(tmp_path, os.path.join(CORPUS, msg), [keys[alg]],
                     "--canon", canon)
    sigs = sig_headers(raw)
    assert len(sigs) == 1
    assert "c=%s/%s;" % (canon, canon) in sigs[0]
    for line in sigs[0].split("\r\n"):
        assert len(line) <= 78, line
    assert raw.endswith(open(os.path.join(CORPUS, msg), "rb").read())
    assert_all_pass(keys["dns"], str(path))


def test_default_list_oversigns(tmp_path, keys):
    _, raw = sign(tmp_path, os.path.join(CORPUS, "newsletter-mime.eml"),
                  [keys["rsa"]])
    h = re.search(r"h=([^;]*);", sig_headers(raw)[0]).group(1)
    names = [n.strip() for n in re.sub(r"\s", "", h).split(":")]
    for n in ("from", "to", "subject", "date"):
        assert names.count(n) == 2, names           # present once, +1
    for n in ("message-id", "list-unsubscribe", "list-unsubscribe-post",
              "list-id", "feedback-id", "reply-to", "mime-version",
              "content-type"):
        assert names.count(n) == 1, (n, names)
    assert "cc" not in names and "x-mailer" not in names


def tamper(src, dst, old, new):
    raw = src.read_bytes()
    assert raw.count(old) >= 1, old
    dst.write_bytes(raw.replace(old, new, 1))
    return str(dst)


BODY_TAMPER = [
    ("folded-headers.eml", b"Folded headers above.", b"Folded headers abovE."),
    ("8bit-body.eml", "München".encode(), "Münchem".encode()),
    ("long-lines.eml", b"B" * 500, b"B" * 499 + b"C"),
    ("no-final-crlf.eml", b"line break", b"line breaK"),
]
HEADER_TAMPER = [
    ("folded-headers.eml", b"several lines", b"several linez"),
    ("many-recipients.eml", b"rcpt042@example.net", b"rcpt042@example.com"),
    ("newsletter-mime.eml", b"unsub/abc123", b"unsub/abc124"),
    ("newsletter-mime.eml", b"Feedback-ID: campaign42", b"Feedback-ID: campaign43"),
    ("8bit-body.eml", b"Date: Tue, 03 Jun", b"Date: Wed, 04 Jun"),
]


@pytest.mark.parametrize("canon", ["relaxed", "simple"])
@pytest.mark.parametrize("alg", ["rsa", "ed25519"])
@pytest.mark.parametrize("case", BODY_TAMPER + HEADER_TAMPER,
                         ids=lambda c: "%s:%s" % (c[0], c[1][:12].decode(errors="replace")))
def test_tampering_fails_everywhere(tmp_path, keys, case, alg, canon):
    msg, old, new = case
    path, _ = sign(tmp_path, os.path.join(CORPUS, msg), [keys[alg]],
                   "--canon", canon)
    assert_all_pass(keys["dns"], str(path))          # the control
    bad = tamper(path, tmp_path / "tampered.eml", old, new)
    assert_all_fail(keys["dns"], bad)


@pytest.mark.parametrize("alg", ["rsa", "ed25519"])
@pytest.mark.parametrize("added", [b"From: Mallory <m@evil.example>\r\n",
                                   b"Subject: Act now\r\n",
                                   b"To: extra@evil.example\r\n",
                                   b"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"])
def test_added_oversigned_header_fails(tmp_path, keys, alg, added):
    path, raw = sign(tmp_path, os.path.join(CORPUS, "folded-headers.eml"),
                     [keys[alg]])
    hdr, body = raw.split(b"\r\n\r\n", 1)
    bad = tmp_path / "added.eml"
    bad.write_bytes(hdr + b"\r\n" + added + b"\r\n" + body)
    assert_all_fail(keys["dns"], str(bad))
    # An unsigned header may be added without breaking the signature.
    ok = tmp_path / "added-ok.eml"
    ok.write_bytes(hdr + b"\r\nX-Added-Later: fine\r\n\r\n" + body)
    assert_all_pass(keys["dns"], str(ok))


@pytest.mark.parametrize("canon", ["relaxed", "simple"])
def test_two_signatures(tmp_path, keys, canon):
    path, raw = sign(tmp_path, os.path.join(CORPUS, "newsletter-mime.eml"),
                     [keys["rsa"], keys["ed25519"]], "--canon", canon)
    sigs = sig_headers(raw)
    assert len(sigs) == 2
    assert "a=rsa-sha256;" in sigs[0] and "a=ed25519-sha256;" in sigs[1]
    assert_all_pass(keys["dns"], str(path), nsig=2)
    bad = tamper(path, tmp_path / "t.eml", b"plain part", b"plain parT")
    assert_all_fail(keys["dns"], bad, nsig=2)


def test_rfc8463_keys_and_message(tmp_path):
    """Our own signature (our tag layout) on the RFC 8463 message with the
    RFC 8463 keys verifies against the RFC's DNS records; the exact b=/bh=
    reproduction is in tests/unit/test_dkim_sign.c."""
    d = os.path.join(DATA, "rfc8463")
    raw = open(os.path.join(d, "rfc8463-signed.eml"), "rb").read()
    hdr, body = raw.split(b"\r\n\r\n", 1)
    fields = re.split(rb"\r\n(?![ \t])", hdr)
    plain = tmp_path / "plain.eml"
    plain.write_bytes(b"\r\n".join(f for f in fields
                                   if not f.lower().startswith(b"dkim-signature:"))
                      + b"\r\n\r\n" + body)
    path, raw2 = sign(tmp_path, str(plain),
                      [os.path.join(d, "ed25519-private.pem") + ":brisbane:football.example.com",
                       os.path.join(d, "rsa-private.pem") + ":test:football.example.com"],
                      "--identity", "@football.example.com")
    assert b"bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=" in raw2.replace(b"\r\n ", b"")
    assert_all_pass(os.path.join(d, "dns-records.txt"), str(path), nsig=2)


@pytest.mark.parametrize("alg", ["rsa", "ed25519"])
def test_expiry_and_identity(tmp_path, keys, alg):
    path, raw = sign(tmp_path, os.path.join(CORPUS, "empty-body.eml"),
                     [keys[alg]], "--expire", "3600",
                     "--identity", "bulk@news.example.org")
    sig = re.sub(r"\s", "", sig_headers(raw)[0])
    assert "t=%d;" % T0 in sig and "x=%d;" % (T0 + 3600) in sig
    assert "i=bulk@news.example.org;" in sig
    assert dkimpy(keys["dns"], str(path), T0 + 60) == [(alg == "rsa" and "rsa-sha256" or "ed25519-sha256", "pass")]
    # dkimpy allows 10 h of clock slop past x=.
    late = dkimpy(keys["dns"], str(path), T0 + 3600 + 36000 + 60)
    assert late and late[0][1] == "FAIL"


def test_cli_errors(tmp_path, keys):
    msg = os.path.join(CORPUS, "empty-body.eml")
    p = run([DEV, "sign", "-k", "/nonexistent.pem:s:example.org", msg], check=False)
    assert p.returncode == 1 and b"cannot open key file /nonexistent.pem" in p.stderr
    p = run([DEV, "sign", "-k", keys["rsa"], "--identity", "x@other.example", msg],
            check=False)
    assert p.returncode == 1 and b"not in the signing domain" in p.stderr
    nofrom = tmp_path / "nofrom.eml"
    nofrom.write_bytes(b"To: a@b\r\n\r\nhi\r\n")
    p = run([DEV, "sign", "-k", keys["ed25519"], str(nofrom)], check=False)
    assert p.returncode == 1 and b"no From header" in p.stderr
    p = run([DEV, "sign", "-k", keys["rsa"], "--canon", "loose", msg], check=False)
    assert p.returncode == 2 and b"usage" in p.stderr
    assert run([DEV, "frobnicate"], check=False).returncode == 2


def test_keygen_cli(tmp_path):
    d = tmp_path / "deep" / "keys"
    p = run([DEV, "keygen", "example.com", "s2025", "--bits", "3072", "--dir", str(d)])
    key = d / "example.com" / "s2025.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    name, val = txt_value(p.stdout.decode())
    assert name == "s2025._domainkey.example.com"
    assert p.stdout.decode().startswith('s2025._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=')
    # 3072-bit SPKI = 422 bytes = 564 base64 chars + 18 = 582: 255+255+72
    assert [len(x) for x in re.findall(r'"([^"]*)"', p.stdout.decode())] == [255, 255, 72]
    # record prints the same TXT record from the key file
    r = run([DEV, "record", str(key), "example.com", "s2025"])
    assert r.stdout == p.stdout
    again = run([DEV, "keygen", "example.com", "s2025", "--dir", str(d)], check=False)
    assert again.returncode == 1 and b"refusing to overwrite" in again.stderr
    assert run([DEV, "keygen", "example.com"], check=False).returncode == 2
    assert run([DEV, "keygen", "example.com", "s", "--bits", "512"],
               check=False).returncode == 2


# ------------------------------------------- the real `sluice`, key sizes

SLUICE = os.path.join(BUILD, "src", "cli", "sluice")


def test_sluice_keygen_ed25519(tmp_path):
    """`sluice dkim keygen DOMAIN SEL --ed25519` (the installed CLI, no
    --dir: ./DOMAIN/SEL.pem): the key file is a 0600 PKCS#8 Ed25519 key,
    the printed record's p= is that key's raw public key (RFC 8463), and a
    message signed with it passes the verifiers."""
    p = subprocess.run([SLUICE, "dkim", "keygen", "mail.example.org", "ed26",
                        "--ed25519"], capture_output=True, timeout=TIMEOUT,
                       cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    key = tmp_path / "mail.example.org" / "ed26.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert b"wrote ./mail.example.org/ed26.pem" in p.stderr
    out = p.stdout.decode()
    assert out.startswith('ed26._domainkey.mail.example.org. IN TXT "'), out
    name, val = txt_value(out)
    assert name == "ed26._domainkey.mail.example.org"
    tags = dict(t.strip().split("=", 1) for t in val.split(";") if t.strip())
    assert tags["v"] == "DKIM1" and tags["k"] == "ed25519", tags
    der = run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform",
               "DER"]).stdout
    assert run(["openssl", "pkey", "-in", str(key), "-noout", "-text"]
               ).stdout.startswith(b"ED25519 Private-Key")
    # SPKI of an Ed25519 key = 12-byte algorithm prefix + 32-byte key
    assert der[:12] == bytes.fromhex("302a300506032b6570032100")
    assert tags["p"] == base64.b64encode(der[12:]).decode()
    # The key and its record work end to end.
    dns = tmp_path / "dns.txt"
    dns.write_text("%s %s\n" % (name, val))
    msg = tmp_path / "m.eml"
    msg.write_bytes(open(os.path.join(CORPUS, "folded-headers.eml"), "rb")
                    .read().replace(b"@example.org>", b"@mail.example.org>", 1))
    path, _ = sign(tmp_path, str(msg), ["%s:ed26:mail.example.org" % key])
    assert_all_pass(str(dns), str(path))
    again = subprocess.run([SLUICE, "dkim", "keygen", "mail.example.org",
                            "ed26", "--ed25519"], capture_output=True,
                           timeout=TIMEOUT, cwd=str(tmp_path))
    assert again.returncode == 1 and b"refusing to overwrite" in again.stderr


def test_rsa4096_corpus_message(tmp_path):
    """The largest allowed RSA key: 4096 bits (a 736-character p=, split
    into three TXT strings) signs and verifies in all three verifiers."""
    p = run([DEV, "keygen", "example.org", "big", "--bits", "4096", "--dir",
             str(tmp_path)])
    name, val = txt_value(p.stdout.decode())
    assert len(re.findall(r'"([^"]*)"', p.stdout.decode())) == 3
    dns = tmp_path / "dns.txt"
    dns.write_text("%s %s\n" % (name, val))
    key = "%s/example.org/big.pem:big:example.org" % tmp_path
    for canon in ("relaxed", "simple"):
        path, raw = sign(tmp_path, os.path.join(CORPUS, "8bit-body.eml"),
                         [key], "--canon", canon, name=canon + ".eml")
        b = re.search(r"b=([^;]*)$", re.sub(r"\s", "", sig_headers(raw)[0]))
        assert len(base64.b64decode(b.group(1))) == 512      # 4096 bits
        assert_all_pass(str(dns), str(path))
        bad = tamper(path, tmp_path / ("bad-" + canon + ".eml"),
                     "München".encode(), "Münchem".encode())
        assert_all_fail(str(dns), bad)


@pytest.mark.parametrize("bits", [512, 1000, 4104])
def test_rsa_key_size_out_of_range(tmp_path, bits):
    """RSA keys below 1024 or above 4096 bits are refused, with the size
    named, by sign/record and by keygen --bits."""
    key = tmp_path / "k.pem"
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
         "rsa_keygen_bits:%d" % bits, "-out", str(key)])
    msg = os.path.join(CORPUS, "empty-body.eml")
    want = ("key file %s: RSA key has %d bits; DKIM keys must have "
            "1024-4096 bits" % (key, bits)).encode()
    p = run([DEV, "sign", "-k", "%s:s:example.org" % key, msg], check=False)
    assert p.returncode == 1 and want in p.stderr, p.stderr
    p = run([DEV, "record", str(key), "example.org", "s"], check=False)
    assert p.returncode == 1 and want in p.stderr, p.stderr
    p = run([SLUICE, "dkim", "keygen", "example.org", "s", "--bits",
             str(8192 if bits > 4096 else bits), "--dir", str(tmp_path)],
            check=False)
    assert p.returncode == 2 and b"bad number" in p.stderr, p.stderr
    assert not (tmp_path / "example.org").exists()
