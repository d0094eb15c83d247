/*
 * test_conf_units.c -- unit syntaxes of the config module: TIME-INTERVAL,
 * sizes, rates, booleans, interval lists, CIDRs, and their formatting.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"

static int64_t
T(const char *s)
{
	int64_t v = -12345;

	assert_int_equal(conf_parse_time(s, &v), 0);
	return v;
}

static void
test_time(void **state)
{
	int64_t v = 7;

	(void)state;
	assert_int_equal(T("10m"), 600);
	assert_int_equal(T("4d12h"), 4 * 86400 + 12 * 3600);
	assert_int_equal(T("1w2d12h"), 7 * 86400 + 2 * 86400 + 12 * 3600);
	assert_int_equal(T("300s"), 300);
	assert_int_equal(T("300"), 300);
	assert_int_equal(T("0"), 0);
	assert_int_equal(T("1H30M"), 5400);
	const char *bad[] = { "", "m", "10x", "-5m", "10m5", "1.5h", "10 m",
	    "99999999999999999999s", "never", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		assert_int_equal(conf_parse_time(bad[i], &v), -1);
		assert_int_equal(v, 7);	/* untouched on failure */
	}
}

static void
test_size(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(conf_parse_size("250M", &v), 0);
	assert_int_equal(v, 250ULL * 1024 * 1024);
	assert_int_equal(conf_parse_size("1g", &v), 0);
	assert_int_equal(v, 1024ULL * 1024 * 1024);
	assert_int_equal(conf_parse_size("512k", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(conf_parse_size("2t", &v), 0);
	assert_int_equal(v, 2ULL << 40);
	assert_int_equal(conf_parse_size("100b", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(conf_parse_size("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(conf_parse_size("10MB", &v), -1);
	assert_int_equal(conf_parse_size("M", &v), -1);
	assert_int_equal(conf_parse_size("5x", &v), -1);
	assert_int_equal(conf_parse_size("-1k", &v), -1);
	assert_int_equal(conf_parse_size("99999999999999t", &v), -1);
}

static void
test_rate(void **state)
{
	struct conf_rate r;
	char buf[64];

	(void)state;
	assert_int_equal(conf_parse_rate("83/10m", &r), 0);
	assert_int_equal(r.n, 83);
	assert_int_equal(r.per, 600);
	conf_format_rate(buf, sizeof(buf), &r);
	assert_string_equal(buf, "83/10m");
	assert_int_equal(conf_parse_rate("100/15min", &r), 0);
	assert_int_equal(r.per, 900);
	assert_int_equal(conf_parse_rate("6/sec", &r), 0);
	assert_int_equal(r.per, 1);
	conf_format_rate(buf, sizeof(buf), &r);
	assert_string_equal(buf, "6/s");
	assert_int_equal(conf_parse_rate("1000/day", &r), 0);
	assert_int_equal(r.per, 86400);
	assert_int_equal(conf_parse_rate("5/hr", &r), 0);
	assert_int_equal(r.per, 3600);
	assert_int_equal(conf_parse_rate("5/h", &r), 0);
	assert_int_equal(conf_parse_rate("5/2d", &r), 0);
	assert_int_equal(r.per, 2 * 86400);
	assert_int_equal(conf_parse_rate("unlimited", &r), 0);
	assert_true(conf_rate_unlimited(&r));
	conf_format_rate(buf, sizeof(buf), &r);
	assert_string_equal(buf, "unlimited");
	assert_int_equal(conf_parse_rate("0", &r), 0);
	assert_false(conf_rate_unlimited(&r));
	assert_int_equal(r.n, 0);
	const char *bad[] = { "5", "5/", "5/x", "/m", "5/0m", "5/10", "5/mm",
	    "a/m", "5/m/", NULL };
	for (int i = 0; bad[i] != NULL; i++)
		assert_int_equal(conf_parse_rate(bad[i], &r), -1);
}

static void
test_bool(void **state)
{
	int b = 5;

	(void)state;
	assert_int_equal(conf_parse_bool("yes", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(conf_parse_bool("false", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(conf_parse_bool("TRUE", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(conf_parse_bool("no", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(conf_parse_bool("1", &b), -1);
	assert_int_equal(conf_parse_bool("on", &b), -1);
	assert_int_equal(conf_parse_bool("", &b), -1);
}

static void
test_list(void **state)
{
	int64_t v[CONF_MAX_RETRY];
	char buf[512];

	(void)state;
	assert_int_equal(conf_parse_time_list("10m,10m,1h,4h", v, 30), 4);
	assert_int_equal(v[2], 3600);
	assert_int_equal(v[3], 14400);
	assert_int_equal(conf_parse_time_list("10m, 20m", v, 30), 2);
	assert_int_equal(v[1], 1200);
	assert_int_equal(conf_parse_time_list("10m,,1h", v, 30), -1);
	assert_int_equal(conf_parse_time_list("10m,x", v, 30), -1);
	assert_int_equal(conf_parse_time_list("10m,", v, 30), -1);
	buf[0] = '\0';
	for (int i = 0; i < 30; i++)
		strcat(buf, i ? ",1m" : "1m");
	assert_int_equal(conf_parse_time_list(buf, v, 30), 30);
	strcat(buf, ",1m");
	assert_int_equal(conf_parse_time_list(buf, v, 30), -1);
}

static void
test_format_time(void **state)
{
	char buf[64];

	(void)state;
	conf_format_time(buf, sizeof(buf), 4 * 86400 + 12 * 3600);
	assert_string_equal(buf, "4d12h");
	conf_format_time(buf, sizeof(buf), CONF_NEVER);
	assert_string_equal(buf, "never");
	conf_format_time(buf, sizeof(buf), 9 * 86400 + 61);
	assert_string_equal(buf, "1w2d1m1s");
}

static void
sa4(struct sockaddr_in *s, const char *ip)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
}

static void
sa6(struct sockaddr_in6 *s, const char *ip)
{
	memset(s, 0, sizeof(*s));
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
}

static void
test_cidr(void **state)
{
	struct conf_cidr c;
	struct sockaddr_in a;
	struct sockaddr_in6 b;

	(void)state;
	assert_int_equal(conf_cidr_parse("10/8", &c), 0);
	assert_int_equal(c.bits, 8);
	sa4(&a, "10.200.1.1");
	assert_true(conf_cidr_match(&c, (struct sockaddr *)&a));
	sa4(&a, "11.0.0.1");
	assert_false(conf_cidr_match(&c, (struct sockaddr *)&a));
	sa6(&b, "::ffff:10.1.2.3");	/* v4-mapped matches as IPv4 */
	assert_true(conf_cidr_match(&c, (struct sockaddr *)&b));
	assert_int_equal(conf_cidr_parse("0/0", &c), 0);
	assert_true(c.any);
	sa6(&b, "2001:db8::1");
	assert_true(conf_cidr_match(&c, (struct sockaddr *)&b));
	assert_int_equal(conf_cidr_parse("2001:db8::/32", &c), 0);
	assert_true(conf_cidr_match(&c, (struct sockaddr *)&b));
	sa6(&b, "2001:db9::1");
	assert_false(conf_cidr_match(&c, (struct sockaddr *)&b));
	assert_int_equal(conf_cidr_parse("192.168.1.77/24", &c), 0);
	sa4(&a, "192.168.1.5");
	assert_true(conf_cidr_match(&c, (struct sockaddr *)&a));
	assert_int_equal(conf_cidr_parse("127.0.0.1", &c), 0);
	assert_int_equal(c.bits, 32);
	assert_int_equal(conf_cidr_parse("10/33", &c), -1);
	assert_int_equal(conf_cidr_parse("10", &c), -1);
	assert_int_equal(conf_cidr_parse("1.2.3.4.5/8", &c), -1);
	assert_int_equal(conf_cidr_parse("::1/129", &c), -1);
	assert_int_equal(conf_cidr_parse("feeder", &c), -1);
	assert_int_equal(conf_cidr_parse("10/x", &c), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_cidr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
