/*
 * acctw.h -- accounting file writer (<acct-file> blocks), PowerMTA format.
 *
 * One acctw handles all configured <acct-file>s. acctw_write() formats the
 * record on the caller's (loop) thread into memory and returns at once; a
 * writer thread appends to the files, so the loop never blocks on disk.
 * Each file starts with one union header line for the record types and
 * field lists it carries (PowerMTA §11.2.9); records fill their own columns.
 * Rotation by max-size and move-interval names files like PowerMTA does
 * (acct-YYYY-MM-DD-NNNN.csv, or moved to move-to); delete-after prunes.
 * Field values come from the shared schema in proto/acct_schema.h.
 */
#ifndef SLUICE_ACCTW_H
#define SLUICE_ACCTW_H

#include <stddef.h>
#include <stdint.h>

#include "proto/acct_schema.h"

struct acctw;

struct acctw_file {
	const char	*path;		/* "/var/log/sluice/acct.csv" */
	uint32_t	 records;	/* bit (1u << ACCT_R_x); 0 = d,b */
	/* record-fields per type: names as in the header, "*" = default
	 * 23, "!name" excludes; NULL = "*" */
	const char	*record_fields[ACCT_R__COUNT];
	uint64_t	 max_size;	/* bytes; 0 = 250M */
	int64_t		 move_interval;	/* seconds; 0 = 1d (only with move_to) */
	const char	*move_to;	/* NULL = rotate in place */
	int64_t		 delete_after;	/* seconds; 0 = 8d; -1 = never */
	int		 iso_times;	/* 1 (default) or 0 = time_t */
	int		 sync;		/* fdatasync after each batch */
	/* Extension: bytes of formatted records buffered for this file
	 * before new records are dropped (counted, logged); 0 = 512M. */
	uint64_t	 max_pending;
};

/* One event. Times are unix seconds; string fields NULL = empty. */
struct acct_event {
	enum acct_rtype	 type;
	int64_t		 time_logged;
	int64_t		 time_queued;
	const char	*v[ACCT_F__COUNT];	/* other fields by enum acct_field */
	/* Extension: the message's header block (RFC 5322, CRLF or LF) for
	 * header_X columns; NULL = those columns are empty. Borrowed. */
	const char	*hdrs;
	size_t		 hdrs_len;
};

/* Extension: counters since acctw_open, summed over files (a record
 * written to two files counts twice). */
struct acctw_stats {
	uint64_t	 queued;	/* accepted into a buffer */
	uint64_t	 written;	/* handed to write(2) successfully */
	uint64_t	 dropped;	/* refused: buffer past max_pending, or
					 * unwritable at close */
	uint64_t	 files;		/* files started (incl. the first) */
};

/* NULL with err "path: message" on a bad field list or unwritable file. */
struct acctw *acctw_open(const struct acctw_file *files, size_t nfiles,
    char *err, size_t errlen);
/* Queue one record for every file whose `records` include its type. */
void acctw_write(struct acctw *w, const struct acct_event *ev);
/* Start new files now (`sluice rotate acct`). */
void acctw_rotate(struct acctw *w);
/* Wait until everything queued so far is written (tests, shutdown). */
void acctw_flush(struct acctw *w);
/* Extension: copy the counters (thread-safe). */
void acctw_get_stats(struct acctw *w, struct acctw_stats *st);
/* Flush, stop the thread, close. NULL is a no-op. */
void acctw_close(struct acctw *w);

#endif
