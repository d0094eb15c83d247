/*
 * an_report_misc.c -- status codes, dsnDiag clusters, bounce categories,
 * time series, time in queue, trends, alerts and malformed-line tables.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyser/an_report.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

static const char *const an_bcats[][2] = {
	{ "bad-configuration", "remote host configuration problem" },
	{ "bad-connection", "bad connection to the remote host" },
	{ "bad-domain", "invalid or non-existent domain" },
	{ "bad-mailbox", "bad, invalid or non-existent recipient" },
	{ "content-related", "content-based block" },
	{ "inactive-mailbox", "expired, inactive or disabled address" },
	{ "invalid-sender", "invalid DNS or MX for the sending domain" },
	{ "message-expired", "not delivered before bounce-after" },
	{ "no-answer-from-host", "no response after connect" },
	{ "other", "anything else" },
	{ "policy-related", "general policy block" },
	{ "protocol-errors", "SMTP syntax or sequence errors" },
	{ "quota-issues", "mailbox quota" },
	{ "relaying-issues", "remote relaying problems" },
	{ "routing-errors", "mail routing issues for the recipient domain" },
	{ "spam-related", "spam-based block" },
	{ "virus-related", "virus-based block" },
};

void
an_fmt_utc(int64_t t, char *buf, size_t len, int secs)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(buf, len, secs ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
}

static uint64_t
an_fail(const struct an_counts *c)
{
	uint64_t s = 0;

	for (int i = 0; i < ACCT_R__COUNT; i++)
		if (i != ACCT_R_D && i != ACCT_R_R)
			s += c->n[i];
	return s;
}

static int
an_cmp_fail(const void *va, const void *vb, void *arg)
{
	uint64_t x = an_fail(va), y = an_fail(vb);

	(void)arg;
	return x > y ? -1 : x < y;
}

static int
an_top(const struct an_agg *a, size_t n)
{
	int top = a->ctx->o->top;

	return top <= 0 || (size_t)top > n ? (int)n : top;
}

void
an_tab_codes(struct an_table *t, const struct an_agg *a)
{
	const struct an_htab *h = &a->codes;
	size_t *ix = an_htab_sorted(h, an_cmp_fail, NULL);
	int top = an_top(a, h->n);

	an_table_init(t, "codes", "Top dsnStatus codes of failures");
	an_table_col(t, "status", "dsnStatus", AN_C_STR);
	an_table_col(t, "deferred", "t", AN_C_INT);
	an_table_col(t, "bounced", "b", AN_C_INT);
	an_table_col(t, "queue_deferred", "tq", AN_C_INT);
	an_table_col(t, "total", "total", AN_C_INT);
	for (int i = 0; i < top; i++) {
		const struct an_counts *c = an_htab_val(h, ix[i]);
		an_table_row(t);
		an_table_set_str(t, 0, h->ents[ix[i]].key);
		an_table_set_num(t, 1, (double)c->n[ACCT_R_T]);
		an_table_set_num(t, 2, (double)c->n[ACCT_R_B]);
		an_table_set_num(t, 3, (double)c->n[ACCT_R_TQ]);
		an_table_set_num(t, 4, (double)an_fail(c));
	}
	free(ix);
}

/* ISP with most records of cluster c. */
static const char *
an_diag_top_isp(const struct an_agg *a, const struct an_diagc *c)
{
	int best = 0;

	for (int k = 1; k < a->ctx->isps->n; k++)
		if (c->isp[k] > c->isp[best])
			best = k;
	return a->ctx->isps->names[best];
}

/* Under the terminal table: the response for each class shown. */
static void
an_diag_note(struct an_table *t, const struct an_agg *a, const size_t *ix,
    size_t n)
{
	int seen[AN_DC__COUNT] = { 0 };
	struct sbuf b;

	sbuf_init(&b);
	for (size_t i = 0; i < n; i++) {
		const struct an_diagc *c = an_htab_val(&a->diag, ix[i]);
		if (seen[c->cls]++)
			continue;
		sbuf_printf(&b, "%s  %-14s %s", b.len ? "\n" : "",
		    an_dclass_name(c->cls), an_dclass_action(c->cls));
	}
	if (b.len)
		t->note = xasprintf("responses:\n%s", b.p);
	sbuf_fini(&b);
}

