/*
 * an_trend.c -- first-third vs last-third trend detection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_trend.h"
#include "lib/xmalloc.h"

/* Window of merged buckets. */
struct an_win {
	struct an_counts tot;
	struct an_counts isp[AN_ISP_MAX];
	uint64_t	 cls[AN_DC__COUNT];
	struct an_hist	 q;
};

static int64_t
an_bucket_key(const struct an_agg *a, size_t i)
{
	int64_t k;

	memcpy(&k, a->buckets.ents[i].key, sizeof(k));
	return k;
}

static int
an_bucket_time_cmp(const void *pa, const void *pb, void *arg)
{
	int64_t x = an_bucket_key(arg, *(const size_t *)pa);
	int64_t y = an_bucket_key(arg, *(const size_t *)pb);

	return x < y ? -1 : x > y;
}

size_t *
an_buckets_sorted(const struct an_agg *a)
{
	size_t *ix = xcalloc(a->buckets.n + 1, sizeof(*ix));

	for (size_t i = 0; i < a->buckets.n; i++)
		ix[i] = i;
	qsort_r(ix, a->buckets.n, sizeof(*ix), an_bucket_time_cmp, (void *)a);
	return ix;
}

static void
an_win_add(struct an_win *w, const struct an_bucket *b, int nisp)
{
	an_counts_add(&w->tot, &b->tot);
	for (int k = 0; k < nisp; k++)
		an_counts_add(&w->isp[k], &b->isp[k]);
	for (int k = 0; k < AN_DC__COUNT; k++)
		w->cls[k] += b->cls[k];
	an_hist_merge(&w->q, &b->q);
}

static struct an_trend *
an_trend_add(struct an_trends *t, const char *kind, const char *subj,
    double before, double after)
{
	struct an_trend *x;

	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	x = &t->v[t->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	snprintf(x->subject, sizeof(x->subject), "%s", subj);
	x->before = before;
	x->after = after;
	return x;
}

static void
an_trend_defer(struct an_trends *t, const char *subj,
    const struct an_counts *b, const struct an_counts *e, uint64_t minv)
{
	double rb, re;
	struct an_trend *x;

	if (an_attempts(b) < minv || an_attempts(e) < minv)
		return;
	rb = an_rate(b->n[ACCT_R_T], an_attempts(b));
	re = an_rate(e->n[ACCT_R_T], an_attempts(e));
	if (re < rb + 2.0 || re < rb * 1.5)
		return;
	x = an_trend_add(t, "deferral-rising", subj, rb, re);
	snprintf(x->msg, sizeof(x->msg), "deferral rate at %s rose from "
	    "%.1f%% to %.1f%%", subj, rb, re);
}

static void
an_trend_reasons(struct an_trends *t, const struct an_win *b,
    const struct an_win *e)
{
	uint64_t nb = 0, ne = 0;
	struct an_trend *x;

	for (int k = 0; k < AN_DC__COUNT; k++) {
		nb += b->cls[k];
		ne += e->cls[k];
	}
	if (nb < 20 || ne < 20)
		return;
	for (int k = 0; k < AN_DC__COUNT; k++) {
		double sb = an_rate(b->cls[k], nb), se = an_rate(e->cls[k], ne);
		if (se - sb < 15.0 && sb - se < 15.0)
			continue;
		x = an_trend_add(t, "reason-shift", an_dclass_name(k), sb, se);
		snprintf(x->msg, sizeof(x->msg), "%s replies went from %.0f%% "
		    "to %.0f%% of failures%s", an_dclass_name(k), sb, se,
		    se > sb ? ": " : "");
		if (se > sb)
			strncat(x->msg, an_dclass_action(k),
			    sizeof(x->msg) - strlen(x->msg) - 1);
	}
}

static void
an_trend_queue(struct an_trends *t, const struct an_win *b,
    const struct an_win *e)
{
	double qb, qe;
	struct an_trend *x;

	if (b->q.n < 20 || e->q.n < 20)
		return;
	qb = an_hist_quantile(&b->q, 0.5);
	qe = an_hist_quantile(&e->q, 0.5);
	if (qe < 2 * qb || qe - qb < 60)
		return;
	x = an_trend_add(t, "queue-time-growing", "all", qb, qe);
	x->seconds = 1;
	snprintf(x->msg, sizeof(x->msg), "median time in queue grew from "
	    "%.0fs to %.0fs", qb, qe);
}

void
an_trends_eval(const struct an_agg *a, struct an_trends *out)
{
	size_t *ix, n = a->buckets.n, third;
	struct an_win *b, *e;
	int nisp = a->ctx->isps->n;
	uint64_t minv = a->ctx->o->th.min_volume;

	memset(out, 0, sizeof(*out));
	if (n < 3)
		return;
	ix = an_buckets_sorted(a);
	third = n / 3;
	b = xcalloc(1, sizeof(*b));
	e = xcalloc(1, sizeof(*e));
	for (size_t i = 0; i < third; i++) {
		an_win_add(b, an_htab_val(&a->buckets, ix[i]), nisp);
		an_win_add(e, an_htab_val(&a->buckets, ix[n - 1 - i]), nisp);
	}
	an_trend_defer(out, "all", &b->tot, &e->tot, minv);
	for (int k = 0; k < nisp; k++)
		an_trend_defer(out, a->ctx->isps->names[k], &b->isp[k],
		    &e->isp[k], minv);
	an_trend_reasons(out, b, e);
	an_trend_queue(out, b, e);
	free(b);
	free(e);
	free(ix);
}

void
an_trends_fini(struct an_trends *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
