/*
 * sbuf.h -- growable, length-carrying byte buffer.
 *
 * The buffer is always NUL-terminated (p[len] == 0) so it can be handed to
 * C string APIs, but it may also hold NUL bytes. Storage is owned by the
 * sbuf; sbuf_steal() transfers it to the caller.
 */
#ifndef SLUICE_SBUF_H
#define SLUICE_SBUF_H

#include <stddef.h>

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

void sbuf_init(struct sbuf *b);
void sbuf_fini(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_reserve(struct sbuf *b, size_t extra);
void sbuf_put(struct sbuf *b, const void *data, size_t len);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_putc(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *sbuf_steal(struct sbuf *b, size_t *len);

#endif
