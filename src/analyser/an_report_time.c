/*
 * an_report_time.c -- time series (overall and per ISP), time in queue,
 * trends, alerts and malformed-line tables.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_report.h"
#include "lib/xmalloc.h"

#define AN_SERIES_ISPS	4

/* The n ISPs with most attempts (ids into ix); returns how many. */
static int
an_top_isps(const struct an_agg *a, int *ix, int n)
{
	int all[AN_ISP_MAX], k = 0;

	for (int i = 0; i < a->ctx->isps->n; i++) {
		int j = k++;
		for (; j > 0 && an_attempts(&a->isp[all[j - 1]]) <
		    an_attempts(&a->isp[i]); j--)
			all[j] = all[j - 1];
		all[j] = i;
	}
	while (k > 0 && an_attempts(&a->isp[all[k - 1]]) == 0)
		k--;
	k = k < n ? k : n;
	memcpy(ix, all, (size_t)k * sizeof(*ix));
	return k;
}

/* The attempts, delivered, deferred, bounced and three rate columns both
 * time series share, and their values from c starting at column first
 * (rates left empty without attempts). */
static void
series_cols(struct an_table *t)
{
	an_table_col(t, "attempts", "attempts", AN_C_INT);
	an_table_col(t, "delivered", "delivered", AN_C_INT);
	an_table_col(t, "deferred", "deferred", AN_C_INT);
	an_table_col(t, "bounced", "bounced", AN_C_INT);
	an_table_col(t, "delivery_rate", "deliv%", AN_C_PCT);
	an_table_col(t, "deferral_rate", "defer%", AN_C_PCT);
	an_table_col(t, "bounce_rate", "bounce%", AN_C_PCT);
}

static void
series_set(struct an_table *t, size_t first, const struct an_counts *c)
{
	uint64_t at = an_attempts(c);

	an_table_set_num(t, first, (double)at);
	an_table_set_num(t, first + 1, (double)c->n[ACCT_R_D]);
	an_table_set_num(t, first + 2, (double)c->n[ACCT_R_T]);
	an_table_set_num(t, first + 3, (double)c->n[ACCT_R_B]);
	if (at == 0)
		return;
	an_table_set_num(t, first + 4, an_rate(c->n[ACCT_R_D], at));
	an_table_set_num(t, first + 5, an_rate(c->n[ACCT_R_T], at));
	an_table_set_num(t, first + 6, an_rate(c->n[ACCT_R_B], at));
}

void
an_tab_series(struct an_table *t, const struct an_agg *a)
{
	size_t *ix = an_buckets_sorted(a);
	int isps[AN_SERIES_ISPS], ni = an_top_isps(a, isps, AN_SERIES_ISPS);
	char buf[64], key[96];

	an_table_init(t, "series", "Time series (UTC buckets)");
	an_table_col(t, "bucket", "bucket", AN_C_STR);
	an_table_col(t, "epoch", "epoch", AN_C_INT);
	series_cols(t);
	an_table_col(t, "queue_p50", "queue p50", AN_C_SEC);
	for (int k = 0; k < ni; k++) {
		const char *nm = a->ctx->isps->names[isps[k]];
		size_t o = 0;
		for (const char *p = nm; *p && o < 40; p++)
			key[o++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) :
			    ((*p >= 'a' && *p <= 'z') || (*p >= '0' &&
			    *p <= '9')) ? *p : '_';
		snprintf(key + o, sizeof(key) - o, "_deferral_rate");
		snprintf(buf, sizeof(buf), "%s defer%%", nm);
		an_table_col(t, key, buf, AN_C_PCT);
	}
	for (size_t i = 0; i < a->buckets.n; i++) {
		const struct an_bucket *b = an_htab_val(&a->buckets, ix[i]);
		int64_t ts;
		memcpy(&ts, a->buckets.ents[ix[i]].key, sizeof(ts));
		an_fmt_utc(ts, buf, sizeof(buf), 0);
		an_table_row(t);
		an_table_set_str(t, 0, buf);
		an_table_set_num(t, 1, (double)ts);
		series_set(t, 2, &b->tot);
		if (b->q.n)
			an_table_set_num(t, 9, an_hist_quantile(&b->q, 0.5));
		for (int k = 0; k < ni; k++) {
			const struct an_counts *c = &b->isp[isps[k]];
			if (an_attempts(c))
				an_table_set_num(t, 10 + (size_t)k,
				    an_rate(c->n[ACCT_R_T], an_attempts(c)));
		}
	}
	free(ix);
}

/*
 * Long form, one row per ISP per bucket: ISPs by attempts (most first),
 * each with every bucket of the period (rates empty where it had no
 * attempts). JSON/CSV have every ISP with attempts; the terminal table
 * stops after the top AN_SERIES_ISPS.
 */
