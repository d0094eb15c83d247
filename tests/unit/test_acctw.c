/*
 * test_acctw.c -- accounting writer: record layouts against the PowerMTA
 * User's Guide sample lines (powermta.md §2.6), quoting, union headers,
 * header_X columns, field-list errors, and the non-blocking write path.
 */
#include <sys/resource.h>

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "acct/acctw.h"
#include "test_acctw_util.h"

static int64_t
tm_parse(const char *s)
{
	int64_t t = 0;

	assert_int_equal(acct_parse_time(s, strlen(s), &t), 0);
	return t;
}

/* Open one file in a fresh dir, write the events, close, return text. */
static char *
write_events(struct acctw_file *f, const struct acct_event *ev, size_t n)
{
	char err[256] = "";
	char *dir = tu_mkdtemp(), *path = xasprintf("%s/acct.csv", dir);
	struct acctw *w;
	size_t len;
	char *s;

	f->path = path;
	w = acctw_open(f, 1, err, sizeof(err));
	if (w == NULL)
		fail_msg("acctw_open: %s", err);
	for (size_t i = 0; i < n; i++)
		acctw_write(w, &ev[i]);
	acctw_close(w);
	s = tu_only_file(dir, "acct-", &len);
	assert_non_null(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
	return s;
}

static const char default_header[] = "type,timeLogged,timeQueued,orig,rcpt,"
    "orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,"
    "dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,"
    "jobId,envId,queue";

static void
sample_d(struct acct_event *e)
{
	memset(e, 0, sizeof(*e));
	e->type = ACCT_R_D;
	e->time_logged = tm_parse("2019-02-08 21:54:05+0000");
	e->time_queued = e->time_logged;
	e->v[ACCT_F_ORIG] = "AA-D=1181.com@bounce.bar.com";
	e->v[ACCT_F_RCPT] = "D@1181.com";
	e->v[ACCT_F_DSN_ACTION] = "relayed";
	e->v[ACCT_F_DSN_STATUS] = "2.0.0 (success)";
	e->v[ACCT_F_DSN_DIAG] = "smtp;250 DATA ok";
	e->v[ACCT_F_DSN_MTA] = "foo.int.port25.com (10.1.2.3)";
	e->v[ACCT_F_SRC_TYPE] = "api";
	e->v[ACCT_F_SRC_MTA] = "foo.int.port25.com (127.0.0.1)";
	e->v[ACCT_F_DLV_TYPE] = "smtp";
	e->v[ACCT_F_DLV_SOURCE_IP] = "10.1.2.3";
	e->v[ACCT_F_DLV_DESTINATION_IP] = "10.1.2.3";
	e->v[ACCT_F_DLV_ESMTP_AVAILABLE] = "ENHANCEDSTATUSCODES,8BITMIME,SMTPUTF8";
	e->v[ACCT_F_DLV_SIZE] = "41159";
	e->v[ACCT_F_VMTA] = "vmta48";
	e->v[ACCT_F_JOB_ID] = "JoBID29546016861868";
	e->v[ACCT_F_QUEUE] = "1181.com/vmta48";
}

static const char sample_d_line[] = "d,2019-02-08 21:54:05+0000,"
    "2019-02-08 21:54:05+0000,AA-D=1181.com@bounce.bar.com,D@1181.com,,"
    "relayed,2.0.0 (success),smtp;250 DATA ok,foo.int.port25.com "
    "(10.1.2.3),,api,foo.int.port25.com (127.0.0.1),smtp,10.1.2.3,10.1.2.3,"
    "\"ENHANCEDSTATUSCODES,8BITMIME,SMTPUTF8\",41159,vmta48,"
    "JoBID29546016861868,,1181.com/vmta48";

static void
sample_b(struct acct_event *e)
{
	memset(e, 0, sizeof(*e));
	e->type = ACCT_R_B;
	e->time_logged = tm_parse("2019-02-08 21:53:41+0000");
	e->time_queued = e->time_logged;
	e->v[ACCT_F_ORIG] = "CB-A=yahoo.com@bounce.bar.com";
	e->v[ACCT_F_RCPT] = "A@yahoo.com";
	e->v[ACCT_F_DSN_ACTION] = "failed";
	e->v[ACCT_F_DSN_STATUS] = "5.7.1 (delivery not authorized)";
	e->v[ACCT_F_DSN_DIAG] = "smtp;554 5.7.1 Denied - Spam Suspected - "
	    "http://www.w357sfhsjhf873.net/services/spamwatch/blocked.php";
	e->v[ACCT_F_DSN_MTA] = "foo.int.bar.com (10.1.2.3)";
	e->v[ACCT_F_BOUNCE_CAT] = "spam-related";
	e->v[ACCT_F_SRC_TYPE] = "api";
	e->v[ACCT_F_SRC_MTA] = "foo.int.bar.com (127.0.0.1)";
	e->v[ACCT_F_DLV_TYPE] = "smtp";
	e->v[ACCT_F_DLV_SOURCE_IP] = "10.1.2.3";
	e->v[ACCT_F_DLV_DESTINATION_IP] = "10.1.2.3";
	e->v[ACCT_F_DLV_ESMTP_AVAILABLE] = "ENHANCEDSTATUSCODES,8BITMIME,SMTPUTF8";
	e->v[ACCT_F_VMTA] = "vmta18";
	e->v[ACCT_F_QUEUE] = "yahoo.rollup/vmta18";
}

static const char sample_b_line[] = "b,2019-02-08 21:53:41+0000,"
    "2019-02-08 21:53:41+0000,CB-A=yahoo.com@bounce.bar.com,A@yahoo.com,,"
    "failed,5.7.1 (delivery not authorized),smtp;554 5.7.1 Denied - Spam "
    "Suspected - http://www.w357sfhsjhf873.net/services/spamwatch/"
    "blocked.php,foo.int.bar.com (10.1.2.3),spam-related,api,"
    "foo.int.bar.com (127.0.0.1),smtp,10.1.2.3,10.1.2.3,"
    "\"ENHANCEDSTATUSCODES,8BITMIME,SMTPUTF8\",,vmta18,,,yahoo.rollup/vmta18";

/* The guide's d and b samples have 22 columns (no vmtaPool): with
 * "*,!vmtaPool" the output must be byte-identical. */
static void
test_sample_d_b_exact(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	struct acct_event ev[2];
	char *got, *want;

	(void)state;
	f.records = (1u << ACCT_R_D) | (1u << ACCT_R_B);
	f.record_fields[ACCT_R_D] = "*,!vmtaPool";
	f.record_fields[ACCT_R_B] = "*, !vmtaPool";
	sample_d(&ev[0]);
	sample_b(&ev[1]);
	got = write_events(&f, ev, 2);
	want = xasprintf("%s\r\n%s\r\n%s\r\n", default_header, sample_d_line,
	    sample_b_line);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* With the 5.x default "*" (23 fields) the same records end in an empty
 * vmtaPool column, as the guide's t sample does. */
static void
test_sample_default_23(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	struct acct_event ev[2];
	char *got, *want;

	(void)state;
	sample_d(&ev[0]);
	sample_b(&ev[1]);
	ev[1].v[ACCT_F_VMTA_POOL] = "pool1";
	got = write_events(&f, ev, 2);
	want = xasprintf("%s,vmtaPool\r\n%s,\r\n%s,pool1\r\n", default_header,
	    sample_d_line, sample_b_line);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
test_sample_t(void **state)
{
	struct acctw_file f = { .iso_times = 1, .records = 1u << ACCT_R_T };
	struct acct_event e;
	char *got, *want;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.type = ACCT_R_T;
	e.time_logged = e.time_queued = tm_parse("2019-02-08 21:53:54+0000");
	e.v[ACCT_F_ORIG] = "DB.AD.G.AA.AB-DA=yahoo.fr@bounce.bar.com";
	e.v[ACCT_F_RCPT] = "DA@yahoo.fr";
	e.v[ACCT_F_DSN_ACTION] = "delayed";
	e.v[ACCT_F_DSN_STATUS] = "4.7.0 (other or undefined security status)";
	e.v[ACCT_F_DSN_DIAG] = "smtp;421 4.7.0 mx002.roc2.bluetie.com Error: "
	    "too many errors";
	e.v[ACCT_F_DSN_MTA] = "foo.int.bar.com (10.1.2.165)";
	e.v[ACCT_F_BOUNCE_CAT] = "policy-related";
	e.v[ACCT_F_SRC_TYPE] = "api";
	e.v[ACCT_F_SRC_MTA] = "foo.int.bar.com (127.0.0.1)";
	e.v[ACCT_F_DLV_TYPE] = "smtp";
	e.v[ACCT_F_DLV_SOURCE_IP] = "10.59.14.69";
	e.v[ACCT_F_DLV_DESTINATION_IP] = "10.1.2.165";
	e.v[ACCT_F_DLV_ESMTP_AVAILABLE] = "ENHANCEDSTATUSCODES,8BITMIME,SMTPUTF8";
	e.v[ACCT_F_VMTA] = "vmta21";
	e.v[ACCT_F_QUEUE] = "yahoo.rollup/vmta21";
	got = write_events(&f, &e, 1);
	want = xasprintf("%s,vmtaPool\r\n"
	    "t,2019-02-08 21:53:54+0000,2019-02-08 21:53:54+0000,"
	    "DB.AD.G.AA.AB-DA=yahoo.fr@bounce.bar.com,DA@yahoo.fr,,delayed,"
	    "4.7.0 (other or undefined security status),smtp;421 4.7.0 "
	    "mx002.roc2.bluetie.com Error: too many errors,foo.int.bar.com "
	    "(10.1.2.165),policy-related,api,foo.int.bar.com (127.0.0.1),smtp,"
	    "10.59.14.69,10.1.2.165,\"ENHANCEDSTATUSCODES,8BITMIME,SMTPUTF8\","
	    ",vmta21,,,yahoo.rollup/vmta21,\r\n", default_header);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* records d,b (the PowerMTA default): a t event between a d and a b
 * leaves no trace -- not its line, not its columns in the header. */
static void
test_unselected_type_not_written(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	struct acct_event ev[3];
	char *got, *want;

	(void)state;
	f.records = (1u << ACCT_R_D) | (1u << ACCT_R_B);
	sample_d(&ev[0]);
	memset(&ev[1], 0, sizeof(ev[1]));
	ev[1].type = ACCT_R_T;
	ev[1].time_logged = tm_parse("2019-02-08 21:53:54+0000");
	ev[1].v[ACCT_F_RCPT] = "DA@yahoo.fr";
	ev[1].v[ACCT_F_DSN_ACTION] = "delayed";
	ev[1].v[ACCT_F_DSN_DIAG] = "smtp;421 4.7.0 too many errors";
	sample_b(&ev[2]);
	got = write_events(&f, ev, 3);
	want = xasprintf("%s,vmtaPool\r\n%s,\r\n%s,\r\n", default_header,
	    sample_d_line, sample_b_line);
	assert_string_equal(got, want);
	assert_null(strstr(got, "yahoo.fr"));
	free(got);
	free(want);
}

static void
test_sample_tq(void **state)
{
	struct acctw_file f = { .iso_times = 1, .records = 1u << ACCT_R_TQ };
	struct acct_event e;
	char *got;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.type = ACCT_R_TQ;
	e.time_logged = tm_parse("2019-02-08 21:53:39+0000");
	e.v[ACCT_F_DSN_STATUS] = "4.4.1 (no answer from host)";
	e.v[ACCT_F_DSN_MTA] = "mx.xn--bcher-kva.de (87.98.150.101)";
	e.v[ACCT_F_DLV_TYPE] = "smtp";
	e.v[ACCT_F_DLV_SOURCE_IP] = "0.0.0.0";
	e.v[ACCT_F_DLV_DESTINATION_IP] = "87.98.150.101";
	e.v[ACCT_F_VMTA] = "vmta29";
	e.v[ACCT_F_QUEUE] = "b\xc3\xbc" "cher.de/vmta29";
	got = write_events(&f, &e, 1);
	assert_string_equal(got, "type,timeLogged,dsnStatus,dsnDiag,dsnMta,"
	    "dlvType,dlvSourceIp,dlvDestinationIp,vmta,queue\r\n"
	    "tq,2019-02-08 21:53:39+0000,4.4.1 (no answer from host),,"
	    "mx.xn--bcher-kva.de (87.98.150.101),smtp,0.0.0.0,87.98.150.101,"
	    "vmta29,b\xc3\xbc" "cher.de/vmta29\r\n");
	free(got);
}

/* The r sample is from 2010 (-0400, before vmtaPool existed). */
static void
test_sample_r(void **state)
{
	struct acctw_file f = { .iso_times = 1, .records = 1u << ACCT_R_R };
	struct acct_event e;
	char *got;

	(void)state;
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tzset();
	f.record_fields[ACCT_R_R] = "*,!vmtaPool";
	memset(&e, 0, sizeof(e));
	e.type = ACCT_R_R;
	e.time_logged = tm_parse("2010-04-17 16:19:57-0400");
	e.v[ACCT_F_ORIG] = "test@port25.com";
	e.v[ACCT_F_RCPT] = "test@port25.com";
	e.v[ACCT_F_SRC_TYPE] = "smtp";
	e.v[ACCT_F_SRC_MTA] = "tesFeeder (192.168.25.56)";
	e.v[ACCT_F_RCV_SOURCE_IP] = "192.168.25.56";
	e.v[ACCT_F_RCV_DESTINATION_IP] = "192.168.25.11";
	e.v[ACCT_F_VMTA] = "vmta1";
	e.v[ACCT_F_JOB_ID] = "job2";
	e.v[ACCT_F_ENV_ID] = "envid1234";
	got = write_events(&f, &e, 1);
	setenv("TZ", "UTC", 1);
	tzset();
	assert_string_equal(got, "type,timeLogged,orig,rcpt,orcpt,srcType,"
	    "srcMta,rcvSourceIp,rcvDestinationIp,vmta,jobId,envId\r\n"
	    "r,2010-04-17 16:19:57-0400,test@port25.com,test@port25.com,,smtp,"
	    "tesFeeder (192.168.25.56),192.168.25.56,192.168.25.11,vmta1,job2,"
	    "envid1234\r\n");
	free(got);
}

static void
test_quoting(void **state)
{
	struct acctw_file f = { .iso_times = 0 };
	struct acct_event e;
	char *got;

	(void)state;
	f.record_fields[ACCT_R_B] = "rcpt,dsnDiag,bounceCat";
	f.records = 1u << ACCT_R_B;
	memset(&e, 0, sizeof(e));
	e.type = ACCT_R_B;
	e.v[ACCT_F_RCPT] = "x@somedomain.com";
	e.v[ACCT_F_DSN_DIAG] = "smtp;550 5.1.1 no such local recipient: "
	    "<x@somedomain.com> in \"RCPT TO:<x@somedomain.com>\",\r\nsecond";
	e.v[ACCT_F_BOUNCE_CAT] = "bad-mailbox";
	got = write_events(&f, &e, 1);
	assert_string_equal(got, "type,rcpt,dsnDiag,bounceCat\r\n"
	    "b,x@somedomain.com,\"smtp;550 5.1.1 no such local recipient: "
	    "<x@somedomain.com> in \"\"RCPT TO:<x@somedomain.com>\"\",\r\n"
	    "second\",bad-mailbox\r\n");
	free(got);
}

/* UG50a §11.2.9: records d,b with different lists, time_t times. */
static void
test_union_header(void **state)
{
	struct acctw_file f = { .iso_times = 0 };
	struct acct_event e[4];
	char *got;

	(void)state;
	f.records = (1u << ACCT_R_D) | (1u << ACCT_R_B);
	f.record_fields[ACCT_R_D] = "timeLogged,orig,rcpt,dlvSourceIp";
	f.record_fields[ACCT_R_B] = "timeLogged,orig,rcpt,bounceCat";
	memset(e, 0, sizeof(e));
	for (int i = 0; i < 4; i++) {
		e[i].type = i < 2 ? ACCT_R_D : ACCT_R_B;
		e[i].v[ACCT_F_ORIG] = "orig@port25.com";
		e[i].v[ACCT_F_DLV_SOURCE_IP] = "10.0.0.1";
		e[i].v[ACCT_F_BOUNCE_CAT] = "policy-related";
	}
	e[0].time_logged = 1178807903;
	e[1].time_logged = 1178807905;
	e[2].time_logged = e[3].time_logged = 1178807915;
	e[0].v[ACCT_F_RCPT] = "user1@domain.com";
	e[1].v[ACCT_F_RCPT] = "user2@domain.com";
	e[2].v[ACCT_F_RCPT] = "user3@domain.com";
	e[3].v[ACCT_F_RCPT] = "user4@domain.com";
	got = write_events(&f, e, 4);
	assert_string_equal(got, "type,timeLogged,orig,rcpt,dlvSourceIp,"
	    "bounceCat\r\n"
	    "d,1178807903,orig@port25.com,user1@domain.com,10.0.0.1,\r\n"
	    "d,1178807905,orig@port25.com,user2@domain.com,10.0.0.1,\r\n"
	    "b,1178807915,orig@port25.com,user3@domain.com,,policy-related\r\n"
	    "b,1178807915,orig@port25.com,user4@domain.com,,policy-related\r\n");
	free(got);
}

static void
test_header_fields(void **state)
{
	static const char hdrs[] = "From: a@b\r\nMessage-Id:\r\n <id1@x>\r\n"
	    "Subject: hi, there\r\n\r\nMessage-Id: <body@x>\r\n";
	struct acctw_file f = { .iso_times = 1, .records = 1u << ACCT_R_D };
	struct acct_event e[2];
	char *got;

	(void)state;
	f.record_fields[ACCT_R_D] = "rcpt,header_Message-Id,header_subject,"
	    "header_X-None";
	memset(e, 0, sizeof(e));
	e[0].type = e[1].type = ACCT_R_D;
	e[0].v[ACCT_F_RCPT] = "a@x";
	e[0].hdrs = hdrs;
	e[0].hdrs_len = sizeof(hdrs) - 1;
	e[1].v[ACCT_F_RCPT] = "b@x";
	got = write_events(&f, e, 2);
	assert_string_equal(got, "type,rcpt,header_Message-Id,header_subject,"
	    "header_X-None\r\nd,a@x,<id1@x>,\"hi, there\",\r\nd,b@x,,,\r\n");
	free(got);
}

static void
test_bad_fields(void **state)
{
	struct acctw_file f = { .path = "/tmp/x/acct.csv" };
	char err[256] = "";

	(void)state;
	f.record_fields[ACCT_R_D] = "*,nosuchField";
	assert_null(acctw_open(&f, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "record-fields d: unknown field "
	    "'nosuchField'"));
	f.record_fields[ACCT_R_D] = "*,!type";
	assert_null(acctw_open(&f, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot be excluded"));
	f.record_fields[ACCT_R_D] = NULL;
	f.max_size = 1000;
	assert_null(acctw_open(&f, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "minimum 1M"));
	f.max_size = 0;
	/* Missing parent directories are created; one that cannot be
	 * (a path below a regular file) is an error naming the path. */
	f.path = "/dev/null/sluice/acct.csv";
	assert_null(acctw_open(&f, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "/dev/null/sluice"));
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fill_event(struct acct_event *e, char *rcpt, size_t i)
{
	sample_d(e);
	snprintf(rcpt, 32, "user%zu@example.com", i);
	e->v[ACCT_F_RCPT] = rcpt;
}

/* <acct-file a/b/acct.csv> creates a/ and a/b/ on first use. */
static void
test_creates_parent_dirs(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	char err[256], rcpt[32], *dir = tu_mkdtemp(), *sub, *s;
	struct acct_event e;
	struct acctw *w;
	size_t len;

	(void)state;
	f.path = xasprintf("%s/a/b/acct.csv", dir);
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	fill_event(&e, rcpt, 1);
	acctw_write(w, &e);
	acctw_flush(w);
	sub = xasprintf("%s/a/b", dir);
	s = tu_only_file(sub, "acct-", &len);
	assert_non_null(s);
	assert_int_equal(tu_count_lines(s), 2);
	free(s);
	acctw_close(w);
	tu_rmrf(dir);
	free(sub);
	free(dir);
	free((char *)f.path);
}

/* 100k writes must return quickly (no disk I/O on this thread). */
static void
test_nonblocking(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	char err[256], rcpt[32], *dir = tu_mkdtemp(), *s;
	struct acctw_stats st;
	struct acct_event e;
	struct acctw *w;
	double t0, dt;
	size_t len;

	(void)state;
	f.path = xasprintf("%s/acct.csv", dir);
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	t0 = now_sec();
	for (size_t i = 0; i < 100000; i++) {
		fill_event(&e, rcpt, i);
		acctw_write(w, &e);
	}
	dt = now_sec() - t0;
	acctw_flush(w);
	acctw_get_stats(w, &st);
	assert_int_equal(st.queued, 100000);
	assert_int_equal(st.written, 100000);
	assert_int_equal(st.dropped, 0);
	s = tu_only_file(dir, "acct-", &len);
	assert_non_null(s);
	assert_int_equal(tu_count_lines(s), 100001);
	assert_non_null(strstr(s, "user99999@example.com"));
	/* Generous bound for loaded machines and sanitizers: 100 us per
	 * record; the stalled-writer test below is the strict check. */
	assert_true(dt < 10.0);
	free(s);
	acctw_close(w);
	tu_rmrf(dir);
	free(dir);
	free((char *)f.path);
}

/*
 * The writer cannot write at all (RLIMIT_FSIZE makes write(2) fail with
 * EFBIG): acctw_write must still accept all 100k records at once, and
 * once the disk "recovers" every record reaches the file intact.
 */
static void
test_stalled_writer(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	char err[256], rcpt[32], *dir = tu_mkdtemp(), *s;
	struct rlimit old, lim;
	struct acctw_stats st;
	struct acct_event e;
	struct acctw *w;
	double t0, dt;
	size_t len;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	f.path = xasprintf("%s/acct.csv", dir);
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	lim = old;
	lim.rlim_cur = 2000;		/* header + a few records */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	t0 = now_sec();
	for (size_t i = 0; i < 100000; i++) {
		fill_event(&e, rcpt, i);
		acctw_write(w, &e);
	}
	dt = now_sec() - t0;
	acctw_get_stats(w, &st);
	assert_int_equal(st.queued, 100000);
	assert_int_equal(st.dropped, 0);
	assert_true(st.written < 100);
	assert_true(dt < 10.0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	for (int i = 0; i < 20 && st.written < 100000; i++) {
		acctw_flush(w);
		acctw_get_stats(w, &st);
	}
	assert_int_equal(st.written, 100000);
	s = tu_only_file(dir, "acct-", &len);
	assert_non_null(s);
	assert_int_equal(tu_count_lines(s), 100001);
	assert_non_null(strstr(s, "\r\nd,2019-02-08 21:54:05+0000,"
	    "2019-02-08 21:54:05+0000,AA-D=1181.com@bounce.bar.com,"
	    "user99999@example.com,,relayed,"));
	free(s);
	acctw_close(w);
	tu_rmrf(dir);
	free(dir);
	free((char *)f.path);
}

/* A tiny max_pending forces drops; nothing is lost silently. */
static void
test_drop_counted(void **state)
{
	struct acctw_file f = { .iso_times = 1, .max_pending = 4096 };
	char err[256], rcpt[32], *dir = tu_mkdtemp(), *s, big[6000];
	struct acctw_stats st;
	struct acct_event e;
	struct acctw *w;
	size_t len;

	(void)state;
	f.path = xasprintf("%s/acct.csv", dir);
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	/* Each record is larger than the bound, so the buffer holds one
	 * record until the writer takes it. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 0; i < 100000; i++) {
		fill_event(&e, rcpt, i);
		e.v[ACCT_F_DSN_DIAG] = big;
		acctw_write(w, &e);
	}
	acctw_flush(w);
	acctw_get_stats(w, &st);
	assert_int_equal(st.queued + st.dropped, 100000);
	assert_int_equal(st.written, st.queued);
	assert_true(st.dropped > 0);
	s = tu_only_file(dir, "acct-", &len);
	assert_non_null(s);
	assert_int_equal(tu_count_lines(s), st.written + 1);
	free(s);
	acctw_close(w);
	tu_rmrf(dir);
	free(dir);
	free((char *)f.path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_d_b_exact),
		cmocka_unit_test(test_sample_default_23),
		cmocka_unit_test(test_sample_t),
		cmocka_unit_test(test_unselected_type_not_written),
		cmocka_unit_test(test_sample_tq),
		cmocka_unit_test(test_sample_r),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_union_header),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_creates_parent_dirs),
		cmocka_unit_test(test_nonblocking),
		cmocka_unit_test(test_stalled_writer),
		cmocka_unit_test(test_drop_counted),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
