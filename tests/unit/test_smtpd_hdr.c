/*
 * test_smtpd_hdr.c -- unit tests for header rewriting (smtpd_hdr.c):
 * X-Virtual-MTA / job header read and stripped (folded, repeated, other
 * case), Received prepended, Message-Id / Date added only when missing,
 * body bytes untouched, lookalike headers in the body left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtpd/smtpd_hdr.h"

static void
rewrite(const char *in, const struct smtpd_hdr_opts *o, struct sbuf *out,
    struct smtpd_hdr_result *r)
{
	smtpd_hdr_rewrite(in, strlen(in), o, out, r);
}

static void
test_strip_vmta_job(void **state)
{
	struct smtpd_hdr_opts o = { .process_vmta = 1, .process_job = 1 };
	struct smtpd_hdr_result r;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	rewrite("From: a@b\r\nx-virtual-mta:  pool-1 \r\nX-Job: job\r\n 42\r\n"
	    "Subject: s\r\nX-Virtual-MTA: second\r\n\r\nX-Job: body\r\n", &o,
	    &out, &r);
	assert_true(r.have_vmta);
	assert_string_equal(r.vmta, "pool-1");
	assert_true(r.have_job);
	assert_string_equal(r.job, "job 42");
	assert_string_equal(out.p, "From: a@b\r\nSubject: s\r\n\r\n"
	    "X-Job: body\r\n");
	sbuf_fini(&out);
}

static void
test_not_processed(void **state)
{
	static const char in[] = "X-Virtual-MTA: v\r\nX-Job: j\r\n\r\nb\r\n";
	struct smtpd_hdr_opts o = { 0 };
	struct smtpd_hdr_result r;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	rewrite(in, &o, &out, &r);
	assert_false(r.have_vmta);
	assert_false(r.have_job);
	assert_string_equal(out.p, in);
	sbuf_fini(&out);
}

static void
test_custom_job_header(void **state)
{
	struct smtpd_hdr_opts o = { .process_job = 1,
	    .job_header = "X-Campaign" };
	struct smtpd_hdr_result r;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	rewrite("X-Job: keep\r\nX-Campaign: c7\r\n\r\n", &o, &out, &r);
	assert_string_equal(r.job, "c7");
	assert_string_equal(out.p, "X-Job: keep\r\n\r\n");
	sbuf_fini(&out);
}

static void
test_added_headers(void **state)
{
	struct smtpd_hdr_opts o = {
		.received = "Received: by h;\r\n\tdate\r\n",
		.message_id = "<1@h>",
		.date = "Mon, 1 Jan 2024 00:00:00 +0000",
	};
	struct smtpd_hdr_result r;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	rewrite("Subject: s\r\n\r\nbody\r\n", &o, &out, &r);
	assert_string_equal(out.p, "Received: by h;\r\n\tdate\r\n"
	    "Subject: s\r\nMessage-Id: <1@h>\r\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n");
	rewrite("MESSAGE-ID: <x@y>\r\ndate: whenever\r\n\r\nbody\r\n", &o,
	    &out, &r);
	assert_true(r.had_message_id);
	assert_true(r.had_date);
	assert_string_equal(out.p, "Received: by h;\r\n\tdate\r\n"
	    "MESSAGE-ID: <x@y>\r\ndate: whenever\r\n\r\nbody\r\n");
	sbuf_fini(&out);
}

static void
test_no_header_block(void **state)
{
	struct smtpd_hdr_opts o = { .message_id = "<1@h>" };
	struct smtpd_hdr_result r;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	/* First line is not a header field: body starts at once. */
	rewrite("just text: no\r\n", &o, &out, &r);
	assert_string_equal(out.p, "Message-Id: <1@h>\r\njust text: no\r\n");
	rewrite("", &o, &out, &r);
	assert_string_equal(out.p, "Message-Id: <1@h>\r\n");
	sbuf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strip_vmta_job),
		cmocka_unit_test(test_not_processed),
		cmocka_unit_test(test_custom_job_header),
		cmocka_unit_test(test_added_headers),
		cmocka_unit_test(test_no_header_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
