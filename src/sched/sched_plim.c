/*
 * sched_plim.c -- the limits a queue shares with other queues: its vmta's
 * max-smtp-out / max-smtp-msg-rate and those of every limited
 * <virtual-mta-pool> the vmta is a member of (docs/shaping.md §7). Each
 * limiter is a struct sched_vmta (a shape_vmta plus the count of queues
 * waiting for one of its connection slots).
 *
 * Invariants: a limiter's sv.nconn is the sum of q->nconn over the queues
 * that count against it (q->vm and q->pl[]); a reload that changes a
 * queue's pools moves its connections from the pools it left to the ones
 * it joined. A queue waits (vblocked) on at most one limiter, vblock_on,
 * which counts it in nblocked. Pool limiters are keyed by pool name and
 * owned by struct sched (freed in sched_plim_free).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"

static int
plim_in(struct sched_vmta *const *v, size_t n, const struct sched_vmta *l)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == l)
			return 1;
	return 0;
}

static void
plim_unwait(struct sched_queue *q)
{
	if (!q->vblocked)
		return;
	if (q->vblock_on && q->vblock_on->nblocked > 0)
		q->vblock_on->nblocked--;
	q->vblocked = 0;
	q->vblock_on = NULL;
}

void
sched_plim_load(struct sched_queue *q)
{
	struct sched *s = q->s;
	struct sched_vmta *nl[SCHED_MAX_POOL_LIMITS];
	size_t n = 0;

	for (size_t i = 0; i < q->p.npool_limits && i < SCHED_MAX_POOL_LIMITS;
	    i++) {
		const struct conf_pool *p = q->p.pool_limits[i];
		struct sched_vmta *l;

		if (p == NULL || p->name == NULL)
			continue;
		l = sched_vmta_list_get(&s->plims, &s->nplims, p->name);
		if (plim_in(nl, n, l))
			continue;
		if (!l->inited) {
			shape_vmta_init(&l->sv, p->max_smtp_out,
			    &p->max_smtp_msg_rate);
			l->inited = 1;
		} else
			shape_vmta_reload(&l->sv, p->max_smtp_out,
			    &p->max_smtp_msg_rate, s->now_us);
		nl[n++] = l;
	}
	for (size_t i = 0; i < q->npl; i++) {
		struct sched_vmta *l = q->pl[i];

		if (plim_in(nl, n, l))
			continue;
		l->sv.nconn -= q->nconn;	/* left this pool */
		if (q->vblock_on == l) {
			plim_unwait(q);
			sched_queue_kick(q);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!plim_in(q->pl, q->npl, nl[i]))
			nl[i]->sv.nconn += q->nconn;	/* joined it */
	memcpy(q->pl, nl, n * sizeof(*nl));
	q->npl = n;
}

void
sched_plim_free(struct sched *s)
{
	for (size_t i = 0; i < s->nplims; i++) {
		free(s->plims[i]->name);
		free(s->plims[i]);
	}
	free(s->plims);
	s->plims = NULL;
	s->nplims = 0;
}

struct sched_vmta *
sched_plim_full(const struct sched_queue *q)
{
	if (!shape_vmta_conn_ok(&q->vm->sv))
		return q->vm;
	for (size_t i = 0; i < q->npl; i++)
		if (!shape_vmta_conn_ok(&q->pl[i]->sv))
			return q->pl[i];
	return NULL;
}

void
sched_plim_wait(struct sched_queue *q, struct sched_vmta *l)
{
	if (q->vblocked && q->vblock_on == l)
		return;
	plim_unwait(q);
	q->vblocked = 1;
	q->vblock_on = l;
	l->nblocked++;
}

void
sched_plim_conn_add(struct sched_queue *q, int delta)
{
	q->vm->sv.nconn += delta;
	for (size_t i = 0; i < q->npl; i++)
		q->pl[i]->sv.nconn += delta;
}

int
sched_plim_uses(const struct sched_queue *q, const struct sched_vmta *l)
{
	return q->vm == l || plim_in(q->pl, q->npl, l);
}

int
sched_plim_waiters(const struct sched_queue *q)
{
	if (q->vm->nblocked > 0)
		return 1;
	for (size_t i = 0; i < q->npl; i++)
		if (q->pl[i]->nblocked > 0)
			return 1;
	return 0;
}

/* A slot of l freed: every queue waiting for one gets to try. */
static void
plim_unblock(struct sched *s, struct sched_vmta *l)
{
	for (size_t i = 0; i < s->nqueues && l->nblocked; i++) {
		struct sched_queue *q = s->queues[i];

		if (q->vblocked && q->vblock_on == l) {
			plim_unwait(q);
			sched_queue_kick(q);
		}
	}
	l->nblocked = 0;
}

void
sched_plim_unblock(struct sched_queue *q)
{
	if (q->vm->nblocked)
		plim_unblock(q->s, q->vm);
	for (size_t i = 0; i < q->npl; i++)
		if (q->pl[i]->nblocked)
			plim_unblock(q->s, q->pl[i]);
}

int64_t
sched_plim_rate_next(const struct sched_queue *q, int64_t now)
{
	int64_t t = shape_rate_next(&q->vm->sv.msg_rate, now), u;

	for (size_t i = 0; i < q->npl; i++)
		if ((u = shape_rate_next(&q->pl[i]->sv.msg_rate, now)) > t)
			t = u;
	return t;
}

void
sched_plim_rate_take(struct sched_queue *q, int64_t now)
{
	shape_rate_take(&q->vm->sv.msg_rate, now);
	for (size_t i = 0; i < q->npl; i++)
		shape_rate_take(&q->pl[i]->sv.msg_rate, now);
}
