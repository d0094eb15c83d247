/*
 * test_sched_ctl.c -- operator control of the scheduler (sched_ctl.c):
 * the DOMAIN[/VMTA] wildcard matcher, and with fake hooks: pause/resume
 * of a job and of a queue (held recipients are handed to no connection),
 * schedule (retry now), list and delete ("deleted by administrator").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sched/sched.h"

#define NOW	1700000000

struct fake {
	struct sched_conn	*conns[16];
	int			 nconns;
	int			 nbounced;
	int			 nexpired;
	char			 status[16];
	char			 diag[64];
};

static void
fake_conn_open(void *arg, struct sched_conn *c)
{
	struct fake *f = arg;

	assert_true(f->nconns < 16);
	f->conns[f->nconns++] = c;
}

static void
fake_outcome(void *arg, const struct sched_event *ev, size_t n)
{
	struct fake *f = arg;

	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind == SCHED_EXPIRED)
			f->nexpired++;
		if (ev[i].kind != SCHED_BOUNCED)
			continue;
		f->nbounced++;
		snprintf(f->status, sizeof(f->status), "%s", ev[i].status);
		snprintf(f->diag, sizeof(f->diag), "%s", ev[i].res->diag);
	}
}

static const struct sched_hooks fake_hooks = {
	.conn_open = fake_conn_open, .outcome = fake_outcome,
};

static void
add_msg(struct sched *s, uint64_t id, const char *job, const char *rcpt,
    int64_t next_attempt)
{
	struct sched_rcpt_in r = { .addr = rcpt, .next_attempt = next_attempt,
	    .attempts = next_attempt ? 1 : 0 };
	struct sched_msg_in m = { .id = id, .time_queued = NOW,
	    .orig = "a@sender.test", .job_id = job, .nrcpt = 1, .rcpts = &r };

	sched_msg_add(s, &m, NOW);
}

/* Drain every open connection; returns the ids of the messages sent. */
static int
drain(struct sched *s, struct fake *f, uint64_t *ids, int max)
{
	int n = 0;

	sched_pump(s, NOW);
	for (int i = 0; i < f->nconns; i++) {
		const struct sched_batch *b;
		struct sched_result ok = { .code = 250 };
		while ((b = sched_conn_next(f->conns[i], NOW)) != NULL) {
			if (n < max)
				ids[n++] = b->msg->id;
			sched_conn_batch_fail(f->conns[i], &ok, NOW);
		}
		sched_conn_closed(f->conns[i], NOW);
	}
	f->nconns = 0;
	return n;
}

static void
test_spec_match(void **state)
{
	char d[64], v[64];

	(void)state;
	assert_int_equal(sched_ctl_spec_match("gmail.com/vmta1", "gmail.com",
	    "vmta1"), 1);
	assert_int_equal(sched_ctl_spec_match("GMail.COM/vmta1", "gmail.com",
	    "vmta1"), 1);
	assert_int_equal(sched_ctl_spec_match("gmail.com/vmta2", "gmail.com",
	    "vmta1"), 0);
	assert_int_equal(sched_ctl_spec_match("*/vmta1", "yahoo.com",
	    "vmta1"), 1);
	assert_int_equal(sched_ctl_spec_match("gmail.com/*", "gmail.com",
	    "{default}"), 1);
	assert_int_equal(sched_ctl_spec_match("gmail.com", "gmail.com",
	    "vmta9"), 1);	/* DOMAIN alone = DOMAIN/ * */
	assert_int_equal(sched_ctl_spec_match("*/*", "a.b", "c"), 1);
	assert_int_equal(sched_ctl_spec_match("*.example.com/*",
	    "mx.example.com", "v"), 1);
	assert_int_equal(sched_ctl_spec_match("*.example.com/*",
	    "example.com", "v"), 0);
	assert_int_equal(sched_ctl_spec_match("gmail.co?/v", "gmail.com",
	    "v"), 1);
	assert_int_equal(sched_ctl_spec_match("x.test/{default}", "x.test",
	    "{default}"), 1);
	/* invalid specs */
	assert_int_equal(sched_ctl_spec_match("", "a", "b"), -1);
	assert_int_equal(sched_ctl_spec_match("/vmta", "a", "vmta"), -1);
	assert_int_equal(sched_ctl_spec_match("a/", "a", "b"), -1);
	assert_int_equal(sched_ctl_spec_match("a/b/c", "a", "b"), -1);
	assert_int_equal(sched_ctl_spec_match("a b/c", "a b", "c"), -1);
	assert_int_equal(sched_ctl_spec_split("Ex.COM", d, sizeof(d), v,
	    sizeof(v)), 0);
	assert_string_equal(d, "ex.com");
	assert_string_equal(v, "*");
	assert_true(sched_ctl_spec_has_wildcard("*/v"));
	assert_true(sched_ctl_spec_has_wildcard("dom"));
	assert_false(sched_ctl_spec_has_wildcard("dom/v"));
}

