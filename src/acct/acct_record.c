/*
 * acct_record.c -- one accounting record -> CSV bytes.
 *
 * timeLogged/timeQueued come from the event's integer times (timeQueued 0
 * = empty); timeImprinted/timeFirstAttempt given as decimal epoch seconds
 * are formatted like them, any other text is written as is. header_X
 * columns are read from the event's header block.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acct/acct_record.h"
#include "lib/xmalloc.h"
#include "proto/csv.h"

/* Start of the next line after pos, or len. */
static size_t
acct_line_next(const char *s, size_t len, size_t pos)
{
	const char *nl = memchr(s + pos, '\n', len - pos);

	return nl ? (size_t)(nl - s) + 1 : len;
}

/* Append the unfolded value of the header starting at line `pos`. */
static void
acct_header_value(const char *h, size_t len, size_t pos, struct sbuf *out)
{
	size_t end = acct_line_next(h, len, pos);

	for (;;) {
		for (size_t i = pos; i < end; i++)
			if (h[i] != '\r' && h[i] != '\n')
				sbuf_putc(out, h[i]);
		if (end >= len || (h[end] != ' ' && h[end] != '\t'))
			break;
		pos = end;
		end = acct_line_next(h, len, pos);
	}
}

int
acct_header_get(const char *hdrs, size_t len, const char *name, char **val,
    size_t *vlen)
{
	size_t nlen = strlen(name), pos = 0, i;
	struct sbuf b;

	while (pos < len && hdrs[pos] != '\r' && hdrs[pos] != '\n') {
		if (len - pos > nlen && strncasecmp(hdrs + pos, name, nlen) == 0) {
			i = pos + nlen;
			while (i < len && (hdrs[i] == ' ' || hdrs[i] == '\t'))
				i++;
			if (i < len && hdrs[i] == ':') {
				sbuf_init(&b);
				acct_header_value(hdrs, len, i + 1, &b);
				char *s = b.p;
				size_t n = b.len;
				while (n > 0 && isspace((unsigned char)*s))
					s++, n--;
				while (n > 0 && isspace((unsigned char)s[n - 1]))
					n--;
				*val = xstrndup(s, n);
				*vlen = n;
				sbuf_fini(&b);
				return 1;
			}
		}
		pos = acct_line_next(hdrs, len, pos);
	}
	return 0;
}

/* Cached variant for the two hot time columns (slot 0 or 1). */
static void
acct_put_time_cached(struct sbuf *b, int64_t t, int iso,
    struct acct_timecache *tc, int slot)
{
	if (tc == NULL) {
		char buf[64];
		sbuf_put(b, buf, acct_format_time(buf, sizeof(buf), t, iso));
		return;
	}
	if (tc->len[slot] == 0 || tc->t[slot] != t) {
		tc->len[slot] = acct_format_time(tc->s[slot],
		    sizeof(tc->s[slot]), t, iso);
		tc->t[slot] = t;
	}
	sbuf_put(b, tc->s[slot], tc->len[slot]);
}

static void
acct_put_time(struct sbuf *b, int64_t t, int iso)
{
	char buf[64];
	size_t n = acct_format_time(buf, sizeof(buf), t, iso);

	sbuf_put(b, buf, n);
}

/* A time field given as text: epoch digits are reformatted. */
static void
acct_put_time_text(struct sbuf *b, const char *s, int iso)
{
	int64_t t;

	if (s == NULL || *s == '\0')
		return;
	if (strspn(s, "0123456789") == strlen(s) &&
	    acct_parse_time(s, strlen(s), &t) == 0) {
		acct_put_time(b, t, iso);
		return;
	}
	csv_put_field(b, s, strlen(s));
}

static void
acct_put_column(struct sbuf *b, const struct acct_col *c,
    const struct acct_event *ev, int iso, struct acct_timecache *tc)
{
	const char *s;
	char *hv;
	size_t hn;

	switch (c->field) {
	case -1:
		if (ev->hdrs != NULL && acct_header_get(ev->hdrs,
		    ev->hdrs_len, c->hdr, &hv, &hn)) {
			csv_put_field(b, hv, hn);
			free(hv);
		}
		return;
	case ACCT_F_TYPE:
		sbuf_puts(b, acct_rtype_code(ev->type));
		return;
	case ACCT_F_TIME_LOGGED:
		acct_put_time_cached(b, ev->time_logged, iso, tc, 0);
		return;
	case ACCT_F_TIME_QUEUED:
		if (ev->time_queued != 0)
			acct_put_time_cached(b, ev->time_queued, iso, tc, 1);
		return;
	case ACCT_F_TIME_IMPRINTED:
	case ACCT_F_TIME_FIRST_ATTEMPT:
		acct_put_time_text(b, ev->v[c->field], iso);
		return;
	default:
		s = ev->v[c->field];
		if (s != NULL)
			csv_put_field(b, s, strlen(s));
	}
}

void
acct_record_format(const struct acct_layout *l, const struct acct_event *ev,
    int iso, struct acct_timecache *tc, struct sbuf *b)
{
	const unsigned char *in = l->in_type[ev->type];

	for (size_t j = 0; j < l->ncols; j++) {
		if (j)
			sbuf_putc(b, ',');
		if (in != NULL && in[j])
			acct_put_column(b, &l->cols[j], ev, iso, tc);
	}
	sbuf_put(b, "\r\n", 2);
}
