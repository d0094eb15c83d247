/*
 * an_report_dims.c -- summary and per-dimension tables (ISP, domain, IP,
 * VMTA, job, ISP x IP). Rates are shares of delivery attempts (d+b+t).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_report.h"
#include "lib/xmalloc.h"

static int
an_top(const struct an_agg *a, size_t n)
{
	int top = a->ctx->o->top;

	return top <= 0 || (size_t)top > n ? (int)n : top;
}

static uint64_t
an_all(const struct an_counts *c)
{
	uint64_t s = 0;

	for (int i = 0; i < ACCT_R__COUNT; i++)
		s += c->n[i];
	return s;
}

void
an_tab_summary(struct an_table *t, const struct an_agg *a)
{
	static const struct { int type; const char *label; } rows[] = {
		{ ACCT_R_D, "delivered" }, { ACCT_R_B, "bounced" },
		{ ACCT_R_T, "deferred" }, { -1, "expired" },
		{ ACCT_R_TQ, "queue-deferred" }, { ACCT_R_R, "received" },
		{ ACCT_R_F, "feedback-loop" }, { ACCT_R_RB, "remote-bounce" },
		{ ACCT_R_RS, "remote-status" },
	};
	const struct an_counts *c = &a->total;
	uint64_t at = an_attempts(c);

	an_table_init(t, "summary", "Summary by record type");
	an_table_col(t, "type", "type", AN_C_STR);
	an_table_col(t, "outcome", "outcome", AN_C_STR);
	an_table_col(t, "count", "count", AN_C_INT);
	an_table_col(t, "rate", "% of attempts", AN_C_PCT);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int ty = rows[i].type;
		uint64_t v = ty < 0 ? c->expired : c->n[ty];
		an_table_row(t);
		an_table_set_str(t, 0, ty < 0 ? "b" : acct_rtype_code(ty));
		an_table_set_str(t, 1, rows[i].label);
		an_table_set_num(t, 2, (double)v);
		if (ty < 0 || ty == ACCT_R_D || ty == ACCT_R_B || ty == ACCT_R_T)
			an_table_set_num(t, 3, at ? an_rate(v, at) : NAN);
	}
	an_table_row(t);
	an_table_set_str(t, 1, "attempts (d+b+t)");
	an_table_set_num(t, 2, (double)at);
	an_table_row(t);
	an_table_set_str(t, 1, "records");
	an_table_set_num(t, 2, (double)an_all(c));
	t->note = xasprintf("acceptance d/(d+b): %.2f%%   expired = b records "
	    "with bounceCat message-expired or a 4.x.x status",
	    an_rate(c->n[ACCT_R_D], c->n[ACCT_R_D] + c->n[ACCT_R_B]));
}

/* Standard counter columns starting at column `first`. */
static void
an_cols_counts(struct an_table *t)
{
	an_table_col(t, "attempts", "attempts", AN_C_INT);
	an_table_col(t, "delivered", "delivered", AN_C_INT);
	an_table_col(t, "deferred", "deferred", AN_C_INT);
	an_table_col(t, "bounced", "bounced", AN_C_INT);
	an_table_col(t, "expired", "expired", AN_C_INT);
	an_table_col(t, "delivery_rate", "deliv%", AN_C_PCT);
	an_table_col(t, "deferral_rate", "defer%", AN_C_PCT);
	an_table_col(t, "bounce_rate", "bounce%", AN_C_PCT);
}

static void
an_set_counts(struct an_table *t, size_t first, const struct an_counts *c)
{
	uint64_t at = an_attempts(c);

	an_table_set_num(t, first, (double)at);
	an_table_set_num(t, first + 1, (double)c->n[ACCT_R_D]);
	an_table_set_num(t, first + 2, (double)c->n[ACCT_R_T]);
	an_table_set_num(t, first + 3, (double)c->n[ACCT_R_B]);
	an_table_set_num(t, first + 4, (double)c->expired);
	if (at == 0)
		return;
	an_table_set_num(t, first + 5, an_rate(c->n[ACCT_R_D], at));
	an_table_set_num(t, first + 6, an_rate(c->n[ACCT_R_T], at));
	an_table_set_num(t, first + 7, an_rate(c->n[ACCT_R_B], at));
}

static int
an_counts_cmp(const struct an_counts *x, const struct an_counts *y)
{
	uint64_t ax = an_attempts(x), ay = an_attempts(y);

	if (ax != ay)
		return ax > ay ? -1 : 1;
	ax = an_all(x);
	ay = an_all(y);
	return ax > ay ? -1 : ax < ay;
}

static int
an_cmp_counts_v(const void *va, const void *vb, void *arg)
{
	(void)arg;
	return an_counts_cmp(va, vb);
}

