/*
 * test_sched_shape.c -- the scheduler core with shaping (issue #4): queues
 * whose params carry a <domain> from a real config (conf_load_string):
 * max-msg-rate pacing of transactions on a microsecond clock, backoff mode
 * limits and retry, vmta max-smtp-out across queues, pool max-smtp-out
 * and max-smtp-msg-rate across member vmtas, fair hand-over of
 * global slots (total-max-smtp-out), MX rollup re-routing and the
 * queue_domain hook, the string map used for rollups, and pacer tokens
 * charged only for recipients really handed out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "sched/sched.h"
#include "shape/shape.h"

#define MAXC 64
#define US SHAPE_USEC
#define T0 ((int64_t)1700000000)

struct fake {
	struct conf		*conf;
	struct sched_conn	*conns[MAXC];
	int			 nconns;
	int			 ndone;
	int64_t			 last_retry;	/* next_attempt of a deferral */
	struct sched_map	*rollup;
	struct sched_queue	*pause_q;	/* paused on an expiry */
};

static const char *CONF =
    "<domain *>\n retry-after 1m\n backoff-retry-after 7m\n</domain>\n"
    "<domain paced.test>\n max-msg-rate 600/min\n</domain>\n"
    "<domain slow.test>\n backoff-max-smtp-out 1\n"
    " backoff-to-normal-after 1m\n</domain>\n"
    "<virtual-mta v1>\n max-smtp-out 1\n</virtual-mta>\n"
    "<virtual-mta v2>\n</virtual-mta>\n<virtual-mta v3>\n</virtual-mta>\n"
    "<virtual-mta v4>\n</virtual-mta>\n"
    "<virtual-mta-pool pl>\n virtual-mta v2\n virtual-mta v3\n"
    " max-smtp-out 2\n max-smtp-msg-rate 60/min\n</virtual-mta-pool>\n"
    "<virtual-mta-pool open>\n virtual-mta v4\n</virtual-mta-pool>\n";

/* The same vmtas, the pool without limits (a reload lifts them). */
static const char *CONF_NOLIMIT =
    "<virtual-mta v2>\n</virtual-mta>\n<virtual-mta v3>\n</virtual-mta>\n"
    "<virtual-mta-pool pl>\n virtual-mta v2\n virtual-mta v3\n"
    "</virtual-mta-pool>\n";

static void
fake_params(void *arg, const char *domain, const char *vmta,
    struct sched_queue_params *out)
{
	struct fake *f = arg;
	const struct conf_vmta *v = conf_vmta_find(f->conf, vmta);

	out->dom = conf_domain_lookup(f->conf, v ? vmta : NULL, domain);
	out->max_smtp_out = out->dom->max_smtp_out;
	out->max_rcpt_per_message = out->dom->max_rcpt_per_message;
	if (v) {
		out->vmta_max_smtp_out = v->max_smtp_out;
		out->npool_limits = shape_vmta_pools(f->conf, v,
		    out->pool_limits, SCHED_MAX_POOL_LIMITS);
	}
}

static void
fake_conn_open(void *arg, struct sched_conn *c)
{
	struct fake *f = arg;

	assert_true(f->nconns < MAXC);
	f->conns[f->nconns++] = c;
}

static void
fake_outcome(void *arg, const struct sched_event *ev, size_t n)
{
	struct fake *f = arg;

	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind != SCHED_DEFERRED)
			f->ndone++;
		else
			f->last_retry = ev[i].rcpt->next_attempt;
		if (ev[i].kind == SCHED_EXPIRED && f->pause_q)
			sched_queue_set_pause(f->pause_q, 1);
	}
}

static const char *
fake_queue_domain(void *arg, const char *domain, const char *vmta)
{
	struct fake *f = arg;

	(void)vmta;
	return f->rollup ? sched_map_get(f->rollup, domain) : NULL;
}

static const struct sched_hooks hooks = {
	.queue_params = fake_params,
	.conn_open = fake_conn_open,
	.outcome = fake_outcome,
	.queue_domain = fake_queue_domain,
};

static struct sched *
setup(struct fake *f, int total)
{
	char err[256];
	struct sched_params sp = { .total_max_smtp_out = total };

	memset(f, 0, sizeof(*f));
	f->conf = conf_load_string("test.conf", CONF, err, sizeof(err));
	assert_non_null(f->conf);
	return sched_new(&sp, &hooks, f);
}

static void
teardown(struct fake *f, struct sched *s)
{
	sched_free(s);
	conf_free(f->conf);
	sched_map_free(f->rollup);
}

