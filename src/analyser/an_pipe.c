/*
 * an_pipe.c -- block pipeline for one stream input (see an_pipe.h).
 *
 * The cutter (calling thread) reads decompressed bytes into the current
 * block and walks its records with an_rec_step(), as an_parser_feed()
 * will, counting lines and noting header lines. It cuts at the first
 * record boundary past the target size (or at the last one once the block
 * is full), moving the incomplete tail into the next block. A record the
 * parser rejects for having no end within AN_MAXREC is decided on a
 * 1 MiB window, so no cut is made within AN_MAXREC of its start: the block
 * parser then sees the same window. Its line is skipped up to its LF, as
 * the parser does across feeds; a block cut inside it (one per AN_MAXREC)
 * starts in that skipping state. Blocks wait in a ring of nring slots
 * (made - merged <= nring); block seq is parsed by whichever thread takes
 * it and merged, under mu, when every earlier block is merged. A block
 * after the first starts with the header the cutter saw (none before any
 * header); it is verified against the merged predecessor's final header
 * (an inferred default layout may differ) and re-read if it used a wrong
 * one, as an_run.c does for chunks of a split file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_pipe.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define AN_PIPE_MAXHELP	16
#define AN_PIPE_MAXRING	(2 * AN_PIPE_MAXHELP + 2)
#define AN_PIPE_CAP0	((size_t)24 << 20)	/* largest first allocation */

struct an_blk {
	char		*buf;
	size_t		 len, cap;
	uint64_t	 seq;
	int		 eof;		/* last block: parsed with eof */
	int		 skip0;		/* starts inside a bad line */
	uint64_t	 line0;		/* lines before it */
	struct an_hdr	 preset;	/* header the cutter saw in effect */
	int		 has_preset;
	int		 done;		/* under mu */
	/* results */
	struct an_agg	*agg;
	uint64_t	 line_end, headers, short_rows;
	struct an_hdr	 final_hdr;
	int		 has_final;
	char		*assumed;
};

struct an_pipe {
	const struct an_pipe_args *a;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct an_blk	*ring[AN_PIPE_MAXRING];	/* [seq % nring] */
	size_t		 nring;
	uint64_t	 made, taken, merged;	/* under mu */
	int		 ended;			/* under mu */
	struct an_blk	*spare[AN_PIPE_MAXRING + 2];	/* under mu */
	size_t		 nspare;
	/* merge state, under mu */
	struct an_agg	*out;
	struct an_parser *ps;
	struct an_pipe_stats *st;
};

/* Parse block b into a fresh aggregate. */
static void
an_blk_parse(struct an_pipe *pp, struct an_blk *b, const struct an_hdr *pre,
    int warned)
{
	const struct an_ctx *ctx = pp->a->ctx;
	struct an_parser ps;

	b->agg = xmalloc(sizeof(*b->agg));
	an_agg_init(b->agg, ctx);
	an_parser_init(&ps, pp->a->file, ctx->need, an_agg_record, b->agg,
	    &b->agg->errs);
	if (pre)
		an_parser_preset(&ps, pre);
	ps.warned_nohdr = warned;
	ps.line = b->line0;
	ps.skip_line = b->skip0;
	an_parser_feed(&ps, b->buf, b->len, b->eof);
	b->line_end = ps.line;
	b->headers = ps.headers;
	b->short_rows = ps.short_rows;
	if (ps.have_hdr) {
		an_hdr_copy(&b->final_hdr, &ps.hdr);
		b->has_final = 1;
	}
	b->assumed = ps.assumed;
	ps.assumed = NULL;
	an_parser_fini(&ps);
}

/* Drop a block's results and header copies (keeps its buffer). */
static void
an_blk_clear(struct an_blk *b)
{
	if (b->agg) {
		an_agg_fini(b->agg);
		free(b->agg);
		b->agg = NULL;
	}
	if (b->has_final)
		an_hdr_fini(&b->final_hdr);
	if (b->has_preset)
		an_hdr_fini(&b->preset);
	b->has_final = b->has_preset = 0;
	free(b->assumed);
	b->assumed = NULL;
}

/*
 * Under mu: merge the finished blocks that follow the merged prefix. A
 * block that assumed a header other than the one in effect at its start
 * (its predecessor's final header, held in ps) is re-read first.
 */
