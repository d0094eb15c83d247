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

enum { SCHED_TIMER_RCPT = 1, SCHED_TIMER_QUEUE = 2 };

struct sched_qmsg {
	struct sched_msg	*msg;
	struct sched_queue	*q;
	struct sched_rcpt	*head, *tail;	/* ready recipients */
	size_t			 nready;
	int			 linked;	/* in q's ready list */
	struct sched_qmsg	*qnext, *qprev;
	struct sched_qmsg	*msg_next;	/* msg's group list */
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
	struct sched_conn		*conns;
	int				 paused;
	int				 backoff;
	int				 blocked;	/* by total-max-smtp-out */
	uint32_t			 nfail;		/* queue-level failures */
	struct sched_timer		 timer;		/* retry mode */
	char				*last_error;
	int				 in_kick;
	struct sched_queue		*kick_next;
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
	int			 nblocked;
	int			 stopping;
	int			 in_pump;
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

/* sched.c */
void sched_emit(struct sched *s, struct sched_event *ev, size_t n);
void sched_msg_maybe_free(struct sched *s, struct sched_msg *m);
void sched_defer_rcpt(struct sched *s, struct sched_rcpt *r, int64_t when);
void sched_wakeup(struct sched *s);
void sched_expire_ready(struct sched_queue *q, int64_t now);

/* sched_conn.c */
void sched_conns_free(struct sched_queue *q);

#define SCHED_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