static void
add(struct sched *s, uint64_t id, const char *rcpt, const char *vmta)
{
	struct sched_rcpt_in in = { .addr = rcpt };
	struct sched_msg_in m = { .id = id, .time_queued = T0,
	    .orig = "a@b.test", .vmta = vmta, .nrcpt = 1, .rcpts = &in };

	sched_msg_add(s, &m, T0);
}

static void
ok(struct sched_conn *c, int64_t now)
{
	struct sched_result r = { .code = 250, .diag = "smtp;250 ok" };

	sched_conn_batch_done(c, &r, now / US);
}

static void
drop_conn(struct fake *f, int i)
{
	f->conns[i] = f->conns[--f->nconns];
}

/* 600/min: one recipient per 100 ms per queue; "not yet" says when. */
static void
test_pacing(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	int64_t now = T0 * US;
	int got = 0;

	(void)state;
	for (uint64_t i = 0; i < 30; i++)
		add(s, i + 1, "x@paced.test", NULL);
	sched_pump_us(s, now);
	assert_true(f.nconns >= 1);
	struct sched_conn *c = f.conns[0];
	/* the first 7 may go at once (1 % burst tolerance), then 10/s */
	for (int64_t t = now; t < now + 2 * US; t += 10000) {
		while (sched_conn_next_us(c, t) != NULL) {
			ok(c, t);
			got++;
		}
		if (c->wait_until)
			assert_true(c->wait_until > t &&
			    c->wait_until <= t + 100000);
	}
	assert_in_range(got, 7 + 19, 7 + 21);
	teardown(&f, s);
}

/* Pacer tokens are charged for what a transaction really holds: here the
 * queue gets paused (by the outcome hook) while the expired message at its
 * head is bounced, so the hand-out comes back empty; the 7 recipients the
 * pacer allows at once (600/min, 1 % burst) are all still there once it
 * resumes, at the same instant. */
static void
test_pacer_tokens_kept(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	int64_t now = T0 * US;
	struct sched_rcpt_in old_in = { .addr = "old@paced.test" }, in[7];
	struct sched_msg_in old = { .id = 1, .time_queued = T0 - 5 * 86400,
	    .orig = "a@b.test", .nrcpt = 1, .rcpts = &old_in };
	struct sched_msg_in m = { .id = 2, .time_queued = T0,
	    .orig = "a@b.test", .nrcpt = 7, .rcpts = in };
	struct sched_result res[7];
	const struct sched_batch *b;
	struct sched_queue *q;
	struct sched_conn *c;

	(void)state;
	memset(in, 0, sizeof(in));
	for (int i = 0; i < 7; i++)
		in[i].addr = "r@paced.test";
	sched_msg_add(s, &old, T0);
	sched_msg_add(s, &m, T0);
	q = sched_queue_find(s, "paced.test/{default}");
	assert_non_null(q);
	sched_pump_us(s, now);
	assert_true(f.nconns >= 1);
	c = f.conns[0];
	f.pause_q = q;
	assert_null(sched_conn_next_us(c, now));
	assert_int_equal(f.ndone, 1);		/* the expired one */
	f.pause_q = NULL;
	sched_queue_set_pause(q, 0);
	b = sched_conn_next_us(c, now);
	assert_non_null(b);
	assert_int_equal(b->n, 7);
	for (int i = 0; i < 7; i++)
		res[i] = (struct sched_result){ .code = 250, .diag = "ok" };
	sched_conn_batch_done(c, res, T0);
	/* and they were charged: the next one waits one interval */
	assert_int_equal(shape_queue_rcpt_ready(sched_queue_shape(q), now),
	    now + 100000);
	teardown(&f, s);
}

/* Backoff: backoff-max-smtp-out caps new connections, deferrals wait
 * backoff-retry-after; back to normal after backoff-to-normal-after. */
static void
test_backoff(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	int64_t now = T0 * US;
	struct sched_queue *q;
	struct shape_queue *sq;
	struct sched_result def = { .code = 421, .diag = "smtp;421 slow" };

	(void)state;
	for (uint64_t i = 0; i < 10; i++)
		add(s, i + 1, "x@slow.test", NULL);
	q = sched_queue_find(s, "slow.test/{default}");
	assert_non_null(q);
	sq = sched_queue_shape(q);
	assert_non_null(sq);
	shape_queue_set_mode(sq, sched_queue_params(q)->dom, 1, now);
	sched_pump_us(s, now);
	assert_int_equal(f.nconns, 1);		/* backoff-max-smtp-out 1 */
	assert_non_null(sched_conn_next_us(f.conns[0], now));
	sched_conn_batch_done(f.conns[0], &def, T0);
	/* the deferred recipient waits backoff-retry-after (7m) */
	assert_int_equal(f.last_retry, T0 + 7 * 60);
	sched_conn_closed(f.conns[0], T0);
	drop_conn(&f, 0);
	sched_pump_us(s, now + 61 * US);	/* backoff over: up to 20 */
	assert_true(f.nconns > 1);
	for (int i = f.nconns - 1; i >= 0; i--) {
		sched_conn_closed(f.conns[i], T0 + 61);
		drop_conn(&f, i);
	}
	teardown(&f, s);
}

