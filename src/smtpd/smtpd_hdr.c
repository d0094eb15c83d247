/*
 * smtpd_hdr.c -- header rewriting (see smtpd_hdr.h).
 *
 * One pass over the header block: each field (first line plus its folded
 * continuation lines) is either copied or dropped. The first occurrence of
 * a processed header gives the value; every occurrence is stripped unless
 * it is retained. With date_override every Date field is dropped.
 */
#include <string.h>
#include <strings.h>

#include "smtpd/smtpd_hdr.h"

/* Length of the line at p (incl CRLF, or to end of data). */
static size_t
line_len(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	return lf ? (size_t)(lf - p) + 1 : (size_t)(end - p);
}

/* Length of the field name if the line starts a header field, else 0. */
static size_t
field_name_len(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == ':')
			return i;
		if (c < 33 || c > 126)
			return 0;
	}
	return 0;
}

static void
copy_value(const char *v, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 1 < SMTPD_HDR_VALUE_MAX; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			continue;
		if ((v[i] == ' ' || v[i] == '\t') && o == 0)
			continue;
		out[o++] = v[i] == '\t' ? ' ' : v[i];
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static int
name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* Decide about one field; returns 1 to strip it. */
static int
field_handle(const char *f, size_t nlen, size_t flen,
    const struct smtpd_hdr_opts *o, struct smtpd_hdr_result *r)
{
	const char *job = o->job_header ? o->job_header : "X-Job";

	if (name_is(f, nlen, "Message-Id"))
		r->had_message_id = 1;
	else if (name_is(f, nlen, "Date")) {
		if (o->date_override && o->date)
			return 1;
		r->had_date = 1;
	} else if (o->process_vmta && name_is(f, nlen, "X-Virtual-MTA")) {
		if (!r->have_vmta)
			copy_value(f + nlen + 1, flen - nlen - 1, r->vmta);
		r->have_vmta = r->vmta[0] != '\0';
		return !o->retain_vmta;
	} else if (o->process_job && name_is(f, nlen, job)) {
		if (!r->have_job)
			copy_value(f + nlen + 1, flen - nlen - 1, r->job);
		r->have_job = r->job[0] != '\0';
		return !o->retain_job;
	}
	return 0;
}

/* Walk the header block; returns the offset where it ends. */
static size_t
hdr_walk(const char *data, size_t len, const struct smtpd_hdr_opts *o,
    struct sbuf *out, struct smtpd_hdr_result *r)
{
	const char *p = data, *end = data + len, *f;
	size_t n, nlen, flen;

	while (p < end) {
		n = line_len(p, end);
		if ((nlen = field_name_len(p, n)) == 0)
			break;
		f = p;
		p += n;
		while (p < end && (*p == ' ' || *p == '\t'))
			p += line_len(p, end);
		flen = (size_t)(p - f);
		if (!field_handle(f, nlen, flen, o, r))
			sbuf_put(out, f, flen);
	}
	return (size_t)(p - data);
}

void
smtpd_hdr_rewrite(const char *data, size_t len, const struct smtpd_hdr_opts *o,
    struct sbuf *out, struct smtpd_hdr_result *r)
{
	size_t body;

	memset(r, 0, sizeof(*r));
	sbuf_reset(out);
	sbuf_reserve(out, len + 512);
	if (o->received)
		sbuf_puts(out, o->received);
	body = hdr_walk(data, len, o, out, r);
	/* A last header line without CRLF (data ended inside it). */
	if (out->len && out->p[out->len - 1] != '\n' &&
	    (o->message_id || o->date))
		sbuf_put(out, "\r\n", 2);
	if (o->message_id && !r->had_message_id)
		sbuf_printf(out, "Message-Id: %s\r\n", o->message_id);
	if (o->date && !r->had_date)
		sbuf_printf(out, "Date: %s\r\n", o->date);
	sbuf_put(out, data + body, len - body);
}
