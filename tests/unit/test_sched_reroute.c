/*
 * test_sched_reroute.c -- reroute-to-virtual-mta and
 * backoff-reroute-to-virtual-mta in the scheduler core (sched_reroute.c)
 * with queue params from a real config (conf_load_string) and a pool
 * picking hook: recipients placed, retried and swept into the target
 * queue carry the target's vmta and pool; the backoff variant moves the
 * ready list when backoff starts and new mail only while it lasts; a
 * deferral in a rerouting queue is retried at once through the target;
 * pool recipients skip a member that cannot send (pool_repick hook).
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
	size_t			 pool_rr;
	char			 vmta[8][32], pool[8][32], queue[8][64];
	int			 kind[8];
	int			 nev;
	int			 b_blocked;	/* b's source IPs all disabled */
};

static const char *CONF =
    "<domain *>\n retry-after 1h\n backoff-retry-after 2h\n</domain>\n"
    "<virtual-mta a>\n"
    " <domain static.test>\n  reroute-to-virtual-mta b\n </domain>\n"
    " <domain pooled.test>\n  reroute-to-virtual-mta pl\n </domain>\n"
    " <domain soft.test>\n  backoff-reroute-to-virtual-mta b\n"
    "  backoff-to-normal-after 10m\n </domain>\n"
    "</virtual-mta>\n"
    "<virtual-mta b>\n</virtual-mta>\n<virtual-mta c>\n</virtual-mta>\n"
    "<virtual-mta-pool pl>\n virtual-mta b\n virtual-mta c\n"
    "</virtual-mta-pool>\n"
    "<domain all.test>\n reroute-to-virtual-mta pl\n</domain>\n";

static void
fake_params(void *arg, const char *domain, const char *vmta,
    struct sched_queue_params *out)
{
	struct fake *f = arg;
	const struct conf_vmta *v = conf_vmta_find(f->conf, vmta);

	out->dom = conf_domain_lookup(f->conf, v ? vmta : NULL, domain);
	out->max_smtp_out = out->dom->max_smtp_out;
	out->max_rcpt_per_message = out->dom->max_rcpt_per_message;
	out->nretry = 1;
	out->retry_after[0] = out->dom->retry_after[0];
}

/* A pool picks its members round-robin, as sluiced does. */
static void
fake_select(void *arg, const char *req, char *vmta, size_t vlen, char *pool,
    size_t plen)
{
	struct fake *f = arg;
	const struct conf_pool *p = req ? conf_pool_find(f->conf, req) : NULL;

	pool[0] = '\0';
	if (p == NULL) {
		snprintf(vmta, vlen, "%s", req ? req : "");
		return;
	}
	snprintf(vmta, vlen, "%s", p->members[f->pool_rr++ % p->nmembers]->name);
	snprintf(pool, plen, "%s", req);
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

	for (size_t i = 0; i < n && f->nev < 8; i++, f->nev++) {
		snprintf(f->vmta[f->nev], 32, "%s", ev[i].rcpt->vmta);
		snprintf(f->pool[f->nev], 32, "%s", ev[i].rcpt->pool ?
		    ev[i].rcpt->pool : "");
		snprintf(f->queue[f->nev], 64, "%s", ev[i].queue ?
		    sched_queue_name(ev[i].queue) : "");
		f->kind[f->nev] = (int)ev[i].kind;
	}
}

/* The daemon's rule in small: a pool's recipient in a queue of b while b
 * cannot send goes to c. */
static const char *
fake_repick(void *arg, struct sched_queue *q, const char *pool)
{
	struct fake *f = arg;

	assert_string_equal(pool, "pl");
	return f->b_blocked && strcmp(sched_queue_vmta(q), "b") == 0 ? "c" :
	    NULL;
}

static const struct sched_hooks hooks = {
	.queue_params = fake_params,
	.select_vmta = fake_select,
	.conn_open = fake_conn_open,
	.outcome = fake_outcome,
	.pool_repick = fake_repick,
};

static struct sched *
setup(struct fake *f)
{
	char err[256];
	struct sched_params sp = { 0 };

	memset(f, 0, sizeof(*f));
	f->conf = conf_load_string("test.conf", CONF, err, sizeof(err));
	if (f->conf == NULL)
		fail_msg("%s", err);
	return sched_new(&sp, &hooks, f);
}

static void
teardown(struct fake *f, struct sched *s)
{
	sched_free(s);
	conf_free(f->conf);
}

static void
add(struct sched *s, uint64_t id, const char *rcpt, const char *vmta,
    int64_t now)
{
	struct sched_rcpt_in in = { .addr = rcpt };
	struct sched_msg_in m = { .id = id, .time_queued = T0,
	    .orig = "a@b.test", .vmta = vmta, .nrcpt = 1, .rcpts = &in };

	sched_msg_add(s, &m, now);
}

