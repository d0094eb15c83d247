/*
 * spool_seg.c -- segments, message entries, appending, deletion, compaction.
 *
 * Invariants (all on the loop thread):
 *  - segs is sorted by segment number; only the head of the list (the
 *    oldest segment) is ever deleted, and never while it is the current
 *    segment, holds a live message, a not-yet-durable message or an
 *    in-flight compaction copy. Deleting strictly from the head keeps every
 *    DONE/DEFER record that refers to a message in an older segment (state
 *    records always come after the message they refer to).
 *  - A message's entry points at a durable copy of its MSG record.
 *    Compaction appends a new copy (with current recipient states) and
 *    moves the entry only when that copy's batch completed successfully.
 *  - seg->live_msgs/live_bytes count the entries attached to the segment.
 * Ownership: segments and entries are owned by the spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "spool/spool_int.h"

struct spool_seg *
spool_seg_new(struct spool *s, uint64_t no)
{
	struct spool_seg *seg = xcalloc(1, sizeof(*seg));

	seg->no = no;
	seg->rfd = -1;
	TAILQ_INIT(&seg->ents);
	TAILQ_INSERT_TAIL(&s->segs, seg, link);
	if (no >= s->next_seg_no)
		s->next_seg_no = no + 1;
	return seg;
}

void
spool_seg_free(struct spool *s, struct spool_seg *seg)
{
	TAILQ_REMOVE(&s->segs, seg, link);
	if (seg->rfd != -1)
		close(seg->rfd);
	if (seg->map != NULL)
		munmap((void *)seg->map, seg->maplen);
	s->seg_bytes -= seg->size;
	if (s->cur == seg)
		s->cur = NULL;
	free(seg);
}

int
spool_seg_rfd(struct spool *s, struct spool_seg *seg)
{
	char name[64];

	if (seg->rfd == -1) {
		spool_seg_name(name, sizeof(name), seg->no);
		seg->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (seg->rfd == -1)
			log_warn("spool: open %s/%s", s->dir, name);
	}
	return seg->rfd;
}

/* ---- entries ---- */

struct spool_ent *
spool_ent_new(uint64_t id, uint32_t nrcpt)
{
	struct spool_ent *e;

	e = xcalloc(1, sizeof(*e) + (size_t)nrcpt * sizeof(e->rst[0]));
	e->id = id;
	e->nrcpt = nrcpt;
	e->live = nrcpt;
	return e;
}

void
spool_ent_attach(struct spool *s, struct spool_ent *e, struct spool_seg *seg,
    uint64_t off)
{
	(void)s;
	e->seg = seg;
	e->off = off;
	TAILQ_INSERT_TAIL(&seg->ents, e, seg_link);
	seg->live_msgs++;
	seg->live_bytes += e->reclen;
}

void
spool_ent_detach(struct spool *s, struct spool_ent *e)
{
	struct spool_seg *seg = e->seg;

	(void)s;
	TAILQ_REMOVE(&seg->ents, e, seg_link);
	seg->live_msgs--;
	seg->live_bytes -= e->reclen;
	e->seg = NULL;
}

/* Forget a message (all recipients done, or its submit failed). */
void
spool_ent_release(struct spool *s, struct spool_ent *e)
{
	if (e->flags & SPOOL_ENT_PENDING)
		e->seg->pending--;
	if (e->flags & SPOOL_ENT_COPYING)
		e->seg->compacting--;
	s->live_rcpts -= e->live;
	spool_index_del(&s->idx, e->id);
	spool_ent_detach(s, e);
	free(e);
}

/* ---- appending records ---- */

static void
seg_begin(struct spool *s)
{
	char *p;
	struct spool_seg *seg;

	if (s->cur != NULL)
		s->cur->closed_ms = spool_now_ms();
	seg = spool_seg_new(s, s->next_seg_no);
	s->cur = seg;
	pthread_mutex_lock(&s->w.mu);
	p = spool_batch_reserve(&s->w.pend, seg->no, spool_rec_seghdr_size());
	spool_rec_seghdr_encode(p, seg->no);
	s->w.pend.last_seq = ++s->seq;
	pthread_mutex_unlock(&s->w.mu);
	seg->size = spool_rec_seghdr_size();
	s->seg_bytes += seg->size;
}

/*
 * Reserve reclen bytes for one record at the end of the log, rolling to a
 * new segment when the current one is full. Returns with writer.mu HELD:
 * fill in the record, then call spool_append_end().
 */
char *
spool_append_begin(struct spool *s, size_t reclen, uint64_t *off,
    struct spool_seg **segp)
{
	struct spool_seg *old = s->cur;
	char *p;

	if (s->cur == NULL || (s->cur->size > spool_rec_seghdr_size() &&
	    s->cur->size + reclen > s->segsize)) {
		seg_begin(s);
		if (old != NULL)
			spool_seg_gc(s);
	}
	*segp = s->cur;
	*off = s->cur->size;
	s->cur->size += reclen;
	s->seg_bytes += reclen;
	pthread_mutex_lock(&s->w.mu);
	p = spool_batch_reserve(&s->w.pend, s->cur->no, reclen);
	return p;
}

