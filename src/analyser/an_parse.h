/*
 * an_parse.h -- header-driven accounting record parser.
 *
 * Columns are found by name from each header line ("type,..." or
 * "#type,..."); a file may hold several headers (rotation, pipe restarts)
 * and each applies to the records after it. A file without a header gets
 * the PowerMTA default layout (22 columns -> pre-4.5 layout with
 * timeImprinted, otherwise the 23-column layout). Only the fields the
 * caller asked for (per record type) are located, so a summary touches one
 * column per record. Malformed records are logged to an an_errlog with
 * file:line and skipped; nothing is fatal.
 * Ownership: the parser owns its header copy; record spans point into the
 * caller's buffer and are valid only during the callback.
 */
#ifndef SLUICE_AN_PARSE_H
#define SLUICE_AN_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "analyser/an_csv.h"
#include "proto/acct_schema.h"

#define AN_MAXCOLS	256
#define AN_MAXREC	(1024 * 1024)
#define AN_ERR_KEEP	50

#define AN_FBIT(f)	((uint64_t)1 << (f))

struct an_err {
	char		*file;
	uint64_t	 line;
	char		*msg;
};

/* Malformed-record log: a count plus the first AN_ERR_KEEP messages. */
struct an_errlog {
	uint64_t	 n;
	size_t		 nkept;
	struct an_err	 kept[AN_ERR_KEEP];
};

void an_errlog_add(struct an_errlog *l, const char *file, uint64_t line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Move src's entries into dst, adding line_base to their line numbers. */
void an_errlog_merge(struct an_errlog *dst, struct an_errlog *src,
    uint64_t line_base);
void an_errlog_fini(struct an_errlog *l);

struct an_hdr {
	int16_t		 col_of[ACCT_F__COUNT];	/* column or -1 */
	int		 ncols;
	int		 inferred;
	char		*text;			/* owned copy, for comparison */
};

void an_hdr_init_default(struct an_hdr *h, int legacy);
void an_hdr_copy(struct an_hdr *dst, const struct an_hdr *src);
void an_hdr_fini(struct an_hdr *h);
/* Build from a header line (without line end). 0, or -1 if no "type". */
int an_hdr_parse(struct an_hdr *h, const char *p, size_t len);

struct an_rec {
	enum acct_rtype	 type;
	struct an_span	 f[ACCT_F__COUNT];	/* only needed fields set */
	const char	*file;
	uint64_t	 line;
};

typedef void an_rec_cb(void *arg, const struct an_rec *r);

struct an_parser {
	const char	*file;
	uint64_t	 line;		/* lines consumed so far */
	struct an_hdr	 hdr;
	int		 have_hdr;
	int		 hdr_assumed;	/* hdr is preset/inferred, not read */
	char		*assumed;	/* its text, once a record used it */
	int		 warned_nohdr;
	int		 skip_line;	/* rest of a bad line still to skip */
	uint64_t	 need[ACCT_R__COUNT];	/* fields needed per type */
	int		 maxcol[ACCT_R__COUNT];	/* derived from hdr + need */
	an_rec_cb	*cb;
	void		*arg;
	struct an_errlog *errs;
	const char	*stop_at;	/* no record may start at/after this */
	uint64_t	 records, headers, short_rows;
	struct an_rec	 rec;
	struct an_span	 cols[AN_MAXCOLS];
};

/* need[t] is the field mask wanted for records of type t. */
void an_parser_init(struct an_parser *ps, const char *file,
    const uint64_t need[ACCT_R__COUNT], an_rec_cb *cb, void *arg,
    struct an_errlog *errs);
/* Start with header h in effect (chunk that starts mid-file). */
void an_parser_preset(struct an_parser *ps, const struct an_hdr *h);
void an_parser_fini(struct an_parser *ps);
/*
 * Parse complete records in buf. With eof == 0 an incomplete last record
 * is left unconsumed; with eof != 0 everything is consumed. Returns the
 * number of bytes consumed.
 */
size_t an_parser_feed(struct an_parser *ps, const char *buf, size_t len,
    int eof);

/*
 * One step of the record scan, shared by an_parser_feed() and the block
 * cutter of an_pipe.c so both see the same record boundaries and line
 * counts: the record starting at p (p < end). AN_STEP_MORE: its end is not
 * in [p, end) yet (only when !eof). AN_STEP_REC: a record [p, re) (re
 * excludes the CR LF), lines = physical lines it spans. AN_STEP_BAD: no
 * record end within AN_MAXREC (or an unterminated quote at eof); skip to
 * after the first LF, lines = 1, why says what was wrong; skip_rest when
 * there is no LF before end, so the rest of that line is still to skip in
 * the data that follows. next is where the following record starts.
 */
enum an_step { AN_STEP_MORE, AN_STEP_REC, AN_STEP_BAD };

struct an_scan {
	const char	*next, *re, *why;
	uint64_t	 lines;
	int		 skip_rest;	/* BAD: its line goes on past end */
};

static inline enum an_step
an_rec_step(const char *p, const char *end, int eof, struct an_scan *sc)
{
	const char *lim = (size_t)(end - p) > AN_MAXREC ? p + AN_MAXREC : end;
	const char *nl;
	int inq, nl_in;

	nl = an_csv_record_end(p, lim, &inq, &nl_in);
	if (nl == NULL) {
		if (lim == end && !eof)
			return AN_STEP_MORE;
		if (inq || lim != end) {
			sc->why = !inq ? "line longer than 1 MiB" : lim == end ?
			    "unterminated quoted field at end of input" :
			    "quoted field longer than 1 MiB (unterminated?)";
			nl = memchr(p, '\n', (size_t)(end - p));
			sc->next = nl ? nl + 1 : end;
			sc->lines = 1;
			sc->skip_rest = nl == NULL;
			return AN_STEP_BAD;
		}
		nl = end;	/* last line without LF */
	}
	sc->re = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
	sc->lines = 1 + (uint64_t)nl_in;
	sc->next = nl < end ? nl + 1 : end;
	return AN_STEP_REC;
}

/* Is record [p, re) a header line (field 0 "type" or "#type")? */
int an_rec_is_header(const char *p, const char *re);

/* Record type from a code ("tq") or long name; -1 if unknown. */
int an_rtype_parse(const char *p, size_t len);

#endif
