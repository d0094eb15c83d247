/*
 * test_shape_rate.c -- GCRA pacing under a simulated clock: 600/min comes
 * out as one event per 100 ms (every sliding minute within +-5 %, exactly
 * 10/s after the start), bursts stay within the 1 % tolerance after idle
 * spells, fractional intervals are exact in the long run, unlimited and
 * "0" rates, batch takes, and switching to a backoff rate keeps state.
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
#define MS(x)	((int64_t)(x) * 1000)

/* Greedy caller: takes every event as soon as allowed, arriving `late`
 * microseconds after the time shape_rate_next() announced (pseudo-random
 * in [0, late)). Records event times; returns the count. */
static size_t
run_greedy(struct shape_rate *r, int64_t start, int64_t end, int64_t late,
    int64_t *ev, size_t max)
{
	uint64_t rng = 42;
	int64_t now = start;
	size_t n = 0;

	while (n < max) {
		int64_t t = shape_rate_next(r, now);

		if (t == SHAPE_NEVER)
			break;
		if (late > 0)
			t += (int64_t)(shape_rng_next(&rng) % (uint64_t)late);
		if (t < now)
			t = now;
		if (t >= end)
			break;
		now = t;
		assert_int_equal(shape_rate_take(r, now), 1);
		ev[n++] = now;
	}
	return n;
}

/* Count of events in [from, from + len) via binary search (ev sorted). */
static size_t
count_in(const int64_t *ev, size_t n, int64_t from, int64_t len)
{
	size_t lo = 0, hi = n, a, b;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ev[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	a = lo;
	hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ev[mid] < from + len)
			lo = mid + 1;
		else
			hi = mid;
	}
	b = lo;
	return b - a;
}

static void
check_600_per_min(int64_t late)
{
	struct conf_rate cr = { 600, 60 };
	struct shape_rate r;
	size_t max = 40000, n;
	int64_t *ev = calloc(max, sizeof(*ev));
	int64_t t0 = S(1700000000);

	assert_non_null(ev);
	shape_rate_init(&r, &cr);
	n = run_greedy(&r, t0, t0 + S(3600), late, ev, max);
	/* exactly 10/s long-run: 35400 in the last 59 minutes, plus the
	 * start-up burst (at most 1 % = 6 early events) */
	assert_int_equal(count_in(ev, n, t0 + S(60), S(3540)), 35400);
	assert_true(n >= 36000 && n <= 36007);
	/* every sliding 60 s window (10 ms grid) within +-5 % of 600 */
	for (int64_t w = t0; w + S(60) <= t0 + S(3600); w += MS(10)) {
		size_t c = count_in(ev, n, w, S(60));
		assert_in_range(c, 570, 630);
		if (late == 0)
			assert_in_range(c, 600, 607);
	}
	/* no boundary burst: any 1 s holds at most 10 + the tolerance */
	for (int64_t w = t0; w + S(1) <= t0 + S(3600); w += MS(10))
		assert_true(count_in(ev, n, w, S(1)) <= 17);
	/* after the start every 1 s window holds exactly 10 */
	if (late == 0)
		for (int64_t w = t0 + S(1); w + S(1) <= t0 + S(3600);
		    w += MS(10))
			assert_int_equal(count_in(ev, n, w, S(1)), 10);
	free(ev);
}

static void
test_rate_600_per_min_smooth(void **state)
{
	(void)state;
	check_600_per_min(0);
}

static void
test_rate_600_per_min_late_caller(void **state)
{
	(void)state;
	check_600_per_min(MS(30));	/* timer fires up to 30 ms late */
}

static void
test_rate_idle_burst_bounded(void **state)
{
	struct conf_rate cr = { 600, 60 };
	struct shape_rate r;
	int64_t now = S(1000), k;

	(void)state;
	shape_rate_init(&r, &cr);
	assert_int_equal(shape_rate_avail(&r, now, 1000), 7);
	assert_int_equal(shape_rate_take_n(&r, now, 1000), 7);
	assert_int_equal(shape_rate_avail(&r, now, 1000), 0);
	assert_int_equal(shape_rate_take(&r, now), 0);
	assert_int_equal(shape_rate_next(&r, now), now + MS(100));
	assert_int_equal(shape_rate_take(&r, now + MS(99)), 0);
	assert_int_equal(shape_rate_take(&r, now + MS(100)), 1);
	/* idle 10 minutes: the credit does not accumulate beyond tau */
	now += S(600);
	k = shape_rate_take_n(&r, now, 100000);
	assert_int_equal(k, 7);
	assert_int_equal(shape_rate_next(&r, now), now + MS(100));
}

static void
test_rate_fraction_exact(void **state)
{
	struct conf_rate seven = { 7, 1 }, slow = { 83, 600 };
	struct shape_rate r;
	size_t max = 20000, n;
	int64_t *ev = calloc(max, sizeof(*ev));

	(void)state;
	assert_non_null(ev);
	shape_rate_init(&r, &seven);
	n = run_greedy(&r, 0, S(1001), 0, ev, max);
	assert_int_equal(count_in(ev, n, S(1), S(1000)), 7000);
	/* 83/10m: interval 7.228915 s, no burst tolerance (n < 100) */
	shape_rate_init(&r, &slow);
	assert_int_equal(r.tau, 0);
	n = run_greedy(&r, 0, S(36000), 0, ev, max);
	assert_int_equal(n, (size_t)((36000 * 83 + 599) / 600));
	for (int64_t w = 0; w + S(600) <= S(36000); w += S(1))
		assert_in_range(count_in(ev, n, w, S(600)), 82, 84);
	assert_int_equal(count_in(ev, n, 0, S(6000)), 830);
	free(ev);
}

