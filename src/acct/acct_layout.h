/*
 * acct_layout.h -- column layout of one accounting file (internal to acct).
 *
 * Built once from an acctw_file: the per-type field lists (record-fields,
 * "*" = that type's default, "!name" excludes, header_X allowed) and their
 * union, which is the file's header line. `type` is always column 0.
 * Invariants: every column appears once in cols[]; in_type[t][j] says
 * whether type t fills column j. Owned by the acct_layout; read-only after
 * acct_layout_build(), so the loop thread may use it without locks.
 */
#ifndef SLUICE_ACCT_LAYOUT_H
#define SLUICE_ACCT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"
#include "proto/acct_schema.h"

struct acctw_file;

/* One column: a schema field, or (field == -1) a message header. */
struct acct_col {
	int		 field;
	char		*hdr;		/* "Message-Id" for header_Message-Id */
};

struct acct_layout {
	uint32_t	 records;	/* effective record-type bits */
	struct acct_col	*cols;
	size_t		 ncols;
	unsigned char	*in_type[ACCT_R__COUNT];	/* ncols flags each */
};

/* The built-in field list of a record type (for "*"). */
const enum acct_field *acct_layout_defaults(enum acct_rtype t, size_t *n);

/* 0, or -1 with err "record-fields TYPE: message". */
int acct_layout_build(struct acct_layout *l, const struct acctw_file *f,
    char *err, size_t errlen);
void acct_layout_free(struct acct_layout *l);
/* Append the header line (with CRLF). */
void acct_layout_header(const struct acct_layout *l, struct sbuf *b);

#endif
