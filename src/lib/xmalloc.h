/*
 * xmalloc.h -- allocation that aborts on out-of-memory.
 *
 * Every function here either returns usable memory or terminates the
 * process (tier 2 of the error policy in docs/architecture.md). Sizes are
 * overflow-checked. Returned memory is owned by the caller.
 */
#ifndef SLUICE_XMALLOC_H
#define SLUICE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
