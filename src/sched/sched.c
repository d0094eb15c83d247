/*
 * sched.c -- scheduler core: messages and recipients, the timer heap,
 * outcomes, expiry (bounce-after) and the pump that fires due timers and
 * opens connections for kicked queues.
 *
 * Invariants: see sched.h. A message object lives while it has a live
 * recipient or an in-flight batch (refs); it is freed right after the
 * outcome hook that made its last recipient final.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched_int.h"

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct sched *
sched_new(const struct sched_params *p, const struct sched_hooks *h,
    void *arg)
{
	struct sched *s = xcalloc(1, sizeof(*s));

	if (h->conn_open == NULL || h->outcome == NULL)
		fatalx("%s: conn_open and outcome hooks are required",
		    __func__);
	s->h = *h;
	s->arg = arg;
	if (p)
		s->p = *p;
	sched_heap_init(&s->heap);
	shape_fair_init(&s->fair);
	s->rng = (uint64_t)(uintptr_t)s ^ UINT64_C(0x9e3779b97f4a7c15);
	return s;
}

int64_t
sched_clock(struct sched *s, int64_t now_s)
{
	int64_t us = now_s * SHAPE_USEC;

	/* a seconds clock is coarser than the us one: never go back */
	if (us > s->now_us)
		s->now_us = us;
	return s->now_us;
}

void
sched_clock_us(struct sched *s, int64_t now_us)
{
	if (now_us > s->now_us)
		s->now_us = now_us;
}

void
sched_set_params(struct sched *s, const struct sched_params *p)
{
	s->p = *p;
	for (size_t i = 0; i < s->nqueues; i++)
		sched_queue_kick(s->queues[i]);
}

static void
msg_free(struct sched_msg *m)
{
	struct sched_qmsg *qm, *next;

	for (qm = m->qmsgs; qm; qm = next) {
		next = qm->msg_next;
		free(qm);
	}
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		free(m->rcpts[i].addr);
		free(m->rcpts[i].orcpt);
	}
	free(m->rcpts);
	free(m->orig);
	free(m->envid);
	free(m->vmta);
	free(m->pool);
	for (size_t i = 0; i < m->nxnames; i++)
		free(m->xnames[i]);
	free(m->xnames);
	sched_rsel_free(m);
	free(m->job_id);
	free(m->src_type);
	free(m->src_mta);
	free(m->rcv_ip);
	free(m->auth_user);
	free(m);
}

void
sched_free(struct sched *s)
{
	struct sched_msg *m, *next;

	if (s == NULL)
		return;
	sched_heap_fini(&s->heap);
	shape_fair_fini(&s->fair);	/* points into the queues */
	sched_queues_free(s);
	for (m = s->msgs; m; m = next) {
		next = m->snext;
		msg_free(m);
	}
	free(s);
}

void
sched_wakeup(struct sched *s)
{
	if (!s->in_pump && s->h.wakeup)
		s->h.wakeup(s->arg);
}

void
sched_msg_maybe_free(struct sched *s, struct sched_msg *m)
{
	if (m->live > 0 || m->refs > 0)
		return;
	if (m->sprev)
		m->sprev->snext = m->snext;
	else
		s->msgs = m->snext;
	if (m->snext)
		m->snext->sprev = m->sprev;
	s->st.queue_msg--;
	msg_free(m);
}

/*
 * Deliver n events of one message to the owner. Final kinds make the
 * recipient DONE (before the hook, so it sees the final state); the message
 * may be freed afterwards, so callers must not touch it after this.
 */
void
sched_emit(struct sched *s, struct sched_event *ev, size_t n)
{
	struct sched_msg *m;

	if (n == 0)
		return;
	m = ev[0].rcpt->msg;
	for (size_t i = 0; i < n; i++) {
		struct sched_rcpt *r = ev[i].rcpt;
		if (ev[i].kind == SCHED_DEFERRED) {
			s->st.deferred_rcpt++;
			continue;
		}
		r->state = SCHED_RCPT_DONE;
		m->live--;
		s->st.queue_rcpt--;
		if (r->qm)
			r->qm->q->nrcpt--;
		if (ev[i].kind == SCHED_DELIVERED)
			s->st.out_rcpt++;
		else if (ev[i].kind == SCHED_BOUNCED)
			s->st.bounced_rcpt++;
		else
			s->st.expired_rcpt++;
	}
	m->refs++;
	if (s->emit_fn)
		s->emit_fn(s->emit_arg, ev, n);
	else
		s->h.outcome(s->arg, ev, n);
	m->refs--;
	sched_msg_maybe_free(s, m);
}

