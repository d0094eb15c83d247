/*
 * an_agg.c -- per-record accounting into the aggregate model, and merging.
 *
 * The hot path is an_agg_record(): no allocation except when a new key is
 * seen; quoted fields are unquoted into stack buffers only when quoted.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyser/an_agg.h"
#include "lib/xmalloc.h"

void
an_hist_add(struct an_hist *h, int64_t v)
{
	unsigned bin;

	if (v < 0)
		v = 0;
	if (v < 8) {
		bin = (unsigned)v;
	} else {
		unsigned e = 63u - (unsigned)__builtin_clzll((uint64_t)v);
		bin = 8 + (e - 3) * 4 + (unsigned)((v >> (e - 2)) & 3);
		if (bin >= AN_HIST_BINS)
			bin = AN_HIST_BINS - 1;
	}
	h->bins[bin]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

void
an_hist_merge(struct an_hist *dst, const struct an_hist *src)
{
	for (int i = 0; i < AN_HIST_BINS; i++)
		dst->bins[i] += src->bins[i];
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Middle of a bin's value range. */
static double
an_hist_mid(unsigned bin)
{
	unsigned e, sub;
	double lo, w;

	if (bin < 8)
		return bin;
	e = (bin - 8) / 4 + 3;
	sub = (bin - 8) % 4;
	w = (double)((uint64_t)1 << (e - 2));
	lo = (4 + sub) * w;
	return lo + w / 2;
}

double
an_hist_quantile(const struct an_hist *h, double q)
{
	uint64_t want, acc = 0;
	double v;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (unsigned i = 0; i < AN_HIST_BINS; i++) {
		acc += h->bins[i];
		if (acc > want) {
			v = an_hist_mid(i);
			return v > (double)h->max ? (double)h->max : v;
		}
	}
	return (double)h->max;
}

void
an_counts_add(struct an_counts *dst, const struct an_counts *src)
{
	for (int i = 0; i < ACCT_R__COUNT; i++)
		dst->n[i] += src->n[i];
	dst->expired += src->expired;
}

static unsigned
an_ctx_want(const struct an_opts *o)
{
	static const unsigned bysec[AN_S__COUNT] = {
		[AN_S_ISPS] = AN_W_DOMAIN, [AN_S_DOMAINS] = AN_W_DOMAIN,
		[AN_S_IPS] = AN_W_IP, [AN_S_VMTAS] = AN_W_VMTA,
		[AN_S_JOBS] = AN_W_JOB,
		[AN_S_MATRIX] = AN_W_DOMAIN | AN_W_IP | AN_W_MATRIX,
		[AN_S_CODES] = AN_W_CODES,
		[AN_S_DIAG] = AN_W_DIAG | AN_W_DOMAIN | AN_W_TIME,
		[AN_S_BCAT] = AN_W_BCAT,
		[AN_S_SERIES] = AN_W_TIME | AN_W_SERIES | AN_W_DOMAIN |
		    AN_W_DIAG | AN_W_QTIME,
		[AN_S_QTIME] = AN_W_TIME | AN_W_QTIME | AN_W_DOMAIN,
		[AN_S_TRENDS] = AN_W_TIME | AN_W_SERIES | AN_W_DOMAIN |
		    AN_W_DIAG | AN_W_QTIME,
		[AN_S_ALERTS] = AN_W_DOMAIN | AN_W_IP | AN_W_MATRIX,
	};
	unsigned w = 0;

	for (int s = 0; s < AN_S__COUNT; s++)
		if (o->sections & AN_SBIT(s))
			w |= bysec[s];
	if (o->since != INT64_MIN || o->until != INT64_MAX)
		w |= AN_W_TIME;
	if (o->f_domain.n || o->f_isp.n)
		w |= AN_W_DOMAIN;
	return w;
}

void
an_ctx_init(struct an_ctx *ctx, const struct an_opts *o,
    const struct an_isp_map *isps)
{
	uint64_t all = 0;
	unsigned w = an_ctx_want(o);

	memset(ctx, 0, sizeof(*ctx));
	ctx->o = o;
	ctx->isps = isps;
	ctx->want = w;
	if (w & AN_W_TIME)
		all |= AN_FBIT(ACCT_F_TIME_LOGGED);
	if (w & AN_W_DOMAIN)
		all |= AN_FBIT(ACCT_F_RCPT) | AN_FBIT(ACCT_F_QUEUE);
	if ((w & AN_W_IP) || o->f_ip.n)
		all |= AN_FBIT(ACCT_F_DLV_SOURCE_IP);
	if ((w & AN_W_VMTA) || o->f_vmta.n)
		all |= AN_FBIT(ACCT_F_VMTA);
	if ((w & AN_W_JOB) || o->f_job.n)
		all |= AN_FBIT(ACCT_F_JOB_ID);
	if (w & AN_W_BCAT)
		all |= AN_FBIT(ACCT_F_BOUNCE_CAT);
	for (int t = 0; t < ACCT_R__COUNT; t++) {
		ctx->need[t] = all;
		if (t == ACCT_R_D)
			continue;
		if (w & (AN_W_DIAG | AN_W_CODES))
			ctx->need[t] |= AN_FBIT(ACCT_F_DSN_DIAG) |
			    AN_FBIT(ACCT_F_DSN_STATUS);
	}
	if (w & AN_W_QTIME)
		ctx->need[ACCT_R_D] |= AN_FBIT(ACCT_F_TIME_QUEUED);
	ctx->need[ACCT_R_B] |= AN_FBIT(ACCT_F_BOUNCE_CAT) |
	    AN_FBIT(ACCT_F_DSN_STATUS);
	for (int t = 0; t < ACCT_R__COUNT; t++)
		if (o->types && !(o->types & (1u << t)))
			ctx->need[t] = 0;	/* filtered by type: no split */
}