void
an_tab_isp_series(struct an_table *t, const struct an_agg *a)
{
	size_t *ix = an_buckets_sorted(a);
	int isps[AN_ISP_MAX], ni = an_top_isps(a, isps, AN_ISP_MAX);
	char buf[64];

	an_table_init(t, "isp_series", "Time series per ISP (UTC buckets)");
	an_table_col(t, "isp", "ISP", AN_C_STR);
	an_table_col(t, "bucket", "bucket", AN_C_STR);
	an_table_col(t, "epoch", "epoch", AN_C_INT);
	series_cols(t);
	for (int k = 0; k < ni; k++) {
		if (k == AN_SERIES_ISPS)
			t->text_rows = t->nrows;
		for (size_t i = 0; i < a->buckets.n; i++) {
			const struct an_bucket *b = an_htab_val(&a->buckets,
			    ix[i]);
			int64_t ts;

			memcpy(&ts, a->buckets.ents[ix[i]].key, sizeof(ts));
			an_fmt_utc(ts, buf, sizeof(buf), 0);
			an_table_row(t);
			an_table_set_str(t, 0, a->ctx->isps->names[isps[k]]);
			an_table_set_str(t, 1, buf);
			an_table_set_num(t, 2, (double)ts);
			series_set(t, 3, &b->isp[isps[k]]);
		}
	}
	if (t->text_rows)
		t->note = xasprintf("(top %d of %d ISPs shown; --json/--csv "
		    "have all)", AN_SERIES_ISPS, ni);
	free(ix);
}

static void
an_qtime_row(struct an_table *t, const char *name, const struct an_hist *h)
{
	an_table_row(t);
	an_table_set_str(t, 0, name);
	an_table_set_num(t, 1, (double)h->n);
	an_table_set_num(t, 2, an_hist_quantile(h, 0.5));
	an_table_set_num(t, 3, an_hist_quantile(h, 0.9));
	an_table_set_num(t, 4, an_hist_quantile(h, 0.99));
	an_table_set_num(t, 5, (double)h->max);
	an_table_set_num(t, 6, h->sum / (double)h->n);
}

void
an_tab_qtime(struct an_table *t, const struct an_agg *a)
{
	an_table_init(t, "queue_time", "Time in queue of deliveries "
	    "(timeLogged - timeQueued)");
	an_table_col(t, "isp", "ISP", AN_C_STR);
	an_table_col(t, "deliveries", "deliveries", AN_C_INT);
	an_table_col(t, "p50", "p50", AN_C_SEC);
	an_table_col(t, "p90", "p90", AN_C_SEC);
	an_table_col(t, "p99", "p99", AN_C_SEC);
	an_table_col(t, "max", "max", AN_C_SEC);
	an_table_col(t, "mean", "mean", AN_C_SEC);
	if (a->qtime.n == 0)
		return;
	an_qtime_row(t, "all", &a->qtime);
	for (int i = 0; i < a->ctx->isps->n; i++)
		if (a->qtime_isp[i].n)
			an_qtime_row(t, a->ctx->isps->names[i], &a->qtime_isp[i]);
}

void
an_tab_trends(struct an_table *t, const struct an_trends *tr)
{
	an_table_init(t, "trends", "Trends (first third vs last third of "
	    "the period)");
	an_table_col(t, "kind", "kind", AN_C_STR);
	an_table_col(t, "subject", "subject", AN_C_STR);
	an_table_col(t, "before", "before", AN_C_NUM);
	an_table_col(t, "after", "after", AN_C_NUM);
	an_table_col(t, "unit", "unit", AN_C_STR);
	an_table_col(t, "message", "message", AN_C_STR);
	for (size_t i = 0; i < tr->n; i++) {
		an_table_row(t);
		an_table_set_str(t, 0, tr->v[i].kind);
		an_table_set_str(t, 1, tr->v[i].subject);
		an_table_set_num(t, 2, tr->v[i].before);
		an_table_set_num(t, 3, tr->v[i].after);
		an_table_set_str(t, 4, tr->v[i].seconds ? "s" : "%");
		an_table_set_str(t, 5, tr->v[i].msg);
	}
}

void
an_tab_alerts(struct an_table *t, const struct an_alerts *al)
{
	an_table_init(t, "alerts", "Alerts");
	an_table_col(t, "level", "level", AN_C_STR);
	an_table_col(t, "kind", "kind", AN_C_STR);
	an_table_col(t, "subject", "subject", AN_C_STR);
	an_table_col(t, "value", "value", AN_C_NUM);
	an_table_col(t, "threshold", "threshold", AN_C_NUM);
	an_table_col(t, "message", "message", AN_C_STR);
	for (size_t i = 0; i < al->n; i++) {
		an_table_row(t);
		an_table_set_str(t, 0, an_level_name(al->v[i].level));
		an_table_set_str(t, 1, al->v[i].kind);
		an_table_set_str(t, 2, al->v[i].subject);
		an_table_set_num(t, 3, al->v[i].value);
		an_table_set_num(t, 4, al->v[i].threshold);
		an_table_set_str(t, 5, al->v[i].msg);
	}
}

void
an_tab_errors(struct an_table *t, const struct an_agg *a)
{
	an_table_init(t, "malformed", "Malformed lines (skipped)");
	an_table_col(t, "file", "file", AN_C_STR);
	an_table_col(t, "line", "line", AN_C_INT);
	an_table_col(t, "message", "message", AN_C_STR);
	for (size_t i = 0; i < a->errs.nkept; i++) {
		an_table_row(t);
		an_table_set_str(t, 0, a->errs.kept[i].file);
		an_table_set_num(t, 1, (double)a->errs.kept[i].line);
		an_table_set_str(t, 2, a->errs.kept[i].msg);
	}
	if (a->errs.n > a->errs.nkept)
		t->note = xasprintf("(%llu malformed lines in all; first %zu "
		    "shown)", (unsigned long long)a->errs.n, a->errs.nkept);
}