static void
an_pipe_merge_ready(struct an_pipe *pp)
{
	struct an_parser *ps = pp->ps;

	while (pp->merged < pp->made) {
		struct an_blk *b = pp->ring[pp->merged % pp->nring];

		if (!b->done)
			break;
		if (b->seq > 0 && b->assumed != NULL && (!ps->have_hdr ||
		    strcmp(ps->hdr.text, b->assumed) != 0)) {
			an_blk_clear(b);
			an_blk_parse(pp, b, ps->have_hdr ? &ps->hdr : NULL,
			    ps->have_hdr);
			pp->st->reparsed++;
		}
		an_errlog_merge(&pp->out->errs, &b->agg->errs, 0);
		an_agg_merge(pp->out, b->agg);
		ps->line = b->line_end;
		ps->headers += b->headers;
		ps->short_rows += b->short_rows;
		if (b->has_final) {
			an_hdr_fini(&ps->hdr);
			an_hdr_copy(&ps->hdr, &b->final_hdr);
			ps->have_hdr = 1;
		}
		if (b->seq == 0) {
			ps->assumed = b->assumed;
			b->assumed = NULL;
		}
		an_blk_clear(b);
		b->done = 0;
		pp->spare[pp->nspare++] = b;
		pp->merged++;
		pp->st->blocks++;
	}
}

/* Under mu, with a block waiting: parse the oldest one, then merge. */
static void
an_pipe_work_one(struct an_pipe *pp)
{
	struct an_blk *b = pp->ring[pp->taken++ % pp->nring];

	pthread_mutex_unlock(&pp->mu);
	an_blk_parse(pp, b, b->has_preset ? &b->preset : NULL, b->seq > 0);
	pthread_mutex_lock(&pp->mu);
	b->done = 1;
	an_pipe_merge_ready(pp);
	pthread_cond_broadcast(&pp->cv);
}

