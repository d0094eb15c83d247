/*
 * sched_conn.c -- connections as the core sees them: handing out
 * transactions (batches), taking their results, queue-level failures.
 *
 * A connection object is created by sched_open_conns() and handed to the
 * owner's conn_open hook; it ends with exactly one of sched_conn_closed(),
 * sched_conn_failed() or sched_conn_bounce_queue(). At most one batch is
 * outstanding per connection.
 *
 * Pacing: a transaction takes its recipients from the queue's
 * max-msg-rate pacer (one token per attempted recipient) and one message
 * from the max-smtp-msg-rate pacers of the vmta and of its limited pools
 * (sched_plim.c), charged once the batch is taken, for what it holds;
 * "not yet" returns NULL with c->wait_until set. Fairness: while other queues wait for a global
 * connection slot, a connection asks the fair picker at each transaction
 * boundary whether to keep its slot or hand it over (then it quits).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched_int.h"

/* A global slot freed: the fair pick (if any) tries first, then the rest
 * (those that cannot get one block again and keep their fair position). */
static void
unblock_all(struct sched *s)
{
	struct sched_queue *g = s->grant;

	s->grant = NULL;
	if (g && g->blocked)
		sched_queue_kick(g);
	for (size_t i = 0; i < s->nqueues; i++) {
		struct sched_queue *q = s->queues[i];
		if (q->blocked) {
			q->blocked = 0;
			shape_fair_set_ready(&s->fair, &q->fe, 0);
			sched_queue_kick(q);
		}
	}
	s->nblocked = 0;
}

static void
conn_release(struct sched_conn *c)
{
	struct sched_queue *q = c->queue;
	struct sched *s = q->s;

	if (c->batch)
		fatalx("%s: connection closed with a batch outstanding",
		    __func__);
	if (c->prev)
		c->prev->next = c->next;
	else
		q->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	q->nconn--;
	if (!c->started)
		q->nstarting--;
	if (c->wait_until)
		q->nwaiting--;
	sched_conn_unidle(c);
	if (c->woken)
		q->nwoken--;
	sched_plim_conn_add(q, -1);
	s->nconn--;
	free(c);
	/* waiting queues first: the freed slot goes to the fair pick */
	if (s->nblocked)
		unblock_all(s);
	sched_plim_unblock(q);		/* vmta and pool slots */
	if (q->nready)
		sched_queue_kick(q);
}

void
sched_conns_free(struct sched_queue *q)
{
	struct sched_conn *c, *next;

	for (c = q->conns; c; c = next) {
		next = c->next;
		if (c->batch) {
			free(c->batch->rcpts);
			free(c->batch);
		}
		free(c);
	}
	q->conns = NULL;
}

/* Other queues wait for a global slot: keep ours only if the fair picker
 * chooses this queue; otherwise remember who gets it and quit. */
static int
conn_keeps_slot(struct sched_queue *q)
{
	struct sched *s = q->s;
	struct shape_fair_ent *e;

	if (s->nblocked == 0)
		return 1;
	shape_fair_set_ready(&s->fair, &q->fe, 1);
	e = shape_fair_next(&s->fair);
	if (!q->blocked)
		shape_fair_set_ready(&s->fair, &q->fe, 0);
	if (e == NULL || e->data == q)
		return 1;
	s->grant = e->data;
	return 0;
}

static int
conn_may_continue(struct sched_conn *c)
{
	const struct sched_queue_params *p = &c->queue->p;

	if (c->queue->s->stopping || c->queue->paused || c->quit)
		return 0;
	if (c->started && !conn_keeps_slot(c->queue))
		return 0;
	if (p->max_msg_per_connection > 0 &&
	    c->nmsg >= p->max_msg_per_connection)
		return 0;
	if (p->max_errors_per_connection > 0 &&
	    c->nerrors >= p->max_errors_per_connection)
		return 0;
	return 1;
}

/* A paused job's message at the head of the queue: hold its recipients
 * (normally done when the job was paused; this is the last line). */
static void
qmsg_hold(struct sched_qmsg *qm)
{
	while (qm->head)
		(void)sched_rcpt_hold(qm->q->s, qm->head);
}

/* Take up to max-rcpt-per-message ready recipients of the queue's first
 * message; expired ones are bounced on the way, held ones (paused job)
 * parked. NULL if nothing is left or the queue is paused. */
static struct sched_batch *
batch_take(struct sched_queue *q, size_t max, int64_t now)
{
	struct sched_qmsg *qm;

	while (!q->paused && (qm = q->rhead) != NULL) {
		struct sched_msg *m = qm->msg;
		struct sched_batch *b;

		if (now >= sched_expiry(&q->p, m->time_queued)) {
			sched_expire_ready(q, now);
			continue;
		}
		if (q->s->ctl && sched_ctl_msg_held(q->s->ctl, m)) {
			qmsg_hold(qm);
			continue;
		}
		b = xcalloc(1, sizeof(*b));
		b->msg = m;
		b->rcpts = xcalloc(qm->nready < max ? qm->nready : max,
		    sizeof(*b->rcpts));
		while (qm->head && b->n < max) {
			struct sched_rcpt *r = qm->head;
			sched_ready_unlink(r);
			r->state = SCHED_RCPT_INFLIGHT;
			b->rcpts[b->n++] = r;
		}
		m->refs++;
		return b;
	}
	return NULL;
}

