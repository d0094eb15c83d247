/*
 * dns_internal.h -- private interfaces between the files of src/dns/.
 *
 * Pure parts (no I/O, unit-tested): dns_msg.c (TTL of a raw DNS answer),
 * dns_cache.c (bounded TTL cache of raw answers), dns_order.c (RFC 5321
 * §5.1 MX ordering), dns_spec.c (PowerMTA smtp-hosts spec parser).
 * I/O parts: dns_loop.c (c-ares channel on libevent), dns_query.c (one
 * cached query), dns_req.c (MX / spec request state machine).
 * Ownership: every char * in these structs is owned by the struct that
 * holds it and freed by the matching *_free / *_fini function.
 */
#ifndef SLUICE_DNS_INTERNAL_H
#define SLUICE_DNS_INTERNAL_H

#include <sys/socket.h>
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns/dns.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* ---- dns_msg.c ---------------------------------------------------- */

/*
 * Time-to-live of a raw DNS response: the smallest TTL of the answer
 * section, or for an empty answer (NXDOMAIN / NODATA) min(SOA TTL, SOA
 * MINIMUM) from the authority section (RFC 2308), or neg_default when no
 * SOA is present. Returns -1 if the message is malformed.
 */
long dns_msg_ttl(const unsigned char *abuf, size_t alen, long neg_default);

/* ---- dns_cache.c -------------------------------------------------- */

struct dns_cache;

/* A cached response: the c-ares status (ARES_SUCCESS, ARES_ENODATA,
 * ARES_ENOTFOUND) and the raw answer. */
struct dns_cache_hit {
	int			 status;
	const unsigned char	*abuf;
	size_t			 alen;
};

struct dns_cache *dns_cache_new(size_t max_entries);
void dns_cache_free(struct dns_cache *c);
/* Store (replacing an older entry for the same key); ttl <= 0 stores
 * nothing. When full, expired entries go first, then the oldest one. */
void dns_cache_put(struct dns_cache *c, const char *name, int type,
    int status, const unsigned char *abuf, size_t alen, long ttl,
    time_t now);
/* 1 and *hit filled (borrowed until the next put/drop) or 0. */
int dns_cache_get(struct dns_cache *c, const char *name, int type,
    time_t now, struct dns_cache_hit *hit);
/* Drop every entry of a name ("*" = all). */
void dns_cache_drop(struct dns_cache *c, const char *name);
size_t dns_cache_count(const struct dns_cache *c);

/* ---- dns_order.c -------------------------------------------------- */

struct dns_mx {
	char		*name;
	uint16_t	 pref;
};

typedef uint32_t dns_rand_fn(uint32_t upper);	/* uniform in [0, upper) */

/* Sort by preference (ascending) and shuffle each run of equal
 * preference with rnd (RFC 5321 §5.1). */
void dns_order_mx(struct dns_mx *mx, size_t n, dns_rand_fn *rnd);
/* Is this MX set the RFC 7505 null MX ("0 .")? */
int dns_order_is_nullmx(const struct dns_mx *mx, size_t n);

/* ---- dns_spec.c --------------------------------------------------- */

enum dns_spec_kind {
	DNS_SPEC_HOST,		/* name: look up A/AAAA */
	DNS_SPEC_LITERAL,	/* [ip]: addr is set */
	DNS_SPEC_MX,		/* lookup-mx:domain */
};

struct dns_spec_item {
	enum dns_spec_kind	 kind;
	unsigned		 level;		/* 0 = first ';' group */
	char			*name;		/* host, domain or literal */
	uint16_t		 port;		/* 0 = default */
	struct sockaddr_storage	 addr;		/* LITERAL only */
};

struct dns_spec {
	size_t			 nitems;
	struct dns_spec_item	*items;
};

/* Parse "h1, h2; [10.1.1.1]:2525; lookup-mx:other.domain". Items of one
 * level keep their written order (the caller shuffles if it wants).
 * Returns 0, or -1 with a message in err. */
int dns_spec_parse(const char *spec, struct dns_spec *out, char *err,
    size_t errlen);
void dns_spec_fini(struct dns_spec *s);

/* ---- dns_loop.c --------------------------------------------------- */

struct dns_req;
TAILQ_HEAD(dns_req_list, dns_req);

struct dns {
	struct event_base	*base;
	void			*channel;	/* ares_channel */
	struct event		*timer;
	struct dns_sock		*socks;		/* c-ares sockets we watch */
	struct dns_cache	*cache;
	struct dns_req_list	 reqs;		/* live requests */
	int			 want_ipv6;
	int			 destroying;
};

/* Re-arm the c-ares timer after any call into c-ares. */
void dns_loop_timer_update(struct dns *d);

/* ---- dns_query.c -------------------------------------------------- */

/* status is a c-ares status; abuf may be NULL. May run synchronously
 * (cache hit) before dns_query_start returns. */
typedef void dns_query_cb(void *arg, int status, const unsigned char *abuf,
    size_t alen);
void dns_query_start(struct dns *d, const char *name, int type,
    dns_query_cb *cb, void *arg);

#endif
