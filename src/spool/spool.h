/*
 * spool.h -- durable message spool: append-only segment log, group commit.
 *
 * Invariants:
 *  - spool_submit()'s callback reports success only after the message record
 *    (envelope + data) has been write()n and fdatasync()ed. Many messages
 *    share one fdatasync (group commit, done by a writer thread); the
 *    callback always runs on the event-loop thread.
 *  - Per-recipient state changes (done = delivered/bounced, deferred) are
 *    appended to the same log. They are made durable by the next group
 *    commit; losing the last few after a crash only means a recipient is
 *    tried again (at-least-once delivery), never that one is lost.
 *  - spool_recover() replays every segment: each accepted message with a
 *    recipient not marked done is reported once.
 *  - A segment is deleted when no message in it has a live recipient.
 * Ownership: the spool copies everything it is given; pointers it hands to
 * callbacks are borrowed and valid only during the callback.
 * Threads: all functions must be called from the event-loop thread.
 * On-disk format, recovery and failure handling: docs/spool-format.md.
 */
#ifndef SLUICE_SPOOL_H
#define SLUICE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct spool;

struct spool_params {
	const char	*dir;		/* created if missing */
	size_t		 segment_size;	/* roll at this size; 0 = 64 MiB */
	int		 no_sync;	/* testing/benchmark only: skip fdatasync */
	unsigned	 retry_ms;	/* after a write error, refuse submits
					   this long before trying again;
					   0 = 1000 ms */
};

enum spool_rcpt_state {
	SPOOL_RCPT_PENDING = 0,
	SPOOL_RCPT_DONE = 1,		/* delivered or bounced: final */
};

struct spool_rcpt {
	const char	*addr;
	const char	*orcpt;		/* ORCPT= value or NULL */
	const char	*vmta;		/* this recipient's vmta or pool (a
					   rcpt-to pattern rule); NULL = the
					   message's */
	uint8_t		 notify;	/* DSN NOTIFY bits (SPOOL_NOTIFY_*) */
	uint8_t		 state;		/* enum spool_rcpt_state (recovery) */
	uint32_t	 attempts;	/* (recovery) */
	int64_t		 next_attempt;	/* unix time, 0 = now (recovery) */
};

#define SPOOL_NOTIFY_NEVER	0x01
#define SPOOL_NOTIFY_SUCCESS	0x02
#define SPOOL_NOTIFY_FAILURE	0x04
#define SPOOL_NOTIFY_DELAY	0x08

struct spool_msg {
	uint64_t		 id;		/* set by spool_submit */
	int64_t			 time_queued;	/* unix seconds */
	const char		*orig;		/* MAIL FROM, "" = null sender */
	const char		*envid;		/* ENVID= or NULL */
	uint8_t			 ret_full;	/* RET=FULL */
	const char		*vmta;		/* selected vmta or pool, NULL = default */
	const char		*job_id;
	const char		*src_type;	/* "smtp" */
	const char		*src_mta;	/* "helo (ip)" */
	const char		*rcv_ip;	/* client IP */
	const char		*auth_user;
	size_t			 nrcpt;
	struct spool_rcpt	*rcpts;
	const char		*data;		/* message, CRLF lines, unstuffed */
	size_t			 datalen;	/* (not loaded during recovery) */
};

typedef void spool_done_cb(int error, uint64_t id, void *arg);
typedef void spool_recover_cb(const struct spool_msg *msg, void *arg);

/* Open (creating dir). NULL with a message in err on failure. */
struct spool *spool_open(struct event_base *base, const struct spool_params *p,
    char *err, size_t errlen);

/*
 * Replay the log; cb is called once per message that still has a pending
 * recipient (rcpts[i].state/attempts/next_attempt filled). Call once, right
 * after spool_open and before spool_submit. Returns the number of messages
 * reported, or -1 with err set.
 */
long spool_recover(struct spool *s, spool_recover_cb *cb, void *arg,
    char *err, size_t errlen);

/*
 * Queue msg for durable storage; assigns msg->id before returning. cb(0, id)
 * runs on the loop once it is on disk, cb(errno, id) if the write or sync
 * failed (the message is then NOT stored: answer 452 4.3.1). Returns -1
 * without calling cb if the spool is in a failed state (disk full etc.;
 * errno is the write error; the next submit after params.retry_ms tries the
 * disk again), and also with errno EINVAL for nrcpt == 0, EFBIG for a record
 * over 1 GiB, ESHUTDOWN during spool_close(). cb may be NULL.
 */
int spool_submit(struct spool *s, struct spool_msg *msg, spool_done_cb *cb,
    void *arg);

/*
 * Journal a final state (delivered or bounced) for one recipient. When the
 * last recipient is done the message is forgotten. -1 (ENOENT) for an
 * unknown id or index; marking a done recipient again is a no-op.
 */
int spool_rcpt_done(struct spool *s, uint64_t id, uint32_t rcpt_idx);

/* Journal a deferral: attempts so far and the next attempt time. */
int spool_rcpt_defer(struct spool *s, uint64_t id, uint32_t rcpt_idx,
    uint32_t attempts, int64_t next_attempt);

/*
 * Read a stored message's data (synchronous pread, CRC verified). Caller
 * frees *data (NUL-terminated for convenience; *len is authoritative).
 * -1 with errno ENOENT for an unknown id, EIO for a damaged record. For a
 * message whose submit is still in flight this first calls spool_flush().
 */
int spool_read_data(struct spool *s, uint64_t id, char **data, size_t *len);

/*
 * Block until everything journaled so far is durable (or failed), then run
 * the completion callbacks that are due (unless called from inside one:
 * then they run when that callback returns). For shutdown and tests.
 */
void spool_flush(struct spool *s);

struct spool_stats {
	uint64_t	messages;	/* live messages */
	uint64_t	recipients;	/* live recipients */
	uint64_t	segments;
	uint64_t	bytes;		/* bytes in live segments */
	uint64_t	commits;	/* fdatasync calls so far */
	uint64_t	records;	/* records written so far */
};
void spool_get_stats(struct spool *s, struct spool_stats *st);

/* Flush, stop the writer thread, close files. NULL is a no-op. */
void spool_close(struct spool *s);

/*
 * Testing only: fault injection on the writer thread. When set, the writer
 * calls write_hook instead of write(2) and sync_hook instead of
 * fdatasync(2) (either may be NULL = the real call). The hooks run on the
 * writer thread and must set errno when they return -1. Set them before
 * submitting, or between spool_flush() calls.
 */
typedef long spool_write_hook(int fd, const void *buf, size_t len, void *arg);
typedef int spool_sync_hook(int fd, void *arg);
void spool_set_test_hooks(struct spool *s, spool_write_hook *write_hook,
    spool_sync_hook *sync_hook, void *arg);

/* Testing only: how long a segment must have been closed before the oldest
 * one is compacted (default 60000 ms). */
void spool_test_set_compact_age(struct spool *s, unsigned ms);

#endif
