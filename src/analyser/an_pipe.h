/*
 * an_pipe.h -- one stream input (a .gz/.zst file, stdin, a pipe) parsed by
 * several threads. The calling thread decompresses into large blocks cut
 * at record boundaries (found with the parser's own record scan, so a
 * record spanning two reads is carried over whole) and tagged with their
 * first line number and the header in effect; parser threads parse the
 * blocks; results are merged in input order, a block whose header guess
 * proves wrong being re-read, so every report, line number and message is
 * what a single thread would produce. At most a few blocks are in flight:
 * when they are all waiting, the decompressing thread parses one itself.
 * Ownership: the source stays the caller's; blocks belong to the pipeline.
 */
#ifndef SLUICE_AN_PIPE_H
#define SLUICE_AN_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "analyser/an_agg.h"
#include "analyser/an_src.h"

struct an_pipe_args {
	const struct an_ctx *ctx;
	const char	*file;		/* name in messages */
	struct an_src	*src;		/* open source, read to its end */
	int		 helpers;	/* parser threads besides the caller */
	size_t		 block;		/* target block size (decompressed) */
	uint64_t	*done_bytes;	/* progress: raw bytes read (atomic) */
};

struct an_pipe_stats {
	uint64_t	 blocks;	/* blocks parsed */
	uint64_t	 reparsed;	/* of which re-read (wrong header) */
};

/*
 * Parse the whole source into agg. ps (initialised, no preset, feeding
 * agg) is left as a serial an_parser_feed() of the stream would leave it:
 * line, headers, short_rows and the header in effect. Helper threads are
 * started only once the input proves larger than one block. Adds its
 * block counts to *st. Returns 0, or -1 after a read or
 * decompression error (logged; what was read before it still counts).
 */
int an_pipe_run(const struct an_pipe_args *a, struct an_parser *ps,
    struct an_agg *agg, struct an_pipe_stats *st);

#endif
