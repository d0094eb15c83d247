/*
 * test_spool_fault.c -- the durability promise under failure:
 *  - injected ENOSPC / torn writes / fdatasync errors: callbacks get the
 *    errno, later submits fail while the spool is in failed state, nothing
 *    unacknowledged is reported as stored, and the spool recovers once the
 *    disk works again;
 *  - a child process submitting in a loop is SIGKILLed at a random moment:
 *    every id it saw acknowledged must be recovered.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

#include <event2/event.h>

#include "lib/xmalloc.h"
#include "spool/spool.h"
#include "test_spool_util.h"

/* ---- fault injection ---- */

struct fault {
	int	 mode;		/* 0 off, 1 fail, 2 torn (write half, fail) */
	int	 err;
	int	 sync_fail;	/* fail fdatasync with EIO */
	int	 writes;	/* write calls seen */
};

static long
fault_write(int fd, const void *buf, size_t len, void *arg)
{
	struct fault *f = arg;

	__atomic_add_fetch(&f->writes, 1, __ATOMIC_SEQ_CST);
	switch (__atomic_load_n(&f->mode, __ATOMIC_SEQ_CST)) {
	case 1:
		errno = f->err;
		return -1;
	case 2:
		if (len > 1) {
			/* a partial write, then the error on the rest */
			if (write(fd, buf, len / 2) < 0)
				return -1;
			__atomic_store_n(&f->mode, 1, __ATOMIC_SEQ_CST);
			return (long)(len / 2);
		}
		errno = f->err;
		return -1;
	default:
		return (long)write(fd, buf, len);
	}
}

static int
fault_sync(int fd, void *arg)
{
	struct fault *f = arg;

	if (__atomic_load_n(&f->sync_fail, __ATOMIC_SEQ_CST)) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

static void
submit_many(struct spool *s, unsigned first, unsigned n, struct tsp_acks *a)
{
	struct tsp_msg tm;

	for (unsigned i = first; i < first + n; i++) {
		tsp_msg_fill(&tm, i, 1, 2000);
		assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, a), 0);
		tsp_msg_free(&tm);
	}
}

/* Recovered ids must be exactly the acknowledged ones (strict) or a
 * superset of them (!strict). */
static void
check_recovered(struct event_base *base, const char *dir,
    const struct tsp_acks *a, int strict)
{
	struct tsp_recs recs = { 0 };
	struct spool *s = tsp_open(base, dir, 0);
	char err[256];
	size_t nok = 0;

	assert_true(spool_recover(s, tsp_rec_cb, &recs, err, sizeof(err)) >=
	    0);
	for (size_t i = 0; i < a->n; i++) {
		const struct tsp_rec *r = tsp_recs_find(&recs, a->ids[i]);

		if (a->errs[i] == 0) {
			nok++;
			if (r == NULL)
				fail_msg("acknowledged id %016llx lost",
				    (unsigned long long)a->ids[i]);
		} else if (strict && r != NULL)
			fail_msg("failed id %016llx was recovered",
			    (unsigned long long)a->ids[i]);
	}
	if (strict)
		assert_int_equal(recs.n, nok);
	spool_close(s);
	tsp_recs_free(&recs);
}

static void
write_failure_case(int mode, int sync_fail)
{
	struct event_base *base = event_base_new();
	struct fault fl = { 0, ENOSPC, 0, 0 };
	struct tsp_acks acks = { 0 };
	char *dir = tsp_mkdtemp();
	struct tsp_msg tm;
	struct spool *s;
	size_t nfail = 0;

	s = tsp_open(base, dir, 0);
	spool_set_test_hooks(s, fault_write, fault_sync, &fl);
	submit_many(s, 0, 20, &acks);
	spool_flush(s);
	assert_int_equal(acks.n, 20);

	__atomic_store_n(&fl.mode, mode, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fl.sync_fail, sync_fail, __ATOMIC_SEQ_CST);
	submit_many(s, 20, 30, &acks);
	spool_flush(s);
	assert_int_equal(acks.n, 50);
	for (size_t i = 20; i < 50; i++) {
		if (acks.errs[i] != 0) {
			assert_int_equal(acks.errs[i], sync_fail ? EIO :
			    ENOSPC);
			nfail++;
		}
	}
	assert_true(nfail > 0);
	/* failed state: refused without a callback */
	tsp_msg_fill(&tm, 77, 1, 10);
	assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), -1);
	assert_int_equal(acks.n, 50);

	/* the disk comes back; after retry_ms the spool accepts again */
	__atomic_store_n(&fl.mode, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fl.sync_fail, 0, __ATOMIC_SEQ_CST);
	usleep(80 * 1000);
	assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
	tsp_msg_free(&tm);
	submit_many(s, 100, 10, &acks);
	spool_flush(s);
	assert_int_equal(acks.n, 61);
	for (size_t i = 50; i < 61; i++)
		assert_int_equal(acks.errs[i], 0);
	spool_close(s);
	check_recovered(base, dir, &acks, 1);
	tsp_acks_free(&acks);
	tsp_rmtree(dir);
	event_base_free(base);
}

