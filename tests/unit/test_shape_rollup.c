/*
 * test_shape_rollup.c -- MX rollup mapping: all lowest-preference MXs must
 * match one rollup name (exact or *.suffix, case and trailing dot
 * ignored); fewer DNS MXs than configured exact entries, a mix of
 * providers, or disable-mx-rollup give no rollup; lookup through a parsed
 * <mx-rollup-list>.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shape/shape.h"

static const struct conf_rollup R[] = {
	{ "mx1.hotmail.com", "hotmail.rollup", 0 },
	{ "mx2.hotmail.com", "hotmail.rollup", 0 },
	{ "mx3.hotmail.com", "hotmail.rollup", 0 },
	{ "*.mail.protection.outlook.com", "outlook.rollup", 1 },
	{ "mta5.am0.yahoodns.net", "yahoo.rollup", 0 },
	{ "mta6.am0.yahoodns.net", "yahoo.rollup", 0 },
	{ "*.am0.yahoodns.net", "yahoo.rollup", 0 },
};
#define NR	(sizeof(R) / sizeof(R[0]))

#define M(...)	((const char *const[]){ __VA_ARGS__ })
#define NM(...)	(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *))
#define MATCH(dis, ...)	shape_rollup_match(R, NR, dis, M(__VA_ARGS__), \
	NM(__VA_ARGS__))

static void
test_rollup_exact(void **state)
{
	(void)state;
	assert_string_equal(MATCH(0, "mx1.hotmail.com", "mx2.hotmail.com",
	    "mx3.hotmail.com"), "hotmail.rollup");
	assert_string_equal(MATCH(0, "MX3.Hotmail.COM.", "mx1.hotmail.com.",
	    "mx2.HOTMAIL.com"), "hotmail.rollup");
	/* DNS returned fewer lowest-preference MXs than configured */
	assert_null(MATCH(0, "mx1.hotmail.com"));
	assert_null(MATCH(0, "mx1.hotmail.com", "mx2.hotmail.com"));
	/* one MX not in the list */
	assert_null(MATCH(0, "mx1.hotmail.com", "mx2.hotmail.com",
	    "mx3.hotmail.com", "mx4.hotmail.com"));
	assert_null(MATCH(1, "mx1.hotmail.com", "mx2.hotmail.com",
	    "mx3.hotmail.com"));
	assert_null(shape_rollup_match(R, NR, 0, NULL, 0));
	assert_null(shape_rollup_match(R, 0, 0, M("mx1.hotmail.com"), 1));
}

static void
test_rollup_wildcard(void **state)
{
	(void)state;
	assert_string_equal(MATCH(0,
	    "example-com.mail.protection.outlook.com"), "outlook.rollup");
	assert_string_equal(MATCH(0, "a-b.mail.protection.outlook.com.",
	    "c-d.MAIL.protection.outlook.com"), "outlook.rollup");
	assert_null(MATCH(0, "mail.protection.outlook.com"));
	assert_null(MATCH(0, "evilmail.protection.outlook.com"));
	assert_null(MATCH(0, "x.mail.protection.outlook.com.evil.test"));
	/* providers mixed at the lowest preference: no rollup */
	assert_null(MATCH(0, "mx1.hotmail.com", "mx2.hotmail.com",
	    "mx3.hotmail.com", "x.mail.protection.outlook.com"));
	/* exact + wildcard entries of one name: 2 exact configured */
	assert_string_equal(MATCH(0, "mta7.am0.yahoodns.net",
	    "mta5.am0.yahoodns.net"), "yahoo.rollup");
	assert_null(MATCH(0, "mta7.am0.yahoodns.net"));
}

static void
test_rollup_from_conf(void **state)
{
	char err[256];
	struct conf *c = conf_load_string("r.conf",
	    "<mx-rollup-list>\n"
	    " mx mx1.hotmail.com hotmail.rollup\n"
	    " mx *.mail.protection.outlook.com outlook.rollup rollup-by-ip\n"
	    "</mx-rollup-list>\n"
	    "<domain own.test>\n disable-mx-rollup yes\n</domain>\n",
	    err, sizeof(err));
	const char *const mx[] = { "mx1.hotmail.com." };
	const char *const ol[] = { "own-test.mail.protection.outlook.com" };

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(shape_rollup_queue(c,
	    conf_domain_lookup(c, NULL, "live.com"), mx, 1), "hotmail.rollup");
	assert_string_equal(shape_rollup_queue(c, NULL, ol, 1),
	    "outlook.rollup");
	assert_null(shape_rollup_queue(c,
	    conf_domain_lookup(c, NULL, "own.test"), ol, 1));
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollup_exact),
		cmocka_unit_test(test_rollup_wildcard),
		cmocka_unit_test(test_rollup_from_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
