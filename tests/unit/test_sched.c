/*
 * test_sched.c -- scheduler core with fake hooks: batching per message and
 * domain (max-rcpt-per-message), max-smtp-out and total-max-smtp-out,
 * retry timers, expiry, queue-level failures, per-connection limits,
 * recovery input, idle connections (connection-idle-timeout) and
 * per-recipient vmtas.
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

#define MAXC 64
#define MAXE 256

struct rec_event {
	enum sched_outcome	kind;
	uint64_t		id;
	uint32_t		idx;
	uint32_t		attempts;
	int64_t			next_attempt;
	char			status[16];
	char			queue[SCHED_NAME_MAX + 1];
};

struct fake {
	struct sched_queue_params	 p;
	struct sched_conn		*conns[MAXC];
	int				 nconns;
	struct rec_event		 ev[MAXE];
	int				 nev;
	int				 ntq;
	int				 wakeups;
};

static void
fake_params(void *arg, const char *domain, const char *vmta,
    struct sched_queue_params *out)
{
	struct fake *f = arg;

	(void)domain;
	(void)vmta;
	*out = f->p;
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
		struct rec_event *r = &f->ev[f->nev++];
		assert_true(f->nev < MAXE);
		assert_ptr_equal(ev[i].rcpt->msg, ev[0].rcpt->msg);
		r->kind = ev[i].kind;
		r->id = ev[i].rcpt->msg->id;
		r->idx = ev[i].rcpt->idx;
		r->attempts = ev[i].rcpt->attempts;
		r->next_attempt = ev[i].rcpt->next_attempt;
		snprintf(r->status, sizeof(r->status), "%s", ev[i].status);
		snprintf(r->queue, sizeof(r->queue), "%s", ev[i].queue ?
		    sched_queue_name(ev[i].queue) : "");
	}
}

static void
fake_queue_event(void *arg, struct sched_queue *q, struct sched_conn *c,
    const struct sched_result *res, int64_t now)
{
	struct fake *f = arg;

	(void)q;
	(void)c;
	(void)res;
	(void)now;
	f->ntq++;
}

static void
fake_wakeup(void *arg)
{
	((struct fake *)arg)->wakeups++;
}

static const struct sched_hooks hooks = {
	.queue_params = fake_params,
	.conn_open = fake_conn_open,
	.outcome = fake_outcome,
	.queue_event = fake_queue_event,
	.wakeup = fake_wakeup,
};

static struct sched *
setup(struct fake *f, int total)
{
	struct sched_params sp = { .total_max_smtp_out = total };

	memset(f, 0, sizeof(*f));
	sched_queue_params_default(&f->p);
	return sched_new(&sp, &hooks, f);
}

/* Add message id with the given recipients (NULL-terminated list). */
static void
add_msg(struct sched *s, uint64_t id, int64_t tq, int64_t now,
    const char **rcpts)
{
	struct sched_rcpt_in in[64];
	size_t n = 0;

	memset(in, 0, sizeof(in));
	for (; rcpts[n]; n++)
		in[n].addr = rcpts[n];
	struct sched_msg_in m = {
		.id = id, .time_queued = tq, .orig = "sender@example.org",
		.nrcpt = n, .rcpts = in,
	};
	sched_msg_add(s, &m, now);
}

/* Remove conn i from the fake's list (it was closed). */
static void
drop_conn(struct fake *f, int i)
{
	f->conns[i] = f->conns[--f->nconns];
}

static void
reply_all(struct sched_conn *c, int code, int64_t now)
{
	const struct sched_batch *b = c->batch;
	struct sched_result res[64];

	for (size_t i = 0; i < b->n; i++)
		res[i] = (struct sched_result){ .code = code,
		    .diag = code >= 500 ? "smtp;550 5.1.1 no" : "smtp;250 ok" };
	sched_conn_batch_done(c, res, now);
}

