/*
 * test_spool_util.c -- helpers shared by the spool unit tests.
 */
#include <sys/stat.h>

#include <dirent.h>
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
#include "test_spool_util.h"

char *
tsp_mkdtemp(void)
{
	char *dir = xstrdup("/tmp/sluice-spool-test-XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

void
tsp_rmtree(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

static int
is_seg(const char *name)
{
	return strncmp(name, "seg-", 4) == 0 && strlen(name) == 24;
}

int
tsp_count_segs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += is_seg(de->d_name);
	closedir(d);
	return n;
}

/* Path of the highest-numbered segment (caller frees). */
char *
tsp_last_seg(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char best[256] = "";

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (is_seg(de->d_name) && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	assert_true(best[0] != '\0');
	return xasprintf("%s/%s", dir, best);
}

struct spool *
tsp_open(struct event_base *base, const char *dir, size_t segsize)
{
	struct spool_params p = { .dir = dir, .segment_size = segsize,
	    .retry_ms = 50 };
	char err[256];
	struct spool *s = spool_open(base, &p, err, sizeof(err));

	if (s == NULL)
		fail_msg("spool_open: %s", err);
	return s;
}

void
tsp_data_expect(unsigned seed, size_t datalen, char *out)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < datalen; i++) {
		x = x * 1103515245u + 12345u;
		out[i] = (char)(x >> 16);	/* includes NUL and 8-bit */
	}
}

void
tsp_msg_fill(struct tsp_msg *tm, unsigned seed, size_t nrcpt, size_t datalen)
{
	assert_true(nrcpt >= 1 && nrcpt <= TSP_MAXRCPT);
	memset(tm, 0, sizeof(*tm));
	snprintf(tm->orig, sizeof(tm->orig), "sender%u@example.org", seed);
	for (size_t i = 0; i < nrcpt; i++) {
		snprintf(tm->addr[i], sizeof(tm->addr[i]),
		    "rcpt%u-%zu@example.net", seed, i);
		tm->r[i].addr = tm->addr[i];
		tm->r[i].orcpt = i == 1 ? "rfc822;orig@example.net" : NULL;
		tm->r[i].notify = (uint8_t)(i == 0 ? SPOOL_NOTIFY_FAILURE : 0);
	}
	tm->data = xmalloc(datalen + 1);
	tsp_data_expect(seed, datalen, tm->data);
	tm->m.time_queued = 1700000000 + seed;
	tm->m.orig = seed % 7 == 0 ? "" : tm->orig;
	tm->m.envid = seed % 2 ? "ENV-1" : NULL;
	tm->m.ret_full = seed % 2;
	tm->m.vmta = "vmta-a";
	tm->m.job_id = seed % 3 ? "job42" : NULL;
	tm->m.src_type = "smtp";
	tm->m.src_mta = "client.example (127.0.0.1)";
	tm->m.rcv_ip = "127.0.0.1";
	tm->m.nrcpt = nrcpt;
	tm->m.rcpts = tm->r;
	tm->m.data = tm->data;
	tm->m.datalen = datalen;
}

void
tsp_msg_free(struct tsp_msg *tm)
{
	free(tm->data);
	tm->data = NULL;
}

void
tsp_ack_cb(int err, uint64_t id, void *arg)
{
	struct tsp_acks *a = arg;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->ids = xreallocarray(a->ids, a->cap, sizeof(*a->ids));
		a->errs = xreallocarray(a->errs, a->cap, sizeof(*a->errs));
	}
	a->ids[a->n] = id;
	a->errs[a->n++] = err;
}

void
tsp_acks_free(struct tsp_acks *a)
{
	free(a->ids);
	free(a->errs);
	memset(a, 0, sizeof(*a));
}

void
tsp_rec_cb(const struct spool_msg *m, void *arg)
{
	struct tsp_recs *r = arg;
	struct tsp_rec *t;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	t = &r->v[r->n++];
	memset(t, 0, sizeof(*t));
	assert_null(m->data);
	assert_true(m->nrcpt >= 1 && m->nrcpt <= TSP_MAXRCPT);
	t->id = m->id;
	t->nrcpt = m->nrcpt;
	t->datalen = m->datalen;
	t->time_queued = m->time_queued;
	snprintf(t->orig, sizeof(t->orig), "%s", m->orig);
	snprintf(t->msg_vmta, sizeof(t->msg_vmta), "%s",
	    m->vmta ? m->vmta : "");
	for (size_t i = 0; i < m->nrcpt; i++) {
		snprintf(t->addr[i], sizeof(t->addr[i]), "%s", m->rcpts[i].addr);
		snprintf(t->vmta[i], sizeof(t->vmta[i]), "%s",
		    m->rcpts[i].vmta ? m->rcpts[i].vmta : "");
		t->state[i] = m->rcpts[i].state;
		t->attempts[i] = m->rcpts[i].attempts;
		t->next[i] = m->rcpts[i].next_attempt;
	}
}

void
tsp_recs_free(struct tsp_recs *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

const struct tsp_rec *
tsp_recs_find(const struct tsp_recs *r, uint64_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].id == id)
			return &r->v[i];
	return NULL;
}

/* Run the event loop until a->n >= n or the timeout; returns a->n >= n. */
int
tsp_acks_wait(struct event_base *base, struct tsp_acks *a, size_t n,
    int timeout_ms)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (a->n < n) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
			break;
	}
	return a->n >= n;
}
