/*
 * an_alert.h -- threshold alerts over an aggregate (defaults from the
 * operational notes): deferral > 5% at an ISP (warning) or > 15%
 * (critical); deferral > 10% at an ISP on one source IP; bounce > 2% on a
 * source IP; a source IP with attempts but zero deliveries, or an
 * expected IP (--expect-ip) with no deliveries at all (critical).
 * Subjects with fewer than min_volume attempts are not judged.
 */
#ifndef SLUICE_AN_ALERT_H
#define SLUICE_AN_ALERT_H

#include <stddef.h>

#include "analyser/an_agg.h"

enum an_level { AN_WARN = 1, AN_CRIT = 2 };

struct an_alert {
	enum an_level	 level;
	const char	*kind;		/* static */
	char		 subject[160];
	double		 value, threshold;
	char		 msg[256];
};

struct an_alerts {
	struct an_alert	*v;
	size_t		 n;
	int		 max_level;
};

void an_alerts_eval(const struct an_agg *a, struct an_alerts *out);
void an_alerts_fini(struct an_alerts *al);
const char *an_level_name(enum an_level l);

#endif
