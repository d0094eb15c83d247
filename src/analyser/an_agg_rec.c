/*
 * an_agg_rec.c -- account one parsed record into an an_agg (hot path).
 *
 * Order: type filter, time (parse + since/until), keys (domain -> ISP,
 * source IP, VMTA, job) with their filters, then the counters the
 * requested reports need (ctx->want).
 */
#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "analyser/an_agg.h"

#define AN_NONE		"(none)"

struct an_keys {
	int64_t		 t;
	int		 have_t;
	int		 isp;
	const char	*dom, *ip, *vmta, *job;
	size_t		 domlen, iplen, vmtalen, joblen, domidx;
	char		 dbuf[256], ibuf[128], vbuf[256], jbuf[256];
};

/* Field value, unquoted into buf (truncated to cap) if quoted. */
static const char *
an_val(struct an_span s, char *buf, size_t cap, size_t *len)
{
	char tmp[4096];
	size_t n;

	if (!an_csv_is_quoted(s)) {
		*len = s.len;
		return s.len ? s.p : "";
	}
	if (s.len > sizeof(tmp))
		s.len = sizeof(tmp);
	n = an_csv_unquote(s, tmp);
	if (n > cap)
		n = cap;
	memcpy(buf, tmp, n);
	*len = n;
	return buf;
}

static int
an_list_has(const struct an_strlist *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && strncasecmp(l->v[i], s, n) == 0)
			return 1;
	return 0;
}

/* Domain filter: exact or a subdomain of a listed domain. */
static int
an_domain_match(const struct an_strlist *l, const char *d, size_t n)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t k = strlen(l->v[i]);
		if (k == n && strncasecmp(l->v[i], d, n) == 0)
			return 1;
		if (k < n && d[n - k - 1] == '.' &&
		    strncasecmp(l->v[i], d + n - k, k) == 0)
			return 1;
	}
	return 0;
}

/* Recipient domain (lower case), from rcpt or else from queue "dom/vmta". */
static void
an_key_domain(struct an_keys *k, const struct an_rec *r)
{
	char tmp[512];
	size_t n, o = 0;
	const char *v = an_val(r->f[ACCT_F_RCPT], tmp, sizeof(tmp), &n), *at;

	if (n > 0 && (at = memrchr(v, '@', n)) != NULL) {
		n -= (size_t)(at + 1 - v);
		v = at + 1;
	} else if (n == 0 || r->type == ACCT_R_TQ) {
		v = an_val(r->f[ACCT_F_QUEUE], tmp, sizeof(tmp), &n);
		if ((at = memchr(v, '/', n)) != NULL)
			n = (size_t)(at - v);
	}
	while (n > 0 && (v[n - 1] == '>' || v[n - 1] == ' ' || v[n - 1] == '.'))
		n--;
	for (size_t i = 0; i < n && o < sizeof(k->dbuf) - 1; i++)
		k->dbuf[o++] = (char)tolower((unsigned char)v[i]);
	if (o == 0) {
		k->dom = AN_NONE;
		k->domlen = strlen(AN_NONE);
		return;
	}
	k->dom = k->dbuf;
	k->domlen = o;
}

static int
an_key_time(struct an_agg *a, struct an_keys *k, const struct an_rec *r)
{
	char buf[64];
	size_t n;
	const char *v = an_val(r->f[ACCT_F_TIME_LOGGED], buf, sizeof(buf), &n);

	if (n == 0)
		return 0;
	if (acct_parse_time(v, n, &k->t) != 0) {
		an_errlog_add(&a->errs, r->file, r->line,
		    "bad timeLogged '%.*s'", (int)(n > 40 ? 40 : n), v);
		return -1;
	}
	k->have_t = 1;
	return 0;
}

