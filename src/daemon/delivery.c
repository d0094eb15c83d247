/*
 * delivery.c -- glue between the scheduler and the network: for each
 * connection the scheduler asks for, resolve the queue's MX (or
 * smtp-hosts), connect to the hosts in order, then run transactions the
 * scheduler hands out until it says stop, and report every reply.
 *
 * Rules (issue #2 item 6): DNS NXDOMAIN / null MX / no host -> bounce the
 * queue (5.1.2, 5.1.10, bad-domain); DNS TEMPFAIL -> queue deferral (tq);
 * connection failure or 421 greeting -> next MX host; all hosts failed ->
 * queue deferral 4.4.1 (no answer from host). A transaction cut short by
 * the connection closing is reported as deferred for all its recipients.
 *
 * Shaping (issue #4, docs/shaping.md §7): each connection binds a source
 * IP of its vmta (smtp-source-host lines round-robin, IPs disabled for the
 * queue skipped, address family matched to the target) and EHLOs with
 * that line's host name; non-2xx replies go through the queue's
 * smtp-pattern-list (backoff mode, skip-mx, bounce-rcpt, bounce-queue,
 * defer-queue, disable-source-ip); when pacing says "not yet" the
 * connection waits (up to DLV_MAX_PACE_WAIT) instead of quitting. After an
 * MX lookup a domain whose primary MXs match an <mx-rollup-list> entry is
 * re-routed to the queue NAME.rollup/vmta (sched_queue_reroute), and later
 * recipients go there directly (queue_domain hook, qdomain.c). A pool's
 * recipient in a member's queue whose source IPs are all disabled goes to
 * the pool's next member that can send for the domain (pool_repick hook;
 * a connection that finds no IP left moves them: sched_queue_repick).
 *
 * connection-idle-timeout: with nothing to send (and no pacer to wait
 * for) a connection whose <domain> sets it stays open, idle, if the
 * scheduler allows (sched_conn_idle); the scheduler's conn_wake hook hands
 * it new work or makes it quit (slot needed elsewhere, pause, reload,
 * stop), and the timeout sends QUIT. A reply or close from the peer while
 * idle just ends the connection: nothing is in flight, nothing recorded.
 * Ownership: a struct dlv_conn lives from the conn_open hook until its
 * scheduler connection is closed; delivery_abort_all() frees the rest at
 * shutdown (their in-flight recipients stay pending in the spool).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "dns/dns.h"
#include "lib/log.h"
#include "lib/wallclock.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "shape/shape.h"
#include "smtpc/smtpc.h"
#include "spool/spool.h"
#include "daemon/server.h"

struct dlv_target {
	char			*name;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
};

/* Longest a connection idles waiting for a pacer before it quits. */
#define DLV_MAX_PACE_WAIT	(20 * SHAPE_USEC)
/* Reply actions applied when the connection ends. */
#define DLV_AFTER_ACTS	(CONF_ACT_SKIP_MX | CONF_ACT_BOUNCE_QUEUE | \
	CONF_ACT_DEFER_QUEUE | CONF_ACT_DISABLE_SOURCE_IP)

struct dlv_conn {
	struct server		*sv;
	struct sched_conn	*sc;
	struct event		*start_ev;
	struct event		*wait_ev;	/* pacing wait */
	struct event		*idle_ev;	/* connection-idle-timeout */
	struct event		*wake_ev;	/* conn_wake: ask again */
	unsigned		 after;		/* DLV_AFTER_ACTS to apply */
	char			 after_diag[1024];
	char			 src_ip[64];	/* chosen source IP or "" */
	char			 helo[256];
	struct dns_req		*dreq;
	struct smtpc		*smtpc;
	struct dlv_target	*t;
	size_t			 nt, cur;
	int			 connected;	/* ready() seen */
	const struct sched_batch *batch;
	char			*data;
	const char		**rcpts;
	const char		**orcpts;
	struct smtpc_txn	 txn;		/* must outlive smtpc_send */
	struct sched_result	*res;
	char			**diags;
	size_t			 ndiags;
	char			 last_err[1024];
	char			 mta[600];
	char			 local_ip[64], peer_ip[64];
	char			*esmtp, *tls_proto, *tls_cipher;
	struct dlv_conn		*next, *prev;
};

static int64_t
now_s(void)
{
	return wall_now();
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * SHAPE_USEC + ts.tv_nsec / 1000;
}

static void
dlv_unlink_free(struct dlv_conn *dc)
{
	struct server *sv = dc->sv;

	if (dc->prev)
		dc->prev->next = dc->next;
	else
		sv->conns = dc->next;
	if (dc->next)
		dc->next->prev = dc->prev;
	if (dc->start_ev)
		event_free(dc->start_ev);
	if (dc->wait_ev)
		event_free(dc->wait_ev);
	if (dc->idle_ev)
		event_free(dc->idle_ev);
	if (dc->wake_ev)
		event_free(dc->wake_ev);
	for (size_t i = 0; i < dc->nt; i++)
		free(dc->t[i].name);
	free(dc->t);
	free(dc->data);
	free(dc->rcpts);
	free(dc->orcpts);
	free(dc->res);
	free(dc->esmtp);
	free(dc->tls_proto);
	free(dc->tls_cipher);
	free(dc);
}