static size_t
an_diag_vsize(const struct an_ctx *ctx)
{
	return sizeof(struct an_diagc) + (size_t)ctx->isps->n * sizeof(uint64_t);
}

static size_t
an_bucket_vsize(const struct an_ctx *ctx)
{
	return sizeof(struct an_bucket) +
	    (size_t)ctx->isps->n * sizeof(struct an_counts);
}

void
an_agg_init(struct an_agg *a, const struct an_ctx *ctx)
{
	size_t mk = ctx->o->max_keys;

	memset(a, 0, sizeof(*a));
	a->ctx = ctx;
	an_htab_init(&a->domains, sizeof(struct an_dom), mk);
	an_htab_init(&a->ips, sizeof(struct an_counts), mk);
	an_htab_init(&a->vmtas, sizeof(struct an_counts), mk);
	an_htab_init(&a->jobs, sizeof(struct an_counts), mk);
	an_htab_init(&a->ispip, sizeof(struct an_counts), mk);
	an_htab_init(&a->bcat, sizeof(struct an_counts), mk);
	an_htab_init(&a->codes, sizeof(struct an_counts), mk);
	an_htab_init(&a->diag, an_diag_vsize(ctx), mk < 20000 ? mk : 20000);
	an_htab_init(&a->buckets, an_bucket_vsize(ctx), 200000);
	a->tmin = INT64_MAX;
	a->tmax = INT64_MIN;
}

void
an_agg_fini(struct an_agg *a)
{
	an_htab_fini(&a->domains);
	an_htab_fini(&a->ips);
	an_htab_fini(&a->vmtas);
	an_htab_fini(&a->jobs);
	an_htab_fini(&a->ispip);
	an_htab_fini(&a->bcat);
	an_htab_fini(&a->codes);
	an_htab_fini(&a->diag);
	an_htab_fini(&a->buckets);
	an_errlog_fini(&a->errs);
}

static void
an_merge_counts_tab(struct an_htab *dst, const struct an_htab *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct an_hent *e = &src->ents[i];
		an_counts_add(an_htab_val(dst, an_htab_get(dst, e->key, e->len)),
		    an_htab_val(src, i));
	}
}

static void
an_merge_domains(struct an_htab *dst, const struct an_htab *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct an_hent *e = &src->ents[i];
		const struct an_dom *s = an_htab_val(src, i);
		struct an_dom *d = an_htab_val(dst,
		    an_htab_get(dst, e->key, e->len));
		an_counts_add(&d->c, &s->c);
		if (d->isp == 0)
			d->isp = s->isp;
	}
}

static void
an_merge_diag(struct an_htab *dst, const struct an_htab *src, int nisp)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct an_hent *e = &src->ents[i];
		const struct an_diagc *s = an_htab_val(src, i);
		struct an_diagc *d = an_htab_val(dst,
		    an_htab_get(dst, e->key, e->len));
		if (d->exlen == 0) {
			d->cls = s->cls;
			d->exlen = s->exlen;
			memcpy(d->example, s->example, s->exlen);
			d->first = s->first;
		}
		if (s->first && (d->first == 0 || s->first < d->first))
			d->first = s->first;
		if (s->last > d->last)
			d->last = s->last;
		an_counts_add(&d->c, &s->c);
		for (int k = 0; k < nisp; k++)
			d->isp[k] += s->isp[k];
	}
}

static void
an_merge_buckets(struct an_htab *dst, const struct an_htab *src, int nisp)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct an_hent *e = &src->ents[i];
		const struct an_bucket *s = an_htab_val(src, i);
		struct an_bucket *d = an_htab_val(dst,
		    an_htab_get(dst, e->key, e->len));
		an_counts_add(&d->tot, &s->tot);
		for (int k = 0; k < AN_DC__COUNT; k++)
			d->cls[k] += s->cls[k];
		an_hist_merge(&d->q, &s->q);
		for (int k = 0; k < nisp; k++)
			an_counts_add(&d->isp[k], &s->isp[k]);
	}
}

void
an_agg_merge(struct an_agg *dst, struct an_agg *src)
{
	int nisp = dst->ctx->isps->n;

	an_counts_add(&dst->total, &src->total);
	for (int k = 0; k < nisp; k++) {
		an_counts_add(&dst->isp[k], &src->isp[k]);
		an_hist_merge(&dst->qtime_isp[k], &src->qtime_isp[k]);
	}
	an_merge_domains(&dst->domains, &src->domains);
	an_merge_counts_tab(&dst->ips, &src->ips);
	an_merge_counts_tab(&dst->vmtas, &src->vmtas);
	an_merge_counts_tab(&dst->jobs, &src->jobs);
	an_merge_counts_tab(&dst->ispip, &src->ispip);
	an_merge_counts_tab(&dst->bcat, &src->bcat);
	an_merge_counts_tab(&dst->codes, &src->codes);
	an_merge_diag(&dst->diag, &src->diag, nisp);
	an_merge_buckets(&dst->buckets, &src->buckets, nisp);
	an_hist_merge(&dst->qtime, &src->qtime);
	dst->tmin = src->tmin < dst->tmin ? src->tmin : dst->tmin;
	dst->tmax = src->tmax > dst->tmax ? src->tmax : dst->tmax;
	dst->records += src->records;
	dst->filtered += src->filtered;
	an_errlog_merge(&dst->errs, &src->errs, 0);
}
