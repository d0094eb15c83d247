/*
 * spool_writer.c -- the writer thread: group commit of pending batches.
 *
 * The loop thread appends whole records to writer.pend (under writer.mu).
 * The writer waits until the batch is urgent (a submit or compaction copy
 * waits for its completion, an unlink, a flush; recipient state records
 * alone are not: spool.c's lazy timer makes them urgent after
 * SPOOL_LAZY_MS) and at least SPOOL_COMMIT_GAP_US passed since the last
 * commit started (not for a flush); then it swaps pend with its private
 * active batch, seals the records' CRCs, write()s each segment's bytes
 * with one call, fdatasync()s once, then
 * hands the batch's completions back to the loop (done array + one byte on
 * a pipe the loop watches) and deletes the segments the loop asked it to.
 *
 * Invariants:
 *  - Batches are written strictly in the order they were filled, each
 *    segment file strictly sequentially from offset 0 (O_EXCL create).
 *  - A completion is posted with err 0 only after its bytes were written
 *    and fdatasync()ed (unless no_sync).
 *  - On a write or sync error the segment is truncated back to the last
 *    good offset (best effort) and closed for good; `failed` is set and
 *    every further batch fails without being written until the loop thread
 *    resets (spool.c), which moves later records to a fresh segment.
 *  - Segment unlinks run after the batch that requested them was written,
 *    whatever its outcome, followed by one fsync of the directory.
 * Ownership: the writer owns the active batch and its segment fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "spool/spool_int.h"

void
spool_grow(void **p, size_t *cap, size_t need, size_t elsz)
{
	size_t n;

	if (need <= *cap)
		return;
	n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	*p = xreallocarray(*p, n, elsz);
	*cap = n;
}

void
spool_seg_name(char *buf, size_t len, uint64_t no)
{
	snprintf(buf, len, "seg-%016" PRIx64 ".log", no);
}

/* ---- batches ---- */

void
spool_batch_init(struct spool_batch *b)
{
	memset(b, 0, sizeof(*b));
	sbuf_init(&b->buf);
}

void
spool_batch_fini(struct spool_batch *b)
{
	sbuf_fini(&b->buf);
	free(b->cpl);
	free(b->chunks);
	free(b->unlinks);
	memset(b, 0, sizeof(*b));
}

void
spool_batch_clear(struct spool_batch *b)
{
	b->buf.len = 0;
	b->ncpl = b->nchunk = b->nunlink = 0;
	b->nrec = 0;
}

int
spool_batch_empty(const struct spool_batch *b)
{
	return b->buf.len == 0 && b->ncpl == 0 && b->nunlink == 0;
}

/* Room for len more bytes belonging to segment seg_no. */
char *
spool_batch_reserve(struct spool_batch *b, uint64_t seg_no, size_t len)
{
	char *p;

	if (b->nchunk == 0 || b->chunks[b->nchunk - 1].seg_no != seg_no) {
		spool_grow((void **)&b->chunks, &b->chunk_cap, b->nchunk + 1,
		    sizeof(*b->chunks));
		b->chunks[b->nchunk].seg_no = seg_no;
		b->chunks[b->nchunk].start = b->buf.len;
		b->nchunk++;
	}
	sbuf_reserve(&b->buf, len);
	p = b->buf.p + b->buf.len;
	b->buf.len += len;
	b->nrec++;
	return p;
}

void
spool_batch_add_cpl(struct spool_batch *b, const struct spool_cpl *c)
{
	spool_grow((void **)&b->cpl, &b->cpl_cap, b->ncpl + 1, sizeof(*c));
	b->cpl[b->ncpl++] = *c;
}

void
spool_batch_add_unlink(struct spool_batch *b, uint64_t seg_no)
{
	spool_grow((void **)&b->unlinks, &b->unlink_cap, b->nunlink + 1,
	    sizeof(*b->unlinks));
	b->unlinks[b->nunlink++] = seg_no;
}

/* ---- file I/O on the writer thread ---- */

