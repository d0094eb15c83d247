/*
 * an_run.c -- input jobs, worker threads, chunk verification, merge.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyser/an_run.h"
#include "analyser/an_src.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define AN_WIN		(16u << 20)	/* mmap feed window */
#define AN_STREAM_BUF	(4u << 20)

struct an_job {
	const char	*file;
	int		 stream;	/* 1: an_src over fd */
	int		 fd;
	const char	*base;		/* mmap */
	size_t		 flen, start, stop;
	int		 chunk;		/* 0 = first of its file */
	struct an_hdr	 preset;
	int		 has_preset;
	/* results */
	struct an_agg	 agg;
	uint64_t	 lines, headers, short_rows;
	size_t		 end_off;
	struct an_hdr	 final_hdr;
	int		 has_final;
	char		*assumed;
	int		 failed;
};

struct an_pool {
	const struct an_ctx *ctx;
	struct an_job	*jobs;
	size_t		 njobs;
	size_t		 next;		/* atomic */
	uint64_t	 done_bytes;	/* atomic */
	uint64_t	 total_bytes;
	int		 finished;	/* atomic */
};

static void
an_job_finish(struct an_job *j, struct an_parser *ps)
{
	j->lines = ps->line;
	j->headers = ps->headers;
	j->short_rows = ps->short_rows;
	if (ps->have_hdr) {
		an_hdr_copy(&j->final_hdr, &ps->hdr);
		j->has_final = 1;
	}
	j->assumed = ps->assumed;
	ps->assumed = NULL;
	an_parser_fini(ps);
}

static void
an_job_mmap(struct an_pool *pl, struct an_job *j, struct an_parser *ps)
{
	const char *cur = j->base + j->start, *fend = j->base + j->flen;
	size_t len, used;

	ps->stop_at = j->stop < j->flen ? j->base + j->stop : NULL;
	while (cur < fend) {
		len = (size_t)(fend - cur) > AN_WIN ? AN_WIN : (size_t)(fend - cur);
		used = an_parser_feed(ps, cur, len, cur + len == fend);
		cur += used;
		__atomic_fetch_add(&pl->done_bytes, used, __ATOMIC_RELAXED);
		if (ps->stop_at && cur >= ps->stop_at)
			break;
		if (used == 0)
			break;		/* cannot happen: records < window */
	}
	j->end_off = (size_t)(cur - j->base);
}

static void
an_job_stream(struct an_pool *pl, struct an_job *j, struct an_parser *ps)
{
	struct an_src src;
	size_t cap = AN_STREAM_BUF, have = 0, used;
	char *buf;
	ssize_t n;
	uint64_t raw = 0;

	if (an_src_open_fd(&src, j->fd) != 0) {
		log_warn("%s", j->file);
		j->failed = 1;
		return;
	}
	buf = xmalloc(cap);
	for (;;) {
		n = an_src_read(&src, buf + have, cap - have, j->file);
		if (n < 0) {
			if (errno)
				log_warn("%s: read", j->file);
			j->failed = 1;
		}
		if (n > 0)
			have += (size_t)n;
		used = an_parser_feed(ps, buf, have, n <= 0);
		memmove(buf, buf + used, have - used);
		have -= used;
		__atomic_fetch_add(&pl->done_bytes, src.raw_bytes - raw,
		    __ATOMIC_RELAXED);
		raw = src.raw_bytes;
		if (n <= 0)
			break;
	}
	free(buf);
	an_src_close(&src);
	j->fd = -1;
}

static void
an_job_run(struct an_pool *pl, struct an_job *j)
{
	struct an_parser ps;

	an_agg_init(&j->agg, pl->ctx);
	an_parser_init(&ps, j->file, pl->ctx->need, an_agg_record, &j->agg,
	    &j->agg.errs);
	if (j->has_preset)
		an_parser_preset(&ps, &j->preset);
	if (j->chunk > 0)
		ps.warned_nohdr = 1;
	if (j->stream)
		an_job_stream(pl, j, &ps);
	else
		an_job_mmap(pl, j, &ps);
	an_job_finish(j, &ps);
}

