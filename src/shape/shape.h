/*
 * shape.h -- traffic shaping core: rate pacing, backoff mode, retry
 * schedules, source-IP round-robin, fair queue picking, MX rollups.
 *
 * Pure logic for the scheduler (src/sched) and sluiced (src/daemon) to call:
 * no I/O, no event loop, no clock. Every function that needs the time takes
 * it as an argument, so unit tests drive a simulated clock.
 *
 * Time conventions (the one rule to remember):
 *  - every absolute time (`now`, returned "earliest time" values, backoff
 *    and re-enable deadlines) is int64_t MICROSECONDS since the Unix epoch
 *    (unix seconds * SHAPE_USEC). Microseconds because pacing 600/min means
 *    one event every 100 ms, which seconds cannot express;
 *  - retry delays (shape_retry_delay, struct shape_limits.retry_after) are
 *    int64_t SECONDS, like every TIME-INTERVAL in struct conf_domain and
 *    sched_retry_delay();
 *  - SHAPE_NEVER (INT64_MAX) means "never".
 *
 * Ownership: the structs below are caller-provided storage (`_init/_fini`).
 * Pointers into a struct conf (domains, rules, rollups, source hosts) are
 * borrowed and must outlive the call (or, for shape_action.rule, the conf).
 * Nothing here is thread-safe; each object belongs to one event loop.
 * See docs/shaping.md for semantics and where the scheduler calls what.
 */
#ifndef SLUICE_SHAPE_H
#define SLUICE_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define SHAPE_USEC	((int64_t)1000000)	/* microseconds per second */
#define SHAPE_NEVER	INT64_MAX

/* ---- 1. rate pacing (GCRA) ----------------------------------------- */

/*
 * Generic cell rate algorithm: events are spaced by the emission interval
 * T = per / n, with a burst tolerance tau = min(floor(n / 100) * T, 1 s)
 * (at most 1 % of the period's events, at most one second's worth, early).
 * "600/min" therefore allows one event every 100 ms (plus up to 6 early
 * after an idle spell), never 600 at the top of a minute. The emission
 * interval keeps its sub-microsecond remainder, so the long-run rate is
 * exact (7/sec is 7000 events in 1000 s, not 7007).
 */
enum shape_rate_kind {
	SHAPE_RATE_UNLIMITED = 0,	/* per == 0 */
	SHAPE_RATE_NONE,		/* "0": nothing ever allowed */
	SHAPE_RATE_PACED,
};

struct shape_rate {
	struct conf_rate	rate;	/* as configured */
	enum shape_rate_kind	kind;
	int64_t			T;	/* emission interval, whole us */
	int64_t			Trem;	/* remainder, in 1/n us */
	int64_t			tau;	/* burst tolerance, us */
	int64_t			tat;	/* theoretical arrival time, us */
	int64_t			tat_rem;/* fraction of tat, in 1/n us */
	int64_t			tau_min;/* caller's timer granularity */
};

void shape_rate_init(struct shape_rate *r, const struct conf_rate *cr);
/* A caller that only re-checks every `us` microseconds (e.g. a scheduler
 * with one-second timers) must allow that much tolerance, or the long-run
 * rate comes out low. Sets tau >= us from now on (kept across _set). */
void shape_rate_set_granularity(struct shape_rate *r, int64_t us);
/* Switch to another rate (backoff twin) keeping the pacing state: a slower
 * rate applies from the next event; a faster one at once (the pending
 * arrival time is pulled in to now + new T). */
void shape_rate_set(struct shape_rate *r, const struct conf_rate *cr,
    int64_t now);
/* Earliest time >= now at which one event is allowed; SHAPE_NEVER for a
 * "0" rate. */
int64_t shape_rate_next(const struct shape_rate *r, int64_t now);
/* Number of events (<= max) allowed right now, without consuming. */
int64_t shape_rate_avail(const struct shape_rate *r, int64_t now,
    int64_t max);
/* Consume one event if allowed: 1 taken, 0 not allowed now. */
int shape_rate_take(struct shape_rate *r, int64_t now);
/* Consume up to n events; returns how many were taken (0..n). */
int64_t shape_rate_take_n(struct shape_rate *r, int64_t now, int64_t n);
/* Account n events that happened at now whether allowed or not (e.g. a
 * connection opened anyway); later events wait correspondingly longer. */
void shape_rate_charge(struct shape_rate *r, int64_t now, int64_t n);

/* ---- 2. backoff mode per queue ------------------------------------- */

