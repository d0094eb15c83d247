/*
 * smtpc_ext.c -- EHLO reply keywords (RFC 5321 §4.1.1.1) into flags and
 * the comma-joined keyword list reported in accounting (esmtp-ext).
 *
 * Invariants: keywords are upper-cased; unknown keywords are listed but
 * set no flag. Pure: no I/O.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "smtpc/smtpc_internal.h"

static const struct {
	const char	*name;
	unsigned	 flag;
} smtpc_ext_known[] = {
	{ "PIPELINING", SMTPC_EXT_PIPELINING },
	{ "SIZE", SMTPC_EXT_SIZE },
	{ "8BITMIME", SMTPC_EXT_8BITMIME },
	{ "STARTTLS", SMTPC_EXT_STARTTLS },
	{ "DSN", SMTPC_EXT_DSN },
	{ "ENHANCEDSTATUSCODES", SMTPC_EXT_ENHANCED },
	{ "SMTPUTF8", SMTPC_EXT_SMTPUTF8 },
	{ "CHUNKING", SMTPC_EXT_CHUNKING },
};

void
smtpc_ext_init(struct smtpc_ext *e)
{
	memset(e, 0, sizeof(*e));
	sbuf_init(&e->names);
}

void
smtpc_ext_fini(struct smtpc_ext *e)
{
	sbuf_fini(&e->names);
}

static void
smtpc_ext_keyword(struct smtpc_ext *e, const char *l, size_t n)
{
	char kw[64];
	size_t k = 0;

	while (k < n && k < sizeof(kw) - 1 && l[k] != ' ' && l[k] != '=') {
		kw[k] = (char)toupper((unsigned char)l[k]);
		k++;
	}
	kw[k] = '\0';
	if (k == 0)
		return;
	if (e->names.len > 0)
		sbuf_putc(&e->names, ',');
	sbuf_puts(&e->names, kw);
	for (size_t i = 0; i < sizeof(smtpc_ext_known) /
	    sizeof(smtpc_ext_known[0]); i++)
		if (strcmp(kw, smtpc_ext_known[i].name) == 0)
			e->flags |= smtpc_ext_known[i].flag;
	if (strcmp(kw, "SIZE") == 0 && k < n && l[k] == ' ')
		e->size_max = strtoull(l + k + 1, NULL, 10);
}

void
smtpc_ext_parse(struct smtpc_ext *e, const char *lines, size_t len)
{
	const char *p = lines, *end = lines + len;
	int first = 1;

	e->flags = 0;
	e->size_max = 0;
	sbuf_reset(&e->names);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!first)
			smtpc_ext_keyword(e, p, n);
		first = 0;
		p += n + 1;
	}
}