struct sched_qmsg *
sched_qmsg_get(struct sched_msg *m, struct sched_queue *q)
{
	struct sched_qmsg *qm;

	for (qm = m->qmsgs; qm; qm = qm->msg_next)
		if (qm->q == q)
			return qm;
	qm = xcalloc(1, sizeof(*qm));
	qm->msg = m;
	qm->q = q;
	qm->msg_next = m->qmsgs;
	m->qmsgs = qm;
	return qm;
}

void
sched_defer_rcpt(struct sched *s, struct sched_rcpt *r, int64_t when)
{
	if (sched_rcpt_must_hold(r)) {
		r->next_attempt = when;
		sched_rcpt_park(s, r);
		return;
	}
	r->state = SCHED_RCPT_DEFERRED;
	r->next_attempt = when;
	sched_heap_push(&s->heap, &r->timer, when * SHAPE_USEC);
	sched_wakeup(s);
}

static void
rcpt_bad_address(struct sched *s, struct sched_rcpt *r, int64_t now)
{
	struct sched_result res = {
		.code = 0, .status = "5.1.3",
		.diag = "bad recipient address syntax",
		.category = "bad-mailbox",
	};
	struct sched_event ev = {
		.kind = SCHED_BOUNCED, .rcpt = r, .res = &res,
		.status = "5.1.3", .now = now,
	};

	sched_emit(s, &ev, 1);
}

/* The (vmta, pool) a requested vmta/pool name maps to (select_vmta hook;
 * a pool picks a member); malloc'd, pool NULL when none. */
void
sched_vmta_select(struct sched *s, const char *req, char **vmta,
    char **pool)
{
	char v[256] = "", p[256] = "";

	if (s->h.select_vmta)
		s->h.select_vmta(s->arg, req, v, sizeof(v), p, sizeof(p));
	else if (req)
		strncpy(v, req, sizeof(v) - 1);
	*vmta = xstrdup(v[0] ? v : SCHED_DEFAULT_VMTA);
	*pool = p[0] ? xstrdup(p) : NULL;
}

/* Each recipient's (vmta, pool): the message's, or for a recipient with a
 * name of its own (rcpt-to pattern routing) one selection per distinct
 * name in this message, so a pool gives one member per name and message. */
static void
msg_rcpt_vmtas(struct sched *s, struct sched_msg *m,
    const struct sched_msg_in *in)
{
	struct { const char *req; uint32_t first; } *seen = NULL;
	size_t nseen = 0;

	for (uint32_t i = 0; i < m->nrcpt; i++) {
		const char *req = in->rcpts[i].vmta;
		struct sched_rcpt *r = &m->rcpts[i];
		size_t k;

		r->vmta = m->vmta;
		r->pool = m->pool;
		if (req == NULL || (in->vmta && strcmp(req, in->vmta) == 0) ||
		    in->rcpts[i].done)
			continue;
		for (k = 0; k < nseen && strcmp(seen[k].req, req) != 0; k++)
			;
		if (k < nseen) {
			r->vmta = m->rcpts[seen[k].first].vmta;
			r->pool = m->rcpts[seen[k].first].pool;
			continue;
		}
		seen = xreallocarray(seen, nseen + 1, sizeof(*seen));
		seen[nseen].req = req;
		seen[nseen++].first = i;
		m->xnames = xreallocarray(m->xnames, m->nxnames + 2,
		    sizeof(*m->xnames));
		sched_vmta_select(s, req, &m->xnames[m->nxnames],
		    &m->xnames[m->nxnames + 1]);
		r->vmta = m->xnames[m->nxnames];
		r->pool = m->xnames[m->nxnames + 1];
		m->nxnames += 2;
	}
	free(seen);
}