enum shape_mode_cause {
	SHAPE_CAUSE_NONE = 0,
	SHAPE_CAUSE_RULE,		/* smtp-pattern-list reply rule */
	SHAPE_CAUSE_OPERATOR,		/* set queue --mode=... */
	SHAPE_CAUSE_TIMEOUT,		/* backoff-to-normal-after */
	SHAPE_CAUSE_DELIVERY,		/* backoff-to-normal-after-delivery */
};

struct shape_mode {
	int			backoff;	/* 1 in backoff mode */
	int64_t			since;		/* us, current mode entered */
	int64_t			until;		/* us, automatic return to
						 * normal; SHAPE_NEVER */
	enum shape_mode_cause	cause;		/* of the last change */
};

/* SMTP phase a reply answered (bounce-rcpt only applies to RCPT 4xx). */
enum shape_phase {
	SHAPE_PHASE_CONNECT = 0,	/* greeting */
	SHAPE_PHASE_HELO,
	SHAPE_PHASE_MAIL,
	SHAPE_PHASE_RCPT,
	SHAPE_PHASE_DATA,		/* DATA command or final dot */
	SHAPE_PHASE_OTHER,
};

struct shape_action {
	const struct conf_reply_rule *rule;	/* matched rule or NULL */
	unsigned	actions;	/* CONF_ACT_* bits to apply; never
					 * CONF_ACT_BOUNCE_RCPT unless a 4xx
					 * RCPT reply */
	int		mode_change;	/* +1 entered backoff, -1 back to
					 * normal, 0 no change */
	int64_t		backoff_until;	/* us, when entered/extended */
	int64_t		reenable_at;	/* us, with DISABLE_SOURCE_IP */
};

/* Default for disable-source-ip without reenable-after= (PowerMTA's
 * reenable-source-ip-after is not in struct conf_domain yet). */
#define SHAPE_REENABLE_DEFAULT	(3600 * SHAPE_USEC)

void shape_mode_init(struct shape_mode *m, int64_t now);
/* 1 if the queue is in backoff at `now` (a passed deadline counts as
 * normal even before shape_mode_tick() records it). */
int shape_mode_in_backoff(const struct shape_mode *m, int64_t now);
/* Apply backoff-to-normal-after: returns -1 if the queue just went back to
 * normal, 0 otherwise. Call when the deadline (m->until) is reached. */
int shape_mode_tick(struct shape_mode *m, int64_t now);
/* Operator `set queue --mode=backoff|normal`. Returns the mode change
 * (+1, -1, 0). Entering uses the domain's backoff-to-normal-after. */
int shape_mode_set(struct shape_mode *m, const struct conf_domain *dom,
    int backoff, int64_t now);
/* Match a remote reply ("421 4.7.0 [TSS04] ...", the full text with its
 * code; continuation lines joined) against the domain's
 * smtp-pattern-list, update the mode and return what else to do. */
struct shape_action shape_mode_on_reply(struct shape_mode *m,
    const struct conf_domain *dom, const char *reply, enum shape_phase ph,
    int64_t now);
/* A recipient was delivered: leaves backoff if
 * backoff-to-normal-after-delivery. Returns the mode change (-1 or 0). */
int shape_mode_on_delivery(struct shape_mode *m,
    const struct conf_domain *dom, int64_t now);

struct shape_limits {
	int		 backoff;		/* 1 if the twins apply */
	int		 max_smtp_out;		/* connections per queue */
	struct conf_rate max_msg_rate;		/* attempted recipients */
	struct conf_rate max_connect_rate;	/* new connections */
	int64_t		 retry_after;		/* seconds, first retry */
};

/* The limits in force for the queue at `now`. */
void shape_effective_limits(const struct shape_mode *m,
    const struct conf_domain *dom, int64_t now, struct shape_limits *out);

/* ---- 3. retry schedules -------------------------------------------- */

/* splitmix64 step: deterministic pseudo-random numbers from a state. */
uint64_t shape_rng_next(uint64_t *state);
/*
 * Seconds to wait before retry number `attempts` (1 = first retry; <1 is
 * taken as 1). In backoff: backoff-retry-after. Else with retry-schedule
 * exponential: min(first * factor^(attempts-1), max), then +-jitter_pct %
 * drawn from *rng_state (no jitter if rng_state is NULL), clamped to
 * [1, max]. Else the retry-after list, last value repeating.
 */
int64_t shape_retry_delay(const struct conf_domain *dom, int attempts,
    int in_backoff, uint64_t *rng_state);

/* ---- 4. round-robin and source-IP selection ------------------------ */

struct shape_rr {
	size_t	next;			/* index to try first */
};

void shape_rr_init(struct shape_rr *rr);
/* Next index in [0, n) round-robin for which usable(i, arg) is non-zero
 * (usable NULL = all usable). 0 and *out set, or -1 if none. */
