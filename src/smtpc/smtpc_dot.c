/*
 * smtpc_dot.c -- message data on the way out: dot-stuffing (RFC 5321
 * §4.5.2) with CRLF normalisation, the 8-bit check for BODY=8BITMIME, and
 * RFC 3461 xtext for ENVID/ORCPT. Whole-message scans use memchr and
 * word-at-a-time loops: they run once per delivered message.
 *
 * Invariants: the output always ends in "\r\n.\r\n" (or is just ".\r\n"
 * for empty data) and contains no bare CR or LF. Pure: no I/O.
 */
#include <stdint.h>
#include <string.h>

#include "smtpc/smtpc_internal.h"

/*
 * Length of the line at p (rest bytes long) and of its terminator: CRLF,
 * bare CR or bare LF (*eol 2, 1, 1), or none at the end of the data (*eol
 * 0). *lf caches the next LF at or after p (NULL: none left), so the
 * whole message is scanned for LFs only once.
 */
static size_t
dot_line(const char *p, size_t rest, const char **lf, size_t *eol)
{
	const char *cr;
	size_t n;

	if (*lf != NULL && *lf < p)
		*lf = memchr(p, '\n', rest);
	n = *lf != NULL ? (size_t)(*lf - p) : rest;
	if ((cr = memchr(p, '\r', n)) != NULL) {
		n = (size_t)(cr - p);
		*eol = n + 1 < rest && cr[1] == '\n' ? 2 : 1;
	} else
		*eol = *lf != NULL ? 1 : 0;
	return n;
}

void
smtpc_dot_stuff(const char *data, size_t len, struct sbuf *out)
{
	const char *lf = len > 0 ? memchr(data, '\n', len) : NULL;
	size_t i = 0, n, eol;

	sbuf_reserve(out, len + len / 64 + 8);
	while (i < len) {	/* i is at the beginning of a line */
		n = dot_line(data + i, len - i, &lf, &eol);
		if (n > 0 && data[i] == '.')
			sbuf_put(out, ".", 1);
		sbuf_put(out, data + i, n);
		sbuf_put(out, "\r\n", 2);	/* also ends an unended last line */
		i += n + eol;
	}
	sbuf_put(out, ".\r\n", 3);
}

/* Any byte >= 0x80? Eight bytes at a time (the whole message is scanned
 * for BODY=8BITMIME, so this is on the per-message path). */
int
smtpc_has_8bit(const char *s, size_t len)
{
	const uint64_t high = 0x8080808080808080ull;
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		acc |= w;
		if ((i & 1023) == 1016 && (acc & high))
			return 1;
	}
	for (; i < len; i++)
		acc |= (unsigned char)s[i];
	return (acc & high) != 0;
}

void
smtpc_xtext(const char *s, struct sbuf *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
			sbuf_printf(out, "+%02X", *p);
		else
			sbuf_putc(out, (char)*p);
	}
}