static struct sched_msg *
msg_copy(struct sched *s, const struct sched_msg_in *in)
{
	struct sched_msg *m = xcalloc(1, sizeof(*m));

	m->id = in->id;
	m->time_queued = in->time_queued;
	m->orig = xstrdup(in->orig ? in->orig : "");
	m->envid = dup_or_null(in->envid);
	sched_vmta_select(s, in->vmta, &m->vmta, &m->pool);
	m->job_id = dup_or_null(in->job_id);
	m->src_type = dup_or_null(in->src_type);
	m->src_mta = dup_or_null(in->src_mta);
	m->rcv_ip = dup_or_null(in->rcv_ip);
	m->auth_user = dup_or_null(in->auth_user);
	m->ret_full = in->ret_full != 0;
	m->datalen = in->datalen;
	m->nrcpt = (uint32_t)in->nrcpt;
	m->rcpts = xcalloc(in->nrcpt ? in->nrcpt : 1, sizeof(*m->rcpts));
	return m;
}

struct sched_queue *
sched_rcpt_queue(struct sched *s, const struct sched_rcpt *r,
    const char *vmta)
{
	const char *domain = sched_addr_domain(r->addr);
	const char *qd = NULL;

	if (domain == NULL || domain[0] == '\0')
		return NULL;
	if (s->h.queue_domain)
		qd = s->h.queue_domain(s->arg, domain, vmta);
	return sched_queue_get(s, qd ? qd : domain, vmta);
}

static void
rcpt_place(struct sched *s, struct sched_msg *m, struct sched_rcpt *r,
    int64_t now)
{
	struct sched_queue *q;

	if ((q = sched_rcpt_queue(s, r, r->vmta)) == NULL) {
		rcpt_bad_address(s, r, now);
		return;
	}
	if (r->pool && (q->pool == NULL || strcmp(q->pool, r->pool) != 0)) {
		free(q->pool);
		q->pool = xstrdup(r->pool);
	}
	r->qm = sched_qmsg_get(m, q);
	q->nrcpt++;
	if (r->next_attempt > now)
		sched_defer_rcpt(s, r, r->next_attempt);
	else
		sched_ready_push(r);
}

void
sched_msg_add(struct sched *s, const struct sched_msg_in *in, int64_t now)
{
	struct sched_msg *m = msg_copy(s, in);

	sched_clock(s, now);	/* placing may read the mode (reroute) */
	m->snext = s->msgs;
	if (s->msgs)
		s->msgs->sprev = m;
	s->msgs = m;
	s->st.queue_msg++;
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		struct sched_rcpt *r = &m->rcpts[i];
		r->msg = m;
		r->idx = i;
		r->timer.idx = SIZE_MAX;
		r->timer.kind = SCHED_TIMER_RCPT;
		r->state = SCHED_RCPT_DONE;
		if (in->rcpts[i].done)
			continue;
		r->addr = xstrdup(in->rcpts[i].addr);
		r->orcpt = dup_or_null(in->rcpts[i].orcpt);
		r->notify = in->rcpts[i].notify;
		r->attempts = in->rcpts[i].attempts;
		r->next_attempt = in->rcpts[i].next_attempt;
		r->state = SCHED_RCPT_READY;
		m->live++;
		s->st.queue_rcpt++;
	}
	msg_rcpt_vmtas(s, m, in);
	if (!in->recovered) {
		s->st.in_msg++;
		s->st.in_rcpt += m->live;
	}
	m->refs++;	/* placing may bounce recipients (and free m) */
	for (uint32_t i = 0; i < m->nrcpt; i++)
		if (m->rcpts[i].state == SCHED_RCPT_READY)
			rcpt_place(s, m, &m->rcpts[i], now);
	m->refs--;
	sched_msg_maybe_free(s, m);
}

/*
 * Report every ready recipient of q whose message was queued at or before
 * `queued_before` as final (kind: bounced or expired), in batches of one
 * message. conn may be NULL. Returns how many recipients were reported.
 */
