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
 * SCHED_REROUTE_HOPS stops where it is (logged).
 *
 * Pool members whose source IPs are all disabled (disable-source-ip): a
 * recipient that came through a pool and is becoming ready in a queue
 * whose vmta cannot send now goes to the member the owner's pool_repick
 * hook names (the pool's next member whose queue for that domain can
 * send); sched_queue_repick moves a queue's ready ones when the owner
 * finds all its IPs disabled. The pick of a pool for a message is made
 * before its recipients are split by domain, so this is where the
 * per-domain state is known. Loop thread only.
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

/* A vmta name for m's recipients that lives as long as m (pool re-picks:
 * entries with an empty name). */
static const char *
msg_vmta_str(struct sched_msg *m, const char *vmta)
{
	struct sched_rsel *e;

	for (size_t i = 0; i < m->nrsel; i++)
		if (m->rsel[i].name[0] == '\0' &&
		    strcmp(m->rsel[i].vmta, vmta) == 0)
			return m->rsel[i].vmta;
	m->rsel = xreallocarray(m->rsel, m->nrsel + 1, sizeof(*m->rsel));
	e = &m->rsel[m->nrsel++];
	e->name = xstrdup("");
	e->vmta = xstrdup(vmta);
	e->pool = NULL;
	return e->vmta;
}

/* r (in no list) leaves its queue for t as vmta/pool. */
static void
rcpt_move(struct sched_rcpt *r, struct sched_queue *t, const char *vmta,
    const char *pool)
{
	r->qm->q->nrcpt--;
	t->nrcpt++;
	r->qm = sched_qmsg_get(r->msg, t);
	r->vmta = vmta;
	r->pool = pool;
	if (pool && (t->pool == NULL || strcmp(t->pool, pool) != 0)) {
		free(t->pool);
		t->pool = xstrdup(pool);
	}
}

/* A pool's recipient in a queue whose vmta cannot send: another member
 * (pool_repick hook). */
static void
pool_repick(struct sched_rcpt *r)
{
	struct sched_queue *q = r->qm->q, *t;
	struct sched *s = q->s;
	const char *v;

	if (r->pool == NULL || s->h.pool_repick == NULL ||
	    (v = s->h.pool_repick(s->arg, q, r->pool)) == NULL ||
	    strcmp(v, q->vmta) == 0)
		return;
	v = msg_vmta_str(r->msg, v);
	if ((t = sched_rcpt_queue(s, r, v)) != NULL && t != q)
		rcpt_move(r, t, v, r->pool);
}

void
sched_reroute_rcpt(struct sched_rcpt *r)
{
	int hops;

	for (hops = 0; hops < SCHED_REROUTE_HOPS; hops++) {
		struct sched_queue *q = r->qm->q, *t;
		const struct sched_rsel *e = reroute_pick(q, r->msg);

		if (e == NULL ||
		    (t = sched_rcpt_queue(q->s, r, e->vmta)) == NULL || t == q)
			break;
		rcpt_move(r, t, e->vmta, e->pool);
	}
	if (hops == SCHED_REROUTE_HOPS)
		log_warnx("queue %s: reroute chain longer than %d hops, "
		    "stopped", r->qm->q->name, SCHED_REROUTE_HOPS);
	pool_repick(r);
}

/* Push q's ready recipients again (so they go through reroute and pool
 * re-pick) for the groups `pick` selects; each group once, and at most its
 * recipients of the moment (one that stays is relinked at the tail). */
static size_t
ready_again(struct sched_queue *q,
    int (*pick)(struct sched_queue *, struct sched_qmsg *))
{
	struct sched_qmsg *qm, *next;
	size_t nq = q->nready_qm, before = q->nready;

	for (qm = q->rhead; qm != NULL && nq > 0; qm = next, nq--) {
		size_t n = qm->nready;

		next = qm->qnext;
		if (!pick(q, qm))
			continue;
		while (n-- > 0 && qm->head != NULL) {
			struct sched_rcpt *r = qm->head;

			sched_ready_unlink(r);
			sched_ready_push(r);
		}
	}
	return before > q->nready ? (size_t)(before - q->nready) : 0;
}

static int
pick_rerouted(struct sched_queue *q, struct sched_qmsg *qm)
{
	return reroute_pick(q, qm->msg) != NULL;
}

static int
pick_all(struct sched_queue *q, struct sched_qmsg *qm)
{
	(void)q;
	(void)qm;
	return 1;
}

void
sched_reroute_sweep(struct sched_queue *q)
{
	const char *name = reroute_name(q);

	if (name == q->rr_swept)
		return;
	q->rr_swept = name;
	if (name != NULL)
		(void)ready_again(q, pick_rerouted);
}

size_t
sched_queue_repick(struct sched_queue *q)
{
	if (q->s->h.pool_repick == NULL)
		return 0;
	return ready_again(q, pick_all);
}