static void
test_pause_job(void **state)
{
	struct fake f = { 0 };
	struct sched *s = sched_new(NULL, &fake_hooks, &f);
	struct sched_ctl *c = sched_ctl_new(s);
	uint64_t ids[8];

	(void)state;
	add_msg(s, 1, "j1", "a@x.test", 0);
	add_msg(s, 2, "j2", "b@x.test", 0);
	assert_int_equal(sched_ctl_pause_job(c, "j1", 1, NOW), 1);
	/* a message of the paused job arriving later is held too */
	add_msg(s, 3, "j1", "c@x.test", 0);
	assert_int_equal(drain(s, &f, ids, 8), 1);
	assert_int_equal(ids[0], 2);
	assert_int_equal(sched_ctl_pause_job(c, "nope", 0, NOW), -1);
	assert_int_equal(sched_ctl_pause_job(c, "j1", 0, NOW), 2);
	assert_int_equal(drain(s, &f, ids, 8), 2);
	sched_ctl_free(c);
	sched_free(s);
}

static void
test_pause_queue(void **state)
{
	struct fake f = { 0 };
	struct sched *s = sched_new(NULL, &fake_hooks, &f);
	struct sched_ctl *c = sched_ctl_new(s);
	uint64_t ids[8];
	long nrcpt;

	(void)state;
	add_msg(s, 1, NULL, "a@x.test", 0);
	add_msg(s, 2, NULL, "b@y.test", 0);
	assert_int_equal(sched_ctl_pause_queues(c, "x.test/{default}", 1, NOW,
	    &nrcpt), 1);
	assert_int_equal(nrcpt, 1);
	assert_int_equal(sched_ctl_pause_queues(c, "nomatch.test/v", 1, NOW,
	    &nrcpt), 0);
	assert_int_equal(sched_ctl_pause_queues(c, "bad/spec/x", 1, NOW,
	    &nrcpt), -1);
	assert_int_equal(drain(s, &f, ids, 8), 1);
	assert_int_equal(ids[0], 2);
	/* a wildcard pause also holds queues created later */
	assert_int_equal(sched_ctl_pause_queues(c, "*/{default}", 1, NOW,
	    &nrcpt), 2);
	add_msg(s, 3, NULL, "c@z.test", 0);
	assert_int_equal(drain(s, &f, ids, 8), 0);
	assert_int_equal(sched_ctl_pause_queues(c, "*/*", 0, NOW, &nrcpt), 3);
	assert_int_equal(drain(s, &f, ids, 8), 2);
	sched_ctl_free(c);
	sched_free(s);
}