int shape_rr_pick(struct shape_rr *rr, size_t n,
    int (*usable)(size_t i, void *arg), void *arg, size_t *out);

/* Source IPs disabled by `disable-source-ip` for one queue (PowerMTA
 * disables per local IP per domain/vmta). */
struct shape_src_off {
	char	ip[64];
	int64_t	until;			/* us; SHAPE_NEVER = until enabled */
};

struct shape_srcset {
	struct shape_src_off	*off;
	size_t			 n, cap;
};

void shape_srcset_init(struct shape_srcset *s);
void shape_srcset_fini(struct shape_srcset *s);
/* Disable ip until `until` (a later deadline wins over an earlier one). */
void shape_srcset_disable(struct shape_srcset *s, const char *ip,
    int64_t until);
/* Operator `enable source`: 1 if it was disabled. */
int shape_srcset_enable(struct shape_srcset *s, const char *ip);
int shape_srcset_disabled(const struct shape_srcset *s, const char *ip,
    int64_t now);
/* Forget expired entries; earliest future re-enable time or SHAPE_NEVER. */
int64_t shape_srcset_expire(struct shape_srcset *s, int64_t now);

enum shape_src_result {
	SHAPE_SRC_OK = 0,		/* *idx is the host to bind */
	SHAPE_SRC_NONE,			/* no hosts: let the kernel choose */
	SHAPE_SRC_ALL_DISABLED,		/* wait for shape_srcset_expire() */
};

/* Round-robin over a vmta's smtp-source-host lines (or the global ones),
 * skipping the queue's disabled IPs (off may be NULL). */
enum shape_src_result shape_src_pick(struct shape_rr *rr,
    const struct conf_source_host *hosts, size_t n,
    const struct shape_srcset *off, int64_t now, size_t *idx);
/* Round-robin pool member; usable() may skip members (e.g. all of whose
 * IPs are disabled for the domain). NULL if none. */
const struct conf_vmta *shape_pool_pick(struct shape_rr *rr,
    const struct conf_pool *pool,
    int (*usable)(const struct conf_vmta *v, void *arg), void *arg);

/* ---- 5. fairness across queues (stride scheduling) ----------------- */

/*
 * Picks which queue with ready work goes next (a connection slot under
 * total-max-smtp-out or a vmta's max-smtp-out, or the next batch). Each
 * entry's share is proportional to weight = 1 + queue-priority (so
 * priority 0 still gets service). O(log n) per pick; an entry that becomes
 * ready starts at the current virtual time, so idle queues neither hoard
 * credit nor get starved by a large backlog elsewhere.
 */
struct shape_fair_ent {
	uint64_t	 pass;		/* virtual time of next service */
	uint64_t	 stride;	/* SHAPE_FAIR_SCALE / weight */
	uint64_t	 seq;		/* tie-break: FIFO among equals */
	size_t		 hidx;		/* heap index; SIZE_MAX = not ready */
	void		*data;		/* caller's (e.g. struct sched_queue) */
};

struct shape_fair {
	struct shape_fair_ent	**heap;
	size_t			  n, cap;
	uint64_t		  vtime;	/* pass of the last pick */
	uint64_t		  seq;
};

#define SHAPE_FAIR_SCALE	((uint64_t)1 << 20)

void shape_fair_init(struct shape_fair *f);
void shape_fair_fini(struct shape_fair *f);
void shape_fair_ent_init(struct shape_fair_ent *e, int priority, void *data);
/* Change queue-priority (0..100; clamped) without losing the position. */
void shape_fair_ent_set_priority(struct shape_fair_ent *e, int priority);
/* Mark an entry as having ready work (1) or not (0). Idempotent. */
void shape_fair_set_ready(struct shape_fair *f, struct shape_fair_ent *e,
    int ready);
/* The next entry to serve (stays ready; it is charged one unit), or NULL
 * if none is ready. */
struct shape_fair_ent *shape_fair_next(struct shape_fair *f);
size_t shape_fair_nready(const struct shape_fair *f);

/* ---- 6. MX rollup -------------------------------------------------- */

/*
 * Rollup queue name ("hotmail.rollup") for a domain whose lowest-preference
 * MX host names (from DNS; trailing dots and case ignored) are mx[0..nmx),
 * or NULL. PowerMTA rules: only those lowest-preference MXs are matched;
 * every one of them must match an entry (exact or "*.suffix") of the same
 * rollup name; no rollup if that name has more exact entries than DNS
 * returned MXs; none if disable_mx_rollup. First matching name in
 * configuration order wins.
 */
