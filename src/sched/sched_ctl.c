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
 * Holding is done by the core (sched_hold.c): this file decides what is
 * paused (queues, wildcard rules for queues created later, jobs) and asks
 * the core to hold or release what is already queued; the core holds
 * whatever arrives or is deferred later (sched_ctl_msg_held,
 * sched_ctl_rule_paused) and checks the hold in its transaction hand-out,
 * so no recipient of a paused queue or job is ever handed out. Resume
 * releases held recipients unless their other hold reason (job/queue)
 * remains.
 *
 * Invariants: one ctl per sched (s->ctl); sched_ctl_free detaches it.
 */
#include <sys/types.h>

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched_int.h"

struct sched_ctl {
	struct sched		*s;
	char			**jobs;		/* paused job ids */
	size_t			 njobs;
	char			**rules;	/* wildcard pause specs */
	size_t			 nrules;
};

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

/* --- what is held (asked by the core) --- */

int
sched_ctl_msg_held(const struct sched_ctl *c, const struct sched_msg *m)
{
	return c->njobs && m->job_id &&
	    set_find(c->jobs, c->njobs, m->job_id) >= 0;
}

int
sched_ctl_rule_paused(const struct sched_ctl *c, const char *domain,
    const char *vmta)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (sched_ctl_spec_match(c->rules[i], domain, vmta) == 1)
			return 1;
	return 0;
}

struct sched_ctl *
sched_ctl_new(struct sched *s)
{
	struct sched_ctl *c = xcalloc(1, sizeof(*c));

	if (s->ctl != NULL)
		fatalx("%s: one sched_ctl per scheduler", __func__);
	c->s = s;
	s->ctl = c;
	return c;
}

void
sched_ctl_free(struct sched_ctl *c)
{
	if (c == NULL)
		return;
	if (c->s->ctl == c)
		c->s->ctl = NULL;
	set_free(c->jobs, c->njobs);
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
	struct sched_msg *m = c->s->msgs;
	long n = 0;

	while (m && m->snext)		/* oldest first: resume keeps FIFO */
		m = m->snext;
	for (; m; m = m->sprev) {
		if (job && (m->job_id == NULL || strcmp(m->job_id, job)))
			continue;
		for (uint32_t i = 0; i < m->nrcpt; i++) {
			struct sched_rcpt *r = &m->rcpts[i];
			if (r->qm == NULL || !queue_matches(r->qm->q, spec))
				continue;
			if (pause && sched_rcpt_must_hold(r))
				n += sched_rcpt_hold(c->s, r);
			else if (!pause && r->held &&
			    !sched_rcpt_must_hold(r)) {
				sched_rcpt_unhold(c->s, r, now);
				n++;
			}
		}
	}
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
			if (r->state != SCHED_RCPT_DEFERRED || r->held ||
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
	if (r->held)
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
		r->held = 0;
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
	s->emit_fn = emit;
	s->emit_arg = arg;
	for (m = s->msgs; m; m = next) {
		m->refs++;
		n += msg_delete(c, m, sel, res, now, inflight);
		next = m->snext;
		m->refs--;
		sched_msg_maybe_free(s, m);
	}
	s->emit_fn = NULL;
	s->emit_arg = NULL;
	return n;
}