/* How many recipients of the queue's first message may go now under the
 * pacers (0: c->wait_until set). Expired messages are bounced first.
 * Nothing is charged here: the caller charges what the batch it then
 * takes really holds (batch_charge), so a hand-out that comes back short
 * or empty (held, expired, paused meanwhile) loses no tokens. */
static size_t
batch_allowance(struct sched_conn *c, int64_t now)
{
	struct sched_queue *q = c->queue;
	struct sched_qmsg *qm;
	size_t want;
	int64_t t, k;

	while ((qm = q->rhead) != NULL &&
	    now / SHAPE_USEC >= sched_expiry(&q->p, qm->msg->time_queued))
		sched_expire_ready(q, now / SHAPE_USEC);
	if (qm == NULL)
		return 0;
	want = qm->nready < (size_t)q->p.max_rcpt_per_message ? qm->nready :
	    (size_t)q->p.max_rcpt_per_message;
	if ((t = sched_plim_rate_next(q, now)) > now) {
		c->wait_until = t;
		return 0;
	}
	if (!q->shaped)
		k = (int64_t)want;
	else if ((k = shape_queue_rcpt_avail(&q->sq, (int64_t)want, now)) ==
	    0) {
		c->wait_until = shape_queue_rcpt_ready(&q->sq, now);
		return 0;
	}
	return (size_t)k;
}

/* Charge a batch handed out: one max-msg-rate token per recipient (the
 * allowance said they are there at this now; should a hook have taken
 * some meanwhile, the rest is charged anyway), one message for the vmta's
 * and its pools' max-smtp-msg-rate. */
static void
batch_charge(struct sched_queue *q, const struct sched_batch *b, int64_t now)
{
	int64_t k;

	if (q->shaped && (k = shape_queue_rcpt_take(&q->sq, (int64_t)b->n,
	    now)) < (int64_t)b->n)
		shape_rate_charge(&q->sq.msg_rate, now, (int64_t)b->n - k);
	sched_plim_rate_take(q, now);
}

const struct sched_batch *
sched_conn_next(struct sched_conn *c, int64_t now)
{
	return sched_conn_next_us(c, sched_clock(c->queue->s, now));
}

const struct sched_batch *
sched_conn_next_us(struct sched_conn *c, int64_t now_us)
{
	struct sched_queue *q = c->queue;
	int64_t now;
	size_t k;

	if (c->batch)
		fatalx("%s: batch already outstanding", __func__);
	sched_clock_us(q->s, now_us);
	now_us = q->s->now_us;
	now = now_us / SHAPE_USEC;
	if (c->wait_until) {
		c->wait_until = 0;
		q->nwaiting--;
	}
	sched_conn_unidle(c);
	if (c->woken) {
		c->woken = 0;
		q->nwoken--;
	}
	if (!conn_may_continue(c))
		return NULL;
	sched_reroute_sweep(q);		/* backoff may have just started */
	if ((k = batch_allowance(c, now_us)) == 0) {
		if (c->wait_until == SHAPE_NEVER)
			c->wait_until = 0;
		if (c->wait_until)
			q->nwaiting++;
		return NULL;
	}
	if ((c->batch = batch_take(q, k, now)) == NULL)
		return NULL;
	batch_charge(q, c->batch, now_us);
	if (!c->started) {
		c->started = 1;
		q->nstarting--;
	}
	c->nmsg++;
	return c->batch;
}

static const char *
result_status(const struct sched_result *r, enum sched_outcome k)
{
	if (r->status && r->status[0])
		return r->status;
	switch (k) {
	case SCHED_DELIVERED:
		return "2.0.0";
	case SCHED_BOUNCED:
		return "5.0.0";
	case SCHED_EXPIRED:
		return "4.4.7";
	case SCHED_DEFERRED:
		break;
	}
	return r->code == 0 ? "4.4.1" : "4.0.0";
}

