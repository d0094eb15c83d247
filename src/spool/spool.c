/*
 * spool.c -- the spool's public API on the event-loop thread.
 *
 * spool_submit() serialises a MSG record straight into the writer's pending
 * batch and indexes the message; the writer thread (spool_writer.c) makes
 * batches durable with one write() and one fdatasync() each and posts the
 * completions back through a pipe; spool_dispatch() runs them here, in
 * submission order.
 *
 * Invariants:
 *  - A submit callback gets 0 only for a record that was fdatasync()ed.
 *  - After a failed batch (failed state) nothing already queued behind it is
 *    written: those records fail too, the current segment is abandoned and
 *    new records start a fresh segment. Submits return -1 until retry_ms
 *    has passed; then the next submit tries the disk again.
 *  - Recipient state records need no callback; if one is lost to a write
 *    error or crash the recipient is merely delivered again.
 * Ownership: the spool copies what it is given; see spool.h.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "spool/spool_int.h"

#define SPOOL_DEFAULT_SEGSIZE	(64u << 20)
#define SPOOL_MIN_SEGSIZE	4096u
#define SPOOL_DEFAULT_RETRY_MS	1000u
#define SPOOL_COMPACT_AGE_MS	60000u

static void spool_dispatch(struct spool *s);

int64_t
spool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
spool_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	spool_dispatch(arg);
}

/* Lazy records waited SPOOL_LAZY_MS: have them written now. */
static void
spool_lazy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spool *s = arg;
	int wake = 0;

	(void)fd;
	(void)what;
	s->lazy_armed = 0;
	pthread_mutex_lock(&s->w.mu);
	if (!spool_batch_empty(&s->w.pend))
		wake = spool_writer_note(&s->w, SPOOL_NOTE_URGENT);
	pthread_mutex_unlock(&s->w.mu);
	if (wake)
		spool_writer_wake(&s->w);
}

/* A lazy record was appended: make sure it is written within
 * SPOOL_LAZY_MS even if nothing urgent follows. */
void
spool_lazy_arm(struct spool *s)
{
	struct timeval tv = { 0, SPOOL_LAZY_MS * 1000 };

	if (s->lazy_armed || s->ev_lazy == NULL)
		return;
	evtimer_add(s->ev_lazy, &tv);
	s->lazy_armed = 1;
}

static int
spool_open_dir(struct spool *s, char *err, size_t errlen)
{
	uint64_t *nos = NULL;
	size_t n = 0;

	if (fs_mkdir_p(s->dir, 0700) == -1) {
		snprintf(err, errlen, "spool: mkdir %s: %s", s->dir,
		    strerror(errno));
		return -1;
	}
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd == -1) {
		snprintf(err, errlen, "spool: open %s: %s", s->dir,
		    strerror(errno));
		return -1;
	}
	s->lockfd = openat(s->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC,
	    0600);
	if (s->lockfd == -1 || flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "spool: lock %s/LOCK: %s", s->dir,
		    errno == EWOULDBLOCK ? "spool in use by another process" :
		    strerror(errno));
		return -1;
	}
	if (spool_scan_segs(s->dirfd, &nos, &n) == -1) {
		snprintf(err, errlen, "spool: read directory %s: %s", s->dir,
		    strerror(errno));
		return -1;
	}
	s->next_seg_no = n > 0 ? nos[n - 1] + 1 : 1;
	free(nos);
	return 0;
}

static void
spool_free(struct spool *s)
{
	struct spool_seg *seg;

	while ((seg = TAILQ_FIRST(&s->segs)) != NULL) {
		struct spool_ent *e;

		while ((e = TAILQ_FIRST(&seg->ents)) != NULL) {
			TAILQ_REMOVE(&seg->ents, e, seg_link);
			free(e);
		}
		spool_seg_free(s, seg);
	}
	spool_index_fini(&s->idx);
	if (s->ev_notify != NULL)
		event_free(s->ev_notify);
	if (s->ev_lazy != NULL)
		event_free(s->ev_lazy);
	if (s->w_started)
		spool_writer_fini(&s->w);
	if (s->lockfd != -1)
		close(s->lockfd);
	if (s->dirfd != -1)
		close(s->dirfd);
	sbuf_fini(&s->scratch);
	free(s->run);
	free(s->rbuf);
	free(s->dir);
	free(s);
}

