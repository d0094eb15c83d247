/*
 * an_trend.h -- trend detection over the time buckets: the first third of
 * the buckets is compared with the last third for a rising deferral rate
 * (overall and per ISP), shifting rejection reasons (share of a dsnDiag
 * class among failures) and growing time in queue (median).
 * Needs at least 3 buckets with traffic; otherwise reports nothing.
 */
#ifndef SLUICE_AN_TREND_H
#define SLUICE_AN_TREND_H

#include <stddef.h>

#include "analyser/an_agg.h"

struct an_trend {
	const char	*kind;		/* static */
	char		 subject[64];
	double		 before, after;
	int		 seconds;	/* values are seconds, else percent */
	char		 msg[256];
};

struct an_trends {
	struct an_trend	*v;
	size_t		 n;
};

/* Bucket indices of a's bucket table in time order; caller frees. */
size_t *an_buckets_sorted(const struct an_agg *a);
void an_trends_eval(const struct an_agg *a, struct an_trends *out);
void an_trends_fini(struct an_trends *t);

#endif
