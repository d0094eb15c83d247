#!/usr/bin/python3
"""Writes the DKIM interop corpus (*.eml, CRLF line ends) next to this file.
Run once by hand; the .eml files are committed. Each message exercises one
canonicalisation or header-selection edge case."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = [
    "From: Alice Sender <alice@example.org>",
    "Date: Tue, 03 Jun 2025 09:15:00 +0200",
    "Message-ID: <{name}.20250603@example.org>",
]

def write(name, headers, body_lines, final_crlf=True, raw_body=None):
    hdr = [h.format(name=name) for h in BASE] + headers
    msg = "\r\n".join(hdr).encode() + b"\r\n\r\n"
    if raw_body is not None:
        msg += raw_body
    elif body_lines:
        body = b"\r\n".join(l if isinstance(l, bytes) else l.encode() for l in body_lines)
        msg += body + (b"\r\n" if final_crlf else b"")
    with open(os.path.join(HERE, name + ".eml"), "wb") as f:
        f.write(msg)

write("folded-headers", [
    "To: Bob <bob@example.net>",
    "Subject: A subject that is long enough to be folded over\r\n several lines\r\n\tincluding a tab-indented one",
    "X-Trailing-Space: value with trailing blanks   \t",
    "Content-Type: text/plain;\r\n  charset=\"us-ascii\";\r\n  format=flowed",
    "MIME-Version: 1.0",
    "References: <a@example.org>\r\n <b@example.org>\r\n <c@example.org>",
    "In-Reply-To: <c@example.org>",
], ["Folded headers above.", "", "-- ", "Alice"])

write("8bit-body", [
    "To: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.net>",
    "Subject: =?UTF-8?B?w4fDoCB2YSDDqXTDqSDDoCBNw7xuY2hlbg==?=",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
], ["Grüße aus München – naïve café, 東京, Ελληνικά, emoji 🎉.".encode(),
    b"Latin-1 bytes: \xe9\xe8\xfc\xff and a NBSP:\xa0end",
    "  leading spaces and\ttabs\t inside ".encode()])

write("empty-body", [
    "To: bob@example.net",
    "Subject: empty body",
], [])

write("trailing-blank-lines", [
    "To: bob@example.net",
    "Subject: trailing blank lines",
], ["Line one", "", "", "Line four after two blank lines", "   ", "\t", "", "", ""])

write("long-lines", [
    "To: bob@example.net",
    "Subject: long lines " + "x" * 150,
    "Content-Type: text/plain; charset=us-ascii",
], ["A" * 998, ("word  " * 160).rstrip(), "\t".join(["tab"] * 200), "B" * 500 + "   "])

rcpts = ",\r\n ".join("Recipient %03d <rcpt%03d@example.net>" % (i, i) for i in range(80))
ccs = ",\r\n\t".join("cc%03d@example.com" % i for i in range(40))
write("many-recipients", [
    "To: " + rcpts,
    "Cc: " + ccs,
    "Subject: many recipients",
    "Reply-To: replies@example.org",
], ["Hello everyone."])

write("newsletter-mime", [
    "To: subscriber@example.net",
    "Subject: June newsletter",
    "Reply-To: News <news@example.org>",
    "MIME-Version: 1.0",
    "List-Id: Example News <news.example.org>",
    "List-Unsubscribe: <mailto:unsub@example.org?subject=u>,\r\n <https://example.org/unsub/abc123>",
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    "Feedback-ID: campaign42:news:example:esp",
    "X-Mailer: test-generator",
    "Content-Type: multipart/alternative; boundary=\"b1\"",
], ["--b1", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
    "Hello =E2=80=93 plain part.", "", "--b1", "Content-Type: text/html; charset=utf-8", "",
    "<html><body><p>Hello &ndash; html part.</p></body></html>", "", "--b1--", ""])

write("no-final-crlf", [
    "To: bob@example.net",
    "Subject: last line without CRLF",
], ["first line", "last line without a line break"], final_crlf=False)

write("duplicate-headers", [
    "To: bob@example.net",
    "Subject: first subject",
    "Subject: second subject",
    "Received: from a.example by b.example; Tue, 03 Jun 2025 09:14:00 +0200",
    "Received: from c.example by a.example; Tue, 03 Jun 2025 09:13:00 +0200",
], ["Two Subject fields: both are signed, bottom-up."])

write("blank-lines-only", [
    "To: bob@example.net",
    "Subject: body of blank lines only",
], None, raw_body=b"\r\n \r\n\t\r\n\r\n")

# Lines that SMTP must dot-stuff on the way in and out (RFC 5321 4.5.2),
# including a line of a single dot that would end DATA if not stuffed.
write("dot-lines", [
    "To: bob@example.net",
    "Subject: lines starting with dots",
], [".", "..", ".leading dot", "...three dots", " .space then dot",
    "", ".", "last line ."])