/* Fill keys and apply filters: 1 keep, 0 filtered out, -1 malformed. */
static int
an_keys_fill(struct an_agg *a, struct an_keys *k, const struct an_rec *r)
{
	const struct an_ctx *ctx = a->ctx;
	const struct an_opts *o = ctx->o;
	unsigned w = ctx->want;

	if ((w & AN_W_TIME) && an_key_time(a, k, r) != 0)
		return -1;
	if (k->have_t ? (k->t < o->since || k->t >= o->until) :
	    (o->since != INT64_MIN || o->until != INT64_MAX))
		return 0;
	if (w & AN_W_DOMAIN) {
		an_key_domain(k, r);
		size_t i = an_htab_get(&a->domains, k->dom, k->domlen);
		struct an_dom *d = an_htab_val(&a->domains, i);

		k->domidx = i;
		if (d->isp == 0)
			d->isp = 1 + an_isp_lookup(ctx->isps, k->dom, k->domlen);
		k->isp = d->isp - 1;
		if (o->f_domain.n && !an_domain_match(&o->f_domain, k->dom,
		    k->domlen))
			return 0;
		if (o->f_isp.n && !an_list_has(&o->f_isp,
		    ctx->isps->names[k->isp], strlen(ctx->isps->names[k->isp])))
			return 0;
	}
	if ((w & (AN_W_IP | AN_W_MATRIX)) || o->f_ip.n)
		k->ip = an_val(r->f[ACCT_F_DLV_SOURCE_IP], k->ibuf,
		    sizeof(k->ibuf), &k->iplen);
	if ((w & AN_W_VMTA) || o->f_vmta.n)
		k->vmta = an_val(r->f[ACCT_F_VMTA], k->vbuf, sizeof(k->vbuf),
		    &k->vmtalen);
	if ((w & AN_W_JOB) || o->f_job.n)
		k->job = an_val(r->f[ACCT_F_JOB_ID], k->jbuf, sizeof(k->jbuf),
		    &k->joblen);
	if ((o->f_ip.n && !an_list_has(&o->f_ip, k->ip, k->iplen)) ||
	    (o->f_vmta.n && !an_list_has(&o->f_vmta, k->vmta, k->vmtalen)) ||
	    (o->f_job.n && !an_list_has(&o->f_job, k->job, k->joblen)))
		return 0;
	return 1;
}

static void
an_count(struct an_counts *c, enum acct_rtype t, int expired)
{
	c->n[t]++;
	c->expired += (uint64_t)expired;
}

static struct an_counts *
an_tab_counts(struct an_htab *t, const char *k, size_t n)
{
	if (n == 0) {
		k = AN_NONE;
		n = strlen(AN_NONE);
	}
	return an_htab_val(t, an_htab_get(t, k, n));
}

static int
an_is_expired(const struct an_rec *r)
{
	struct an_span c = r->f[ACCT_F_BOUNCE_CAT], s = r->f[ACCT_F_DSN_STATUS];

	if (r->type != ACCT_R_B)
		return 0;
	if (c.len == 15 && memcmp(c.p, "message-expired", 15) == 0)
		return 1;
	return s.len >= 2 && s.p[0] == '4' && s.p[1] == '.';
}

/* Cluster the reply; returns its class. */
static int
an_agg_diag(struct an_agg *a, const struct an_rec *r, struct an_keys *k,
    int expired)
{
	char dbuf[2048], sbuf[256], key[AN_DIAG_KEYMAX + 1];
	size_t dn, sn, kn;
	const char *d = an_val(r->f[ACCT_F_DSN_DIAG], dbuf, sizeof(dbuf), &dn);
	const char *s = an_val(r->f[ACCT_F_DSN_STATUS], sbuf, sizeof(sbuf), &sn);
	struct an_diagc *c;
	int pre = a->ctx->o->diag_prefix;

	if (dn == 0 && sn == 0)
		return -1;
	if (dn == 0) {			/* no reply text: use the status */
		d = s;
		dn = sn;
	}
	if (pre > 0) {
		kn = dn < (size_t)pre ? dn : (size_t)pre;
		kn = kn > AN_DIAG_KEYMAX ? AN_DIAG_KEYMAX : kn;
		memcpy(key, d, kn);
	} else
		kn = an_diag_normalise(d, dn, key, sizeof(key));
	c = an_htab_val(&a->diag, an_htab_get(&a->diag, key, kn));
	if (c->exlen == 0) {
		c->cls = an_diag_classify(s, sn, d, dn);
		c->exlen = (uint32_t)(dn < AN_EXAMPLE_MAX ? dn : AN_EXAMPLE_MAX);
		memcpy(c->example, d, c->exlen);
		c->first = k->have_t ? k->t : 0;
	}
	if (k->have_t && (k->t < c->first || c->first == 0))
		c->first = k->t;
	if (k->have_t && k->t > c->last)
		c->last = k->t;
	an_count(&c->c, r->type, expired);
	c->isp[k->isp]++;
	return c->cls;
}

