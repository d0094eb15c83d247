/*
 * acct_record.h -- format one accounting record as a CSV line (internal).
 *
 * Pure functions: no locks, no I/O. The caller owns the sbuf.
 */
#ifndef SLUICE_ACCT_RECORD_H
#define SLUICE_ACCT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "acct/acct_layout.h"
#include "acct/acctw.h"
#include "lib/sbuf.h"

/* Last formatted times (timeLogged, timeQueued): formatting a time costs
 * more than the rest of a record, and consecutive records share them. */
struct acct_timecache {
	int64_t		 t[2];
	size_t		 len[2];
	char		 s[2][40];
};

/* Append ev as one CSV record ending in CRLF, columns per l. tc may be
 * NULL; it must start zeroed and belong to one thread at a time. */
void acct_record_format(const struct acct_layout *l,
    const struct acct_event *ev, int iso, struct acct_timecache *tc,
    struct sbuf *b);

/*
 * Find header `name` in a header block (stops at the first empty line),
 * unfold it and trim surrounding blanks. Returns 1 and sets *val and *vlen to
 * a malloc'd copy (caller frees), 0 if absent.
 */
int acct_header_get(const char *hdrs, size_t len, const char *name,
    char **val, size_t *vlen);

#endif