static void
dlv_txn_free(struct dlv_conn *dc)
{
	if (dc->diags) {
		for (size_t i = 0; i < dc->ndiags; i++)
			free(dc->diags[i]);
		free(dc->diags);
		dc->diags = NULL;
		dc->ndiags = 0;
	}
	free(dc->data);
	dc->data = NULL;
	free(dc->rcpts);
	dc->rcpts = NULL;
	free(dc->orcpts);
	dc->orcpts = NULL;
	free(dc->res);
	dc->res = NULL;
	dc->batch = NULL;
}

/* --- accounting facts --- */

const char *
delivery_conn_local_ip(const struct sched_conn *c)
{
	const struct dlv_conn *dc = c ? c->owner : NULL;
	return dc && dc->local_ip[0] ? dc->local_ip : NULL;
}

const char *
delivery_conn_peer_ip(const struct sched_conn *c)
{
	const struct dlv_conn *dc = c ? c->owner : NULL;
	return dc && dc->peer_ip[0] ? dc->peer_ip : NULL;
}

const char *
delivery_conn_esmtp(const struct sched_conn *c)
{
	const struct dlv_conn *dc = c ? c->owner : NULL;
	return dc ? dc->esmtp : NULL;
}

const char *
delivery_conn_tls_protocol(const struct sched_conn *c)
{
	const struct dlv_conn *dc = c ? c->owner : NULL;
	return dc ? dc->tls_proto : NULL;
}

const char *
delivery_conn_tls_cipher(const struct sched_conn *c)
{
	const struct dlv_conn *dc = c ? c->owner : NULL;
	return dc ? dc->tls_cipher : NULL;
}

/* --- ending a connection --- */

static void
dlv_closed(struct dlv_conn *dc)
{
	struct sched_conn *sc = dc->sc;

	dlv_txn_free(dc);
	dlv_unlink_free(dc);
	sched_conn_closed(sc, now_s());
}

static void
dlv_failed(struct dlv_conn *dc, const char *status, const char *diag)
{
	struct sched_conn *sc = dc->sc;
	struct sched_result r = { .code = 0, .status = status, .diag = diag,
	    .mta = dc->mta[0] ? dc->mta : NULL };

	sched_conn_failed(sc, &r, now_s());
	dlv_unlink_free(dc);
}

static void
dlv_bounce(struct dlv_conn *dc, const char *status, const char *diag)
{
	struct sched_conn *sc = dc->sc;
	struct sched_result r = { .code = 550, .status = status, .diag = diag,
	    .category = "bad-domain" };

	sched_conn_bounce_queue(sc, &r, now_s());
	dlv_unlink_free(dc);
}

/* --- transactions --- */

static void dlv_connect_next(struct dlv_conn *dc);

static void
dlv_set_mta(struct dlv_conn *dc, const char *name, const char *ip)
{
	snprintf(dc->mta, sizeof(dc->mta), "%s (%s)", name ? name : ip,
	    ip ? ip : "");
}

static void dlv_next(struct dlv_conn *dc);

static void
dlv_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dlv_conn *dc = arg;

	(void)fd;
	(void)what;
	if (dc->smtpc == NULL)
		return;
	if (dc->sv->stopping)
		smtpc_quit(dc->smtpc);
	else
		dlv_next(dc);
}

/* connection-idle-timeout expired: end the idle connection. */
static void
dlv_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dlv_conn *dc = arg;

	(void)fd;
	(void)what;
	sched_conn_unidle(dc->sc);
	if (dc->smtpc)
		smtpc_quit(dc->smtpc);
}

/* The scheduler woke the idle connection: new work, or time to quit. */
static void
dlv_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dlv_conn *dc = arg;

	if (dc->idle_ev)
		evtimer_del(dc->idle_ev);
	dlv_wait_cb(fd, what, dc);	/* same as the end of a pacer wait */
}

/* Nothing to send: stay open for connection-idle-timeout if the queue's
 * <domain> sets it and the scheduler allows. 1 if now idle. */
static int
dlv_idle(struct dlv_conn *dc)
{
	const struct conf_domain *d = sched_queue_params(dc->sc->queue)->dom;
	struct timeval tv;

	if (d == NULL || d->connection_idle_timeout <= 0 || dc->sv->stopping ||
	    dc->after != 0 || !sched_conn_idle(dc->sc))
		return 0;
	if (dc->idle_ev == NULL)
		dc->idle_ev = evtimer_new(dc->sv->base, dlv_idle_cb, dc);
	tv.tv_sec = (time_t)d->connection_idle_timeout;
	tv.tv_usec = 0;
	evtimer_add(dc->idle_ev, &tv);
	return 1;
}

/* No batch now: wait for the pacer if it is soon, else idle or quit. */
static void
dlv_wait_or_quit(struct dlv_conn *dc)
{
	int64_t w = dc->sc->wait_until, d = w - now_us();
	struct timeval tv;

	if (w == 0 && dlv_idle(dc))
		return;
	if (w == 0 || d > DLV_MAX_PACE_WAIT || dc->sv->stopping) {
		smtpc_quit(dc->smtpc);
		return;
	}
	if (d < 0)
		d = 0;
	if (dc->wait_ev == NULL)
		dc->wait_ev = evtimer_new(dc->sv->base, dlv_wait_cb, dc);
	tv.tv_sec = (time_t)(d / SHAPE_USEC);
	tv.tv_usec = (suseconds_t)(d % SHAPE_USEC);
	evtimer_add(dc->wait_ev, &tv);
}

