/*
 * an_src.h -- byte sources for the analyser: a file descriptor carrying
 * plain text, gzip (zlib, multi-member) or zstd, told apart by magic bytes,
 * so stdin and pipes work as well as files.
 * Ownership: an_src_open_fd() takes the fd; an_src_close() closes it.
 */
#ifndef SLUICE_AN_SRC_H
#define SLUICE_AN_SRC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include <zstd.h>

enum an_src_kind { AN_SRC_PLAIN, AN_SRC_GZIP, AN_SRC_ZSTD };

struct an_src {
	int		 fd;
	enum an_src_kind kind;
	unsigned char	*in;
	size_t		 inlen, inpos, incap;
	int		 in_eof;
	int		 done;
	uint64_t	 raw_bytes;	/* bytes read from fd */
	z_stream	 zs;
	ZSTD_DStream	*zd;
	int		 zpending;	/* zstd frame not complete yet */
};

/* Sniff the format (reads a few bytes). 0, or -1 with errno set. */
int an_src_open_fd(struct an_src *s, int fd);
/*
 * Decompressed bytes into buf; 0 at end; -1 on error (logged, errno 0 for
 * corrupt or truncated data, else the read error).
 */
ssize_t an_src_read(struct an_src *s, char *buf, size_t cap,
    const char *name);
void an_src_close(struct an_src *s);
/* Format of the first bytes of a file. */
enum an_src_kind an_src_sniff(const unsigned char *p, size_t n);

#endif