void
an_tab_isps(struct an_table *t, const struct an_agg *a)
{
	int ix[AN_ISP_MAX], n = a->ctx->isps->n;

	an_table_init(t, "isps", "By ISP (mailbox provider)");
	an_table_col(t, "isp", "ISP", AN_C_STR);
	an_cols_counts(t);
	for (int i = 0; i < n; i++)
		ix[i] = i;
	for (int i = 1; i < n; i++)	/* insertion sort, n <= 64 */
		for (int j = i; j > 0 && an_counts_cmp(&a->isp[ix[j]],
		    &a->isp[ix[j - 1]]) < 0; j--) {
			int tmp = ix[j];
			ix[j] = ix[j - 1];
			ix[j - 1] = tmp;
		}
	for (int i = 0; i < n; i++) {
		if (an_all(&a->isp[ix[i]]) == 0)
			continue;
		an_table_row(t);
		an_table_set_str(t, 0, a->ctx->isps->names[ix[i]]);
		an_set_counts(t, 1, &a->isp[ix[i]]);
	}
}

void
an_tab_dim(struct an_table *t, const struct an_agg *a,
    const struct an_htab *h, const char *name, const char *title,
    const char *keycol)
{
	size_t *ix = an_htab_sorted(h, an_cmp_counts_v, NULL);
	int top = an_top(a, h->n);

	an_table_init(t, name, title);
	an_table_col(t, keycol, keycol, AN_C_STR);
	an_cols_counts(t);
	for (int i = 0; i < top; i++) {
		an_table_row(t);
		an_table_set_str(t, 0, h->ents[ix[i]].key);
		an_set_counts(t, 1, an_htab_val(h, ix[i]));
	}
	if ((size_t)top < h->n)
		t->note = xasprintf("(top %d of %zu; --top 0 for all)", top,
		    h->n);
	free(ix);
}

void
an_tab_domains(struct an_table *t, const struct an_agg *a)
{
	const struct an_htab *h = &a->domains;
	size_t *ix = an_htab_sorted(h, an_cmp_counts_v, NULL);
	int top = an_top(a, h->n);

	an_table_init(t, "domains", "By destination domain");
	an_table_col(t, "domain", "domain", AN_C_STR);
	an_table_col(t, "isp", "ISP", AN_C_STR);
	an_cols_counts(t);
	for (int i = 0; i < top; i++) {
		const struct an_dom *d = an_htab_val(h, ix[i]);
		an_table_row(t);
		an_table_set_str(t, 0, h->ents[ix[i]].key);
		an_table_set_str(t, 1, a->ctx->isps->names[d->isp > 0 ?
		    d->isp - 1 : 0]);
		an_set_counts(t, 2, &d->c);
	}
	if ((size_t)top < h->n)
		t->note = xasprintf("(top %d of %zu; --top 0 for all)", top,
		    h->n);
	free(ix);
}

/* ISP x IP rows: ISPs by volume, then IPs by volume. */
static int
an_cmp_matrix(const void *pa, const void *pb, void *arg)
{
	const struct an_agg *a = arg;
	const struct an_htab *h = &a->ispip;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	int ka = (unsigned char)h->ents[ia].key[0] - 1;
	int kb = (unsigned char)h->ents[ib].key[0] - 1;
	int r;

	ka = ka >= 0 && ka < AN_ISP_MAX ? ka : 0;
	kb = kb >= 0 && kb < AN_ISP_MAX ? kb : 0;
	if (ka != kb) {
		r = an_counts_cmp(&a->isp[ka], &a->isp[kb]);
		return r ? r : (ka < kb ? -1 : 1);
	}
	r = an_counts_cmp(an_htab_val(h, ia), an_htab_val(h, ib));
	return r ? r : strcmp(h->ents[ia].key, h->ents[ib].key);
}

void
an_tab_matrix(struct an_table *t, const struct an_agg *a)
{
	const struct an_htab *h = &a->ispip;
	size_t *ix = xcalloc(h->n + 1, sizeof(*ix));

	an_table_init(t, "matrix", "ISP x source IP");
	an_table_col(t, "isp", "ISP", AN_C_STR);
	an_table_col(t, "ip", "source IP", AN_C_STR);
	an_cols_counts(t);
	for (size_t i = 0; i < h->n; i++)
		ix[i] = i;
	qsort_r(ix, h->n, sizeof(*ix), an_cmp_matrix, (void *)a);
	for (size_t i = 0; i < h->n; i++) {
		const struct an_hent *e = &h->ents[ix[i]];
		int isp = (unsigned char)e->key[0] - 1;
		if (an_attempts(an_htab_val(h, ix[i])) == 0)
			continue;	/* tq-only rows (0.0.0.0) */
		an_table_row(t);
		an_table_set_str(t, 0, isp >= 0 && isp < a->ctx->isps->n ?
		    a->ctx->isps->names[isp] : "?");
		an_table_set_strn(t, 1, e->key + 1, e->len - 1);
		if (e->len == 1)
			an_table_set_str(t, 1, "(none)");
		an_set_counts(t, 2, an_htab_val(h, ix[i]));
	}
	free(ix);
}
