/*
 * test_bounce_dsn.c -- dsn_build(): required headers and fields, CRLF
 * only, boundary absent from the content, header-only vs full return,
 * and control characters from peers neutralised.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bounce/bounce.h"

static const char orig[] = "From: a@example.org\nTo: b@example.com\n"
    "Subject: hello\nMessage-Id: <m1@example.org>\n\nbody line 1\n"
    "--=_sluice_dsn_ looks like our boundary prefix\nbody line 3\n";

static char *
build(int full, const char *diag, size_t *len)
{
	static struct dsn_rcpt r[2];
	struct dsn_params p = {
		.reporting_mta = "mta1.example.net",
		.from = "MAILER-DAEMON@mta1.example.net",
		.to = "a@example.org", .envid = "ENV123",
		.arrival = 1700000000, .ret_full = full,
		.orig_msg = orig, .orig_len = sizeof(orig) - 1,
		.nrcpt = 2, .rcpts = r, .now = 1700003600,
	};

	memset(r, 0, sizeof(r));
	r[0].rcpt = "b@example.com";
	r[0].orcpt = "rfc822;B@example.com";
	r[0].action = "failed";
	r[0].status = "5.1.1";
	r[0].diag = diag;
	r[0].remote_mta = "mx.example.com";
	r[0].last_attempt = 1700003000;
	r[1].rcpt = "c@example.com";
	r[1].action = "failed";
	r[1].status = "5.4.7";
	return dsn_build(&p, len);
}

static void
test_structure(void **state)
{
	size_t len;
	char *m = build(0, "smtp; 550 5.1.1 user unknown", &len), *b, *e;
	char boundary[80];

	(void)state;
	assert_int_equal(strlen(m), len);
	for (size_t i = 0; i < len; i++)
		if (m[i] == '\n')
			assert_true(i > 0 && m[i - 1] == '\r');
	assert_non_null(strstr(m, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mta1.example.net>\r\n"));
	assert_non_null(strstr(m, "\r\nAuto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(m, "\r\nDate: Tue, 14 Nov 2023 23:13:20 +0000"));
	assert_non_null(strstr(m, "\r\nMessage-Id: <1700003600."));
	assert_non_null(strstr(m, "multipart/report; "
	    "report-type=delivery-status;"));
	assert_non_null(strstr(m, "\r\nReporting-MTA: dns; mta1.example.net\r\n"
	    "Original-Envelope-Id: ENV123\r\nArrival-Date: Tue, 14 Nov 2023 "
	    "22:13:20 +0000\r\n\r\nOriginal-Recipient: rfc822;B@example.com\r\n"
	    "Final-Recipient: rfc822; b@example.com\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.com\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 23:03:20 +0000\r\n\r\n"
	    "Final-Recipient: rfc822; c@example.com\r\nAction: failed\r\n"
	    "Status: 5.4.7\r\n"));
	/* Headers only: the body of the original is not returned. */
	assert_non_null(strstr(m, "Content-Type: text/rfc822-headers"));
	assert_null(strstr(m, "body line 1"));
	assert_non_null(strstr(m, "Subject: hello\r\n"));
	/* The boundary occurs only in the header and the 4 delimiters. */
	b = strstr(m, "boundary=\"");
	assert_non_null(b);
	b += 10;
	e = strchr(b, '"');
	snprintf(boundary, sizeof(boundary), "%.*s", (int)(e - b), b);
	int n = 0;
	for (char *p = m; (p = strstr(p, boundary)) != NULL; p++)
		n++;
	assert_int_equal(n, 1 + 3 + 1);
	free(m);
}

static void
test_full_and_hostile(void **state)
{
	size_t len;
	char *m = build(1, "550 bad\r\nInjected: yes", &len);

	(void)state;
	assert_non_null(strstr(m, "Content-Type: message/rfc822\r\n"));
	assert_non_null(strstr(m, "\r\nbody line 1\r\n--=_sluice_dsn_ looks"));
	/* CR/LF from the peer cannot start a new header line. */
	assert_null(strstr(m, "\r\nInjected: yes"));
	assert_non_null(strstr(m, "Diagnostic-Code: smtp; 550 bad  Injected: "
	    "yes\r\n"));
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_full_and_hostile),
	};

	setenv("TZ", "UTC", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
