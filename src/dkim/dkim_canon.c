/* SPDX-License-Identifier: ISC
 *
 * dkim_canon.c -- RFC 6376 §3.4 header and body canonicalisation (pure).
 *
 * Invariants: the body state machine never buffers more than
 * DKIM_CANON_OBUF bytes; blank lines are kept as a counter, so a body of
 * a million trailing blank lines costs nothing. Output order is exactly
 * the canonical byte stream, whatever the input chunking.
 * Ownership: callers own every buffer; nothing here allocates except
 * through the caller's sbuf.
 */
#include <string.h>

#include "dkim/dkim_canon.h"

static int
canon_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static char
canon_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Simple: the field unchanged, except that bare LF becomes CRLF. */
static void
canon_header_simple(const char *f, size_t len, struct sbuf *out)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r')) {
			sbuf_put(out, f + start, i - start);
			sbuf_put(out, "\r\n", 2);
			start = i + 1;
		}
	}
	sbuf_put(out, f + start, len - start);
}

/*
 * Relaxed (§3.4.2): lower-case the name, drop WSP around the colon,
 * unfold, reduce WSP runs to one SP, drop trailing WSP.
 */
static void
canon_header_relaxed(const char *f, size_t len, struct sbuf *out)
{
	const char *colon = memchr(f, ':', len);
	size_t nlen = colon ? (size_t)(colon - f) : len, i;
	int wsp = 0, started = 0;
	char *o;

	while (nlen > 0 && canon_is_wsp(f[nlen - 1]))
		nlen--;
	sbuf_reserve(out, len + 1);	/* output is never longer */
	o = out->p + out->len;
	for (i = 0; i < nlen; i++)
		*o++ = canon_lower(f[i]);
	if (colon != NULL) {
		*o++ = ':';
		for (i = (size_t)(colon - f) + 1; i < len; i++) {
			char c = f[i];
			size_t run = 1;

			if (c == '\r' || c == '\n')
				continue;
			if (canon_is_wsp(c)) {
				wsp = 1;
				continue;
			}
			if (wsp && started)
				*o++ = ' ';
			wsp = 0;
			started = 1;
			while (i + run < len && f[i + run] > ' ')
				run++;		/* copy plain runs in one go */
			memcpy(o, f + i, run);
			o += run;
			i += run - 1;
		}
	}
	out->len = (size_t)(o - out->p);
	out->p[out->len] = '\0';
}

void
dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
    struct sbuf *out)
{
	if (c == DKIM_CANON_SIMPLE)
		canon_header_simple(field, len, out);
	else
		canon_header_relaxed(field, len, out);
}

void
dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon c,
    dkim_canon_emit_fn *emit, void *arg)
{
	memset(bc, 0, sizeof(*bc));
	bc->canon = c;
	bc->emit = emit;
	bc->arg = arg;
}

static void
body_flush(struct dkim_body_canon *bc)
{
	if (bc->olen > 0) {
		bc->emit(bc->arg, bc->obuf, bc->olen);
		bc->emitted += bc->olen;
		bc->olen = 0;
	}
}

static void
body_out(struct dkim_body_canon *bc, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = sizeof(bc->obuf) - bc->olen;
		size_t k = n < room ? n : room;

		memcpy(bc->obuf + bc->olen, p, k);
		bc->olen += k;
		p += k;
		n -= k;
		if (bc->olen == sizeof(bc->obuf))
			body_flush(bc);
	}
}

/* Content bytes: blank lines before them were not trailing after all. */
static void
body_content(struct dkim_body_canon *bc, const char *p, size_t n)
{
	if (!bc->in_line) {
		for (; bc->blank > 0; bc->blank--)
			body_out(bc, "\r\n", 2);
		bc->in_line = 1;
	}
	if (bc->pending_wsp) {
		body_out(bc, " ", 1);
		bc->pending_wsp = 0;
	}
	body_out(bc, p, n);
}

static void
body_end_line(struct dkim_body_canon *bc)
{
	if (bc->in_line) {
		body_out(bc, "\r\n", 2);
		bc->in_line = 0;
	} else
		bc->blank++;
	bc->pending_wsp = 0;
}

/* Length of the run at p that needs no special handling. */
static size_t
body_plain_run(const char *p, size_t len, int relaxed)
{
	size_t i = 0;

	while (i < len && p[i] != '\r' && p[i] != '\n' &&
	    !(relaxed && canon_is_wsp(p[i])))
		i++;
	return i;
}

void
dkim_body_canon_update(struct dkim_body_canon *bc, const char *data,
    size_t len)
{
	int relaxed = bc->canon == DKIM_CANON_RELAXED;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		size_t run;

		if (bc->pending_cr) {
			bc->pending_cr = 0;
			if (c == '\n') {
				body_end_line(bc);
				continue;
			}
			body_content(bc, "\r", 1);
		}
		if (c == '\r')
			bc->pending_cr = 1;
		else if (c == '\n')
			body_end_line(bc);
		else if (relaxed && canon_is_wsp(c))
			bc->pending_wsp = 1;
		else {
			run = body_plain_run(data + i, len - i, relaxed);
			body_content(bc, data + i, run);
			i += run - 1;
		}
	}
}

uint64_t
dkim_body_canon_final(struct dkim_body_canon *bc)
{
	if (bc->pending_cr) {
		bc->pending_cr = 0;
		body_content(bc, "\r", 1);
	}
	if (bc->in_line)
		body_end_line(bc);
	/* §3.4.3: an empty simple body is one CRLF; relaxed stays empty. */
	if (bc->canon == DKIM_CANON_SIMPLE && bc->emitted == 0 &&
	    bc->olen == 0)
		body_out(bc, "\r\n", 2);
	bc->blank = 0;
	bc->pending_wsp = 0;
	body_flush(bc);
	return bc->emitted;
}
