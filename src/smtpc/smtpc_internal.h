/*
 * smtpc_internal.h -- private interfaces of src/smtpc/.
 *
 * Pure parts (unit-tested, no I/O): smtpc_reply.c (reply line assembly,
 * enhanced status codes), smtpc_ext.c (EHLO keywords), smtpc_dot.c
 * (dot-stuffing, xtext). I/O parts: smtpc.c (connection, greeting, EHLO,
 * STARTTLS, timeouts, close) and smtpc_txn.c (MAIL/RCPT/DATA, pipelining).
 * Ownership: buffers in these structs belong to the struct.
 */
#ifndef SLUICE_SMTPC_INTERNAL_H
#define SLUICE_SMTPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"
#include "smtpc/smtpc.h"

#define SMTPC_LINE_MAX	8192	/* longest reply line we accept */
#define SMTPC_LINES_MAX	256	/* most lines in one reply */

/* ---- smtpc_reply.c ----------------------------------------------------- */

struct smtpc_rbuf {
	int		 code;		/* 0 until the first line */
	int		 done;
	char		 enh[16];	/* "5.1.1" or "" */
	struct sbuf	 text;		/* "550 5.1.1 line1 line2" */
	struct sbuf	 lines;		/* text of each line, '\n'-ended */
	size_t		 nlines;
};

void smtpc_rbuf_init(struct smtpc_rbuf *rb);
void smtpc_rbuf_fini(struct smtpc_rbuf *rb);
void smtpc_rbuf_reset(struct smtpc_rbuf *rb);
/*
 * Feed one reply line without its line ending. Returns 1 when the reply is
 * complete (the last line had "ddd " or just "ddd"), 0 when more lines
 * follow, -1 on a malformed line (no 3-digit 2xx-5xx code, bad separator,
 * code changing between lines, too many lines): a protocol error.
 */
int smtpc_rbuf_line(struct smtpc_rbuf *rb, const char *line, size_t len);
/*
 * RFC 3463 enhanced status code at the start of text: "c.s.d" with class
 * 2, 4 or 5 equal to the reply class, subject and detail of 1-3 digits,
 * followed by a space or the end. Copies it to enh (>= 16 bytes) and
 * returns its length, or 0.
 */
size_t smtpc_reply_enh(int code, const char *text, size_t len, char *enh);

/* ---- smtpc_ext.c ------------------------------------------------------- */

enum {
	SMTPC_EXT_PIPELINING	= 1 << 0,
	SMTPC_EXT_SIZE		= 1 << 1,
	SMTPC_EXT_8BITMIME	= 1 << 2,
	SMTPC_EXT_STARTTLS	= 1 << 3,
	SMTPC_EXT_DSN		= 1 << 4,
	SMTPC_EXT_ENHANCED	= 1 << 5,
	SMTPC_EXT_SMTPUTF8	= 1 << 6,
	SMTPC_EXT_CHUNKING	= 1 << 7,
};

struct smtpc_ext {
	unsigned	 flags;
	uint64_t	 size_max;	/* SIZE parameter, 0 = none */
	struct sbuf	 names;		/* keywords in order, comma-joined */
};

void smtpc_ext_init(struct smtpc_ext *e);
void smtpc_ext_fini(struct smtpc_ext *e);
/* Parse the lines of a 250 EHLO reply (rb->lines); the first line is the
 * server's greeting name and carries no keyword. Replaces earlier data. */
void smtpc_ext_parse(struct smtpc_ext *e, const char *lines, size_t len);

/* ---- smtpc_dot.c ------------------------------------------------------- */

/*
 * Append data to out dot-stuffed (RFC 5321 §4.5.2), with bare CR or LF
 * turned into CRLF (no SMTP smuggling downstream), a final CRLF added if
 * missing, and the terminating ".\r\n".
 */
void smtpc_dot_stuff(const char *data, size_t len, struct sbuf *out);
/* 1 if any byte of s[0..len) is >= 0x80. */
int smtpc_has_8bit(const char *s, size_t len);
/* RFC 3461 §4 xtext encoding of s appended to out. */
void smtpc_xtext(const char *s, struct sbuf *out);

#endif
