/*
 * smtpd_ip.c -- per client IP state of the SMTP server: open connections
 * (policy max_smtp_in) and the accepted-message rate (policy
 * max_msg_rate_n / max_msg_rate_per), shared by all sessions from an IP.
 *
 * The rate is a generic cell rate algorithm: with rate n/per the emission
 * interval is T = per / n and the burst tolerance (n - 1) * T, so at most n
 * messages fit in any window of `per` after an idle spell and the long-run
 * rate is n per `per`. A session checks at MAIL (smtpd_ip_msg_allowed) and
 * charges one message when its DATA is complete (smtpd_ip_charge_msg).
 * Invariants: an entry lives while a session points to it (nconn > 0) or
 * its rate state still matters (tat in the future); others are swept when
 * the table has grown. Times are CLOCK_MONOTONIC microseconds.
 * Ownership: entries belong to the struct smtpd (smtpd_ip_free_all).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/xmalloc.h"
#include "smtpd/smtpd_int.h"

struct smtpd_ip {
	struct smtpd_ip	*next;
	char		 addr[SMTPD_IPSTR];
	int		 nconn;
	int64_t		 tat;		/* theoretical arrival time, us */
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t
ip_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % SMTPD_IP_BUCKETS;
}

/* Drop entries nobody needs any more. */
static void
ip_sweep(struct smtpd *srv, int64_t now)
{
	for (size_t b = 0; b < SMTPD_IP_BUCKETS; b++) {
		struct smtpd_ip **pp = &srv->ipt[b];

		while (*pp) {
			struct smtpd_ip *e = *pp;

			if (e->nconn == 0 && e->tat <= now) {
				*pp = e->next;
				free(e);
				srv->nip--;
			} else
				pp = &e->next;
		}
	}
	srv->nip_sweep = srv->nip * 2 + 1024;
}

static struct smtpd_ip *
ip_get(struct smtpd *srv, const char *addr)
{
	size_t b = ip_hash(addr);
	struct smtpd_ip *e;

	for (e = srv->ipt[b]; e; e = e->next)
		if (strcmp(e->addr, addr) == 0)
			return e;
	if (srv->nip >= srv->nip_sweep)
		ip_sweep(srv, now_us());
	e = xcalloc(1, sizeof(*e));
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	e->next = srv->ipt[b];
	srv->ipt[b] = e;
	srv->nip++;
	return e;
}

int
smtpd_ip_conn_open(struct smtpd_session *s)
{
	struct smtpd_ip *e = ip_get(s->srv, s->peer_ip);

	if (s->pol.max_smtp_in > 0 && e->nconn >= s->pol.max_smtp_in)
		return -1;
	e->nconn++;
	s->ip = e;
	return 0;
}

void
smtpd_ip_conn_close(struct smtpd_session *s)
{
	if (s->ip == NULL)
		return;
	s->ip->nconn--;
	s->ip = NULL;
}

/* Emission interval in us for n per `per` seconds (n > 0, per > 0). */
static int64_t
rate_interval(const struct smtpd_policy *p)
{
	int64_t t = p->max_msg_rate_per * 1000000 / p->max_msg_rate_n;

	return t > 0 ? t : 1;
}

int
smtpd_ip_msg_allowed(const struct smtpd_session *s)
{
	const struct smtpd_policy *p = &s->pol;
	int64_t now, t;

	if (p->max_msg_rate_per <= 0 || s->ip == NULL)
		return 1;
	if (p->max_msg_rate_n <= 0)
		return 0;
	now = now_us();
	t = rate_interval(p);
	return s->ip->tat <= now || s->ip->tat - now <= (p->max_msg_rate_n - 1) * t;
}

void
smtpd_ip_charge_msg(struct smtpd_session *s)
{
	const struct smtpd_policy *p = &s->pol;
	int64_t now;

	if (p->max_msg_rate_per <= 0 || p->max_msg_rate_n <= 0 || s->ip == NULL)
		return;
	now = now_us();
	s->ip->tat = (s->ip->tat > now ? s->ip->tat : now) + rate_interval(p);
}

void
smtpd_ip_free_all(struct smtpd *srv)
{
	for (size_t b = 0; b < SMTPD_IP_BUCKETS; b++) {
		struct smtpd_ip *e, *next;

		for (e = srv->ipt[b]; e; e = next) {
			next = e->next;
			free(e);
		}
		srv->ipt[b] = NULL;
	}
	srv->nip = 0;
}
