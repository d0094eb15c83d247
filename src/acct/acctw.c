/*
 * acctw.c -- accounting writer: loop-side buffering and the writer thread.
 *
 * acctw_write() runs on the caller's thread: under one mutex it formats
 * the record straight into the file's pending buffer and returns; it never
 * does I/O and never waits for the writer. The writer thread swaps each
 * pending buffer for an empty one and writes the batch, rotating at record
 * boundaries when max-size would be exceeded. If the disk is slow the
 * pending buffer grows up to max_pending bytes per file; past that, records
 * are dropped, counted, and the writer logs the count.
 * On a write error the batch is kept and retried each second; at close,
 * whatever still cannot be written is counted as dropped.
 * Ownership: struct acctw owns everything it points to; events are
 * borrowed only during acctw_write().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acct/acct_file.h"
#include "acct/acct_layout.h"
#include "acct/acct_record.h"
#include "acct/acctw.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define ACCTW_DEF_MAX_SIZE	(250ull << 20)
#define ACCTW_MIN_MAX_SIZE	(1ull << 20)
#define ACCTW_DEF_MOVE_IVL	86400
#define ACCTW_DEF_DELETE	(8 * 86400)
#define ACCTW_DEF_PENDING	(512ull << 20)
#define ACCTW_PRUNE_IVL		3600
#define ACCTW_LINGER_NS		5000000L	/* 5 ms */
#define ACCTW_SMALL_ROUND	1000		/* records */

/* A batch: record bytes plus the end offset of each record. */
struct acctw_batch {
	struct sbuf	 buf;
	size_t		*ends;
	size_t		 n, cap;
	size_t		 pos;		/* records fully written */
	size_t		 off;		/* bytes written */
};

struct acctw_out {
	struct acct_layout	 layout;
	struct acct_file	 file;
	int			 iso;
	struct acct_timecache	 tc;		/* under acctw.mu */
	uint64_t		 max_pending;
	struct acctw_batch	 pend;		/* under acctw.mu */
	struct acctw_batch	 fly;		/* writer thread only */
	uint64_t		 dropped;	/* under acctw.mu */
	uint64_t		 dropped_logged;
};

struct acctw {
	pthread_mutex_t		 mu;
	pthread_cond_t		 wake;		/* writer waits */
	pthread_cond_t		 done;		/* flushers wait */
	pthread_t		 thr;
	int			 started;
	struct acctw_out	*outs;
	size_t			 nouts;
	int			 stop;
	int			 rotate_req;
	int			 failing;	/* last round had an error */
	int			 idle;		/* writer waits for work */
	int			 flushers;	/* threads in acctw_flush */
	uint64_t		 seq_queued, seq_done;
	struct acctw_stats	 st;
};

static void
acctw_batch_fini(struct acctw_batch *b)
{
	sbuf_fini(&b->buf);
	free(b->ends);
	memset(b, 0, sizeof(*b));
}

static void
acctw_batch_reset(struct acctw_batch *b)
{
	sbuf_reset(&b->buf);
	b->n = b->pos = b->off = 0;
}

static void
acctw_out_free(struct acctw_out *o)
{
	acct_file_fini(&o->file);
	acct_layout_free(&o->layout);
	acctw_batch_fini(&o->pend);
	acctw_batch_fini(&o->fly);
}

