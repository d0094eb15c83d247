/* SPDX-License-Identifier: ISC
 *
 * dkim_hdr.c -- header field splitting and h= list selection.
 *
 * Invariants: fields are stored in message order; a field's text never
 * includes its terminating line break, so the hash code adds CRLF itself.
 * Ownership: struct dkim_hdr owns only its field array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_hdr.h"
#include "lib/xmalloc.h"

/* Oversigned (count + 1), then signed once per present instance. */
static const char *const hdr_oversign[] = { "from", "to", "subject",
	"date" };
static const char *const hdr_default[] = { "reply-to", "cc", "sender",
	"message-id", "mime-version", "content-type",
	"content-transfer-encoding", "content-disposition", "in-reply-to",
	"references", "list-id", "list-unsubscribe", "list-unsubscribe-post",
	"list-help", "list-subscribe", "list-post", "list-owner",
	"list-archive", "feedback-id" };

/* Length of the line starting at p (without its LF / CRLF) and of the
 * break itself (0 at the end of the buffer). */
static size_t
hdr_line(const char *p, size_t left, size_t *brk)
{
	const char *nl = memchr(p, '\n', left);
	size_t n;

	if (nl == NULL) {
		*brk = 0;
		return left;
	}
	n = (size_t)(nl - p);
	*brk = 1;
	if (n > 0 && p[n - 1] == '\r') {
		n--;
		*brk = 2;
	}
	return n;
}

static void
hdr_add(struct dkim_hdr *h, size_t *cap, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t nlen = colon ? (size_t)(colon - p) : len;

	while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
		nlen--;
	if (h->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		h->f = xreallocarray(h->f, *cap, sizeof(*h->f));
	}
	h->f[h->n].p = p;
	h->f[h->n].len = len;
	h->f[h->n].nlen = nlen;
	h->n++;
}

void
dkim_hdr_parse(struct dkim_hdr *h, const char *msg, size_t len)
{
	size_t off = 0, cap = 0, start = 0, fend = 0, brk = 0;
	int open = 0;

	memset(h, 0, sizeof(*h));
	while (off < len) {
		size_t n = hdr_line(msg + off, len - off, &brk);

		if (n == 0 && brk > 0) {	/* the empty separator line */
			off += brk;
			break;
		}
		if (!open || (msg[off] != ' ' && msg[off] != '\t')) {
			if (open)
				hdr_add(h, &cap, msg + start, fend - start);
			start = off;
			open = 1;
		}
		fend = off + n;
		off += n + brk;
	}
	if (open)
		hdr_add(h, &cap, msg + start, fend - start);
	h->body = msg + off;
	h->bodylen = len - off;
}

void
dkim_hdr_fini(struct dkim_hdr *h)
{
	free(h->f);
	memset(h, 0, sizeof(*h));
}

static int
hdr_name_eq(const struct dkim_hdr_field *f, const char *name, size_t nlen)
{
	return f->nlen == nlen && strncasecmp(f->p, name, nlen) == 0;
}

size_t
dkim_hdr_count(const struct dkim_hdr *h, const char *name, size_t nlen)
{
	size_t c = 0;

	for (size_t i = 0; i < h->n; i++)
		c += hdr_name_eq(&h->f[i], name, nlen);
	return c;
}

long
dkim_hdr_select(const struct dkim_hdr *h, const char *name, size_t nlen,
    unsigned char *used)
{
	for (size_t i = h->n; i-- > 0;) {
		if (!used[i] && hdr_name_eq(&h->f[i], name, nlen)) {
			used[i] = 1;
			return (long)i;
		}
	}
	return -1;
}

static void
hdr_list_put(struct sbuf *out, const char *name, size_t times)
{
	for (size_t i = 0; i < times; i++) {
		if (out->len > 0)
			sbuf_putc(out, ':');
		sbuf_puts(out, name);
	}
}

static void
hdr_list_default(const struct dkim_hdr *h, struct sbuf *out)
{
	size_t i;

	for (i = 0; i < sizeof(hdr_oversign) / sizeof(hdr_oversign[0]); i++)
		hdr_list_put(out, hdr_oversign[i], 1 + dkim_hdr_count(h,
		    hdr_oversign[i], strlen(hdr_oversign[i])));
	for (i = 0; i < sizeof(hdr_default) / sizeof(hdr_default[0]); i++)
		hdr_list_put(out, hdr_default[i], dkim_hdr_count(h,
		    hdr_default[i], strlen(hdr_default[i])));
}

/* RFC 5322 field name: printable US-ASCII except ':'. */
static int
hdr_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 33 || s[i] > 126 || s[i] == ':')
			return 0;
	return 1;
}

static int
hdr_list_custom(const char *list, struct sbuf *out, char *err,
    size_t errlen)
{
	int from = 0;

	for (const char *p = list;; p++) {
		const char *e = p + strcspn(p, ":");
		size_t n;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(e - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (!hdr_name_ok(p, n)) {
			snprintf(err, errlen, "dkim: bad header name in "
			    "header list \"%s\"", list);
			return -1;
		}
		if (out->len > 0)
			sbuf_putc(out, ':');
		for (size_t i = 0; i < n; i++)
			sbuf_putc(out, (char)((p[i] >= 'A' && p[i] <= 'Z') ?
			    p[i] - 'A' + 'a' : p[i]));
		from |= n == 4 && strncasecmp(p, "from", 4) == 0;
		if (*e == '\0')
			break;
		p = e;
	}
	if (!from) {
		snprintf(err, errlen, "dkim: header list \"%s\" must include "
		    "From (RFC 6376 §5.4)", list);
		return -1;
	}
	return 0;
}

int
dkim_hdr_list(const struct dkim_hdr *h, const char *list, struct sbuf *out,
    char *err, size_t errlen)
{
	if (list == NULL) {
		hdr_list_default(h, out);
		return 0;
	}
	return hdr_list_custom(list, out, err, errlen);
}
