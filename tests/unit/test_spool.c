/*
 * test_spool.c -- spool basics: submit/ack, data round trip, group commit,
 * completions through the event loop, lazy state records, segment roll
 * and deletion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "lib/xmalloc.h"
#include "spool/spool.h"
#include "test_spool_util.h"

static size_t
size_for(unsigned i)
{
	static const size_t sizes[] = { 0, 1, 2, 77, 1000, 5120, 20000, 3 };

	return sizes[i % 8] + i;
}

static void
check_data(struct spool *s, uint64_t id, unsigned seed, size_t len)
{
	char *data = NULL, *want = xmalloc(len + 1);
	size_t got = 0;

	tsp_data_expect(seed, len, want);
	assert_int_equal(spool_read_data(s, id, &data, &got), 0);
	assert_int_equal(got, len);
	assert_memory_equal(data, want, len);
	free(data);
	free(want);
}

static void
test_submit_roundtrip(void **state)
{
	struct event_base *base = event_base_new();
	char *dir = tsp_mkdtemp(), err[128], *data;
	struct tsp_acks acks = { 0 };
	struct tsp_msg tm;
	uint64_t ids[200];
	size_t len;
	struct spool *s;

	(void)state;
	s = tsp_open(base, dir, 0);
	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 200; i++) {
		tsp_msg_fill(&tm, i, 1 + i % 3, size_for(i));
		assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
		ids[i] = tm.m.id;
		if (i > 0)
			assert_true(ids[i] > ids[i - 1]);
		tsp_msg_free(&tm);
	}
	spool_flush(s);
	assert_int_equal(acks.n, 200);
	for (unsigned i = 0; i < 200; i++) {
		assert_int_equal(acks.errs[i], 0);
		assert_true(acks.ids[i] == ids[i]);	/* submission order */
	}
	for (unsigned i = 0; i < 200; i++)
		check_data(s, ids[i], i, size_for(i));
	assert_int_equal(spool_read_data(s, ids[199] + 1000, &data, &len), -1);
	spool_close(s);
	tsp_acks_free(&acks);
	tsp_rmtree(dir);
	event_base_free(base);
}

/*
 * A device flush costs time (0.2 ms and more on the target disks; nothing on
 * tmpfs, where CI may put /tmp): emulate that so the test checks grouping
 * wherever it runs.
 */
static int
slow_sync(int fd, void *arg)
{
	(void)arg;
	if (fdatasync(fd) == -1)
		return -1;
	usleep(2000);
	return 0;
}

static void
test_group_commit(void **state)
{
	struct event_base *base = event_base_new();
	char *dir = tsp_mkdtemp(), err[128];
	struct tsp_acks acks = { 0 };
	struct spool_stats st;
	struct tsp_msg tm;
	struct spool *s;

	(void)state;
	s = tsp_open(base, dir, 0);
	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), 0);
	spool_set_test_hooks(s, NULL, slow_sync, NULL);
	for (unsigned i = 0; i < 1000; i++) {
		tsp_msg_fill(&tm, i, 1, 1024);
		assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
		tsp_msg_free(&tm);
	}
	spool_flush(s);
	assert_int_equal(acks.n, 1000);
	spool_get_stats(s, &st);
	print_message("group commit: %llu records in %llu commits\n",
	    (unsigned long long)st.records, (unsigned long long)st.commits);
	assert_true(st.records >= 1000);
	assert_true(st.commits >= 1);
	assert_true(st.commits * 10 <= st.records);
	assert_int_equal(st.messages, 1000);
	assert_int_equal(st.recipients, 1000);
	spool_close(s);
	tsp_acks_free(&acks);
	tsp_rmtree(dir);
	event_base_free(base);
}

/* Completions arrive through the event loop without spool_flush(). */
static void
test_event_loop_completion(void **state)
{
	struct event_base *base = event_base_new();
	char *dir = tsp_mkdtemp();
	struct tsp_acks acks = { 0 };
	struct tsp_msg tm;
	struct spool *s;

	(void)state;
	s = tsp_open(base, dir, 0);
	for (unsigned i = 0; i < 50; i++) {
		tsp_msg_fill(&tm, i, 2, 300);
		assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
		tsp_msg_free(&tm);
	}
	assert_true(tsp_acks_wait(base, &acks, 50, 10000));
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(acks.errs[i], 0);
	spool_close(s);
	assert_int_equal(acks.n, 50);
	tsp_acks_free(&acks);
	tsp_rmtree(dir);
	event_base_free(base);
}