/* Finish an append started by spool_append_begin(); releases writer.mu. */
void
spool_append_end(struct spool *s, const struct spool_cpl *c)
{
	int wake;

	if (c != NULL)
		spool_batch_add_cpl(&s->w.pend, c);
	s->w.pend.last_seq = ++s->seq;
	wake = spool_writer_note(&s->w, c != NULL ? SPOOL_NOTE_URGENT :
	    SPOOL_NOTE_LAZY);
	pthread_mutex_unlock(&s->w.mu);
	if (wake)
		spool_writer_wake(&s->w);
	if (c == NULL)
		spool_lazy_arm(s);
}

/* ---- deletion and compaction ---- */

static int
seg_deletable(const struct spool *s, const struct spool_seg *seg)
{
	return seg != s->cur && seg->live_msgs == 0 && seg->pending == 0 &&
	    seg->inbound == 0 && seg->compacting == 0;
}

/* Read entry e's whole record into a malloc'd buffer and verify it. */
int
spool_read_record(struct spool *s, struct spool_ent *e, char **recp)
{
	char *rec;
	ssize_t n;
	int fd, type;
	uint32_t plen;

	if ((fd = spool_seg_rfd(s, e->seg)) == -1)
		return -1;
	rec = xmalloc(e->reclen);
	n = pread(fd, rec, e->reclen, (off_t)e->off);
	if (n != (ssize_t)e->reclen) {
		if (n >= 0)
			errno = EIO;
		log_warn("spool: read message %016" PRIx64, e->id);
		free(rec);
		return -1;
	}
	if (spool_rec_check(rec, e->reclen, &type, &plen) !=
	    (long)e->reclen || type != SPOOL_REC_MSG) {
		log_warnx("spool: message %016" PRIx64 ": stored record is "
		    "corrupt", e->id);
		free(rec);
		errno = EIO;
		return -1;
	}
	*recp = rec;
	return 0;
}

/* Append a copy of e's record, carrying its current recipient states. */
static int
seg_copy_ent(struct spool *s, struct spool_ent *e)
{
	struct spool_msg m;
	struct spool_cpl c;
	struct spool_seg *seg;
	char *rec, *p;
	size_t plen;
	uint64_t off;

	if (spool_read_record(s, e, &rec) == -1)
		return -1;
	if (spool_rec_msg_decode(rec + SPOOL_REC_HDRLEN,
	    e->reclen - SPOOL_REC_HDRLEN, &m, &s->rbuf, &s->rcap) == -1) {
		free(rec);
		return -1;
	}
	plen = spool_rec_msg_size(&m);
	p = spool_append_begin(s, SPOOL_REC_HDRLEN + plen, &off, &seg);
	spool_rec_msg_encode(p, plen, &m, e->rst);
	memset(&c, 0, sizeof(c));
	c.kind = SPOOL_CPL_COPY;
	c.id = e->id;
	c.seg = seg;
	c.off = off;
	spool_append_end(s, &c);
	free(rec);
	seg->inbound++;
	e->seg->compacting++;
	e->flags |= SPOOL_ENT_COPYING;
	return 0;
}

/*
 * The oldest segment holds only a few live messages (long-deferred ones
 * usually): copy them forward so the segment and everything behind it can
 * be deleted.
 */
static void
seg_compact(struct spool *s, struct spool_seg *seg)
{
	struct spool_ent *e, *next;

	log_debug("spool: compacting segment %016" PRIx64 " (%" PRIu64
	    " live messages, %" PRIu64 " bytes)", seg->no, seg->live_msgs,
	    seg->live_bytes);
	for (e = TAILQ_FIRST(&seg->ents); e != NULL; e = next) {
		next = TAILQ_NEXT(e, seg_link);
		if (!(e->flags & SPOOL_ENT_COPYING))
			(void)seg_copy_ent(s, e);
	}
}

/* Delete what can be deleted at the head of the log; maybe compact. */
void
spool_seg_gc(struct spool *s)
{
	struct spool_seg *h;

	while ((h = TAILQ_FIRST(&s->segs)) != NULL && seg_deletable(s, h)) {
		int wake;

		pthread_mutex_lock(&s->w.mu);
		spool_batch_add_unlink(&s->w.pend, h->no);
		s->w.pend.last_seq = ++s->seq;	/* flush waits for it */
		wake = spool_writer_note(&s->w, SPOOL_NOTE_URGENT);
		pthread_mutex_unlock(&s->w.mu);
		if (wake)
			spool_writer_wake(&s->w);
		spool_seg_free(s, h);
	}
	if (h == NULL || h == s->cur || s->failed || s->closing ||
	    !s->recovered || h->pending > 0 || h->compacting > 0 ||
	    h->live_bytes > s->segsize / 4 ||
	    spool_now_ms() - h->closed_ms < (int64_t)s->compact_age_ms)
		return;
	seg_compact(s, h);
}

/* A compaction copy's batch finished: move the entry if it worked. */
void
spool_copy_done(struct spool *s, const struct spool_cpl *c)
{
	struct spool_ent *e = spool_index_get(&s->idx, c->id);
	struct spool_seg *old;

	c->seg->inbound--;
	if (e == NULL || !(e->flags & SPOOL_ENT_COPYING))
		return;		/* fully delivered meanwhile */
	e->flags &= (uint8_t)~SPOOL_ENT_COPYING;
	old = e->seg;
	old->compacting--;
	if (c->err == 0) {
		spool_ent_detach(s, e);
		spool_ent_attach(s, e, c->seg, c->off);
	}
}
