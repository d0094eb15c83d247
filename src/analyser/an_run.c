/*
 * an_run.c -- input jobs, worker threads, chunk verification, merge.
 *
 * Memory and descriptors stay bounded whatever the number of inputs: a
 * job's aggregate is allocated when a worker starts it and merged into the
 * result (in input order) and freed as soon as every job before it is
 * merged; workers do not start a job more than AN_AHEAD jobs past the
 * oldest unmerged one. Files are opened by the worker that reads them
 * (only large plain files, split into chunks, are mapped at start-up, and
 * their descriptor is closed at once). A lone stream input (compressed
 * file, stdin, pipe) is handed to an_pipe.c, which splits it into blocks
 * for parser threads of its own, since this pool would leave it to one.
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

#include "analyser/an_pipe.h"
#include "analyser/an_run.h"
#include "analyser/an_src.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define AN_WIN		(16u << 20)	/* mmap feed window */
#define AN_STREAM_BUF	(4u << 20)

enum an_job_kind {
	AN_JOB_STDIN,		/* stream over fd 0 */
	AN_JOB_PATH,		/* opened by the worker: mmap or stream */
	AN_JOB_CHUNK		/* part of a file mapped at start-up */
};

struct an_job {
	const char	*file;
	enum an_job_kind kind;
	const char	*base;		/* AN_JOB_CHUNK: the file's mapping */
	size_t		 flen, start, stop;
	int		 chunk;		/* 0 = first of its file */
	struct an_hdr	 preset;
	int		 has_preset;
	int		 done;		/* under the pool lock */
	/* results */
	struct an_agg	*agg;		/* from start until merged */
	uint64_t	 lines, headers, short_rows;
	size_t		 end_off;
	struct an_hdr	 final_hdr;
	int		 has_final;
	char		*assumed;
	int		 failed;
	struct an_pipe_stats pipe;	/* a pipelined stream's blocks */
};