static void
test_batching(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r1[] = { "a1@A.com", "a2@a.com", "b1@b.com", "a3@a.com",
	    "a4@a.com", "a5@a.com", "b2@b.com", NULL };
	const struct sched_batch *b;
	struct sched_conn *ca = NULL;
	size_t sizes[4] = { 0 }, nb = 0;

	(void)state;
	f.p.max_rcpt_per_message = 2;
	add_msg(s, 1, 100, 100, r1);
	sched_pump(s, 100);
	assert_true(f.wakeups > 0);
	assert_int_equal(f.nconns, 2);	/* one per queue */
	assert_non_null(sched_queue_find(s, "a.com/{default}"));
	assert_non_null(sched_queue_find(s, "b.com/{default}"));
	for (int i = 0; i < f.nconns; i++)
		if (strcmp(sched_queue_name(f.conns[i]->queue),
		    "a.com/{default}") == 0)
			ca = f.conns[i];
	assert_non_null(ca);
	while ((b = sched_conn_next(ca, 100)) != NULL) {
		assert_int_equal(b->msg->id, 1);
		for (size_t i = 0; i < b->n; i++)
			assert_non_null(strstr(b->rcpts[i]->addr, "@"));
		sizes[nb++] = b->n;
		reply_all(ca, 250, 101);
	}
	assert_int_equal(nb, 3);
	assert_int_equal(sizes[0], 2);
	assert_int_equal(sizes[1], 2);
	assert_int_equal(sizes[2], 1);
	/* recipients in order of the message */
	assert_int_equal(f.ev[0].idx, 0);
	assert_int_equal(f.ev[1].idx, 1);
	assert_int_equal(f.ev[2].idx, 3);
	assert_int_equal(f.nev, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(f.ev[i].kind, SCHED_DELIVERED);
	sched_free(s);
}

static void
test_max_smtp_out(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "x@a.com", NULL };

	(void)state;
	f.p.max_smtp_out = 3;
	for (uint64_t id = 1; id <= 10; id++)
		add_msg(s, id, 100, 100, r);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 3);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 3);	/* no more while 3 are open */
	/* each connection takes one message, then ends */
	for (int i = 0; i < 3; i++) {
		assert_non_null(sched_conn_next(f.conns[i], 100));
		reply_all(f.conns[i], 250, 100);
	}
	sched_conn_closed(f.conns[0], 100);
	drop_conn(&f, 0);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 3);	/* replaced, still capped */
	struct sched_stats st;
	sched_get_stats(s, &st);
	assert_int_equal(st.conns, 3);
	assert_int_equal(st.out_rcpt, 3);
	assert_int_equal(st.queue_rcpt, 7);
	assert_int_equal(st.queue_msg, 7);
	assert_int_equal(st.in_msg, 10);
	assert_int_equal(st.domains, 1);
	sched_free(s);
}

static void
test_total_max_smtp_out(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 2);
	const char *r[] = { "x@a.com", "y@b.com", "z@c.com", NULL };

	(void)state;
	add_msg(s, 1, 100, 100, r);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 2);
	struct sched_conn *c = f.conns[0];
	assert_non_null(sched_conn_next(c, 100));
	reply_all(c, 250, 100);
	assert_null(sched_conn_next(c, 100));
	sched_conn_closed(c, 100);
	drop_conn(&f, 0);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 2);	/* the blocked queue got its turn */
	sched_free(s);
}

static void
test_retry_and_expiry(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "x@a.com", NULL };
	int64_t t = 1000;

	(void)state;
	assert_int_equal(sched_retry_parse(&f.p, "60s,120s"), 0);
	f.p.bounce_after = 300;
	add_msg(s, 1, t, t, r);
	sched_pump(s, t);
	assert_int_equal(f.nconns, 1);
	assert_non_null(sched_conn_next(f.conns[0], t));
	reply_all(f.conns[0], 451, t);
	assert_int_equal(f.nev, 1);
	assert_int_equal(f.ev[0].kind, SCHED_DEFERRED);
	assert_int_equal(f.ev[0].attempts, 1);
	assert_int_equal(f.ev[0].next_attempt, t + 60);
	assert_string_equal(f.ev[0].status, "4.0.0");
	assert_null(sched_conn_next(f.conns[0], t));
	sched_conn_closed(f.conns[0], t);
	drop_conn(&f, 0);
	assert_int_equal(sched_next_timer(s), t + 60);
	sched_pump(s, t + 59);
	assert_int_equal(f.nconns, 0);
	sched_pump(s, t + 60);
	assert_int_equal(f.nconns, 1);
	assert_non_null(sched_conn_next(f.conns[0], t + 60));
	reply_all(f.conns[0], 421, t + 60);
	/* second retry uses 120s (the last value) */
	assert_int_equal(f.ev[1].next_attempt, t + 180);
	sched_conn_closed(f.conns[0], t + 60);
	drop_conn(&f, 0);
	sched_pump(s, t + 180);
	assert_non_null(sched_conn_next(f.conns[0], t + 180));
	reply_all(f.conns[0], 450, t + 180);
	/* would be t+300 (120 repeats) = expiry: capped at the expiry */
	assert_int_equal(f.ev[2].next_attempt, t + 300);
	sched_conn_closed(f.conns[0], t + 180);
	drop_conn(&f, 0);
	sched_pump(s, t + 300);
	assert_int_equal(f.nconns, 0);	/* expired from the timer */
	assert_int_equal(f.nev, 4);
	assert_int_equal(f.ev[3].kind, SCHED_EXPIRED);
	assert_string_equal(f.ev[3].status, "4.4.7");
	assert_int_equal(sched_next_timer(s), 0);
	struct sched_stats st;
	sched_get_stats(s, &st);
	assert_int_equal(st.queue_msg, 0);
	assert_int_equal(st.expired_rcpt, 1);
	sched_free(s);
}

