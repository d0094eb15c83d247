/*
 * smtpc_dot.c -- message data on the way out: dot-stuffing (RFC 5321
 * §4.5.2) with CRLF normalisation, and RFC 3461 xtext for ENVID/ORCPT.
 *
 * Invariants: the output always ends in "\r\n.\r\n" (or is just ".\r\n"
 * for empty data) and contains no bare CR or LF. Pure: no I/O.
 */
#include <string.h>

#include "smtpc/smtpc_internal.h"

void
smtpc_dot_stuff(const char *data, size_t len, struct sbuf *out)
{
	int bol = 1;		/* at the beginning of a line */

	sbuf_reserve(out, len + len / 64 + 8);
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];

		if (bol && ch == '.')
			sbuf_putc(out, '.');
		bol = 0;
		if (ch == '\r' || ch == '\n') {
			/* CRLF, bare CR and bare LF all end a line. */
			if (ch == '\r' && i + 1 < len && data[i + 1] == '\n')
				i++;
			sbuf_put(out, "\r\n", 2);
			bol = 1;
			continue;
		}
		sbuf_putc(out, ch);
	}
	if (!bol)
		sbuf_put(out, "\r\n", 2);
	sbuf_put(out, ".\r\n", 3);
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