static void
test_enospc(void **state)
{
	(void)state;
	write_failure_case(1, 0);
}

static void
test_torn_write(void **state)
{
	(void)state;
	write_failure_case(2, 0);
}

static void
test_sync_failure(void **state)
{
	(void)state;
	write_failure_case(0, 1);
}

/* ---- crash consistency ---- */

struct child {
	struct spool	*s;
	int		 fd;
	unsigned	 seq;
	unsigned	 inflight;
};

static void child_submit(struct child *c);

static void
child_ack(int err, uint64_t id, void *arg)
{
	struct child *c = arg;
	uint64_t rec[2] = { id, 0 };

	c->inflight--;
	if (err == 0) {
		if (write(c->fd, rec, sizeof(rec)) != sizeof(rec))
			_exit(3);
		/* finish every third message: it may or may not come back */
		if (id % 3 == 0) {
			rec[1] = 1;
			if (write(c->fd, rec, sizeof(rec)) != sizeof(rec))
				_exit(3);
			(void)spool_rcpt_done(c->s, id, 0);
		}
	}
	child_submit(c);
}

static void
child_submit(struct child *c)
{
	struct tsp_msg tm;

	while (c->inflight < 64) {
		tsp_msg_fill(&tm, c->seq, 1, 1500 + c->seq % 3000);
		c->seq++;
		if (spool_submit(c->s, &tm.m, child_ack, c) == 0)
			c->inflight++;
		tsp_msg_free(&tm);
	}
}

static _Noreturn void
child_main(const char *dir, int fd)
{
	struct event_base *base = event_base_new();
	struct spool_params p = { .dir = dir, .segment_size = 256 * 1024 };
	struct child c = { 0 };
	char err[256];

	c.fd = fd;
	c.s = spool_open(base, &p, err, sizeof(err));
	if (c.s == NULL || spool_recover(c.s, NULL, NULL, err,
	    sizeof(err)) < 0)
		_exit(2);
	child_submit(&c);
	event_base_dispatch(base);
	_exit(4);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read (id, kind) pairs until the deadline (or EOF when deadline < 0). */
static void
parent_read(int fd, struct tsp_acks *a, int64_t deadline)
{
	uint64_t rec[2];
	struct pollfd pfd = { fd, POLLIN, 0 };
	static char part[16];
	static size_t npart;
	ssize_t n;

	for (;;) {
		int wait = deadline < 0 ? 1000 : (int)(deadline - now_ms());

		if (deadline >= 0 && wait <= 0)
			return;
		if (poll(&pfd, 1, wait) <= 0)
			return;
		n = read(fd, part + npart, sizeof(part) - npart);
		if (n <= 0)
			return;
		npart += (size_t)n;
		if (npart < sizeof(part))
			continue;
		memcpy(rec, part, sizeof(rec));
		npart = 0;
		/* kind 0: acknowledged (err 0); kind 1: marked done (err 1) */
		tsp_ack_cb(rec[1] ? 1 : 0, rec[0], a);
	}
}

static void
crash_round(unsigned seed)
{
	struct event_base *base = event_base_new();
	struct tsp_acks acks = { 0 }, want = { 0 };
	char *dir = tsp_mkdtemp();
	int pfd[2], status;
	unsigned delay;
	pid_t pid;

	srandom(seed);
	delay = 100 + (unsigned)(random() % 500);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		child_main(dir, pfd[1]);
	}
	close(pfd[1]);
	/* The random delay counts from the child's first event, so a slow
	 * start on a loaded machine cannot leave the round with nothing to
	 * check; the first event may take up to 30 s. */
	for (int64_t end = now_ms() + 30000; acks.n == 0 && now_ms() < end;)
		parent_read(pfd[0], &acks, now_ms() + 50);
	parent_read(pfd[0], &acks, now_ms() + delay);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	parent_read(pfd[0], &acks, -1);
	close(pfd[0]);
	print_message("crash seed %u after %u ms: %zu events\n", seed, delay,
	    acks.n);
	assert_true(acks.n > 0);
	/* expected: acknowledged ids not later marked done */
	for (size_t i = 0; i < acks.n; i++) {
		int done = 0;

		if (acks.errs[i] != 0)
			continue;
		for (size_t j = i + 1; j < acks.n && j < i + 200; j++)
			if (acks.ids[j] == acks.ids[i] && acks.errs[j])
				done = 1;
		if (!done)
			tsp_ack_cb(0, acks.ids[i], &want);
	}
	check_recovered(base, dir, &want, 0);
	tsp_acks_free(&acks);
	tsp_acks_free(&want);
	tsp_rmtree(dir);
	event_base_free(base);
}

static void
test_crash_consistency(void **state)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	(void)state;
	if (getenv("SPOOL_CRASH_SEED") != NULL)
		seed = (unsigned)strtoul(getenv("SPOOL_CRASH_SEED"), NULL, 10);
	for (unsigned r = 0; r < 4; r++)
		crash_round(seed + r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_torn_write),
		cmocka_unit_test(test_sync_failure),
		cmocka_unit_test(test_crash_consistency),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
