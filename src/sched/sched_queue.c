/*
 * sched_queue.c -- queue objects (`domain/vmta`), their ready lists and the
 * decision to open connections (max-smtp-out, total-max-smtp-out).
 *
 * Queues live until sched_free(): there are few of them (one per
 * destination domain and vmta) and they carry state worth keeping between
 * bursts (retry mode, last error). They are kept in an array sorted by name
 * (binary search; `/queues` lists them in that order).
 *
 * Shaping (docs/shaping.md §7): before a connection is opened the queue's
 * shape_queue (backoff-aware max-smtp-out, max-connect-rate), the vmta's
 * max-smtp-out and total-max-smtp-out must all allow it; a pacing "not
 * yet" arms the queue's pace timer (microseconds). Queues waiting for a
 * global slot sit in the scheduler's fair picker (stride scheduling), so a
 * backlog elsewhere cannot starve them (see sched_conn.c: a connection
 * yields its slot at a transaction boundary when the picker says so).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched_int.h"

static size_t
queue_pos(const struct sched *s, const char *name, int *found)
{
	size_t lo = 0, hi = s->nqueues;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->queues[mid]->name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct sched_queue *
sched_queue_find(struct sched *s, const char *name)
{
	int found;
	size_t i = queue_pos(s, name, &found);

	return found ? s->queues[i] : NULL;
}

struct sched_vmta *
sched_vmta_list_get(struct sched_vmta ***list, size_t *n, const char *name)
{
	struct sched_vmta *v;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i]->name, name) == 0)
			return (*list)[i];
	v = xcalloc(1, sizeof(*v));
	v->name = xstrdup(name);
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = v;
	return v;
}

/* (Re-)read the queue's settings from the owner; keeps pacing state. */
void
sched_queue_params_load(struct sched_queue *q)
{
	struct sched *s = q->s;
	int64_t now = s->now_us;

	sched_queue_params_default(&q->p);
	if (s->h.queue_params)
		s->h.queue_params(s->arg, q->domain, q->vmta, &q->p);
	if (q->p.max_rcpt_per_message <= 0)
		q->p.max_rcpt_per_message = 1000;
	if (q->p.max_smtp_out <= 0)
		q->p.max_smtp_out = 1;
	if (q->vm == NULL)
		q->vm = sched_vmta_list_get(&s->vmtas, &s->nvmtas, q->vmta);
	if (!q->vm->inited) {
		shape_vmta_init(&q->vm->sv, q->p.vmta_max_smtp_out,
		    &q->p.vmta_max_msg_rate);
		q->vm->inited = 1;
	} else
		shape_vmta_reload(&q->vm->sv, q->p.vmta_max_smtp_out,
		    &q->p.vmta_max_msg_rate, now);
	sched_plim_load(q);
	if (q->p.dom == NULL)
		return;
	if (!q->shaped) {
		shape_queue_init(&q->sq, q->p.dom, now);
		shape_fair_ent_init(&q->fe, q->p.dom->queue_priority, q);
		q->shaped = 1;
	} else {
		shape_queue_reload(&q->sq, q->p.dom, now);
		shape_fair_ent_set_priority(&q->fe, q->p.dom->queue_priority);
	}
}

static struct sched_queue *
queue_new(struct sched *s, const char *name, const char *vmta)
{
	struct sched_queue *q = xcalloc(1, sizeof(*q));
	size_t dl = strlen(name) - strlen(vmta) - 1;

	q->s = s;
	q->name = xstrdup(name);
	q->domain = xstrndup(name, dl);
	q->vmta = xstrdup(vmta);
	q->timer.idx = SIZE_MAX;
	q->timer.kind = SCHED_TIMER_QUEUE;
	q->pace.idx = SIZE_MAX;
	q->pace.kind = SCHED_TIMER_PACE;
	shape_fair_ent_init(&q->fe, 50, q);
	sched_queue_params_load(q);
	/* a wildcard pause rule covers queues created later */
	if (s->ctl && sched_ctl_rule_paused(s->ctl, q->domain, q->vmta))
		q->paused = 1;
	return q;
}

struct sched_queue *
sched_queue_get(struct sched *s, const char *domain, const char *vmta)
{
	char name[SCHED_NAME_MAX + 1];
	struct sched_queue *q;
	size_t i;
	int found;

	if (sched_queue_name_format(name, sizeof(name), domain, vmta) == -1)
		return NULL;
	i = queue_pos(s, name, &found);
	if (found)
		return s->queues[i];
	q = queue_new(s, name, vmta);
	if (s->nqueues == s->capqueues) {
		s->capqueues = s->capqueues ? s->capqueues * 2 : 16;
		s->queues = xreallocarray(s->queues, s->capqueues,
		    sizeof(*s->queues));
	}
	memmove(&s->queues[i + 1], &s->queues[i],
	    (s->nqueues - i) * sizeof(*s->queues));
	s->queues[i] = q;
	s->nqueues++;
	return q;
}