/* Check settings, build the layout, start the first file. */
static int
acctw_out_init(struct acctw_out *o, const struct acctw_file *cf,
    char *err, size_t errlen)
{
	char e[256];

	memset(o, 0, sizeof(*o));
	o->file.fd = -1;
	if (cf->path == NULL || cf->path[0] == '|' || cf->path[0] == '\0') {
		snprintf(err, errlen, "%s: accounting pipes are not supported",
		    cf->path ? cf->path : "(null)");
		return -1;
	}
	if (cf->max_size != 0 && cf->max_size < ACCTW_MIN_MAX_SIZE) {
		snprintf(err, errlen, "%s: max-size below the minimum 1M",
		    cf->path);
		return -1;
	}
	if (acct_layout_build(&o->layout, cf, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "%s: %s", cf->path, e);
		return -1;
	}
	if (acct_file_init(&o->file, cf->path, cf->move_to, err, errlen) != 0)
		return -1;
	o->iso = cf->iso_times;
	o->max_pending = cf->max_pending ? cf->max_pending : ACCTW_DEF_PENDING;
	o->file.max_size = cf->max_size ? cf->max_size : ACCTW_DEF_MAX_SIZE;
	o->file.move_interval = cf->move_interval > 0 ? cf->move_interval :
	    ACCTW_DEF_MOVE_IVL;
	o->file.delete_after = cf->delete_after == 0 ? ACCTW_DEF_DELETE :
	    cf->delete_after < 0 ? -1 : cf->delete_after;
	o->file.sync = cf->sync;
	acct_layout_header(&o->layout, &o->file.header);
	acct_file_prune(&o->file, (int64_t)time(NULL));
	if (acct_file_start(&o->file, (int64_t)time(NULL)) != 0) {
		snprintf(err, errlen, "%s: cannot create accounting file in "
		    "%s: %s", cf->path, o->file.dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Write the in-flight batch, rotating before a record that would take the
 * file past max-size (a lone oversized record still gets its own file).
 * Adds the records written to *nw. 0 when the batch is done, -1 on error.
 */
static int
acctw_out_write(struct acctw_out *o, int64_t now, uint64_t *nw)
{
	struct acctw_batch *b = &o->fly;
	struct acct_file *f = &o->file;
	size_t j, room, len, done;

	while (b->pos < b->n) {
		if (f->fd < 0 && acct_file_start(f, now) != 0)
			return -1;
		room = f->size < f->max_size ? f->max_size - f->size : 0;
		for (j = b->pos; j < b->n && b->ends[j] - b->off <= room; j++)
			;
		if (j == b->pos && f->nrec > 0) {
			if (acct_file_rotate(f, now) != 0)
				return -1;
			continue;
		}
		if (j == b->pos)
			j++;
		len = b->ends[j - 1] - b->off;
		if (acct_file_write(f, b->buf.p + b->off, len, j - b->pos,
		    &done) != 0) {
			b->off += done;
			while (b->pos < b->n && b->ends[b->pos] <= b->off) {
				b->pos++;
				(*nw)++;
			}
			return -1;
		}
		*nw += j - b->pos;
		b->pos = j;
		b->off = b->ends[j - 1];
	}
	acctw_batch_reset(b);
	return 0;
}

/* Time-driven work: move-interval rotation and delete-after pruning. */
static void
acctw_out_tick(struct acctw_out *o, int64_t now, int rotate)
{
	struct acct_file *f = &o->file;

	if (rotate && f->nrec > 0)
		(void)acct_file_rotate(f, now);
	else if (f->move_to != NULL && f->fd >= 0 && f->nrec > 0 &&
	    now - f->started >= f->move_interval)
		(void)acct_file_rotate(f, now);
	if (f->move_to == NULL && f->delete_after >= 0 &&
	    now - f->last_prune >= ACCTW_PRUNE_IVL)
		acct_file_prune(f, now);
}

static void
acctw_swap(struct acctw_batch *a, struct acctw_batch *b)
{
	struct acctw_batch t = *a;

	*a = *b;
	*b = t;
}

static int
acctw_pending(const struct acctw *w)
{
	for (size_t i = 0; i < w->nouts; i++)
		if (w->outs[i].pend.n > 0)
			return 1;
	return 0;
}

/* Writer side of one round, called without the lock. Returns the number
 * of files whose batch could not be finished. */
static size_t
acctw_round(struct acctw *w, int rotate, uint64_t *nw)
{
	int64_t now = (int64_t)time(NULL);
	size_t failed = 0;

	for (size_t i = 0; i < w->nouts; i++) {
		struct acctw_out *o = &w->outs[i];

		acctw_out_tick(o, now, rotate);
		if (acctw_out_write(o, now, nw) != 0)
			failed++;
	}
	return failed;
}

/* Under the lock: account a round, drop what cannot be written at stop.
 * Returns the records newly dropped for lack of buffer space, which the
 * caller logs after unlocking (logging must not hold up acctw_write). */
static uint64_t
acctw_settle(struct acctw *w, uint64_t nw, size_t failed, int stopping)
{
	uint64_t files = 0, newdrop = 0;

	w->st.written += nw;
	w->seq_done += nw;
	for (size_t i = 0; i < w->nouts; i++) {
		struct acctw_out *o = &w->outs[i];
		uint64_t lost;

		files += o->file.nstarted;
		if (stopping && failed && o->fly.pos < o->fly.n) {
			lost = (o->fly.n - o->fly.pos) + o->pend.n;
			w->st.dropped += lost;
			w->seq_done += lost;
			acctw_batch_reset(&o->fly);
			acctw_batch_reset(&o->pend);
		}
		newdrop += o->dropped - o->dropped_logged;
		o->dropped_logged = o->dropped;
	}
	w->st.files = files;
	w->failing = failed > 0;
	pthread_cond_broadcast(&w->done);
	return newdrop;
}

/* Wait on wake until CLOCK_REALTIME + ns (or a signal). */
static void
acctw_timedwait(struct acctw *w, long ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ns / 1000000000L;
	ts.tv_nsec += ns % 1000000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&w->wake, &w->mu, &ts);
}

static int
acctw_urgent(const struct acctw *w)
{
	return w->stop || w->rotate_req || w->flushers > 0;
}

/*
 * Sleep until there is work. After a small round, and after being woken
 * from idle by the first record, the writer lingers up to ACCTW_LINGER_NS
 * so records batch up (fewer syscalls, wake-ups and lock hand-offs on a
 * busy loop: one wake-up per linger period, not one per record); flush,
 * rotate and stop cut that short.
 */
static void
acctw_wait(struct acctw *w, int err, int small)
{
	if (!err && (acctw_urgent(w) || (!small && acctw_pending(w))))
		return;
	if (!err && acctw_pending(w)) {
		acctw_timedwait(w, ACCTW_LINGER_NS);
		return;
	}
	w->idle = 1;
	acctw_timedwait(w, 1000000000L);
	w->idle = 0;
	if (!err && !acctw_urgent(w) && acctw_pending(w))
		acctw_timedwait(w, ACCTW_LINGER_NS);
}

static void *
acctw_thread(void *arg)
{
	struct acctw *w = arg;
	size_t failed = 0;
	uint64_t nw = 0, newdrop;
	int rotate, stopping;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		acctw_wait(w, failed > 0, nw < ACCTW_SMALL_ROUND);
		for (size_t i = 0; i < w->nouts; i++) {
			struct acctw_out *o = &w->outs[i];
			if (o->fly.pos >= o->fly.n && o->pend.n > 0) {
				acctw_batch_reset(&o->fly);
				acctw_swap(&o->fly, &o->pend);
			}
		}
		rotate = w->rotate_req;
		w->rotate_req = 0;
		stopping = w->stop;
		pthread_mutex_unlock(&w->mu);
		nw = 0;
		failed = acctw_round(w, rotate, &nw);
		pthread_mutex_lock(&w->mu);
		newdrop = acctw_settle(w, nw, failed, stopping);
		if (newdrop > 0) {
			pthread_mutex_unlock(&w->mu);
			log_warnx("acct: dropped %llu records: writer behind, "
			    "buffer over max_pending", (unsigned long long)newdrop);
			pthread_mutex_lock(&w->mu);
		}
		if (stopping && !acctw_pending(w))
			break;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct acctw *
acctw_open(const struct acctw_file *files, size_t nfiles, char *err,
    size_t errlen)
{
	struct acctw *w = xcalloc(1, sizeof(*w));

	w->outs = xcalloc(nfiles ? nfiles : 1, sizeof(*w->outs));
	for (size_t i = 0; i < nfiles; i++) {
		if (acctw_out_init(&w->outs[i], &files[i], err, errlen) != 0) {
			acctw_out_free(&w->outs[i]);
			w->nouts = i;
			acctw_close(w);
			return NULL;
		}
		w->nouts = i + 1;
		w->st.files += w->outs[i].file.nstarted;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->done, NULL);
	if (pthread_create(&w->thr, NULL, acctw_thread, w) != 0) {
		snprintf(err, errlen, "accounting: cannot start writer thread");
		acctw_close(w);
		return NULL;
	}
	w->started = 1;
	return w;
}

/* Under the lock: append one record to o's pending batch. Returns 1 if
 * the writer sleeps idle and must be signalled (after unlocking, so it
 * does not wake only to block on the mutex). */
static int
acctw_out_queue(struct acctw *w, struct acctw_out *o,
    const struct acct_event *ev)
{
	struct acctw_batch *b = &o->pend;

	if (b->buf.len >= o->max_pending) {
		o->dropped++;
		w->st.dropped++;
		return 0;
	}
	acct_record_format(&o->layout, ev, o->iso, &o->tc, &b->buf);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->ends = xreallocarray(b->ends, b->cap, sizeof(*b->ends));
	}
	b->ends[b->n++] = b->buf.len;
	w->st.queued++;
	w->seq_queued++;
	/* Wake the writer only if it sleeps; a busy writer takes everything
	 * pending when its round ends, so records batch up meanwhile. */
	if (w->idle) {
		w->idle = 0;
		return 1;
	}
	return 0;
}

void
acctw_write(struct acctw *w, const struct acct_event *ev)
{
	int wake = 0;

	if (w == NULL || (int)ev->type < 0 || ev->type >= ACCT_R__COUNT)
		return;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->nouts; i++)
		if (w->outs[i].layout.records & (1u << ev->type))
			wake |= acctw_out_queue(w, &w->outs[i], ev);
	pthread_mutex_unlock(&w->mu);
	if (wake)
		pthread_cond_signal(&w->wake);
}

void
acctw_rotate(struct acctw *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->rotate_req = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
}

void
acctw_flush(struct acctw *w)
{
	uint64_t target;

	if (w == NULL || !w->started)
		return;
	pthread_mutex_lock(&w->mu);
	target = w->seq_queued;
	pthread_cond_signal(&w->wake);
	/* Wait for at least one full round; a failing disk ends the wait
	 * (the data stays queued and is retried). */
	w->failing = 0;
	w->flushers++;
	while (w->seq_done < target && !w->failing)
		pthread_cond_wait(&w->done, &w->mu);
	w->flushers--;
	pthread_mutex_unlock(&w->mu);
}

void
acctw_get_stats(struct acctw *w, struct acctw_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}

void
acctw_close(struct acctw *w)
{
	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thr, NULL);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->wake);
		pthread_cond_destroy(&w->done);
	}
	for (size_t i = 0; i < w->nouts; i++)
		acctw_out_free(&w->outs[i]);
	free(w->outs);
	free(w);
}