/* Pull the next batch and send it; quit when the scheduler says stop. */
static void
dlv_next(struct dlv_conn *dc)
{
	const struct sched_batch *b;
	struct smtpc_txn *txn = &dc->txn;
	size_t len = 0;

	b = sched_conn_next_us(dc->sc, now_us());
	if (b == NULL) {
		dlv_wait_or_quit(dc);
		return;
	}
	dc->batch = b;
	if (spool_read_data(dc->sv->spool, b->msg->id, &dc->data, &len) == -1) {
		struct sched_result r = { .code = 0, .status = "4.3.0",
		    .diag = "local;cannot read message from spool" };
		log_warnx("delivery: message %llx: spool read failed",
		    (unsigned long long)b->msg->id);
		dlv_txn_free(dc);
		dc->batch = NULL;
		sched_conn_batch_fail(dc->sc, &r, now_s());
		smtpc_quit(dc->smtpc);
		return;
	}
	dc->rcpts = xcalloc(b->n, sizeof(*dc->rcpts));
	dc->orcpts = xcalloc(b->n, sizeof(*dc->orcpts));
	for (size_t i = 0; i < b->n; i++) {
		dc->rcpts[i] = b->rcpts[i]->addr;
		dc->orcpts[i] = b->rcpts[i]->orcpt;
	}
	memset(txn, 0, sizeof(*txn));
	txn->mail_from = b->msg->orig;
	txn->envid = b->msg->envid;
	txn->ret_full = b->msg->ret_full;
	txn->nrcpt = b->n;
	txn->rcpts = dc->rcpts;
	txn->orcpts = dc->orcpts;
	txn->data = dc->data;
	txn->datalen = len;
	b->msg->datalen = len;
	if (smtpc_send(dc->smtpc, txn) == -1) {
		struct sched_result r = { .code = 0, .status = "4.4.2",
		    .diag = "local;cannot send transaction" };
		dlv_txn_free(dc);
		sched_conn_batch_fail(dc->sc, &r, now_s());
		smtpc_quit(dc->smtpc);
	}
}

static void
dlv_fill_result(struct dlv_conn *dc, size_t i, const struct smtpc_reply *rp)
{
	struct sched_result *r = &dc->res[i];

	dc->diags[i] = rp->code ? xasprintf("smtp;%s", rp->text ? rp->text :
	    "") : xasprintf("%s", rp->text ? rp->text : "no reply");
	r->code = rp->code;
	r->status = rp->enh[0] ? rp->enh : NULL;
	r->diag = dc->diags[i];
	r->mta = dc->mta;
}

/* The reply that decides recipient i: MAIL's if it failed, else RCPT's if
 * it failed, else the end-of-DATA reply. */
static const struct smtpc_reply *
dlv_decisive(const struct smtpc_result *r, size_t i)
{
	if (r->mail.code < 200 || r->mail.code >= 300)
		return &r->mail;
	if (i < r->nrcpt && (r->rcpt[i].code < 200 || r->rcpt[i].code >= 300))
		return &r->rcpt[i];
	return &r->data;
}

/*
 * Feed a non-2xx remote reply to the queue's smtp-pattern-list: backoff
 * mode changes are applied (and logged) here; the other actions are
 * returned for the caller. Cheap no-op without a pattern list.
 */
static unsigned
dlv_reply(struct dlv_conn *dc, const struct smtpc_reply *rp,
    enum shape_phase ph)
{
	struct sched_queue *q = dc->sc->queue;
	struct shape_queue *sq = sched_queue_shape(q);
	const struct conf_domain *d = sched_queue_params(q)->dom;
	struct shape_action a;

	if (sq == NULL || d == NULL || d->smtp_patterns == NULL ||
	    rp == NULL || rp->code == 0 || rp->text == NULL ||
	    (rp->code >= 200 && rp->code < 300))
		return 0;
	a = shape_queue_on_reply(sq, d, rp->text, ph, dc->local_ip[0] ?
	    dc->local_ip : NULL, now_us());
	if (a.mode_change > 0)
		log_info("queue %s: backoff mode (reply \"%s\")",
		    sched_queue_name(q), rp->text);
	else if (a.mode_change < 0)
		log_info("queue %s: normal mode", sched_queue_name(q));
	if (a.mode_change)
		sched_queue_wake(q);
	if (a.actions & CONF_ACT_DISABLE_SOURCE_IP)
		log_info("queue %s: source IP %s disabled (reply \"%s\")",
		    sched_queue_name(q), dc->local_ip, rp->text);
	if (a.actions & DLV_AFTER_ACTS)
		snprintf(dc->after_diag, sizeof(dc->after_diag), "smtp;%s",
		    rp->text);
	return a.actions;
}

/* bounce-rcpt: a 4xx RCPT reply becomes a hard bounce (5.x.x). */
static void
dlv_bounce_rcpt(struct dlv_conn *dc, size_t i)
{
	struct sched_result *r = &dc->res[i];

	r->code = 500 + r->code % 100;
	r->status = "5.0.0";
	r->category = NULL;
}

