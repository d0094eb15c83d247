/*
 * test_spool_recover.c -- restart recovery: pending recipients with their
 * retry state and vmta, segment deletion, torn and corrupt tails,
 * compaction.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/xmalloc.h"
#include "spool/spool.h"
#include "test_spool_util.h"

struct fixture {
	struct event_base	*base;
	char			*dir;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->base = event_base_new();
	f->dir = tsp_mkdtemp();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	tsp_rmtree(f->dir);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Submit n messages (seed i, nrcpt, datalen) and wait for their acks. */
static void
submit_n(struct spool *s, unsigned first, unsigned n, size_t nrcpt,
    size_t datalen, struct tsp_acks *acks)
{
	struct tsp_msg tm;
	size_t before = acks->n;

	for (unsigned i = first; i < first + n; i++) {
		tsp_msg_fill(&tm, i, nrcpt, datalen);
		assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, acks), 0);
		tsp_msg_free(&tm);
	}
	spool_flush(s);
	assert_int_equal(acks->n, before + n);
	for (size_t i = before; i < acks->n; i++)
		assert_int_equal(acks->errs[i], 0);
}

static long
reopen_recover(struct fixture *f, struct spool **sp, size_t segsize,
    struct tsp_recs *recs)
{
	char err[256];
	long n;

	*sp = tsp_open(f->base, f->dir, segsize);
	n = spool_recover(*sp, tsp_rec_cb, recs, err, sizeof(err));
	if (n < 0)
		fail_msg("spool_recover: %s", err);
	assert_int_equal((size_t)n, recs->n);
	return n;
}

static void
test_recover_states(void **state)
{
	struct fixture *f = *state;
	struct tsp_acks acks = { 0 };
	struct tsp_recs recs = { 0 };
	struct tsp_msg tm;
	struct spool *s;
	size_t expect = 0;

	s = tsp_open(f->base, f->dir, 0);
	submit_n(s, 0, 50, 3, 700, &acks);
	for (unsigned i = 0; i < 50; i++) {
		uint64_t id = acks.ids[i];

		if (i % 5 == 0) {
			for (uint32_t r = 0; r < 3; r++)
				assert_int_equal(spool_rcpt_done(s, id, r), 0);
			continue;
		}
		expect++;
		if (i % 2 == 0)
			assert_int_equal(spool_rcpt_done(s, id, 0), 0);
		assert_int_equal(spool_rcpt_defer(s, id, 1, 1, 1000 + i), 0);
		assert_int_equal(spool_rcpt_defer(s, id, 1, i, 2000 + i), 0);
	}
	spool_close(s);

	assert_int_equal(reopen_recover(f, &s, 0, &recs), (long)expect);
	for (unsigned i = 0; i < 50; i++) {
		const struct tsp_rec *r = tsp_recs_find(&recs, acks.ids[i]);
		char *data;
		size_t len;

		tsp_msg_fill(&tm, i, 3, 700);
		if (i % 5 == 0) {
			assert_null(r);
			assert_int_equal(spool_read_data(s, acks.ids[i], &data,
			    &len), -1);
			tsp_msg_free(&tm);
			continue;
		}
		assert_non_null(r);
		assert_int_equal(r->nrcpt, 3);
		assert_int_equal(r->datalen, 700);
		assert_int_equal(r->time_queued, tm.m.time_queued);
		assert_string_equal(r->orig, tm.m.orig);
		assert_string_equal(r->addr[2], tm.addr[2]);
		assert_int_equal(r->state[0], i % 2 == 0 ? SPOOL_RCPT_DONE :
		    SPOOL_RCPT_PENDING);
		assert_int_equal(r->state[1], SPOOL_RCPT_PENDING);
		assert_int_equal(r->attempts[1], i);
		assert_int_equal(r->next[1], 2000 + i);
		assert_int_equal(r->attempts[2], 0);
		assert_int_equal(r->next[2], 0);
		assert_int_equal(spool_read_data(s, acks.ids[i], &data, &len),
		    0);
		assert_int_equal(len, 700);
		assert_memory_equal(data, tm.data, 700);
		free(data);
		tsp_msg_free(&tm);
	}
	/* new ids stay above the recovered ones */
	tsp_msg_fill(&tm, 99, 1, 10);
	assert_int_equal(spool_submit(s, &tm.m, NULL, NULL), 0);
	assert_true(tm.m.id > acks.ids[49]);
	tsp_msg_free(&tm);
	spool_close(s);
	tsp_acks_free(&acks);
	tsp_recs_free(&recs);
}

