/*
 * test_bounce.c -- bounce classification (built-in PowerMTA-equivalent
 * table, user rules first, catch-all) against hand-picked cases and a
 * table of real diagnostics from the Sisimai corpus
 * (tests/data/bounce/sisimai-diagnostics.tsv), plus RFC 3463 texts.
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
#include "lib/xmalloc.h"

struct bcase {
	const char	*status, *diag, *cat;
};

static const struct bcase builtin_cases[] = {
	{ "2.0.0", "smtp;250 2.0.0 OK relayed to backend", "success" },
	{ "2.6.0", "smtp;250 2.6.0 message accepted", "success" },
	{ "5.1.1", "smtp;550 5.1.1 <x@example.com>: Recipient address "
	    "rejected: User unknown in local recipient table", "bad-mailbox" },
	{ "5.1.1", "smtp;550 5.1.1 The email account that you tried to reach "
	    "does not exist.", "bad-mailbox" },
	{ "5.1.1", "smtp;550 no comment", "bad-mailbox" },
	{ "5.1.2", "smtp;550 5.1.2 host not found", "bad-domain" },
	{ "5.2.2", "smtp;552 5.2.2 Mailbox full", "quota-issues" },
	{ "4.2.2", "smtp;452 4.2.2 The email account that you tried to reach "
	    "is over quota", "quota-issues" },
	{ "5.2.1", "smtp;550 5.2.1 The email account that you tried to reach "
	    "is disabled.", "inactive-mailbox" },
	{ "5.7.1", "smtp;554 5.7.1 Service unavailable; Client host "
	    "[192.0.2.1] blocked using zen.spamhaus.org", "spam-related" },
	{ "5.7.1", "smtp;554 5.7.1 Denied - Spam Suspected", "spam-related" },
	{ "5.7.1", "smtp;550 5.7.1 Unauthenticated email is not accepted "
	    "from this domain", "policy-related" },
	{ "5.7.1", "smtp;554 5.7.1 Message rejected: virus found in "
	    "attachment", "virus-related" },
	{ "5.7.1", "smtp;554 5.7.1 <x@example.com>: Relay access denied",
	    "relaying-issues" },
	{ "4.4.1", "", "no-answer-from-host" },
	{ "4.4.2", "smtp;421 4.4.2 connection dropped", "bad-connection" },
	{ "4.4.7", "smtp;delivery time expired", "message-expired" },
	{ "5.5.1", "smtp;500 5.5.1 command unrecognized", "protocol-errors" },
	{ "5.5.0", "smtp;503 bad sequence of commands", "protocol-errors" },
	{ "5.3.5", "smtp;554 5.3.5 local configuration error",
	    "bad-configuration" },
	{ "5.1.8", "smtp;553 5.1.8 sender domain does not resolve",
	    "invalid-sender" },
	{ "5.1.0", "smtp;553 Sender address rejected: Domain not found",
	    "invalid-sender" },
	{ "5.0.0", "smtp;550 Too many invalid recipients", "other" },
	{ "5.0.0", "smtp;554 something nobody anticipated", "other" },
	/* Status missing: taken from the diagnostic text. */
	{ NULL, "smtp;550 5.1.1 sorry, no mailbox here by that name.",
	    "bad-mailbox" },
	{ "", "smtp;552 5.2.2 sorry", "quota-issues" },
	/* PowerMTA's formatted dsnStatus is accepted as the status. */
	{ "5.4.7 (delivery time expired)", "", "message-expired" },
};

