/*
 * dns_req.c -- MX and smtp-hosts requests: MX query, then A (and AAAA) of
 * every host, then one callback with the hosts in the order to try.
 *
 * RFC 5321 §5.1: MX sorted by preference, equal preferences shuffled; no
 * MX record (NODATA) means the domain itself is the implicit MX. RFC 7505:
 * a single "MX 0 ." is DNS_NULLMX. NXDOMAIN is DNS_NXDOMAIN; SERVFAIL,
 * REFUSED and timeouts are DNS_TEMPFAIL.
 * Invariants: r->pending counts queries and child requests still to
 * answer; the user callback runs from r->ev_done (never inside
 * dns_resolve_*), exactly once, unless dns_cancel() came first. A
 * cancelled request is freed as soon as nothing is pending for it.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define DNS_T_A		1
#define DNS_T_MX	15
#define DNS_T_AAAA	28
#define DNS_MAX_ADDRS	64	/* per host and family */

struct dns_rhost {
	char			*name;
	uint16_t		 pref, port;
	struct sockaddr_storage	*addrs, *v6;
	size_t			 naddr, nv6;
	int			 tempfail;
};

struct dns_slot {			/* one smtp-hosts item */
	struct dns_rhost	*hosts;
	size_t			 nhosts;
	unsigned		 level;
	struct dns_req		*parent;
	struct dns_req		*child;	/* lookup-mx request in flight */
	int			 tempfail;
};

struct dns_req {
	TAILQ_ENTRY(dns_req)	 entry;
	struct dns		*d;
	dns_cb			*cb;
	void			*arg;
	char			*domain;	/* MX request; NULL for specs */
	int			 cancelled, implicit, failed;
	int			 pending;
	enum dns_status		 status;
	char			*error;
	struct dns_rhost	*hosts;
	size_t			 nhosts;
	struct dns_slot		*slots;		/* spec request */
	size_t			 nslots;
	struct event		*ev_done;
};

struct dns_qctx {
	struct dns_req		*r;
	struct dns_rhost	*h;		/* NULL for the MX query */
	int			 type;
};

void dns_req_destroy_all(struct dns *d);

static uint32_t
dns_req_rand(uint32_t upper)
{
	return arc4random_uniform(upper);
}

static void
dns_rhost_fini(struct dns_rhost *h)
{
	free(h->name);
	free(h->addrs);
	free(h->v6);
}

static void
dns_req_free(struct dns_req *r)
{
	TAILQ_REMOVE(&r->d->reqs, r, entry);
	for (size_t i = 0; i < r->nhosts; i++)
		dns_rhost_fini(&r->hosts[i]);
	for (size_t i = 0; i < r->nslots; i++) {
		for (size_t j = 0; j < r->slots[i].nhosts; j++)
			dns_rhost_fini(&r->slots[i].hosts[j]);
		free(r->slots[i].hosts);
	}
	free(r->hosts);
	free(r->slots);
	free(r->domain);
	free(r->error);
	if (r->ev_done)
		event_free(r->ev_done);
	free(r);
}

void
dns_req_destroy_all(struct dns *d)
{
	struct dns_req *r;

	while ((r = TAILQ_FIRST(&d->reqs)) != NULL)
		dns_req_free(r);
}

static void
dns_req_fail(struct dns_req *r, enum dns_status st, char *error)
{
	if (r->failed) {
		free(error);
		return;
	}
	r->failed = 1;
	r->status = st;
	r->error = error;
}

/* Merge v6 addresses after v4 and decide the final status. */
static void
dns_req_conclude(struct dns_req *r)
{
	size_t total = 0;
	int tempfail = 0;

	for (size_t i = 0; i < r->nhosts; i++) {
		struct dns_rhost *h = &r->hosts[i];

		if (h->nv6 > 0) {
			h->addrs = xreallocarray(h->addrs, h->naddr + h->nv6,
			    sizeof(*h->addrs));
			memcpy(h->addrs + h->naddr, h->v6,
			    h->nv6 * sizeof(*h->v6));
			h->naddr += h->nv6;
			free(h->v6);
			h->v6 = NULL;
			h->nv6 = 0;
		}
		total += h->naddr;
		tempfail |= h->tempfail;
	}
	if (r->failed)
		return;
	for (size_t i = 0; i < r->nslots; i++)
		tempfail |= r->slots[i].tempfail;
	if (total > 0)
		r->status = DNS_OK;
	else if (tempfail)
		dns_req_fail(r, DNS_TEMPFAIL, xasprintf("DNS: temporary failure "
		    "resolving the hosts of %s", r->domain ? r->domain :
		    "smtp-hosts"));
	else if (r->domain == NULL)
		dns_req_fail(r, DNS_NOHOST, xstrdup("DNS: no address for any "
		    "smtp-hosts entry"));
	else if (r->implicit)
		dns_req_fail(r, DNS_NOHOST, xasprintf("DNS: no MX and no "
		    "A/AAAA record for %s", r->domain));
	else
		dns_req_fail(r, DNS_NOHOST, xasprintf("DNS: no address for "
		    "any MX host of %s", r->domain));
}

