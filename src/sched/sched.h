/*
 * sched.h -- delivery scheduler core: queues `domain/vmta`, retry timers,
 * recipient state, batching and connection limits.
 *
 * The core is pure bookkeeping: it never touches the network, the spool or
 * the accounting files. The owner (sluiced's delivery glue) supplies hooks:
 *  - queue_params: settings for a new queue (merged <domain> settings);
 *  - select_vmta: map a requested vmta/pool name to (vmta, pool);
 *  - conn_open: the core wants one more connection for a queue; the owner
 *    resolves MX, connects, then pulls transactions with sched_conn_next();
 *  - outcome: recipients reached a state (delivered, bounced, deferred,
 *    expired); the owner journals to the spool, writes accounting and builds
 *    DSNs;
 *  - queue_event: a queue-level transient failure (a `tq` record);
 *  - wakeup: the owner should call sched_pump() soon (never re-entrantly);
 *  - conn_wake: an idle connection (connection-idle-timeout, see
 *    sched_conn_idle) should call sched_conn_next() again soon (never from
 *    inside the hook): there is work for it, or it must quit (NULL);
 *  - pool_repick: another member for a pool's recipient whose member
 *    cannot send (all source IPs disabled for its queue).
 * Time is passed in by the caller (unix seconds), so tests control it; the
 * `_us` variants take microseconds for rate pacing (docs/shaping.md): the
 * core keeps the latest time it was given, never going backwards.
 *
 * Shaping (issue #4): when a queue's params carry a <domain> (`dom`), the
 * core keeps a struct shape_queue per queue (backoff mode, max-msg-rate and
 * max-connect-rate pacers, disabled source IPs) and a struct shape_vmta per
 * vmta (max-smtp-out, max-smtp-msg-rate, source-IP rotation) and per
 * limited pool (the same two limits across its members), and hands
 * scarce global connection slots out fairly (shape_fair) between queues.
 *
 * Invariants:
 *  - every live recipient is in exactly one place: a queue's ready list, the
 *    timer heap (deferred), or one connection's in-flight batch;
 *  - a recipient leaves the core only through the outcome hook with a final
 *    kind (delivered, bounced, expired); at-least-once: nothing is reported
 *    final before its outcome is known;
 *  - per queue, connections <= max_smtp_out; overall <= total_max_smtp_out;
 *  - timers are a binary min-heap keyed by (time, sequence): no scans.
 * Ownership: the core copies every string it is given; pointers passed to
 * hooks are borrowed for the duration of the call. Single-threaded (loop).
 */
#ifndef SLUICE_SCHED_H
#define SLUICE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define SCHED_DEFAULT_VMTA	"{default}"
#define SCHED_MAX_RETRY		30	/* retry-after list length (PowerMTA) */
#define SCHED_NAME_MAX		320	/* domain (253) + '/' + vmta */
#define SCHED_MAX_POOL_LIMITS	8	/* limited pools per vmta */

struct sched;
struct sched_queue;
struct sched_conn;

/* Per-queue settings, filled by the owner from <domain> (vmta, domain). */
struct sched_queue_params {
	int		max_smtp_out;		/* connections per queue; 20 */
	int		max_msg_per_connection;	/* 0 = unlimited */
	int		max_errors_per_connection; /* 0 = unlimited */
	int		max_rcpt_per_message;	/* per transaction; 1000 */
	size_t		nretry;			/* entries in retry_after */
	int64_t		retry_after[SCHED_MAX_RETRY]; /* seconds; 10m */
	int64_t		bounce_after;		/* seconds; 4d12h */
	/* Delivery settings, used by the glue, opaque to the core. */
	char		smtp_hosts[512];	/* "" = MX lookup */
	uint16_t	port;			/* default-smtp-port; 25 */
	int		use_starttls;		/* 1 */
	int		require_starttls;	/* 0 */
	int		connect_timeout;	/* seconds; 0 = smtpc default */
	int		greeting_timeout;
	int		data_timeout;
	char		source_ip[64];		/* smtp-source-host IP; "" */
	char		helo[256];		/* smtp-source-host name; "" */
	/* Shaping (NULL dom = no shaping: only max_smtp_out applies). The
	 * domain is borrowed and must outlive the queue's use of it (sluiced
	 * keeps old configs until exit). */
	const struct conf_domain *dom;
	int		vmta_max_smtp_out;	/* <virtual-mta> max-smtp-out; 0 */
	struct conf_rate vmta_max_msg_rate;	/* max-smtp-msg-rate; unlimited */
	/* The <virtual-mta-pool>s the vmta is a member of that set
	 * max-smtp-out or max-smtp-msg-rate (borrowed, like dom): each
	 * pool's limits are shared by every queue of all its members, on top
	 * of the vmta's own. Keyed by pool name across reloads. */
	const struct conf_pool *pool_limits[SCHED_MAX_POOL_LIMITS];
	size_t		npool_limits;
};

