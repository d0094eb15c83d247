/*
 * dsn_build.c -- RFC 3464 delivery status notifications.
 *
 * Output: a multipart/report; report-type=delivery-status message with
 * three parts (human-readable text, message/delivery-status, and the
 * original as message/rfc822 or its header as text/rfc822-headers), CRLF
 * line endings throughout, From the MAILER-DAEMON address, Auto-Submitted:
 * auto-replied. The boundary is random and checked not to occur in any
 * content. Values that come from peers (diagnostics, addresses) have CR,
 * LF and other control characters replaced by spaces so they cannot break
 * the header structure. The caller owns the returned buffer.
 */
#include <sys/random.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce/bounce.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

#define DSN_MAX_FIELD 900	/* keeps every header line under 998 */

static const char *const dsn_days[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const dsn_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec",
};

/* RFC 5322 date-time in local time, independent of the C locale. */
static void
dsn_put_date(struct sbuf *b, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	localtime_r(&tt, &tm);
	off = tm.tm_gmtoff / 60;
	sbuf_printf(b, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    dsn_days[tm.tm_wday], tm.tm_mday, dsn_months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
	    (off < 0 ? -off : off) % 60);
}

/* A peer-supplied value on one line: controls become spaces, capped. */
static void
dsn_put_value(struct sbuf *b, const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && n < DSN_MAX_FIELD; s++, n++)
		sbuf_putc(b, ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' :
		    *s);
}

