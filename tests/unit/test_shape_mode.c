/*
 * test_shape_mode.c -- backoff state machine against a real parsed config:
 * reply rules (mode=backoff with and without a rule backoff-to-normal-after,
 * mode=normal, bounce-rcpt only for 4xx RCPT replies, disable-source-ip
 * with and without reenable-after, skip-mx, bounce-queue, defer-queue),
 * operator commands, leaving on timeout and on delivery, the effective
 * limits in each mode, and the per-queue bundle keeping pacers in step.
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

static const char conf_text[] =
    "<smtp-pattern-list pl>\n"
    " reply /too many connections/ mode=backoff\n"
    " reply /TSS04/ mode=backoff,backoff-to-normal-after=10m\n"
    " reply /all clear/ mode=normal\n"
    " reply /mailbox full/ bounce-rcpt\n"
    " reply /blocked using spamhaus/ disable-source-ip,reenable-after=30m\n"
    " reply /poor reputation/ disable-source-ip\n"
    " reply /try another mx/ skip-mx\n"
    " reply /domain gone/ bounce-queue\n"
    " reply /come back later/ defer-queue,mode=backoff\n"
    "</smtp-pattern-list>\n"
    "<domain *>\n"
    " max-smtp-out 20\n"
    " backoff-max-smtp-out 2\n"
    " max-msg-rate 600/min\n"
    " backoff-max-msg-rate 60/min\n"
    " max-connect-rate 100/min\n"
    " retry-after 10m,20m\n"
    " backoff-retry-after 1h\n"
    " backoff-to-normal-after 2h\n"
    "</domain>\n"
    "<domain example.com>\n"
    " smtp-pattern-list pl\n"
    "</domain>\n"
    "<domain sticky.test>\n"
    " smtp-pattern-list pl\n"
    " backoff-to-normal-after never\n"
    " backoff-to-normal-after-delivery yes\n"
    "</domain>\n"
    "<domain plain.test>\n"
    " max-smtp-out 3\n"
    "</domain>\n";

struct fx {
	struct conf			*c;
	const struct conf_domain	*d;	/* example.com */
	const struct conf_domain	*sticky;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[512];

	assert_non_null(fx);
	fx->c = conf_load_string("shape.conf", conf_text, err, sizeof(err));
	if (fx->c == NULL)
		fail_msg("conf: %s", err);
	fx->d = conf_domain_lookup(fx->c, NULL, "example.com");
	fx->sticky = conf_domain_lookup(fx->c, NULL, "sticky.test");
	assert_non_null(fx->d->smtp_patterns);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	conf_free(fx->c);
	free(fx);
	return 0;
}

static void
test_mode_enter_and_timeout(void **state)
{
	struct fx *fx = *state;
	struct shape_mode m;
	struct shape_action a;

	shape_mode_init(&m, T0);
	assert_false(shape_mode_in_backoff(&m, T0));
	a = shape_mode_on_reply(&m, fx->d, "250 ok", SHAPE_PHASE_RCPT, T0);
	assert_null(a.rule);
	assert_int_equal(a.actions, 0);
	assert_int_equal(a.mode_change, 0);

	a = shape_mode_on_reply(&m, fx->d,
	    "421 4.7.0 Too Many Connections from your IP", SHAPE_PHASE_CONNECT,
	    T0 + S(1));
	assert_non_null(a.rule);
	assert_int_equal(a.mode_change, 1);
	assert_true(a.actions & CONF_ACT_MODE_BACKOFF);
	/* domain backoff-to-normal-after 2h */
	assert_int_equal(a.backoff_until, T0 + S(1) + S(7200));
	assert_true(shape_mode_in_backoff(&m, T0 + S(7200)));
	assert_int_equal(m.cause, SHAPE_CAUSE_RULE);
	/* a second match while in backoff restarts the deadline */
	a = shape_mode_on_reply(&m, fx->d, "421 too many connections",
	    SHAPE_PHASE_CONNECT, T0 + S(3600));
	assert_int_equal(a.mode_change, 0);
	assert_int_equal(m.until, T0 + S(3600) + S(7200));
	assert_int_equal(m.since, T0 + S(1));
	assert_int_equal(shape_mode_tick(&m, T0 + S(3600) + S(7199)), 0);
	assert_false(shape_mode_in_backoff(&m, T0 + S(3600) + S(7200)));
	assert_int_equal(shape_mode_tick(&m, T0 + S(3600) + S(7200)), -1);
	assert_int_equal(m.backoff, 0);
	assert_int_equal(m.cause, SHAPE_CAUSE_TIMEOUT);
	assert_true(m.until == SHAPE_NEVER);
}