void
sched_queues_free(struct sched *s)
{
	for (size_t i = 0; i < s->nqueues; i++) {
		struct sched_queue *q = s->queues[i];
		sched_conns_free(q);
		if (q->shaped)
			shape_queue_fini(&q->sq);
		free(q->pool);
		free(q->name);
		free(q->domain);
		free(q->vmta);
		free(q->last_error);
		free(q);
	}
	free(s->queues);
	s->queues = NULL;
	s->nqueues = s->capqueues = 0;
	for (size_t i = 0; i < s->nvmtas; i++) {
		free(s->vmtas[i]->name);
		free(s->vmtas[i]);
	}
	free(s->vmtas);
	s->vmtas = NULL;
	s->nvmtas = 0;
	sched_plim_free(s);
}

void
sched_queue_kick(struct sched_queue *q)
{
	struct sched *s = q->s;

	if (q->in_kick)
		return;
	q->in_kick = 1;
	q->kick_next = NULL;
	if (s->kick_tail)
		s->kick_tail->kick_next = q;
	else
		s->kick_head = q;
	s->kick_tail = q;
	sched_wakeup(s);
}

void
sched_queue_set_error(struct sched_queue *q, const char *err)
{
	if (err == NULL)
		return;
	free(q->last_error);
	q->last_error = xstrdup(err);
}

static void
qmsg_link(struct sched_qmsg *qm)
{
	struct sched_queue *q = qm->q;

	qm->linked = 1;
	qm->qnext = NULL;
	qm->qprev = q->rtail;
	if (q->rtail)
		q->rtail->qnext = qm;
	else
		q->rhead = qm;
	q->rtail = qm;
	q->nready_qm++;
}

static void
qmsg_unlink(struct sched_qmsg *qm)
{
	struct sched_queue *q = qm->q;

	if (qm->qprev)
		qm->qprev->qnext = qm->qnext;
	else
		q->rhead = qm->qnext;
	if (qm->qnext)
		qm->qnext->qprev = qm->qprev;
	else
		q->rtail = qm->qprev;
	qm->qnext = qm->qprev = NULL;
	qm->linked = 0;
	q->nready_qm--;
}

void
sched_ready_push(struct sched_rcpt *r)
{
	struct sched_qmsg *qm;

	sched_reroute_rcpt(r);		/* may change r->qm */
	qm = r->qm;
	if (sched_rcpt_must_hold(r)) {
		sched_rcpt_park(qm->q->s, r);
		return;
	}
	r->state = SCHED_RCPT_READY;
	r->next = NULL;
	r->prev = qm->tail;
	if (qm->tail)
		qm->tail->next = r;
	else
		qm->head = r;
	qm->tail = r;
	qm->nready++;
	qm->q->nready++;
	if (!qm->linked)
		qmsg_link(qm);
	sched_queue_kick(qm->q);
}

void
sched_ready_unlink(struct sched_rcpt *r)
{
	struct sched_qmsg *qm = r->qm;

	if (r->state != SCHED_RCPT_READY)
		fatalx("%s: recipient not ready (%d)", __func__, r->state);
	if (r->prev)
		r->prev->next = r->next;
	else
		qm->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		qm->tail = r->prev;
	r->next = r->prev = NULL;
	qm->nready--;
	qm->q->nready--;
	if (qm->nready == 0 && qm->linked)
		qmsg_unlink(qm);
}

static int
queue_can_open(const struct sched_queue *q)
{
	const struct sched *s = q->s;

	return !s->stopping && !q->paused && q->timer.idx == SIZE_MAX &&
	    q->nready_qm > (size_t)(q->nstarting + q->nwoken) &&
	    q->nconn < q->p.max_smtp_out;
}

void
sched_pace_arm(struct sched_queue *q, int64_t when_us)
{
	struct sched *s = q->s;

	if (when_us == SHAPE_NEVER)
		return;
	if (q->pace.idx != SIZE_MAX) {
		if (q->pace.when <= when_us)
			return;
		sched_heap_remove(&s->heap, &q->pace);
	}
	sched_heap_push(&s->heap, &q->pace, when_us);
	sched_wakeup(s);
}

/* The queue's own shaping: backoff-aware max-smtp-out, max-connect-rate,
 * and no extra connection while others wait for the recipient pacer. */
static int
queue_shape_ok(struct sched_queue *q)
{
	int64_t now = q->s->now_us, t;

	if (!q->shaped)
		return 1;
	if (shape_queue_tick(&q->sq, q->p.dom, now) < 0)
		log_info("queue %s: normal mode (backoff-to-normal-after)",
		    q->name);
	if (shape_mode_in_backoff(&q->sq.mode, now))
		sched_pace_arm(q, q->sq.mode.until);
	t = shape_queue_conn_ready(&q->sq, q->p.dom, q->nconn, now);
	if (t == SHAPE_NEVER)
		return 0;		/* a closing connection kicks us */
	if (t > now) {
		sched_pace_arm(q, t);
		return 0;
	}
	if (q->nwaiting > 0)
		return 0;		/* the pacer is the bottleneck */
	if (q->nconn > 0 && (t = shape_queue_rcpt_ready(&q->sq, now)) > now) {
		sched_pace_arm(q, t);
		return 0;
	}
	return 1;
}

