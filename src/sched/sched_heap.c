/*
 * sched_heap.c -- intrusive binary min-heap for scheduler timers.
 *
 * Invariant: for every i > 0, key(v[(i-1)/2]) <= key(v[i]) and
 * v[i]->idx == i. Keys are (when, seq); seq is a push counter, so the
 * order of equal times is FIFO and tests are deterministic.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched_heap.h"

static int
heap_less(const struct sched_timer *a, const struct sched_timer *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return a->seq < b->seq;
}

static void
heap_set(struct sched_heap *h, size_t i, struct sched_timer *t)
{
	h->v[i] = t;
	t->idx = i;
}

static void
heap_up(struct sched_heap *h, size_t i)
{
	struct sched_timer *t = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!heap_less(t, h->v[parent]))
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, t);
}

static void
heap_down(struct sched_heap *h, size_t i)
{
	struct sched_timer *t = h->v[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct sched_timer *best = t;

		if (l < h->n && heap_less(h->v[l], best)) {
			m = l;
			best = h->v[l];
		}
		if (r < h->n && heap_less(h->v[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(h, i, h->v[m]);
		i = m;
	}
	heap_set(h, i, t);
}

void
sched_heap_init(struct sched_heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
	h->seq = 0;
}

void
sched_heap_fini(struct sched_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->idx = SIZE_MAX;
	free(h->v);
	sched_heap_init(h);
}

void
sched_heap_push(struct sched_heap *h, struct sched_timer *t, int64_t when)
{
	if (t->idx != SIZE_MAX)
		fatalx("%s: timer already in a heap", __func__);
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	t->when = when;
	t->seq = h->seq++;
	h->v[h->n] = t;
	t->idx = h->n++;
	heap_up(h, t->idx);
}

void
sched_heap_remove(struct sched_heap *h, struct sched_timer *t)
{
	size_t i = t->idx;

	if (i == SIZE_MAX)
		return;
	if (i >= h->n || h->v[i] != t)
		fatalx("%s: corrupt timer index", __func__);
	t->idx = SIZE_MAX;
	h->n--;
	if (i == h->n)
		return;
	heap_set(h, i, h->v[h->n]);
	if (i > 0 && heap_less(h->v[i], h->v[(i - 1) / 2]))
		heap_up(h, i);
	else
		heap_down(h, i);
}

struct sched_timer *
sched_heap_top(const struct sched_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

struct sched_timer *
sched_heap_pop_due(struct sched_heap *h, int64_t now)
{
	struct sched_timer *t = sched_heap_top(h);

	if (t == NULL || t->when > now)
		return NULL;
	sched_heap_remove(h, t);
	return t;
}
