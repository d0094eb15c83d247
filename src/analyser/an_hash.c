/*
 * an_hash.c -- open-addressing (linear probing) string hash table.
 *
 * Invariants: cap is a power of two and n < cap/2 after every insertion;
 * slots hold entry index + 1. Keys are never moved once interned.
 */
#include <stdlib.h>
#include <string.h>

#include "analyser/an_hash.h"
#include "lib/xmalloc.h"

#define AN_ARENA_BLOCK	(64 * 1024)

uint64_t
an_hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0x100000001b3ULL), v;

	while (n >= 8) {
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 32;
	return h;
}

void
an_htab_init(struct an_htab *t, size_t vsize, size_t max_keys)
{
	memset(t, 0, sizeof(*t));
	t->vsize = vsize ? vsize : 1;
	t->max_keys = max_keys ? max_keys : (size_t)1 << 30;
	t->cap = 64;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
}

void
an_htab_fini(struct an_htab *t)
{
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->slots);
	free(t->ents);
	free(t->vals);
	memset(t, 0, sizeof(*t));
}

static const char *
an_htab_intern(struct an_htab *t, const void *key, size_t len)
{
	char *p;
	size_t bs;

	if (len + 1 > t->bleft) {
		bs = len + 1 > AN_ARENA_BLOCK ? len + 1 : AN_ARENA_BLOCK;
		t->blocks = xreallocarray(t->blocks, t->nblocks + 1,
		    sizeof(*t->blocks));
		t->blocks[t->nblocks++] = t->bcur = xmalloc(bs);
		t->bleft = bs;
	}
	p = t->bcur;
	if (len)
		memcpy(p, key, len);
	p[len] = '\0';
	t->bcur += len + 1;
	t->bleft -= len + 1;
	return p;
}

static void
an_htab_grow(struct an_htab *t)
{
	size_t ncap = t->cap * 2, mask = ncap - 1, j;
	uint32_t *ns = xcalloc(ncap, sizeof(*ns));

	for (size_t i = 0; i < t->n; i++) {
		j = t->ents[i].hash & mask;
		while (ns[j])
			j = (j + 1) & mask;
		ns[j] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
}

static long
an_htab_lookup(const struct an_htab *t, const void *key, size_t len,
    uint64_t h, size_t *slot)
{
	size_t mask = t->cap - 1, j = h & mask;
	const struct an_hent *e;

	while (t->slots[j]) {
		e = &t->ents[t->slots[j] - 1];
		if (e->hash == h && e->len == len &&
		    (len == 0 || memcmp(e->key, key, len) == 0))
			return (long)t->slots[j] - 1;
		j = (j + 1) & mask;
	}
	*slot = j;
	return -1;
}

long
an_htab_find(const struct an_htab *t, const void *key, size_t len)
{
	size_t slot;

	return an_htab_lookup(t, key, len, an_hash_bytes(key, len), &slot);
}

static size_t
an_htab_insert(struct an_htab *t, const void *key, size_t len, uint64_t h,
    size_t slot)
{
	size_t i = t->n;

	if (t->n == t->ecap) {
		t->ecap = t->ecap ? t->ecap * 2 : 64;
		t->ents = xreallocarray(t->ents, t->ecap, sizeof(*t->ents));
		t->vals = xreallocarray(t->vals, t->ecap, t->vsize);
	}
	t->ents[i].key = an_htab_intern(t, key, len);
	t->ents[i].len = (uint32_t)len;
	t->ents[i].hash = h;
	memset(t->vals + i * t->vsize, 0, t->vsize);
	t->slots[slot] = (uint32_t)i + 1;
	t->n++;
	if (t->n * 2 >= t->cap)
		an_htab_grow(t);
	return i;
}

size_t
an_htab_get(struct an_htab *t, const void *key, size_t len)
{
	uint64_t h = an_hash_bytes(key, len);
	size_t slot;
	long i;

	if ((i = an_htab_lookup(t, key, len, h, &slot)) >= 0)
		return (size_t)i;
	if (t->n >= t->max_keys) {
		key = AN_HTAB_OVERFLOW;
		len = strlen(AN_HTAB_OVERFLOW);
		h = an_hash_bytes(key, len);
		if ((i = an_htab_lookup(t, key, len, h, &slot)) >= 0)
			return (size_t)i;
	}
	return an_htab_insert(t, key, len, h, slot);
}

void *
an_htab_val(const struct an_htab *t, size_t i)
{
	return t->vals + i * t->vsize;
}

struct an_sort_ctx {
	const struct an_htab *t;
	int (*cmp)(const void *, const void *, void *);
	void *arg;
};

static int
an_htab_sort_cmp(const void *a, const void *b, void *arg)
{
	const struct an_sort_ctx *c = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int r = c->cmp(an_htab_val(c->t, ia), an_htab_val(c->t, ib), c->arg);

	if (r == 0)	/* stable, deterministic: by key */
		r = strcmp(c->t->ents[ia].key, c->t->ents[ib].key);
	return r;
}

size_t *
an_htab_sorted(const struct an_htab *t,
    int (*cmp)(const void *va, const void *vb, void *arg), void *arg)
{
	struct an_sort_ctx c = { t, cmp, arg };
	size_t *ix = xcalloc(t->n + 1, sizeof(*ix));

	for (size_t i = 0; i < t->n; i++)
		ix[i] = i;
	qsort_r(ix, t->n, sizeof(*ix), an_htab_sort_cmp, &c);
	return ix;
}
