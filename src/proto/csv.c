/*
 * csv.c -- RFC 4180 field writer.
 */
#include <string.h>

#include "proto/csv.h"

int
csv_needs_quote(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ',' || c == '"' || c == '\r' || c == '\n')
			return 1;
	}
	return 0;
}

void
csv_put_field(struct sbuf *b, const char *s, size_t len)
{
	if (s == NULL || len == 0)
		return;
	if (!csv_needs_quote(s, len)) {
		sbuf_put(b, s, len);
		return;
	}
	sbuf_reserve(b, len + 8);
	sbuf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			sbuf_putc(b, '"');
		sbuf_putc(b, s[i]);
	}
	sbuf_putc(b, '"');
}