static void
test_builtin(void **state)
{
	char err[256];
	struct bounce_rules *r = bounce_rules_new(NULL, 0, err, sizeof(err));
	size_t bad = 0;

	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < sizeof(builtin_cases) / sizeof(*builtin_cases);
	    i++) {
		const struct bcase *c = &builtin_cases[i];
		const char *got = bounce_classify(r, c->status, c->diag);
		if (strcmp(got, c->cat) != 0) {
			fprintf(stderr, "case %zu: %s;%s -> %s, want %s\n", i,
			    c->status ? c->status : "(null)", c->diag, got,
			    c->cat);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	bounce_rules_free(r);
}

static void
test_user_rules(void **state)
{
	const char *user[] = {
		"  /mailbox unavailable/  bad-mailbox   # comment",
		"/^5\\.7\\.1;.*\\bS3150\\b/ reputation-block",
		"/over quota/ quota-issues",
	};
	const char *bad[] = { "/ok/ other", "/unclosed( bad-mailbox" };
	const char *noslash[] = { "spam spam-related" };
	char err[256];
	struct bounce_rules *r;

	(void)state;
	r = bounce_rules_new(user, 3, err, sizeof(err));
	assert_non_null(r);
	/* The user rule wins over the built-in "spam" rule. */
	assert_string_equal(bounce_classify(r, "5.7.1",
	    "smtp;550 5.7.1 [S3150] spam policy"), "reputation-block");
	assert_string_equal(bounce_classify(r, "5.7.1",
	    "smtp;550 5.7.1 [s3140] spam policy"), "spam-related");
	assert_string_equal(bounce_classify(r, "5.0.0",
	    "smtp;550 MAILBOX UNAVAILABLE"), "bad-mailbox");
	bounce_rules_free(r);
	assert_null(bounce_rules_new(bad, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "line 2:"));
	assert_null(bounce_rules_new(noslash, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1: expected"));
	bounce_rules_free(NULL);
	assert_string_equal(bounce_classify(NULL, "5.1.1", "x"), "other");
}

/*
 * Rows: file, status, diag, sisimai_reason, mapped, expected. Every row
 * must give `expected` (PowerMTA's default-list answer); agreement with
 * the Sisimai-derived `mapped` column is printed, and must stay at the
 * 48 of 73 rows where the two agree.
 */
static void
test_sisimai_table(void **state)
{
	const char *src = getenv("SLUICE_SRC");
	char *path, line[8192], err[256];
	struct bounce_rules *r;
	size_t rows = 0, bad = 0, agree = 0;
	FILE *fp;

	(void)state;
	path = xasprintf("%s/tests/data/bounce/sisimai-diagnostics.tsv",
	    src ? src : ".");
	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	r = bounce_rules_new(NULL, 0, err, sizeof(err));
	assert_non_null(r);
	assert_non_null(fgets(line, sizeof(line), fp));	/* header */
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *s = line, *f[6];
		line[strcspn(line, "\r\n")] = '\0';
		for (int i = 0; i < 6; i++)
			f[i] = strsep(&s, "\t");
		assert_non_null(f[5]);
		const char *got = bounce_classify(r, f[1], f[2]);
		rows++;
		agree += strcmp(got, f[4]) == 0;
		if (strcmp(got, f[5]) != 0) {
			fprintf(stderr, "%s: %s;%s -> %s, want %s (%s)\n",
			    f[0], f[1], f[2], got, f[5], f[3]);
			bad++;
		}
	}
	fclose(fp);
	free(path);
	bounce_rules_free(r);
	fprintf(stderr, "sisimai table: %zu rows, %zu agree with the Sisimai "
	    "reason mapping\n", rows, agree);
	assert_true(rows >= 40);
	assert_int_equal(bad, 0);
	assert_int_equal(agree, 48);
}

static void
test_status_text(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(dsn_status_text("5.1.1"),
	    "bad destination mailbox address");
	dsn_status_format(buf, sizeof(buf), "5.1.1");
	assert_string_equal(buf, "5.1.1 (bad destination mailbox address)");
	dsn_status_format(buf, sizeof(buf), "2.0.0");
	assert_string_equal(buf, "2.0.0 (success)");
	dsn_status_format(buf, sizeof(buf), "4.4.1");
	assert_string_equal(buf, "4.4.1 (no answer from host)");
	dsn_status_format(buf, sizeof(buf), "4.7.0");
	assert_string_equal(buf, "4.7.0 (other or undefined security status)");
	dsn_status_format(buf, sizeof(buf), "5.7.1");
	assert_string_equal(buf, "5.7.1 (delivery not authorized)");
	dsn_status_format(buf, sizeof(buf), "5.1.2");
	assert_string_equal(buf, "5.1.2 (bad destination system: no such "
	    "domain)");
	dsn_status_format(buf, sizeof(buf), "5.2.1");
	assert_string_equal(buf, "5.2.1 (mailbox disabled, not accepting "
	    "messages)");
	dsn_status_format(buf, sizeof(buf), "5.0.0");
	assert_string_equal(buf, "5.0.0 (undefined status)");
	/* Unknown detail: the subject's text. */
	assert_string_equal(dsn_status_text("4.4.99"),
	    "other or undefined network or routing status");
	assert_string_equal(dsn_status_text("5.9.1"), "undefined status");
	dsn_status_format(buf, sizeof(buf), "garbage");
	assert_string_equal(buf, "garbage");
	dsn_status_format(buf, 8, "5.1.1");
	assert_string_equal(buf, "5.1.1 (");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_user_rules),
		cmocka_unit_test(test_sisimai_table),
		cmocka_unit_test(test_status_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