/* Fill p with PowerMTA's defaults. */
void sched_queue_params_default(struct sched_queue_params *p);

enum sched_rcpt_state {
	SCHED_RCPT_READY = 0,
	SCHED_RCPT_DEFERRED,		/* waiting in the timer heap */
	SCHED_RCPT_INFLIGHT,		/* in a connection's batch */
	SCHED_RCPT_DONE,
};

enum sched_outcome {
	SCHED_DELIVERED = 0,		/* 2xx: d record, spool done */
	SCHED_BOUNCED,			/* 5xx or bad domain: b record, DSN */
	SCHED_DEFERRED,			/* 4xx / no answer: t record, retry */
	SCHED_EXPIRED,			/* bounce-after passed: b, 4.4.7 */
};

struct sched_timer {
	int64_t		when;
	uint64_t	seq;
	size_t		idx;		/* position in the heap; SIZE_MAX = out */
	int		kind;		/* SCHED_TIMER_* (internal) */
};

struct sched_qmsg;
struct sched_rsel;

struct sched_msg {
	uint64_t		 id;
	int64_t			 time_queued;
	char			*orig;		/* "" = null sender */
	char			*envid;
	char			*vmta;		/* selected vmta */
	char			*pool;		/* pool it came through or NULL */
	char			**xnames;	/* other recipients' vmtas and
						 * pools (rcpt-to routing) */
	size_t			 nxnames;
	struct sched_rsel	*rsel;		/* reroute targets picked */
	size_t			 nrsel;
	char			*job_id;
	char			*src_type;
	char			*src_mta;
	char			*rcv_ip;
	char			*auth_user;
	uint8_t			 ret_full;
	size_t			 datalen;	/* 0 = unknown */
	uint32_t		 nrcpt;
	struct sched_rcpt	*rcpts;
	uint32_t		 live;		/* recipients not done */
	int			 refs;		/* in-flight batches */
	struct sched_qmsg	*qmsgs;		/* per-queue groups */
	struct sched_msg	*snext;		/* all live messages */
	struct sched_msg	*sprev;
};

struct sched_rcpt {
	struct sched_msg	*msg;
	uint32_t		 idx;		/* index in the spool message */
	char			*addr;
	char			*orcpt;
	const char		*vmta;		/* selected vmta (owned by msg) */
	const char		*pool;		/* its pool or NULL (msg's) */
	uint8_t			 notify;	/* SPOOL_NOTIFY_* */
	uint8_t			 state;		/* enum sched_rcpt_state */
	uint8_t			 held;		/* parked: paused queue/job */
	uint32_t		 attempts;
	int64_t			 next_attempt;
	struct sched_qmsg	*qm;		/* NULL if bounced at add */
	struct sched_timer	 timer;
	struct sched_rcpt	*next;		/* ready list link */
	struct sched_rcpt	*prev;
};

/* A finished attempt for one recipient (or a queue-level failure). */
struct sched_result {
	int		 code;		/* SMTP reply code; 0 = no reply */
	const char	*status;	/* enhanced "5.1.1"; NULL/"" = derive */
	const char	*diag;		/* "smtp;550 5.1.1 user unknown" */
	const char	*mta;		/* "mx.example.com (192.0.2.1)" or NULL */
	const char	*category;	/* bounceCat override or NULL */
	int		 dns_error;	/* queue-level: retry-after-dns-error */
	int		 requeue;	/* skip-mx: a non-2xx result is no
					 * attempt: back to ready, no event */
};

