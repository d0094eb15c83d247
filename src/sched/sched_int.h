/*
 * sched_int.h -- scheduler internals shared by sched*.c (not for users).
 *
 * A queue's ready work is a FIFO of per-message groups (struct sched_qmsg),
 * each a FIFO of that message's ready recipients for the queue, so one
 * transaction can carry several recipients of one message (batching by
 * max-rcpt-per-message) without scanning the queue.
 */
#ifndef SLUICE_SCHED_INT_H
#define SLUICE_SCHED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"
#include "sched/sched_heap.h"
#include "shape/shape.h"

/* Heap times are microseconds; rcpt/queue retry times are whole seconds
 * scaled up, pacing timers are exact. */
enum { SCHED_TIMER_RCPT = 1, SCHED_TIMER_QUEUE = 2, SCHED_TIMER_PACE = 3 };

/* Per-vmta shaping state (max-smtp-out, max-smtp-msg-rate, source-IP
 * rotation), shared by the vmta's queues. The same struct is a pool's
 * limiter (sched_plim.c), shared by the queues of all its members. */
struct sched_vmta {
	char			*name;
	struct shape_vmta	 sv;
	int			 inited;
	int			 nblocked;	/* queues waiting for a slot */
};

struct sched_qmsg {
	struct sched_msg	*msg;
	struct sched_queue	*q;
	struct sched_rcpt	*head, *tail;	/* ready recipients */
	size_t			 nready;
	int			 linked;	/* in q's ready list */
	struct sched_qmsg	*qnext, *qprev;
	struct sched_qmsg	*msg_next;	/* msg's group list */
};

/* A message's pick for a (backoff-)reroute-to-virtual-mta target name:
 * one per name and message, so a pool gives one member (sched_reroute.c). */
struct sched_rsel {
	const char	*name;		/* the directive's value (borrowed) */
	char		*vmta;
	char		*pool;		/* NULL: a plain vmta */
};

struct sched_queue {
	struct sched			*s;
	char				*name, *domain, *vmta;
	struct sched_queue_params	 p;
	struct sched_qmsg		*rhead, *rtail;	/* ready groups */
	size_t				 nready_qm;
	uint64_t			 nready;	/* ready recipients */
	uint64_t			 nrcpt;		/* live recipients */
	int				 nconn;
	int				 nstarting;	/* no batch taken yet */
	int				 nwaiting;	/* waiting for the pacer */
	int				 nidle;		/* idle connections */
	int				 nwoken;	/* idle ones woken for work */
	struct sched_conn		*conns;
	int				 paused;
	int				 backoff;
	int				 blocked;	/* by total-max-smtp-out */
	int				 vblocked;	/* by vmta/pool max-smtp-out */
	struct sched_vmta		*vblock_on;	/* which, if vblocked */
	int				 shaped;	/* sq initialised */
	struct shape_queue		 sq;
	struct shape_fair_ent		 fe;		/* global slot fairness */
	struct sched_timer		 pace;		/* pacing/backoff wake */
	struct sched_vmta		*vm;
	struct sched_vmta		*pl[SCHED_MAX_POOL_LIMITS]; /* pools */
	size_t				 npl;
	char				*pool;
	uint32_t			 nfail;		/* queue-level failures */
	struct sched_timer		 timer;		/* retry mode */
	char				*last_error;
	int				 in_kick;
	struct sched_queue		*kick_next;
	const char			*rr_swept;	/* reroute target the
							 * ready list was last
							 * swept for */
};

struct sched {
	struct sched_hooks	 h;
	void			*arg;
	struct sched_params	 p;
	struct sched_heap	 heap;
	struct sched_queue	**queues;	/* sorted by name */
	size_t			 nqueues, capqueues;
	struct sched_queue	*kick_head, *kick_tail;
	struct sched_msg	*msgs;
	struct sched_stats	 st;
	int			 nconn;
	int			 nidle;		/* idle connections, all queues */
	int			 nblocked;
	struct shape_fair	 fair;		/* blocked queues */
	struct sched_queue	*grant;		/* next slot goes here first */
	struct sched_vmta	**vmtas;
	size_t			 nvmtas;
	struct sched_vmta	**plims;	/* pool limiters, by name */
	size_t			 nplims;
	int64_t			 now_us;	/* latest time given */
	uint64_t		 rng;		/* retry jitter */
	int			 stopping;
	int			 in_pump;
	struct sched_ctl	*ctl;		/* operator control or NULL */
	/* outcome override (operator delete): events go here instead */
	void			(*emit_fn)(void *, const struct sched_event *,
				    size_t);
	void			*emit_arg;
};

/* sched_queue.c */
struct sched_queue *sched_queue_get(struct sched *s, const char *domain,
    const char *vmta);
void sched_queues_free(struct sched *s);
void sched_queue_kick(struct sched_queue *q);
void sched_queue_set_error(struct sched_queue *q, const char *err);
void sched_ready_push(struct sched_rcpt *r);
void sched_ready_unlink(struct sched_rcpt *r);
void sched_open_conns(struct sched_queue *q);
void sched_queue_params_load(struct sched_queue *q);
void sched_pace_arm(struct sched_queue *q, int64_t when_us);
int64_t sched_retry_delay_q(struct sched_queue *q, uint32_t attempts,
    int dns_error);