static void
test_bounce_and_mixed(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "ok@a.com", "bad@a.com", "later@a.com", NULL };
	struct sched_result res[3] = {
		{ .code = 250, .diag = "smtp;250 ok" },
		{ .code = 550, .status = "5.1.1", .diag = "smtp;550 5.1.1 no" },
		{ .code = 452, .status = "4.2.2", .diag = "smtp;452 full" },
	};

	(void)state;
	add_msg(s, 9, 50, 50, r);
	sched_pump(s, 50);
	const struct sched_batch *b = sched_conn_next(f.conns[0], 50);
	assert_int_equal(b->n, 3);
	sched_conn_batch_done(f.conns[0], res, 51);
	assert_int_equal(f.nev, 3);
	assert_int_equal(f.ev[0].kind, SCHED_DELIVERED);
	assert_string_equal(f.ev[0].status, "2.0.0");
	assert_int_equal(f.ev[1].kind, SCHED_BOUNCED);
	assert_string_equal(f.ev[1].status, "5.1.1");
	assert_int_equal(f.ev[2].kind, SCHED_DEFERRED);
	assert_string_equal(f.ev[2].status, "4.2.2");
	assert_int_equal(f.conns[0]->nerrors, 2);
	sched_conn_closed(f.conns[0], 51);
	sched_free(s);	/* the deferred recipient is simply dropped */
}

static void
test_conn_limits(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "x@a.com", NULL };

	(void)state;
	f.p.max_msg_per_connection = 2;
	f.p.max_smtp_out = 1;
	for (uint64_t id = 1; id <= 5; id++)
		add_msg(s, id, 100, 100, r);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 1);
	for (int i = 0; i < 2; i++) {
		assert_non_null(sched_conn_next(f.conns[0], 100));
		reply_all(f.conns[0], 250, 100);
	}
	assert_null(sched_conn_next(f.conns[0], 100));
	sched_conn_closed(f.conns[0], 100);
	drop_conn(&f, 0);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 1);	/* a fresh connection for the rest */
	sched_free(s);

	s = setup(&f, 0);
	f.p.max_errors_per_connection = 1;
	for (uint64_t id = 1; id <= 3; id++)
		add_msg(s, id, 100, 100, r);
	sched_pump(s, 100);
	assert_non_null(sched_conn_next(f.conns[0], 100));
	reply_all(f.conns[0], 550, 100);
	assert_null(sched_conn_next(f.conns[0], 100));
	sched_conn_closed(f.conns[0], 100);
	sched_free(s);
}

static void
test_queue_failure(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "x@a.com", "y@a.com", NULL };
	struct sched_result fail = { .code = 0, .status = "4.4.1",
	    .diag = "no answer from host" };

	(void)state;
	add_msg(s, 1, 100, 100, r);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 1);
	sched_conn_failed(f.conns[0], &fail, 101);
	drop_conn(&f, 0);
	assert_int_equal(f.ntq, 1);
	assert_int_equal(f.nev, 0);	/* nothing per recipient */
	sched_pump(s, 101);
	assert_int_equal(f.nconns, 0);	/* queue in retry mode */
	add_msg(s, 2, 102, 102, r);
	sched_pump(s, 102);
	assert_int_equal(f.nconns, 0);
	assert_int_equal(sched_next_timer(s), 701);
	sched_pump(s, 701);
	assert_int_equal(f.nconns, 2);	/* two messages ready: two conns */
	/* a permanently bad domain bounces all that is ready */
	struct sched_result nx = { .code = 550, .status = "5.1.2",
	    .diag = "DNS: host not found", .category = "bad-domain" };
	sched_conn_bounce_queue(f.conns[0], &nx, 702);
	drop_conn(&f, 0);
	assert_null(sched_conn_next(f.conns[0], 702));	/* nothing left */
	sched_conn_closed(f.conns[0], 702);
	drop_conn(&f, 0);
	assert_int_equal(f.nev, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f.ev[i].kind, SCHED_BOUNCED);
		assert_string_equal(f.ev[i].status, "5.1.2");
	}
	struct sched_stats st;
	sched_get_stats(s, &st);
	assert_int_equal(st.queue_rcpt, 0);
	assert_int_equal(st.queue_msg, 0);
	sched_free(s);
}