static void
cb_txn_done(struct smtpc *c, const struct smtpc_result *r, void *arg)
{
	struct dlv_conn *dc = arg;
	const struct sched_batch *b = dc->batch;
	unsigned act;

	(void)c;
	if (b == NULL)
		return;
	dc->res = xcalloc(b->n, sizeof(*dc->res));
	dc->diags = xcalloc(b->n, sizeof(*dc->diags));
	dc->ndiags = b->n;
	act = dlv_reply(dc, &r->mail, SHAPE_PHASE_MAIL);
	for (size_t i = 0; i < b->n; i++) {
		unsigned ra = i < r->nrcpt ? dlv_reply(dc, &r->rcpt[i],
		    SHAPE_PHASE_RCPT) : 0;

		dlv_fill_result(dc, i, dlv_decisive(r, i));
		if (ra & CONF_ACT_BOUNCE_RCPT)
			dlv_bounce_rcpt(dc, i);
		act |= ra & ~(unsigned)CONF_ACT_BOUNCE_RCPT;
	}
	act |= dlv_reply(dc, &r->data, SHAPE_PHASE_DATA);
	for (size_t i = 0; i < b->n && (act & CONF_ACT_SKIP_MX); i++)
		dc->res[i].requeue = 1;		/* try them on the next MX */
	sched_conn_batch_done(dc->sc, dc->res, now_s());
	dlv_txn_free(dc);
	dc->after |= act & DLV_AFTER_ACTS;
	if (!dc->sv->stopping && dc->after == 0)
		dlv_next(dc);
	else
		smtpc_quit(dc->smtpc);
}

static void
cb_ready(struct smtpc *c, void *arg)
{
	struct dlv_conn *dc = arg;
	const char *s;

	dc->connected = 1;
	snprintf(dc->local_ip, sizeof(dc->local_ip), "%s",
	    (s = smtpc_local_ip(c)) ? s : "");
	snprintf(dc->peer_ip, sizeof(dc->peer_ip), "%s",
	    (s = smtpc_peer_ip(c)) ? s : "");
	dlv_set_mta(dc, smtpc_peer_name(c), dc->peer_ip);
	free(dc->esmtp);
	dc->esmtp = xstrdup((s = smtpc_esmtp_ext(c)) ? s : "");
	free(dc->tls_proto);
	dc->tls_proto = xstrdup((s = smtpc_tls_protocol(c)) ? s : "");
	free(dc->tls_cipher);
	dc->tls_cipher = xstrdup((s = smtpc_tls_cipher(c)) ? s : "");
	dlv_next(dc);
}

/* Queue-level reply actions once the connection has ended. 1 if dc is
 * gone or moved on. */
static int
dlv_apply_after(struct dlv_conn *dc)
{
	unsigned a = dc->after;

	dc->after = 0;
	if (a & CONF_ACT_BOUNCE_QUEUE) {
		struct sched_result r = { .code = 550, .status = "5.0.0",
		    .diag = dc->after_diag, .mta = dc->mta };
		sched_conn_bounce_queue(dc->sc, &r, now_s());
		dlv_unlink_free(dc);
		return 1;
	}
	if (a & CONF_ACT_DEFER_QUEUE) {
		dlv_failed(dc, "4.0.0", dc->after_diag);
		return 1;
	}
	if (a & CONF_ACT_SKIP_MX) {
		const char *name = dc->cur < dc->nt ? dc->t[dc->cur].name : "";

		snprintf(dc->last_err, sizeof(dc->last_err), "%s",
		    dc->after_diag);

		while (dc->cur < dc->nt && strcmp(dc->t[dc->cur].name,
		    name) == 0)
			dc->cur++;
		dc->connected = 0;
		dlv_connect_next(dc);
		return 1;
	}
	return 0;
}

static void
cb_closed(struct smtpc *c, const struct smtpc_reply *why, void *arg)
{
	struct dlv_conn *dc = arg;

	(void)c;
	dc->smtpc = NULL;
	if (dc->wait_ev)
		evtimer_del(dc->wait_ev);
	if (dc->idle_ev)
		evtimer_del(dc->idle_ev);
	if (dc->sc->idle) {
		/* 421 or close while idle: nothing in flight, just end */
		sched_conn_unidle(dc->sc);
		dlv_closed(dc);
		return;
	}
	if (why)
		snprintf(dc->last_err, sizeof(dc->last_err), "%s%s",
		    why->code ? "smtp;" : "", why->text ? why->text :
		    "connection closed");
	if (why && why->code)
		dc->after |= dlv_reply(dc, why, dc->connected ?
		    SHAPE_PHASE_OTHER : SHAPE_PHASE_CONNECT) & DLV_AFTER_ACTS;
	if (dc->batch) {
		struct sched_result r = { .code = why && why->code >= 400 &&
		    why->code < 500 ? why->code : 0, .status = why &&
		    why->enh[0] ? why->enh : "4.4.2", .diag = dc->last_err,
		    .mta = dc->mta, .requeue = (dc->after & CONF_ACT_SKIP_MX)
		    != 0 };
		sched_conn_batch_fail(dc->sc, &r, now_s());
		dlv_txn_free(dc);
	}
	if (!dc->sv->stopping && dlv_apply_after(dc))
		return;
	if (dc->connected || dc->sv->stopping) {
		dlv_closed(dc);
		return;
	}
	dc->cur++;
	dlv_connect_next(dc);
}

static const struct smtpc_cbs dlv_smtpc_cbs = {
	.ready = cb_ready,
	.txn_done = cb_txn_done,
	.closed = cb_closed,
};