static void *
an_worker(void *arg)
{
	struct an_pool *pl = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&pl->next, 1, __ATOMIC_RELAXED)) <
	    pl->njobs)
		an_job_run(pl, &pl->jobs[i]);
	return NULL;
}

static void *
an_progress(void *arg)
{
	struct an_pool *pl = arg;
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	uint64_t d;
	int w;

	while (!__atomic_load_n(&pl->finished, __ATOMIC_RELAXED)) {
		nanosleep(&ts, NULL);
		d = __atomic_load_n(&pl->done_bytes, __ATOMIC_RELAXED);
		if (pl->total_bytes == 0)
			continue;
		w = (int)(40.0 * (double)d / (double)pl->total_bytes);
		w = w > 40 ? 40 : w;
		fprintf(stderr, "\r[%-40.*s] %5.1f%% %8.1f MB", w,
		    "========================================",
		    d >= pl->total_bytes ? 100.0 :
		    100.0 * (double)d / (double)pl->total_bytes, (double)d / 1e6);
	}
	fprintf(stderr, "\r%*s\r", 70, "");
	return NULL;
}

static struct an_job *
an_job_new(struct an_job **v, size_t *n, const char *file)
{
	struct an_job *j;

	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	j = &(*v)[(*n)++];
	memset(j, 0, sizeof(*j));
	j->file = file;
	j->fd = -1;
	return j;
}

/* Offset of the line start at or after x. */
static size_t
an_next_line(const char *base, size_t len, size_t x)
{
	const char *nl = memchr(base + x, '\n', len - x);

	return nl ? (size_t)(nl + 1 - base) : len;
}

static void
an_jobs_mmap(struct an_job **v, size_t *n, const char *file, const char *base,
    size_t len, int threads, size_t split_min)
{
	size_t nchunks = len >= split_min && threads > 1 ? (size_t)threads : 1;
	size_t first_end = an_next_line(base, len, 0), start = 0;
	struct an_hdr h;
	int have_h = 0;

	memset(&h, 0, sizeof(h));
	if (first_end > 5 && (strncmp(base, "type,", 5) == 0 ||
	    strncmp(base, "#type,", 6) == 0)) {
		size_t hl = first_end;
		while (hl > 0 && (base[hl - 1] == '\n' || base[hl - 1] == '\r'))
			hl--;
		have_h = an_hdr_parse(&h, base, hl) == 0;
	}
	for (size_t k = 0; k < nchunks; k++) {
		struct an_job *j = an_job_new(v, n, file);
		j->base = base;
		j->flen = len;
		j->chunk = (int)k;
		j->start = start;
		j->stop = k + 1 == nchunks ? len :
		    an_next_line(base, len, len / nchunks * (k + 1));
		if (j->stop < j->start)
			j->stop = j->start;
		if (k > 0 && have_h) {
			an_hdr_copy(&j->preset, &h);
			j->has_preset = 1;
		}
		start = j->stop;
	}
	if (h.text)
		an_hdr_fini(&h);
}

/* Add the jobs of one input; -1 if it cannot be opened. */
static int
an_jobs_add(struct an_job **v, size_t *n, const char *file, int threads,
    size_t split_min, uint64_t *total)
{
	struct stat sb;
	unsigned char mg[4];
	void *m;
	int fd;

	if (strcmp(file, "-") == 0) {
		an_job_new(v, n, "(stdin)")->stream = 1;
		(*v)[*n - 1].fd = 0;
		return 0;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "sluice acct: %s: %s\n", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*total += (uint64_t)sb.st_size;
	if (!S_ISREG(sb.st_mode) || (pread(fd, mg, 4, 0) >= 2 &&
	    an_src_sniff(mg, 4) != AN_SRC_PLAIN)) {
		struct an_job *j = an_job_new(v, n, file);
		j->stream = 1;
		j->fd = fd;
		return 0;
	}
	if (sb.st_size == 0) {
		close(fd);
		return 0;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "sluice acct: %s: mmap: %s\n", file,
		    strerror(errno));
		return -1;
	}
	madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL | MADV_WILLNEED);
	an_jobs_mmap(v, n, file, m, (size_t)sb.st_size, threads, split_min);
	return 0;
}