struct sched_event {
	enum sched_outcome		 kind;
	struct sched_rcpt		*rcpt;	/* ->msg, ->attempts, ->next_attempt */
	struct sched_queue		*queue;
	struct sched_conn		*conn;	/* NULL if not from a connection */
	const struct sched_result	*res;
	const char			*status;	/* enhanced code used */
	int64_t				 now;
};

struct sched_hooks {
	void	(*queue_params)(void *arg, const char *domain,
		    const char *vmta, struct sched_queue_params *out);
	/* NULL hook = name as given, no pool. requested may be NULL. */
	void	(*select_vmta)(void *arg, const char *requested, char *vmta,
		    size_t vlen, char *pool, size_t plen);
	void	(*conn_open)(void *arg, struct sched_conn *c);
	/* n events of one message (all from one batch/queue action). */
	void	(*outcome)(void *arg, const struct sched_event *ev, size_t n);
	void	(*queue_event)(void *arg, struct sched_queue *q,
		    struct sched_conn *c, const struct sched_result *res,
		    int64_t now);
	void	(*wakeup)(void *arg);
	/* queue-to / MX rollup: the queue domain to use for a recipient
	 * domain and its selected vmta ("hotmail.rollup"), or NULL to queue
	 * under the domain itself. Called for every placed recipient: must
	 * be O(1). NULL hook = none. */
	const char *(*queue_domain)(void *arg, const char *domain,
		    const char *vmta);
	/* NULL hook = connections never idle (sched_conn_idle says 0). */
	void	(*conn_wake)(void *arg, struct sched_conn *c);
	/* A recipient that came through pool `pool` is becoming ready in q:
	 * if q's vmta cannot send now (every source IP disabled for q), the
	 * pool member to use instead for it, else NULL (stay). NULL hook =
	 * never. */
	const char *(*pool_repick)(void *arg, struct sched_queue *q,
		    const char *pool);
};

struct sched_params {
	int	total_max_smtp_out;	/* 0 = 1200 */
};

/* A transaction handed to a connection: one message, up to
 * max_rcpt_per_message of its recipients in the connection's queue. */
struct sched_batch {
	struct sched_msg	*msg;
	size_t			 n;
	struct sched_rcpt	**rcpts;
};

struct sched_conn {
	struct sched_queue	*queue;
	void			*owner;		/* glue's per-connection data */
	int			 started;	/* got its first batch */
	int			 nmsg;		/* transactions so far */
	int			 nerrors;	/* non-2xx recipient replies */
	struct sched_batch	*batch;		/* outstanding or NULL */
	int64_t			 wait_until;	/* us: paced, ask again then */
	int			 idle;		/* sched_conn_idle: parked */
	int			 woken;		/* conn_wake called, not asked */
	int			 quit;		/* must quit: next says NULL */
	struct sched_conn	*next;
	struct sched_conn	*prev;
};

struct sched_stats {
	uint64_t	in_msg, in_rcpt;	/* accepted since start */
	uint64_t	out_msg, out_rcpt;	/* delivered since start */
	uint64_t	bounced_rcpt, deferred_rcpt, expired_rcpt;
	uint64_t	queue_msg, queue_rcpt;	/* live now */
	uint64_t	domains;		/* queues with recipients */
	uint64_t	conns;			/* open outbound connections */
};

/* Input for sched_msg_add(); mirrors spool_msg without the data. */
struct sched_rcpt_in {
	const char	*addr;
	const char	*orcpt;
	const char	*vmta;		/* requested vmta/pool for this
					 * recipient; NULL = the message's */
	uint8_t		 notify;
	int		 done;		/* already final: skip */
	uint32_t	 attempts;
	int64_t		 next_attempt;	/* 0 = now */
};