/* Fully delivered messages are not reported and their segments go away. */
static void
test_recover_deletes_segments(void **state)
{
	struct fixture *f = *state;
	struct tsp_acks acks = { 0 };
	struct tsp_recs recs = { 0 };
	struct spool_stats st;
	struct spool *s;

	s = tsp_open(f->base, f->dir, 8192);
	submit_n(s, 0, 40, 1, 3000, &acks);
	for (unsigned i = 0; i < 40; i++)
		if (i != 35)
			assert_int_equal(spool_rcpt_done(s, acks.ids[i], 0), 0);
	spool_close(s);
	assert_true(tsp_count_segs(f->dir) >= 2);

	assert_int_equal(reopen_recover(f, &s, 8192, &recs), 1);
	assert_true(recs.v[0].id == acks.ids[35]);
	spool_get_stats(s, &st);
	assert_int_equal(st.messages, 1);
	assert_int_equal(spool_rcpt_done(s, acks.ids[35], 0), 0);
	spool_close(s);
	tsp_recs_free(&recs);

	assert_int_equal(reopen_recover(f, &s, 8192, &recs), 0);
	spool_close(s);
	assert_int_equal(tsp_count_segs(f->dir), 0);
	tsp_acks_free(&acks);
	tsp_recs_free(&recs);
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

/* Offset of the last record header ("SLSP" magic) in the file. */
static off_t
last_magic(int fd, off_t size)
{
	char *buf = xmalloc((size_t)size);
	off_t off;

	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	for (off = size - 4; off > 0; off--)
		if (memcmp(buf + off, "SLSP", 4) == 0)
			break;
	free(buf);
	assert_true(off > 0);
	return off;
}

/* Damage the tail of the last segment in one of several ways. */
enum damage { CUT_DATA, CUT_HEADER, FLIP_BYTE, ZERO_TAIL };

static void
damage_last(const char *dir, enum damage how)
{
	char *path = tsp_last_seg(dir);
	off_t size = file_size(path);
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	switch (how) {
	case CUT_DATA:
		assert_int_equal(ftruncate(fd, size - 100), 0);
		break;
	case CUT_HEADER:
		assert_int_equal(ftruncate(fd, last_magic(fd, size) + 7), 0);
		break;
	case FLIP_BYTE:
		assert_int_equal(pread(fd, &c, 1, size - 50), 1);
		c ^= 0x20;
		assert_int_equal(pwrite(fd, &c, 1, size - 50), 1);
		break;
	case ZERO_TAIL:
		assert_int_equal(ftruncate(fd, size + 4096), 0);
		break;
	}
	close(fd);
	free(path);
}

static void
torn_case(struct fixture *f, enum damage how)
{
	struct tsp_acks acks = { 0 };
	struct tsp_recs recs = { 0 };
	struct spool *s;
	char *path;
	off_t size;

	s = tsp_open(f->base, f->dir, 0);
	submit_n(s, 0, 20, 2, 1000, &acks);
	spool_close(s);
	damage_last(f->dir, how);

	path = tsp_last_seg(f->dir);
	size = file_size(path);
	assert_int_equal(reopen_recover(f, &s, 0, &recs), 19);
	for (unsigned i = 0; i < 19; i++)
		assert_non_null(tsp_recs_find(&recs, acks.ids[i]));
	assert_null(tsp_recs_find(&recs, acks.ids[19]));
	spool_close(s);
	assert_true(file_size(path) < size);
	tsp_recs_free(&recs);

	/* idempotent: a second restart sees the same 19 */
	assert_int_equal(reopen_recover(f, &s, 0, &recs), 19);
	spool_close(s);
	free(path);
	tsp_acks_free(&acks);
	tsp_recs_free(&recs);
}

static void
test_torn_tail_cut(void **state)
{
	torn_case(*state, CUT_DATA);
}

static void
test_torn_tail_header(void **state)
{
	torn_case(*state, CUT_HEADER);
}

static void
test_torn_tail_flip(void **state)
{
	torn_case(*state, FLIP_BYTE);
}

static void
test_torn_tail_zeros(void **state)
{
	struct fixture *f = *state;
	struct tsp_acks acks = { 0 };
	struct tsp_recs recs = { 0 };
	struct spool *s;
	char *path;
	off_t size;

	/* a crash can leave zero-filled blocks past the last good record */
	s = tsp_open(f->base, f->dir, 0);
	submit_n(s, 0, 5, 1, 100, &acks);
	spool_close(s);
	path = tsp_last_seg(f->dir);
	size = file_size(path);
	damage_last(f->dir, ZERO_TAIL);
	assert_int_equal(reopen_recover(f, &s, 0, &recs), 5);
	spool_close(s);
	assert_int_equal(file_size(path), size);
	free(path);
	tsp_acks_free(&acks);
	tsp_recs_free(&recs);
}

/* Garbage and empty segment files do not crash recovery. */
static void
test_garbage_segments(void **state)
{
	struct fixture *f = *state;
	struct tsp_acks acks = { 0 };
	struct tsp_recs recs = { 0 };
	char path[512], junk[4096];
	struct spool *s;
	int fd;

	s = tsp_open(f->base, f->dir, 0);
	submit_n(s, 0, 3, 1, 100, &acks);
	spool_close(s);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	snprintf(path, sizeof(path), "%s/seg-00000000000000f0.log", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	snprintf(path, sizeof(path), "%s/seg-00000000000000f1.log", f->dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	snprintf(path, sizeof(path), "%s/seg-notasegment.log", f->dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	assert_int_equal(reopen_recover(f, &s, 0, &recs), 3);
	spool_close(s);
	unlink(path);
	tsp_acks_free(&acks);
	tsp_recs_free(&recs);
}

/*
 * One long-deferred message pins the oldest segment; compaction copies it
 * forward so the old segments are deleted, and it still recovers with its
 * state and data.
 */
static void
test_compaction(void **state)
{
	struct fixture *f = *state;
	struct tsp_acks acks = { 0 };
	struct tsp_recs recs = { 0 };
	struct tsp_msg tm;
	struct spool *s;
	char err[128], *data;
	size_t len;

	s = tsp_open(f->base, f->dir, 16384);
	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), 0);
	spool_test_set_compact_age(s, 0);
	submit_n(s, 0, 60, 2, 2000, &acks);
	assert_int_equal(spool_rcpt_done(s, acks.ids[0], 0), 0);
	assert_int_equal(spool_rcpt_defer(s, acks.ids[0], 1, 3, 12345), 0);
	for (unsigned i = 1; i < 60; i++) {
		assert_int_equal(spool_rcpt_done(s, acks.ids[i], 0), 0);
		assert_int_equal(spool_rcpt_done(s, acks.ids[i], 1), 0);
	}
	/* more traffic rolls segments and drives gc */
	submit_n(s, 100, 20, 1, 2000, &acks);
	for (unsigned i = 60; i < 80; i++)
		assert_int_equal(spool_rcpt_done(s, acks.ids[i], 0), 0);
	spool_flush(s);
	spool_flush(s);
	print_message("segments after compaction: %d\n", tsp_count_segs(f->dir));
	assert_true(tsp_count_segs(f->dir) <= 3);
	assert_int_equal(spool_read_data(s, acks.ids[0], &data, &len), 0);
	tsp_msg_fill(&tm, 0, 2, 2000);
	assert_int_equal(len, 2000);
	assert_memory_equal(data, tm.data, 2000);
	free(data);
	spool_close(s);

	assert_int_equal(reopen_recover(f, &s, 16384, &recs), 1);
	assert_true(recs.v[0].id == acks.ids[0]);
	assert_int_equal(recs.v[0].state[0], SPOOL_RCPT_DONE);
	assert_int_equal(recs.v[0].state[1], SPOOL_RCPT_PENDING);
	assert_int_equal(recs.v[0].attempts[1], 3);
	assert_int_equal(recs.v[0].next[1], 12345);
	assert_int_equal(spool_read_data(s, acks.ids[0], &data, &len), 0);
	assert_memory_equal(data, tm.data, 2000);
	free(data);
	tsp_msg_free(&tm);
	spool_close(s);
	tsp_acks_free(&acks);
	tsp_recs_free(&recs);
}

/*
 * Per-recipient vmtas (rcpt-to routing) come back from recovery, also
 * through a compaction copy; recipients without one (the layout of
 * records written before per-recipient vmtas) come back with NULL.
 */
static void
test_recover_rcpt_vmta(void **state)
{
	struct fixture *f = *state;
	struct tsp_acks acks = { 0 };
	struct tsp_recs recs = { 0 };
	struct tsp_msg tm;
	struct spool *s;
	char err[128];

	s = tsp_open(f->base, f->dir, 16384);
	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), 0);
	spool_test_set_compact_age(s, 0);
	tsp_msg_fill(&tm, 1, 3, 1000);
	tm.r[1].vmta = "vmta-b";
	tm.r[2].vmta = "pool-c";
	assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
	tsp_msg_free(&tm);
	tsp_msg_fill(&tm, 2, 2, 1000);		/* no recipient vmta */
	assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
	tsp_msg_free(&tm);
	spool_flush(s);
	assert_int_equal(acks.n, 2);
	assert_int_equal(spool_rcpt_done(s, acks.ids[0], 0), 0);
	assert_int_equal(spool_rcpt_defer(s, acks.ids[0], 2, 2, 777), 0);
	/* traffic that finishes rolls segments: both messages get copied */
	submit_n(s, 100, 30, 1, 2000, &acks);
	for (size_t i = 2; i < acks.n; i++)
		assert_int_equal(spool_rcpt_done(s, acks.ids[i], 0), 0);
	spool_flush(s);
	spool_flush(s);
	assert_true(tsp_count_segs(f->dir) <= 3);
	spool_close(s);

	assert_int_equal(reopen_recover(f, &s, 16384, &recs), 2);
	const struct tsp_rec *a = tsp_recs_find(&recs, acks.ids[0]);
	const struct tsp_rec *b = tsp_recs_find(&recs, acks.ids[1]);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a->msg_vmta, "vmta-a");
	assert_string_equal(a->vmta[0], "");
	assert_string_equal(a->vmta[1], "vmta-b");
	assert_string_equal(a->vmta[2], "pool-c");
	assert_int_equal(a->state[0], SPOOL_RCPT_DONE);
	assert_int_equal(a->attempts[2], 2);
	assert_int_equal(a->next[2], 777);
	assert_string_equal(a->addr[2], "rcpt1-2@example.net");
	assert_string_equal(b->msg_vmta, "vmta-a");
	assert_string_equal(b->vmta[0], "");
	assert_string_equal(b->vmta[1], "");
	assert_string_equal(b->addr[1], "rcpt2-1@example.net");
	spool_close(s);
	tsp_acks_free(&acks);
	tsp_recs_free(&recs);
}

static void
test_recover_twice_refused(void **state)
{
	struct fixture *f = *state;
	struct spool *s = tsp_open(f->base, f->dir, 0);
	char err[128];

	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "once"));
	spool_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recover_states, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_deletes_segments,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_cut, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_flip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_zeros, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage_segments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_rcpt_vmta, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover_twice_refused,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