static void
an_agg_series(struct an_agg *a, const struct an_rec *r, struct an_keys *k,
    int expired, int cls, int64_t qt)
{
	int64_t bs = a->ctx->o->bucket, b = k->t - ((k->t % bs) + bs) % bs;
	struct an_bucket *bk = an_htab_val(&a->buckets,
	    an_htab_get(&a->buckets, &b, sizeof(b)));

	an_count(&bk->tot, r->type, expired);
	an_count(&bk->isp[k->isp], r->type, expired);
	if (cls >= 0)
		bk->cls[cls]++;
	if (qt != INT64_MIN)
		an_hist_add(&bk->q, qt);
}

static int64_t
an_agg_qtime(struct an_agg *a, const struct an_rec *r, struct an_keys *k)
{
	char buf[64];
	size_t n;
	const char *v;
	int64_t tq;

	if (r->type != ACCT_R_D || !k->have_t)
		return INT64_MIN;
	v = an_val(r->f[ACCT_F_TIME_QUEUED], buf, sizeof(buf), &n);
	if (n == 0 || acct_parse_time(v, n, &tq) != 0)
		return INT64_MIN;
	an_hist_add(&a->qtime, k->t - tq);
	an_hist_add(&a->qtime_isp[k->isp], k->t - tq);
	return k->t - tq;
}

void
an_agg_record(void *arg, const struct an_rec *r)
{
	struct an_agg *a = arg;
	unsigned w = a->ctx->want, types = a->ctx->o->types;
	struct an_keys k;
	int expired, cls = -1, rc;
	int64_t qt = INT64_MIN;

	if (types && !(types & (1u << r->type))) {
		a->filtered++;
		return;
	}
	k.have_t = 0;
	k.isp = 0;
	k.ip = k.vmta = k.job = "";
	k.iplen = k.vmtalen = k.joblen = 0;
	if ((rc = an_keys_fill(a, &k, r)) <= 0) {
		a->filtered += rc == 0;
		return;
	}
	a->records++;
	expired = an_is_expired(r);
	an_count(&a->total, r->type, expired);
	if (k.have_t) {
		a->tmin = k.t < a->tmin ? k.t : a->tmin;
		a->tmax = k.t > a->tmax ? k.t : a->tmax;
	}
	if (w & AN_W_DOMAIN) {
		an_count(&a->isp[k.isp], r->type, expired);
		an_count(&((struct an_dom *)an_htab_val(&a->domains,
		    k.domidx))->c, r->type, expired);
	}
	if (w & AN_W_IP)
		an_count(an_tab_counts(&a->ips, k.ip, k.iplen), r->type, expired);
	if (w & AN_W_VMTA)
		an_count(an_tab_counts(&a->vmtas, k.vmta, k.vmtalen), r->type,
		    expired);
	if (w & AN_W_JOB)
		an_count(an_tab_counts(&a->jobs, k.job, k.joblen), r->type,
		    expired);
	if (w & AN_W_MATRIX) {
		char mk[130];
		size_t ml = k.iplen < 128 ? k.iplen : 128;
		mk[0] = (char)(k.isp + 1);
		memcpy(mk + 1, k.ip, ml);
		an_count(an_tab_counts(&a->ispip, mk, ml + 1), r->type, expired);
	}
	if ((w & AN_W_BCAT) && r->f[ACCT_F_BOUNCE_CAT].len)
		an_count(an_tab_counts(&a->bcat, r->f[ACCT_F_BOUNCE_CAT].p,
		    r->f[ACCT_F_BOUNCE_CAT].len), r->type, expired);
	if ((w & AN_W_CODES) && r->type != ACCT_R_D) {
		char sb[256];
		size_t sn;
		const char *s = an_val(r->f[ACCT_F_DSN_STATUS], sb, sizeof(sb), &sn);
		an_count(an_tab_counts(&a->codes, s, sn), r->type, expired);
	}
	if ((w & AN_W_DIAG) && r->type != ACCT_R_D && r->type != ACCT_R_R)
		cls = an_agg_diag(a, r, &k, expired);
	if (w & AN_W_QTIME)
		qt = an_agg_qtime(a, r, &k);
	if ((w & AN_W_SERIES) && k.have_t)
		an_agg_series(a, r, &k, expired, cls, qt);
}
