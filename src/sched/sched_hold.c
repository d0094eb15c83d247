/*
 * sched_hold.c -- held recipients: those of a paused queue or of a paused
 * job (operator control, sched_ctl.c).
 *
 * A held recipient has r->held set, state DEFERRED and its timer in the
 * heap at its expiry time (time_queued + bounce-after, as of when it was
 * parked), so every live recipient is still in exactly one of the core's
 * places and a held recipient still expires at bounce-after, as PowerMTA
 * expires paused mail. r->next_attempt keeps the real retry time (0 for a
 * recipient that was ready), used when it is released.
 *
 * The core checks the hold wherever a recipient would become ready or
 * deferred (sched_ready_push, sched_defer_rcpt) and in the transaction
 * hand-out (batch_take), so nothing of a paused queue or job is handed to
 * a connection, whatever the order of events within a loop turn.
 * Owned by the scheduler core's owner.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sched/sched_int.h"

int
sched_rcpt_must_hold(const struct sched_rcpt *r)
{
	const struct sched_queue *q;

	if (r->qm == NULL)
		return 0;
	q = r->qm->q;
	return q->paused || (q->s->ctl != NULL &&
	    sched_ctl_msg_held(q->s->ctl, r->msg));
}

void
sched_rcpt_park(struct sched *s, struct sched_rcpt *r)
{
	int64_t exp = sched_expiry(&r->qm->q->p, r->msg->time_queued);

	r->state = SCHED_RCPT_DEFERRED;
	r->held = 1;
	sched_heap_push(&s->heap, &r->timer, exp * SHAPE_USEC);
	sched_wakeup(s);
}

int
sched_rcpt_hold(struct sched *s, struct sched_rcpt *r)
{
	if (r->qm == NULL || r->held)
		return 0;
	if (r->state == SCHED_RCPT_READY) {
		sched_ready_unlink(r);
		r->next_attempt = 0;
	} else if (r->state == SCHED_RCPT_DEFERRED) {
		sched_heap_remove(&s->heap, &r->timer);
	} else {
		return 0;	/* in flight or done */
	}
	sched_rcpt_park(s, r);
	return 1;
}

void
sched_rcpt_unhold(struct sched *s, struct sched_rcpt *r, int64_t now)
{
	if (!r->held)
		return;
	sched_heap_remove(&s->heap, &r->timer);
	r->held = 0;
	if (r->next_attempt > now)
		sched_defer_rcpt(s, r, r->next_attempt);
	else
		sched_ready_push(r);
}

void
sched_rcpt_held_fire(struct sched *s, struct sched_rcpt *r, int64_t now)
{
	struct sched_queue *q = r->qm->q;

	r->held = 0;
	if (now >= sched_expiry(&q->p, r->msg->time_queued)) {
		struct sched_result res = { .code = 0, .status = "4.4.7",
		    .diag = q->last_error, .category = "message-expired" };
		struct sched_event ev = { .kind = SCHED_EXPIRED, .rcpt = r,
		    .queue = q, .res = &res, .status = "4.4.7", .now = now };
		sched_emit(s, &ev, 1);
		return;
	}
	/* bounce-after grew (reload): park again, or go if released */
	if (r->next_attempt > now)
		sched_defer_rcpt(s, r, r->next_attempt);
	else
		sched_ready_push(r);
}
