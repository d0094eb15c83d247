/*
 * dns_query.c -- one DNS query through the TTL cache, then c-ares.
 *
 * Answers with status ARES_SUCCESS, ARES_ENODATA or ARES_ENOTFOUND are
 * cached for their TTL (negative answers for the SOA minimum, or
 * DNS_NEG_TTL without SOA); temporary failures are never cached.
 * Invariants: the callback runs exactly once, synchronously on a cache
 * hit, otherwise from c-ares (also with ARES_EDESTRUCTION at dns_free()).
 */
#include <ares.h>
#include <stdlib.h>
#include <time.h>

#include "dns/dns_internal.h"
#include "lib/xmalloc.h"

#define DNS_NEG_TTL	60	/* negative TTL when the answer has no SOA */
#define DNS_MAX_TTL	86400

struct dns_query {
	struct dns	*d;
	char		*name;
	int		 type;
	dns_query_cb	*cb;
	void		*arg;
};

static time_t
dns_query_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
dns_query_done(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query *q = arg;

	(void)timeouts;
	if (!q->d->destroying && alen > 0 && (status == ARES_SUCCESS ||
	    status == ARES_ENODATA || status == ARES_ENOTFOUND)) {
		long ttl = dns_msg_ttl(abuf, (size_t)alen, DNS_NEG_TTL);

		if (ttl > DNS_MAX_TTL)
			ttl = DNS_MAX_TTL;
		dns_cache_put(q->d->cache, q->name, q->type, status, abuf,
		    (size_t)alen, ttl, dns_query_now());
	}
	q->cb(q->arg, status, abuf, alen > 0 ? (size_t)alen : 0);
	free(q->name);
	free(q);
}

void
dns_query_start(struct dns *d, const char *name, int type, dns_query_cb *cb,
    void *arg)
{
	struct dns_cache_hit hit;
	struct dns_query *q;

	if (dns_cache_get(d->cache, name, type, dns_query_now(), &hit)) {
		cb(arg, hit.status, hit.abuf, hit.alen);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->name = xstrdup(name);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	ares_query(d->channel, name, 1 /* C_IN */, type, dns_query_done, q);
	dns_loop_timer_update(d);
}
