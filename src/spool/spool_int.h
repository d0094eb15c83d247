/*
 * spool_int.h -- private structures shared by the spool's source files.
 *
 * Invariants:
 *  - struct spool and everything reachable from it without the writer mutex
 *    (index, segment list, counters) belongs to the event-loop thread.
 *  - struct spool_writer's fields above the "writer-private" line are
 *    protected by writer.mu; the rest belong to the writer thread.
 *  - Positions are decided by the loop thread: a record's segment and offset
 *    are fixed when it is appended to the pending batch, and the writer
 *    writes batches strictly in order, so the file contents match.
 *  - After a failed batch the loop thread "resets": the current segment is
 *    abandoned and later records start a fresh segment at offset 0.
 * Ownership: the spool owns every structure here.
 */
#ifndef SLUICE_SPOOL_INT_H
#define SLUICE_SPOOL_INT_H

#include <sys/queue.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/sbuf.h"
#include "spool/spool.h"

/* ---- records (spool_rec.c) ---- */

#define SPOOL_REC_MAGIC		0x50534c53u	/* "SLSP" little-endian */
#define SPOOL_REC_VERSION	1
#define SPOOL_REC_HDRLEN	16
#define SPOOL_REC_MAXPAYLOAD	(1u << 30)
#define SPOOL_FORMAT_VERSION	1

enum spool_rec_type {
	SPOOL_REC_SEGHDR = 1,
	SPOOL_REC_MSG = 2,
	SPOOL_REC_DONE = 3,
	SPOOL_REC_DEFER = 4,
};

/* MSG record, per recipient: the first reserved byte's flags. */
#define SPOOL_RCPT_F_VMTA	0x01	/* a vmta string follows next_attempt */

/* Per-recipient state kept in memory and written into MSG records. */
struct spool_rst {
	int64_t		 next_attempt;
	uint32_t	 attempts;
	uint8_t		 done;
};

/* A decoded DONE or DEFER record. */
struct spool_rec_state {
	uint64_t	 id;
	uint32_t	 idx;
	uint32_t	 attempts;
	int64_t		 next_attempt;
};

size_t spool_rec_msg_size(const struct spool_msg *m);
void spool_rec_msg_encode(char *rec, size_t plen, const struct spool_msg *m,
    const struct spool_rst *rst);
int spool_rec_msg_decode(const char *payload, size_t plen,
    struct spool_msg *m, struct spool_rcpt **rbuf, size_t *rcap);
size_t spool_rec_state_size(int type);
void spool_rec_state_encode(char *rec, int type,
    const struct spool_rec_state *st);
int spool_rec_state_decode(const char *payload, size_t plen, int type,
    struct spool_rec_state *st);
void spool_rec_seghdr_encode(char *rec, uint64_t seg_no);
size_t spool_rec_seghdr_size(void);
int spool_rec_seghdr_decode(const char *payload, size_t plen,
    uint64_t *seg_no);
void spool_rec_hdr_put(char *rec, int type, uint32_t plen);
void spool_rec_seal(char *rec);
void spool_rec_seal_range(char *p, size_t len);
long spool_rec_check(const char *p, size_t avail, int *type,
    uint32_t *plen);

/* ---- in-memory index (spool_index.c) ---- */

struct spool_seg;

struct spool_ent {
	uint64_t		 id;
	struct spool_seg	*seg;
	TAILQ_ENTRY(spool_ent)	 seg_link;
	uint64_t		 off;		/* record start in seg */
	uint64_t		 datalen;	/* data = last datalen bytes */
	uint32_t		 reclen;	/* header + payload */
	uint32_t		 nrcpt;
	uint32_t		 live;		/* recipients not done */
	uint8_t			 flags;
#define SPOOL_ENT_PENDING	0x01	/* submitted, not yet durable */
#define SPOOL_ENT_COPYING	0x02	/* compaction copy in flight */
	struct spool_rst	 rst[];
};