/* A connection open when its queue is paused takes nothing more. */
static void
test_pause_stops_open_conn(void **state)
{
	struct fake f = { 0 };
	struct sched *s = sched_new(NULL, &fake_hooks, &f);
	struct sched_ctl *c = sched_ctl_new(s);
	struct sched_result ok = { .code = 250 };
	const struct sched_batch *b;
	uint64_t ids[8];
	long nrcpt;

	(void)state;
	add_msg(s, 1, NULL, "a@x.test", 0);
	add_msg(s, 2, NULL, "b@x.test", 0);
	sched_pump(s, NOW);
	assert_int_equal(f.nconns, 2);	/* one per ready message */
	b = sched_conn_next(f.conns[0], NOW);
	assert_non_null(b);
	assert_int_equal(sched_ctl_pause_queues(c, "x.test/{default}", 1,
	    NOW, &nrcpt), 1);
	assert_int_equal(nrcpt, 1);
	sched_conn_batch_fail(f.conns[0], &ok, NOW);
	assert_null(sched_conn_next(f.conns[0], NOW));
	assert_null(sched_conn_next(f.conns[1], NOW));	/* still starting */
	sched_conn_closed(f.conns[0], NOW);
	sched_conn_closed(f.conns[1], NOW);
	f.nconns = 0;
	assert_int_equal(drain(s, &f, ids, 8), 0);
	assert_int_equal(sched_ctl_pause_queues(c, "x.test", 0, NOW, &nrcpt),
	    1);
	assert_int_equal(drain(s, &f, ids, 8), 1);
	assert_int_equal(ids[0], 2);
	sched_ctl_free(c);
	sched_free(s);
}

/* The race the hooks-only hold had: a recipient arriving while a
 * connection of its (paused) queue is still starting, in the same loop
 * turn, before any sweep; and a paused job's message arriving while a
 * connection of its queue is open. The core's hold check stops both. */
static void
test_hold_race_same_turn(void **state)
{
	struct fake f = { 0 };
	struct sched *s = sched_new(NULL, &fake_hooks, &f);
	struct sched_ctl *c = sched_ctl_new(s);
	const struct sched_batch *b;
	struct sched_result ok = { .code = 250 };
	long nrcpt;

	(void)state;
	add_msg(s, 1, NULL, "a@x.test", 0);
	sched_pump(s, NOW);
	assert_int_equal(f.nconns, 1);		/* starting, no batch yet */
	assert_int_equal(sched_ctl_pause_queues(c, "x.test/{default}", 1,
	    NOW, &nrcpt), 1);
	add_msg(s, 2, NULL, "b@x.test", 0);	/* same turn, no pump */
	assert_null(sched_conn_next(f.conns[0], NOW));
	sched_conn_closed(f.conns[0], NOW);
	f.nconns = 0;
	sched_pump(s, NOW);
	assert_int_equal(f.nconns, 0);
	assert_int_equal(sched_ctl_pause_queues(c, "x.test", 0, NOW, &nrcpt),
	    1);
	assert_int_equal(nrcpt, 2);

	/* job paused before its first message; a connection is open */
	assert_int_equal(sched_ctl_pause_job(c, "j9", 1, NOW), 0);
	sched_pump(s, NOW);
	assert_true(f.nconns >= 1);
	add_msg(s, 3, "j9", "c@x.test", 0);
	for (int i = 0; i < f.nconns; i++) {
		while ((b = sched_conn_next(f.conns[i], NOW)) != NULL) {
			assert_true(b->msg->id == 1 || b->msg->id == 2);
			sched_conn_batch_fail(f.conns[i], &ok, NOW);
		}
		sched_conn_closed(f.conns[i], NOW);
	}
	f.nconns = 0;
	sched_pump(s, NOW);
	assert_int_equal(f.nconns, 0);		/* only the held one left */
	assert_int_equal(sched_ctl_pause_job(c, "j9", 0, NOW), 1);
	sched_pump(s, NOW);
	assert_int_equal(f.nconns, 1);
	b = sched_conn_next(f.conns[0], NOW);
	assert_non_null(b);
	assert_int_equal(b->msg->id, 3);
	sched_conn_batch_fail(f.conns[0], &ok, NOW);
	sched_conn_closed(f.conns[0], NOW);
	sched_ctl_free(c);
	sched_free(s);
}

/* Held recipients (paused queue, paused job, deferred then held) still
 * expire at bounce-after (4d12h by default), and not before. */
