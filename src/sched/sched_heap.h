/*
 * sched_heap.h -- binary min-heap of struct sched_timer, keyed by
 * (when, seq) so equal times fire in insertion order.
 *
 * Timers are intrusive (embedded in recipients and queues); the heap stores
 * pointers and keeps timer->idx up to date so any timer can be removed in
 * O(log n). timer->idx == SIZE_MAX means "not in a heap".
 * Ownership: the heap owns only its pointer array.
 */
#ifndef SLUICE_SCHED_HEAP_H
#define SLUICE_SCHED_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "sched/sched.h"

struct sched_heap {
	struct sched_timer	**v;
	size_t			  n;
	size_t			  cap;
	uint64_t		  seq;
};

void sched_heap_init(struct sched_heap *h);
void sched_heap_fini(struct sched_heap *h);
/* Insert t (which must not be in a heap) with time `when`. */
void sched_heap_push(struct sched_heap *h, struct sched_timer *t,
    int64_t when);
/* Remove t if it is in the heap; no-op otherwise. */
void sched_heap_remove(struct sched_heap *h, struct sched_timer *t);
/* Earliest timer or NULL. */
struct sched_timer *sched_heap_top(const struct sched_heap *h);
/* Remove and return the earliest timer if it is due (when <= now). */
struct sched_timer *sched_heap_pop_due(struct sched_heap *h, int64_t now);

#endif
