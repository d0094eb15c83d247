/*
 * test_shape_rr.c -- round-robin over source IPs and pool members: even
 * spread, skipping IPs disabled by disable-source-ip until their re-enable
 * time, operator enable, "all disabled" and "no source hosts" results.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shape/shape.h"

#define S(x)	((int64_t)(x) * SHAPE_USEC)
#define T0	S(1700000000)

static int
not_one(size_t i, void *arg)
{
	(void)arg;
	return i != 1;
}

static int
never(size_t i, void *arg)
{
	(void)i;
	(void)arg;
	return 0;
}

static void
test_rr_basic(void **state)
{
	struct shape_rr rr;
	size_t i, seen[3] = { 0 };

	(void)state;
	shape_rr_init(&rr);
	for (int k = 0; k < 3000; k++) {
		assert_int_equal(shape_rr_pick(&rr, 3, NULL, NULL, &i), 0);
		assert_int_equal(i, (size_t)k % 3);
		seen[i]++;
	}
	assert_int_equal(seen[0], 1000);
	assert_int_equal(seen[2], 1000);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(shape_rr_pick(&rr, 3, not_one, NULL, &i), 0);
		assert_int_equal(i, k % 2 ? 2u : 0u);
	}
	assert_int_equal(shape_rr_pick(&rr, 3, never, NULL, &i), -1);
	assert_int_equal(shape_rr_pick(&rr, 0, NULL, NULL, &i), -1);
}

static void
test_src_disable(void **state)
{
	struct conf_source_host h[3] = {
		{ .ip = "192.0.2.1", .host = "a.example" },
		{ .ip = "192.0.2.2", .host = "b.example" },
		{ .ip = "2001:db8::3", .host = "c.example" },
	};
	struct shape_srcset off;
	struct shape_rr rr;
	size_t i;

	(void)state;
	shape_rr_init(&rr);
	shape_srcset_init(&off);
	assert_int_equal(shape_src_pick(&rr, h, 0, &off, T0, &i),
	    SHAPE_SRC_NONE);
	shape_srcset_disable(&off, "192.0.2.2", T0 + S(1800));
	shape_srcset_disable(&off, "192.0.2.2", T0 + S(60)); /* no shorten */
	for (int k = 0; k < 6; k++) {
		assert_int_equal(shape_src_pick(&rr, h, 3, &off, T0 + S(k),
		    &i), SHAPE_SRC_OK);
		assert_int_not_equal(i, 1);
	}
	assert_int_equal(shape_srcset_expire(&off, T0), T0 + S(1800));
	/* re-enabled after 30 minutes: back in the rotation */
	int got1 = 0;
	for (int k = 0; k < 3; k++) {
		assert_int_equal(shape_src_pick(&rr, h, 3, &off,
		    T0 + S(1800), &i), SHAPE_SRC_OK);
		got1 |= i == 1;
	}
	assert_true(got1);
	assert_true(shape_srcset_expire(&off, T0 + S(1800)) == SHAPE_NEVER);
	assert_int_equal(off.n, 0);
	/* all disabled */
	shape_srcset_disable(&off, "192.0.2.1", T0 + S(10));
	shape_srcset_disable(&off, "192.0.2.2", T0 + S(20));
	shape_srcset_disable(&off, "2001:db8::3", SHAPE_NEVER);
	assert_int_equal(shape_src_pick(&rr, h, 3, &off, T0, &i),
	    SHAPE_SRC_ALL_DISABLED);
	assert_int_equal(shape_srcset_expire(&off, T0), T0 + S(10));
	assert_int_equal(shape_srcset_expire(&off, T0 + S(15)), T0 + S(20));
	assert_int_equal(shape_src_pick(&rr, h, 3, &off, T0 + S(15), &i),
	    SHAPE_SRC_OK);
	assert_int_equal(i, 0);
	/* operator enable */
	assert_int_equal(shape_srcset_enable(&off, "2001:db8::3"), 1);
	assert_int_equal(shape_srcset_enable(&off, "2001:db8::3"), 0);
	assert_false(shape_srcset_disabled(&off, "2001:db8::3", T0));
	/* no srcset at all */
	assert_int_equal(shape_src_pick(&rr, h, 3, NULL, T0, &i),
	    SHAPE_SRC_OK);
	shape_srcset_fini(&off);
}

static int
not_b(const struct conf_vmta *v, void *arg)
{
	(void)arg;
	return strcmp(v->name, "b") != 0;
}

static void
test_pool_pick(void **state)
{
	struct conf_vmta a = { .name = "a" }, b = { .name = "b" },
	    c = { .name = "c" };
	const struct conf_vmta *m[3] = { &a, &b, &c };
	struct conf_pool p = { .name = "p", .members = m, .nmembers = 3 };
	struct shape_rr rr;
	const char *want = "abcab";

	(void)state;
	shape_rr_init(&rr);
	for (int k = 0; k < 5; k++)
		assert_int_equal(shape_pool_pick(&rr, &p, NULL, NULL)->name[0],
		    want[k]);
	/* next would be c; skip b */
	assert_string_equal(shape_pool_pick(&rr, &p, not_b, NULL)->name, "c");
	assert_string_equal(shape_pool_pick(&rr, &p, not_b, NULL)->name, "a");
	assert_string_equal(shape_pool_pick(&rr, &p, not_b, NULL)->name, "c");
	p.nmembers = 0;
	assert_null(shape_pool_pick(&rr, &p, NULL, NULL));
}

static void
test_vmta_limits(void **state)
{
	struct shape_vmta v;
	struct conf_rate six = { 6, 1 };

	(void)state;
	shape_vmta_init(&v, 2, &six);
	assert_true(shape_vmta_conn_ok(&v));
	v.nconn = 2;
	assert_false(shape_vmta_conn_ok(&v));
	/* 6/sec: one message every 166.666 ms, no burst (n < 100) */
	assert_int_equal(shape_rate_take_n(&v.msg_rate, T0, 10), 1);
	assert_int_equal(shape_rate_next(&v.msg_rate, T0), T0 + 166667);
	shape_vmta_reload(&v, 0, &(struct conf_rate){ 0, 0 }, T0);
	assert_true(shape_vmta_conn_ok(&v));	/* 0 = unlimited */
	assert_int_equal(shape_rate_take_n(&v.msg_rate, T0, 10), 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rr_basic),
		cmocka_unit_test(test_src_disable),
		cmocka_unit_test(test_pool_pick),
		cmocka_unit_test(test_vmta_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