/* Work out one recipient's outcome; deferrals go to the heap (or expire). */
static void
rcpt_result(struct sched_conn *c, struct sched_rcpt *r,
    const struct sched_result *res, struct sched_event *ev, int64_t now)
{
	struct sched_queue *q = c->queue;
	enum sched_outcome k = sched_outcome_for_code(res->code);

	if (k != SCHED_DELIVERED)
		c->nerrors++;
	else
		q->nfail = 0;
	if (k == SCHED_DELIVERED && q->shaped &&
	    shape_queue_on_delivery(&q->sq, q->p.dom, q->s->now_us) != 0)
		sched_queue_kick(q);
	if (k == SCHED_DEFERRED) {
		int64_t exp = sched_expiry(&q->p, r->msg->time_queued);
		int64_t next;

		r->attempts++;
		next = now + sched_retry_delay_q(q, r->attempts, 0);
		if (now >= exp)
			k = SCHED_EXPIRED;
		else if (sched_reroute_moves(q, r->msg))
			/* (backoff-)reroute: due now, so the next pump moves
			 * it to the target (after its t record, which is
			 * this queue's) */
			sched_defer_rcpt(q->s, r, now);
		else
			sched_defer_rcpt(q->s, r, next < exp ? next : exp);
	}
	if (k != SCHED_DELIVERED && res->diag)
		sched_queue_set_error(q, res->diag);
	*ev = (struct sched_event){ .kind = k, .rcpt = r, .queue = q,
	    .conn = c, .res = res, .status = result_status(res, k),
	    .now = now };
}

void
sched_conn_batch_done(struct sched_conn *c, const struct sched_result *res,
    int64_t now)
{
	struct sched_batch *b = c->batch;
	struct sched *s = c->queue->s;
	struct sched_event *ev;
	struct sched_msg *m;
	size_t ne = 0;
	int delivered = 0;

	if (b == NULL)
		fatalx("%s: no batch outstanding", __func__);
	sched_clock(s, now);
	c->batch = NULL;
	m = b->msg;
	ev = xcalloc(b->n, sizeof(*ev));
	for (size_t i = 0; i < b->n; i++) {
		if (res[i].requeue && sched_outcome_for_code(res[i].code) !=
		    SCHED_DELIVERED) {
			sched_ready_push(b->rcpts[i]);	/* next MX */
			continue;
		}
		rcpt_result(c, b->rcpts[i], &res[i], &ev[ne], now);
		delivered |= ev[ne++].kind == SCHED_DELIVERED;
	}
	if (delivered)
		s->st.out_msg++;
	sched_emit(s, ev, ne);		/* holds its own ref on m */
	free(ev);
	free(b->rcpts);
	free(b);
	m->refs--;
	sched_msg_maybe_free(s, m);
}

void
sched_conn_batch_fail(struct sched_conn *c, const struct sched_result *res,
    int64_t now)
{
	struct sched_result *all;
	size_t n;

	if (c->batch == NULL)
		return;
	n = c->batch->n;
	all = xcalloc(n, sizeof(*all));
	for (size_t i = 0; i < n; i++)
		all[i] = *res;
	sched_conn_batch_done(c, all, now);
	free(all);
}

void
sched_conn_failed(struct sched_conn *c, const struct sched_result *res,
    int64_t now)
{
	struct sched_queue *q = c->queue;
	struct sched *s = q->s;

	sched_conn_batch_fail(c, res, now);
	sched_queue_set_error(q, res->diag);
	q->nfail++;
	if (q->timer.idx == SIZE_MAX && !s->stopping) {
		sched_heap_push(&s->heap, &q->timer, (now +
		    sched_retry_delay_q(q, q->nfail, res->dns_error)) *
		    SHAPE_USEC);
		sched_wakeup(s);
	}
	if (s->h.queue_event)
		s->h.queue_event(s->arg, q, c, res, now);
	sched_expire_ready(q, now);
	conn_release(c);
}

void
sched_conn_bounce_queue(struct sched_conn *c, const struct sched_result *res,
    int64_t now)
{
	struct sched_queue *q = c->queue;

	sched_conn_batch_fail(c, res, now);
	sched_queue_set_error(q, res->diag);
	(void)sched_final_ready(q, c, SCHED_BOUNCED, res,
	    result_status(res, SCHED_BOUNCED), INT64_MAX, now);
	conn_release(c);
}

size_t
sched_conn_bounce_older(struct sched_conn *c, const struct sched_result *res,
    int64_t queued_before, int64_t now)
{
	struct sched_queue *q = c->queue;
	size_t n;

	if (c->batch)
		fatalx("%s: batch outstanding", __func__);
	sched_clock(q->s, now);
	n = sched_final_ready(q, c, SCHED_BOUNCED, res,
	    result_status(res, SCHED_BOUNCED), queued_before, now);
	if (n > 0)
		sched_queue_set_error(q, res->diag);
	return n;
}

/* Retry delay for the queue: the shaping schedule (backoff-retry-after,
 * retry-schedule exponential, retry-after-dns-error) when the queue has a
 * <domain>, else the params' retry-after list. */
int64_t
sched_retry_delay_q(struct sched_queue *q, uint32_t attempts, int dns_error)
{
	const struct conf_domain *d = q->p.dom;

	if (d == NULL)
		return sched_retry_delay(&q->p, attempts);
	if (dns_error && d->retry_after_dns_error > 0)
		return d->retry_after_dns_error;
	return shape_retry_delay(d, (int)(attempts > 1000 ? 1000 : attempts),
	    shape_mode_in_backoff(&q->sq.mode, q->s->now_us), &q->s->rng);
}

void
sched_conn_closed(struct sched_conn *c, int64_t now)
{
	(void)now;
	conn_release(c);
}
