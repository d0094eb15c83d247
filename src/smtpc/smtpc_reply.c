/*
 * smtpc_reply.c -- assembly of (multi-line) SMTP replies and extraction of
 * RFC 3463 enhanced status codes.
 *
 * Invariants: rb->text always starts with the 3-digit code; the enhanced
 * code, when present on the first line, is repeated once after it and
 * stripped from later lines that repeat it. Pure: no I/O.
 */
#include <ctype.h>
#include <string.h>

#include "smtpc/smtpc_internal.h"

void
smtpc_rbuf_init(struct smtpc_rbuf *rb)
{
	memset(rb, 0, sizeof(*rb));
	sbuf_init(&rb->text);
	sbuf_init(&rb->lines);
}

void
smtpc_rbuf_fini(struct smtpc_rbuf *rb)
{
	sbuf_fini(&rb->text);
	sbuf_fini(&rb->lines);
}

void
smtpc_rbuf_reset(struct smtpc_rbuf *rb)
{
	rb->code = 0;
	rb->done = 0;
	rb->enh[0] = '\0';
	rb->nlines = 0;
	sbuf_reset(&rb->text);
	sbuf_reset(&rb->lines);
}

/* Digits at p: 1..max of them. Returns the count, 0 if none/too many. */
static size_t
smtpc_reply_digits(const char *p, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len && isdigit((unsigned char)p[n]))
		n++;
	return n > max ? 0 : n;
}

size_t
smtpc_reply_enh(int code, const char *text, size_t len, char *enh)
{
	size_t a, b, c, off;

	if (len < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') ||
	    text[0] - '0' != code / 100 || text[1] != '.')
		return 0;
	off = 2;
	if ((b = smtpc_reply_digits(text + off, len - off, 3)) == 0)
		return 0;
	off += b;
	if (off >= len || text[off] != '.')
		return 0;
	off++;
	if ((c = smtpc_reply_digits(text + off, len - off, 3)) == 0)
		return 0;
	off += c;
	if (off < len && text[off] != ' ')
		return 0;
	a = off;
	memcpy(enh, text, a);
	enh[a] = '\0';
	return a;
}

static void
smtpc_rbuf_add_text(struct smtpc_rbuf *rb, const char *t, size_t n)
{
	size_t elen = strlen(rb->enh);

	if (rb->nlines == 0) {
		elen = smtpc_reply_enh(rb->code, t, n, rb->enh);
		if (elen > 0)
			sbuf_printf(&rb->text, " %s", rb->enh);
	}
	if (elen > 0 && n >= elen && memcmp(t, rb->enh, elen) == 0 &&
	    (n == elen || t[elen] == ' ')) {
		t += elen;
		n -= elen;
	}
	while (n > 0 && *t == ' ') {
		t++;
		n--;
	}
	while (n > 0 && t[n - 1] == ' ')
		n--;
	if (n > 0) {
		sbuf_putc(&rb->text, ' ');
		sbuf_put(&rb->text, t, n);
	}
}

int
smtpc_rbuf_line(struct smtpc_rbuf *rb, const char *line, size_t len)
{
	int code, last;

	if (rb->done)
		smtpc_rbuf_reset(rb);
	if (len < 3 || smtpc_reply_digits(line, 3, 3) != 3 ||
	    line[0] < '2' || line[0] > '5' || rb->nlines >= SMTPC_LINES_MAX)
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (rb->nlines == 0) {
		rb->code = code;
		sbuf_printf(&rb->text, "%03d", code);
	} else if (code != rb->code)
		return -1;
	last = len == 3 || line[3] == ' ';
	sbuf_put(&rb->lines, len > 4 ? line + 4 : "", len > 4 ? len - 4 : 0);
	sbuf_putc(&rb->lines, '\n');
	smtpc_rbuf_add_text(rb, len > 4 ? line + 4 : "", len > 4 ? len - 4 : 0);
	rb->nlines++;
	rb->done = last;
	return last;
}
