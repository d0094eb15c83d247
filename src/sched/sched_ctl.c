/*
 * sched_ctl.c -- operator control of the scheduler core: pause/resume of
 * queues (with wildcards) and jobs, "schedule" (retry now), delete, list,
 * and `set queue --mode=backoff|normal` (the queue's shape_queue).
 *
 * Owned by the control helper (the rest of src/sched belongs to the core's
 * owner); it reads the core's internals (sched_int.h) and changes state
 * only through the core's own primitives (ready lists, heap, sched_emit).
 *
 * Queue specs are PowerMTA's "DOMAIN[/VMTA]" with fnmatch(3) wildcards in
 * either part, compared case-insensitively; DOMAIN alone means DOMAIN/ *.
 * A pause whose spec has a wildcard is also remembered as a rule, so queues
 * created later that match it start paused (noticed through the wrapped
 * queue_params hook, applied at the next sweep or connection request,
 * before any connection opens); resume drops the rules it covers, and a
 * queue resumed by name stays resumed.
 *
 * Holding: the ready and deferred recipients of a paused queue or a paused
 * job are "held": parked in the timer heap at SCHED_CTL_HOLD_WHEN (far
 * future; r->next_attempt keeps the real retry time, 0 for recipients that
 * were ready), so every live recipient is still in exactly one of the
 * core's places, and connections already open for a paused queue find
 * nothing more to take (they finish their current transaction and quit).
 * Recipients that turn up later (new messages, deferrals) are held by
 * sweeps run from wrapped core hooks: the owner's wakeup (through `arm`,
 * which asks the owner to call sched_ctl_sweep soon), conn_open and
 * outcome. A held recipient does not expire while held. Resume releases
 * held recipients unless their other hold reason (job/queue) remains.
 * Known gap: the core has no hook between a recipient becoming ready and
 * sched_conn_next(), so a recipient that arrives while its queue already
 * has a pump pending, and is taken by a still-starting connection before
 * the owner runs the armed sweep, can go out. A `held` check in the
 * core's batch_take()/rcpt_place() would close it (reported upstream).
 *
 * Invariants: the wrapped hooks forward to the owner's originals with the
 * owner's arg; sched_ctl_free restores them. One ctl per sched.
 */
#include <sys/types.h>

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"
#include "sched/sched_int.h"

struct sched_ctl {
	struct sched		*s;
	struct sched_hooks	 orig;
	void			(*arm)(void *);
	void			*arm_arg;
	char			**jobs;		/* paused job ids */
	size_t			 njobs;
	char			**rules;	/* wildcard pause specs */
	size_t			 nrules;
	size_t			 npaused;	/* paused queues */
	char			**pending;	/* new queues a rule pauses */
	size_t			 npending;
	uint64_t		 seen_id;	/* msgs <= seen were swept */
	void			(*emit)(void *, const struct sched_event *,
				    size_t);
	void			*emit_arg;
	struct sched_ctl	*next;		/* registry */
};

static struct sched_ctl *ctl_registry;

/* --- specs --- */

