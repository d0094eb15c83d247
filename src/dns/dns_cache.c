/*
 * dns_cache.c -- bounded cache of raw DNS answers keyed by (name, type),
 * each kept until its TTL runs out.
 *
 * Invariants: at most max entries; names are compared case-insensitively
 * (stored lower-case); an entry is in exactly one hash chain and in the
 * insertion-order list used for eviction. Time is passed in by the caller
 * (monotonic seconds) so the cache is testable without sleeping.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"
#include "lib/xmalloc.h"

struct dns_centry {
	TAILQ_ENTRY(dns_centry)	 order;
	struct dns_centry	*next;		/* hash chain */
	char			*name;
	int			 type;
	int			 status;
	unsigned char		*abuf;
	size_t			 alen;
	time_t			 expires;
};

struct dns_cache {
	size_t				 max, count, nbuckets;
	struct dns_centry		**buckets;
	TAILQ_HEAD(, dns_centry)	 order;
};

static uint32_t
dns_cache_hash(const char *name, int type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ (uint32_t)tolower(*p)) * 16777619u;
	return h;
}

struct dns_cache *
dns_cache_new(size_t max_entries)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));

	c->max = max_entries ? max_entries : 1;
	c->nbuckets = 64;
	while (c->nbuckets < c->max && c->nbuckets < (1u << 20))
		c->nbuckets <<= 1;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	TAILQ_INIT(&c->order);
	return c;
}

static struct dns_centry **
dns_cache_slot(struct dns_cache *c, const char *name, int type)
{
	struct dns_centry **pp;

	pp = &c->buckets[dns_cache_hash(name, type) & (c->nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->type == type && strcasecmp((*pp)->name, name) == 0)
			break;
	return pp;
}

static void
dns_cache_remove(struct dns_cache *c, struct dns_centry *e)
{
	struct dns_centry **pp = dns_cache_slot(c, e->name, e->type);

	*pp = e->next;
	TAILQ_REMOVE(&c->order, e, order);
	c->count--;
	free(e->name);
	free(e->abuf);
	free(e);
}

void
dns_cache_free(struct dns_cache *c)
{
	struct dns_centry *e;

	if (c == NULL)
		return;
	while ((e = TAILQ_FIRST(&c->order)) != NULL)
		dns_cache_remove(c, e);
	free(c->buckets);
	free(c);
}

/* Make room for one entry: drop expired entries, else the oldest. */
static void
dns_cache_evict(struct dns_cache *c, time_t now)
{
	struct dns_centry *e, *tmp;

	if (c->count < c->max)
		return;
	TAILQ_FOREACH_SAFE(e, &c->order, order, tmp)
		if (e->expires <= now)
			dns_cache_remove(c, e);
	if (c->count >= c->max)
		dns_cache_remove(c, TAILQ_FIRST(&c->order));
}

void
dns_cache_put(struct dns_cache *c, const char *name, int type, int status,
    const unsigned char *abuf, size_t alen, long ttl, time_t now)
{
	struct dns_centry *e, **pp;

	if (ttl <= 0 || abuf == NULL || alen == 0)
		return;
	if ((e = *dns_cache_slot(c, name, type)) != NULL)
		dns_cache_remove(c, e);
	dns_cache_evict(c, now);
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	for (char *p = e->name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	e->type = type;
	e->status = status;
	e->abuf = xmalloc(alen);
	memcpy(e->abuf, abuf, alen);
	e->alen = alen;
	e->expires = now + ttl;
	pp = dns_cache_slot(c, name, type);
	*pp = e;
	TAILQ_INSERT_TAIL(&c->order, e, order);
	c->count++;
}

int
dns_cache_get(struct dns_cache *c, const char *name, int type, time_t now,
    struct dns_cache_hit *hit)
{
	struct dns_centry *e = *dns_cache_slot(c, name, type);

	if (e == NULL)
		return 0;
	if (e->expires <= now) {
		dns_cache_remove(c, e);
		return 0;
	}
	hit->status = e->status;
	hit->abuf = e->abuf;
	hit->alen = e->alen;
	return 1;
}

void
dns_cache_drop(struct dns_cache *c, const char *name)
{
	struct dns_centry *e, *tmp;

	TAILQ_FOREACH_SAFE(e, &c->order, order, tmp)
		if (strcmp(name, "*") == 0 || strcasecmp(e->name, name) == 0)
			dns_cache_remove(c, e);
}

size_t
dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}
