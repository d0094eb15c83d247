/*
 * test_acctw_rotate.c -- accounting files on disk: size rotation and the
 * acct-YYYY-MM-DD-NNNN names, a header at the start of every file,
 * move-to with acctw_rotate and move-interval, delete-after pruning, and
 * a fresh numbered file after a restart.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "acct/acctw.h"
#include "test_acctw_util.h"

static const char hdr23[] = "type,timeLogged,timeQueued,orig,rcpt,orcpt,"
    "dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,dlvType,"
    "dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,"
    "envId,queue,vmtaPool\r\n";

static void
write_n(struct acctw *w, size_t from, size_t n)
{
	struct acct_event e;
	char rcpt[64];

	memset(&e, 0, sizeof(e));
	e.type = ACCT_R_D;
	e.time_logged = e.time_queued = (int64_t)time(NULL);
	e.v[ACCT_F_ORIG] = "bounce@sender.example";
	e.v[ACCT_F_RCPT] = rcpt;
	e.v[ACCT_F_DSN_ACTION] = "relayed";
	e.v[ACCT_F_DSN_STATUS] = "2.0.0 (success)";
	e.v[ACCT_F_DSN_DIAG] = "smtp;250 2.0.0 OK 1700000000 a1b2c3d4e5f6 - gsmtp";
	e.v[ACCT_F_DSN_MTA] = "gmail-smtp-in.l.google.com (142.250.0.27)";
	e.v[ACCT_F_DLV_ESMTP_AVAILABLE] = "PIPELINING,8BITMIME,SIZE,STARTTLS";
	e.v[ACCT_F_QUEUE] = "gmail.com/vmta1";
	for (size_t i = from; i < from + n; i++) {
		snprintf(rcpt, sizeof(rcpt), "user%07zu@gmail.com", i);
		acctw_write(w, &e);
	}
}

/* Today's expected name for sequence n. */
static char *
expect_name(const char *stem, int n)
{
	char date[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	return xasprintf("%s-%s-%04d.csv", stem, date, n);
}

static void
test_rotate_by_size(void **state)
{
	struct acctw_file f = { .iso_times = 1, .max_size = 1u << 20 };
	char err[256], *dir = tu_mkdtemp(), **v;
	size_t n, total = 0, next = 0;
	struct acctw *w;

	(void)state;
	f.path = xasprintf("%s/acct.csv", dir);
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	write_n(w, 0, 12000);		/* ~3.4 MB */
	acctw_close(w);
	v = tu_list(dir, "acct", &n);
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		char *want = expect_name("acct", (int)i), *p, *s, *q, *e;
		size_t len, lines;

		assert_string_equal(v[i], want);
		p = xasprintf("%s/%s", dir, v[i]);
		s = tu_slurp(p, &len);
		assert_non_null(s);
		assert_true(len <= (1u << 20));
		assert_memory_equal(s, hdr23, sizeof(hdr23) - 1);
		lines = tu_count_lines(s);
		assert_true(lines > 1);
		total += lines - 1;
		/* Records are in order and none is split across files. */
		for (q = s + sizeof(hdr23) - 1; *q; q = e + 2) {
			char rc[64];
			e = memchr(q, '\r', len - (size_t)(q - s));
			assert_non_null(e);
			*e = '\0';
			snprintf(rc, sizeof(rc), ",user%07zu@gmail.com,", next++);
			assert_non_null(strstr(q, rc));
		}
		free(want);
		free(p);
		free(s);
	}
	assert_int_equal(total, 12000);
	tu_list_free(v, n);
	tu_rmrf(dir);
	free(dir);
	free((char *)f.path);
}

static void
touch_old(const char *dir, const char *name, int64_t age)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct timeval tv[2];
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	fputs("type\r\n", fp);
	fclose(fp);
	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - age;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(p, tv), 0);
	free(p);
}

static int
exists(const char *dir, const char *name)
{
	struct stat st;
	char *p = xasprintf("%s/%s", dir, name);
	int r = stat(p, &st) == 0;

	free(p);
	return r;
}

