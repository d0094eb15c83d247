/*
 * an_alert.c -- threshold alerts (see an_alert.h). Output order: critical
 * first, then by kind, then by value descending.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_alert.h"
#include "lib/xmalloc.h"

const char *
an_level_name(enum an_level l)
{
	return l == AN_CRIT ? "critical" : "warning";
}

static struct an_alert *
an_alert_add(struct an_alerts *al, enum an_level lv, const char *kind,
    const char *subject, double v, double th)
{
	struct an_alert *x;

	al->v = xreallocarray(al->v, al->n + 1, sizeof(*al->v));
	x = &al->v[al->n++];
	memset(x, 0, sizeof(*x));
	x->level = lv;
	x->kind = kind;
	snprintf(x->subject, sizeof(x->subject), "%s", subject);
	x->value = v;
	x->threshold = th;
	if ((int)lv > al->max_level)
		al->max_level = (int)lv;
	return x;
}

static void
an_alerts_isp(const struct an_agg *a, struct an_alerts *al)
{
	const struct an_thresholds *th = &a->ctx->o->th;

	for (int i = 0; i < a->ctx->isps->n; i++) {
		const struct an_counts *c = &a->isp[i];
		uint64_t at = an_attempts(c);
		double r = an_rate(c->n[ACCT_R_T], at);
		const char *name = a->ctx->isps->names[i];
		struct an_alert *x;

		if (at < th->min_volume || r <= th->isp_defer_warn)
			continue;
		x = an_alert_add(al, r > th->isp_defer_crit ? AN_CRIT : AN_WARN,
		    "isp-deferral", name, r, r > th->isp_defer_crit ?
		    th->isp_defer_crit : th->isp_defer_warn);
		snprintf(x->msg, sizeof(x->msg), "deferral rate %.1f%% at %s "
		    "(%llu of %llu attempts) is above %.0f%%: %s", r, name,
		    (unsigned long long)c->n[ACCT_R_T], (unsigned long long)at,
		    x->threshold, x->level == AN_CRIT ? "reduce volume now and "
		    "review the domain configuration" : "investigate");
	}
}

static void
an_alerts_ispip(const struct an_agg *a, struct an_alerts *al)
{
	const struct an_thresholds *th = &a->ctx->o->th;
	char subj[160];

	for (size_t i = 0; i < a->ispip.n; i++) {
		const struct an_hent *e = &a->ispip.ents[i];
		const struct an_counts *c = an_htab_val(&a->ispip, i);
		uint64_t at = an_attempts(c);
		double r = an_rate(c->n[ACCT_R_T], at);
		int isp = (unsigned char)e->key[0] - 1;
		struct an_alert *x;

		if (at < th->min_volume || r <= th->ispip_defer_warn ||
		    isp < 0 || isp >= a->ctx->isps->n)
			continue;
		snprintf(subj, sizeof(subj), "%s on %.*s",
		    a->ctx->isps->names[isp], (int)e->len - 1, e->key + 1);
		x = an_alert_add(al, AN_WARN, "isp-ip-deferral", subj, r,
		    th->ispip_defer_warn);
		snprintf(x->msg, sizeof(x->msg), "deferral rate %.1f%% at %s "
		    "is above %.0f%%: check this IP's reputation at the ISP",
		    r, subj, th->ispip_defer_warn);
	}
}

static void
an_alerts_ip(const struct an_agg *a, struct an_alerts *al)
{
	const struct an_thresholds *th = &a->ctx->o->th;

	for (size_t i = 0; i < a->ips.n; i++) {
		const struct an_hent *e = &a->ips.ents[i];
		const struct an_counts *c = an_htab_val(&a->ips, i);
		uint64_t at = an_attempts(c);
		double r = an_rate(c->n[ACCT_R_B], at);
		struct an_alert *x;

		if (at < th->min_volume || strcmp(e->key, "(none)") == 0)
			continue;
		if (c->n[ACCT_R_D] == 0) {
			x = an_alert_add(al, AN_CRIT, "ip-no-delivery", e->key,
			    0, 0);
			snprintf(x->msg, sizeof(x->msg), "source IP %s made %llu "
			    "attempts and delivered nothing: it may be blocked",
			    e->key, (unsigned long long)at);
		}
		if (r > th->ip_bounce_warn) {
			x = an_alert_add(al, AN_WARN, "ip-bounce", e->key, r,
			    th->ip_bounce_warn);
			snprintf(x->msg, sizeof(x->msg), "bounce rate %.1f%% on "
			    "source IP %s is above %.0f%%: investigate list "
			    "quality", r, e->key, th->ip_bounce_warn);
		}
	}
}

static void
an_alerts_expected(const struct an_agg *a, struct an_alerts *al)
{
	const struct an_strlist *l = &a->ctx->o->expect_ips;

	for (size_t i = 0; i < l->n; i++) {
		long k = an_htab_find(&a->ips, l->v[i], strlen(l->v[i]));
		const struct an_counts *c = k >= 0 ? an_htab_val(&a->ips,
		    (size_t)k) : NULL;
		struct an_alert *x;

		if (c && c->n[ACCT_R_D] > 0)
			continue;
		if (c && an_attempts(c) >= a->ctx->o->th.min_volume)
			continue;	/* already reported above */
		x = an_alert_add(al, AN_CRIT, "ip-no-delivery", l->v[i], 0, 0);
		snprintf(x->msg, sizeof(x->msg), "expected source IP %s "
		    "delivered nothing (%s)", l->v[i], c ? "only failures" :
		    "no records at all");
	}
}

static int
an_alert_cmp(const void *pa, const void *pb)
{
	const struct an_alert *a = pa, *b = pb;
	int r;

	if (a->level != b->level)
		return a->level > b->level ? -1 : 1;
	if ((r = strcmp(a->kind, b->kind)) != 0)
		return r;
	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	return strcmp(a->subject, b->subject);
}

void
an_alerts_eval(const struct an_agg *a, struct an_alerts *out)
{
	memset(out, 0, sizeof(*out));
	an_alerts_isp(a, out);
	an_alerts_ispip(a, out);
	an_alerts_ip(a, out);
	an_alerts_expected(a, out);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), an_alert_cmp);
}

void
an_alerts_fini(struct an_alerts *al)
{
	free(al->v);
	memset(al, 0, sizeof(*al));
}
