/* SPDX-License-Identifier: ISC
 *
 * dkim_hdr.h -- splitting a message into header fields and body, and
 * choosing the h= list (RFC 6376 §5.4), including oversigning.
 *
 * Pure code (no OpenSSL). Field pointers point into the caller's message
 * buffer and are valid while it is.
 */
#ifndef SLUICE_DKIM_HDR_H
#define SLUICE_DKIM_HDR_H

#include <stddef.h>

#include "lib/sbuf.h"

struct dkim_hdr_field {
	const char	*p;	/* start of "Name: value" */
	size_t		 len;	/* up to, not including, the final line break */
	size_t		 nlen;	/* name length, WSP before the colon trimmed */
};

struct dkim_hdr {
	struct dkim_hdr_field	*f;
	size_t			 n;
	const char		*body;		/* first body byte */
	size_t			 bodylen;
};

/* Split msg into fields and body. Never fails; a message without an
 * empty line is all header and has an empty body. Free with _fini. */
void dkim_hdr_parse(struct dkim_hdr *h, const char *msg, size_t len);
void dkim_hdr_fini(struct dkim_hdr *h);
/* Number of fields whose name equals name (case-insensitive). */
size_t dkim_hdr_count(const struct dkim_hdr *h, const char *name,
    size_t nlen);

/*
 * Build the h= name list into out as "from:from:to:...". With list ==
 * NULL the default list is used: From, To, Subject and Date once more
 * than present (oversigned), the other default names once per present
 * instance. Otherwise list is taken literally (names separated by ':',
 * whitespace ignored, lower-cased). Returns 0, or -1 with err set (bad
 * name, empty list, no "from" in the list).
 */
int dkim_hdr_list(const struct dkim_hdr *h, const char *list,
    struct sbuf *out, char *err, size_t errlen);

/*
 * Find the field that the next occurrence of name in h= refers to:
 * fields are consumed bottom-up per name (§5.4.2); used[] (h->n flags,
 * zeroed by the caller) records consumed fields. Returns the index, or
 * -1 if none is left (the name then contributes nothing to the hash).
 */
long dkim_hdr_select(const struct dkim_hdr *h, const char *name,
    size_t nlen, unsigned char *used);

#endif