struct sched_msg_in {
	uint64_t			 id;
	int64_t				 time_queued;
	const char			*orig;
	const char			*envid;
	const char			*vmta;	/* requested vmta/pool; NULL =
						 * {default}; a recipient's own
						 * overrides it */
	const char			*job_id;
	const char			*src_type;
	const char			*src_mta;
	const char			*rcv_ip;
	const char			*auth_user;
	int				 ret_full;
	size_t				 datalen;
	size_t				 nrcpt;
	const struct sched_rcpt_in	*rcpts;
	int				 recovered;	/* not new traffic */
};

struct sched *sched_new(const struct sched_params *p,
    const struct sched_hooks *h, void *arg);
/* Free everything; in-flight recipients are simply forgotten (they stay
 * pending in the spool). Connections must have been aborted by the owner. */
void sched_free(struct sched *s);
void sched_set_params(struct sched *s, const struct sched_params *p);

/* Take a message's pending recipients into their queues. Recipients whose
 * address has no domain are bounced at once (5.1.3). */
void sched_msg_add(struct sched *s, const struct sched_msg_in *m, int64_t now);

/* Fire due timers and open the connections queues need. */
void sched_pump(struct sched *s, int64_t now);
void sched_pump_us(struct sched *s, int64_t now_us);
/* Earliest timer, or 0 if none (seconds, rounded up; _us: microseconds). */
int64_t sched_next_timer(const struct sched *s);
int64_t sched_next_timer_us(const struct sched *s);
/* Stop handing out work (shutdown): conn_next returns NULL from now on. */
void sched_stop(struct sched *s);
/* Re-read queue params for every queue (config reload). */
void sched_reload(struct sched *s);

/* --- connections (called by the glue) --- */

/* Next transaction for the connection, NULL if the connection should quit
 * (queue empty, max-msg-per-connection, max-errors-per-connection, stop).
 * The batch stays owned by the core until sched_conn_batch_done(). */
const struct sched_batch *sched_conn_next(struct sched_conn *c, int64_t now);
/* Same with a microsecond clock. When it returns NULL because pacing
 * (max-msg-rate, max-smtp-msg-rate) says "not yet", c->wait_until is the
 * time (us) to ask again (the connection may also just quit); otherwise
 * c->wait_until is 0. */
const struct sched_batch *sched_conn_next_us(struct sched_conn *c,
    int64_t now_us);
/*
 * connection-idle-timeout: after sched_conn_next_us() returned NULL with
 * c->wait_until 0, the glue may keep the connection open for more mail of
 * its queue. sched_conn_idle() returns 1 and parks c as idle if that is
 * allowed now (conn_wake hook set; not stopping; queue not paused; nothing
 * ready that c may not take; no queue waiting for a connection slot), else
 * 0: quit. An idle connection still counts against max-smtp-out, the vmta's
 * max-smtp-out and total-max-smtp-out. The core wakes it (conn_wake) when
 * its queue gets ready recipients, before opening a new connection, and
 * makes it quit (wake, then sched_conn_next says NULL) when another queue
 * needs its slot, on pause of its queue, on reload and on stop. The glue
 * ends idling itself (timeout, peer closed) with sched_conn_unidle().
 */
int sched_conn_idle(struct sched_conn *c);
void sched_conn_unidle(struct sched_conn *c);
/* Report the batch's per-recipient results (res[i] for rcpts[i]). */
void sched_conn_batch_done(struct sched_conn *c,
    const struct sched_result *res, int64_t now);
/* Same result for every recipient of the outstanding batch. */
void sched_conn_batch_fail(struct sched_conn *c,
    const struct sched_result *res, int64_t now);
/* The connection could not deliver anything (DNS TEMPFAIL, all MX hosts
 * failed): queue-level deferral, tq record, queue enters retry. Closes c. */
void sched_conn_failed(struct sched_conn *c, const struct sched_result *res,
    int64_t now);
/* The destination is permanently bad (NXDOMAIN, null MX): bounce every
 * ready recipient of the queue. Closes c. */
void sched_conn_bounce_queue(struct sched_conn *c,
    const struct sched_result *res, int64_t now);
