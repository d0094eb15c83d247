/*
 * shape_vmta.c -- limits shared by every queue of one virtual MTA or pool:
 * max-smtp-out (connections across its queues) and max-smtp-msg-rate
 * (smooth pacing of messages), plus its source-IP rotation.
 *
 * The caller keeps nconn current (increment when opening through the vmta,
 * decrement when the connection ends); this file only decides. A pool's
 * limits use the same struct (the scheduler keeps one per limited pool,
 * found with shape_vmta_pools()).
 */
#include <stdint.h>
#include <string.h>

#include "shape/shape.h"

void
shape_vmta_init(struct shape_vmta *v, int max_smtp_out,
    const struct conf_rate *max_smtp_msg_rate)
{
	memset(v, 0, sizeof(*v));
	v->max_smtp_out = max_smtp_out > 0 ? max_smtp_out : 0;
	shape_rate_init(&v->msg_rate, max_smtp_msg_rate);
	shape_rr_init(&v->src_rr);
}

void
shape_vmta_reload(struct shape_vmta *v, int max_smtp_out,
    const struct conf_rate *max_smtp_msg_rate, int64_t now)
{
	v->max_smtp_out = max_smtp_out > 0 ? max_smtp_out : 0;
	shape_rate_set(&v->msg_rate, max_smtp_msg_rate, now);
}

int
shape_vmta_conn_ok(const struct shape_vmta *v)
{
	return v->max_smtp_out == 0 || v->nconn < v->max_smtp_out;
}

size_t
shape_vmta_pools(const struct conf *c, const struct conf_vmta *v,
    const struct conf_pool **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npools; i++) {
		const struct conf_pool *p = &c->pools[i];
		size_t k;

		if (p->max_smtp_out <= 0 &&
		    conf_rate_unlimited(&p->max_smtp_msg_rate))
			continue;
		for (k = 0; k < p->nmembers && p->members[k] != v; k++)
			;
		if (k == p->nmembers)
			continue;
		if (n < max)
			out[n] = p;
		n++;
	}
	return n;
}