/* sched.c */
/* (vmta, pool) for a requested name (select_vmta hook), malloc'd. */
void sched_vmta_select(struct sched *s, const char *req, char **vmta,
    char **pool);
/* The queue for recipient r under vmta (queue_domain hook), or NULL. */
struct sched_queue *sched_rcpt_queue(struct sched *s,
    const struct sched_rcpt *r, const char *vmta);
void sched_emit(struct sched *s, struct sched_event *ev, size_t n);
void sched_msg_maybe_free(struct sched *s, struct sched_msg *m);
struct sched_qmsg *sched_qmsg_get(struct sched_msg *m, struct sched_queue *q);
void sched_defer_rcpt(struct sched *s, struct sched_rcpt *r, int64_t when);
void sched_wakeup(struct sched *s);
size_t sched_final_ready(struct sched_queue *q, struct sched_conn *c,
    enum sched_outcome kind, const struct sched_result *res,
    const char *status, int64_t queued_before, int64_t now);
void sched_expire_ready(struct sched_queue *q, int64_t now);
int64_t sched_clock(struct sched *s, int64_t now_s);	/* -> us */
void sched_clock_us(struct sched *s, int64_t now_us);

/* sched_conn.c */
void sched_conns_free(struct sched_queue *q);
/* sched_conn_idle.c: wake idle connections (quit: they must end) */
void sched_idle_wake(struct sched_conn *c, int quit);
/* Wake q's idle connections for its ready work; quit all if `quit`. */
void sched_idle_wake_queue(struct sched_queue *q, int quit);
/* Make one idle connection of any queue (vm NULL) or of a queue counted
 * by limiter vm (its vmta or pool) quit to free its slot; 1 if found. */
int sched_idle_free_slot(struct sched *s, const struct sched_vmta *vm);
void sched_idle_wake_all(struct sched *s, int quit);

/* sched_queue.c: the limiter named `name` in list[0..*n), appended
 * (zeroed, owned by the list) if absent; for s->vmtas and s->plims. */
struct sched_vmta *sched_vmta_list_get(struct sched_vmta ***list, size_t *n,
    const char *name);
/* sched_plim.c: limits shared by a queue's vmta and its limited pools.
 * A queue's q->nconn counts in each of them (kept across reloads). */
void sched_plim_load(struct sched_queue *q);	/* after q->p is read */
void sched_plim_free(struct sched *s);
/* The vmta or pool whose max-smtp-out has no room, or NULL. */
struct sched_vmta *sched_plim_full(const struct sched_queue *q);
/* q waits for a slot of l (kicked when one of l's connections closes). */
void sched_plim_wait(struct sched_queue *q, struct sched_vmta *l);
void sched_plim_conn_add(struct sched_queue *q, int delta);
/* 1 if q's connections count against limiter l. */
int sched_plim_uses(const struct sched_queue *q, const struct sched_vmta *l);
/* 1 if any queue waits for a slot of one of q's limiters. */
int sched_plim_waiters(const struct sched_queue *q);
/* A connection of q closed: queues waiting for its limiters try again. */
void sched_plim_unblock(struct sched_queue *q);
/* max-smtp-msg-rate of the vmta and its pools: the earliest time (us) a
 * message may go (<= now: now), and taking one. */
int64_t sched_plim_rate_next(const struct sched_queue *q, int64_t now);
void sched_plim_rate_take(struct sched_queue *q, int64_t now);

/* sched_reroute.c: reroute-to-virtual-mta, backoff-reroute-to-virtual-mta.
 * r (in no list, r->qm set) moves to its rerouted queue if its queue
 * reroutes now; called by sched_ready_push before anything else. */
void sched_reroute_rcpt(struct sched_rcpt *r);
/* A queue whose reroute became active (backoff entered, reload) moves its
 * ready recipients; cheap when nothing changed. */
void sched_reroute_sweep(struct sched_queue *q);
/* 1 if q would move m's recipients now. */
int sched_reroute_moves(struct sched_queue *q, struct sched_msg *m);
void sched_rsel_free(struct sched_msg *m);

/* sched_hold.c: recipients of paused queues/jobs (see sched.h) */
int sched_rcpt_must_hold(const struct sched_rcpt *r);
/* Park r (in no place now) held at its expiry time. */
void sched_rcpt_park(struct sched *s, struct sched_rcpt *r);
/* Hold a ready or deferred (not held) recipient: 1 if held now. */
int sched_rcpt_hold(struct sched *s, struct sched_rcpt *r);
/* Release a held recipient: ready, or deferred until next_attempt. */
void sched_rcpt_unhold(struct sched *s, struct sched_rcpt *r, int64_t now);
/* A held recipient's timer fired (its expiry, as of when it was held). */
void sched_rcpt_held_fire(struct sched *s, struct sched_rcpt *r,
    int64_t now);

/* sched_ctl.c, for the core */
int sched_ctl_msg_held(const struct sched_ctl *c, const struct sched_msg *m);
int sched_ctl_rule_paused(const struct sched_ctl *c, const char *domain,
    const char *vmta);

#define SCHED_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