/* vmta max-smtp-out 1 holds across two queues of the vmta. */
static void
test_vmta_max_smtp_out(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	int64_t now = T0 * US;

	(void)state;
	add(s, 1, "x@one.test", "v1");
	add(s, 2, "x@two.test", "v1");
	sched_pump_us(s, now);
	assert_int_equal(f.nconns, 1);
	const char *first = sched_queue_name(f.conns[0]->queue);
	assert_non_null(sched_conn_next_us(f.conns[0], now));
	ok(f.conns[0], now);
	assert_null(sched_conn_next_us(f.conns[0], now));
	sched_conn_closed(f.conns[0], T0);
	drop_conn(&f, 0);
	sched_pump_us(s, now);
	assert_int_equal(f.nconns, 1);		/* the other queue's turn */
	assert_string_not_equal(sched_queue_name(f.conns[0]->queue), first);
	assert_non_null(sched_conn_next_us(f.conns[0], now));
	ok(f.conns[0], now);
	sched_conn_closed(f.conns[0], T0);
	drop_conn(&f, 0);
	assert_int_equal(f.ndone, 2);
	teardown(&f, s);
}

/* Pool pl (v2, v3): max-smtp-out 2 across the queues of both members,
 * max-smtp-msg-rate 60/min paced across them; v4 (pool without limits)
 * is not held; a reload that lifts the limits frees the waiting queues. */
static void
test_pool_limits(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	int64_t now = T0 * US;
	const struct conf_pool *pl[SCHED_MAX_POOL_LIMITS];
	char err[256];
	struct conf *old;
	int64_t at[8];
	int sent = 0;

	(void)state;
	assert_int_equal(shape_vmta_pools(f.conf, conf_vmta_find(f.conf,
	    "v2"), pl, SCHED_MAX_POOL_LIMITS), 1);
	assert_string_equal(pl[0]->name, "pl");
	assert_int_equal(shape_vmta_pools(f.conf, conf_vmta_find(f.conf,
	    "v4"), pl, SCHED_MAX_POOL_LIMITS), 0);
	add(s, 1, "x@a.test", "v2");
	add(s, 2, "x@b.test", "v2");
	add(s, 3, "x@c.test", "v3");
	add(s, 4, "x@d.test", "v3");
	sched_pump_us(s, now);
	assert_int_equal(f.nconns, 2);		/* 4 queues, pool cap 2 */
	add(s, 5, "x@e.test", "v4");
	sched_pump_us(s, now);
	assert_int_equal(f.nconns, 3);		/* v4 is not held */
	assert_string_equal(sched_queue_name(f.conns[2]->queue), "e.test/v4");
	assert_non_null(sched_conn_next_us(f.conns[2], now));
	ok(f.conns[2], now);
	sched_conn_closed(f.conns[2], T0);
	drop_conn(&f, 2);
	/* 60/min across the pool: one message per second, whichever vmta */
	for (int64_t t = now; t < now + 3 * US + US / 2; t += US / 10)
		for (int i = 0; i < f.nconns; i++) {
			if (f.conns[i]->wait_until > t)
				continue;
			if (sched_conn_next_us(f.conns[i], t) != NULL) {
				ok(f.conns[i], t);
				assert_true(sent < 8);
				at[sent++] = t;
			} else if (f.conns[i]->wait_until == 0) {
				/* its queue is empty: the slot frees up */
				sched_conn_closed(f.conns[i], t / US);
				drop_conn(&f, i);
				sched_pump_us(s, t);
				assert_true(f.nconns <= 2);
				i = -1;
			}
		}
	assert_int_equal(sent, 4);		/* at 0, 1, 2 and 3 s */
	for (int k = 1; k < sent; k++)
		assert_in_range(at[k] - at[k - 1], US, US + US / 10);
	assert_int_equal(f.ndone, 5);
	for (int i = f.nconns - 1; i >= 0; i--) {
		sched_conn_closed(f.conns[i], T0 + 4);
		drop_conn(&f, i);
	}
	/* reload without the pool's limits: 4 queues, 4 connections */
	for (uint64_t i = 0; i < 4; i++)
		add(s, 10 + i, i < 2 ? (i ? "y@b.test" : "y@a.test") :
		    (i == 2 ? "y@c.test" : "y@d.test"), i < 2 ? "v2" : "v3");
	sched_pump_us(s, now + 5 * US);
	assert_int_equal(f.nconns, 2);
	old = f.conf;
	f.conf = conf_load_string("test.conf", CONF_NOLIMIT, err, sizeof(err));
	assert_non_null(f.conf);
	sched_reload(s);
	sched_pump_us(s, now + 5 * US);
	assert_int_equal(f.nconns, 4);
	for (int i = f.nconns - 1; i >= 0; i--) {
		sched_conn_closed(f.conns[i], T0 + 5);
		drop_conn(&f, i);
	}
	conf_free(old);
	teardown(&f, s);
}

