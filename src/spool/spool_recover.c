/*
 * spool_recover.c -- start-up replay of the segment log.
 *
 * Segments are replayed in ascending number, records in file order. A MSG
 * record creates (or, for a compaction copy, relocates) a message entry;
 * DONE and DEFER records update one recipient of a known message and are
 * ignored for unknown ones (their message's segment was already deleted).
 * Reading a segment stops at the first record that is torn (shorter than
 * its header says) or corrupt (bad magic or CRC): everything before it is
 * kept. In the newest segment -- the only one a crash can tear -- the tail
 * is truncated; an older segment is left as it is for inspection.
 * Afterwards every message with a recipient not done is reported once, in
 * id order, and fully done messages are forgotten.
 * Invariants: nothing here trusts file contents; all lengths are checked.
 * Ownership: segment maps live only for the duration of spool_recover().
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "spool/spool_int.h"

static int
parse_seg_name(const char *name, uint64_t *no)
{
	uint64_t v = 0;

	if (strlen(name) != 24 || strncmp(name, "seg-", 4) != 0 ||
	    strcmp(name + 20, ".log") != 0)
		return -1;
	for (int i = 4; i < 20; i++) {
		char c = name[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		v = (v << 4) | (uint64_t)d;
	}
	*no = v;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* List segment numbers in the directory, sorted ascending. */
int
spool_scan_segs(int dirfd, uint64_t **nos, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int fd;

	*nos = NULL;
	*n = 0;
	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		uint64_t no;

		if (parse_seg_name(de->d_name, &no) == -1)
			continue;
		spool_grow((void **)nos, &cap, *n + 1, sizeof(**nos));
		(*nos)[(*n)++] = no;
	}
	closedir(d);
	if (*n > 1)
		qsort(*nos, *n, sizeof(**nos), cmp_u64);
	return 0;
}

/* ---- applying records ---- */

static void
recover_msg(struct spool *s, struct spool_seg *seg, uint64_t off,
    const char *rec, uint32_t plen, uint64_t *max_id)
{
	struct spool_msg m;
	struct spool_ent *e, *old;

	if (spool_rec_msg_decode(rec + SPOOL_REC_HDRLEN, plen, &m, &s->rbuf,
	    &s->rcap) == -1) {
		log_warnx("spool: segment %016" PRIx64 " offset %" PRIu64
		    ": undecodable message record skipped", seg->no, off);
		return;
	}
	if (m.id > *max_id)
		*max_id = m.id;
	e = spool_ent_new(m.id, (uint32_t)m.nrcpt);
	e->reclen = SPOOL_REC_HDRLEN + plen;
	e->datalen = m.datalen;
	e->live = 0;
	for (size_t i = 0; i < m.nrcpt; i++) {
		e->rst[i].done = m.rcpts[i].state == SPOOL_RCPT_DONE;
		e->rst[i].attempts = m.rcpts[i].attempts;
		e->rst[i].next_attempt = m.rcpts[i].next_attempt;
	}
	/* A compaction copy supersedes the older copy; states only advance. */
	if ((old = spool_index_get(&s->idx, m.id)) != NULL) {
		for (uint32_t i = 0; i < e->nrcpt && i < old->nrcpt; i++) {
			e->rst[i].done |= old->rst[i].done;
			if (old->rst[i].attempts > e->rst[i].attempts)
				e->rst[i] = old->rst[i];
		}
		spool_index_del(&s->idx, m.id);
		spool_ent_detach(s, old);
		free(old);
	}
	for (uint32_t i = 0; i < e->nrcpt; i++)
		e->live += !e->rst[i].done;
	spool_index_put(&s->idx, e);
	spool_ent_attach(s, e, seg, off);
}

static void
recover_state(struct spool *s, int type, const char *rec, uint32_t plen)
{
	struct spool_rec_state st;
	struct spool_ent *e;

	if (spool_rec_state_decode(rec + SPOOL_REC_HDRLEN, plen, type, &st) ==
	    -1)
		return;
	e = spool_index_get(&s->idx, st.id);
	if (e == NULL || st.idx >= e->nrcpt || e->rst[st.idx].done)
		return;
	if (type == SPOOL_REC_DONE) {
		e->rst[st.idx].done = 1;
		e->live--;
	} else {
		e->rst[st.idx].attempts = st.attempts;
		e->rst[st.idx].next_attempt = st.next_attempt;
	}
}

/* Replay seg->map; returns the length of the valid prefix. */
static size_t
recover_records(struct spool *s, struct spool_seg *seg, uint64_t *max_id)
{
	size_t off = 0;
	uint64_t hdr_no;
	uint32_t plen;
	long n;
	int type;

	while (off < seg->maplen) {
		n = spool_rec_check(seg->map + off, seg->maplen - off, &type,
		    &plen);
		if (n <= 0)
			break;
		if (off == 0 && (type != SPOOL_REC_SEGHDR ||
		    spool_rec_seghdr_decode(seg->map + SPOOL_REC_HDRLEN, plen,
		    &hdr_no) == -1 || hdr_no != seg->no))
			break;
		if (type == SPOOL_REC_MSG)
			recover_msg(s, seg, off, seg->map + off, plen, max_id);
		else if (type == SPOOL_REC_DONE || type == SPOOL_REC_DEFER)
			recover_state(s, type, seg->map + off, plen);
		off += (size_t)n;
	}
	return off;
}