size_t
sched_final_ready(struct sched_queue *q, struct sched_conn *c,
    enum sched_outcome kind, const struct sched_result *res,
    const char *status, int64_t queued_before, int64_t now)
{
	struct sched_qmsg *qm, *qnext;
	size_t total = 0;

	for (qm = q->rhead; qm; qm = qnext) {
		struct sched_msg *m = qm->msg;

		qnext = qm->qnext;
		if (m->time_queued > queued_before)
			continue;
		m->refs++;	/* keep qm alive across the hooks */
		while (qm->head) {
			struct sched_event ev[64];
			size_t n = 0;

			while (qm->head && n < 64) {
				struct sched_rcpt *r = qm->head;
				sched_ready_unlink(r);
				ev[n++] = (struct sched_event){
				    .kind = kind, .rcpt = r, .queue = q,
				    .conn = c, .res = res, .status = status,
				    .now = now };
			}
			sched_emit(q->s, ev, n);
			total += n;
		}
		m->refs--;
		sched_msg_maybe_free(q->s, m);
	}
	return total;
}

/* Bounce, as expired, every ready recipient of q whose message is past
 * bounce-after (used when the queue cannot be served at all). */
void
sched_expire_ready(struct sched_queue *q, int64_t now)
{
	struct sched_result res = { .code = 0, .status = "4.4.7",
	    .diag = q->last_error, .category = "message-expired" };

	(void)sched_final_ready(q, NULL, SCHED_EXPIRED, &res, "4.4.7",
	    now - q->p.bounce_after, now);
}

static void
timer_fire(struct sched *s, struct sched_timer *t, int64_t now)
{
	if (t->kind == SCHED_TIMER_QUEUE) {
		struct sched_queue *q = SCHED_CONTAINER(t, struct sched_queue,
		    timer);
		sched_queue_kick(q);
		return;
	}
	if (t->kind == SCHED_TIMER_PACE) {
		struct sched_queue *q = SCHED_CONTAINER(t, struct sched_queue,
		    pace);
		sched_queue_kick(q);
		return;
	}
	struct sched_rcpt *r = SCHED_CONTAINER(t, struct sched_rcpt, timer);
	struct sched_queue *q = r->qm->q;

	if (r->held) {
		sched_rcpt_held_fire(s, r, now);
		return;
	}
	if (now >= sched_expiry(&q->p, r->msg->time_queued)) {
		struct sched_result res = { .code = 0, .status = "4.4.7",
		    .diag = q->last_error, .category = "message-expired" };
		struct sched_event ev = { .kind = SCHED_EXPIRED, .rcpt = r,
		    .queue = q, .res = &res, .status = "4.4.7", .now = now };
		sched_emit(s, &ev, 1);
		return;
	}
	sched_ready_push(r);
}

void
sched_pump(struct sched *s, int64_t now)
{
	sched_pump_us(s, now * SHAPE_USEC);
}

void
sched_pump_us(struct sched *s, int64_t now_us)
{
	struct sched_timer *t;
	int64_t now;

	sched_clock_us(s, now_us);
	now = s->now_us / SHAPE_USEC;
	s->in_pump = 1;
	while ((t = sched_heap_pop_due(&s->heap, s->now_us)) != NULL)
		timer_fire(s, t, now);
	while (s->kick_head) {
		struct sched_queue *q = s->kick_head;
		s->kick_head = q->kick_next;
		if (s->kick_head == NULL)
			s->kick_tail = NULL;
		q->in_kick = 0;
		q->kick_next = NULL;
		sched_open_conns(q);
	}
	s->in_pump = 0;
}

int64_t
sched_next_timer(const struct sched *s)
{
	const struct sched_timer *t = sched_heap_top(&s->heap);

	return t ? (t->when + SHAPE_USEC - 1) / SHAPE_USEC : 0;
}

int64_t
sched_next_timer_us(const struct sched *s)
{
	const struct sched_timer *t = sched_heap_top(&s->heap);

	return t ? t->when : 0;
}

void
sched_stop(struct sched *s)
{
	s->stopping = 1;
	sched_idle_wake_all(s, 1);
}

void
sched_reload(struct sched *s)
{
	for (size_t i = 0; i < s->nqueues; i++) {
		struct sched_queue *q = s->queues[i];
		if (q->nidle > 0)
			sched_idle_wake_queue(q, 1);	/* new settings */
		sched_queue_params_load(q);
		sched_queue_kick(q);
	}
}

void
sched_get_stats(const struct sched *s, struct sched_stats *st)
{
	*st = s->st;
	st->domains = 0;
	for (size_t i = 0; i < s->nqueues; i++)
		if (s->queues[i]->nrcpt > 0)
			st->domains++;
	st->conns = (uint64_t)s->nconn;
}
