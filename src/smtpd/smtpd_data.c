/*
 * smtpd_data.c -- DATA phase reader (see smtpd_data.h for the invariants).
 *
 * Complete lines inside the first evbuffer chunk are handled in place (one
 * memchr per line, one drain per chunk); only a line that straddles two
 * chunks is pulled up. Over-long lines are skipped without being stored.
 */
#include <string.h>

#include <event2/buffer.h>

#include "smtpd/smtpd_data.h"

void
smtpd_data_begin(struct smtpd_data *d, struct sbuf *out, size_t max_size,
    size_t max_line)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->max_size = max_size;
	d->max_line = max_line;
	d->prev_crlf = 1;	/* the DATA command ended in CRLF */
	sbuf_reset(out);
}

/* One complete line (ending in LF). Returns 1 if it is the end of data. */
static int
data_line(struct smtpd_data *d, const char *line, size_t n)
{
	int crlf = n >= 2 && line[n - 2] == '\r';
	size_t clen = n - (crlf ? 2 : 1), off;

	if (d->prev_crlf && crlf && clen == 1 && line[0] == '.')
		return 1;
	off = d->prev_crlf && clen > 0 && line[0] == '.';
	if (!crlf || (clen && memchr(line, '\r', clen)))
		d->err |= SMTPD_DATA_ERR_BARE;
	if (clen && memchr(line, '\0', clen))
		d->err |= SMTPD_DATA_ERR_NUL;
	if (n - off > d->max_line)
		d->err |= SMTPD_DATA_ERR_LINE;
	d->prev_crlf = crlf;
	if (d->err)
		return 0;
	if (d->max_size && d->out->len + (n - off) > d->max_size) {
		d->err |= SMTPD_DATA_ERR_SIZE;
		return 0;
	}
	sbuf_put(d->out, line + off, n - off);
	return 0;
}

/* Inside an over-long line: drop bytes up to and including its LF. */
static size_t
data_skip(struct smtpd_data *d, const char *p, size_t len)
{
	const char *lf = memchr(p, '\n', len);

	if (lf == NULL) {
		d->skip_last_cr = p[len - 1] == '\r';
		return len;
	}
	d->prev_crlf = lf > p ? lf[-1] == '\r' : d->skip_last_cr;
	d->skipping = 0;
	return (size_t)(lf - p) + 1;
}

/* Lines inside one contiguous chunk; sets *done at the end of data. */
static size_t
data_chunk(struct smtpd_data *d, const char *p, size_t len, int *done)
{
	size_t used = 0, n;
	const char *lf;

	while (used < len) {
		if (d->skipping) {
			used += data_skip(d, p + used, len - used);
			continue;
		}
		if ((lf = memchr(p + used, '\n', len - used)) == NULL)
			break;
		n = (size_t)(lf - (p + used)) + 1;
		if (data_line(d, p + used, n)) {
			*done = 1;
			return used + n;
		}
		used += n;
	}
	return used;
}

/* The first line straddles chunks (or is incomplete). */
static int
data_straddle(struct smtpd_data *d, struct evbuffer *in, int *done)
{
	struct evbuffer_ptr ptr;
	size_t n, len = evbuffer_get_length(in);
	char c = 0;

	ptr = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (ptr.pos < 0) {
		if (len <= d->max_line + 1)
			return 0;	/* need more */
		d->err |= SMTPD_DATA_ERR_LINE;
		d->skipping = 1;
		evbuffer_ptr_set(in, &ptr, len - 1, EVBUFFER_PTR_SET);
		evbuffer_copyout_from(in, &ptr, &c, 1);
		d->skip_last_cr = c == '\r';
		evbuffer_drain(in, len);
		d->total += len;
		return 0;
	}
	n = (size_t)ptr.pos + 1;
	if (n > d->max_line + 1) {
		d->err |= SMTPD_DATA_ERR_LINE;
		evbuffer_ptr_set(in, &ptr, n - 2, EVBUFFER_PTR_SET);
		evbuffer_copyout_from(in, &ptr, &c, 1);
		d->prev_crlf = c == '\r';
	} else
		*done = data_line(d, (const char *)evbuffer_pullup(in, n), n);
	evbuffer_drain(in, n);
	d->total += n;
	return 1;
}

int
smtpd_data_feed(struct smtpd_data *d, struct evbuffer *in)
{
	struct evbuffer_iovec v;
	size_t used;
	int done = 0;

	for (;;) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			return 0;
		used = data_chunk(d, v.iov_base, v.iov_len, &done);
		if (used == 0 && data_straddle(d, in, &done) == 0)
			return 0;
		if (used > 0) {
			evbuffer_drain(in, used);
			d->total += used;
		}
		if (done)
			return 1;
	}
}

const char *
smtpd_data_err_reply(unsigned err)
{
	if (err & SMTPD_DATA_ERR_SIZE)
		return "552 5.3.4 Message size exceeds fixed maximum message size";
	if (err & SMTPD_DATA_ERR_BARE)
		return "554 5.6.0 Message rejected: bare CR or LF in message "
		    "data (RFC 5321 2.3.8)";
	if (err & SMTPD_DATA_ERR_NUL)
		return "554 5.6.0 Message rejected: NUL byte in message data";
	if (err & SMTPD_DATA_ERR_LINE)
		return "554 5.6.0 Message rejected: line too long in message "
		    "data";
	return "451 4.3.0 Internal error";
}
