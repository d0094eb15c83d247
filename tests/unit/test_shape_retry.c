/*
 * test_shape_retry.c -- retry delays: PowerMTA retry-after list (last value
 * repeats, attempts < 1 means the first), backoff-retry-after in backoff,
 * Sluice's exponential retry-schedule (growth, cap, no overflow, fractional
 * factor) and its jitter (deterministic per rng state, bounded, spread).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shape/shape.h"

static void
dom_list(struct conf_domain *d)
{
	memset(d, 0, sizeof(*d));
	d->retry_after[0] = 600;
	d->retry_after[1] = 1200;
	d->retry_after[2] = 3600;
	d->nretry_after = 3;
	d->backoff_retry_after = 7200;
}

static void
dom_exp(struct conf_domain *d, double factor, int jitter)
{
	dom_list(d);
	d->retry_schedule = (struct conf_retry_schedule){ 1, 300, factor,
	    4 * 3600, jitter };
}

static void
test_retry_list(void **state)
{
	struct conf_domain d;

	(void)state;
	dom_list(&d);
	assert_int_equal(shape_retry_delay(&d, 0, 0, NULL), 600);
	assert_int_equal(shape_retry_delay(&d, 1, 0, NULL), 600);
	assert_int_equal(shape_retry_delay(&d, 2, 0, NULL), 1200);
	assert_int_equal(shape_retry_delay(&d, 3, 0, NULL), 3600);
	assert_int_equal(shape_retry_delay(&d, 4, 0, NULL), 3600);
	assert_int_equal(shape_retry_delay(&d, 1000000, 0, NULL), 3600);
	d.nretry_after = 0;
	assert_int_equal(shape_retry_delay(&d, 2, 0, NULL), 600);
}

static void
test_retry_backoff(void **state)
{
	struct conf_domain d;
	uint64_t rng = 1;

	(void)state;
	dom_list(&d);
	assert_int_equal(shape_retry_delay(&d, 1, 1, NULL), 7200);
	assert_int_equal(shape_retry_delay(&d, 9, 1, NULL), 7200);
	dom_exp(&d, 2.0, 10);
	assert_int_equal(shape_retry_delay(&d, 3, 1, &rng), 7200);
	assert_int_equal(rng, 1);	/* no draw in backoff */
}

static void
test_retry_exponential(void **state)
{
	static const int64_t want[] = { 300, 600, 1200, 2400, 4800, 9600,
	    14400, 14400 };
	struct conf_domain d;

	(void)state;
	dom_exp(&d, 2.0, 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(shape_retry_delay(&d, i + 1, 0, NULL),
		    want[i]);
	assert_int_equal(shape_retry_delay(&d, 0, 0, NULL), 300);
	assert_int_equal(shape_retry_delay(&d, 2000000000, 0, NULL), 14400);
	dom_exp(&d, 1.5, 0);
	assert_int_equal(shape_retry_delay(&d, 2, 0, NULL), 450);
	assert_int_equal(shape_retry_delay(&d, 3, 0, NULL), 675);
	/* jitter configured but no rng: no jitter */
	dom_exp(&d, 2.0, 10);
	assert_int_equal(shape_retry_delay(&d, 2, 0, NULL), 600);
}

static void
test_retry_jitter(void **state)
{
	struct conf_domain d;
	uint64_t a = 12345, b = 12345;
	int64_t lo = INT64_MAX, hi = 0;

	(void)state;
	dom_exp(&d, 2.0, 10);
	for (int i = 0; i < 2000; i++) {
		int64_t x = shape_retry_delay(&d, 1, 0, &a);

		assert_int_equal(x, shape_retry_delay(&d, 1, 0, &b));
		assert_in_range(x, 270, 330);
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	assert_true(lo <= 275 && hi >= 325);	/* actually spread */
	for (int i = 0; i < 2000; i++)		/* at the cap: never above */
		assert_in_range(shape_retry_delay(&d, 50, 0, &a), 12960,
		    14400);
	/* a different seed gives a different sequence */
	a = 1;
	b = 2;
	int same = 0;
	for (int i = 0; i < 100; i++)
		same += shape_retry_delay(&d, 4, 0, &a) ==
		    shape_retry_delay(&d, 4, 0, &b);
	assert_true(same < 20);
}

static void
test_retry_from_conf(void **state)
{
	char err[256];
	struct conf *c = conf_load_string("r.conf",
	    "<domain slow.test>\n"
	    " retry-schedule exponential first=5m factor=3 max=1h jitter=0%\n"
	    "</domain>\n"
	    "<domain list.test>\n retry-after 10m,10m,1h,4h,12h\n"
	    " backoff-retry-after 30m\n</domain>\n", err, sizeof(err));
	const struct conf_domain *d;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	d = conf_domain_lookup(c, NULL, "slow.test");
	assert_int_equal(shape_retry_delay(d, 1, 0, NULL), 300);
	assert_int_equal(shape_retry_delay(d, 2, 0, NULL), 900);
	assert_int_equal(shape_retry_delay(d, 3, 0, NULL), 2700);
	assert_int_equal(shape_retry_delay(d, 4, 0, NULL), 3600);
	d = conf_domain_lookup(c, NULL, "list.test");
	assert_int_equal(shape_retry_delay(d, 3, 0, NULL), 3600);
	assert_int_equal(shape_retry_delay(d, 6, 0, NULL), 12 * 3600);
	assert_int_equal(shape_retry_delay(d, 6, 1, NULL), 1800);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_list),
		cmocka_unit_test(test_retry_backoff),
		cmocka_unit_test(test_retry_exponential),
		cmocka_unit_test(test_retry_jitter),
		cmocka_unit_test(test_retry_from_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