struct spool_index {
	struct spool_ent	**slots;
	size_t			  cap;		/* power of two */
	size_t			  n;
};

void spool_index_init(struct spool_index *ix);
void spool_index_fini(struct spool_index *ix);
struct spool_ent *spool_index_get(const struct spool_index *ix, uint64_t id);
void spool_index_put(struct spool_index *ix, struct spool_ent *e);
void spool_index_del(struct spool_index *ix, uint64_t id);

/* ---- segments (spool_seg.c) ---- */

struct spool_seg {
	TAILQ_ENTRY(spool_seg)	 link;
	TAILQ_HEAD(, spool_ent)	 ents;		/* messages stored here */
	uint64_t		 no;
	uint64_t		 size;		/* logical bytes appended */
	uint64_t		 live_msgs;
	uint64_t		 live_bytes;
	uint32_t		 pending;	/* ents not yet durable */
	uint32_t		 inbound;	/* compaction copies into it */
	uint32_t		 compacting;	/* copies out of it in flight */
	int64_t			 closed_ms;	/* when it stopped being current */
	int			 rfd;		/* read fd, -1 until needed */
	const char		*map;		/* recovery only */
	size_t			 maplen;
};
TAILQ_HEAD(spool_seg_list, spool_seg);

/* ---- writer thread (spool_writer.c) ---- */

enum spool_cpl_kind {
	SPOOL_CPL_SUBMIT = 0,
	SPOOL_CPL_COPY = 1,
};

/* One completion: returned to the loop thread once its batch is done. */
struct spool_cpl {
	spool_done_cb		*cb;
	void			*arg;
	uint64_t		 id;
	struct spool_seg	*seg;		/* COPY: target segment */
	uint64_t		 off;		/* COPY: target offset */
	int			 err;
	int			 kind;
};

/* Bytes of a batch from .start on belong to segment .seg_no. */
struct spool_chunk {
	uint64_t	 seg_no;
	size_t		 start;
};

struct spool_batch {
	struct sbuf		 buf;
	struct spool_cpl	*cpl;
	size_t			 ncpl, cpl_cap;
	struct spool_chunk	*chunks;
	size_t			 nchunk, chunk_cap;
	uint64_t		*unlinks;	/* segment numbers to delete */
	size_t			 nunlink, unlink_cap;
	uint64_t		 nrec;
	uint64_t		 last_seq;
};

/* How long recipient state records (DONE, DEFER) may wait for a group
 * commit when nothing else needs one (spool.h: losing them in a crash
 * only means a recipient is tried again). A loop-side timer bounds the
 * wait; the writer is not woken for each of them. */
#define SPOOL_LAZY_MS		200
/* Least time between the starts of two group commits unless a flush or
 * the stop waits: one fdatasync then covers more submits (each costs far
 * more CPU than the wait costs latency). */
#define SPOOL_COMMIT_GAP_US	2000

enum spool_note {
	SPOOL_NOTE_LAZY,	/* state records only: the loop's timer */
	SPOOL_NOTE_URGENT,	/* a completion or unlink waits for it */
	SPOOL_NOTE_FORCE,	/* spool_flush(): now, no commit gap */
};

enum spool_idle {
	SPOOL_W_BUSY,
	SPOOL_W_IDLE,		/* sleeps until urgent work */
	SPOOL_W_GAP,		/* urgent work waits for the commit gap */
};

struct spool_writer {
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv_work;	/* loop -> writer */
	pthread_cond_t		 cv_done;	/* writer -> flush() */
	struct spool_batch	 pend;		/* being filled by the loop */
	struct spool_cpl	*done;		/* finished, for the loop */
	size_t			 ndone, done_cap;
	int			 notify_fd[2];	/* pipe: writer -> loop */
	int			 notified;
	enum spool_idle		 idle;
	int			 urgent;	/* pend has awaited work */
	int			 force;		/* a flush waits: no gap */
	int			 stop;
	int			 failed;	/* errno of a failed batch */
	uint64_t		 processed_seq;
	uint64_t		 commits;
	uint64_t		 records;
	spool_write_hook	*write_hook;
	spool_sync_hook		*sync_hook;
	void			*hook_arg;
	/* writer-private */
	struct spool_batch	 active;
	int			 dirfd;
	int			 no_sync;
	int			 fd;		/* current segment or -1 */
	uint64_t		 fd_no;
	uint64_t		 fd_off;	/* bytes known durable */
	uint64_t		 fd_pos;	/* bytes written */
	struct timespec		 last_commit;	/* CLOCK_MONOTONIC */
};

