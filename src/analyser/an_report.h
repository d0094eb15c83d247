/*
 * an_report.h -- build the report tables for the requested sections from
 * the final aggregate, and print them in the chosen format.
 */
#ifndef SLUICE_AN_REPORT_H
#define SLUICE_AN_REPORT_H

#include <stdio.h>

#include "analyser/an_agg.h"
#include "analyser/an_alert.h"
#include "analyser/an_run.h"
#include "analyser/an_table.h"
#include "analyser/an_trend.h"

struct an_report {
	const struct an_agg	*agg;
	const struct an_run_stats *st;
	struct an_alerts	 alerts;
	struct an_trends	 trends;
	struct an_table		*tabs;
	size_t			 ntabs;
	unsigned		 sections;
};

/* Evaluate alerts/trends and build the tables for `sections`. */
void an_report_build(struct an_report *r, const struct an_agg *a,
    const struct an_run_stats *st, unsigned sections);
void an_report_fini(struct an_report *r);
void an_report_print(const struct an_report *r, enum an_format fmt, FILE *f);
/* Table by name or NULL. */
const struct an_table *an_report_table(const struct an_report *r,
    const char *name);

/* Builders (an_report_*.c). */
void an_tab_summary(struct an_table *t, const struct an_agg *a);
void an_tab_isps(struct an_table *t, const struct an_agg *a);
void an_tab_dim(struct an_table *t, const struct an_agg *a,
    const struct an_htab *h, const char *name, const char *title,
    const char *keycol);
void an_tab_domains(struct an_table *t, const struct an_agg *a);
void an_tab_matrix(struct an_table *t, const struct an_agg *a);
void an_tab_codes(struct an_table *t, const struct an_agg *a);
void an_tab_diag(struct an_table *t, const struct an_agg *a);
void an_tab_bcat(struct an_table *t, const struct an_agg *a);
void an_tab_series(struct an_table *t, const struct an_agg *a);
/* Per ISP per bucket; the terminal shows the top AN_SERIES_ISPS ISPs. */
void an_tab_isp_series(struct an_table *t, const struct an_agg *a);
void an_tab_qtime(struct an_table *t, const struct an_agg *a);
void an_tab_trends(struct an_table *t, const struct an_trends *tr);
void an_tab_alerts(struct an_table *t, const struct an_alerts *al);
void an_tab_errors(struct an_table *t, const struct an_agg *a);
/* Format a time as UTC "YYYY-MM-DD HH:MM" (or with seconds). */
void an_fmt_utc(int64_t t, char *buf, size_t len, int secs);

#endif