/* vmta and pool max-smtp-out, total-max-smtp-out; blocked queues are
 * kicked (the fair pick first) when a slot frees up. */
static int
queue_slot_ok(struct sched_queue *q)
{
	struct sched *s = q->s;
	int total = s->p.total_max_smtp_out > 0 ? s->p.total_max_smtp_out :
	    1200;

	struct sched_vmta *full;

	if ((full = sched_plim_full(q)) != NULL) {
		sched_plim_wait(q, full);
		/* an idle connection must never hold a slot others need */
		(void)sched_idle_free_slot(s, full);
		return 0;
	}
	if (s->nconn >= total) {
		if (!q->blocked) {
			q->blocked = 1;
			s->nblocked++;
			shape_fair_set_ready(&s->fair, &q->fe, 1);
		}
		(void)sched_idle_free_slot(s, NULL);
		return 0;
	}
	return 1;
}

void
sched_open_conns(struct sched_queue *q)
{
	struct sched *s = q->s;

	sched_reroute_sweep(q);		/* a reroute that became active */
	/* ready work goes to idle connections before new ones open */
	if (q->nidle > 0 && !s->stopping && !q->paused)
		sched_idle_wake_queue(q, 0);
	while (queue_can_open(q) && queue_shape_ok(q) && queue_slot_ok(q)) {
		struct sched_conn *c;

		c = xcalloc(1, sizeof(*c));
		c->queue = q;
		c->next = q->conns;
		if (q->conns)
			q->conns->prev = c;
		q->conns = c;
		q->nconn++;
		q->nstarting++;
		sched_plim_conn_add(q, 1);
		if (q->shaped)
			shape_queue_conn_opened(&q->sq, s->now_us);
		s->nconn++;
		s->st.conns = (uint64_t)s->nconn;
		s->h.conn_open(s->arg, c);
	}
}

const char *
sched_queue_name(const struct sched_queue *q)
{
	return q->name;
}

const char *
sched_queue_domain(const struct sched_queue *q)
{
	return q->domain;
}

const char *
sched_queue_vmta(const struct sched_queue *q)
{
	return q->vmta;
}

const struct sched_queue_params *
sched_queue_params(const struct sched_queue *q)
{
	return &q->p;
}

uint64_t
sched_queue_nready(const struct sched_queue *q)
{
	return q->nready;
}

struct sched_queue *
sched_queue_reroute(struct sched_queue *q, const char *domain, int64_t now)
{
	struct sched_queue *t = sched_queue_get(q->s, domain, q->vmta);

	(void)now;
	if (t == NULL || t == q)
		return q;
	while (q->rhead) {
		struct sched_qmsg *qm = q->rhead;
		struct sched_qmsg *tqm = sched_qmsg_get(qm->msg, t);

		while (qm->head) {
			struct sched_rcpt *r = qm->head;

			sched_ready_unlink(r);
			q->nrcpt--;
			t->nrcpt++;
			r->qm = tqm;
			sched_ready_push(r);
		}
	}
	if (q->pool && t->pool == NULL)
		t->pool = xstrdup(q->pool);
	return t;
}

struct shape_queue *
sched_queue_shape(struct sched_queue *q)
{
	return q->shaped ? &q->sq : NULL;
}

struct shape_vmta *
sched_queue_shape_vmta(struct sched_queue *q)
{
	return &q->vm->sv;
}

void
sched_queue_wake(struct sched_queue *q)
{
	sched_queue_kick(q);
}

void
sched_queue_set_pause(struct sched_queue *q, int paused)
{
	q->paused = paused != 0;
	if (q->paused && q->nidle > 0)
		sched_idle_wake_queue(q, 1);	/* idle ones quit */
	if (!q->paused)
		sched_queue_kick(q);
}

void
sched_queue_foreach(struct sched *s,
    void (*cb)(const struct sched_queue_info *qi, void *arg), void *arg)
{
	for (size_t i = 0; i < s->nqueues; i++) {
		const struct sched_queue *q = s->queues[i];
		struct sched_queue_info qi = {
			.name = q->name, .domain = q->domain, .vmta = q->vmta,
			.rcpt = q->nrcpt, .ready = q->nready,
			.conns = q->nconn, .paused = q->paused,
			.backoff = q->shaped ? shape_mode_in_backoff(
			    &q->sq.mode, q->s->now_us) : q->backoff,
			.next_retry = q->timer.idx != SIZE_MAX ?
			    q->timer.when / SHAPE_USEC : 0,
			.pool = q->pool,
			.last_error = q->last_error ? q->last_error : "",
		};
		cb(&qi, arg);
	}
}