static int
writer_write_all(struct spool_writer *w, const char *p, size_t len)
{
	while (len > 0) {
		long n = w->write_hook ?
		    w->write_hook(w->fd, p, len, w->hook_arg) :
		    (long)write(w->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
writer_sync(struct spool_writer *w)
{
	if (w->no_sync)
		return 0;
	if (w->sync_hook)
		return w->sync_hook(w->fd, w->hook_arg);
	return fdatasync(w->fd);
}

/* Give up the current segment after an error: drop any torn tail. */
static void
writer_abandon(struct spool_writer *w)
{
	if (w->fd < 0)
		return;
	if (ftruncate(w->fd, (off_t)w->fd_off) == -1)
		log_warn("spool: truncate segment %016" PRIx64 " to %" PRIu64,
		    w->fd_no, w->fd_off);
	else if (!w->no_sync)
		(void)fdatasync(w->fd);
	close(w->fd);
	w->fd = -1;
}

static int
writer_switch(struct spool_writer *w, uint64_t no)
{
	char name[64];

	if (w->fd >= 0) {
		if (writer_sync(w) == -1)
			return -1;
		w->fd_off = w->fd_pos;
		close(w->fd);
		w->fd = -1;
	}
	spool_seg_name(name, sizeof(name), no);
	w->fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (w->fd == -1)
		return -1;
	w->fd_no = no;
	w->fd_off = 0;
	w->fd_pos = 0;
	if (!w->no_sync && fsync(w->dirfd) == -1)
		return -1;
	return 0;
}

/* Write and sync one batch. Returns 0 or an errno value. */
static int
writer_batch(struct spool_writer *w, struct spool_batch *b)
{
	for (size_t i = 0; i < b->nchunk; i++) {
		size_t start = b->chunks[i].start;
		size_t end = i + 1 < b->nchunk ? b->chunks[i + 1].start :
		    b->buf.len;

		if (w->fd < 0 || b->chunks[i].seg_no != w->fd_no) {
			if (writer_switch(w, b->chunks[i].seg_no) == -1)
				goto fail;
		}
		spool_rec_seal_range(b->buf.p + start, end - start);
		if (writer_write_all(w, b->buf.p + start, end - start) == -1)
			goto fail;
		w->fd_pos += end - start;
	}
	if (b->nchunk > 0 && writer_sync(w) == -1)
		goto fail;
	w->fd_off = w->fd_pos;
	return 0;
fail:
	{
		int err = errno ? errno : EIO;

		log_warn("spool: write segment %016" PRIx64, w->fd_no);
		writer_abandon(w);
		return err;
	}
}

static void
writer_unlinks(struct spool_writer *w, const struct spool_batch *b)
{
	char name[64];

	if (b->nunlink == 0)
		return;
	for (size_t i = 0; i < b->nunlink; i++) {
		if (w->fd >= 0 && w->fd_no == b->unlinks[i]) {
			close(w->fd);
			w->fd = -1;
		}
		spool_seg_name(name, sizeof(name), b->unlinks[i]);
		if (unlinkat(w->dirfd, name, 0) == -1 && errno != ENOENT)
			log_warn("spool: unlink %s", name);
	}
	if (!w->no_sync && fsync(w->dirfd) == -1)
		log_warn("spool: fsync spool directory");
}

/* Hand the active batch's completions to the loop; writer.mu held. */
static void
writer_post(struct spool_writer *w, int err)
{
	struct spool_batch *b = &w->active;
	char c = 1;

	if (err && !w->failed)
		w->failed = err;
	if (!err && b->nchunk > 0) {
		w->commits++;
		w->records += b->nrec;
	}
	spool_grow((void **)&w->done, &w->done_cap, w->ndone + b->ncpl,
	    sizeof(*w->done));
	for (size_t i = 0; i < b->ncpl; i++) {
		w->done[w->ndone] = b->cpl[i];
		w->done[w->ndone++].err = err;
	}
	if (b->last_seq > w->processed_seq)
		w->processed_seq = b->last_seq;
	if (b->ncpl > 0 && !w->notified) {
		w->notified = 1;
		if (write(w->notify_fd[1], &c, 1) == -1 && errno != EAGAIN)
			log_warn("spool: notify pipe");
	}
	pthread_cond_broadcast(&w->cv_done);
	spool_batch_clear(b);
}

/* *dl = the earliest start of the next commit; 1 if that is now. */
static int
writer_gap_over(const struct spool_writer *w, struct timespec *dl)
{
	struct timespec now;

	*dl = w->last_commit;
	dl->tv_nsec += SPOOL_COMMIT_GAP_US * 1000L;
	dl->tv_sec += dl->tv_nsec / 1000000000L;
	dl->tv_nsec %= 1000000000L;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec &&
	    now.tv_nsec >= dl->tv_nsec);
}

/*
 * Sleep until the pending batch must be written; writer.mu held. Lazy
 * records (recipient states) alone never wake the writer: they go with
 * the next urgent batch, which is written at most once per
 * SPOOL_COMMIT_GAP_US unless a flush or the stop waits. Returns 0 when
 * stopped with nothing left to write.
 */
static int
writer_wait(struct spool_writer *w)
{
	struct timespec dl;

	for (;;) {
		int empty = spool_batch_empty(&w->pend);

		if (empty && w->stop)
			return 0;
		if (!empty && (w->force || w->stop))
			break;
		if (!empty && w->urgent) {
			if (writer_gap_over(w, &dl))
				break;
			w->idle = SPOOL_W_GAP;
			(void)pthread_cond_timedwait(&w->cv_work, &w->mu, &dl);
			continue;
		}
		if (empty)
			w->urgent = w->force = 0;	/* nothing left */
		w->idle = SPOOL_W_IDLE;
		pthread_cond_wait(&w->cv_work, &w->mu);
	}
	w->idle = SPOOL_W_BUSY;
	w->urgent = w->force = 0;
	clock_gettime(CLOCK_MONOTONIC, &w->last_commit);
	return 1;
}

static void *
writer_main(void *arg)
{
	struct spool_writer *w = arg;
	struct spool_batch tmp;
	int err;

	pthread_mutex_lock(&w->mu);
	while (writer_wait(w)) {
		tmp = w->active;
		w->active = w->pend;
		w->pend = tmp;
		err = w->failed;
		pthread_mutex_unlock(&w->mu);
		if (!err) {
			errno = 0;
			err = writer_batch(w, &w->active);
		}
		writer_unlinks(w, &w->active);
		pthread_mutex_lock(&w->mu);
		writer_post(w, err);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
spool_writer_start(struct spool_writer *w, int dirfd, int no_sync, char *err,
    size_t errlen)
{
	pthread_condattr_t ca;
	int rc;

	w->dirfd = dirfd;
	w->no_sync = no_sync;
	w->fd = -1;
	spool_batch_init(&w->pend);
	spool_batch_init(&w->active);
	if (pipe2(w->notify_fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		snprintf(err, errlen, "spool: pipe: %s", strerror(errno));
		return -1;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv_work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&w->cv_done, NULL);
	if ((rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		snprintf(err, errlen, "spool: writer thread: %s", strerror(rc));
		close(w->notify_fd[0]);
		close(w->notify_fd[1]);
		return -1;
	}
	return 0;
}

/*
 * Note new work in the pending batch; writer.mu held by the caller.
 * Returns 1 if the writer must be woken: call spool_writer_wake() after
 * unlocking, so that it does not wake up only to block on the mutex.
 */
int
spool_writer_note(struct spool_writer *w, enum spool_note how)
{
	if (how == SPOOL_NOTE_LAZY)
		return 0;
	w->urgent = 1;
	if (how == SPOOL_NOTE_FORCE) {
		w->force = 1;
		return w->idle != SPOOL_W_BUSY;
	}
	return w->idle == SPOOL_W_IDLE;
}

void
spool_writer_wake(struct spool_writer *w)
{
	pthread_cond_signal(&w->cv_work);
}

/* Let the writer finish everything queued, then join it. Completions it
 * posted stay in the done array for the caller to dispatch. */
void
spool_writer_stop(struct spool_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* Free what spool_writer_start() set up; the thread must be stopped. */
void
spool_writer_fini(struct spool_writer *w)
{
	close(w->notify_fd[0]);
	close(w->notify_fd[1]);
	spool_batch_fini(&w->pend);
	spool_batch_fini(&w->active);
	free(w->done);
	w->done = NULL;
	w->ndone = w->done_cap = 0;
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_done);
	pthread_mutex_destroy(&w->mu);
}
