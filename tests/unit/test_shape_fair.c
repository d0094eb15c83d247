/*
 * test_shape_fair.c -- fair picking across queues (KumoMTA #321): a queue
 * with 10 ready items next to one with 100k is fully served within its
 * share of the first picks, also when it turns up in the middle of the
 * backlog; queue-priority weights the shares; idle time earns no credit;
 * the heap stays consistent under random ready/not-ready churn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shape/shape.h"

struct q {
	struct shape_fair_ent	e;
	long			items;
	long			served;
};

static void
q_init(struct shape_fair *f, struct q *q, int prio, long items)
{
	memset(q, 0, sizeof(*q));
	shape_fair_ent_init(&q->e, prio, q);
	q->items = items;
	shape_fair_set_ready(f, &q->e, items > 0);
}

/* One pick: serve one item of the chosen queue. */
static struct q *
pick(struct shape_fair *f)
{
	struct shape_fair_ent *e = shape_fair_next(f);
	struct q *q;

	assert_non_null(e);
	q = e->data;
	assert_true(q->items > 0);
	q->items--;
	q->served++;
	if (q->items == 0)
		shape_fair_set_ready(f, &q->e, 0);
	return q;
}

static void
test_fair_small_not_starved(void **state)
{
	struct shape_fair f;
	struct q bulk, tx;

	(void)state;
	shape_fair_init(&f);
	q_init(&f, &bulk, 50, 100000);
	q_init(&f, &tx, 50, 10);
	for (int i = 0; i < 20; i++)
		pick(&f);
	assert_int_equal(tx.items, 0);		/* 10 in its 50 % of 20 */
	assert_int_equal(bulk.served, 10);
	assert_int_equal(shape_fair_nready(&f), 1);
	/* transactional mail arriving in the middle of the backlog */
	for (int i = 0; i < 50000; i++)
		pick(&f);
	tx.items = 10;
	shape_fair_set_ready(&f, &tx.e, 1);
	for (int i = 0; i < 20; i++)
		pick(&f);
	assert_int_equal(tx.items, 0);
	assert_int_equal(tx.served, 20);
	/* even at the lowest priority it is never starved */
	q_init(&f, &tx, 0, 10);
	for (int i = 0; i < 51 * 10; i++)
		pick(&f);
	assert_int_equal(tx.items, 0);
	shape_fair_fini(&f);
}

static void
test_fair_weighted(void **state)
{
	struct shape_fair f;
	struct q hi, lo, mid1, mid2;

	(void)state;
	shape_fair_init(&f);
	q_init(&f, &hi, 100, 1000000);
	q_init(&f, &lo, 0, 1000000);
	for (int i = 0; i < 102 * 100; i++)
		pick(&f);
	assert_in_range(hi.served, 101 * 100 - 2, 101 * 100 + 2);
	assert_in_range(lo.served, 100 - 2, 100 + 2);
	shape_fair_fini(&f);

	shape_fair_init(&f);
	q_init(&f, &mid1, 50, 1000000);
	q_init(&f, &mid2, 50, 1000000);
	q_init(&f, &lo, 0, 1000000);
	for (int i = 0; i < 103 * 50; i++)
		pick(&f);
	assert_in_range(mid1.served, 51 * 50 - 2, 51 * 50 + 2);
	assert_in_range(mid2.served, 51 * 50 - 2, 51 * 50 + 2);
	assert_in_range(lo.served, 50 - 2, 50 + 2);
	/* priority change keeps working */
	shape_fair_ent_set_priority(&lo.e, 50);
	mid1.served = mid2.served = lo.served = 0;
	for (int i = 0; i < 3000; i++)
		pick(&f);
	assert_in_range(lo.served, 990, 1010);
	shape_fair_fini(&f);
}

static void
test_fair_no_hoarding(void **state)
{
	struct shape_fair f;
	struct q a, b;
	int bcount = 0;

	(void)state;
	shape_fair_init(&f);
	q_init(&f, &a, 50, 100000);
	q_init(&f, &b, 50, 0);
	assert_int_equal(shape_fair_nready(&f), 1);
	for (int i = 0; i < 1000; i++)
		assert_ptr_equal(pick(&f), &a);
	b.items = 1000;
	shape_fair_set_ready(&f, &b.e, 1);
	shape_fair_set_ready(&f, &b.e, 1);	/* idempotent */
	assert_int_equal(shape_fair_nready(&f), 2);
	for (int i = 0; i < 10; i++)
		bcount += pick(&f) == &b;
	assert_in_range(bcount, 4, 6);
	shape_fair_set_ready(&f, &a.e, 0);
	shape_fair_set_ready(&f, &b.e, 0);
	shape_fair_set_ready(&f, &b.e, 0);
	assert_null(shape_fair_next(&f));
	shape_fair_fini(&f);
}

static void
test_fair_churn(void **state)
{
	enum { N = 64 };
	struct shape_fair f;
	struct q qs[N];
	uint64_t rng = 7;

	(void)state;
	shape_fair_init(&f);
	for (int i = 0; i < N; i++)
		q_init(&f, &qs[i], (int)(shape_rng_next(&rng) % 101), 0);
	for (int step = 0; step < 20000; step++) {
		struct q *q = &qs[shape_rng_next(&rng) % N];
		struct shape_fair_ent *e;
		size_t nready = 0;

		q->items = (long)(shape_rng_next(&rng) % 3);
		shape_fair_set_ready(&f, &q->e, q->items > 0);
		for (int i = 0; i < N; i++)
			nready += qs[i].e.hidx != SIZE_MAX;
		assert_int_equal(nready, shape_fair_nready(&f));
		if ((e = shape_fair_next(&f)) == NULL) {
			assert_int_equal(nready, 0);
			continue;
		}
		/* the pick had the smallest pass of all ready entries */
		for (int i = 0; i < N; i++)
			if (&qs[i].e != e && qs[i].e.hidx != SIZE_MAX)
				assert_true(e->pass - e->stride <=
				    qs[i].e.pass);
	}
	shape_fair_fini(&f);
	for (int i = 0; i < N; i++)
		assert_true(qs[i].e.hidx == SIZE_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fair_small_not_starved),
		cmocka_unit_test(test_fair_weighted),
		cmocka_unit_test(test_fair_no_hoarding),
		cmocka_unit_test(test_fair_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