static void
test_mode_rule_timeout_priority(void **state)
{
	struct fx *fx = *state;
	struct shape_mode m;
	struct shape_action a;

	shape_mode_init(&m, T0);
	a = shape_mode_on_reply(&m, fx->d,
	    "421 4.7.0 [TSS04] Messages temporarily deferred",
	    SHAPE_PHASE_MAIL, T0);
	assert_int_equal(a.mode_change, 1);
	assert_int_equal(a.backoff_until, T0 + S(600));	/* rule's 10m */
	/* the deadline passes before anyone ticks: the next reply reports
	 * the return to normal */
	a = shape_mode_on_reply(&m, fx->d, "250 ok", SHAPE_PHASE_RCPT,
	    T0 + S(601));
	assert_int_equal(a.mode_change, -1);
	assert_int_equal(m.backoff, 0);
	/* mode=normal rule */
	shape_mode_on_reply(&m, fx->d, "421 too many connections",
	    SHAPE_PHASE_CONNECT, T0 + S(700));
	a = shape_mode_on_reply(&m, fx->d, "250 all clear", SHAPE_PHASE_MAIL,
	    T0 + S(800));
	assert_int_equal(a.mode_change, -1);
	assert_int_equal(m.cause, SHAPE_CAUSE_RULE);
}

static void
test_mode_actions(void **state)
{
	struct fx *fx = *state;
	struct shape_mode m;
	struct shape_action a;

	shape_mode_init(&m, T0);
	a = shape_mode_on_reply(&m, fx->d, "452 4.2.2 Mailbox full",
	    SHAPE_PHASE_RCPT, T0);
	assert_int_equal(a.actions, CONF_ACT_BOUNCE_RCPT);
	/* bounce-rcpt: 4xx RCPT replies only */
	a = shape_mode_on_reply(&m, fx->d, "552 5.2.2 Mailbox full",
	    SHAPE_PHASE_RCPT, T0);
	assert_non_null(a.rule);
	assert_int_equal(a.actions, 0);
	a = shape_mode_on_reply(&m, fx->d, "452 mailbox full",
	    SHAPE_PHASE_DATA, T0);
	assert_int_equal(a.actions, 0);

	a = shape_mode_on_reply(&m, fx->d,
	    "554 5.7.1 Service unavailable; blocked using Spamhaus",
	    SHAPE_PHASE_RCPT, T0);
	assert_int_equal(a.actions, CONF_ACT_DISABLE_SOURCE_IP);
	assert_int_equal(a.reenable_at, T0 + S(1800));
	a = shape_mode_on_reply(&m, fx->d, "550 poor reputation",
	    SHAPE_PHASE_MAIL, T0);
	assert_int_equal(a.reenable_at, T0 + SHAPE_REENABLE_DEFAULT);

	a = shape_mode_on_reply(&m, fx->d, "550 try another MX",
	    SHAPE_PHASE_CONNECT, T0);
	assert_int_equal(a.actions, CONF_ACT_SKIP_MX);
	a = shape_mode_on_reply(&m, fx->d, "550 domain gone",
	    SHAPE_PHASE_RCPT, T0);
	assert_int_equal(a.actions, CONF_ACT_BOUNCE_QUEUE);
	assert_int_equal(m.backoff, 0);
	a = shape_mode_on_reply(&m, fx->d, "451 come back later",
	    SHAPE_PHASE_MAIL, T0);
	assert_int_equal(a.actions, CONF_ACT_DEFER_QUEUE |
	    CONF_ACT_MODE_BACKOFF);
	assert_int_equal(a.mode_change, 1);
	/* no pattern list: nothing */
	a = shape_mode_on_reply(&m,
	    conf_domain_lookup(fx->c, NULL, "plain.test"),
	    "421 too many connections", SHAPE_PHASE_CONNECT, T0);
	assert_null(a.rule);
	assert_null(conf_domain_lookup(fx->c, NULL,
	    "plain.test")->smtp_patterns);
}

static void
test_mode_operator_and_delivery(void **state)
{
	struct fx *fx = *state;
	struct shape_mode m;

	shape_mode_init(&m, T0);
	assert_int_equal(shape_mode_set(&m, fx->sticky, 1, T0), 1);
	assert_int_equal(m.cause, SHAPE_CAUSE_OPERATOR);
	assert_true(m.until == SHAPE_NEVER);	/* never */
	assert_int_equal(shape_mode_set(&m, fx->sticky, 1, T0 + 5), 0);
	assert_true(shape_mode_in_backoff(&m, T0 + S(86400 * 30)));
	assert_int_equal(shape_mode_on_delivery(&m, fx->sticky, T0 + S(9)),
	    -1);
	assert_int_equal(m.cause, SHAPE_CAUSE_DELIVERY);
	assert_int_equal(shape_mode_on_delivery(&m, fx->sticky, T0 + S(9)),
	    0);
	/* example.com: delivery does not end backoff; operator does */
	assert_int_equal(shape_mode_set(&m, fx->d, 1, T0), 1);
	assert_int_equal(m.until, T0 + S(7200));
	assert_int_equal(shape_mode_on_delivery(&m, fx->d, T0 + S(10)), 0);
	assert_true(m.backoff);
	assert_int_equal(shape_mode_set(&m, fx->d, 0, T0 + S(11)), -1);
	assert_int_equal(shape_mode_set(&m, fx->d, 0, T0 + S(12)), 0);
}

