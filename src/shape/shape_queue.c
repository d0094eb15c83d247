/*
 * shape_queue.c -- the per-queue bundle the scheduler keeps: backoff mode,
 * max-msg-rate and max-connect-rate pacers, disabled source IPs.
 *
 * Thin glue over shape_mode/shape_rate/shape_rr so the scheduler needs a
 * handful of calls (docs/shaping.md). Invariant after every public call:
 * the pacers run at the rates of the mode recorded in q->synced_backoff,
 * which equals q->mode.backoff.
 */
#include <stdint.h>
#include <string.h>

#include "shape/shape.h"

/* Make the pacers follow the current mode (or a reloaded domain). */
static void
queue_sync(struct shape_queue *q, const struct conf_domain *dom, int force,
    int64_t now)
{
	int b = q->mode.backoff;

	if (!force && b == q->synced_backoff)
		return;
	shape_rate_set(&q->msg_rate, b ? &dom->backoff_max_msg_rate :
	    &dom->max_msg_rate, now);
	shape_rate_set(&q->connect_rate, b ? &dom->backoff_max_connect_rate :
	    &dom->max_connect_rate, now);
	q->synced_backoff = b;
}

void
shape_queue_init(struct shape_queue *q, const struct conf_domain *dom,
    int64_t now)
{
	memset(q, 0, sizeof(*q));
	shape_mode_init(&q->mode, now);
	shape_rate_init(&q->msg_rate, &dom->max_msg_rate);
	shape_rate_init(&q->connect_rate, &dom->max_connect_rate);
	shape_srcset_init(&q->src_off);
}

void
shape_queue_fini(struct shape_queue *q)
{
	shape_srcset_fini(&q->src_off);
}

void
shape_queue_set_granularity(struct shape_queue *q, int64_t us)
{
	shape_rate_set_granularity(&q->msg_rate, us);
	shape_rate_set_granularity(&q->connect_rate, us);
}

void
shape_queue_reload(struct shape_queue *q, const struct conf_domain *dom,
    int64_t now)
{
	shape_mode_tick(&q->mode, now);
	queue_sync(q, dom, 1, now);
}

int
shape_queue_tick(struct shape_queue *q, const struct conf_domain *dom,
    int64_t now)
{
	int ch = shape_mode_tick(&q->mode, now);

	queue_sync(q, dom, 0, now);
	return ch;
}

int64_t
shape_queue_conn_ready(struct shape_queue *q, const struct conf_domain *dom,
    int nconn, int64_t now)
{
	struct shape_limits lim;

	shape_queue_tick(q, dom, now);
	shape_effective_limits(&q->mode, dom, now, &lim);
	if (nconn >= lim.max_smtp_out)
		return SHAPE_NEVER;
	return shape_rate_next(&q->connect_rate, now);
}

void
shape_queue_conn_opened(struct shape_queue *q, int64_t now)
{
	shape_rate_charge(&q->connect_rate, now, 1);
}

int64_t
shape_queue_rcpt_take(struct shape_queue *q, int64_t want, int64_t now)
{
	return shape_rate_take_n(&q->msg_rate, now, want);
}

int64_t
shape_queue_rcpt_avail(const struct shape_queue *q, int64_t want,
    int64_t now)
{
	return shape_rate_avail(&q->msg_rate, now, want);
}

int64_t
shape_queue_rcpt_ready(const struct shape_queue *q, int64_t now)
{
	return shape_rate_next(&q->msg_rate, now);
}

struct shape_action
shape_queue_on_reply(struct shape_queue *q, const struct conf_domain *dom,
    const char *reply, enum shape_phase ph, const char *source_ip,
    int64_t now)
{
	struct shape_action a = shape_mode_on_reply(&q->mode, dom, reply, ph,
	    now);

	queue_sync(q, dom, 0, now);
	if ((a.actions & CONF_ACT_DISABLE_SOURCE_IP) && source_ip != NULL &&
	    source_ip[0] != '\0')
		shape_srcset_disable(&q->src_off, source_ip, a.reenable_at);
	return a;
}

int
shape_queue_on_delivery(struct shape_queue *q, const struct conf_domain *dom,
    int64_t now)
{
	int ch = shape_mode_on_delivery(&q->mode, dom, now);

	queue_sync(q, dom, 0, now);
	return ch;
}

int
shape_queue_set_mode(struct shape_queue *q, const struct conf_domain *dom,
    int backoff, int64_t now)
{
	int ch = shape_mode_set(&q->mode, dom, backoff, now);

	queue_sync(q, dom, 0, now);
	return ch;
}