static void
dsn_random_hex(char *out, size_t nbytes)
{
	unsigned char r[32];
	static const char hx[] = "0123456789abcdef";

	if (nbytes > sizeof(r))
		nbytes = sizeof(r);
	if (getrandom(r, nbytes, 0) != (ssize_t)nbytes) {
		/* Uniqueness, not secrecy, is what matters here. */
		uint64_t x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out;
		for (size_t i = 0; i < nbytes; i++, x = x * 6364136223846793005u + 1)
			r[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hx[r[i] >> 4];
		out[2 * i + 1] = hx[r[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

/* Copy text with every line ending made CRLF; ends with CRLF. */
static void
dsn_put_crlf(struct sbuf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		if (s[i] == '\n' || s[i] == '\r')
			sbuf_put(b, "\r\n", 2);
		else
			sbuf_putc(b, s[i]);
	}
	if (b->len < 2 || memcmp(b->p + b->len - 2, "\r\n", 2) != 0)
		sbuf_put(b, "\r\n", 2);
}

/* Length of the header block (up to, not including, the blank line). */
static size_t
dsn_header_len(const char *m, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (m[i] != '\n')
			continue;
		if (i + 1 < len && m[i + 1] == '\n')
			return i + 1;
		if (i + 2 < len && m[i + 1] == '\r' && m[i + 2] == '\n')
			return i + 1;
	}
	return len;
}

static int
dsn_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

static const char *
dsn_summary(const struct dsn_params *p)
{
	int failed = 0, delayed = 0;

	for (size_t i = 0; i < p->nrcpt; i++) {
		const char *a = p->rcpts[i].action ? p->rcpts[i].action : "";
		failed |= strcmp(a, "failed") == 0;
		delayed |= strcmp(a, "delayed") == 0;
	}
	return failed ? "Failure" : delayed ? "Delay" : "Success";
}

static void
dsn_put_headers(struct sbuf *b, const struct dsn_params *p,
    const char *boundary)
{
	char id[33];
	const char *host = p->reporting_mta ? p->reporting_mta : "localhost";

	dsn_random_hex(id, 12);
	sbuf_puts(b, "From: Mail Delivery System <");
	if (p->from != NULL)
		dsn_put_value(b, p->from);
	else
		sbuf_printf(b, "MAILER-DAEMON@%s", host);
	sbuf_puts(b, ">\r\nTo: <");
	dsn_put_value(b, p->to);
	sbuf_printf(b, ">\r\nSubject: Delivery Status Notification (%s)\r\n",
	    dsn_summary(p));
	sbuf_puts(b, "Date: ");
	dsn_put_date(b, p->now);
	sbuf_printf(b, "\r\nMessage-Id: <%lld.%s@", (long long)p->now, id);
	dsn_put_value(b, host);
	sbuf_puts(b, ">\r\nAuto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"");
	sbuf_puts(b, boundary);
	sbuf_puts(b, "\"\r\n\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n");
}

static void
dsn_put_text(struct sbuf *b, const struct dsn_params *p)
{
	struct sbuf t;
	const char *what = dsn_summary(p);

	sbuf_init(&t);
	sbuf_puts(&t, "This is the mail system at host ");
	dsn_put_value(&t, p->reporting_mta);
	sbuf_puts(&t, ".\r\n\r\n");
	if (strcmp(what, "Failure") == 0)
		sbuf_puts(&t, "Your message could not be delivered to one or "
		    "more recipients.\r\nIt is attached below.\r\n\r\n");
	else if (strcmp(what, "Delay") == 0)
		sbuf_puts(&t, "Delivery of your message has been delayed. The "
		    "system will keep trying;\r\nno action is needed on "
		    "your part yet.\r\n\r\n");
	else
		sbuf_puts(&t, "Your message was delivered as requested.\r\n\r\n");
	for (size_t i = 0; i < p->nrcpt; i++) {
		const struct dsn_rcpt *r = &p->rcpts[i];
		sbuf_puts(&t, "<");
		dsn_put_value(&t, r->rcpt);
		sbuf_puts(&t, ">: ");
		dsn_put_value(&t, r->action);
		sbuf_puts(&t, ", ");
		dsn_put_value(&t, r->status);
		sbuf_printf(&t, " (%s)\r\n", dsn_status_text(r->status));
		if (r->diag != NULL) {
			sbuf_puts(&t, "    ");
			dsn_put_value(&t, r->diag);
			sbuf_puts(&t, "\r\n");
		}
	}
	sbuf_printf(b, "Content-Type: text/plain; charset=%s\r\n"
	    "Content-Transfer-Encoding: %s\r\n"
	    "Content-Description: Notification\r\n\r\n",
	    dsn_has_8bit(t.p, t.len) ? "utf-8" : "us-ascii",
	    dsn_has_8bit(t.p, t.len) ? "8bit" : "7bit");
	sbuf_put(b, t.p, t.len);
	sbuf_fini(&t);
}

/* "TYPE; value", adding the default type when the value has none. */
static void
dsn_put_typed(struct sbuf *b, const char *name, const char *deftype,
    const char *v)
{
	const char *semi = strchr(v, ';');
	int typed = semi != NULL && semi > v &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-") == (size_t)(semi - v);

	sbuf_printf(b, "%s: ", name);
	if (!typed)
		sbuf_printf(b, "%s; ", deftype);
	dsn_put_value(b, v);
	sbuf_puts(b, "\r\n");
}

static void
dsn_put_status(struct sbuf *b, const struct dsn_params *p)
{
	sbuf_puts(b, "Content-Type: message/delivery-status\r\n"
	    "Content-Description: Delivery report\r\n\r\n");
	dsn_put_typed(b, "Reporting-MTA", "dns",
	    p->reporting_mta ? p->reporting_mta : "localhost");
	if (p->envid != NULL && *p->envid != '\0') {
		sbuf_puts(b, "Original-Envelope-Id: ");
		dsn_put_value(b, p->envid);
		sbuf_puts(b, "\r\n");
	}
	if (p->arrival != 0) {
		sbuf_puts(b, "Arrival-Date: ");
		dsn_put_date(b, p->arrival);
		sbuf_puts(b, "\r\n");
	}
	for (size_t i = 0; i < p->nrcpt; i++) {
		const struct dsn_rcpt *r = &p->rcpts[i];

		sbuf_puts(b, "\r\n");
		if (r->orcpt != NULL && *r->orcpt != '\0')
			dsn_put_typed(b, "Original-Recipient", "rfc822",
			    r->orcpt);
		dsn_put_typed(b, "Final-Recipient", "rfc822",
		    r->rcpt ? r->rcpt : "");
		sbuf_puts(b, "Action: ");
		dsn_put_value(b, r->action ? r->action : "failed");
		sbuf_puts(b, "\r\nStatus: ");
		dsn_put_value(b, r->status ? r->status : "5.0.0");
		sbuf_puts(b, "\r\n");
		if (r->remote_mta != NULL && *r->remote_mta != '\0')
			dsn_put_typed(b, "Remote-MTA", "dns", r->remote_mta);
		if (r->diag != NULL && *r->diag != '\0')
			dsn_put_typed(b, "Diagnostic-Code", "smtp", r->diag);
		if (r->last_attempt != 0) {
			sbuf_puts(b, "Last-Attempt-Date: ");
			dsn_put_date(b, r->last_attempt);
			sbuf_puts(b, "\r\n");
		}
	}
}

static void
dsn_put_original(struct sbuf *b, const struct dsn_params *p)
{
	const char *m = p->orig_msg ? p->orig_msg : "";
	size_t len = p->orig_msg ? p->orig_len : 0;

	if (p->ret_full) {
		sbuf_puts(b, "Content-Type: message/rfc822\r\n");
	} else {
		len = dsn_header_len(m, len);
		sbuf_puts(b, "Content-Type: text/rfc822-headers\r\n");
	}
	if (dsn_has_8bit(m, len))
		sbuf_puts(b, "Content-Transfer-Encoding: 8bit\r\n");
	sbuf_puts(b, "Content-Description: Undelivered message\r\n\r\n");
	dsn_put_crlf(b, m, len);
}

/* A boundary that occurs nowhere in the parts. */
static void
dsn_boundary(char *out, size_t outlen, const struct sbuf *parts)
{
	char hex[33];

	do {
		dsn_random_hex(hex, 12);
		snprintf(out, outlen, "=_sluice_dsn_%s", hex);
	} while (memmem(parts->p, parts->len, out, strlen(out)) != NULL);
}

char *
dsn_build(const struct dsn_params *p, size_t *len)
{
	struct sbuf parts[3], out;
	char boundary[64];
	struct sbuf all;

	for (int i = 0; i < 3; i++)
		sbuf_init(&parts[i]);
	dsn_put_text(&parts[0], p);
	dsn_put_status(&parts[1], p);
	dsn_put_original(&parts[2], p);
	sbuf_init(&all);
	for (int i = 0; i < 3; i++)
		sbuf_put(&all, parts[i].p, parts[i].len);
	dsn_boundary(boundary, sizeof(boundary), &all);
	sbuf_fini(&all);
	sbuf_init(&out);
	dsn_put_headers(&out, p, boundary);
	/* Each part ends in CRLF; the CRLF before a delimiter belongs to
	 * the delimiter (RFC 2046 5.1.1), so part content stays intact. */
	for (int i = 0; i < 3; i++) {
		sbuf_printf(&out, "%s--%s\r\n", i ? "\r\n" : "", boundary);
		sbuf_put(&out, parts[i].p, parts[i].len);
		sbuf_fini(&parts[i]);
	}
	sbuf_printf(&out, "\r\n--%s--\r\n", boundary);
	return sbuf_steal(&out, len);
}
