/* SPDX-License-Identifier: ISC
 *
 * dkim_canon.h -- RFC 6376 §3.4 "simple" and "relaxed" canonicalisation.
 *
 * Pure code: no OpenSSL, no I/O, no globals. Header fields are
 * canonicalised one at a time into an sbuf; the body is canonicalised as a
 * byte stream (chunks may split lines, even a CR from its LF) and handed
 * to an emit callback in blocks, so the caller can feed a digest with it.
 * Trailing blank lines are only counted and emitted lazily, once a later
 * non-blank line proves they are not trailing (RFC 6376 §3.4.3/§3.4.4).
 * Bare LF is accepted as a line end and canonicalised as CRLF (what goes
 * on the wire); a CR not followed by LF is ordinary data.
 */
#ifndef SLUICE_DKIM_CANON_H
#define SLUICE_DKIM_CANON_H

#include <stddef.h>
#include <stdint.h>

#include "dkim/dkim.h"
#include "lib/sbuf.h"

/*
 * Append the canonical form of one header field to out, WITHOUT a
 * trailing CRLF. field is the raw field "Name: value" including any
 * continuation lines but excluding the final line break.
 */
void dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
    struct sbuf *out);

typedef void dkim_canon_emit_fn(void *arg, const void *data, size_t len);

#define DKIM_CANON_OBUF 4096

struct dkim_body_canon {
	enum dkim_canon		 canon;
	dkim_canon_emit_fn	*emit;
	void			*arg;
	uint64_t		 blank;		/* blank lines not yet emitted */
	uint64_t		 emitted;	/* bytes handed to emit so far */
	int			 in_line;	/* current line has content */
	int			 pending_wsp;	/* relaxed: WSP run not emitted */
	int			 pending_cr;	/* last byte seen was CR */
	size_t			 olen;
	char			 obuf[DKIM_CANON_OBUF];
};

/* Start a body; emit(arg, ...) receives the canonical bytes. */
void dkim_body_canon_init(struct dkim_body_canon *bc, enum dkim_canon c,
    dkim_canon_emit_fn *emit, void *arg);
/* Feed len bytes of body (any chunking). */
void dkim_body_canon_update(struct dkim_body_canon *bc, const char *data,
    size_t len);
/* Finish: closes an unterminated last line, applies the empty-body rule,
 * flushes. Returns the total number of canonical bytes emitted. */
uint64_t dkim_body_canon_final(struct dkim_body_canon *bc);

#endif
