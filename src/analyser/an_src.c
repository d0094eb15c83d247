/*
 * an_src.c -- plain/gzip/zstd byte source over a file descriptor.
 *
 * Invariant: in[inpos..inlen) holds raw bytes not yet consumed; for plain
 * sources they are served before reading the fd again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyser/an_src.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define AN_SRC_INCAP	(256 * 1024)

enum an_src_kind
an_src_sniff(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return AN_SRC_GZIP;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	    p[3] == 0xfd)
		return AN_SRC_ZSTD;
	return AN_SRC_PLAIN;
}

static int
an_src_fill(struct an_src *s)
{
	ssize_t n;

	if (s->inpos < s->inlen || s->in_eof)
		return 0;
	s->inpos = s->inlen = 0;
	do {
		n = read(s->fd, s->in, s->incap);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		s->in_eof = 1;
	s->inlen = (size_t)n;
	s->raw_bytes += (uint64_t)n;
	return 0;
}

int
an_src_open_fd(struct an_src *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->incap = AN_SRC_INCAP;
	s->in = xmalloc(s->incap);
	/* Read until 4 bytes or EOF, to sniff the magic. */
	while (s->inlen < 4 && !s->in_eof) {
		ssize_t n = read(fd, s->in + s->inlen, s->incap - s->inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			s->in_eof = 1;
		s->inlen += (size_t)n;
		s->raw_bytes += (uint64_t)n;
	}
	s->kind = an_src_sniff(s->in, s->inlen);
	if (s->kind == AN_SRC_GZIP && inflateInit2(&s->zs, 15 + 32) != Z_OK)
		return errno = ENOMEM, -1;
	if (s->kind == AN_SRC_ZSTD && (s->zd = ZSTD_createDStream()) == NULL)
		return errno = ENOMEM, -1;
	return 0;
}

static ssize_t
an_src_gz(struct an_src *s, char *buf, size_t cap, const char *name)
{
	int rc;

	while (!s->done) {
		if (an_src_fill(s) != 0)
			return -1;
		s->zs.next_in = s->in + s->inpos;
		s->zs.avail_in = (uInt)(s->inlen - s->inpos);
		s->zs.next_out = (Bytef *)buf;
		s->zs.avail_out = (uInt)cap;
		rc = inflate(&s->zs, Z_NO_FLUSH);
		s->inpos = s->inlen - s->zs.avail_in;
		if (rc == Z_STREAM_END) {
			if (an_src_fill(s) != 0)
				return -1;
			if (s->inpos == s->inlen && s->in_eof)
				s->done = 1;	/* else: next member */
			else
				inflateReset(&s->zs);
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			log_warnx("%s: gzip data error: %s", name,
			    s->zs.msg ? s->zs.msg : "corrupt");
			errno = 0;
			return -1;
		} else if (rc == Z_BUF_ERROR && s->in_eof &&
		    s->inpos == s->inlen && s->zs.avail_out == cap) {
			log_warnx("%s: truncated gzip data", name);
			errno = 0;
			return -1;
		}
		if (s->zs.avail_out < cap)
			return (ssize_t)(cap - s->zs.avail_out);
	}
	return 0;
}

static ssize_t
an_src_zst(struct an_src *s, char *buf, size_t cap, const char *name)
{
	ZSTD_inBuffer in;
	ZSTD_outBuffer out = { buf, cap, 0 };
	size_t rc;

	while (!s->done) {
		if (an_src_fill(s) != 0)
			return -1;
		if (s->in_eof && s->inpos == s->inlen) {
			s->done = 1;
			if (s->zpending) {
				log_warnx("%s: truncated zstd data", name);
				errno = 0;
				return -1;
			}
			break;
		}
		in.src = s->in;
		in.size = s->inlen;
		in.pos = s->inpos;
		rc = ZSTD_decompressStream(s->zd, &out, &in);
		s->inpos = in.pos;
		if (ZSTD_isError(rc)) {
			log_warnx("%s: zstd data error: %s", name,
			    ZSTD_getErrorName(rc));
			errno = 0;
			return -1;
		}
		s->zpending = rc != 0;	/* 0: a frame ended, fully flushed */
		if (out.pos > 0)
			return (ssize_t)out.pos;
	}
	return 0;
}

ssize_t
an_src_read(struct an_src *s, char *buf, size_t cap, const char *name)
{
	size_t n;

	switch (s->kind) {
	case AN_SRC_GZIP:
		return an_src_gz(s, buf, cap, name);
	case AN_SRC_ZSTD:
		return an_src_zst(s, buf, cap, name);
	default:
		if (an_src_fill(s) != 0)
			return -1;
		n = s->inlen - s->inpos < cap ? s->inlen - s->inpos : cap;
		memcpy(buf, s->in + s->inpos, n);
		s->inpos += n;
		return (ssize_t)n;
	}
}

void
an_src_close(struct an_src *s)
{
	if (s->kind == AN_SRC_GZIP)
		inflateEnd(&s->zs);
	if (s->zd)
		ZSTD_freeDStream(s->zd);
	free(s->in);
	if (s->fd > 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
