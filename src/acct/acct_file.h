/*
 * acct_file.h -- one accounting output file on disk (internal to acct).
 *
 * Used only by the writer thread (after acct_file_init on the opening
 * thread). The live file is <dir>/<stem>-YYYY-MM-DD-NNNN<ext>, named from
 * the configured path <dir>/<stem><ext> and the local date when the file
 * is started; NNNN is the first number free in dir (and in move-to). A
 * finished file stays where it is, or is renamed into move-to.
 * Invariants: fd >= 0 between acct_file_start() and acct_file_finish();
 * every started file begins with the header line.
 */
#ifndef SLUICE_ACCT_FILE_H
#define SLUICE_ACCT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"

struct acct_file {
	char		*dir;		/* "/var/log/sluice" */
	char		*stem;		/* "acct" */
	char		*ext;		/* ".csv" or "" */
	char		*move_to;	/* NULL = none */
	uint64_t	 max_size;
	int64_t		 move_interval;
	int64_t		 delete_after;	/* -1 = never */
	int		 sync;
	struct sbuf	 header;	/* header line incl. CRLF */

	int		 fd;
	char		*cur;		/* path of the live file */
	uint64_t	 size;		/* bytes in the live file */
	uint64_t	 nrec;		/* records in the live file */
	int64_t		 started;	/* unix time the live file began */
	int64_t		 last_prune;
	uint64_t	 nstarted;	/* files started so far */
};

/* Split path and copy settings; -1 with err (bad path). */
int acct_file_init(struct acct_file *f, const char *path, const char *move_to,
    char *err, size_t errlen);
void acct_file_fini(struct acct_file *f);
/* Start a new live file and write the header; -1 (logged) on I/O error. */
int acct_file_start(struct acct_file *f, int64_t now);
/* Close the live file (rename into move-to); empty ones are removed. */
void acct_file_finish(struct acct_file *f);
/* Finish and start a new file, then prune; -1 if the new one failed. */
int acct_file_rotate(struct acct_file *f, int64_t now);
/* Write bytes of whole records; 0, or -1 (logged) with *done bytes
 * written so far. */
int acct_file_write(struct acct_file *f, const char *p, size_t len,
    size_t nrec, size_t *done);
/* Remove finished files older than delete-after (not with move-to). */
void acct_file_prune(struct acct_file *f, int64_t now);
/* Is s (a directory entry) "<stem>-YYYY-MM-DD-NNNN<ext>"? */
int acct_file_name_match(const struct acct_file *f, const char *s);

#endif
