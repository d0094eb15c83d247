/*
 * smtpd.c -- the SMTP server object: parameters, listeners, accept,
 * connection limit, teardown.
 *
 * Invariants: parameters get their documented defaults here (max_line 512,
 * max_data_line 1000, timeouts 300 s, 100 connections, 10 errors), so the
 * rest of the module never sees a 0 meaning "default". Listener structs are
 * allocated one by one so pointers to them stay valid.
 * Ownership: smtpd_new() copies the params (not ssl_ctx, which the caller
 * keeps alive until smtpd_free()); listener strings are copied.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd_int.h"

struct smtpd *
smtpd_new(struct event_base *base, const struct smtpd_params *p,
    const struct smtpd_cbs *cbs, void *arg)
{
	struct smtpd *s;

	if (cbs->submit == NULL)
		fatalx("%s: submit callback required", __func__);
	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->p = *p;
	s->hostname = xstrdup(p->hostname ? p->hostname : "localhost");
	s->p.hostname = s->hostname;
	if (s->p.max_line == 0)
		s->p.max_line = 512;
	if (s->p.max_data_line == 0)
		s->p.max_data_line = 1000;
	if (s->p.cmd_timeout <= 0)
		s->p.cmd_timeout = 300;
	if (s->p.data_timeout <= 0)
		s->p.data_timeout = 300;
	if (s->p.max_connections <= 0)
		s->p.max_connections = 100;
	if (s->p.max_errors <= 0)
		s->p.max_errors = 10;
	s->cbs = *cbs;
	s->arg = arg;
	s->nip_sweep = 1024;
	return s;
}

void
smtpd_set_auth_policy(struct smtpd *s, smtpd_auth_policy_fn fn)
{
	s->auth_policy = fn;
}

static void
smtpd_accept_cb(struct evconnlistener *el, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smtpd_lst *lst = arg;

	(void)el;
	(void)salen;
	smtpd_session_start(lst->srv, fd, sa, lst);
}

static void
smtpd_accept_error_cb(struct evconnlistener *el, void *arg)
{
	(void)el;
	(void)arg;
	/* EMFILE and friends: transient, libevent keeps listening. */
	log_warn("smtpd: accept");
}

static int
smtpd_sockaddr(const struct smtpd_listener *l, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, l->addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, l->addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static uint16_t
lst_port(const struct smtpd_lst *lst)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = evconnlistener_get_fd(lst->el);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int
smtpd_listen(struct smtpd *s, const struct smtpd_listener *l, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	struct smtpd_lst *lst;
	socklen_t len;

	if (l->addr == NULL || smtpd_sockaddr(l, &ss, &len) < 0) {
		snprintf(err, errlen, "bad listener address '%s'",
		    l->addr ? l->addr : "(null)");
		return -1;
	}
	lst = xcalloc(1, sizeof(*lst));
	lst->srv = s;
	lst->el = evconnlistener_new_bind(s->base, smtpd_accept_cb, lst,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (struct sockaddr *)&ss, (int)len);
	if (lst->el == NULL) {
		snprintf(err, errlen, "cannot listen on %s port %u: %s",
		    l->addr, l->port, strerror(errno));
		free(lst);
		return -1;
	}
	evconnlistener_set_error_cb(lst->el, smtpd_accept_error_cb);
	lst->l.addr = xstrdup(l->addr);
	lst->l.source = l->source ? xstrdup(l->source) : NULL;
	lst->l.port = lst_port(lst);
	s->lst = xreallocarray(s->lst, (size_t)s->nlst + 1, sizeof(*s->lst));
	s->lst[s->nlst] = lst;
	return s->nlst++;
}

uint16_t
smtpd_listener_port(struct smtpd *s, int idx)
{
	if (idx < 0 || idx >= s->nlst)
		return 0;
	return s->lst[idx]->l.port;
}

void
smtpd_stop_listening(struct smtpd *s)
{
	int i;

	for (i = 0; i < s->nlst; i++)
		if (s->lst[i]->el)
			evconnlistener_disable(s->lst[i]->el);
}

int
smtpd_session_count(struct smtpd *s)
{
	return s->nsessions;
}

void
smtpd_free(struct smtpd *s)
{
	int i;

	if (s == NULL)
		return;
	while (s->sessions)
		smtpd_session_free(s->sessions);
	for (i = 0; i < s->nlst; i++) {
		evconnlistener_free(s->lst[i]->el);
		free((char *)s->lst[i]->l.addr);
		free((char *)s->lst[i]->l.source);
		free(s->lst[i]);
	}
	free(s->lst);
	smtpd_ip_free_all(s);
	free(s->hostname);
	free(s);
}