static void
test_mode_effective_limits(void **state)
{
	struct fx *fx = *state;
	struct shape_mode m;
	struct shape_limits l;

	shape_mode_init(&m, T0);
	shape_effective_limits(&m, fx->d, T0, &l);
	assert_int_equal(l.backoff, 0);
	assert_int_equal(l.max_smtp_out, 20);
	assert_int_equal(l.max_msg_rate.n, 600);
	assert_int_equal(l.max_msg_rate.per, 60);
	assert_int_equal(l.max_connect_rate.n, 100);
	assert_int_equal(l.retry_after, 600);
	shape_mode_set(&m, fx->d, 1, T0);
	shape_effective_limits(&m, fx->d, T0 + S(1), &l);
	assert_int_equal(l.backoff, 1);
	assert_int_equal(l.max_smtp_out, 2);
	assert_int_equal(l.max_msg_rate.n, 60);
	/* backoff-max-connect-rate unset: follows max-connect-rate */
	assert_int_equal(l.max_connect_rate.n, 100);
	assert_int_equal(l.max_connect_rate.per, 60);
	assert_int_equal(l.retry_after, 3600);
	/* past the deadline (not yet ticked): normal limits */
	shape_effective_limits(&m, fx->d, T0 + S(7200), &l);
	assert_int_equal(l.backoff, 0);
	assert_int_equal(l.max_smtp_out, 20);
}

static void
test_queue_bundle(void **state)
{
	struct fx *fx = *state;
	struct shape_queue q;
	struct shape_action a;
	int64_t now = T0;

	shape_queue_init(&q, fx->d, now);
	/* connections: 100/min -> one per 600 ms (burst 1) */
	assert_int_equal(shape_queue_conn_ready(&q, fx->d, 0, now), now);
	shape_queue_conn_opened(&q, now);
	shape_queue_conn_opened(&q, now);
	assert_int_equal(shape_queue_conn_ready(&q, fx->d, 2, now),
	    now + 600000);
	assert_true(shape_queue_conn_ready(&q, fx->d, 20, now) ==
	    SHAPE_NEVER);
	/* recipients: 600/min -> 7 at once, then one per 100 ms */
	assert_int_equal(shape_queue_rcpt_take(&q, 1000, now), 7);
	assert_int_equal(shape_queue_rcpt_ready(&q, now), now + 100000);
	/* backoff: 2 connections, 60/min */
	a = shape_queue_on_reply(&q, fx->d, "421 too many connections",
	    SHAPE_PHASE_CONNECT, "192.0.2.10", now);
	assert_int_equal(a.mode_change, 1);
	assert_true(shape_queue_conn_ready(&q, fx->d, 2, now + S(1)) ==
	    SHAPE_NEVER);
	now = shape_queue_rcpt_ready(&q, now);
	assert_int_equal(shape_queue_rcpt_take(&q, 1000, now), 1);
	assert_int_equal(shape_queue_rcpt_ready(&q, now), now + S(1));
	/* disable-source-ip is remembered per queue */
	a = shape_queue_on_reply(&q, fx->d, "554 blocked using spamhaus",
	    SHAPE_PHASE_RCPT, "192.0.2.10", now);
	assert_true(shape_srcset_disabled(&q.src_off, "192.0.2.10", now));
	assert_false(shape_srcset_disabled(&q.src_off, "192.0.2.10",
	    now + S(1800)));
	/* timeout: back to normal pacing on the next tick */
	now = T0 + S(7200);
	assert_int_equal(shape_queue_tick(&q, fx->d, now), -1);
	assert_int_equal(q.msg_rate.rate.n, 600);
	assert_int_equal(shape_queue_conn_ready(&q, fx->d, 2, now), now);
	/* operator and delivery paths keep the pacers in step */
	assert_int_equal(shape_queue_set_mode(&q, fx->d, 1, now), 1);
	assert_int_equal(q.msg_rate.rate.n, 60);
	assert_int_equal(shape_queue_on_delivery(&q, fx->d, now), 0);
	shape_queue_reload(&q, fx->sticky, now);
	assert_int_equal(shape_queue_on_delivery(&q, fx->sticky, now), -1);
	assert_int_equal(q.msg_rate.rate.n, 600);
	shape_queue_fini(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_enter_and_timeout),
		cmocka_unit_test(test_mode_rule_timeout_priority),
		cmocka_unit_test(test_mode_actions),
		cmocka_unit_test(test_mode_operator_and_delivery),
		cmocka_unit_test(test_mode_effective_limits),
		cmocka_unit_test(test_queue_bundle),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