/* Bounce the ready recipients of c's queue whose message was queued at or
 * before `queued_before` (unix s), e.g. bounce-upon-no-mx with an interval;
 * the others stay ready and c stays open. No batch may be outstanding.
 * Returns how many were bounced. */
size_t sched_conn_bounce_older(struct sched_conn *c,
    const struct sched_result *res, int64_t queued_before, int64_t now);
/* The connection ended normally. No batch may be outstanding. */
void sched_conn_closed(struct sched_conn *c, int64_t now);

/* --- queues --- */
const char *sched_queue_name(const struct sched_queue *q);
const char *sched_queue_domain(const struct sched_queue *q);
const char *sched_queue_vmta(const struct sched_queue *q);
const struct sched_queue_params *sched_queue_params(
    const struct sched_queue *q);
void sched_queue_set_pause(struct sched_queue *q, int paused);
/* Ready recipients (not deferred, held or in flight). */
uint64_t sched_queue_nready(const struct sched_queue *q);
/* Shaping state of the queue and of its vmta (for the glue: replies,
 * source-IP choice). NULL if the queue has no `dom`. */
struct shape_queue *sched_queue_shape(struct sched_queue *q);
struct shape_vmta *sched_queue_shape_vmta(struct sched_queue *q);
/* Limits may have changed (e.g. backoff entered): re-evaluate soon. */
void sched_queue_wake(struct sched_queue *q);
/* MX rollup learned for q's domain: move q's ready recipients to the queue
 * `domain`/vmta (e.g. "hotmail.rollup/vmta"); new ones go there through
 * the queue_domain hook. Returns the target queue. */
struct sched_queue *sched_queue_reroute(struct sched_queue *q,
    const char *domain, int64_t now);
/* q's vmta cannot send (all source IPs disabled): its ready recipients
 * that came through a pool go where the pool_repick hook says. Returns
 * how many moved. */
size_t sched_queue_repick(struct sched_queue *q);

struct sched_queue_info {
	const char	*name, *domain, *vmta;
	uint64_t	 rcpt;		/* live recipients */
	uint64_t	 ready;
	int		 conns;
	int		 paused;
	int		 backoff;
	int64_t		 next_retry;	/* queue retry time, 0 = none */
	const char	*pool;		/* last pool that fed it, or NULL */
	const char	*last_error;
};
/* Call cb for each queue, sorted by name. */
void sched_queue_foreach(struct sched *s,
    void (*cb)(const struct sched_queue_info *qi, void *arg), void *arg);
struct sched_queue *sched_queue_find(struct sched *s, const char *name);

void sched_get_stats(const struct sched *s, struct sched_stats *st);

/* --- string map (sched_map.c): rollup knowledge for the glue --- */
struct sched_map;
struct sched_map *sched_map_new(void);
void sched_map_free(struct sched_map *m);
/* Value for key, or NULL. O(1) expected. */
const char *sched_map_get(const struct sched_map *m, const char *key);
/* Insert or replace (both copied). */
void sched_map_put(struct sched_map *m, const char *key, const char *val);

/* --- pure policy helpers (sched_policy.c) --- */

/* "domain/vmta", domain lower-cased. Returns 0, -1 if it does not fit. */
int sched_queue_name_format(char *buf, size_t len, const char *domain,
    const char *vmta);
/* Domain part of an address (after the last '@'), or NULL. */
const char *sched_addr_domain(const char *addr);
/* Delay before retry number `attempts` (1 = first retry): the list entry
 * attempts-1, the last one repeating. */
int64_t sched_retry_delay(const struct sched_queue_params *p,
    uint32_t attempts);
/* Unix time at which a message queued at time_queued expires. */
int64_t sched_expiry(const struct sched_queue_params *p, int64_t time_queued);
/* Outcome for an SMTP reply code: 2xx delivered, 5xx bounced, else
 * deferred. */
enum sched_outcome sched_outcome_for_code(int code);
/* Parse a PowerMTA retry-after list "10m,1h,4h" into p. 0, -1 on error. */
int sched_retry_parse(struct sched_queue_params *p, const char *list);
/* Parse a TIME-INTERVAL "1w2d12h30m10s" (bare number = seconds). */
int sched_interval_parse(const char *s, int64_t *out);
const char *sched_outcome_name(enum sched_outcome k);

