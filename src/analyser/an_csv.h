/*
 * an_csv.h -- RFC 4180 record scanner for accounting files (reader side).
 *
 * Works in place on a byte buffer (mmap or decompression buffer): nothing
 * is copied or allocated per field. A field span includes its quotes when
 * quoted; an_csv_unquote() turns it into the value. Records end at an LF
 * outside quotes; a CR before that LF is not part of the record.
 */
#ifndef SLUICE_AN_CSV_H
#define SLUICE_AN_CSV_H

#include <stddef.h>
#include <stdint.h>

struct an_span {
	const char	*p;
	uint32_t	 len;
};

/*
 * Find the LF that ends the record starting at p, scanning no further than
 * end. Returns it, or NULL when end is reached first; *inq is then 1 if the
 * scan stopped inside a quoted field. *nl_in counts the LFs passed inside
 * quoted fields (the record's extra physical lines). Quoted fields are
 * those an_csv_split() sees: a '"' elsewhere than at a field start is data.
 */
const char *an_csv_record_end(const char *p, const char *end, int *inq,
    int *nl_in);

/*
 * Split record [p, end) into at most maxcols fields, continuing from field
 * *ncols whose start is *pos (start with *ncols = 0, *pos = p). Returns
 * the number of fields now in cols; *pos is left after the last field
 * (== end when the record is exhausted, NULL-safe to call again).
 */
size_t an_csv_split(const char *end, struct an_span *cols, size_t maxcols,
    size_t *ncols, const char **pos);

/* Is the span a quoted field? */
static inline int
an_csv_is_quoted(struct an_span s)
{
	return s.len >= 1 && s.p[0] == '"';
}

/*
 * Unquote a field into out (at least s.len bytes): strip the outer quotes
 * and undouble inner quotes. Unquoted spans are copied as is. Returns the
 * value length.
 */
size_t an_csv_unquote(struct an_span s, char *out);

#endif