/* Serve every open connection with one reply code; drops them. */
static void
serve(struct fake *f, struct sched *s, int code, int64_t now)
{
	struct sched_result r = { .code = code, .diag = "smtp;reply" };

	sched_pump_us(s, now * US);
	while (f->nconns > 0) {
		struct sched_conn *c = f->conns[--f->nconns];

		while (sched_conn_next_us(c, now * US) != NULL)
			sched_conn_batch_done(c, &r, now);
		sched_conn_closed(c, now);
	}
}

static uint64_t
nready(struct sched *s, const char *queue)
{
	struct sched_queue *q = sched_queue_find(s, queue);

	return q ? sched_queue_nready(q) : 0;
}

/* reroute-to-virtual-mta b in <virtual-mta a>: delivered as b/no pool; b's
 * own mail for the domain stays (no self-reroute); other domains of a
 * stay in a. */
static void
test_static_vmta(void **state)
{
	struct fake f;
	struct sched *s = setup(&f);

	(void)state;
	add(s, 1, "x@static.test", "a", T0);
	add(s, 2, "y@static.test", "b", T0);
	add(s, 3, "z@other.test", "a", T0);
	assert_int_equal(nready(s, "static.test/a"), 0);
	assert_int_equal(nready(s, "static.test/b"), 2);
	assert_int_equal(nready(s, "other.test/a"), 1);
	serve(&f, s, 250, T0);
	assert_int_equal(f.nev, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f.kind[i], SCHED_DELIVERED);
		if (strcmp(f.queue[i], "other.test/a") == 0) {
			assert_string_equal(f.vmta[i], "a");
			continue;
		}
		assert_string_equal(f.queue[i], "static.test/b");
		assert_string_equal(f.vmta[i], "b");
		assert_string_equal(f.pool[i], "");
	}
	teardown(&f, s);
}

/* A pool target: each message gets a member (round-robin) and vmtaPool is
 * the pool. */
static void
test_static_pool(void **state)
{
	struct fake f;
	struct sched *s = setup(&f);

	(void)state;
	add(s, 1, "x@pooled.test", "a", T0);
	add(s, 2, "y@pooled.test", "a", T0);
	assert_int_equal(nready(s, "pooled.test/a"), 0);
	assert_int_equal(nready(s, "pooled.test/b"), 1);
	assert_int_equal(nready(s, "pooled.test/c"), 1);
	serve(&f, s, 250, T0);
	assert_int_equal(f.nev, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(f.pool[i], "pl");
		assert_true(strcmp(f.vmta[i], "b") == 0 ||
		    strcmp(f.vmta[i], "c") == 0);
	}
	assert_string_not_equal(f.vmta[0], f.vmta[1]);
	teardown(&f, s);
}

/* A global reroute to a pool (no loop: a member keeps what it is picked
 * for): a's mail goes to a member (vmtaPool the pool); a message of b
 * whose pick is b stays in b as it came (no pool). */
static void
test_global_pool(void **state)
{
	struct fake f;
	struct sched *s = setup(&f);

	(void)state;
	add(s, 1, "x@all.test", "a", T0);
	add(s, 2, "y@all.test", "b", T0);
	add(s, 3, "z@all.test", "b", T0);
	assert_int_equal(nready(s, "all.test/a"), 0);
	/* a's message picked b (first pick), b's messages picked c then b:
	 * the one that picked c moved there */
	assert_int_equal(nready(s, "all.test/b"), 2);
	assert_int_equal(nready(s, "all.test/c"), 1);
	serve(&f, s, 250, T0);
	assert_int_equal(f.nev, 3);
	for (int i = 0; i < 3; i++) {
		/* moved: the pool; the one that stayed in b: none */
		assert_string_equal(f.pool[i], strcmp(f.queue[i],
		    "all.test/b") == 0 && f.pool[i][0] == '\0' ? "" : "pl");
		assert_string_equal(f.queue[i] + strlen("all.test/"),
		    f.vmta[i]);
	}
	assert_true(strcmp(f.pool[0], "") == 0 || strcmp(f.pool[1], "") == 0 ||
	    strcmp(f.pool[2], "") == 0);
	teardown(&f, s);
}

/* backoff-reroute: normal mode delivers through a; a 4xx with the queue
 * in backoff: the deferred recipient (t record in soft.test/a) is retried
 * at once in soft.test/b, the ready ones are swept there, new mail goes
 * there; after backoff ends new mail stays in a again. */
