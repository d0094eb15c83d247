/*
 * test_sched_policy.c -- pure scheduler rules: queue naming, retry-after
 * list (last value repeats), bounce-after expiry, reply-code outcomes,
 * time-interval parsing and the timer min-heap's ordering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sched/sched.h"
#include "sched/sched_heap.h"

static void
test_queue_name(void **state)
{
	char buf[SCHED_NAME_MAX + 1];

	(void)state;
	assert_int_equal(sched_queue_name_format(buf, sizeof(buf),
	    "Example.COM", NULL), 0);
	assert_string_equal(buf, "example.com/{default}");
	assert_int_equal(sched_queue_name_format(buf, sizeof(buf),
	    "gmail.com", "VmtaA"), 0);
	assert_string_equal(buf, "gmail.com/VmtaA");	/* vmta case kept */
	assert_int_equal(sched_queue_name_format(buf, 8, "gmail.com", "v"),
	    -1);
	assert_string_equal(sched_addr_domain("a@b.example"), "b.example");
	assert_string_equal(sched_addr_domain("\"x@y\"@z.org"), "z.org");
	assert_null(sched_addr_domain("nodomain"));
	assert_null(sched_addr_domain("user@"));
	assert_null(sched_addr_domain("@x.org"));
}

static void
test_retry_last_repeats(void **state)
{
	struct sched_queue_params p;

	(void)state;
	sched_queue_params_default(&p);
	assert_int_equal(sched_retry_delay(&p, 1), 600);
	assert_int_equal(sched_retry_delay(&p, 7), 600);
	assert_int_equal(sched_retry_parse(&p, "10m,10m,1h,4h,12h"), 0);
	assert_int_equal(p.nretry, 5);
	assert_int_equal(sched_retry_delay(&p, 1), 600);
	assert_int_equal(sched_retry_delay(&p, 2), 600);
	assert_int_equal(sched_retry_delay(&p, 3), 3600);
	assert_int_equal(sched_retry_delay(&p, 4), 4 * 3600);
	assert_int_equal(sched_retry_delay(&p, 5), 12 * 3600);
	assert_int_equal(sched_retry_delay(&p, 6), 12 * 3600);
	assert_int_equal(sched_retry_delay(&p, 100), 12 * 3600);
	/* attempts 0 (never tried) uses the first value */
	assert_int_equal(sched_retry_delay(&p, 0), 600);
}

static void
test_retry_parse_errors(void **state)
{
	struct sched_queue_params p;
	char big[400];

	(void)state;
	sched_queue_params_default(&p);
	assert_int_equal(sched_retry_parse(&p, "10x"), -1);
	assert_int_equal(sched_retry_parse(&p, ""), -1);
	assert_int_equal(sched_retry_parse(&p, "10m,,1h"), -1);
	assert_int_equal(sched_retry_parse(&p, "0s"), -1);
	/* failures leave the previous list alone */
	assert_int_equal(p.nretry, 1);
	assert_int_equal(p.retry_after[0], 600);
	big[0] = '\0';
	for (int i = 0; i < 31; i++)
		strcat(big, i ? ",1m" : "1m");
	assert_int_equal(sched_retry_parse(&p, big), -1);
	assert_int_equal(sched_retry_parse(&p, " 90s , 2m"), 0);
	assert_int_equal(p.retry_after[0], 90);
	assert_int_equal(p.retry_after[1], 120);
}

static void
test_interval(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(sched_interval_parse("4d12h", &v), 0);
	assert_int_equal(v, 4 * 86400 + 12 * 3600);
	assert_int_equal(sched_interval_parse("1w2d12h30m10s", &v), 0);
	assert_int_equal(v, 7 * 86400 + 2 * 86400 + 12 * 3600 + 1800 + 10);
	assert_int_equal(sched_interval_parse("300", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(sched_interval_parse("5M", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(sched_interval_parse("h", &v), -1);
	assert_int_equal(sched_interval_parse("1h x", &v), -1);
	assert_int_equal(sched_interval_parse("-5m", &v), -1);
}

static void
test_expiry_and_outcomes(void **state)
{
	struct sched_queue_params p;

	(void)state;
	sched_queue_params_default(&p);
	assert_int_equal(p.bounce_after, 4 * 86400 + 12 * 3600);
	assert_int_equal(sched_expiry(&p, 1000), 1000 + p.bounce_after);
	assert_int_equal(p.max_smtp_out, 20);
	assert_int_equal(p.max_rcpt_per_message, 1000);
	assert_int_equal(sched_outcome_for_code(250), SCHED_DELIVERED);
	assert_int_equal(sched_outcome_for_code(251), SCHED_DELIVERED);
	assert_int_equal(sched_outcome_for_code(550), SCHED_BOUNCED);
	assert_int_equal(sched_outcome_for_code(554), SCHED_BOUNCED);
	assert_int_equal(sched_outcome_for_code(451), SCHED_DEFERRED);
	assert_int_equal(sched_outcome_for_code(421), SCHED_DEFERRED);
	assert_int_equal(sched_outcome_for_code(0), SCHED_DEFERRED);
	assert_int_equal(sched_outcome_for_code(354), SCHED_DEFERRED);
}

static void
test_heap_order(void **state)
{
	enum { N = 500 };
	struct sched_heap h;
	struct sched_timer *t = calloc(N, sizeof(*t));
	struct sched_timer *x;
	int64_t last = -1;
	uint64_t lastseq = 0;
	size_t n = 0;

	(void)state;
	sched_heap_init(&h);
	srand(7);
	for (size_t i = 0; i < N; i++) {
		t[i].idx = SIZE_MAX;
		sched_heap_push(&h, &t[i], rand() % 50);
	}
	/* remove every 3rd timer from the middle of the heap */
	for (size_t i = 0; i < N; i += 3)
		sched_heap_remove(&h, &t[i]);
	sched_heap_remove(&h, &t[0]);	/* removing twice is a no-op */
	assert_null(sched_heap_pop_due(&h, -1));
	while ((x = sched_heap_pop_due(&h, 1000)) != NULL) {
		assert_true(x->when >= last);
		if (x->when == last)
			assert_true(x->seq > lastseq);	/* FIFO on ties */
		last = x->when;
		lastseq = x->seq;
		assert_int_equal(x->idx, SIZE_MAX);
		n++;
	}
	assert_int_equal(n, N - (N + 2) / 3);
	assert_null(sched_heap_top(&h));
	sched_heap_fini(&h);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_name),
		cmocka_unit_test(test_retry_last_repeats),
		cmocka_unit_test(test_retry_parse_errors),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_expiry_and_outcomes),
		cmocka_unit_test(test_heap_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
