/*
 * shape_fair.c -- fair picking across queues with ready work (stride
 * scheduling on a binary min-heap), so a bulk backlog on one queue cannot
 * starve transactional mail on another (KumoMTA #321).
 *
 * Each ready entry has a virtual time `pass`; the pick is the smallest
 * (pass, seq), which is then charged its stride (SHAPE_FAIR_SCALE /
 * weight, weight = 1 + queue-priority). An entry that becomes ready starts
 * no earlier than the current virtual time, so idleness earns no credit.
 * Invariants: heap[i]->hidx == i; entries not ready have hidx SIZE_MAX;
 * f->vtime never decreases. 2^64 / (2^20 * picks per second) leaves
 * decades before pass values could wrap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "shape/shape.h"

void
shape_fair_init(struct shape_fair *f)
{
	memset(f, 0, sizeof(*f));
}

void
shape_fair_fini(struct shape_fair *f)
{
	for (size_t i = 0; i < f->n; i++)
		f->heap[i]->hidx = SIZE_MAX;
	free(f->heap);
	memset(f, 0, sizeof(*f));
}

static uint64_t
stride_for(int priority)
{
	if (priority < 0)
		priority = 0;
	if (priority > 100)
		priority = 100;
	return SHAPE_FAIR_SCALE / (uint64_t)(1 + priority);
}

void
shape_fair_ent_init(struct shape_fair_ent *e, int priority, void *data)
{
	memset(e, 0, sizeof(*e));
	e->stride = stride_for(priority);
	e->hidx = SIZE_MAX;
	e->data = data;
}

void
shape_fair_ent_set_priority(struct shape_fair_ent *e, int priority)
{
	e->stride = stride_for(priority);
}

static int
before(const struct shape_fair_ent *a, const struct shape_fair_ent *b)
{
	return a->pass < b->pass || (a->pass == b->pass && a->seq < b->seq);
}

static void
heap_set(struct shape_fair *f, size_t i, struct shape_fair_ent *e)
{
	f->heap[i] = e;
	e->hidx = i;
}

static void
sift_up(struct shape_fair *f, size_t i)
{
	struct shape_fair_ent *e = f->heap[i];

	while (i > 0 && before(e, f->heap[(i - 1) / 2])) {
		heap_set(f, i, f->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(f, i, e);
}

static void
sift_down(struct shape_fair *f, size_t i)
{
	struct shape_fair_ent *e = f->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= f->n)
			break;
		if (c + 1 < f->n && before(f->heap[c + 1], f->heap[c]))
			c++;
		if (!before(f->heap[c], e))
			break;
		heap_set(f, i, f->heap[c]);
		i = c;
	}
	heap_set(f, i, e);
}

static void
heap_remove(struct shape_fair *f, struct shape_fair_ent *e)
{
	struct shape_fair_ent *last;
	size_t i = e->hidx;

	if (i >= f->n || f->heap[i] != e)
		fatalx("%s: entry not in this picker", __func__);
	e->hidx = SIZE_MAX;
	if (i == --f->n)
		return;
	last = f->heap[f->n];
	heap_set(f, i, last);
	sift_up(f, i);
	sift_down(f, last->hidx);
}

void
shape_fair_set_ready(struct shape_fair *f, struct shape_fair_ent *e,
    int ready)
{
	if (!ready) {
		if (e->hidx != SIZE_MAX)
			heap_remove(f, e);
		return;
	}
	if (e->hidx != SIZE_MAX)
		return;
	if (e->pass < f->vtime)
		e->pass = f->vtime;
	e->seq = ++f->seq;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->heap = xreallocarray(f->heap, f->cap, sizeof(*f->heap));
	}
	heap_set(f, f->n++, e);
	sift_up(f, f->n - 1);
}

struct shape_fair_ent *
shape_fair_next(struct shape_fair *f)
{
	struct shape_fair_ent *e;

	if (f->n == 0)
		return NULL;
	e = f->heap[0];
	f->vtime = e->pass;
	e->pass += e->stride;
	e->seq = ++f->seq;
	sift_down(f, 0);
	return e;
}

size_t
shape_fair_nready(const struct shape_fair *f)
{
	return f->n;
}