/* total-max-smtp-out 1: a busy queue hands its slot to a waiting one at
 * a transaction boundary, then they alternate. */
static void
test_fair_slot_handover(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 1);
	int64_t now = T0 * US;
	int served_b = 0;

	(void)state;
	for (uint64_t i = 0; i < 100; i++)
		add(s, i + 1, "x@bulk.test", NULL);
	sched_pump_us(s, now);
	assert_int_equal(f.nconns, 1);
	for (int i = 0; i < 5; i++) {
		assert_non_null(sched_conn_next_us(f.conns[0], now));
		ok(f.conns[0], now);
	}
	for (uint64_t i = 0; i < 3; i++)
		add(s, 1000 + i, "y@tx.test", NULL);
	sched_pump_us(s, now);
	assert_int_equal(f.nconns, 1);		/* tx.test is waiting */
	for (int round = 0; round < 12 && served_b < 3; round++) {
		struct sched_conn *c = f.conns[0];
		const struct sched_batch *b = sched_conn_next_us(c, now);

		if (b == NULL) {
			sched_conn_closed(c, T0);
			drop_conn(&f, 0);
			sched_pump_us(s, now);
			assert_int_equal(f.nconns, 1);
			continue;
		}
		if (strcmp(sched_queue_domain(c->queue), "tx.test") == 0)
			served_b++;
		ok(c, now);
	}
	assert_int_equal(served_b, 3);
	sched_conn_closed(f.conns[0], T0);
	drop_conn(&f, 0);
	teardown(&f, s);
}

/* Rollup: ready recipients move to NAME.rollup/vmta; the hook sends new
 * ones there directly. */
static void
test_reroute_and_hook(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	struct sched_queue *q, *r;

	(void)state;
	add(s, 1, "a@r1.test", NULL);
	add(s, 2, "b@r1.test", NULL);
	q = sched_queue_find(s, "r1.test/{default}");
	assert_non_null(q);
	f.rollup = sched_map_new();
	sched_map_put(f.rollup, "r1.test", "big.rollup");
	sched_map_put(f.rollup, "r2.test", "big.rollup");
	r = sched_queue_reroute(q, "big.rollup", T0);
	assert_string_equal(sched_queue_name(r), "big.rollup/{default}");
	add(s, 3, "c@r2.test", NULL);
	sched_pump_us(s, T0 * US);
	assert_int_equal(f.nconns, 3);		/* one per ready message */
	while (f.nconns > 0) {
		struct sched_conn *c = f.conns[0];

		assert_ptr_equal(c->queue, r);
		while (sched_conn_next_us(c, T0 * US) != NULL)
			ok(c, T0 * US);
		sched_conn_closed(c, T0);
		drop_conn(&f, 0);
	}
	assert_int_equal(f.ndone, 3);
	assert_null(sched_queue_find(s, "r2.test/{default}"));
	teardown(&f, s);
}

static void
test_map(void **state)
{
	struct sched_map *m = sched_map_new();
	char k[32], v[32];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "d%d.test", i);
		snprintf(v, sizeof(v), "r%d", i % 7);
		sched_map_put(m, k, v);
	}
	sched_map_put(m, "d5.test", "other");
	assert_string_equal(sched_map_get(m, "d5.test"), "other");
	assert_string_equal(sched_map_get(m, "d999.test"), "r5");
	assert_null(sched_map_get(m, "nope.test"));
	sched_map_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pacing),
		cmocka_unit_test(test_pacer_tokens_kept),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_vmta_max_smtp_out),
		cmocka_unit_test(test_pool_limits),
		cmocka_unit_test(test_fair_slot_handover),
		cmocka_unit_test(test_reroute_and_hook),
		cmocka_unit_test(test_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
