/*
 * an_agg.h -- the aggregate model: counters per record type for the whole
 * input and per domain, ISP, source IP, VMTA, job, ISP x IP, bounceCat,
 * dsnStatus and dsnDiag cluster; time buckets; time-in-queue histograms.
 *
 * One an_agg per worker (no locking); an_agg_merge() folds one into
 * another, so results do not depend on how the input was split. Memory is
 * bounded by the number of distinct keys (each table is capped at
 * max_keys, beyond which keys fold into "(other)").
 */
#ifndef SLUICE_AN_AGG_H
#define SLUICE_AN_AGG_H

#include <stdint.h>

#include "analyser/an_diag.h"
#include "analyser/an_hash.h"
#include "analyser/an_isp.h"
#include "analyser/an_opts.h"
#include "analyser/an_parse.h"

#define AN_HIST_BINS	168
#define AN_EXAMPLE_MAX	240

struct an_counts {
	uint64_t	 n[ACCT_R__COUNT];
	uint64_t	 expired;	/* b records for expired messages */
};

/* Delivery attempts with an outcome: d + b + t (the rates' denominator). */
static inline uint64_t
an_attempts(const struct an_counts *c)
{
	return c->n[ACCT_R_D] + c->n[ACCT_R_B] + c->n[ACCT_R_T];
}

static inline double
an_rate(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Log-linear histogram of seconds (4 sub-bins per power of two). */
struct an_hist {
	uint64_t	 n;
	double		 sum;
	int64_t		 max;
	uint64_t	 bins[AN_HIST_BINS];
};

void an_hist_add(struct an_hist *h, int64_t v);
void an_hist_merge(struct an_hist *dst, const struct an_hist *src);
/* Value at quantile q (0..1); 0 if empty. Precision ~12%. */
double an_hist_quantile(const struct an_hist *h, double q);

struct an_dom {
	struct an_counts c;
	int		 isp;
};

struct an_diagc {
	struct an_counts c;
	int		 cls;
	int64_t		 first, last;
	uint32_t	 exlen;
	char		 example[AN_EXAMPLE_MAX];
	uint64_t	 isp[];		/* per ISP, [ctx->isps->n] */
};

struct an_bucket {
	struct an_counts tot;
	uint64_t	 cls[AN_DC__COUNT];
	struct an_hist	 q;
	struct an_counts isp[];		/* [ctx->isps->n] */
};

/* Read-only context shared by all workers. */
struct an_ctx {
	const struct an_opts	*o;
	const struct an_isp_map	*isps;
	uint64_t		 need[ACCT_R__COUNT];	/* fields per type */
	unsigned		 want;	/* AN_W_* */
};

#define AN_W_TIME	0x01	/* timeLogged */
#define AN_W_DOMAIN	0x02
#define AN_W_IP		0x04
#define AN_W_VMTA	0x08
#define AN_W_JOB	0x10
#define AN_W_DIAG	0x20
#define AN_W_SERIES	0x40
#define AN_W_QTIME	0x80
#define AN_W_CODES	0x100
#define AN_W_BCAT	0x200
#define AN_W_MATRIX	0x400

struct an_agg {
	const struct an_ctx *ctx;
	struct an_counts total;
	struct an_counts isp[AN_ISP_MAX];
	struct an_htab	 domains, ips, vmtas, jobs, ispip, bcat, codes, diag;
	struct an_htab	 buckets;	/* key: int64 bucket start */
	struct an_hist	 qtime;
	struct an_hist	 qtime_isp[AN_ISP_MAX];
	int64_t		 tmin, tmax;
	uint64_t	 records;	/* parsed (before filters) */
	uint64_t	 filtered;	/* dropped by filters */
	struct an_errlog errs;
};

/* Derive needed fields and AN_W_* from the options. */
void an_ctx_init(struct an_ctx *ctx, const struct an_opts *o,
    const struct an_isp_map *isps);
void an_agg_init(struct an_agg *a, const struct an_ctx *ctx);
void an_agg_fini(struct an_agg *a);
/* an_rec_cb: account one record (arg is the an_agg). */
void an_agg_record(void *arg, const struct an_rec *r);
void an_agg_merge(struct an_agg *dst, struct an_agg *src);
void an_counts_add(struct an_counts *dst, const struct an_counts *src);

#endif
