/*
 * shape_vmta.c -- limits shared by every queue of one virtual MTA or pool:
 * max-smtp-out (connections across its queues) and max-smtp-msg-rate
 * (smooth pacing of messages), plus its source-IP rotation.
 *
 * The caller keeps nconn current (increment when opening through the vmta,
 * decrement when the connection ends); this file only decides.
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