static void
dns_req_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct dns_req *r = arg;
	struct dns_result res;
	struct dns_host *hosts;

	(void)fd;
	(void)what;
	hosts = xcalloc(r->nhosts ? r->nhosts : 1, sizeof(*hosts));
	for (size_t i = 0; i < r->nhosts; i++) {
		hosts[i].name = r->hosts[i].name;
		hosts[i].pref = r->hosts[i].pref;
		hosts[i].port = r->hosts[i].port;
		hosts[i].naddr = r->hosts[i].naddr;
		hosts[i].addrs = r->hosts[i].addrs;
	}
	memset(&res, 0, sizeof(res));
	res.status = r->status;
	res.error = r->error ? r->error : "";
	res.implicit_mx = r->implicit;
	res.nhosts = r->status == DNS_OK ? r->nhosts : 0;
	res.hosts = hosts;
	r->cb(&res, r->arg);
	free(hosts);
	dns_req_free(r);
}

static void dns_req_spec_flatten(struct dns_req *r);

/* Called whenever pending may have reached zero. */
static void
dns_req_check(struct dns_req *r)
{
	if (r->pending > 0)
		return;
	if (r->cancelled) {
		dns_req_free(r);
		return;
	}
	if (r->slots != NULL)
		dns_req_spec_flatten(r);
	dns_req_conclude(r);
	event_active(r->ev_done, 0, 0);
}

static void
dns_req_add_addrs(struct dns_rhost *h, int type, const unsigned char *abuf,
    size_t alen)
{
	struct ares_addrttl a4[DNS_MAX_ADDRS];
	struct ares_addr6ttl a6[DNS_MAX_ADDRS];
	int n = DNS_MAX_ADDRS;
	uint16_t port = htons(h->port ? h->port : 25);

	if (type == DNS_T_A) {
		if (ares_parse_a_reply(abuf, (int)alen, NULL, a4, &n) != 0)
			return;
		h->addrs = xreallocarray(h->addrs, h->naddr + (size_t)n,
		    sizeof(*h->addrs));
		for (int i = 0; i < n; i++) {
			struct sockaddr_in *sin = (void *)&h->addrs[h->naddr++];

			memset(sin, 0, sizeof(h->addrs[0]));
			sin->sin_family = AF_INET;
			sin->sin_port = port;
			sin->sin_addr = a4[i].ipaddr;
		}
		return;
	}
	if (ares_parse_aaaa_reply(abuf, (int)alen, NULL, a6, &n) != 0)
		return;
	h->v6 = xreallocarray(h->v6, h->nv6 + (size_t)n, sizeof(*h->v6));
	for (int i = 0; i < n; i++) {
		struct sockaddr_in6 *sin6 = (void *)&h->v6[h->nv6++];

		memset(sin6, 0, sizeof(h->v6[0]));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		memcpy(&sin6->sin6_addr, &a6[i].ip6addr, 16);
	}
}

static int
dns_req_gone(struct dns_req *r)
{
	r->pending--;
	if (r->d->destroying)
		return 1;	/* dns_free() frees the request */
	if (r->cancelled) {
		dns_req_check(r);
		return 1;
	}
	return 0;
}

static void
dns_req_on_addr(void *arg, int status, const unsigned char *abuf,
    size_t alen)
{
	struct dns_qctx *q = arg;
	struct dns_req *r = q->r;

	if (!dns_req_gone(r)) {
		if (status == ARES_SUCCESS)
			dns_req_add_addrs(q->h, q->type, abuf, alen);
		else if (status != ARES_ENODATA && status != ARES_ENOTFOUND)
			q->h->tempfail = 1;
		dns_req_check(r);
	}
	free(q);
}

static void
dns_req_query(struct dns_req *r, struct dns_rhost *h, int type,
    dns_query_cb *cb, const char *name)
{
	struct dns_qctx *q = xcalloc(1, sizeof(*q));

	q->r = r;
	q->h = h;
	q->type = type;
	r->pending++;
	dns_query_start(r->d, name, type, cb, q);
}