static void *
an_pipe_helper(void *arg)
{
	struct an_pipe *pp = arg;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		while (pp->taken == pp->made && !pp->ended)
			pthread_cond_wait(&pp->cv, &pp->mu);
		if (pp->taken == pp->made)
			break;
		an_pipe_work_one(pp);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

/* A block with room for at least need bytes (a spare one if it fits). */
static struct an_blk *
an_pipe_blk_get(struct an_pipe *pp, size_t need)
{
	struct an_blk *b = NULL;
	size_t cap = pp->a->block + pp->a->block / 2 + 4096;

	if (cap > AN_PIPE_CAP0)
		cap = AN_PIPE_CAP0;	/* grown when filled */

	pthread_mutex_lock(&pp->mu);
	if (pp->nspare > 0)
		b = pp->spare[--pp->nspare];
	pthread_mutex_unlock(&pp->mu);
	if (b == NULL)
		b = xcalloc(1, sizeof(*b));
	if (cap < need * 2)
		cap = need * 2;
	if (b->cap < cap) {
		free(b->buf);
		b->buf = xmalloc(cap);
		b->cap = cap;
	}
	b->len = 0;
	b->eof = 0;
	return b;
}

/* Hand block b to the parsers; wait (parsing one meanwhile) for room. */
static void
an_pipe_put(struct an_pipe *pp, struct an_blk *b)
{
	pthread_mutex_lock(&pp->mu);
	b->seq = pp->made;
	pp->ring[pp->made++ % pp->nring] = b;
	pthread_cond_broadcast(&pp->cv);
	while (pp->made - pp->merged >= pp->nring || (b->eof &&
	    pp->merged < pp->made)) {
		if (pp->taken < pp->made)
			an_pipe_work_one(pp);
		else
			pthread_cond_wait(&pp->cv, &pp->mu);
	}
	if (b->eof) {
		pp->ended = 1;
		pthread_cond_broadcast(&pp->cv);
	}
	pthread_mutex_unlock(&pp->mu);
}

/* The cutter's state: the block being filled and its scanned prefix. */
struct an_cut {
	struct an_blk	*b;
	size_t		 scan;		/* next record start in b */
	size_t		 min_cut;	/* no cut before this offset */
	uint64_t	 lines;		/* lines before scan */
	struct an_hdr	 hdr;		/* header in effect at scan */
	int		 has_hdr;
	int		 skipping;	/* scan is inside a bad line */
};

/* Walk the complete records of the block; cut past the target size. */
static void
an_cut_scan(struct an_pipe *pp, struct an_cut *c, int *started,
    pthread_t *th, int *nth)
{
	struct an_scan sc;
	enum an_step st;
	struct an_blk *nb;
	const char *p;
	size_t tail;

	for (;;) {
		while (c->scan < c->b->len && (c->skipping ||
		    c->scan < pp->a->block || c->scan < c->min_cut)) {
			p = c->b->buf + c->scan;
			if (c->skipping) {	/* as an_parser_feed() does */
				p = memchr(p, '\n', c->b->len - c->scan);
				c->scan = p ? (size_t)(p + 1 - c->b->buf) :
				    c->b->len;
				c->skipping = p == NULL;
				continue;
			}
			st = an_rec_step(p, c->b->buf + c->b->len, 0, &sc);
			if (st == AN_STEP_MORE)
				break;
			if (st == AN_STEP_BAD) {
				if (c->min_cut < c->scan + AN_MAXREC + 1)
					c->min_cut = c->scan + AN_MAXREC + 1;
				c->skipping = sc.skip_rest;
			}
			if (st == AN_STEP_REC && sc.re > p &&
			    an_rec_is_header(p, sc.re)) {
				if (c->has_hdr)
					an_hdr_fini(&c->hdr);
				an_hdr_parse(&c->hdr, p, (size_t)(sc.re - p));
				c->has_hdr = 1;
			}
			c->lines += sc.lines;
			c->scan = (size_t)(sc.next - c->b->buf);
		}
		/* cut at the first boundary past the target, or at the last
		 * one when the block is full; inside a line being skipped,
		 * only after AN_MAXREC bytes (not one block per read) */
		if (c->scan == 0 || c->scan < c->min_cut ||
		    (c->scan < pp->a->block && c->b->len < pp->a->block) ||
		    (c->skipping && c->scan < AN_MAXREC))
			return;
		tail = c->b->len - c->scan;
		nb = an_pipe_blk_get(pp, tail);
		memcpy(nb->buf, c->b->buf + c->scan, tail);
		nb->len = tail;
		nb->line0 = c->lines;
		nb->skip0 = c->skipping;
		if (c->has_hdr) {
			an_hdr_copy(&nb->preset, &c->hdr);
			nb->has_preset = 1;
		}
		c->b->len = c->scan;
		if (!*started) {
			/* without helpers the caller parses every block */
			for (int i = 0; i < pp->a->helpers &&
			    i < AN_PIPE_MAXHELP; i++)
				if (pthread_create(&th[*nth], NULL,
				    an_pipe_helper, pp) == 0)
					(*nth)++;
			*started = 1;
		}
		an_pipe_put(pp, c->b);
		c->b = nb;
		c->scan = c->min_cut = 0;
	}
}

int
an_pipe_run(const struct an_pipe_args *a, struct an_parser *ps,
    struct an_agg *agg, struct an_pipe_stats *st)
{
	struct an_pipe pp;
	struct an_cut c;
	pthread_t th[AN_PIPE_MAXHELP];
	uint64_t raw = 0;
	size_t want, more = a->block / 4 + 256;
	int started = 0, nth = 0, failed = 0;
	ssize_t n;

	memset(&pp, 0, sizeof(pp));
	memset(&c, 0, sizeof(c));
	pp.a = a;
	pp.out = agg;
	pp.ps = ps;
	pp.st = st;
	pp.nring = 2 * (size_t)(a->helpers + 1);
	if (pp.nring > AN_PIPE_MAXRING)
		pp.nring = AN_PIPE_MAXRING;
	if (more > 65536)
		more = 65536;
	pthread_mutex_init(&pp.mu, NULL);
	pthread_cond_init(&pp.cv, NULL);
	c.b = an_pipe_blk_get(&pp, 0);
	for (;;) {
		/* up to the target, then in small steps to finish a record,
		 * growing with it (each step rescans the record) */
		want = c.b->len < a->block ? a->block - c.b->len :
		    c.b->len - c.scan > more ? c.b->len - c.scan : more;
		if (want > c.b->cap - c.b->len)
			want = c.b->cap - c.b->len;
		if (want == 0) {
			c.b->cap *= 2;
			c.b->buf = xreallocarray(c.b->buf, c.b->cap, 1);
			continue;
		}
		n = an_src_read(a->src, c.b->buf + c.b->len, want, a->file);
		if (n < 0) {
			if (errno)
				log_warn("%s: read", a->file);
			failed = 1;
		}
		__atomic_fetch_add(a->done_bytes, a->src->raw_bytes - raw,
		    __ATOMIC_RELAXED);
		raw = a->src->raw_bytes;
		if (n <= 0)
			break;
		c.b->len += (size_t)n;
		an_cut_scan(&pp, &c, &started, th, &nth);
	}
	c.b->eof = 1;
	an_pipe_put(&pp, c.b);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (c.has_hdr)
		an_hdr_fini(&c.hdr);
	for (size_t i = 0; i < pp.nspare; i++) {
		free(pp.spare[i]->buf);
		free(pp.spare[i]);
	}
	pthread_cond_destroy(&pp.cv);
	pthread_mutex_destroy(&pp.mu);
	return failed ? -1 : 0;
}