static void
test_rate_unlimited_and_zero(void **state)
{
	struct conf_rate unl = { 0, 0 }, zero = { 0, 1 };
	struct shape_rate r;

	(void)state;
	shape_rate_init(&r, &unl);
	assert_int_equal(r.kind, SHAPE_RATE_UNLIMITED);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(shape_rate_take(&r, 5), 1);
	assert_int_equal(shape_rate_next(&r, 5), 5);
	assert_int_equal(shape_rate_avail(&r, 5, 1000), 1000);
	assert_int_equal(shape_rate_take_n(&r, 5, 1000), 1000);

	shape_rate_init(&r, &zero);
	assert_int_equal(r.kind, SHAPE_RATE_NONE);
	assert_int_equal(shape_rate_take(&r, S(10)), 0);
	assert_int_equal(shape_rate_take_n(&r, S(10), 5), 0);
	assert_int_equal(shape_rate_avail(&r, S(10), 5), 0);
	assert_true(shape_rate_next(&r, S(10)) == SHAPE_NEVER);
}

static void
test_rate_very_fast(void **state)
{
	struct conf_rate cr = { 10000000, 1 };	/* 10 per microsecond */
	struct shape_rate r;
	int64_t total = 0;

	(void)state;
	shape_rate_init(&r, &cr);
	assert_int_equal(r.T, 0);
	for (int64_t now = 0; now < 1000; now++)
		total += shape_rate_take_n(&r, now, 1000);
	assert_in_range(total, 10000, 10030);
}

static void
test_rate_switch_keeps_state(void **state)
{
	struct conf_rate normal = { 600, 60 }, backoff = { 60, 60 };
	struct shape_rate r;
	int64_t now = S(100);

	(void)state;
	shape_rate_init(&r, &normal);
	assert_int_equal(shape_rate_take_n(&r, now, 1000), 7);
	/* into backoff: the pending arrival time is kept, so no new burst;
	 * spacing becomes one second */
	shape_rate_set(&r, &backoff, now);
	assert_int_equal(shape_rate_take(&r, now), 0);
	now = shape_rate_next(&r, now);
	assert_int_equal(now, S(100) + MS(700));
	assert_int_equal(shape_rate_take(&r, now), 1);
	assert_int_equal(shape_rate_next(&r, now), now + S(1));
	assert_int_equal(shape_rate_take(&r, now + MS(500)), 0);
	/* back to normal: the faster rate applies at once */
	shape_rate_set(&r, &normal, now + MS(10));
	assert_int_equal(shape_rate_next(&r, now + MS(10)),
	    now + MS(10));
	assert_int_equal(shape_rate_take(&r, now + MS(10)), 1);
	/* into "0" and out again */
	shape_rate_set(&r, &(struct conf_rate){ 0, 1 }, now);
	assert_true(shape_rate_next(&r, now) == SHAPE_NEVER);
	shape_rate_set(&r, &normal, now + S(5));
	assert_int_equal(shape_rate_take(&r, now + S(5)), 1);
}

/* A scheduler with one-second timers: with the tolerance raised to its
 * granularity the long-run rate is still exact and no minute bursts. */
static void
test_rate_coarse_caller(void **state)
{
	struct conf_rate cr = { 600, 60 };
	struct shape_rate r;
	size_t max = 40000, n = 0;
	int64_t *ev = calloc(max, sizeof(*ev));

	(void)state;
	assert_non_null(ev);
	shape_rate_init(&r, &cr);
	shape_rate_set_granularity(&r, S(1));
	assert_int_equal(r.tau, S(1));
	for (int64_t now = 0; now < S(3600); now += S(1)) {
		int64_t k = shape_rate_take_n(&r, now, 1000);

		assert_true(k <= 11);
		while (k-- > 0)
			ev[n++] = now;
	}
	assert_int_equal(count_in(ev, n, S(60), S(3540)), 35400);
	for (int64_t w = 0; w + S(60) <= S(3600); w += S(1))
		assert_in_range(count_in(ev, n, w, S(60)), 600, 611);
	/* the granularity survives a rate switch */
	shape_rate_set(&r, &(struct conf_rate){ 60, 60 }, S(3600));
	assert_int_equal(r.tau, S(1));
	free(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_600_per_min_smooth),
		cmocka_unit_test(test_rate_600_per_min_late_caller),
		cmocka_unit_test(test_rate_idle_burst_bounded),
		cmocka_unit_test(test_rate_fraction_exact),
		cmocka_unit_test(test_rate_unlimited_and_zero),
		cmocka_unit_test(test_rate_very_fast),
		cmocka_unit_test(test_rate_switch_keeps_state),
		cmocka_unit_test(test_rate_coarse_caller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
