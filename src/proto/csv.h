/*
 * csv.h -- RFC 4180 field writer, as PowerMTA writes accounting files.
 *
 * A value is double-quoted only if it contains a comma, a double quote, CR
 * or LF; a quote inside is doubled. Records end in CRLF. (The streaming
 * reader lives with the analyser, src/analyser/csv_read.c.)
 */
#ifndef SLUICE_CSV_H
#define SLUICE_CSV_H

#include <stddef.h>

#include "lib/sbuf.h"

/* Append one field (no separator). s may be NULL (empty field). */
void csv_put_field(struct sbuf *b, const char *s, size_t len);
/* Does the value need quoting? */
int csv_needs_quote(const char *s, size_t len);

#endif