static void
test_backoff_reroute(void **state)
{
	struct fake f;
	struct sched *s = setup(&f);
	struct sched_queue *q;
	struct sched_conn *c;
	struct sched_result r = { .code = 421, .diag = "smtp;421 4.7.0 slow" };

	(void)state;
	add(s, 1, "x@soft.test", "a", T0);
	add(s, 2, "y@soft.test", "a", T0);
	q = sched_queue_find(s, "soft.test/a");
	assert_non_null(q);
	assert_int_equal(sched_queue_nready(q), 2);
	sched_pump_us(s, T0 * US);
	assert_true(f.nconns >= 1);
	c = f.conns[0];
	assert_non_null(sched_conn_next_us(c, T0 * US));
	/* the reply put the queue in backoff (delivery.c does this) */
	shape_queue_set_mode(sched_queue_shape(q), sched_queue_params(q)->dom,
	    1, T0 * US);
	sched_conn_batch_done(c, &r, T0);
	assert_int_equal(f.nev, 1);
	assert_int_equal(f.kind[0], SCHED_DEFERRED);
	assert_string_equal(f.queue[0], "soft.test/a");
	assert_string_equal(f.vmta[0], "a");
	/* the same connection gets nothing more: the rest moved to b */
	assert_null(sched_conn_next_us(c, T0 * US));
	assert_int_equal(nready(s, "soft.test/b"), 1);
	while (f.nconns > 0)
		sched_conn_closed(f.conns[--f.nconns], T0);
	add(s, 3, "z@soft.test", "a", T0 + 1);
	sched_pump_us(s, (T0 + 1) * US);	/* the deferral is due now */
	assert_int_equal(nready(s, "soft.test/b"), 3);
	assert_int_equal(sched_queue_nready(q), 0);
	f.nev = 0;
	serve(&f, s, 250, T0 + 1);
	assert_int_equal(f.nev, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f.kind[i], SCHED_DELIVERED);
		assert_string_equal(f.queue[i], "soft.test/b");
		assert_string_equal(f.vmta[i], "b");
	}
	/* backoff-to-normal-after 10m: a's mail stays in a again */
	add(s, 4, "w@soft.test", "a", T0 + 601);
	assert_int_equal(sched_queue_nready(q), 1);
	assert_int_equal(nready(s, "soft.test/b"), 0);
	teardown(&f, s);
}

/* Pool members that cannot send (all source IPs disabled): placing skips
 * them, sched_queue_repick moves their ready pool recipients; recipients
 * that named b itself stay. */
static void
test_pool_repick(void **state)
{
	struct fake f;
	struct sched *s = setup(&f);
	struct sched_queue *qb;

	(void)state;
	add(s, 1, "x@p.test", "pl", T0);	/* picks b */
	add(s, 2, "y@p.test", "pl", T0);	/* picks c */
	add(s, 3, "z@p.test", "b", T0);
	qb = sched_queue_find(s, "p.test/b");
	assert_non_null(qb);
	assert_int_equal(sched_queue_nready(qb), 2);
	f.b_blocked = 1;
	add(s, 4, "w@p.test", "pl", T0);	/* picks b: skipped */
	assert_int_equal(nready(s, "p.test/c"), 2);
	assert_int_equal(sched_queue_repick(qb), 1);
	assert_int_equal(sched_queue_nready(qb), 1);	/* z: no pool */
	assert_int_equal(nready(s, "p.test/c"), 3);
	serve(&f, s, 250, T0);
	assert_int_equal(f.nev, 4);
	for (int i = 0, inb = 0; i < f.nev; i++) {
		if (strcmp(f.queue[i], "p.test/b") == 0) {
			assert_int_equal(inb++, 0);	/* z only */
			assert_string_equal(f.pool[i], "");
			continue;
		}
		assert_string_equal(f.queue[i], "p.test/c");
		assert_string_equal(f.vmta[i], "c");
		assert_string_equal(f.pool[i], "pl");
	}
	teardown(&f, s);
}

/* A reload that adds a reroute sweeps the queue's ready list. */
static void
test_reload_sweeps(void **state)
{
	struct fake f;
	struct sched *s = setup(&f);
	struct conf *old = f.conf;
	char err[256];

	(void)state;
	add(s, 1, "x@later.test", "a", T0);
	add(s, 2, "y@later.test", "a", T0);
	assert_int_equal(nready(s, "later.test/a"), 2);
	f.conf = conf_load_string("test.conf",
	    "<virtual-mta a>\n <domain later.test>\n"
	    "  reroute-to-virtual-mta c\n </domain>\n</virtual-mta>\n"
	    "<virtual-mta c>\n</virtual-mta>\n", err, sizeof(err));
	if (f.conf == NULL)
		fail_msg("%s", err);
	sched_reload(s);
	sched_pump_us(s, T0 * US);
	assert_int_equal(nready(s, "later.test/a"), 0);
	assert_int_equal(nready(s, "later.test/c"), 2);
	teardown(&f, s);
	conf_free(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_vmta),
		cmocka_unit_test(test_static_pool),
		cmocka_unit_test(test_global_pool),
		cmocka_unit_test(test_backoff_reroute),
		cmocka_unit_test(test_reload_sweeps),
		cmocka_unit_test(test_pool_repick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