static void
test_expired_ready_on_failure(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "x@a.com", NULL };
	struct sched_result fail = { .code = 0, .diag = "no answer" };

	(void)state;
	f.p.bounce_after = 100;
	add_msg(s, 1, 0, 150, r);	/* recovered, already past expiry */
	sched_pump(s, 150);
	sched_conn_failed(f.conns[0], &fail, 150);
	drop_conn(&f, 0);
	assert_int_equal(f.nev, 1);
	assert_int_equal(f.ev[0].kind, SCHED_EXPIRED);
	/* and a batch is never handed out for an expired message */
	add_msg(s, 2, 0, 150, r);
	sched_pump(s, 800);
	assert_int_equal(f.nconns, 1);
	assert_null(sched_conn_next(f.conns[0], 800));
	assert_int_equal(f.ev[1].kind, SCHED_EXPIRED);
	sched_conn_closed(f.conns[0], 800);
	sched_free(s);
}

static void
test_recovery_and_names(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	struct sched_rcpt_in in[4] = {
		{ .addr = "done@a.com", .done = 1 },
		{ .addr = "Later@B.Example", .attempts = 2,
		  .next_attempt = 5000 },
		{ .addr = "now@a.com", .attempts = 1, .next_attempt = 10 },
		{ .addr = "broken-address" },
	};
	struct sched_msg_in m = { .id = 77, .time_queued = 1, .orig = "",
	    .vmta = "vmta1", .nrcpt = 4, .rcpts = in, .recovered = 1 };

	(void)state;
	sched_msg_add(s, &m, 1000);
	/* the address without a domain bounces at once */
	assert_int_equal(f.nev, 1);
	assert_int_equal(f.ev[0].kind, SCHED_BOUNCED);
	assert_int_equal(f.ev[0].idx, 3);
	assert_string_equal(f.ev[0].status, "5.1.3");
	sched_pump(s, 1000);
	assert_int_equal(f.nconns, 1);
	assert_string_equal(sched_queue_name(f.conns[0]->queue),
	    "a.com/vmta1");
	assert_non_null(sched_queue_find(s, "b.example/vmta1"));
	assert_int_equal(sched_next_timer(s), 5000);
	const struct sched_batch *b = sched_conn_next(f.conns[0], 1000);
	assert_int_equal(b->n, 1);
	assert_int_equal(b->rcpts[0]->idx, 2);
	assert_int_equal(b->rcpts[0]->attempts, 1);
	reply_all(f.conns[0], 250, 1000);
	sched_conn_closed(f.conns[0], 1000);
	drop_conn(&f, 0);
	struct sched_stats st;
	sched_get_stats(s, &st);
	assert_int_equal(st.in_msg, 0);		/* recovered, not traffic */
	assert_int_equal(st.queue_rcpt, 1);
	sched_free(s);
}

static void
test_pause_and_stop(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "x@a.com", NULL };

	(void)state;
	add_msg(s, 1, 100, 100, r);
	struct sched_queue *q = sched_queue_find(s, "a.com/{default}");
	sched_queue_set_pause(q, 1);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 0);
	sched_queue_set_pause(q, 0);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 1);
	sched_stop(s);
	assert_null(sched_conn_next(f.conns[0], 100));
	sched_conn_closed(f.conns[0], 100);
	sched_free(s);
}

/* bounce-upon-no-mx with an interval: only recipients queued at or
 * before the cut-off bounce; the connection stays usable for the rest. */