static void
dlv_src_addr(const char *ip, struct sockaddr_storage *ss, socklen_t *len,
    int family)
{
	*len = 0;
	memset(ss, 0, sizeof(*ss));
	if (ip[0] == '\0')
		return;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			*len = sizeof(*sin);
		}
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			*len = sizeof(*sin6);
		}
	}
}

/*
 * Source IP and EHLO name for a connection of the queue's vmta to a target
 * of `family`: the vmta's smtp-source-host lines (or the global ones)
 * round-robin, skipping IPs disabled for the queue and lines of the other
 * address family (none of that family: the kernel chooses). EHLO is the
 * line's host name, else the vmta's host-name, else the global one.
 * -1 if every source IP is disabled for the queue.
 */
/* The smtp-source-host lines a vmta uses: its own, else the global ones. */
static const struct conf_vmta *
vmta_hosts(const struct conf *c, const char *vname,
    const struct conf_source_host **hosts, size_t *n)
{
	const struct conf_vmta *v = strcmp(vname, SCHED_DEFAULT_VMTA) ?
	    conf_vmta_find(c, vname) : NULL;

	*hosts = c->source_hosts;
	*n = c->nsource_hosts;
	if (v && v->nsource_hosts) {
		*hosts = v->source_hosts;
		*n = v->nsource_hosts;
	}
	return v;
}

static int
dlv_pick_source(struct dlv_conn *dc, int family)
{
	const struct conf *c = dc->sv->conf;
	struct sched_queue *q = dc->sc->queue;
	const struct conf_source_host *hosts;
	size_t n, idx;
	const struct conf_vmta *v = vmta_hosts(c, sched_queue_vmta(q), &hosts,
	    &n);
	struct shape_vmta *sv = sched_queue_shape_vmta(q);
	struct shape_queue *sq = sched_queue_shape(q);
	const char *hn = v && v->host_name ? v->host_name : c->host_name;

	dc->src_ip[0] = '\0';
	snprintf(dc->helo, sizeof(dc->helo), "%s", hn ? hn : "localhost");
	for (size_t tries = 0; tries < n; tries++) {
		enum shape_src_result r = shape_src_pick(&sv->src_rr, hosts, n,
		    sq ? &sq->src_off : NULL, now_us(), &idx);

		if (r == SHAPE_SRC_NONE)
			return 0;
		if (r == SHAPE_SRC_ALL_DISABLED)
			return -1;
		if (hosts[idx].addr.ss_family != family)
			continue;
		snprintf(dc->src_ip, sizeof(dc->src_ip), "%s", hosts[idx].ip);
		if (hosts[idx].host)
			snprintf(dc->helo, sizeof(dc->helo), "%s",
			    hosts[idx].host);
		return 0;
	}
	return 0;
}

static void
dlv_connect_next(struct dlv_conn *dc)
{
	const struct sched_queue_params *p = sched_queue_params(
	    dc->sc->queue);
	struct smtpc_params sp;
	struct sockaddr_storage src;
	socklen_t srclen;
	char ip[64];

	if (dc->cur >= dc->nt) {
		dlv_failed(dc, "4.4.1", dc->last_err[0] ? dc->last_err :
		    "no answer from host");
		return;
	}
	struct dlv_target *t = &dc->t[dc->cur];
	ip[0] = '\0';
	if (t->ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&t->ss)->sin_addr,
		    ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&t->ss)->
		    sin6_addr, ip, sizeof(ip));
	dlv_set_mta(dc, t->name, ip);
	snprintf(dc->peer_ip, sizeof(dc->peer_ip), "%s", ip);
	if (dlv_pick_source(dc, t->ss.ss_family) == -1) {
		/* pool mail goes to another member (hook_pool_repick) */
		if (sched_queue_repick(dc->sc->queue) > 0 &&
		    sched_queue_nready(dc->sc->queue) == 0) {
			dlv_closed(dc);
			return;
		}
		dlv_failed(dc, "4.4.0", "all source IPs disabled for this "
		    "queue");
		return;
	}
	dlv_src_addr(dc->src_ip, &src, &srclen, t->ss.ss_family);
	memset(&sp, 0, sizeof(sp));
	sp.helo = dc->helo;
	sp.src = srclen ? (struct sockaddr *)&src : NULL;
	sp.srclen = srclen;
	sp.dst = (struct sockaddr *)&t->ss;
	sp.dstlen = t->sslen;
	sp.dst_name = t->name;
	sp.tls = !p->use_starttls ? SMTPC_TLS_NO : p->require_starttls ?
	    SMTPC_TLS_REQUIRED : SMTPC_TLS_OPPORTUNISTIC;
	sp.ssl_ctx = dc->sv->ssl_client;
	sp.connect_timeout = p->connect_timeout;
	sp.greeting_timeout = p->greeting_timeout;
	sp.data_block_timeout = p->data_timeout;
	log_debug("delivery: %s: connecting to %s", sched_queue_name(
	    dc->sc->queue), dc->mta);
	dc->smtpc = smtpc_connect(dc->sv->base, &sp, &dlv_smtpc_cbs, dc);
	if (dc->smtpc == NULL) {
		snprintf(dc->last_err, sizeof(dc->last_err),
		    "cannot connect to %s", dc->mta);
		dc->cur++;
		dlv_connect_next(dc);
	}
}