static void
dns_req_lookup_host(struct dns_req *r, struct dns_rhost *h)
{
	dns_req_query(r, h, DNS_T_A, dns_req_on_addr, h->name);
	if (r->d->want_ipv6)
		dns_req_query(r, h, DNS_T_AAAA, dns_req_on_addr, h->name);
}

/* Turn an ordered MX list into hosts and look up their addresses. */
static void
dns_req_mx_hosts(struct dns_req *r, struct dns_mx *mx, size_t n)
{
	r->hosts = xcalloc(n ? n : 1, sizeof(*r->hosts));
	for (size_t i = 0; i < n; i++) {
		if (mx[i].name[0] == '\0' || strcmp(mx[i].name, ".") == 0)
			continue;	/* "." among real MXs: ignore it */
		r->hosts[r->nhosts].name = xstrdup(mx[i].name);
		r->hosts[r->nhosts].pref = mx[i].pref;
		r->nhosts++;
	}
	for (size_t i = 0; i < r->nhosts; i++)
		dns_req_lookup_host(r, &r->hosts[i]);
}

static void
dns_req_mx_parse(struct dns_req *r, const unsigned char *abuf, size_t alen)
{
	struct ares_mx_reply *list = NULL, *m;
	struct dns_mx *mx;
	size_t n = 0;
	int rc;

	rc = ares_parse_mx_reply(abuf, (int)alen, &list);
	if (rc == ARES_ENODATA) {
		r->implicit = 1;
		dns_req_mx_hosts(r, &(struct dns_mx){ r->domain, 0 }, 1);
		return;
	}
	if (rc != ARES_SUCCESS) {
		dns_req_fail(r, DNS_TEMPFAIL, xasprintf("DNS: bad MX answer "
		    "for %s: %s", r->domain, ares_strerror(rc)));
		return;
	}
	for (m = list; m != NULL; m = m->next)
		n++;
	mx = xcalloc(n, sizeof(*mx));
	n = 0;
	for (m = list; m != NULL; m = m->next, n++) {
		mx[n].name = m->host;
		mx[n].pref = m->priority;
	}
	if (dns_order_is_nullmx(mx, n))
		dns_req_fail(r, DNS_NULLMX, xasprintf("DNS: %s does not accept "
		    "mail (null MX, RFC 7505)", r->domain));
	else {
		dns_order_mx(mx, n, dns_req_rand);
		dns_req_mx_hosts(r, mx, n);
	}
	free(mx);
	ares_free_data(list);
}

static void
dns_req_on_mx(void *arg, int status, const unsigned char *abuf, size_t alen)
{
	struct dns_qctx *q = arg;
	struct dns_req *r = q->r;

	free(q);
	if (dns_req_gone(r))
		return;
	r->pending++;		/* hold while host lookups are started */
	if (status == ARES_SUCCESS)
		dns_req_mx_parse(r, abuf, alen);
	else if (status == ARES_ENODATA) {
		r->implicit = 1;
		dns_req_mx_hosts(r, &(struct dns_mx){ r->domain, 0 }, 1);
	} else if (status == ARES_ENOTFOUND)
		dns_req_fail(r, DNS_NXDOMAIN, xasprintf("DNS: host not found: "
		    "%s (NXDOMAIN)", r->domain));
	else
		dns_req_fail(r, DNS_TEMPFAIL, xasprintf("DNS: temporary "
		    "failure looking up MX for %s: %s", r->domain,
		    ares_strerror(status)));
	r->pending--;
	dns_req_check(r);
}

static struct dns_req *
dns_req_new(struct dns *d, dns_cb *cb, void *arg)
{
	struct dns_req *r = xcalloc(1, sizeof(*r));

	r->d = d;
	r->cb = cb;
	r->arg = arg;
	r->ev_done = event_new(d->base, -1, 0, dns_req_on_done, r);
	if (r->ev_done == NULL)
		fatalx("dns: event_new failed");
	TAILQ_INSERT_TAIL(&d->reqs, r, entry);
	return r;
}

struct dns_req *
dns_resolve_mx(struct dns *d, const char *domain, dns_cb *cb, void *arg)
{
	struct dns_req *r = dns_req_new(d, cb, arg);
	size_t n = strlen(domain);

	r->domain = xstrdup(domain);
	if (n > 0 && r->domain[n - 1] == '.')
		r->domain[n - 1] = '\0';
	r->pending++;
	if (r->domain[0] == '\0')
		dns_req_fail(r, DNS_NXDOMAIN, xstrdup("DNS: empty domain"));
	else
		dns_req_query(r, NULL, DNS_T_MX, dns_req_on_mx, r->domain);
	r->pending--;
	dns_req_check(r);
	return r;
}