static int
recover_seg(struct spool *s, struct spool_seg *seg, int last,
    uint64_t *max_id)
{
	char name[64];
	struct stat sb;
	size_t good;
	int fd;

	spool_seg_name(name, sizeof(name), seg->no);
	if ((fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		log_warn("spool: open %s/%s", s->dir, name);
		if (fd != -1)
			close(fd);
		return -1;
	}
	seg->maplen = (size_t)sb.st_size;
	if (seg->maplen > 0) {
		void *p = mmap(NULL, seg->maplen, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			log_warn("spool: mmap %s/%s", s->dir, name);
			close(fd);
			seg->maplen = 0;
			return -1;
		}
		seg->map = p;
	}
	good = recover_records(s, seg, max_id);
	seg->size = good;
	s->seg_bytes += good;
	if (good < seg->maplen) {
		log_warnx("spool: %s/%s: torn or corrupt record at offset %zu "
		    "(%zu bytes follow)%s", s->dir, name, good,
		    seg->maplen - good, last ? "; truncating" : "; ignored");
		if (last && (ftruncate(fd, (off_t)good) == -1 ||
		    fdatasync(fd) == -1))
			log_warn("spool: truncate %s/%s", s->dir, name);
	}
	close(fd);
	return 0;
}

/* ---- reporting ---- */

static void
recover_report_one(struct spool *s, struct spool_ent *e, spool_recover_cb *cb,
    void *arg)
{
	const char *rec = e->seg->map + e->off;
	struct spool_msg m;

	if (spool_rec_msg_decode(rec + SPOOL_REC_HDRLEN,
	    e->reclen - SPOOL_REC_HDRLEN, &m, &s->rbuf, &s->rcap) == -1)
		fatalx("spool_recover: record changed under us");
	for (uint32_t i = 0; i < e->nrcpt; i++) {
		s->rbuf[i].state = e->rst[i].done ? SPOOL_RCPT_DONE :
		    SPOOL_RCPT_PENDING;
		s->rbuf[i].attempts = e->rst[i].attempts;
		s->rbuf[i].next_attempt = e->rst[i].next_attempt;
	}
	m.data = NULL;
	m.rcpts = s->rbuf;
	cb(&m, arg);
}

/* Forget fully done messages, then report the others in id order. */
static long
recover_report(struct spool *s, spool_recover_cb *cb, void *arg)
{
	uint64_t *ids = xcalloc(s->idx.n + 1, sizeof(*ids));
	size_t n = 0;
	long reported = 0;

	for (size_t i = 0; i < s->idx.cap; i++) {
		struct spool_ent *e = s->idx.slots[i];

		if (e != NULL)
			ids[n++] = e->id;
	}
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		struct spool_ent *e = spool_index_get(&s->idx, ids[i]);

		if (e != NULL && e->live == 0)
			spool_ent_release(s, e);
		else if (e != NULL)
			s->live_rcpts += e->live;
	}
	for (size_t i = 0; i < n; i++) {
		struct spool_ent *e = spool_index_get(&s->idx, ids[i]);

		if (e == NULL)
			continue;
		if (cb != NULL)
			recover_report_one(s, e, cb, arg);
		reported++;
	}
	free(ids);
	return reported;
}

long
spool_recover(struct spool *s, spool_recover_cb *cb, void *arg, char *err,
    size_t errlen)
{
	struct spool_seg *seg;
	uint64_t *nos, max_id = 0;
	size_t n;
	long reported;

	if (s->recovered || s->seq > 0) {
		snprintf(err, errlen, "spool: recover must be called once, "
		    "before any submit");
		return -1;
	}
	if (spool_scan_segs(s->dirfd, &nos, &n) == -1) {
		snprintf(err, errlen, "spool: read directory %s: %s", s->dir,
		    strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		seg = spool_seg_new(s, nos[i]);
		seg->closed_ms = spool_now_ms();
		if (recover_seg(s, seg, i + 1 == n, &max_id) == -1) {
			snprintf(err, errlen, "spool: cannot read segment "
			    "%016" PRIx64 " in %s", nos[i], s->dir);
			free(nos);
			return -1;
		}
	}
	free(nos);
	if (max_id >= s->next_id)
		s->next_id = max_id + 1;
	reported = recover_report(s, cb, arg);
	TAILQ_FOREACH(seg, &s->segs, link) {
		if (seg->map != NULL)
			munmap((void *)seg->map, seg->maplen);
		seg->map = NULL;
		seg->maplen = 0;
	}
	s->recovered = 1;
	log_info("spool: recovered %ld messages, %" PRIu64 " recipients "
	    "from %zu segments", reported, s->live_rcpts, n);
	spool_seg_gc(s);
	return reported;
}