static void
dlv_add_targets(struct dlv_conn *dc, const struct dns_result *res,
    uint16_t defport)
{
	for (size_t h = 0; h < res->nhosts; h++) {
		const struct dns_host *dh = &res->hosts[h];
		for (size_t a = 0; a < dh->naddr; a++) {
			struct dlv_target *t;
			dc->t = xreallocarray(dc->t, dc->nt + 1, sizeof(*dc->t));
			t = &dc->t[dc->nt++];
			t->name = xstrdup(dh->name ? dh->name : "");
			t->ss = dh->addrs[a];
			uint16_t port = htons(dh->port ? dh->port : defport);
			if (t->ss.ss_family == AF_INET) {
				((struct sockaddr_in *)&t->ss)->sin_port = port;
				t->sslen = sizeof(struct sockaddr_in);
			} else {
				((struct sockaddr_in6 *)&t->ss)->sin6_port =
				    port;
				t->sslen = sizeof(struct sockaddr_in6);
			}
		}
	}
}

/*
 * After an MX lookup for a plain domain queue: if its lowest-preference
 * MXs match an <mx-rollup-list> name, remember domain -> rollup (and the
 * domain as the rollup's MX source), move the queue's ready recipients to
 * NAME.rollup/vmta and end this connection. 1 if it did.
 */
static int
dlv_rollup(struct dlv_conn *dc, const struct dns_result *res)
{
	struct server *sv = dc->sv;
	struct sched_queue *q = dc->sc->queue;
	const char *dom = sched_queue_domain(q), *name;
	const char *mx[16];
	size_t n = 0;

	if (sv->conf->nrollups == 0 || res->implicit_mx || res->nhosts == 0 ||
	    sched_map_get(sv->rollup_members, dom) != NULL)
		return 0;	/* no rollups, or q is itself a rollup */
	for (size_t i = 0; i < res->nhosts && n < 16; i++)
		if (res->hosts[i].pref == res->hosts[0].pref)
			mx[n++] = res->hosts[i].name;
	name = shape_rollup_queue(sv->conf, sched_queue_params(q)->dom, mx, n);
	if (name == NULL)
		return 0;
	sched_map_put(sv->rollup, dom, name);
	if (sched_map_get(sv->rollup_members, name) == NULL)
		sched_map_put(sv->rollup_members, name, dom);
	log_info("queue %s: MX rolled up into %s/%s", sched_queue_name(q),
	    name, sched_queue_vmta(q));
	sched_queue_reroute(q, name, now_s());
	dlv_closed(dc);
	return 1;
}

/*
 * bounce-upon-no-mx: the domain has no MX record (implicit MX, the A/AAAA
 * fallback) and no smtp-hosts is set. `true` bounces every ready
 * recipient (5.1.2, bad-domain, DSN); an interval bounces only those
 * queued at least that long, and the younger ones still try the A/AAAA
 * fallback. 1 if dc is gone (nothing left to deliver).
 */
static int
dlv_no_mx(struct dlv_conn *dc, const struct dns_result *res)
{
	struct sched_queue *q = dc->sc->queue;
	const struct sched_queue_params *p = sched_queue_params(q);
	int64_t after = p->dom ? p->dom->bounce_upon_no_mx : -1, now = now_s();
	char diag[400];
	struct sched_result r = { .code = 550, .status = "5.1.2",
	    .diag = diag, .category = "bad-domain" };

	if (!res->implicit_mx || p->smtp_hosts[0] != '\0' || after < 0)
		return 0;
	snprintf(diag, sizeof(diag), "DNS: no MX record for %s "
	    "(bounce-upon-no-mx)", sched_queue_domain(q));
	if (after == 0) {
		sched_conn_bounce_queue(dc->sc, &r, now);
		dlv_unlink_free(dc);
		return 1;
	}
	if (sched_conn_bounce_older(dc->sc, &r, now - after, now) > 0)
		log_info("queue %s: no MX record: bounced recipients queued "
		    "%llds or longer ago", sched_queue_name(q),
		    (long long)after);
	if (sched_queue_nready(q) > 0)
		return 0;
	dlv_closed(dc);		/* nothing younger left to try */
	return 1;
}

static void
cb_dns(const struct dns_result *res, void *arg)
{
	struct dlv_conn *dc = arg;
	const struct sched_queue_params *p = sched_queue_params(
	    dc->sc->queue);
	const char *err = res->error ? res->error : "DNS error";

	dc->dreq = NULL;
	switch (res->status) {
	case DNS_NXDOMAIN:
	case DNS_NOHOST:
		dlv_bounce(dc, "5.1.2", err);
		return;
	case DNS_NULLMX:
		dlv_bounce(dc, "5.1.10", err);
		return;
	case DNS_TEMPFAIL: {
		struct sched_conn *sc = dc->sc;
		struct sched_result r = { .code = 0, .status = "4.4.3",
		    .diag = err, .dns_error = 1 };

		sched_conn_failed(sc, &r, now_s());	/* retry-after-dns-error */
		dlv_unlink_free(dc);
		return;
	}
	case DNS_OK:
		break;
	}
	if (dlv_no_mx(dc, res) || dlv_rollup(dc, res))
		return;
	dlv_add_targets(dc, res, p->port ? p->port : 25);
	if (dc->nt == 0) {
		dlv_failed(dc, "4.4.3", "DNS: no address for any MX host");
		return;
	}
	dlv_connect_next(dc);
}

