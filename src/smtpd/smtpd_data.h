/*
 * smtpd_data.h -- DATA phase reader: end-of-data detection, dot-unstuffing
 * and strict CRLF checking, straight out of a libevent evbuffer.
 *
 * Invariants: the only end of data is CRLF "." CRLF, where the first CRLF
 * is the end of the previous line (or of the DATA command). A line that
 * ends in a bare LF, contains a bare CR or a NUL, or is longer than
 * max_line, marks the message bad (err bits) but never ends it, so no
 * malformed ending ("\n.\n", "\r.\r", "\r\n.\n", "\r\n\0.\r\n", ...) is
 * taken as end of data. After an error nothing more is stored; the reader
 * only looks for the real end. The stored bytes are the received bytes,
 * CRLF kept, leading dots unstuffed.
 * Ownership: the reader appends to the caller's sbuf and drains exactly the
 * bytes it consumed from the evbuffer; bytes after the end stay there.
 */
#ifndef SLUICE_SMTPD_DATA_H
#define SLUICE_SMTPD_DATA_H

#include <stddef.h>

#include "lib/sbuf.h"

struct evbuffer;

#define SMTPD_DATA_ERR_BARE	0x01	/* bare CR or bare LF */
#define SMTPD_DATA_ERR_NUL	0x02	/* NUL byte */
#define SMTPD_DATA_ERR_LINE	0x04	/* line longer than max_line */
#define SMTPD_DATA_ERR_SIZE	0x08	/* message larger than max_size */

struct smtpd_data {
	struct sbuf	*out;
	size_t		 max_size;	/* 0 = unlimited */
	size_t		 max_line;	/* incl CRLF, after unstuffing */
	size_t		 total;		/* bytes consumed from the wire */
	unsigned	 err;		/* SMTPD_DATA_ERR_* */
	int		 prev_crlf;	/* previous line ended in CRLF */
	int		 skipping;	/* inside an over-long line */
	int		 skip_last_cr;	/* last skipped byte was CR */
};

/* Start a message; out is reset. */
void smtpd_data_begin(struct smtpd_data *d, struct sbuf *out, size_t max_size,
    size_t max_line);

/*
 * Consume what is available. Returns 1 once the end-of-data line has been
 * consumed (then check d->err), 0 if more input is needed.
 */
int smtpd_data_feed(struct smtpd_data *d, struct evbuffer *in);

/* The SMTP reply for d->err != 0 (the first, most relevant, error). */
const char *smtpd_data_err_reply(unsigned err);

#endif
