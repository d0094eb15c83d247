/*
 * shape_mode.c -- per-queue normal/backoff state machine and the limits it
 * puts in force (PowerMTA backoff mode, docs/shaping.md).
 *
 * Enter backoff: a `reply` rule with mode=backoff, or the operator. Leave:
 * the deadline (rule backoff-to-normal-after=, else the domain's
 * backoff-to-normal-after; each new backoff match restarts it), a delivery
 * with backoff-to-normal-after-delivery, a mode=normal rule, or the
 * operator. Invariant: until == SHAPE_NEVER whenever backoff == 0.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "shape/shape.h"

void
shape_mode_init(struct shape_mode *m, int64_t now)
{
	memset(m, 0, sizeof(*m));
	m->since = now;
	m->until = SHAPE_NEVER;
}

int
shape_mode_in_backoff(const struct shape_mode *m, int64_t now)
{
	return m->backoff && now < m->until;
}

/* now + secs (seconds), SHAPE_NEVER for never / overflow. */
static int64_t
deadline(int64_t now, int64_t secs)
{
	int64_t us;

	if (secs <= 0 || secs > SHAPE_NEVER / SHAPE_USEC)
		return SHAPE_NEVER;
	us = secs * SHAPE_USEC;
	if (now > SHAPE_NEVER - us)
		return SHAPE_NEVER;
	return now + us;
}

static void
mode_enter(struct shape_mode *m, int64_t secs, enum shape_mode_cause cause,
    int64_t now)
{
	if (!m->backoff)
		m->since = now;
	m->backoff = 1;
	m->until = deadline(now, secs);
	m->cause = cause;
}

static void
mode_leave(struct shape_mode *m, enum shape_mode_cause cause, int64_t now)
{
	if (!m->backoff)
		return;
	m->backoff = 0;
	m->since = now;
	m->until = SHAPE_NEVER;
	m->cause = cause;
}

int
shape_mode_tick(struct shape_mode *m, int64_t now)
{
	if (!m->backoff || now < m->until)
		return 0;
	mode_leave(m, SHAPE_CAUSE_TIMEOUT, now);
	return -1;
}

int
shape_mode_set(struct shape_mode *m, const struct conf_domain *dom,
    int backoff, int64_t now)
{
	int before;

	shape_mode_tick(m, now);
	before = m->backoff;
	if (backoff)
		mode_enter(m, dom->backoff_to_normal_after,
		    SHAPE_CAUSE_OPERATOR, now);
	else
		mode_leave(m, SHAPE_CAUSE_OPERATOR, now);
	return m->backoff - before;
}

/* 1 if the reply text starts with a 4xx code. */
static int
reply_is_4xx(const char *reply)
{
	return reply[0] == '4' && isdigit((unsigned char)reply[1]) &&
	    isdigit((unsigned char)reply[2]);
}

struct shape_action
shape_mode_on_reply(struct shape_mode *m, const struct conf_domain *dom,
    const char *reply, enum shape_phase ph, int64_t now)
{
	struct shape_action a = { .reenable_at = SHAPE_NEVER,
	    .backoff_until = SHAPE_NEVER };
	const struct conf_reply_rule *r;
	int before = m->backoff;

	shape_mode_tick(m, now);
	if (reply == NULL || dom->smtp_patterns == NULL ||
	    (r = conf_smtp_pattern_match(dom->smtp_patterns, reply)) == NULL) {
		a.mode_change = m->backoff - before;
		return a;
	}
	a.rule = r;
	a.actions = r->actions;
	if (r->actions & CONF_ACT_MODE_BACKOFF)
		mode_enter(m, r->backoff_to_normal_after > 0 ?
		    r->backoff_to_normal_after : dom->backoff_to_normal_after,
		    SHAPE_CAUSE_RULE, now);
	else if (r->actions & CONF_ACT_MODE_NORMAL)
		mode_leave(m, SHAPE_CAUSE_RULE, now);
	if ((r->actions & CONF_ACT_BOUNCE_RCPT) &&
	    (ph != SHAPE_PHASE_RCPT || !reply_is_4xx(reply)))
		a.actions &= ~(unsigned)CONF_ACT_BOUNCE_RCPT;
	if (r->actions & CONF_ACT_DISABLE_SOURCE_IP)
		a.reenable_at = r->reenable_after > 0 ?
		    deadline(now, r->reenable_after) :
		    deadline(now, SHAPE_REENABLE_DEFAULT / SHAPE_USEC);
	a.mode_change = m->backoff - before;
	if (m->backoff)
		a.backoff_until = m->until;
	return a;
}

int
shape_mode_on_delivery(struct shape_mode *m, const struct conf_domain *dom,
    int64_t now)
{
	int before = m->backoff;

	shape_mode_tick(m, now);
	if (dom->backoff_to_normal_after_delivery)
		mode_leave(m, SHAPE_CAUSE_DELIVERY, now);
	return m->backoff - before;
}

void
shape_effective_limits(const struct shape_mode *m,
    const struct conf_domain *dom, int64_t now, struct shape_limits *out)
{
	int b = shape_mode_in_backoff(m, now);

	memset(out, 0, sizeof(*out));
	out->backoff = b;
	out->max_smtp_out = b ? dom->backoff_max_smtp_out : dom->max_smtp_out;
	if (out->max_smtp_out < 1)
		out->max_smtp_out = 1;
	out->max_msg_rate = b ? dom->backoff_max_msg_rate : dom->max_msg_rate;
	out->max_connect_rate = b ? dom->backoff_max_connect_rate :
	    dom->max_connect_rate;
	out->retry_after = shape_retry_delay(dom, 1, b, NULL);
}