/* Recipient state records do not wake the writer; the loop's lazy timer
 * has them written (and synced) within a fraction of a second anyway. */
static void
test_lazy_state_records(void **state)
{
	struct event_base *base = event_base_new();
	char *dir = tsp_mkdtemp(), err[128];
	struct tsp_acks acks = { 0 };
	struct spool_stats st;
	struct tsp_msg tm;
	struct spool *s;
	uint64_t r0, c0;

	(void)state;
	s = tsp_open(base, dir, 0);
	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), 0);
	tsp_msg_fill(&tm, 1, 2, 100);
	assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
	tsp_msg_free(&tm);
	spool_flush(s);
	spool_get_stats(s, &st);
	r0 = st.records;
	c0 = st.commits;
	assert_int_equal(spool_rcpt_defer(s, acks.ids[0], 0, 1, 12345), 0);
	usleep(300000);		/* no loop turn: nothing may write it */
	spool_get_stats(s, &st);
	assert_true(st.records == r0 && st.commits == c0);
	for (int i = 0; i < 100 && st.records == r0; i++) {
		struct timeval tv = { 0, 50000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		spool_get_stats(s, &st);
	}
	assert_int_equal(st.records, r0 + 1);
	assert_int_equal(st.commits, c0 + 1);
	spool_close(s);
	tsp_acks_free(&acks);
	tsp_rmtree(dir);
	event_base_free(base);
}

/* Small segments roll; once every recipient is done they are deleted. */
static void
test_segment_roll_and_delete(void **state)
{
	struct event_base *base = event_base_new();
	char *dir = tsp_mkdtemp(), err[128];
	struct tsp_acks acks = { 0 };
	struct spool_stats st;
	struct tsp_msg tm;
	struct spool *s;

	(void)state;
	s = tsp_open(base, dir, 16384);
	assert_int_equal(spool_recover(s, NULL, NULL, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 60; i++) {
		tsp_msg_fill(&tm, i, 2, 5000);
		assert_int_equal(spool_submit(s, &tm.m, tsp_ack_cb, &acks), 0);
		tsp_msg_free(&tm);
	}
	spool_flush(s);
	assert_true(tsp_count_segs(dir) >= 15);
	for (unsigned i = 0; i < 60; i++) {
		assert_int_equal(spool_rcpt_done(s, acks.ids[i], 0), 0);
		/* done twice is harmless */
		assert_int_equal(spool_rcpt_done(s, acks.ids[i], 0), 0);
	}
	spool_get_stats(s, &st);
	assert_int_equal(st.messages, 60);
	assert_int_equal(st.recipients, 60);
	assert_int_equal(spool_rcpt_done(s, acks.ids[0], 7), -1);
	for (unsigned i = 0; i < 60; i++)
		assert_int_equal(spool_rcpt_done(s, acks.ids[i], 1), 0);
	assert_int_equal(spool_rcpt_done(s, acks.ids[0], 1), -1);
	spool_flush(s);
	spool_get_stats(s, &st);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.recipients, 0);
	assert_true(st.segments <= 2);
	spool_close(s);
	assert_true(tsp_count_segs(dir) <= 2);
	tsp_acks_free(&acks);
	tsp_rmtree(dir);
	event_base_free(base);
}

static void
test_open_errors(void **state)
{
	struct event_base *base = event_base_new();
	struct spool_params p = { .dir = "/proc/no/such/dir" };
	char *dir = tsp_mkdtemp(), err[256];
	struct spool *s, *s2;

	(void)state;
	assert_null(spool_open(base, &p, err, sizeof(err)));
	assert_non_null(strstr(err, "spool"));
	s = tsp_open(base, dir, 0);
	p.dir = dir;
	s2 = spool_open(base, &p, err, sizeof(err));
	assert_null(s2);
	assert_non_null(strstr(err, "in use"));
	spool_close(s);
	spool_close(NULL);
	tsp_rmtree(dir);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_roundtrip),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_event_loop_completion),
		cmocka_unit_test(test_lazy_state_records),
		cmocka_unit_test(test_segment_roll_and_delete),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
