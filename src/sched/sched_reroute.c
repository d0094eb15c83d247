/*
 * sched_reroute.c -- reroute-to-virtual-mta and
 * backoff-reroute-to-virtual-mta (PowerMTA, per <domain>, also a <domain>
 * inside a <virtual-mta>): a queue domain/V whose <domain> names a target
 * T hands its recipients to the queue of the same recipient domain under T
 * (the queue_domain hook applies there as at placing), and they are
 * delivered, recorded (vmta, queue, vmtaPool) and retried there. The
 * backoff variant applies only while the queue is in backoff mode (and
 * then wins over the plain one); recipients already moved stay moved.
 *
 * T is a vmta or a pool; the select_vmta hook maps it, once per name and
 * message (struct sched_rsel in the message, so a pool gives one member per
 * message and the strings live as long as the recipients pointing at
 * them). A message whose pick is the queue's own vmta stays.
 *
 * Where: every recipient entering a ready list goes through
 * sched_reroute_rcpt (placing, retry timer, release of a hold, skip-mx,
 * MX rollup), and a queue's ready list is swept once whenever its active
 * target changes (backoff entered, reload): sched_reroute_sweep, called
 * before connections are opened and before a transaction is handed out.
 * A recipient deferred in a queue that reroutes it is due at once
 * (sched_conn.c: its t record is the queue's, then the next pump moves
 * it), so backoff does not hold it for backoff-retry-after.
 * Loops are refused by the config (conf_reroute.c); a chain longer than
 * SCHED_REROUTE_HOPS stops where it is (logged). Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched_int.h"

#define SCHED_REROUTE_HOPS	16

/* The target name in force for q now, or NULL. */
static const char *
reroute_name(struct sched_queue *q)
{
	const struct conf_domain *d = q->p.dom;

	if (d == NULL)
		return NULL;
	if (d->backoff_reroute_to_vmta != NULL && q->shaped &&
	    shape_mode_in_backoff(&q->sq.mode, q->s->now_us))
		return d->backoff_reroute_to_vmta;
	return d->reroute_to_vmta;
}

static const struct sched_rsel *
rsel_get(struct sched *s, struct sched_msg *m, const char *name)
{
	struct sched_rsel *e;

	for (size_t i = 0; i < m->nrsel; i++)
		if (strcmp(m->rsel[i].name, name) == 0)
			return &m->rsel[i];
	m->rsel = xreallocarray(m->rsel, m->nrsel + 1, sizeof(*m->rsel));
	e = &m->rsel[m->nrsel++];
	e->name = xstrdup(name);
	sched_vmta_select(s, name, &e->vmta, &e->pool);
	return e;
}

void
sched_rsel_free(struct sched_msg *m)
{
	for (size_t i = 0; i < m->nrsel; i++) {
		free((char *)m->rsel[i].name);
		free(m->rsel[i].vmta);
		free(m->rsel[i].pool);
	}
	free(m->rsel);
	m->rsel = NULL;
	m->nrsel = 0;
}

/* The pick for m if q reroutes it now (a vmta other than q's), or NULL. */
static const struct sched_rsel *
reroute_pick(struct sched_queue *q, struct sched_msg *m)
{
	const char *name = reroute_name(q);
	const struct sched_rsel *e;

	if (name == NULL)
		return NULL;
	e = rsel_get(q->s, m, name);
	return strcmp(e->vmta, q->vmta) == 0 ? NULL : e;
}

int
sched_reroute_moves(struct sched_queue *q, struct sched_msg *m)
{
	return reroute_pick(q, m) != NULL;
}

void
sched_reroute_rcpt(struct sched_rcpt *r)
{
	int hops;

	for (hops = 0; hops < SCHED_REROUTE_HOPS; hops++) {
		struct sched_queue *q = r->qm->q, *t;
		const struct sched_rsel *e = reroute_pick(q, r->msg);

		if (e == NULL)
			return;
		if ((t = sched_rcpt_queue(q->s, r, e->vmta)) == NULL ||
		    t == q)
			return;
		q->nrcpt--;
		t->nrcpt++;
		r->qm = sched_qmsg_get(r->msg, t);
		r->vmta = e->vmta;
		r->pool = e->pool;
		if (e->pool && (t->pool == NULL || strcmp(t->pool, e->pool)))
		{
			free(t->pool);
			t->pool = xstrdup(e->pool);
		}
	}
	log_warnx("queue %s: reroute chain longer than %d hops, stopped",
	    r->qm->q->name, SCHED_REROUTE_HOPS);
}

void
sched_reroute_sweep(struct sched_queue *q)
{
	const char *name = reroute_name(q);
	struct sched_qmsg *qm, *next;
	size_t nq;

	if (name == q->rr_swept)
		return;
	q->rr_swept = name;
	if (name == NULL)
		return;
	/* each group once: one that stays (NULL queue) may be relinked */
	nq = q->nready_qm;
	for (qm = q->rhead; qm != NULL && nq > 0; qm = next, nq--) {
		size_t n = qm->nready;

		next = qm->qnext;
		if (reroute_pick(q, qm->msg) == NULL)
			continue;
		while (n-- > 0 && qm->head != NULL) {
			struct sched_rcpt *r = qm->head;

			sched_ready_unlink(r);
			sched_ready_push(r);
		}
	}
}
