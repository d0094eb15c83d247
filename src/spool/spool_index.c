/*
 * spool_index.c -- message id -> struct spool_ent hash table.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), so lookups stay short however many messages come and go.
 * The table holds at most 50% load. Ids are unique; the caller owns the
 * entries (the table only stores pointers).
 */
#include <stdint.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "spool/spool_int.h"

#define SPOOL_INDEX_MINCAP	1024

static size_t
index_slot(const struct spool_index *ix, uint64_t id)
{
	/* Fibonacci hashing: ids are sequential, this spreads them. */
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (ix->cap - 1);
}

void
spool_index_init(struct spool_index *ix)
{
	ix->cap = SPOOL_INDEX_MINCAP;
	ix->n = 0;
	ix->slots = xcalloc(ix->cap, sizeof(*ix->slots));
}

void
spool_index_fini(struct spool_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->cap = ix->n = 0;
}

struct spool_ent *
spool_index_get(const struct spool_index *ix, uint64_t id)
{
	size_t i = index_slot(ix, id);

	while (ix->slots[i] != NULL) {
		if (ix->slots[i]->id == id)
			return ix->slots[i];
		i = (i + 1) & (ix->cap - 1);
	}
	return NULL;
}

static void
index_insert(struct spool_index *ix, struct spool_ent *e)
{
	size_t i = index_slot(ix, e->id);

	while (ix->slots[i] != NULL) {
		if (ix->slots[i]->id == e->id)
			fatalx("spool_index_put: duplicate id %016llx",
			    (unsigned long long)e->id);
		i = (i + 1) & (ix->cap - 1);
	}
	ix->slots[i] = e;
	ix->n++;
}

static void
index_grow(struct spool_index *ix)
{
	struct spool_ent **old = ix->slots;
	size_t oldcap = ix->cap;

	ix->cap *= 2;
	ix->n = 0;
	ix->slots = xcalloc(ix->cap, sizeof(*ix->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i] != NULL)
			index_insert(ix, old[i]);
	free(old);
}

void
spool_index_put(struct spool_index *ix, struct spool_ent *e)
{
	if ((ix->n + 1) * 2 > ix->cap)
		index_grow(ix);
	index_insert(ix, e);
}

void
spool_index_del(struct spool_index *ix, uint64_t id)
{
	size_t mask = ix->cap - 1, i = index_slot(ix, id), j, home;

	while (ix->slots[i] != NULL && ix->slots[i]->id != id)
		i = (i + 1) & mask;
	if (ix->slots[i] == NULL)
		return;
	ix->slots[i] = NULL;
	ix->n--;
	/* Shift back later members of the probe run that may no longer be
	 * reachable past the hole. */
	for (j = (i + 1) & mask; ix->slots[j] != NULL; j = (j + 1) & mask) {
		home = index_slot(ix, ix->slots[j]->id);
		/* Move j into hole i unless home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			ix->slots[i] = ix->slots[j];
			ix->slots[j] = NULL;
			i = j;
		}
	}
}