struct an_pool {
	const struct an_ctx *ctx;
	struct an_job	*jobs;
	size_t		 njobs;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	size_t		 next;		/* under mu: next job to start */
	size_t		 merged;	/* under mu: jobs merged so far */
	size_t		 ahead;		/* next - merged limit */
	struct an_agg	*out;		/* under mu */
	struct an_run_stats *st;	/* under mu */
	uint64_t	 line_base;	/* lines of earlier chunks of a file */
	uint64_t	 done_bytes;	/* atomic */
	uint64_t	 total_bytes;
	int		 finished;	/* atomic */
	int		 pipe_helpers;	/* >0: streams go through an_pipe */
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
an_job_mmap(struct an_pool *pl, struct an_job *j, struct an_parser *ps,
    const char *base, size_t flen)
{
	const char *cur = base + j->start, *fend = base + flen;
	size_t len, used;

	ps->stop_at = j->stop < flen ? base + j->stop : NULL;
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
	j->end_off = (size_t)(cur - base);
}

/*
 * Stream fd (plain, gzip or zstd) through the parser, or through the block
 * pipeline (an_pipe.c) when it is the only input; closes fd.
 */
static void
an_job_stream(struct an_pool *pl, struct an_job *j, struct an_parser *ps,
    int fd)
{
	struct an_src src;
	size_t cap = AN_STREAM_BUF, have = 0, used;
	char *buf;
	ssize_t n;
	uint64_t raw = 0;

	if (an_src_open_fd(&src, fd) != 0) {
		log_warn("%s", j->file);
		an_src_close(&src);
		j->failed = 1;
		return;
	}
	if (pl->pipe_helpers > 0) {
		struct an_pipe_args pa = { pl->ctx, j->file, &src,
		    pl->pipe_helpers, pl->ctx->o->block_size, &pl->done_bytes };

		if (an_pipe_run(&pa, ps, j->agg, &j->pipe) != 0)
			j->failed = 1;
		an_src_close(&src);
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
}

/* Open a whole-file job: map a plain regular file, else stream it. */
static void
an_job_path(struct an_pool *pl, struct an_job *j, struct an_parser *ps)
{
	unsigned char mg[4];
	struct stat sb;
	void *m;
	int fd;

	if ((fd = open(j->file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &sb) < 0) {
		fprintf(stderr, "sluice acct: %s: %s\n", j->file,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		j->failed = 1;
		return;
	}
	if (!S_ISREG(sb.st_mode) || (pread(fd, mg, 4, 0) >= 2 &&
	    an_src_sniff(mg, 4) != AN_SRC_PLAIN)) {
		an_job_stream(pl, j, ps, fd);
		return;
	}
	if (sb.st_size == 0) {
		close(fd);
		return;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "sluice acct: %s: mmap: %s\n", j->file,
		    strerror(errno));
		j->failed = 1;
		return;
	}
	madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
	j->start = 0;
	j->stop = (size_t)sb.st_size;
	an_job_mmap(pl, j, ps, m, (size_t)sb.st_size);
	munmap(m, (size_t)sb.st_size);
}

static void
an_job_run(struct an_pool *pl, struct an_job *j)
{
	struct an_parser ps;

	j->agg = xmalloc(sizeof(*j->agg));
	an_agg_init(j->agg, pl->ctx);
	an_parser_init(&ps, j->file, pl->ctx->need, an_agg_record, j->agg,
	    &j->agg->errs);
	if (j->has_preset)
		an_parser_preset(&ps, &j->preset);
	if (j->chunk > 0)
		ps.warned_nohdr = 1;
	switch (j->kind) {
	case AN_JOB_STDIN:
		an_job_stream(pl, j, &ps, 0);
		break;
	case AN_JOB_PATH:
		an_job_path(pl, j, &ps);
		break;
	case AN_JOB_CHUNK:
		an_job_mmap(pl, j, &ps, j->base, j->flen);
		break;
	}
	an_job_finish(j, &ps);
}

static void
an_job_drop_agg(struct an_job *j)
{
	if (j->agg) {
		an_agg_fini(j->agg);
		free(j->agg);
		j->agg = NULL;
	}
}

/* Check chunk j against the real end state of chunk p; re-read if wrong. */
static void
an_job_verify(struct an_pool *pl, struct an_job *p, struct an_job *j)
{
	int ok = p->end_off == j->start && (j->assumed == NULL ||
	    (p->has_final && strcmp(p->final_hdr.text, j->assumed) == 0));

	if (ok)
		return;
	pl->st->reparsed++;
	an_job_drop_agg(j);
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

/* Release what job j still holds except its aggregate. */
static void
an_job_free(struct an_job *j)
{
	if (j->has_preset)
		an_hdr_fini(&j->preset);
	if (j->has_final)
		an_hdr_fini(&j->final_hdr);
	j->has_preset = j->has_final = 0;
	free(j->assumed);
	j->assumed = NULL;
}

/*
 * Under pl->mu: merge every finished job that follows the merged prefix,
 * in input order, and free it. A chunk is verified against its (already
 * merged) predecessor first; a file's mapping goes with its last chunk.
 */
static void
an_pool_merge_ready(struct an_pool *pl)
{
	struct an_run_stats *st = pl->st;

	while (pl->merged < pl->njobs && pl->jobs[pl->merged].done) {
		size_t i = pl->merged;
		struct an_job *j = &pl->jobs[i];

		if (j->chunk > 0) {
			an_job_verify(pl, &pl->jobs[i - 1], j);
			an_job_free(&pl->jobs[i - 1]);
		} else {
			pl->line_base = 0;
			st->files++;
		}
		st->io_errors |= j->failed;
		st->reparsed += j->pipe.reparsed;
		st->blocks += j->pipe.blocks;
		an_errlog_merge(&pl->out->errs, &j->agg->errs, pl->line_base);
		an_agg_merge(pl->out, j->agg);
		an_job_drop_agg(j);
		pl->line_base += j->lines;
		st->lines += j->lines;
		st->headers += j->headers;
		st->short_rows += j->short_rows;
		if (i + 1 == pl->njobs || pl->jobs[i + 1].chunk == 0) {
			an_job_free(j);
			if (j->kind == AN_JOB_CHUNK)
				munmap((void *)j->base, j->flen);
		}
		pl->merged++;
	}
}

static void *
an_worker(void *arg)
{
	struct an_pool *pl = arg;
	size_t i;

	pthread_mutex_lock(&pl->mu);
	for (;;) {
		while (pl->next < pl->njobs &&
		    pl->next >= pl->merged + pl->ahead)
			pthread_cond_wait(&pl->cv, &pl->mu);
		if (pl->next >= pl->njobs)
			break;
		i = pl->next++;
		pthread_mutex_unlock(&pl->mu);
		an_job_run(pl, &pl->jobs[i]);
		pthread_mutex_lock(&pl->mu);
		pl->jobs[i].done = 1;
		an_pool_merge_ready(pl);
		pthread_cond_broadcast(&pl->cv);
	}
	pthread_mutex_unlock(&pl->mu);
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
an_job_new(struct an_job **v, size_t *n, const char *file,
    enum an_job_kind kind)
{
	struct an_job *j;

	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	j = &(*v)[(*n)++];
	memset(j, 0, sizeof(*j));
	j->file = file;
	j->kind = kind;
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
    size_t len, int threads)
{
	size_t nchunks = (size_t)threads;
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
		struct an_job *j = an_job_new(v, n, file, AN_JOB_CHUNK);
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

/*
 * Add the jobs of one input; -1 if it cannot be read. Only a plain file
 * large enough to split is opened (and mapped) here; every other file is
 * opened by the worker that reads it, so no descriptor is held meanwhile.
 */
static int
an_jobs_add(struct an_job **v, size_t *n, const char *file, int threads,
    size_t split_min, uint64_t *total)
{
	struct stat sb;
	unsigned char mg[4];
	void *m;
	int fd;

	if (strcmp(file, "-") == 0) {
		an_job_new(v, n, "(stdin)", AN_JOB_STDIN);
		return 0;
	}
	if (stat(file, &sb) < 0) {
		fprintf(stderr, "sluice acct: %s: %s\n", file, strerror(errno));
		return -1;
	}
	*total += (uint64_t)sb.st_size;
	if (!S_ISREG(sb.st_mode) || threads < 2 ||
	    (size_t)sb.st_size < split_min || sb.st_size == 0) {
		an_job_new(v, n, file, AN_JOB_PATH);
		return 0;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "sluice acct: %s: %s\n", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((pread(fd, mg, 4, 0) >= 2 && an_src_sniff(mg, 4) != AN_SRC_PLAIN) ||
	    sb.st_size == 0) {
		close(fd);
		an_job_new(v, n, file, AN_JOB_PATH);
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
	an_jobs_mmap(v, n, file, m, (size_t)sb.st_size, threads);
	return 0;
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
	pl.out = out;
	pl.st = st;
	pthread_mutex_init(&pl.mu, NULL);
	pthread_cond_init(&pl.cv, NULL);
	for (size_t i = 0; i < o->nfiles; i++)
		if (an_jobs_add(&pl.jobs, &pl.njobs, o->files[i], nth,
		    o->split_min, &pl.total_bytes) != 0)
			st->io_errors = 1;
	/* Room for every chunk of one split file in flight, and a few more. */
	pl.ahead = 2 * (size_t)nth + 2;
	/* A lone stream input would use one thread: pipeline it instead. */
	if (pl.njobs == 1 && pl.jobs[0].kind != AN_JOB_CHUNK)
		pl.pipe_helpers = nth - 1;
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
	st->bytes = pl.total_bytes ? pl.total_bytes : pl.done_bytes;
	free(pl.jobs);
	pthread_cond_destroy(&pl.cv);
	pthread_mutex_destroy(&pl.mu);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return st->io_errors ? 1 : 0;
}
