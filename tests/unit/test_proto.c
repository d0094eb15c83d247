/*
 * test_proto.c -- accounting schema, timestamp and CSV writer tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/acct_schema.h"
#include "proto/csv.h"

static void
test_default_header(void **state)
{
	const char *want = "type,timeLogged,timeQueued,orig,rcpt,orcpt,"
	    "dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,"
	    "dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,"
	    "vmta,jobId,envId,queue,vmtaPool";
	struct sbuf b;

	(void)state;
	sbuf_init(&b);
	assert_int_equal(acct_default_nfields, 23);
	for (size_t i = 0; i < acct_default_nfields; i++) {
		if (i)
			sbuf_putc(&b, ',');
		sbuf_puts(&b, acct_field_name(acct_default_fields[i]));
	}
	assert_string_equal(b.p, want);
	assert_int_equal(acct_legacy_nfields, 22);
	assert_string_equal(acct_field_name(acct_legacy_fields[3]),
	    "timeImprinted");
	sbuf_fini(&b);
}

static void
test_lookup(void **state)
{
	(void)state;
	assert_int_equal(acct_field_lookup("dsnDiag", 7), ACCT_F_DSN_DIAG);
	assert_int_equal(acct_field_lookup("DSNDIAG", 7), ACCT_F_DSN_DIAG);
	assert_int_equal(acct_field_lookup("nope", 4), -1);
	assert_int_equal(acct_rtype_lookup("tq", 2), ACCT_R_TQ);
	assert_int_equal(acct_rtype_lookup("transient-queue", 15), ACCT_R_TQ);
	assert_int_equal(acct_rtype_lookup("x", 1), -1);
}

static void
test_time(void **state)
{
	char buf[64];
	int64_t t;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(acct_parse_time("2019-02-08 21:54:05+0000", 24, &t), 0);
	assert_int_equal(t, 1549662845);
	acct_format_time(buf, sizeof(buf), t, 1);
	assert_string_equal(buf, "2019-02-08 21:54:05+0000");
	acct_format_time(buf, sizeof(buf), t, 0);
	assert_string_equal(buf, "1549662845");
	assert_int_equal(acct_parse_time("2016-05-29 01:10:51+0200", 24, &t), 0);
	assert_int_equal(t, 1464477051);
	assert_int_equal(acct_parse_time("2016-08-01 14:06:01-0400", 24, &t), 0);
	assert_int_equal(t, 1470074761);
	assert_int_equal(acct_parse_time("1191435989", 10, &t), 0);
	assert_int_equal(t, 1191435989);
	assert_int_equal(acct_parse_time("2019-13-08 21:54:05+0000", 24, &t), -1);
	assert_int_equal(acct_parse_time("garbage", 7, &t), -1);
	setenv("TZ", "EST5EDT", 1);
	tzset();
	acct_format_time(buf, sizeof(buf), 1470074761, 1);
	assert_string_equal(buf, "2016-08-01 14:06:01-0400");
}

static void
test_csv_quote(void **state)
{
	struct sbuf b;
	const char *diag = "smtp;550 5.1.1 no such user <x@y> in \"RCPT TO\", sorry";

	(void)state;
	sbuf_init(&b);
	csv_put_field(&b, "plain value with spaces", 23);
	assert_string_equal(b.p, "plain value with spaces");
	sbuf_reset(&b);
	csv_put_field(&b, diag, strlen(diag));
	assert_string_equal(b.p,
	    "\"smtp;550 5.1.1 no such user <x@y> in \"\"RCPT TO\"\", sorry\"");
	sbuf_reset(&b);
	csv_put_field(&b, "a\r\nb", 4);
	assert_string_equal(b.p, "\"a\r\nb\"");
	sbuf_reset(&b);
	csv_put_field(&b, NULL, 0);
	assert_int_equal(b.len, 0);
	sbuf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_header),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_csv_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