static void
dlv_start(evutil_socket_t fd, short what, void *arg)
{
	struct dlv_conn *dc = arg;
	const struct sched_queue_params *p = sched_queue_params(
	    dc->sc->queue);

	const char *dom = sched_queue_domain(dc->sc->queue), *member;

	(void)fd;
	(void)what;
	/* a rollup queue resolves the MX of a member domain */
	if ((member = sched_map_get(dc->sv->rollup_members, dom)) != NULL)
		dom = member;
	if (p->smtp_hosts[0])
		dc->dreq = dns_resolve_hosts(dc->sv->dns, p->smtp_hosts, cb_dns,
		    dc);
	else
		dc->dreq = dns_resolve_mx(dc->sv->dns, dom, cb_dns, dc);
}

/* Never call back into the scheduler from inside its hook: defer. */
static void
hook_conn_wake(void *arg, struct sched_conn *c)
{
	struct server *sv = arg;
	struct dlv_conn *dc = c->owner;

	if (dc == NULL)
		return;
	if (dc->wake_ev == NULL)
		dc->wake_ev = evtimer_new(sv->base, dlv_wake_cb, dc);
	event_active(dc->wake_ev, EV_TIMEOUT, 0);
}

static void
hook_conn_open(void *arg, struct sched_conn *c)
{
	struct server *sv = arg;
	struct dlv_conn *dc;
	struct timeval zero = { 0, 0 };

	if (discard_queue(c->queue)) {
		discard_open(sv, c);
		return;
	}
	dc = xcalloc(1, sizeof(*dc));
	dc->sv = sv;
	dc->sc = c;
	c->owner = dc;
	dc->next = sv->conns;
	if (sv->conns)
		sv->conns->prev = dc;
	sv->conns = dc;
	/* never call back into the scheduler from inside its hook */
	dc->start_ev = evtimer_new(sv->base, dlv_start, dc);
	evtimer_add(dc->start_ev, &zero);
}

void
delivery_abort_all(struct server *sv)
{
	discard_abort_all(sv);
	while (sv->conns) {
		struct dlv_conn *dc = sv->conns;
		if (dc->dreq)
			dns_cancel(dc->dreq);
		if (dc->smtpc)
			smtpc_abort(dc->smtpc);
		dlv_txn_free(dc);
		dlv_unlink_free(dc);
	}
}

/* --- scheduler hooks fed from the configuration --- */

static void
hosts_spec(char *buf, size_t len, const struct conf_domain *d)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->nsmtp_hosts && off < len; i++) {
		const struct conf_smtp_host *h = &d->smtp_hosts[i];
		const char *sep = i == 0 ? "" :
		    h->level != d->smtp_hosts[i - 1].level ? "; " : ", ";
		int n;

		if (h->lookup_mx)
			n = snprintf(buf + off, len - off, "%slookup-mx:%s", sep,
			    h->host);
		else if (h->literal && h->port)
			n = snprintf(buf + off, len - off, "%s[%s]:%u", sep,
			    h->host, h->port);
		else if (h->literal)
			n = snprintf(buf + off, len - off, "%s[%s]", sep,
			    h->host);
		else if (h->port)
			n = snprintf(buf + off, len - off, "%s%s:%u", sep,
			    h->host, h->port);
		else
			n = snprintf(buf + off, len - off, "%s%s", sep, h->host);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (off >= len)
		log_warnx("delivery: smtp-hosts list too long, truncated");
}

static void
source_host(const struct conf *c, const char *vmta, char *ip, size_t iplen,
    char *helo, size_t hlen)
{
	const struct conf_vmta *v = vmta ? conf_vmta_find(c, vmta) : NULL;
	const struct conf_source_host *sh = NULL;
	const char *host_name = c->host_name;

	if (v && v->nsource_hosts)
		sh = &v->source_hosts[0];
	else if (c->nsource_hosts)
		sh = &c->source_hosts[0];
	if (v && v->host_name)
		host_name = v->host_name;
	snprintf(ip, iplen, "%s", sh ? sh->ip : "");
	snprintf(helo, hlen, "%s", sh && sh->host ? sh->host :
	    host_name ? host_name : "localhost");
}

static void
hook_queue_params(void *arg, const char *domain, const char *vmta,
    struct sched_queue_params *out)
{
	struct server *sv = arg;
	const struct conf_domain *d = conf_domain_lookup(sv->conf,
	    strcmp(vmta, SCHED_DEFAULT_VMTA) ? vmta : NULL, domain);
	const struct conf_vmta *v;
	size_t n;

