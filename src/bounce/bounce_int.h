/*
 * bounce_int.h -- internals shared by the bounce module's files.
 */
#ifndef SLUICE_BOUNCE_INT_H
#define SLUICE_BOUNCE_INT_H

#include <stddef.h>

/* One built-in rule: a PCRE2 pattern (matched caselessly against
 * "<status>;<diag>") and the category it gives. */
struct bounce_default {
	const char	*re;
	const char	*cat;
};

extern const struct bounce_default bounce_defaults[];
extern const size_t bounce_ndefaults;

#endif