static void
test_bounce_older(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r1[] = { "old@x.test", NULL }, *r2[] = { "new@x.test",
	    NULL };
	struct sched_result res = { .code = 550, .status = "5.1.2",
	    .diag = "no MX", .category = "bad-domain" };
	const struct sched_batch *b;
	struct sched_result ok = { .code = 250 };

	(void)state;
	f.p.max_smtp_out = 1;
	add_msg(s, 1, 1000, 1100, r1);
	add_msg(s, 2, 1090, 1100, r2);
	sched_pump(s, 1100);
	assert_int_equal(f.nconns, 1);
	assert_int_equal(sched_conn_bounce_older(f.conns[0], &res, 1100 - 60,
	    1100), 1);
	assert_int_equal(f.nev, 1);
	assert_int_equal(f.ev[0].kind, SCHED_BOUNCED);
	assert_int_equal(f.ev[0].id, 1);
	assert_string_equal(f.ev[0].status, "5.1.2");
	b = sched_conn_next(f.conns[0], 1100);
	assert_non_null(b);
	assert_int_equal(b->msg->id, 2);
	sched_conn_batch_done(f.conns[0], &ok, 1100);
	assert_null(sched_conn_next(f.conns[0], 1100));
	sched_conn_closed(f.conns[0], 1100);
	sched_free(s);
}

/* skip-mx: a non-2xx result with requeue is no attempt: the recipient is
 * ready again at once (no event), a 2xx one is delivered as usual. */
static void
test_requeue_skip_mx(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "a@x.test", "b@x.test", NULL };
	struct sched_result res[2] = {
		{ .code = 451, .diag = "smtp;451 try next MX", .requeue = 1 },
		{ .code = 250, .requeue = 1 },
	};
	const struct sched_batch *b;

	(void)state;
	f.p.max_smtp_out = 1;
	add_msg(s, 1, 1000, 1000, r);
	sched_pump(s, 1000);
	b = sched_conn_next(f.conns[0], 1000);
	assert_non_null(b);
	assert_int_equal(b->n, 2);
	sched_conn_batch_done(f.conns[0], res, 1000);
	assert_int_equal(f.nev, 1);
	assert_int_equal(f.ev[0].kind, SCHED_DELIVERED);
	assert_int_equal(f.ev[0].idx, 1);
	b = sched_conn_next(f.conns[0], 1000);	/* the next MX */
	assert_non_null(b);
	assert_int_equal(b->n, 1);
	assert_int_equal(b->rcpts[0]->idx, 0);
	assert_int_equal(b->rcpts[0]->attempts, 0);
	sched_conn_batch_done(f.conns[0], &res[1], 1000);
	assert_int_equal(f.nev, 2);
	sched_conn_closed(f.conns[0], 1000);
	sched_free(s);
}

/* --- connection-idle-timeout: idle connections --- */

static struct sched_conn *woken[MAXC];
static int nwoken;

static void
fake_conn_wake(void *arg, struct sched_conn *c)
{
	(void)arg;
	assert_true(nwoken < MAXC);
	woken[nwoken++] = c;
}

static const struct sched_hooks idle_hooks = {
	.queue_params = fake_params,
	.conn_open = fake_conn_open,
	.outcome = fake_outcome,
	.queue_event = fake_queue_event,
	.wakeup = fake_wakeup,
	.conn_wake = fake_conn_wake,
};

static struct sched *
setup_idle(struct fake *f, int total)
{
	struct sched_params sp = { .total_max_smtp_out = total };

	memset(f, 0, sizeof(*f));
	nwoken = 0;
	sched_queue_params_default(&f->p);
	return sched_new(&sp, &idle_hooks, f);
}

/* Deliver everything c can take, then park it idle. */
static void
drain_to_idle(struct sched_conn *c, int64_t now)
{
	while (sched_conn_next(c, now) != NULL)
		reply_all(c, 250, now);
	assert_int_equal(sched_conn_idle(c), 1);
	assert_true(c->idle);
}