const char *shape_rollup_match(const struct conf_rollup *rollups,
    size_t nrollups, int disable_mx_rollup, const char *const *mx,
    size_t nmx);
/* Same with the conf's <mx-rollup-list> and the domain's setting. */
const char *shape_rollup_queue(const struct conf *c,
    const struct conf_domain *dom, const char *const *mx, size_t nmx);

/* ---- 7. per-vmta bundle (max-smtp-out, max-smtp-msg-rate) ---------- */

/* Limits shared by all queues of one <virtual-mta> (or pool): connection
 * count and message pacing, plus the round-robin position over its
 * smtp-source-host lines. max_smtp_out 0 = unlimited. */
struct shape_vmta {
	int			max_smtp_out;
	int			nconn;		/* caller keeps this current */
	struct shape_rate	msg_rate;	/* max-smtp-msg-rate */
	struct shape_rr		src_rr;
};

void shape_vmta_init(struct shape_vmta *v, int max_smtp_out,
    const struct conf_rate *max_smtp_msg_rate);
/* Config reload: new limits, same pacing state and rotation. */
void shape_vmta_reload(struct shape_vmta *v, int max_smtp_out,
    const struct conf_rate *max_smtp_msg_rate, int64_t now);
/* 1 if one more connection may be opened through this vmta. */
int shape_vmta_conn_ok(const struct shape_vmta *v);
/* The <virtual-mta-pool>s with max-smtp-out or max-smtp-msg-rate that v
 * is a member of, in config order: up to max of them in out[]; returns
 * how many there are (more than max: the rest were left out). */
size_t shape_vmta_pools(const struct conf *c, const struct conf_vmta *v,
    const struct conf_pool **out, size_t max);

/* ---- 8. per-queue bundle (what the scheduler keeps per queue) ------- */

struct shape_queue {
	struct shape_mode	mode;
	struct shape_rate	msg_rate;	/* max-msg-rate (recipients) */
	struct shape_rate	connect_rate;	/* max-connect-rate */
	struct shape_srcset	src_off;	/* disabled source IPs */
	int			synced_backoff;	/* rates follow this mode */
};

void shape_queue_init(struct shape_queue *q, const struct conf_domain *dom,
    int64_t now);
void shape_queue_fini(struct shape_queue *q);
/* Timer granularity of the caller, applied to both pacers (see
 * shape_rate_set_granularity). */
void shape_queue_set_granularity(struct shape_queue *q, int64_t us);
/* Re-read the domain's settings (config reload) keeping pacing state. */
void shape_queue_reload(struct shape_queue *q, const struct conf_domain *dom,
    int64_t now);
/* Apply timeouts (backoff-to-normal-after) and make the rates follow the
 * mode. Returns the mode change (-1 or 0). Cheap; call before decisions. */
int shape_queue_tick(struct shape_queue *q, const struct conf_domain *dom,
    int64_t now);
/* Earliest time a new connection may be opened given nconn open ones:
 * now if allowed, later if max-connect-rate paces it, SHAPE_NEVER if
 * (backoff-)max-smtp-out is reached (retry when a connection closes). */
int64_t shape_queue_conn_ready(struct shape_queue *q,
    const struct conf_domain *dom, int nconn, int64_t now);
/* A connection is being opened: charge max-connect-rate. */
void shape_queue_conn_opened(struct shape_queue *q, int64_t now);
/* How many recipients (<= want) may be attempted now under max-msg-rate;
 * charged immediately. 0: wait until shape_queue_rcpt_ready(). */
int64_t shape_queue_rcpt_take(struct shape_queue *q, int64_t want,
    int64_t now);
/* The same count without charging: size a batch with it, then charge what
 * the batch really holds with shape_queue_rcpt_take at the same now. */
int64_t shape_queue_rcpt_avail(const struct shape_queue *q, int64_t want,
    int64_t now);
int64_t shape_queue_rcpt_ready(const struct shape_queue *q, int64_t now);
/* shape_mode_on_reply + rate sync + remembers disabled source IPs
 * (source_ip: the local IP the connection used, or NULL). */
struct shape_action shape_queue_on_reply(struct shape_queue *q,
    const struct conf_domain *dom, const char *reply, enum shape_phase ph,
    const char *source_ip, int64_t now);
/* Delivered recipient: backoff-to-normal-after-delivery. */
int shape_queue_on_delivery(struct shape_queue *q,
    const struct conf_domain *dom, int64_t now);
/* Operator mode change. */
int shape_queue_set_mode(struct shape_queue *q, const struct conf_domain *dom,
    int backoff, int64_t now);

#endif
