/*
 * an_hash.h -- string-keyed hash table with fixed-size values, for the
 * analyser's aggregates.
 *
 * Keys are copied once into an arena owned by the table (interned), so a
 * key costs its bytes plus one entry; values live in one growable array
 * indexed by insertion order (index 0 is the first key inserted). Value
 * pointers are invalidated by the next insertion: use them at once.
 * When max_keys is reached, new keys are folded into one overflow key
 * AN_HTAB_OVERFLOW so memory stays bounded whatever the input.
 * Not thread-safe: each worker thread owns its tables.
 */
#ifndef SLUICE_AN_HASH_H
#define SLUICE_AN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define AN_HTAB_OVERFLOW "(other)"

struct an_hent {
	const char	*key;
	uint32_t	 len;
	uint64_t	 hash;
};

struct an_htab {
	struct an_hent	*ents;
	uint32_t	*slots;		/* entry index + 1; 0 = empty */
	size_t		 cap;		/* slots, power of two */
	size_t		 n;		/* entries */
	size_t		 ecap;
	size_t		 vsize;
	unsigned char	*vals;
	size_t		 max_keys;
	char		**blocks;	/* key arena */
	size_t		 nblocks;
	char		*bcur;
	size_t		 bleft;
};

uint64_t an_hash_bytes(const void *p, size_t n);
void an_htab_init(struct an_htab *t, size_t vsize, size_t max_keys);
void an_htab_fini(struct an_htab *t);
/* Index of key, inserted with a zeroed value if absent. Never fails. */
size_t an_htab_get(struct an_htab *t, const void *key, size_t len);
/* Index of key or -1 if absent. */
long an_htab_find(const struct an_htab *t, const void *key, size_t len);
void *an_htab_val(const struct an_htab *t, size_t i);
/* Indices sorted by cmp over values (qsort_r order), caller frees. */
size_t *an_htab_sorted(const struct an_htab *t,
    int (*cmp)(const void *va, const void *vb, void *arg), void *arg);

#endif
