/*
 * shape_rollup.c -- map a domain to an <mx-rollup-list> queue from its
 * lowest-preference MX host names (PowerMTA MX rollup, docs/shaping.md).
 *
 * Rules: only the lowest-preference MXs are given; every one must match an
 * entry (exact name, or "*.suffix" for names strictly under suffix) of the
 * same rollup name; a name with more exact entries than DNS returned MXs
 * does not match; disable-mx-rollup turns it off. Names compare
 * case-insensitively, trailing dots ignored. Pure: no allocation.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "shape/shape.h"

/* Length of s without one trailing dot. */
static size_t
name_len(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

/* 1 if host (len hl) matches pattern (exact or "*.suffix"). */
static int
host_match(const char *pat, const char *host, size_t hl)
{
	size_t pl;

	if (strncmp(pat, "*.", 2) == 0) {
		pat += 2;
		pl = name_len(pat);
		return hl > pl + 1 && host[hl - pl - 1] == '.' &&
		    strncasecmp(host + hl - pl, pat, pl) == 0;
	}
	pl = name_len(pat);
	return pl == hl && strncasecmp(host, pat, hl) == 0;
}

/* 1 if domains with lowest MXs mx[] roll into `name`. */
static int
rollup_fits(const struct conf_rollup *r, size_t nr, const char *name,
    const char *const *mx, size_t nmx)
{
	size_t exact = 0;

	for (size_t i = 0; i < nr; i++)
		if (strcasecmp(r[i].name, name) == 0 &&
		    strncmp(r[i].mx, "*.", 2) != 0)
			exact++;
	if (exact > nmx)
		return 0;
	for (size_t k = 0; k < nmx; k++) {
		size_t hl = name_len(mx[k]);
		int ok = 0;

		for (size_t i = 0; i < nr && !ok; i++)
			ok = strcasecmp(r[i].name, name) == 0 &&
			    host_match(r[i].mx, mx[k], hl);
		if (!ok)
			return 0;
	}
	return 1;
}

const char *
shape_rollup_match(const struct conf_rollup *rollups, size_t nrollups,
    int disable_mx_rollup, const char *const *mx, size_t nmx)
{
	if (disable_mx_rollup || nmx == 0 || nrollups == 0)
		return NULL;
	for (size_t i = 0; i < nrollups; i++) {
		int seen = 0;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcasecmp(rollups[j].name,
			    rollups[i].name) == 0;
		if (!seen && rollup_fits(rollups, nrollups, rollups[i].name,
		    mx, nmx))
			return rollups[i].name;
	}
	return NULL;
}

const char *
shape_rollup_queue(const struct conf *c, const struct conf_domain *dom,
    const char *const *mx, size_t nmx)
{
	return shape_rollup_match(c->rollups, c->nrollups,
	    dom != NULL && dom->disable_mx_rollup, mx, nmx);
}
