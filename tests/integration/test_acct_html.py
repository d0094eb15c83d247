"""The HTML report of `sluice acct --html` rendered by headless Chromium:
the DOM must hold the SVG charts and the screenshot must show the chart
series colours (decoded here with a tiny PNG reader on zlib)."""
import os
import struct
import subprocess
import zlib

import pytest

from test_acct import ACCT, GEN, TIMEOUT

CHROMIUM = "/usr/bin/chromium"
COLOURS = {"delivered": (0x2e, 0x7d, 0x32), "deferred": (0xf9, 0xa8, 0x25),
           "bounced": (0xc6, 0x28, 0x28), "gmail-line": (0x15, 0x65, 0xc0)}


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6) and body[12] == 0
            bpp = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride, rows, prev = w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def chromium(args, tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("%s is missing: scripts/deps.sh installs Debian's "
                    "chromium, which this test needs" % CHROMIUM,
                    pytrace=False)
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run",
         "--user-data-dir=%s" % (tmp_path / "profile")] + args,
        capture_output=True, timeout=TIMEOUT)


def test_html_report_renders_charts(tmp_path):
    src = tmp_path / "a.csv"
    subprocess.run([GEN, "--records", "30000", "--seed", "9", "-o", str(src)],
                   check=True, timeout=TIMEOUT)
    html = tmp_path / "report.html"
    p = subprocess.run(ACCT + ["summary", str(src), "--html", str(html),
                               "--no-progress"], capture_output=True,
                       timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr
    text = html.read_text()
    assert "<script" not in text and "http://" not in text.split("<body>")[0]
    assert "src=" not in text           # nothing fetched: self-contained
    dom = chromium(["--dump-dom", "file://%s" % html], tmp_path)
    assert dom.returncode == 0
    d = dom.stdout.decode()
    assert d.count("<svg") >= 4          # time chart, ISP, IP, classes
    assert d.count('class="line0"') == 1 and "<rect" in d
    assert "Gmail defer%" in d and "Outcomes by ISP" in d
    png = tmp_path / "shot.png"
    r = chromium(["--screenshot=%s" % png, "--window-size=1000,1400",
                  "file://%s" % html], tmp_path)
    assert r.returncode == 0 and png.exists()
    w, h, rows = png_pixels(str(png))
    assert (w, h) == (1000, 1400)
    found = {k: 0 for k in COLOURS}
    white = 0
    for row in rows:
        for px in row:
            if px == (255, 255, 255):
                white += 1
            for k, c in COLOURS.items():
                if all(abs(px[i] - c[i]) <= 6 for i in range(3)):
                    found[k] += 1
    assert white < w * h * 0.97          # not blank
    for k, n in found.items():
        assert n > 30, "chart colour %s not in the screenshot (%r)" % (k, found)
