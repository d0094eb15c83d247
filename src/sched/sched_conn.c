/*
 * sched_conn.c -- connections as the core sees them: handing out
 * transactions (batches), taking their results, queue-level failures.
 *
 * A connection object is created by sched_open_conns() and handed to the
 * owner's conn_open hook; it ends with exactly one of sched_conn_closed(),
 * sched_conn_failed() or sched_conn_bounce_queue(). At most one batch is
 * outstanding per connection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched_int.h"

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
	s->nconn--;
	free(c);
	if (q->nready)
		sched_queue_kick(q);
	if (s->nblocked) {
		for (size_t i = 0; i < s->nqueues; i++) {
			if (s->queues[i]->blocked) {
				s->queues[i]->blocked = 0;
				sched_queue_kick(s->queues[i]);
			}
		}
		s->nblocked = 0;
	}
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

static int
conn_may_continue(const struct sched_conn *c)
{
	const struct sched_queue_params *p = &c->queue->p;

	if (c->queue->s->stopping)
		return 0;
	if (p->max_msg_per_connection > 0 &&
	    c->nmsg >= p->max_msg_per_connection)
		return 0;
	if (p->max_errors_per_connection > 0 &&
	    c->nerrors >= p->max_errors_per_connection)
		return 0;
	return 1;
}

/* Take up to max-rcpt-per-message ready recipients of the queue's first
 * message; expired ones are bounced on the way. NULL if nothing is left. */
static struct sched_batch *
batch_take(struct sched_queue *q, int64_t now)
{
	struct sched_qmsg *qm;

	while ((qm = q->rhead) != NULL) {
		struct sched_msg *m = qm->msg;
		size_t max = (size_t)q->p.max_rcpt_per_message;
		struct sched_batch *b;

		if (now >= sched_expiry(&q->p, m->time_queued)) {
			sched_expire_ready(q, now);
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

const struct sched_batch *
sched_conn_next(struct sched_conn *c, int64_t now)
{
	struct sched_queue *q = c->queue;

	if (c->batch)
		fatalx("%s: batch already outstanding", __func__);
	if (!conn_may_continue(c))
		return NULL;
	if ((c->batch = batch_take(q, now)) == NULL)
		return NULL;
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
	if (k == SCHED_DEFERRED) {
		int64_t exp = sched_expiry(&q->p, r->msg->time_queued);
		int64_t next;

		r->attempts++;
		next = now + sched_retry_delay(&q->p, r->attempts);
		if (now >= exp)
			k = SCHED_EXPIRED;
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
	int delivered = 0;

	if (b == NULL)
		fatalx("%s: no batch outstanding", __func__);
	c->batch = NULL;
	m = b->msg;
	ev = xcalloc(b->n, sizeof(*ev));
	for (size_t i = 0; i < b->n; i++) {
		rcpt_result(c, b->rcpts[i], &res[i], &ev[i], now);
		delivered |= ev[i].kind == SCHED_DELIVERED;
	}
	if (delivered)
		s->st.out_msg++;
	sched_emit(s, ev, b->n);	/* holds its own ref on m */
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
		sched_heap_push(&s->heap, &q->timer,
		    now + sched_retry_delay(&q->p, q->nfail));
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
	struct sched_qmsg *qm;

	sched_conn_batch_fail(c, res, now);
	sched_queue_set_error(q, res->diag);
	while ((qm = q->rhead) != NULL) {
		struct sched_msg *m = qm->msg;

		m->refs++;
		while (qm->head) {
			struct sched_event ev[64];
			size_t n = 0;

			while (qm->head && n < 64) {
				struct sched_rcpt *r = qm->head;
				sched_ready_unlink(r);
				ev[n++] = (struct sched_event){
				    .kind = SCHED_BOUNCED, .rcpt = r,
				    .queue = q, .conn = c, .res = res,
				    .status = result_status(res,
				    SCHED_BOUNCED), .now = now };
			}
			sched_emit(q->s, ev, n);
		}
		m->refs--;
		sched_msg_maybe_free(q->s, m);
	}
	conn_release(c);
}

void
sched_conn_closed(struct sched_conn *c, int64_t now)
{
	(void)now;
	conn_release(c);
}
