/*
 * test_analyser_diag.c -- dsnDiag clustering keys and classes, the ISP
 * map (built-in and user rules), the time-in-queue histogram and the hash
 * table's key cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyser/an_agg.h"
#include "analyser/an_diag.h"
#include "analyser/an_hash.h"
#include "analyser/an_isp.h"

static const char *
norm(const char *s)
{
	static char out[AN_DIAG_KEYMAX + 1];

	an_diag_normalise(s, strlen(s), out, sizeof(out));
	return out;
}

static void
test_normalise_same_cluster(void **state)
{
	const char *a = "smtp;421-4.7.0 [192.0.2.10 15] Our system has "
	    "detected an unusual rate of mail a640si1234567qkh.123 - gsmtp";
	const char *b = "smtp;421-4.7.0 [198.51.100.7 22] Our system has "
	    "detected an unusual rate of mail x9si99887766abc.77 - gsmtp";
	char ka[AN_DIAG_KEYMAX + 1];

	(void)state;
	snprintf(ka, sizeof(ka), "%s", norm(a));
	assert_string_equal(ka, norm(b));
	assert_string_equal(ka, "421-4.7.0 [<ip> #] Our system has detected "
	    "an unusual rate of mail <id> - gsmtp");
	assert_string_equal(norm("550 5.1.1 <john.doe@example.com>: user "
	    "unknown"), "550 5.1.1 <<email>>: user unknown");
	assert_string_equal(norm("451 4.7.1 queue id DEADBEEF01 try\r\n again"),
	    "451 4.7.1 queue id <hex> try again");
	assert_string_equal(norm("421 4.7.0 [TSS04] Messages from 203.0.113.5 "
	    "temporarily deferred"), "421 4.7.0 [TSS04] Messages from <ip> "
	    "temporarily deferred");
	assert_string_equal(norm("421 RP-001 (2001:db8::1) slow"),
	    "421 RP-001 (<ip>) slow");
}

static void
test_normalise_bounded(void **state)
{
	char big[2000], out[AN_DIAG_KEYMAX + 1];

	(void)state;
	memset(big, 'a', sizeof(big));
	for (size_t i = 7; i < sizeof(big); i += 8)
		big[i] = ' ';
	assert_int_equal(an_diag_normalise(big, sizeof(big), out,
	    sizeof(out)), AN_DIAG_KEYMAX);
	assert_int_equal(strlen(out), AN_DIAG_KEYMAX);
	assert_int_equal(an_diag_normalise("", 0, out, sizeof(out)), 0);
}

static void
test_classify(void **state)
{
	static const struct {
		const char *status, *diag;
		enum an_dclass want;
	} cases[] = {
		{ "4.2.1", "421 4.2.1 rate limited, try later", AN_DC_RATE },
		{ "4.7.0", "421 4.7.0 too many messages from your IP rate",
		    AN_DC_RATE },
		{ "4.7.0", "421-4.7.0 Try again later, closing connection. (code)",
		    AN_DC_REPUTATION },
		{ "4.7.0", "421 4.7.0 RP-001 The IP you're sending from has "
		    "been blocked", AN_DC_REPUTATION },
		{ "4.7.0", "421 4.7.0 [TSS04] Messages from 1.2.3.4 temporarily "
		    "deferred due to user complaints", AN_DC_REPUTATION },
		{ "4.7.28", "421-4.7.28 [1.2.3.4] Our system has detected...",
		    AN_DC_AUTH },
		{ "5.7.26", "550 5.7.26 This message fails to pass DMARC checks",
		    AN_DC_AUTH },
		{ "4.7.1", "451 4.7.1 Greylisting in action, please come back "
		    "later", AN_DC_GREYLIST },
		{ "4.2.0", "450 4.2.0 <a@b>: Recipient address rejected: "
		    "Greylisted", AN_DC_GREYLIST },
		{ "4.7.0", "451 4.7.0 Please try again later", AN_DC_GREYLIST },
		{ "5.7.1", "550 5.7.1 [1.2.3.4] Our system has detected that "
		    "this message is likely spam", AN_DC_CONTENT },
		{ "5.1.1", "550 5.1.1 The email account that you tried to reach "
		    "does not exist", AN_DC_MAILBOX },
		{ "5.2.2", "552 5.2.2 Mailbox full", AN_DC_QUOTA },
		{ "5.7.1", "550 5.7.1 Unfortunately, messages from [1.2.3.4] "
		    "weren't sent. Please contact your Internet service provider "
		    "since part of their network is on our block list (S3150)",
		    AN_DC_REPUTATION },
		{ "5.7.1", "554 5.7.1 Service unavailable; client host denied",
		    AN_DC_POLICY },
		{ "4.4.1", "", AN_DC_CONNECTION },
		{ "", "250 is not a failure", AN_DC_OTHER },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum an_dclass c = an_diag_classify(cases[i].status,
		    strlen(cases[i].status), cases[i].diag,
		    strlen(cases[i].diag));
		if (c != cases[i].want)
			fail_msg("case %zu '%s': got %s want %s", i,
			    cases[i].diag, an_dclass_name(c),
			    an_dclass_name(cases[i].want));
	}
	for (int c = 0; c < AN_DC__COUNT; c++)
		assert_true(strlen(an_dclass_action(c)) > 10);
}

static int
isp_of(const struct an_isp_map *m, const char *d)
{
	return an_isp_lookup(m, d, strlen(d));
}

static void
test_isp_map(void **state)
{
	struct an_isp_map m;
	char path[] = "/tmp/an_ispmap_XXXXXX";
	int fd;
	FILE *f;

	(void)state;
	an_isp_map_init(&m);
	assert_string_equal(m.names[isp_of(&m, "gmail.com")], "Gmail");
	assert_string_equal(m.names[isp_of(&m, "googlemail.com")], "Gmail");
	assert_string_equal(m.names[isp_of(&m, "hotmail.co.uk")], "Microsoft");
	assert_string_equal(m.names[isp_of(&m, "live.fr")], "Microsoft");
	assert_string_equal(m.names[isp_of(&m, "msn.com")], "Microsoft");
	assert_string_equal(m.names[isp_of(&m, "yahoo.co.jp")], "Yahoo");
	assert_string_equal(m.names[isp_of(&m, "aol.com")], "Yahoo");
	assert_string_equal(m.names[isp_of(&m, "ymail.com")], "Yahoo");
	assert_int_equal(isp_of(&m, "live.example.org"), 0);
	assert_int_equal(isp_of(&m, "notgmail.com"), 0);
	assert_int_equal(isp_of(&m, "example.com"), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# corp\nexample.com  Example Corp\n*.edu University\n"
	    "gmail.com Google Consumer\n");
	fclose(f);
	assert_int_equal(an_isp_map_load(&m, path), 0);
	assert_string_equal(m.names[isp_of(&m, "example.com")], "Example Corp");
	assert_string_equal(m.names[isp_of(&m, "mx.example.com")],
	    "Example Corp");
	assert_string_equal(m.names[isp_of(&m, "cs.mit.edu")], "University");
	assert_string_equal(m.names[isp_of(&m, "gmail.com")],
	    "Google Consumer");
	f = fopen(path, "w");
	fprintf(f, "lonelypattern\n");
	fclose(f);
	assert_int_equal(an_isp_map_load(&m, path), -1);
	unlink(path);
	an_isp_map_fini(&m);
}

static void
test_hist_quantiles(void **state)
{
	struct an_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (int i = 1; i <= 1000; i++)
		an_hist_add(&h, i);
	assert_true(an_hist_quantile(&h, 0.5) > 440 &&
	    an_hist_quantile(&h, 0.5) < 570);
	assert_true(an_hist_quantile(&h, 0.99) > 880);
	assert_true(an_hist_quantile(&h, 1.0) <= 1000);
	an_hist_add(&h, -5);
	assert_int_equal(h.bins[0], 1);
}

static void
test_htab_cap(void **state)
{
	struct an_htab t;
	char k[32];

	(void)state;
	an_htab_init(&t, sizeof(uint64_t), 100);
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(k, sizeof(k), "key%d", i);
		(*(uint64_t *)an_htab_val(&t, an_htab_get(&t, k, (size_t)n)))++;
	}
	assert_int_equal(t.n, 101);
	long o = an_htab_find(&t, AN_HTAB_OVERFLOW, strlen(AN_HTAB_OVERFLOW));
	assert_true(o >= 0);
	assert_int_equal(*(uint64_t *)an_htab_val(&t, (size_t)o), 9900);
	assert_int_equal(an_htab_find(&t, "key5", 4), 5);
	an_htab_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise_same_cluster),
		cmocka_unit_test(test_normalise_bounded),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_isp_map),
		cmocka_unit_test(test_hist_quantiles),
		cmocka_unit_test(test_htab_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