static void
test_idle_reuse(void **state)
{
	struct fake f;
	struct sched *s = setup_idle(&f, 0);
	const char *r[] = { "x@a.com", NULL };
	struct sched_stats st;

	(void)state;
	add_msg(s, 1, 100, 100, r);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 1);
	drain_to_idle(f.conns[0], 100);
	sched_get_stats(s, &st);
	assert_int_equal(st.conns, 1);		/* idle counts as open */
	/* new mail: the idle connection is woken, no new one opens */
	add_msg(s, 2, 101, 101, r);
	sched_pump(s, 101);
	assert_int_equal(f.nconns, 1);
	assert_int_equal(nwoken, 1);
	assert_ptr_equal(woken[0], f.conns[0]);
	assert_false(f.conns[0]->idle);
	assert_non_null(sched_conn_next(f.conns[0], 101));
	reply_all(f.conns[0], 250, 101);
	assert_int_equal(f.nev, 2);
	/* the glue's own timeout ends idling */
	drain_to_idle(f.conns[0], 102);
	sched_conn_unidle(f.conns[0]);
	sched_conn_closed(f.conns[0], 103);
	sched_free(s);
}

static void
test_idle_no_hook_quits(void **state)
{
	struct fake f;
	struct sched *s = setup(&f, 0);
	const char *r[] = { "x@a.com", NULL };

	(void)state;
	add_msg(s, 1, 100, 100, r);
	sched_pump(s, 100);
	assert_non_null(sched_conn_next(f.conns[0], 100));
	reply_all(f.conns[0], 250, 100);
	assert_null(sched_conn_next(f.conns[0], 100));
	assert_int_equal(sched_conn_idle(f.conns[0]), 0);
	sched_conn_closed(f.conns[0], 100);
	sched_free(s);
}

/* total-max-smtp-out 1: a.com's idle connection is made to quit as soon
 * as b.com needs the slot, and b.com gets it when it closes. */
static void
test_idle_slot_handover(void **state)
{
	struct fake f;
	struct sched *s = setup_idle(&f, 1);
	const char *ra[] = { "x@a.com", NULL }, *rb[] = { "y@b.com", NULL };
	struct sched_conn *ca;

	(void)state;
	add_msg(s, 1, 100, 100, ra);
	sched_pump(s, 100);
	assert_int_equal(f.nconns, 1);
	ca = f.conns[0];
	drain_to_idle(ca, 100);
	add_msg(s, 2, 101, 101, rb);
	sched_pump(s, 101);
	assert_int_equal(f.nconns, 1);		/* slot still taken */
	assert_int_equal(nwoken, 1);
	assert_ptr_equal(woken[0], ca);
	assert_null(sched_conn_next(ca, 101));	/* must quit */
	assert_int_equal(sched_conn_idle(ca), 0);
	sched_conn_closed(ca, 101);
	drop_conn(&f, 0);
	sched_pump(s, 101);
	assert_int_equal(f.nconns, 1);
	assert_string_equal(sched_queue_name(f.conns[0]->queue),
	    "b.com/{default}");
	assert_non_null(sched_conn_next(f.conns[0], 101));
	reply_all(f.conns[0], 250, 101);
	/* a blocked queue forbids idling */
	add_msg(s, 3, 102, 102, ra);
	sched_pump(s, 102);
	assert_null(sched_conn_next(f.conns[0], 102));
	assert_int_equal(sched_conn_idle(f.conns[0]), 0);
	sched_conn_closed(f.conns[0], 102);
	sched_free(s);
}

/* Pause, reload and stop make idle connections quit. */
static void
test_idle_pause_reload_stop(void **state)
{
	struct fake f;
	struct sched *s = setup_idle(&f, 0);
	const char *r[] = { "x@a.com", NULL };
	struct sched_conn *c;

	(void)state;
	add_msg(s, 1, 100, 100, r);
	sched_pump(s, 100);
	c = f.conns[0];
	drain_to_idle(c, 100);
	sched_queue_set_pause(c->queue, 1);
	assert_int_equal(nwoken, 1);
	assert_null(sched_conn_next(c, 100));
	assert_int_equal(sched_conn_idle(c), 0);
	sched_conn_closed(c, 100);
	drop_conn(&f, 0);
	sched_queue_set_pause(sched_queue_find(s, "a.com/{default}"), 0);
	add_msg(s, 2, 101, 101, r);
	sched_pump(s, 101);
	c = f.conns[0];
	drain_to_idle(c, 101);
	sched_reload(s);
	assert_int_equal(nwoken, 2);
	assert_null(sched_conn_next(c, 101));
	sched_conn_closed(c, 101);
	drop_conn(&f, 0);
	add_msg(s, 3, 102, 102, r);
	sched_pump(s, 102);
	c = f.conns[0];
	drain_to_idle(c, 102);
	sched_stop(s);
	assert_int_equal(nwoken, 3);
	assert_null(sched_conn_next(c, 102));
	sched_conn_closed(c, 102);
	sched_free(s);
}

