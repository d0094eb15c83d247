#!/usr/bin/env python3
"""
extract_sisimai.py -- build sisimai-diagnostics.tsv from the Sisimai corpus.

Written for Sluice (not taken from Sisimai). Reads the bounce e-mails in
$SLUICE_SHARED/testdata/sisimai-bounces/eml (default ../shared relative to
the repository) and their expected Sisimai reasons, keeps the messages that
carry an RFC 3464 message/delivery-status part with exactly one recipient
whose Diagnostic-Code is present, and writes one row per message:

    file  status  diag  sisimai_reason  mapped  expected

`mapped` is the PowerMTA bounceCat that the Sisimai reason maps to
(REASON_TO_CATEGORY below); reasons with no clear PowerMTA equivalent are
skipped. `expected` is what PowerMTA's default pattern list gives: the
mapped category, unless pmta-differences.tsv (reviewed by hand against the
public default list, with the rule that fires) says otherwise.
Run:  python3 extract_sisimai.py > sisimai-diagnostics.tsv
"""
import email
import email.policy
import os
import re
import sys

REASON_TO_CATEGORY = {
    "userunknown": "bad-mailbox",
    "hostunknown": "bad-domain",
    "mailboxfull": "quota-issues",
    "suspend": "inactive-mailbox",
    "expired": "message-expired",
    "spamdetected": "spam-related",
    "virusdetected": "virus-related",
    "norelaying": "relaying-issues",
    "policyviolation": "policy-related",
    "syntaxerror": "protocol-errors",
    "contenterror": "content-related",
    "blocked": "spam-related",
    "networkerror": "routing-errors",
}


def shared_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    return os.environ.get("SLUICE_SHARED",
                          os.path.join(os.path.dirname(root), "shared"))


def one_line(s):
    return re.sub(r"\s+", " ", s or "").strip()


def dsn_fields(msg):
    """(status, diag) of the only recipient, or None."""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        if not isinstance(payload, list) or len(payload) < 2:
            return None
        rcpts = [p for p in payload[1:] if p.get("Final-Recipient")
                 or p.get("Original-Recipient")]
        if len(rcpts) != 1:
            return None
        status = one_line(rcpts[0].get("Status"))
        diag = one_line(rcpts[0].get("Diagnostic-Code"))
        m = re.match(r"^([245]\.\d{1,3}\.\d{1,3})", status)
        if not m or not diag:
            return None
        return m.group(1), diag
    return None


def differences():
    here = os.path.dirname(os.path.abspath(__file__))
    out = {}
    with open(os.path.join(here, "pmta-differences.tsv")) as fp:
        for line in fp:
            if line.startswith("#") or not line.strip():
                continue
            f = line.rstrip("\n").split("\t")
            out[f[0]] = f[1]
    return out


def main():
    diff = differences()
    base = os.path.join(shared_dir(), "testdata", "sisimai-bounces")
    reasons = {}
    with open(os.path.join(base, "expected-reasons.tsv")) as fp:
        next(fp)
        for line in fp:
            f = line.rstrip("\n").split("\t")
            reasons.setdefault(f[0], []).append(f[3])
    print("file\tstatus\tdiag\tsisimai_reason\tmapped\texpected")
    for name in sorted(reasons):
        rs = reasons[name]
        if len(rs) != 1 or rs[0] not in REASON_TO_CATEGORY:
            continue
        with open(os.path.join(base, "eml", name), "rb") as fp:
            msg = email.message_from_binary_file(fp, policy=email.policy.compat32)
        got = dsn_fields(msg)
        if got is None:
            continue
        status, diag = got
        diag = diag.replace("\t", " ")
        mapped = REASON_TO_CATEGORY[rs[0]]
        print(f"{name}\t{status}\t{diag}\t{rs[0]}\t{mapped}\t"
              f"{diff.get(name, mapped)}")


if __name__ == "__main__":
    sys.exit(main())