/* ==== operator control (sched_ctl.c) ===================================
 * pause/resume of queues ("DOMAIN[/VMTA]", fnmatch wildcards, DOMAIN alone
 * = DOMAIN/ *) and jobs, schedule (retry now), list, delete, set mode.
 * Holding is the core's: a recipient of a paused queue or job is *held*
 * (r->held, state DEFERRED, parked in the timer heap at its expiry time,
 * r->next_attempt keeps its real retry time); every path by which a
 * recipient becomes ready or deferred (placing, retry timers, release,
 * reroute) and the transaction hand-out check the hold, so a paused queue
 * or job never hands out a recipient. A held recipient still expires at
 * bounce-after (PowerMTA expires paused mail too). One ctl per sched;
 * sched_ctl_free before sched_free. */

struct sched_ctl;

struct sched_ctl_sel {
	const char	*queue;		/* spec or NULL = any */
	const char	*job;		/* job id or NULL = any */
};

struct sched_ctl_item {
	const char	*rcpt, *orig, *job_id, *queue;
	const char	*state;		/* ready|deferred|inflight|held */
	uint64_t	 msg_id;
	uint32_t	 attempts;
	int64_t		 next_attempt;	/* unix s; 0 = ready now */
	int64_t		 time_queued;
};

struct sched_ctl *sched_ctl_new(struct sched *s);
void sched_ctl_free(struct sched_ctl *c);
/* Split a spec into lower-cased domain and vmta patterns; -1 if invalid. */
int sched_ctl_spec_split(const char *spec, char *dom, size_t dlen,
    char *vmta, size_t vlen);
int sched_ctl_spec_has_wildcard(const char *spec);
/* 1 match, 0 no match, -1 invalid spec. */
int sched_ctl_spec_match(const char *spec, const char *domain,
    const char *vmta);
/* -1 invalid spec, else the number of queues matched (*nrcpt recipients
 * held or released). A wildcard pause also pauses queues created later. */
long sched_ctl_pause_queues(struct sched_ctl *c, const char *spec, int pause,
    int64_t now, long *nrcpt);
/* Recipients held (pause) or released (resume); -1: job not paused. */
long sched_ctl_pause_job(struct sched_ctl *c, const char *job, int pause,
    int64_t now);
size_t sched_ctl_paused_jobs(const struct sched_ctl *c,
    const char *const **jobs);
/* Retry now: matching queues leave retry mode, their deferred (not held)
 * recipients become ready. -1 invalid spec, else queues matched. */
long sched_ctl_schedule(struct sched_ctl *c, const char *spec, int64_t now,
    size_t *nrcpt);
/* Operator backoff mode (shape_queue_set_mode) for matching queues: -1
 * invalid spec, else queues matched (*nshaped: those with shaping). */
long sched_ctl_set_mode(struct sched_ctl *c, const char *spec, int backoff,
    int64_t now, long *nshaped);
/* -1 if sel has an invalid spec or an empty job. */
int sched_ctl_sel_check(const struct sched_ctl_sel *sel);
/* cb for the first `max` selected live recipients, oldest message first;
 * returns how many are selected in all. */
size_t sched_ctl_list(struct sched_ctl *c, const struct sched_ctl_sel *sel,
    size_t max, void (*cb)(const struct sched_ctl_item *, void *), void *arg);
/* Final-bounce every selected queued (not in-flight) recipient with res;
 * the events go to emit(arg) instead of the outcome hook when emit is not
 * NULL (sluiced: outcome_deleted). Returns the number deleted; *inflight =
 * selected but in flight. */
size_t sched_ctl_delete(struct sched_ctl *c, const struct sched_ctl_sel *sel,
    const struct sched_result *res, int64_t now,
    void (*emit)(void *, const struct sched_event *, size_t), void *arg,
    size_t *inflight);
/* ==== end of operator control ========================================= */

#endif