/* select_vmta: "pool" picks m1, m2, m1 ... (pool "pool"); others as is. */
static int nselect;

static void
rr_select(void *arg, const char *req, char *vmta, size_t vlen, char *pool,
    size_t plen)
{
	(void)arg;
	pool[0] = '\0';
	nselect++;
	if (req && strcmp(req, "pool") == 0) {
		snprintf(vmta, vlen, "m%d", (nselect % 2) + 1);
		snprintf(pool, plen, "pool");
	} else
		snprintf(vmta, vlen, "%s", req ? req : SCHED_DEFAULT_VMTA);
}

static const struct sched_hooks rr_hooks = {
	.queue_params = fake_params,
	.select_vmta = rr_select,
	.conn_open = fake_conn_open,
	.outcome = fake_outcome,
	.queue_event = fake_queue_event,
	.wakeup = fake_wakeup,
};

/* Recipients with a vmta of their own (rcpt-to routing) go to their own
 * domain/vmta queues; one selection per distinct name and message (a pool
 * gives one member to all recipients that asked for it). */
static void
test_rcpt_vmta(void **state)
{
	struct fake f;
	struct sched_params sp = { 0 };
	struct sched *s;
	struct sched_rcpt_in in[6] = {
		{ .addr = "a@a.com" },
		{ .addr = "b@b.com", .vmta = "v2" },
		{ .addr = "c@c.com", .vmta = "pool" },
		{ .addr = "d@d.com", .vmta = "pool" },
		{ .addr = "e@e.com", .vmta = "v1" },
		{ .addr = "f@a.com", .vmta = "v2" },
	};
	struct sched_msg_in m = { .id = 5, .time_queued = 1, .orig = "",
	    .vmta = "v1", .nrcpt = 6, .rcpts = in };
	const char *want[] = { "a.com/v1", "b.com/v2", "c.com/m2", "d.com/m2",
	    "e.com/v1", "a.com/v2" };

	(void)state;
	memset(&f, 0, sizeof(f));
	sched_queue_params_default(&f.p);
	nselect = 0;
	s = sched_new(&sp, &rr_hooks, &f);
	sched_msg_add(s, &m, 10);
	assert_int_equal(nselect, 3);		/* v1, v2, pool */
	sched_pump(s, 10);
	assert_int_equal(f.nconns, 6);
	for (int i = 0; i < 6; i++)
		assert_non_null(sched_queue_find(s, want[i]));
	for (int i = 0; i < f.nconns; i++) {
		struct sched_conn *c = f.conns[i];
		const struct sched_batch *b = sched_conn_next(c, 10);
		const char *q = sched_queue_name(c->queue);

		assert_int_equal(b->n, 1);
		assert_string_equal(q, want[b->rcpts[0]->idx]);
		assert_string_equal(b->rcpts[0]->vmta, sched_queue_vmta(
		    c->queue));
		if (b->rcpts[0]->idx == 2 || b->rcpts[0]->idx == 3)
			assert_string_equal(b->rcpts[0]->pool, "pool");
		else
			assert_null(b->rcpts[0]->pool);
		reply_all(c, 250, 10);
		sched_conn_closed(c, 10);
	}
	assert_int_equal(f.nev, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(f.ev[i].kind, SCHED_DELIVERED);
		assert_string_equal(f.ev[i].queue, want[f.ev[i].idx]);
	}
	sched_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_max_smtp_out),
		cmocka_unit_test(test_total_max_smtp_out),
		cmocka_unit_test(test_retry_and_expiry),
		cmocka_unit_test(test_bounce_and_mixed),
		cmocka_unit_test(test_conn_limits),
		cmocka_unit_test(test_queue_failure),
		cmocka_unit_test(test_expired_ready_on_failure),
		cmocka_unit_test(test_recovery_and_names),
		cmocka_unit_test(test_pause_and_stop),
		cmocka_unit_test(test_bounce_older),
		cmocka_unit_test(test_requeue_skip_mx),
		cmocka_unit_test(test_idle_reuse),
		cmocka_unit_test(test_idle_no_hook_quits),
		cmocka_unit_test(test_idle_slot_handover),
		cmocka_unit_test(test_idle_pause_reload_stop),
		cmocka_unit_test(test_rcpt_vmta),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