void
an_tab_diag(struct an_table *t, const struct an_agg *a)
{
	const struct an_htab *h = &a->diag;
	size_t *ix = an_htab_sorted(h, an_cmp_fail, NULL);
	int top = an_top(a, h->n);
	uint64_t all = 0;

	for (size_t i = 0; i < h->n; i++)
		all += an_fail(an_htab_val(h, i));
	an_table_init(t, "diag", a->ctx->o->diag_prefix > 0 ?
	    "Top dsnDiag (grouped by prefix)" : "Top dsnDiag patterns");
	an_table_col(t, "count", "count", AN_C_INT);
	an_table_col(t, "share", "share", AN_C_PCT);
	an_table_col(t, "deferred", "t", AN_C_INT);
	an_table_col(t, "bounced", "b", AN_C_INT);
	an_table_col(t, "class", "class", AN_C_STR);
	an_table_col(t, "top_isp", "ISP", AN_C_STR);
	an_table_col(t, "pattern", "pattern", AN_C_STR);
	an_table_col(t, "example", "example", AN_C_STR);
	an_table_col_wide(t);
	an_table_col(t, "action", "action", AN_C_STR);
	an_table_col_wide(t);
	for (int i = 0; i < top; i++) {
		const struct an_diagc *c = an_htab_val(h, ix[i]);
		an_table_row(t);
		an_table_set_num(t, 0, (double)an_fail(&c->c));
		an_table_set_num(t, 1, an_rate(an_fail(&c->c), all));
		an_table_set_num(t, 2, (double)c->c.n[ACCT_R_T]);
		an_table_set_num(t, 3, (double)c->c.n[ACCT_R_B]);
		an_table_set_str(t, 4, an_dclass_name(c->cls));
		an_table_set_str(t, 5, an_diag_top_isp(a, c));
		an_table_set_str(t, 6, h->ents[ix[i]].key);
		an_table_set_strn(t, 7, c->example, c->exlen);
		an_table_set_str(t, 8, an_dclass_action(c->cls));
	}
	an_diag_note(t, a, ix, (size_t)top);
	free(ix);
}

void
an_tab_bcat(struct an_table *t, const struct an_agg *a)
{
	const struct an_htab *h = &a->bcat;
	size_t nb = sizeof(an_bcats) / sizeof(an_bcats[0]);
	uint64_t all = 0;
	int *seen = xcalloc(h->n + 1, sizeof(*seen));

	for (size_t i = 0; i < h->n; i++)
		all += an_fail(an_htab_val(h, i));
	an_table_init(t, "bouncecat", "bounceCat distribution");
	an_table_col(t, "category", "bounceCat", AN_C_STR);
	an_table_col(t, "bounced", "b", AN_C_INT);
	an_table_col(t, "deferred", "t", AN_C_INT);
	an_table_col(t, "remote_bounced", "rb", AN_C_INT);
	an_table_col(t, "share", "share", AN_C_PCT);
	an_table_col(t, "description", "description", AN_C_STR);
	for (size_t i = 0; i < nb + h->n; i++) {
		const char *name = i < nb ? an_bcats[i][0] : h->ents[i - nb].key;
		long k = i < nb ? an_htab_find(h, name, strlen(name)) :
		    (long)(i - nb);
		const struct an_counts *c = k >= 0 ? an_htab_val(h, (size_t)k) :
		    NULL;
		if (i >= nb && seen[k])
			continue;
		if (k >= 0)
			seen[k] = 1;
		if (i >= nb && an_fail(c) == 0)
			continue;		/* e.g. "success" on d records */
		an_table_row(t);
		an_table_set_str(t, 0, name);
		an_table_set_num(t, 1, c ? (double)c->n[ACCT_R_B] : 0);
		an_table_set_num(t, 2, c ? (double)c->n[ACCT_R_T] : 0);
		an_table_set_num(t, 3, c ? (double)c->n[ACCT_R_RB] : 0);
		an_table_set_num(t, 4, all ? an_rate(c ? an_fail(c) : 0, all) :
		    NAN);
		an_table_set_str(t, 5, i < nb ? an_bcats[i][1] : "custom");
	}
	free(seen);
}