/* Check chunk j against the real end state of chunk p; re-read if wrong. */
static void
an_job_verify(struct an_pool *pl, struct an_job *p, struct an_job *j,
    struct an_run_stats *st)
{
	int ok = p->end_off == j->start && (j->assumed == NULL ||
	    (p->has_final && strcmp(p->final_hdr.text, j->assumed) == 0));

	if (ok)
		return;
	st->reparsed++;
	an_agg_fini(&j->agg);
	free(j->assumed);
	j->assumed = NULL;
	if (j->has_final)
		an_hdr_fini(&j->final_hdr);
	j->has_final = 0;
	if (j->has_preset)
		an_hdr_fini(&j->preset);
	j->has_preset = p->has_final;
	if (p->has_final)
		an_hdr_copy(&j->preset, &p->final_hdr);
	j->start = p->end_off < j->stop ? p->end_off : j->stop;
	an_job_run(pl, j);
	if (j->start == j->stop)
		j->end_off = p->end_off > j->stop ? p->end_off : j->stop;
}

static void
an_job_free(struct an_job *j)
{
	if (j->has_preset)
		an_hdr_fini(&j->preset);
	if (j->has_final)
		an_hdr_fini(&j->final_hdr);
	free(j->assumed);
	if (!j->stream && j->chunk == 0 && j->base)
		munmap((void *)j->base, j->flen);
	if (j->stream && j->fd > 0)
		close(j->fd);
}

static void
an_run_merge(struct an_pool *pl, struct an_agg *out, struct an_run_stats *st)
{
	uint64_t base = 0;

	for (size_t i = 0; i < pl->njobs; i++) {
		struct an_job *j = &pl->jobs[i];
		if (j->chunk > 0)
			an_job_verify(pl, &pl->jobs[i - 1], j, st);
		else {
			base = 0;
			st->files++;
		}
		st->io_errors |= j->failed;
		an_errlog_merge(&out->errs, &j->agg.errs, base);
		an_agg_merge(out, &j->agg);
		base += j->lines;
		st->lines += j->lines;
		st->headers += j->headers;
		st->short_rows += j->short_rows;
	}
	for (size_t i = 0; i < pl->njobs; i++) {
		an_agg_fini(&pl->jobs[i].agg);
		an_job_free(&pl->jobs[i]);
	}
}

int
an_run(const struct an_ctx *ctx, struct an_agg *out, struct an_run_stats *st)
{
	const struct an_opts *o = ctx->o;
	struct an_pool pl;
	pthread_t th[16], prog;
	int nth = o->threads < 1 ? 1 : o->threads > 16 ? 16 : o->threads;
	int show = o->progress > 0 || (o->progress < 0 && isatty(2));
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&pl, 0, sizeof(pl));
	memset(st, 0, sizeof(*st));
	pl.ctx = ctx;
	for (size_t i = 0; i < o->nfiles; i++)
		if (an_jobs_add(&pl.jobs, &pl.njobs, o->files[i], nth,
		    o->split_min, &pl.total_bytes) != 0)
			st->io_errors = 1;
	if ((size_t)nth > pl.njobs)
		nth = pl.njobs ? (int)pl.njobs : 1;
	if (show)
		pthread_create(&prog, NULL, an_progress, &pl);
	for (int i = 1; i < nth; i++)
		pthread_create(&th[i], NULL, an_worker, &pl);
	an_worker(&pl);
	for (int i = 1; i < nth; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&pl.finished, 1, __ATOMIC_RELAXED);
	if (show)
		pthread_join(prog, NULL);
	an_run_merge(&pl, out, st);
	st->bytes = pl.total_bytes ? pl.total_bytes : pl.done_bytes;
	free(pl.jobs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return st->io_errors ? 1 : 0;
}