int
sched_ctl_spec_split(const char *spec, char *dom, size_t dlen, char *vmta,
    size_t vlen)
{
	const char *slash;
	size_t n;

	if (spec == NULL || spec[0] == '\0' || strlen(spec) > SCHED_NAME_MAX)
		return -1;
	for (const char *p = spec; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -1;
	slash = strchr(spec, '/');
	n = slash ? (size_t)(slash - spec) : strlen(spec);
	if (n == 0 || n >= dlen)
		return -1;
	memcpy(dom, spec, n);
	dom[n] = '\0';
	for (char *p = dom; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (slash == NULL) {
		if (vlen < 2)
			return -1;
		strcpy(vmta, "*");
		return 0;
	}
	slash++;
	if (*slash == '\0' || strchr(slash, '/') || strlen(slash) >= vlen)
		return -1;
	strcpy(vmta, slash);
	return 0;
}

int
sched_ctl_spec_has_wildcard(const char *spec)
{
	return strpbrk(spec, "*?[") != NULL || strchr(spec, '/') == NULL;
}

int
sched_ctl_spec_match(const char *spec, const char *domain, const char *vmta)
{
	char d[SCHED_NAME_MAX + 1], v[SCHED_NAME_MAX + 1];

	if (sched_ctl_spec_split(spec, d, sizeof(d), v, sizeof(v)) == -1)
		return -1;
	return fnmatch(d, domain, FNM_CASEFOLD) == 0 &&
	    fnmatch(v, vmta, FNM_CASEFOLD) == 0;
}

/* Does pause rule `rule` fall under resume spec `spec` (both valid)? */
static int
spec_covers(const char *spec, const char *rule)
{
	char sd[SCHED_NAME_MAX + 1], sv[SCHED_NAME_MAX + 1];
	char rd[SCHED_NAME_MAX + 1], rv[SCHED_NAME_MAX + 1];

	if (sched_ctl_spec_split(spec, sd, sizeof(sd), sv, sizeof(sv)) == -1 ||
	    sched_ctl_spec_split(rule, rd, sizeof(rd), rv, sizeof(rv)) == -1)
		return 0;
	return fnmatch(sd, rd, FNM_CASEFOLD) == 0 &&
	    fnmatch(sv, rv, FNM_CASEFOLD) == 0;
}

static int
queue_matches(const struct sched_queue *q, const char *spec)
{
	return spec == NULL ||
	    sched_ctl_spec_match(spec, q->domain, q->vmta) == 1;
}

/* --- string sets --- */

static ssize_t
set_find(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (ssize_t)i;
	return -1;
}

static void
set_add(char ***v, size_t *n, const char *s)
{
	if (set_find(*v, *n, s) >= 0)
		return;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static void
set_del_at(char **v, size_t *n, size_t i)
{
	free(v[i]);
	v[i] = v[--*n];
}

static void
set_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- holding recipients of paused jobs --- */

static int
rcpt_held(const struct sched_rcpt *r)
{
	return r->state == SCHED_RCPT_DEFERRED &&
	    r->timer.idx != SIZE_MAX && r->timer.when == SCHED_CTL_HOLD_WHEN;
}

static int
job_paused(const struct sched_ctl *c, const struct sched_msg *m)
{
	return c->njobs && m->job_id &&
	    set_find(c->jobs, c->njobs, m->job_id) >= 0;
}

static int
must_hold(const struct sched_ctl *c, const struct sched_rcpt *r)
{
	return r->qm && (r->qm->q->paused || job_paused(c, r->msg));
}

static int
holding(const struct sched_ctl *c)
{
	return c->njobs > 0 || c->npaused > 0;
}

static void
count_paused(struct sched_ctl *c)
{
	c->npaused = 0;
	for (size_t i = 0; i < c->s->nqueues; i++)
		c->npaused += c->s->queues[i]->paused != 0;
}

/* Hold r if it is ready or waiting for a retry. Returns 1 if held now. */
static int
rcpt_hold(struct sched_ctl *c, struct sched_rcpt *r)
{
	if (r->qm == NULL || rcpt_held(r))
		return 0;
	if (r->state == SCHED_RCPT_READY) {
		sched_ready_unlink(r);
		r->next_attempt = 0;
	} else if (r->state == SCHED_RCPT_DEFERRED) {
		sched_heap_remove(&c->s->heap, &r->timer);
	} else {
		return 0;
	}
	r->state = SCHED_RCPT_DEFERRED;
	sched_heap_push(&c->s->heap, &r->timer, SCHED_CTL_HOLD_WHEN);
	return 1;
}

static size_t
msg_hold(struct sched_ctl *c, struct sched_msg *m)
{
	size_t n = 0;

	for (uint32_t i = 0; i < m->nrcpt; i++)
		if (must_hold(c, &m->rcpts[i]))
			n += (size_t)rcpt_hold(c, &m->rcpts[i]);
	return n;
}

static void
rcpt_release(struct sched_ctl *c, struct sched_rcpt *r, int64_t now)
{
	sched_heap_remove(&c->s->heap, &r->timer);
	if (r->next_attempt > now)
		sched_defer_rcpt(c->s, r, r->next_attempt);
	else
		sched_ready_push(r);
}

/* A message whose recipients are still being placed by sched_msg_add. */
static int
msg_incomplete(const struct sched_msg *m)
{
	for (uint32_t i = 0; i < m->nrcpt; i++)
		if (m->rcpts[i].state == SCHED_RCPT_READY &&
		    m->rcpts[i].qm == NULL)
			return 1;
	return 0;
}

static void
apply_pending(struct sched_ctl *c)
{
	while (c->npending > 0) {
		struct sched_queue *q = sched_queue_find(c->s,
		    c->pending[c->npending - 1]);
		if (q && !q->paused) {
			q->paused = 1;
			c->npaused++;
			c->seen_id = 0;		/* hold what it has */
		}
		set_del_at(c->pending, &c->npending, c->npending - 1);
	}
}

void
sched_ctl_sweep(struct sched_ctl *c)
{
	uint64_t top;
	int incomplete = 0;

	apply_pending(c);
	top = c->seen_id;
	if (!holding(c))
		return;
	for (struct sched_msg *m = c->s->msgs; m && m->id > c->seen_id;
	    m = m->snext) {
		if (msg_incomplete(m)) {
			incomplete = 1;
			continue;
		}
		if (m->id > top)
			top = m->id;
		(void)msg_hold(c, m);
	}
	if (!incomplete)
		c->seen_id = top;
}

/* --- wrapped hooks --- */

static struct sched_ctl *
ctl_of(void *arg)
{
	for (struct sched_ctl *c = ctl_registry; c; c = c->next)
		if (c->s->arg == arg)
			return c;
	return NULL;
}

static void
w_wakeup(void *arg)
{
	struct sched_ctl *c = ctl_of(arg);

	if (c && holding(c) && c->arm)
		c->arm(c->arm_arg);
	if (c && c->orig.wakeup)
		c->orig.wakeup(arg);
}

static int
rule_paused(const struct sched_ctl *c, const char *domain, const char *vmta)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (sched_ctl_spec_match(c->rules[i], domain, vmta) == 1)
			return 1;
	return 0;
}

/* Queue creation (not a reload: the queue does not exist yet). */
static void
w_queue_params(void *arg, const char *domain, const char *vmta,
    struct sched_queue_params *out)
{
	struct sched_ctl *c = ctl_of(arg);
	char name[SCHED_NAME_MAX + 1];

	if (c && c->orig.queue_params)
		c->orig.queue_params(arg, domain, vmta, out);
	if (c == NULL || c->nrules == 0 || !rule_paused(c, domain, vmta) ||
	    sched_queue_name_format(name, sizeof(name), domain, vmta) == -1 ||
	    sched_queue_find(c->s, name) != NULL)
		return;
	set_add(&c->pending, &c->npending, name);
}

static void
w_conn_open(void *arg, struct sched_conn *conn)
{
	struct sched_ctl *c = ctl_of(arg);
	struct sched_queue *q = conn->queue;

	if (c == NULL)
		return;
	sched_ctl_sweep(c);
	/* conn is counted in nstarting: drop it if the queue no longer
	 * wants it (paused, or its ready work was held). */
	if (q->paused || q->nready_qm < (size_t)q->nstarting) {
		sched_conn_closed(conn, 0);
		return;
	}
	c->orig.conn_open(arg, conn);
}

static void
w_outcome(void *arg, const struct sched_event *ev, size_t n)
{
	struct sched_ctl *c = ctl_of(arg);

	if (c == NULL)
		return;
	if (c->emit)
		c->emit(c->emit_arg, ev, n);
	else
		c->orig.outcome(arg, ev, n);
	if (!holding(c))
		return;
	for (size_t i = 0; i < n; i++)
		if (ev[i].kind == SCHED_DEFERRED && must_hold(c, ev[i].rcpt))
			(void)rcpt_hold(c, ev[i].rcpt);
	sched_ctl_sweep(c);
}

struct sched_ctl *
sched_ctl_new(struct sched *s, void (*arm)(void *), void *arm_arg)
{
	struct sched_ctl *c = xcalloc(1, sizeof(*c));

	c->s = s;
	c->orig = s->h;
	c->arm = arm;
	c->arm_arg = arm_arg;
	s->h.wakeup = w_wakeup;
	s->h.conn_open = w_conn_open;
	s->h.outcome = w_outcome;
	s->h.queue_params = w_queue_params;
	c->next = ctl_registry;
	ctl_registry = c;
	return c;
}

void
sched_ctl_free(struct sched_ctl *c)
{
	struct sched_ctl **pp;

	if (c == NULL)
		return;
	for (pp = &ctl_registry; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->s->h.wakeup = c->orig.wakeup;
	c->s->h.conn_open = c->orig.conn_open;
	c->s->h.outcome = c->orig.outcome;
	c->s->h.queue_params = c->orig.queue_params;
	set_free(c->jobs, c->njobs);
	set_free(c->pending, c->npending);
	set_free(c->rules, c->nrules);
	free(c);
}

/* --- pause / resume --- */

/* After a pause/resume: hold (pause) or release (resume) the recipients
 * of every message that `affected` selects. Returns how many moved. */
static long
apply_holds(struct sched_ctl *c, int pause, const char *spec,
    const char *job, int64_t now)
{
	long n = 0;

	for (struct sched_msg *m = c->s->msgs; m; m = m->snext) {
		if ((job && (m->job_id == NULL || strcmp(m->job_id, job))) ||
		    msg_incomplete(m))
			continue;
		for (uint32_t i = 0; i < m->nrcpt; i++) {
			struct sched_rcpt *r = &m->rcpts[i];
			if (r->qm == NULL || !queue_matches(r->qm->q, spec))
				continue;
			if (pause && must_hold(c, r))
				n += rcpt_hold(c, r);
			else if (!pause && rcpt_held(r) && !must_hold(c, r)) {
				rcpt_release(c, r, now);
				n++;
			}
		}
	}
	c->seen_id = 0;
	sched_ctl_sweep(c);
	return n;
}

long
sched_ctl_pause_queues(struct sched_ctl *c, const char *spec, int pause,
    int64_t now, long *nrcpt)
{
	struct sched *s = c->s;
	long n = 0;

	*nrcpt = 0;
	if (sched_ctl_spec_match(spec, "x", "x") == -1)
		return -1;
	for (size_t i = 0; i < s->nqueues; i++) {
		if (!queue_matches(s->queues[i], spec))
			continue;
		sched_queue_set_pause(s->queues[i], pause);
		n++;
	}
	if (pause && sched_ctl_spec_has_wildcard(spec))
		set_add(&c->rules, &c->nrules, spec);
	for (size_t i = 0; !pause && i < c->nrules; )
		if (spec_covers(spec, c->rules[i]))
			set_del_at(c->rules, &c->nrules, i);
		else
			i++;
	count_paused(c);
	if (n > 0)
		*nrcpt = apply_holds(c, pause, spec, NULL, now);
	return n;
}

long
sched_ctl_pause_job(struct sched_ctl *c, const char *job, int pause,
    int64_t now)
{
	ssize_t at = set_find(c->jobs, c->njobs, job);

	if (!pause && at < 0)
		return -1;
	if (pause)
		set_add(&c->jobs, &c->njobs, job);
	else
		set_del_at(c->jobs, &c->njobs, (size_t)at);
	return apply_holds(c, pause, NULL, job, now);
}

size_t
sched_ctl_paused_jobs(const struct sched_ctl *c, const char *const **jobs)
{
	*jobs = (const char *const *)c->jobs;
	return c->njobs;
}

/* --- schedule (retry now) --- */

long
sched_ctl_schedule(struct sched_ctl *c, const char *spec, int64_t now,
    size_t *nrcpt)
{
	struct sched *s = c->s;
	long nq = 0;

	(void)now;
	*nrcpt = 0;
	if (sched_ctl_spec_match(spec, "x", "x") == -1)
		return -1;
	for (size_t i = 0; i < s->nqueues; i++) {
		struct sched_queue *q = s->queues[i];
		if (!queue_matches(q, spec))
			continue;
		nq++;
		if (q->timer.idx != SIZE_MAX)
			sched_heap_remove(&s->heap, &q->timer);
		sched_queue_kick(q);
	}
	for (struct sched_msg *m = s->msgs; m && nq; m = m->snext) {
		for (uint32_t i = 0; i < m->nrcpt; i++) {
			struct sched_rcpt *r = &m->rcpts[i];
			if (r->state != SCHED_RCPT_DEFERRED || rcpt_held(r) ||
			    r->qm == NULL || !queue_matches(r->qm->q, spec))
				continue;
			sched_heap_remove(&s->heap, &r->timer);
			sched_ready_push(r);
			(*nrcpt)++;
		}
	}
	return nq;
}

/* --- operator backoff mode --- */

long
sched_ctl_set_mode(struct sched_ctl *c, const char *spec, int backoff,
    int64_t now, long *nshaped)
{
	struct sched *s = c->s;
	int64_t now_us = sched_clock(s, now);
	long n = 0;

	*nshaped = 0;
	if (sched_ctl_spec_match(spec, "x", "x") == -1)
		return -1;
	for (size_t i = 0; i < s->nqueues; i++) {
		struct sched_queue *q = s->queues[i];
		if (!queue_matches(q, spec))
			continue;
		n++;
		if (!q->shaped || q->p.dom == NULL)
			continue;
		shape_queue_set_mode(&q->sq, q->p.dom, backoff, now_us);
		(*nshaped)++;
		sched_queue_kick(q);
	}
	return n;
}

/* --- list and delete --- */

static int
rcpt_selected(const struct sched_rcpt *r, const struct sched_ctl_sel *sel)
{
	const struct sched_msg *m = r->msg;

	if (r->state == SCHED_RCPT_DONE || r->qm == NULL)
		return 0;
	if (sel->job && (m->job_id == NULL || strcmp(sel->job, m->job_id)))
		return 0;
	return queue_matches(r->qm->q, sel->queue);
}

static const char *
rcpt_state_name(const struct sched_rcpt *r)
{
	if (rcpt_held(r))
		return "held";
	switch (r->state) {
	case SCHED_RCPT_READY:
		return "ready";
	case SCHED_RCPT_DEFERRED:
		return "deferred";
	case SCHED_RCPT_INFLIGHT:
		return "inflight";
	default:
		return "done";
	}
}

int
sched_ctl_sel_check(const struct sched_ctl_sel *sel)
{
	if (sel->queue && sched_ctl_spec_match(sel->queue, "x", "x") == -1)
		return -1;
	if (sel->job && sel->job[0] == '\0')
		return -1;
	return 0;
}

size_t
sched_ctl_list(struct sched_ctl *c, const struct sched_ctl_sel *sel,
    size_t max, void (*cb)(const struct sched_ctl_item *, void *), void *arg)
{
	struct sched_msg *m = c->s->msgs;
	size_t n = 0;

	while (m && m->snext)		/* oldest first */
		m = m->snext;
	for (; m; m = m->sprev) {
		for (uint32_t i = 0; i < m->nrcpt; i++) {
			const struct sched_rcpt *r = &m->rcpts[i];
			if (!rcpt_selected(r, sel))
				continue;
			if (n++ >= max)
				continue;
			struct sched_ctl_item it = { .rcpt = r->addr,
			    .orig = m->orig, .job_id = m->job_id,
			    .queue = r->qm->q->name,
			    .state = rcpt_state_name(r), .msg_id = m->id,
			    .attempts = r->attempts,
			    .next_attempt = r->state == SCHED_RCPT_DEFERRED ?
			    r->next_attempt : 0,
			    .time_queued = m->time_queued };
			cb(&it, arg);
		}
	}
	return n;
}

/* Take r out of the ready list or the heap for deletion; 0 if in flight. */
static int
rcpt_take(struct sched_ctl *c, struct sched_rcpt *r)
{
	if (r->state == SCHED_RCPT_READY) {
		sched_ready_unlink(r);
		return 1;
	}
	if (r->state == SCHED_RCPT_DEFERRED) {
		sched_heap_remove(&c->s->heap, &r->timer);
		return 1;
	}
	return 0;
}

static size_t
msg_delete(struct sched_ctl *c, struct sched_msg *m,
    const struct sched_ctl_sel *sel, const struct sched_result *res,
    int64_t now, size_t *inflight)
{
	struct sched_event ev[64];
	size_t n = 0, total = 0;

	for (uint32_t i = 0; i < m->nrcpt; i++) {
		struct sched_rcpt *r = &m->rcpts[i];
		if (!rcpt_selected(r, sel))
			continue;
		if (!rcpt_take(c, r)) {
			(*inflight)++;
			continue;
		}
		ev[n++] = (struct sched_event){ .kind = SCHED_BOUNCED,
		    .rcpt = r, .queue = r->qm->q, .res = res,
		    .status = res->status, .now = now };
		if (n == 64) {
			sched_emit(c->s, ev, n);
			total += n;
			n = 0;
		}
	}
	sched_emit(c->s, ev, n);
	return total + n;
}

size_t
sched_ctl_delete(struct sched_ctl *c, const struct sched_ctl_sel *sel,
    const struct sched_result *res, int64_t now,
    void (*emit)(void *, const struct sched_event *, size_t), void *arg,
    size_t *inflight)
{
	struct sched *s = c->s;
	struct sched_msg *m, *next;
	size_t n = 0;

	*inflight = 0;
	c->emit = emit;
	c->emit_arg = arg;
	for (m = s->msgs; m; m = next) {
		m->refs++;
		n += msg_delete(c, m, sel, res, now, inflight);
		next = m->snext;
		m->refs--;
		sched_msg_maybe_free(s, m);
	}
	c->emit = NULL;
	c->emit_arg = NULL;
	return n;
}
