/*
 * dns_loop.c -- the c-ares channel driven by libevent (c-ares 1.18 API).
 *
 * c-ares tells us which sockets to watch through ARES_OPT_SOCK_STATE_CB;
 * each becomes a persistent libevent event whose callback calls
 * ares_process_fd(). One timer follows ares_timeout() and is re-armed after
 * every call into c-ares. Servers are set once, before any query
 * (ares_set_servers_ports_csv returns ARES_ENOTIMP with queries pending
 * before c-ares 1.22).
 * Invariants: d->socks holds exactly the sockets c-ares asked us to watch.
 * Ownership: dns_free() frees live requests without calling their
 * callbacks.
 */
#include <sys/time.h>

#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_internal.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

struct dns_sock {
	struct dns_sock	*next;
	ares_socket_t	 fd;
	struct event	*ev;
	struct dns	*d;
};

void dns_req_destroy_all(struct dns *d);	/* dns_req.c */

void
dns_loop_timer_update(struct dns *d)
{
	struct timeval tv, *tvp;

	if (d->destroying)
		return;
	tvp = ares_timeout(d->channel, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(d->timer);
	else
		evtimer_add(d->timer, tvp);
}

static void
dns_loop_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_loop_timer_update(d);
}

static void
dns_loop_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	ares_process_fd(d->channel,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	dns_loop_timer_update(d);
}

static void
dns_loop_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock **pp, *s;
	short what = EV_PERSIST;

	for (pp = &d->socks; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			break;
	if ((s = *pp) != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable) {
		if (s != NULL) {
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->d = d;
		s->next = d->socks;
		d->socks = s;
	}
	if (readable)
		what |= EV_READ;
	if (writable)
		what |= EV_WRITE;
	s->ev = event_new(d->base, fd, what, dns_loop_on_sock, d);
	if (s->ev == NULL || event_add(s->ev, NULL) == -1)
		log_warnx("dns: cannot watch c-ares socket %d", (int)fd);
}

static int
dns_loop_channel(struct dns *d, const struct dns_params *p, char *err,
    size_t errlen)
{
	struct ares_options o;
	ares_channel ch;
	int rc, mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES;

	memset(&o, 0, sizeof(o));
	o.sock_state_cb = dns_loop_sock_state;
	o.sock_state_cb_data = d;
	o.timeout = p->timeout_ms > 0 ? p->timeout_ms : 2000;
	o.tries = p->tries > 0 ? p->tries : 3;
	if ((rc = ares_init_options(&ch, &o, mask)) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: ares_init_options: %s",
		    ares_strerror(rc));
		return -1;
	}
	d->channel = ch;
	if (p->servers != NULL && *p->servers != '\0' &&
	    (rc = ares_set_servers_ports_csv(ch, p->servers)) != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: bad servers \"%s\": %s",
		    p->servers, ares_strerror(rc));
		return -1;
	}
	return 0;
}

struct dns *
dns_new(struct event_base *base, const struct dns_params *p, char *err,
    size_t errlen)
{
	static int lib_init;
	struct dns *d;

	if (!lib_init) {
		int rc = ares_library_init(ARES_LIB_INIT_ALL);

		if (rc != ARES_SUCCESS) {
			snprintf(err, errlen, "dns: ares_library_init: %s",
			    ares_strerror(rc));
			return NULL;
		}
		lib_init = 1;
	}
	d = xcalloc(1, sizeof(*d));
	d->base = base;
	d->want_ipv6 = p->want_ipv6;
	TAILQ_INIT(&d->reqs);
	d->timer = evtimer_new(base, dns_loop_on_timer, d);
	d->cache = dns_cache_new(p->cache_max ? p->cache_max : 10000);
	if (d->timer == NULL || dns_loop_channel(d, p, err, errlen) == -1) {
		dns_free(d);
		return NULL;
	}
	return d;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	d->destroying = 1;
	if (d->channel != NULL)
		ares_destroy(d->channel);	/* runs query callbacks */
	dns_req_destroy_all(d);
	while (d->socks != NULL) {
		struct dns_sock *s = d->socks;

		d->socks = s->next;
		if (s->ev)
			event_free(s->ev);
		free(s);
	}
	if (d->timer)
		event_free(d->timer);
	dns_cache_free(d->cache);
	free(d);
}

void
dns_cache_clear(struct dns *d, const char *domain)
{
	dns_cache_drop(d->cache, domain);
}