struct spool *
spool_open(struct event_base *base, const struct spool_params *p, char *err,
    size_t errlen)
{
	struct spool *s;

	if (base == NULL || p == NULL || p->dir == NULL || *p->dir == '\0') {
		snprintf(err, errlen, "spool: no event base or directory");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->dir = xstrdup(p->dir);
	s->dirfd = s->lockfd = -1;
	s->segsize = p->segment_size ? p->segment_size : SPOOL_DEFAULT_SEGSIZE;
	if (s->segsize < SPOOL_MIN_SEGSIZE)
		s->segsize = SPOOL_MIN_SEGSIZE;
	s->retry_ms = p->retry_ms ? p->retry_ms : SPOOL_DEFAULT_RETRY_MS;
	s->compact_age_ms = SPOOL_COMPACT_AGE_MS;
	/* Time-based id prefix: unique and increasing across restarts even
	 * when the spool was empty (up to 2^20 ids per second). */
	s->next_id = (uint64_t)time(NULL) << 20;
	TAILQ_INIT(&s->segs);
	spool_index_init(&s->idx);
	sbuf_init(&s->scratch);
	if (spool_open_dir(s, err, errlen) == -1) {
		spool_free(s);
		return NULL;
	}
	if (spool_writer_start(&s->w, s->dirfd, p->no_sync, err, errlen) ==
	    -1) {
		spool_free(s);
		return NULL;
	}
	s->w_started = 1;
	s->ev_notify = event_new(base, s->w.notify_fd[0], EV_READ | EV_PERSIST,
	    spool_notify_cb, s);
	s->ev_lazy = evtimer_new(base, spool_lazy_cb, s);
	if (s->ev_notify == NULL || s->ev_lazy == NULL ||
	    event_add(s->ev_notify, NULL) == -1) {
		snprintf(err, errlen, "spool: cannot register event");
		spool_writer_stop(&s->w);
		spool_free(s);
		return NULL;
	}
	return s;
}

/* ---- completions ---- */

/* The writer failed a batch: fail what is still queued, start afresh. */
static void
spool_reset(struct spool *s, int err)
{
	struct spool_batch *b = &s->w.pend;

	/* writer.mu held */
	spool_grow((void **)&s->run, &s->run_cap, s->nrun + b->ncpl,
	    sizeof(*s->run));
	for (size_t i = 0; i < b->ncpl; i++) {
		s->run[s->nrun] = b->cpl[i];
		s->run[s->nrun++].err = err;
	}
	b->buf.len = 0;
	b->ncpl = b->nchunk = 0;
	b->nrec = 0;
	if (b->last_seq > s->w.processed_seq)
		s->w.processed_seq = b->last_seq;
	s->w.failed = 0;
	pthread_cond_broadcast(&s->w.cv_done);
	/* loop-side state */
	if (s->cur != NULL)
		s->cur->closed_ms = spool_now_ms();
	s->cur = NULL;
	s->failed = 1;
	s->fail_err = err;
	s->fail_ms = spool_now_ms();
	errno = err;
	log_warn("spool: write failed; refusing messages for %u ms",
	    s->retry_ms);
}

static void
spool_cpl_handle(struct spool *s, const struct spool_cpl *c)
{
	struct spool_ent *e;

	if (c->kind == SPOOL_CPL_COPY) {
		spool_copy_done(s, c);
		return;
	}
	e = spool_index_get(&s->idx, c->id);
	if (e != NULL && (e->flags & SPOOL_ENT_PENDING)) {
		if (c->err)
			spool_ent_release(s, e);
		else {
			e->flags &= (uint8_t)~SPOOL_ENT_PENDING;
			e->seg->pending--;
		}
	}
	if (c->cb != NULL)
		c->cb(c->err, c->id, c->arg);
}

/* Run finished completions; re-entrant calls (from callbacks) return at
 * once and the outer loop picks up their work. */
static void
spool_dispatch(struct spool *s)
{
	struct spool_cpl *tmp;
	size_t tcap;

	if (s->dispatching)
		return;
	s->dispatching = 1;
	for (;;) {
		pthread_mutex_lock(&s->w.mu);
		s->w.notified = 0;
		tmp = s->run;
		tcap = s->run_cap;
		s->run = s->w.done;
		s->run_cap = s->w.done_cap;
		s->nrun = s->w.ndone;
		s->w.done = tmp;
		s->w.done_cap = tcap;
		s->w.ndone = 0;
		if (s->w.failed)
			spool_reset(s, s->w.failed);
		pthread_mutex_unlock(&s->w.mu);
		if (s->nrun == 0)
			break;
		for (size_t i = 0; i < s->nrun; i++)
			spool_cpl_handle(s, &s->run[i]);
		s->nrun = 0;
		spool_seg_gc(s);
	}
	s->dispatching = 0;
}

/* ---- public API ---- */

int
spool_submit(struct spool *s, struct spool_msg *msg, spool_done_cb *cb,
    void *arg)
{
	struct spool_cpl c;
	struct spool_ent *e;
	struct spool_seg *seg;
	size_t plen;
	uint64_t off;
	char *p;

	if (msg->nrcpt == 0 || msg->nrcpt > UINT32_MAX / 32) {
		errno = EINVAL;
		return -1;
	}
	if (s->closing) {
		errno = ESHUTDOWN;
		return -1;
	}
	if (s->failed) {
		if (spool_now_ms() - s->fail_ms < (int64_t)s->retry_ms) {
			errno = s->fail_err;
			return -1;
		}
		s->failed = 0;
		log_info("spool: trying writes again");
	}
	plen = spool_rec_msg_size(msg);
	if (plen > SPOOL_REC_MAXPAYLOAD) {
		errno = EFBIG;
		return -1;
	}
	msg->id = s->next_id++;
	e = spool_ent_new(msg->id, (uint32_t)msg->nrcpt);
	e->reclen = (uint32_t)(SPOOL_REC_HDRLEN + plen);
	e->datalen = msg->datalen;
	e->flags = SPOOL_ENT_PENDING;
	p = spool_append_begin(s, e->reclen, &off, &seg);
	spool_rec_msg_encode(p, plen, msg, NULL);
	memset(&c, 0, sizeof(c));
	c.cb = cb;
	c.arg = arg;
	c.id = msg->id;
	c.kind = SPOOL_CPL_SUBMIT;
	spool_append_end(s, &c);
	spool_ent_attach(s, e, seg, off);
	seg->pending++;
	spool_index_put(&s->idx, e);
	s->live_rcpts += e->nrcpt;
	return 0;
}

static void
spool_state_append(struct spool *s, int type, const struct spool_rec_state *st)
{
	struct spool_seg *seg;
	uint64_t off;
	char *p;

	p = spool_append_begin(s, SPOOL_REC_HDRLEN + spool_rec_state_size(type),
	    &off, &seg);
	spool_rec_state_encode(p, type, st);
	spool_append_end(s, NULL);
}

static struct spool_ent *
spool_lookup_rcpt(struct spool *s, uint64_t id, uint32_t idx)
{
	struct spool_ent *e = spool_index_get(&s->idx, id);

	if (e == NULL || idx >= e->nrcpt) {
		log_warnx("spool: no recipient %u of message %016" PRIx64,
		    idx, id);
		errno = ENOENT;
		return NULL;
	}
	return e;
}

int
spool_rcpt_done(struct spool *s, uint64_t id, uint32_t rcpt_idx)
{
	struct spool_rec_state st = { .id = id, .idx = rcpt_idx };
	struct spool_ent *e = spool_lookup_rcpt(s, id, rcpt_idx);

	if (e == NULL)
		return -1;
	if (e->rst[rcpt_idx].done)
		return 0;
	e->rst[rcpt_idx].done = 1;
	e->live--;
	s->live_rcpts--;
	spool_state_append(s, SPOOL_REC_DONE, &st);
	if (e->live == 0) {
		spool_ent_release(s, e);
		spool_seg_gc(s);
	}
	return 0;
}

int
spool_rcpt_defer(struct spool *s, uint64_t id, uint32_t rcpt_idx,
    uint32_t attempts, int64_t next_attempt)
{
	struct spool_rec_state st = { .id = id, .idx = rcpt_idx,
	    .attempts = attempts, .next_attempt = next_attempt };
	struct spool_ent *e = spool_lookup_rcpt(s, id, rcpt_idx);

	if (e == NULL)
		return -1;
	if (e->rst[rcpt_idx].done)
		return 0;
	e->rst[rcpt_idx].attempts = attempts;
	e->rst[rcpt_idx].next_attempt = next_attempt;
	spool_state_append(s, SPOOL_REC_DEFER, &st);
	spool_seg_gc(s);
	return 0;
}

int
spool_read_data(struct spool *s, uint64_t id, char **data, size_t *len)
{
	struct spool_ent *e = spool_index_get(&s->idx, id);
	char *rec;

	if (e != NULL && (e->flags & SPOOL_ENT_PENDING)) {
		spool_flush(s);
		e = spool_index_get(&s->idx, id);
	}
	if (e == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (spool_read_record(s, e, &rec) == -1)
		return -1;
	memmove(rec, rec + e->reclen - e->datalen, e->datalen);
	rec[e->datalen] = '\0';
	*data = rec;
	*len = e->datalen;
	return 0;
}

void
spool_flush(struct spool *s)
{
	uint64_t target = s->seq;

	pthread_mutex_lock(&s->w.mu);
	if (spool_writer_note(&s->w, SPOOL_NOTE_FORCE))
		spool_writer_wake(&s->w);
	while (s->w.processed_seq < target)
		pthread_cond_wait(&s->w.cv_done, &s->w.mu);
	pthread_mutex_unlock(&s->w.mu);
	spool_dispatch(s);
}

void
spool_get_stats(struct spool *s, struct spool_stats *st)
{
	struct spool_seg *seg;

	memset(st, 0, sizeof(*st));
	st->messages = s->idx.n;
	st->recipients = s->live_rcpts;
	TAILQ_FOREACH(seg, &s->segs, link)
		st->segments++;
	st->bytes = s->seg_bytes;
	pthread_mutex_lock(&s->w.mu);
	st->commits = s->w.commits;
	st->records = s->w.records;
	pthread_mutex_unlock(&s->w.mu);
}

void
spool_set_test_hooks(struct spool *s, spool_write_hook *write_hook,
    spool_sync_hook *sync_hook, void *arg)
{
	pthread_mutex_lock(&s->w.mu);
	s->w.write_hook = write_hook;
	s->w.sync_hook = sync_hook;
	s->w.hook_arg = arg;
	pthread_mutex_unlock(&s->w.mu);
}

void
spool_test_set_compact_age(struct spool *s, unsigned ms)
{
	s->compact_age_ms = ms;
}

void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;
	s->closing = 1;
	spool_flush(s);
	spool_writer_stop(&s->w);
	/* The writer is gone: run anything it posted after the flush. */
	spool_dispatch(s);
	spool_free(s);
}