static void
run_prune(int64_t delete_after, int expect_old_gone)
{
	struct acctw_file f = { .iso_times = 1 };
	char err[256], *dir = tu_mkdtemp();
	struct acctw *w;

	f.delete_after = delete_after;
	touch_old(dir, "acct-2001-01-01-0000.csv", 10 * 86400);
	touch_old(dir, "acct-2001-01-02-0003.csv", 9 * 86400);
	touch_old(dir, "acct-2001-01-09-0000.csv", 2 * 86400);
	touch_old(dir, "acct-notes.csv", 30 * 86400);
	touch_old(dir, "other-2001-01-01-0000.csv", 30 * 86400);
	f.path = xasprintf("%s/acct.csv", dir);
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	acctw_close(w);
	assert_int_equal(exists(dir, "acct-2001-01-01-0000.csv"),
	    !expect_old_gone);
	assert_int_equal(exists(dir, "acct-2001-01-02-0003.csv"),
	    !expect_old_gone);
	assert_true(exists(dir, "acct-2001-01-09-0000.csv"));
	assert_true(exists(dir, "acct-notes.csv"));
	assert_true(exists(dir, "other-2001-01-01-0000.csv"));
	tu_rmrf(dir);
	free(dir);
	free((char *)f.path);
}

static void
test_delete_after(void **state)
{
	(void)state;
	run_prune(0, 1);		/* default 8d */
	run_prune(-1, 0);		/* never */
	run_prune(30 * 86400, 0);	/* 30d keeps 10-day-old files */
}

static void
test_move_to_rotate(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	char err[256], *dir = tu_mkdtemp(), *mv, *s, *name;
	size_t len;
	struct acctw *w;

	(void)state;
	mv = xasprintf("%s/done", dir);
	assert_int_equal(mkdir(mv, 0755), 0);
	f.path = xasprintf("%s/acct.csv", dir);
	f.move_to = mv;
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	write_n(w, 0, 10);
	acctw_flush(w);
	acctw_rotate(w);
	write_n(w, 10, 5);
	acctw_flush(w);
	/* The first file was moved; numbering continues past it. */
	name = expect_name("acct", 0);
	assert_true(exists(mv, name));
	assert_false(exists(dir, name));
	free(name);
	name = expect_name("acct", 1);
	assert_true(exists(dir, name));
	free(name);
	s = tu_only_file(mv, "acct-", &len);
	assert_non_null(s);
	assert_memory_equal(s, hdr23, sizeof(hdr23) - 1);
	assert_int_equal(tu_count_lines(s), 11);
	free(s);
	acctw_close(w);			/* moves the second file too */
	name = expect_name("acct", 1);
	assert_true(exists(mv, name));
	free(name);
	tu_rmrf(dir);
	free(dir);
	free(mv);
	free((char *)f.path);
}

static void
test_move_interval(void **state)
{
	struct acctw_file f = { .iso_times = 1, .move_interval = 1 };
	char err[256], *dir = tu_mkdtemp(), *mv, **v;
	size_t n = 0;
	struct acctw *w;

	(void)state;
	mv = xasprintf("%s/done", dir);
	assert_int_equal(mkdir(mv, 0755), 0);
	f.path = xasprintf("%s/acct.csv", dir);
	f.move_to = mv;
	w = acctw_open(&f, 1, err, sizeof(err));
	assert_non_null(w);
	write_n(w, 0, 3);
	acctw_flush(w);
	for (int i = 0; i < 50 && n == 0; i++) {	/* up to 5 s */
		usleep(100000);
		v = tu_list(mv, "acct-", &n);
		tu_list_free(v, n);
	}
	assert_int_equal(n, 1);
	acctw_close(w);
	tu_rmrf(dir);
	free(dir);
	free(mv);
	free((char *)f.path);
}

static void
test_restart_new_file(void **state)
{
	struct acctw_file f = { .iso_times = 1 };
	char err[256], *dir = tu_mkdtemp(), **v;
	struct acctw *w;
	size_t n;

	(void)state;
	f.path = xasprintf("%s/acct.csv", dir);
	for (int round = 0; round < 2; round++) {
		w = acctw_open(&f, 1, err, sizeof(err));
		assert_non_null(w);
		write_n(w, 0, 2);
		acctw_close(w);
	}
	v = tu_list(dir, "acct-", &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		char *want = expect_name("acct", (int)i), *p, *s;
		size_t len;

		assert_string_equal(v[i], want);
		p = xasprintf("%s/%s", dir, v[i]);
		s = tu_slurp(p, &len);
		assert_int_equal(tu_count_lines(s), 3);
		free(want);
		free(p);
		free(s);
	}
	tu_list_free(v, n);
	tu_rmrf(dir);
	free(dir);
	free((char *)f.path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotate_by_size),
		cmocka_unit_test(test_delete_after),
		cmocka_unit_test(test_move_to_rotate),
		cmocka_unit_test(test_move_interval),
		cmocka_unit_test(test_restart_new_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