	out->max_smtp_out = d->max_smtp_out;
	out->max_msg_per_connection = d->max_msg_per_connection;
	out->max_errors_per_connection = d->max_errors_per_connection;
	out->max_rcpt_per_message = d->max_rcpt_per_message;
	out->nretry = 0;
	for (int i = 0; i < d->nretry_after && i < SCHED_MAX_RETRY; i++)
		out->retry_after[out->nretry++] = d->retry_after[i];
	if (out->nretry == 0) {
		out->retry_after[0] = 600;
		out->nretry = 1;
	}
	out->bounce_after = d->bounce_after < 0 ? INT64_C(100) * 365 * 86400 :
	    d->bounce_after;
	hosts_spec(out->smtp_hosts, sizeof(out->smtp_hosts), d);
	out->port = (uint16_t)(d->default_smtp_port > 0 ?
	    d->default_smtp_port : 25);
	out->use_starttls = d->use_starttls;
	out->require_starttls = d->require_starttls;
	out->connect_timeout = (int)d->connect_timeout;
	out->greeting_timeout = (int)d->smtp_greeting_timeout;
	out->data_timeout = (int)d->data_send_timeout;
	source_host(sv->conf, strcmp(vmta, SCHED_DEFAULT_VMTA) ? vmta : NULL,
	    out->source_ip, sizeof(out->source_ip), out->helo,
	    sizeof(out->helo));
	out->dom = d;
	if ((v = strcmp(vmta, SCHED_DEFAULT_VMTA) ? conf_vmta_find(sv->conf,
	    vmta) : NULL) != NULL) {
		out->vmta_max_smtp_out = v->max_smtp_out;
		out->vmta_max_msg_rate = v->max_smtp_msg_rate;
		n = shape_vmta_pools(sv->conf, v, out->pool_limits,
		    SCHED_MAX_POOL_LIMITS);
		out->npool_limits = n < SCHED_MAX_POOL_LIMITS ? n :
		    SCHED_MAX_POOL_LIMITS;
		if (n > SCHED_MAX_POOL_LIMITS)
			log_warnx("delivery: virtual-mta %s is in %zu pools with "
			    "limits; only the first %d apply", vmta, n,
			    SCHED_MAX_POOL_LIMITS);
	}
}

/* The round-robin state of a pool of the current config. */
static struct shape_rr *
pool_rr(struct server *sv, const struct conf_pool *p)
{
	if (sv->npool_rr != sv->conf->npools) {
		free(sv->pool_rr);
		sv->npool_rr = sv->conf->npools;
		sv->pool_rr = xcalloc(sv->npool_rr ? sv->npool_rr : 1,
		    sizeof(*sv->pool_rr));
	}
	return &sv->pool_rr[p - sv->conf->pools];
}

/* 1 if vmta `vname` has a source IP not disabled for queue q (NULL: not
 * created yet, nothing disabled), or uses no source IP of its own. */
static int
vmta_can_send(struct server *sv, struct sched_queue *q, const char *vname)
{
	const struct conf_source_host *hosts;
	struct shape_queue *sq = q ? sched_queue_shape(q) : NULL;
	int64_t now = now_us();
	size_t n;

	(void)vmta_hosts(sv->conf, vname, &hosts, &n);
	if (sq == NULL || n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!shape_srcset_disabled(&sq->src_off, hosts[i].ip, now))
			return 1;
	return 0;
}

struct repick_ctx {
	struct server	*sv;
	const char	*domain;
};

static int
member_can_send(const struct conf_vmta *v, void *arg)
{
	const struct repick_ctx *rc = arg;
	char name[SCHED_NAME_MAX + 1];

	if (sched_queue_name_format(name, sizeof(name), rc->domain, v->name)
	    == -1)
		return 0;
	return vmta_can_send(rc->sv, sched_queue_find(rc->sv->sched, name),
	    v->name);
}

/* Pool members whose source IPs are all disabled for the domain are
 * skipped: the pool's next member that can send, or NULL (stay). */
static const char *
hook_pool_repick(void *arg, struct sched_queue *q, const char *pool)
{
	struct server *sv = arg;
	const struct conf_pool *p = conf_pool_find(sv->conf, pool);
	struct repick_ctx rc = { sv, sched_queue_domain(q) };
	const struct conf_vmta *m;

	if (p == NULL || p->nmembers == 0 ||
	    vmta_can_send(sv, q, sched_queue_vmta(q)))
		return NULL;
	m = shape_pool_pick(pool_rr(sv, p), p, member_can_send, &rc);
	return m ? m->name : NULL;
}

/* A pool name picks a member vmta round-robin; unknown names fall back to
 * the default vmta (logged). */
static void
hook_select_vmta(void *arg, const char *req, char *vmta, size_t vlen,
    char *pool, size_t plen)
{
	struct server *sv = arg;
	const struct conf_pool *p;

	pool[0] = '\0';
	snprintf(vmta, vlen, "%s", SCHED_DEFAULT_VMTA);
	if (req == NULL || *req == '\0' || strcmp(req, SCHED_DEFAULT_VMTA) == 0)
		return;
	if (conf_vmta_find(sv->conf, req)) {
		snprintf(vmta, vlen, "%s", req);
		return;
	}
	if ((p = conf_pool_find(sv->conf, req)) != NULL && p->nmembers) {
		const struct conf_vmta *m;

		m = shape_pool_pick(pool_rr(sv, p), p, NULL, NULL);
		snprintf(vmta, vlen, "%s", m ? m->name : SCHED_DEFAULT_VMTA);
		snprintf(pool, plen, "%s", req);
		return;
	}
	log_warnx("delivery: unknown virtual-mta \"%s\", using %s", req,
	    SCHED_DEFAULT_VMTA);
}

static const struct sched_hooks delivery_sched_hooks = {
	.queue_params = hook_queue_params,
	.select_vmta = hook_select_vmta,
	.conn_open = hook_conn_open,
	.outcome = outcome_hook,
	.queue_event = outcome_queue_event,
	.wakeup = server_wakeup,
	.queue_domain = qdomain_hook,		/* qdomain.c */
	.conn_wake = hook_conn_wake,
	.pool_repick = hook_pool_repick,
};

const struct sched_hooks *
delivery_hooks(void)
{
	return &delivery_sched_hooks;
}