void spool_batch_init(struct spool_batch *b);
void spool_batch_fini(struct spool_batch *b);
void spool_batch_clear(struct spool_batch *b);
int spool_batch_empty(const struct spool_batch *b);
char *spool_batch_reserve(struct spool_batch *b, uint64_t seg_no,
    size_t len);
void spool_batch_add_cpl(struct spool_batch *b, const struct spool_cpl *c);
void spool_batch_add_unlink(struct spool_batch *b, uint64_t seg_no);
void spool_grow(void **p, size_t *cap, size_t need, size_t elsz);

int spool_writer_start(struct spool_writer *w, int dirfd, int no_sync,
    char *err, size_t errlen);
void spool_writer_stop(struct spool_writer *w);
void spool_writer_fini(struct spool_writer *w);
int spool_writer_note(struct spool_writer *w, enum spool_note how);
void spool_writer_wake(struct spool_writer *w);
void spool_seg_name(char *buf, size_t len, uint64_t no);

/* ---- the spool (spool.c) ---- */

struct event;

struct spool {
	struct event_base	*base;
	struct event		*ev_notify;
	struct event		*ev_lazy;	/* bounds SPOOL_LAZY_MS */
	int			 lazy_armed;
	char			*dir;
	int			 dirfd;
	int			 lockfd;
	uint64_t		 segsize;
	unsigned		 retry_ms;
	struct spool_index	 idx;
	struct spool_seg_list	 segs;		/* ascending segment number */
	struct spool_seg	*cur;		/* NULL: start a new one */
	uint64_t		 next_seg_no;
	uint64_t		 next_id;
	uint64_t		 seq;		/* records appended so far */
	uint64_t		 live_rcpts;
	uint64_t		 seg_bytes;	/* logical bytes in segs */
	int			 failed;
	int			 fail_err;
	int64_t			 fail_ms;
	unsigned		 compact_age_ms;
	int			 recovered;
	int			 closing;
	int			 dispatching;
	int			 w_started;
	struct spool_writer	 w;
	struct spool_cpl	*run;		/* completions being handled */
	size_t			 nrun, run_cap;
	struct sbuf		 scratch;
	struct spool_rcpt	*rbuf;		/* decode scratch */
	size_t			 rcap;
};

/* Append one record (writer mutex taken inside); returns its offset. */
char *spool_append_begin(struct spool *s, size_t reclen, uint64_t *off,
    struct spool_seg **seg);
void spool_append_end(struct spool *s, const struct spool_cpl *c);
void spool_lazy_arm(struct spool *s);
struct spool_seg *spool_seg_new(struct spool *s, uint64_t no);
void spool_seg_free(struct spool *s, struct spool_seg *seg);
void spool_seg_gc(struct spool *s);
int spool_seg_rfd(struct spool *s, struct spool_seg *seg);
struct spool_ent *spool_ent_new(uint64_t id, uint32_t nrcpt);
void spool_ent_attach(struct spool *s, struct spool_ent *e,
    struct spool_seg *seg, uint64_t off);
void spool_ent_detach(struct spool *s, struct spool_ent *e);
void spool_ent_release(struct spool *s, struct spool_ent *e);
void spool_copy_done(struct spool *s, const struct spool_cpl *c);
int spool_read_record(struct spool *s, struct spool_ent *e, char **rec);
int64_t spool_now_ms(void);
int spool_scan_segs(int dirfd, uint64_t **nos, size_t *n);

#endif
