/*
 * an_run.h -- read all inputs into one aggregate, using worker threads.
 *
 * Inputs are processed as jobs: a compressed file, stdin or a pipe is one
 * streaming job (when it is the only input, decompressed by one thread and
 * parsed in blocks by the others, see an_pipe.h); a large plain file is
 * mmap'ed and split at line boundaries into one chunk per thread. A chunk
 * after the first guesses its starting header and that it starts on a
 * record boundary; both are verified against the previous chunk's real
 * end state and the chunk is re-read serially when the guess was wrong
 * (e.g. the split fell inside a quoted field holding a line break).
 * Results are merged in input order as soon as all earlier jobs are done,
 * and freed, so memory does not grow with the number of inputs; files are
 * opened by the worker reading them.
 */
#ifndef SLUICE_AN_RUN_H
#define SLUICE_AN_RUN_H

#include <stdint.h>

#include "analyser/an_agg.h"

struct an_run_stats {
	uint64_t	 bytes;		/* input bytes (compressed if so) */
	uint64_t	 lines;
	uint64_t	 headers;
	uint64_t	 short_rows;
	uint64_t	 files;
	uint64_t	 reparsed;	/* chunks/blocks re-read after a bad guess */
	uint64_t	 blocks;	/* blocks of a pipelined stream input */
	int		 io_errors;
	double		 seconds;
};

/* 0, or 1 if an input could not be read (the others are still used). */
int an_run(const struct an_ctx *ctx, struct an_agg *out,
    struct an_run_stats *st);

#endif
