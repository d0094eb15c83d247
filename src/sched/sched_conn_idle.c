/*
 * sched_conn_idle.c -- idle outbound connections (PowerMTA's
 * connection-idle-timeout): a connection with nothing to send may stay
 * open, parked, waiting for more mail of its queue.
 *
 * Invariants: c->idle connections are counted in q->nidle and s->nidle
 * and, like any open connection, in q->nconn, the vmta's and the global
 * connection counts. Waking clears c->idle and sets c->woken (counted in
 * q->nwoken until the glue's next sched_conn_next) so the queue does not
 * open a new connection for work a woken one is about to take; c->quit
 * makes that next call say NULL. The glue's conn_wake hook only schedules
 * the call: the core is never re-entered from it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sched/sched_int.h"

int
sched_conn_idle(struct sched_conn *c)
{
	struct sched_queue *q = c->queue;
	struct sched *s = q->s;
	const struct sched_queue_params *p = &q->p;

	if (c->idle)
		return 1;
	if (s->h.conn_wake == NULL || s->stopping || q->paused || c->quit ||
	    c->batch || c->wait_until || q->nready > 0 || s->nblocked > 0 ||
	    sched_plim_waiters(q))
		return 0;
	if (p->max_msg_per_connection > 0 &&
	    c->nmsg >= p->max_msg_per_connection)
		return 0;
	if (p->max_errors_per_connection > 0 &&
	    c->nerrors >= p->max_errors_per_connection)
		return 0;
	c->idle = 1;
	q->nidle++;
	s->nidle++;
	return 1;
}

void
sched_conn_unidle(struct sched_conn *c)
{
	if (!c->idle)
		return;
	c->idle = 0;
	c->queue->nidle--;
	c->queue->s->nidle--;
}

void
sched_idle_wake(struct sched_conn *c, int quit)
{
	struct sched_queue *q = c->queue;

	if (!c->idle)
		return;
	sched_conn_unidle(c);
	c->woken = 1;
	q->nwoken++;
	if (quit)
		c->quit = 1;
	q->s->h.conn_wake(q->s->arg, c);
}

void
sched_idle_wake_queue(struct sched_queue *q, int quit)
{
	struct sched_conn *c;

	for (c = q->conns; c && q->nidle > 0; c = c->next) {
		if (!c->idle)
			continue;
		if (!quit && q->nready_qm <= (size_t)(q->nstarting + q->nwoken))
			break;
		sched_idle_wake(c, quit);
	}
}

int
sched_idle_free_slot(struct sched *s, const struct sched_vmta *vm)
{
	for (size_t i = 0; i < s->nqueues && s->nidle > 0; i++) {
		struct sched_queue *q = s->queues[i];

		if (q->nidle == 0 || (vm != NULL && !sched_plim_uses(q, vm)))
			continue;
		for (struct sched_conn *c = q->conns; c; c = c->next)
			if (c->idle) {
				sched_idle_wake(c, 1);
				return 1;
			}
	}
	return 0;
}

void
sched_idle_wake_all(struct sched *s, int quit)
{
	for (size_t i = 0; i < s->nqueues && s->nidle > 0; i++)
		if (s->queues[i]->nidle > 0)
			sched_idle_wake_queue(s->queues[i], quit);
}