static void
test_held_expire(void **state)
{
	struct fake f = { 0 };
	struct sched *s = sched_new(NULL, &fake_hooks, &f);
	struct sched_ctl *c = sched_ctl_new(s);
	int64_t exp = NOW + 4 * 86400 + 12 * 3600;
	struct sched_stats st;
	long nrcpt;

	(void)state;
	add_msg(s, 1, NULL, "a@x.test", 0);
	add_msg(s, 2, NULL, "b@x.test", NOW + 600);	/* deferred */
	add_msg(s, 3, "j1", "c@y.test", 0);
	assert_int_equal(sched_ctl_pause_queues(c, "x.test", 1, NOW, &nrcpt),
	    1);
	assert_int_equal(nrcpt, 2);
	assert_int_equal(sched_ctl_pause_job(c, "j1", 1, NOW), 1);
	sched_pump(s, NOW + 601);
	sched_pump(s, exp - 1);
	assert_int_equal(f.nconns, 0);
	assert_int_equal(f.nexpired, 0);
	sched_pump(s, exp);
	assert_int_equal(f.nexpired, 3);
	assert_int_equal(f.nconns, 0);
	sched_get_stats(s, &st);
	assert_int_equal(st.queue_rcpt, 0);
	assert_int_equal(st.expired_rcpt, 3);
	sched_ctl_free(c);
	sched_free(s);
}

/* Resume releases held recipients oldest message first (FIFO kept). */
static void
test_resume_fifo(void **state)
{
	struct fake f = { 0 };
	struct sched *s = sched_new(NULL, &fake_hooks, &f);
	struct sched_ctl *c = sched_ctl_new(s);
	uint64_t ids[8];
	long nrcpt;

	(void)state;
	assert_int_equal(sched_ctl_pause_queues(c, "x.test/*", 1, NOW,
	    &nrcpt), 0);		/* a rule: the queue does not exist */
	add_msg(s, 1, NULL, "a@x.test", 0);
	add_msg(s, 2, NULL, "b@x.test", 0);
	add_msg(s, 3, NULL, "c@x.test", 0);
	assert_int_equal(drain(s, &f, ids, 8), 0);
	assert_int_equal(sched_ctl_pause_queues(c, "x.test/*", 0, NOW,
	    &nrcpt), 1);
	assert_int_equal(nrcpt, 3);
	/* one connection per message: they take them in queue order */
	assert_int_equal(drain(s, &f, ids, 8), 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 3);
	sched_ctl_free(c);
	sched_free(s);
}

struct list_rec {
	int	n;
	char	state[8][16];
};

static void
list_cb(const struct sched_ctl_item *it, void *arg)
{
	struct list_rec *l = arg;

	snprintf(l->state[l->n++], sizeof(l->state[0]), "%s", it->state);
}

static void
test_schedule_list_delete(void **state)
{
	struct fake f = { 0 };
	struct sched *s = sched_new(NULL, &fake_hooks, &f);
	struct sched_ctl *c = sched_ctl_new(s);
	struct sched_ctl_sel all = { NULL, NULL }, job = { NULL, "j9" };
	struct sched_result res = { .status = "5.0.0",
	    .diag = "deleted by administrator", .category = "other" };
	struct list_rec l = { 0 };
	uint64_t ids[8];
	size_t n, inflight;

	(void)state;
	add_msg(s, 1, NULL, "a@x.test", NOW + 3600);	/* deferred */
	add_msg(s, 2, "j9", "b@x.test", NOW + 3600);
	add_msg(s, 3, "j9", "c@x.test", 0);
	assert_int_equal(sched_ctl_list(c, &all, 2, list_cb, &l), 3);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.state[0], "deferred");
	n = sched_ctl_delete(c, &job, &res, NOW, NULL, NULL, &inflight);
	assert_int_equal(n, 2);
	assert_int_equal(inflight, 0);
	assert_int_equal(f.nbounced, 2);
	assert_string_equal(f.status, "5.0.0");
	assert_string_equal(f.diag, "deleted by administrator");
	assert_int_equal(drain(s, &f, ids, 8), 0);	/* a@ still waits */
	assert_int_equal(sched_ctl_schedule(c, "x.test", NOW, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(drain(s, &f, ids, 8), 1);
	assert_int_equal(ids[0], 1);
	sched_ctl_free(c);
	sched_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_match),
		cmocka_unit_test(test_pause_job),
		cmocka_unit_test(test_pause_queue),
		cmocka_unit_test(test_pause_stops_open_conn),
		cmocka_unit_test(test_hold_race_same_turn),
		cmocka_unit_test(test_held_expire),
		cmocka_unit_test(test_resume_fifo),
		cmocka_unit_test(test_schedule_list_delete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
