/*
 * sched_map.c -- a small string -> string map (open addressing, FNV-1a)
 * for the delivery glue's MX-rollup knowledge: recipient domain -> rollup
 * queue ("hotmail.rollup") and rollup -> one member domain to resolve.
 *
 * Keys are compared exactly (callers lower-case them). Lookups are O(1)
 * expected, so the placement hook can call it for every recipient.
 * Ownership: the map copies keys and values; returned values are borrowed
 * until the key is overwritten or the map is freed. Single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "sched/sched.h"

struct sched_map_ent {
	char	*key;
	char	*val;
};

struct sched_map {
	struct sched_map_ent	*v;
	size_t			 n, cap;	/* cap: power of two */
};

static uint64_t
map_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

struct sched_map *
sched_map_new(void)
{
	struct sched_map *m = xcalloc(1, sizeof(*m));

	m->cap = 16;
	m->v = xcalloc(m->cap, sizeof(*m->v));
	return m;
}

void
sched_map_free(struct sched_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		free(m->v[i].key);
		free(m->v[i].val);
	}
	free(m->v);
	free(m);
}

static struct sched_map_ent *
map_slot(const struct sched_map *m, const char *key)
{
	size_t i = (size_t)map_hash(key) & (m->cap - 1);

	while (m->v[i].key && strcmp(m->v[i].key, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

static void
map_grow(struct sched_map *m)
{
	struct sched_map_ent *old = m->v;
	size_t ocap = m->cap;

	m->cap *= 2;
	m->v = xcalloc(m->cap, sizeof(*m->v));
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*map_slot(m, old[i].key) = old[i];
	free(old);
}

const char *
sched_map_get(const struct sched_map *m, const char *key)
{
	const struct sched_map_ent *e = map_slot(m, key);

	return e->key ? e->val : NULL;
}

void
sched_map_put(struct sched_map *m, const char *key, const char *val)
{
	struct sched_map_ent *e;

	if ((m->n + 1) * 4 > m->cap * 3)
		map_grow(m);
	e = map_slot(m, key);
	if (e->key == NULL) {
		e->key = xstrdup(key);
		m->n++;
	} else {
		free(e->val);
	}
	e->val = xstrdup(val);
}