void
dns_cancel(struct dns_req *r)
{
	if (r == NULL || r->cancelled)
		return;
	r->cancelled = 1;
	for (size_t i = 0; i < r->nslots; i++)
		if (r->slots[i].child != NULL) {
			dns_cancel(r->slots[i].child);
			r->slots[i].child = NULL;
			r->pending--;
		}
	if (r->pending == 0)
		dns_req_free(r);
}

/* ---- smtp-hosts specs ------------------------------------------------ */

static void
dns_req_spec_flatten(struct dns_req *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nslots; i++)
		n += r->slots[i].nhosts;
	r->hosts = xcalloc(n ? n : 1, sizeof(*r->hosts));
	for (size_t i = 0; i < r->nslots; i++) {
		struct dns_slot *s = &r->slots[i];

		for (size_t j = 0; j < s->nhosts; j++) {
			r->hosts[r->nhosts] = s->hosts[j];
			r->hosts[r->nhosts++].pref = (uint16_t)s->level;
		}
		free(s->hosts);
		s->hosts = NULL;
		s->nhosts = 0;
	}
}

static void
dns_req_on_child(const struct dns_result *res, void *arg)
{
	struct dns_slot *s = arg;
	struct dns_req *r = s->parent;

	s->child = NULL;
	s->tempfail = res->status == DNS_TEMPFAIL;
	s->hosts = xcalloc(res->nhosts ? res->nhosts : 1, sizeof(*s->hosts));
	for (size_t i = 0; i < res->nhosts; i++) {
		struct dns_rhost *h = &s->hosts[s->nhosts++];

		h->name = xstrdup(res->hosts[i].name);
		h->naddr = res->hosts[i].naddr;
		h->addrs = xreallocarray(NULL, h->naddr ? h->naddr : 1,
		    sizeof(*h->addrs));
		memcpy(h->addrs, res->hosts[i].addrs,
		    h->naddr * sizeof(*h->addrs));
	}
	r->pending--;
	dns_req_check(r);
}

static void
dns_req_spec_slot(struct dns_req *r, struct dns_slot *s,
    const struct dns_spec_item *it)
{
	struct dns_rhost *h;

	s->level = it->level;
	s->parent = r;
	if (it->kind == DNS_SPEC_MX) {
		r->pending++;
		s->child = dns_resolve_mx(r->d, it->name, dns_req_on_child, s);
		return;
	}
	s->hosts = xcalloc(1, sizeof(*s->hosts));
	s->nhosts = 1;
	h = &s->hosts[0];
	h->name = xstrdup(it->name);
	h->port = it->port;
	if (it->kind == DNS_SPEC_HOST) {
		dns_req_lookup_host(r, h);
		return;
	}
	h->addrs = xcalloc(1, sizeof(*h->addrs));
	h->addrs[0] = it->addr;
	h->naddr = 1;
	if (it->addr.ss_family == AF_INET)
		((struct sockaddr_in *)h->addrs)->sin_port =
		    htons(it->port ? it->port : 25);
	else
		((struct sockaddr_in6 *)h->addrs)->sin6_port =
		    htons(it->port ? it->port : 25);
}

/* Shuffle items of equal level, as equal-preference MX records are. */
static void
dns_req_spec_shuffle(struct dns_spec *sp)
{
	for (size_t start = 0; start < sp->nitems;) {
		size_t end = start + 1;

		while (end < sp->nitems &&
		    sp->items[end].level == sp->items[start].level)
			end++;
		for (size_t k = end - start; k > 1; k--) {
			size_t j = start + dns_req_rand((uint32_t)k);
			struct dns_spec_item t = sp->items[start + k - 1];

			sp->items[start + k - 1] = sp->items[j];
			sp->items[j] = t;
		}
		start = end;
	}
}

struct dns_req *
dns_resolve_hosts(struct dns *d, const char *spec, dns_cb *cb, void *arg)
{
	struct dns_req *r = dns_req_new(d, cb, arg);
	struct dns_spec sp;
	char err[256];

	r->pending++;
	if (dns_spec_parse(spec, &sp, err, sizeof(err)) == -1) {
		dns_req_fail(r, DNS_NOHOST, xstrdup(err));
	} else {
		dns_req_spec_shuffle(&sp);
		r->nslots = sp.nitems;
		r->slots = xcalloc(sp.nitems, sizeof(*r->slots));
		for (size_t i = 0; i < sp.nitems; i++)
			dns_req_spec_slot(r, &r->slots[i], &sp.items[i]);
		dns_spec_fini(&sp);
	}
	r->pending--;
	dns_req_check(r);
	return r;
}
