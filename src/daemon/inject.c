/*
 * inject.c -- the way in: smtpd callbacks (policy from <source>, AUTH
 * against <smtp-user>, submit), DKIM signing once at spool time, the
 * durable spool write, then queueing in the scheduler; also locally
 * generated messages (DSNs) and spool recovery at start-up.
 *
 * The 250 reply is given only from the spool's durability callback, so a
 * client never hears "queued" for a message that is not on disk.
 * Ownership: struct inj holds copies of everything the durability callback
 * needs; it is freed there.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acct/acctw.h"
#include "conf/conf.h"
#include "lib/log.h"
#include "lib/wallclock.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"
#include "spool/spool.h"
#include "daemon/server.h"

/* Everything the durability callback needs, copied. */
struct inj {
	struct server		*sv;
	struct smtpd_submit	*t;		/* NULL for local messages */
	struct sched_msg_in	 in;
	struct sched_rcpt_in	*rcpts;
	char			*strs[16];	/* owned strings */
	size_t			 nstrs;
	char			*rcv_dst;
};

static const char *
inj_keep(struct inj *ij, const char *s)
{
	char *c;

	if (s == NULL)
		return NULL;
	if (ij->nstrs == sizeof(ij->strs) / sizeof(ij->strs[0]))
		fatalx("%s: too many strings", __func__);
	c = xstrdup(s);
	ij->strs[ij->nstrs++] = c;
	return c;
}

static void
inj_free(struct inj *ij)
{
	for (size_t i = 0; i < ij->in.nrcpt; i++) {
		free((char *)ij->rcpts[i].addr);
		free((char *)ij->rcpts[i].orcpt);
		free((char *)ij->rcpts[i].vmta);
	}
	free(ij->rcpts);
	for (size_t i = 0; i < ij->nstrs; i++)
		free(ij->strs[i]);
	free(ij->rcv_dst);
	free(ij);
}

static void
receipt_records(struct server *sv, const struct inj *ij,
    const struct sched_msg_in *in)
{
	struct acct_event a;

	if (sv->acct == NULL)
		return;
	for (size_t i = 0; i < in->nrcpt; i++) {
		memset(&a, 0, sizeof(a));
		a.type = ACCT_R_R;
		a.time_logged = wall_now();
		a.time_queued = in->time_queued;
		a.v[ACCT_F_ORIG] = in->orig;
		a.v[ACCT_F_RCPT] = in->rcpts[i].addr;
		a.v[ACCT_F_ORCPT] = in->rcpts[i].orcpt;
		a.v[ACCT_F_SRC_TYPE] = in->src_type;
		a.v[ACCT_F_SRC_MTA] = in->src_mta;
		a.v[ACCT_F_RCV_SOURCE_IP] = in->rcv_ip;
		a.v[ACCT_F_RCV_DESTINATION_IP] = ij->rcv_dst;
		/* the name asked for: the recipient's own (rcpt-to) */
		a.v[ACCT_F_VMTA] = in->rcpts[i].vmta ? in->rcpts[i].vmta :
		    in->vmta ? in->vmta : SCHED_DEFAULT_VMTA;
		a.v[ACCT_F_JOB_ID] = in->job_id;
		a.v[ACCT_F_ENV_ID] = in->envid;
		a.v[ACCT_F_RCV_SMTP_USER] = in->auth_user;
		acctw_write(sv->acct, &a);
	}
}

static void
inj_durable(int error, uint64_t id, void *arg)
{
	struct inj *ij = arg;
	struct server *sv = ij->sv;
	char reply[128];

	sv->pending_submits--;
	if (error) {
		log_warnx("spool: message %llx not stored: %s",
		    (unsigned long long)id, strerror(error));
		if (ij->t)
			smtpd_submit_done(ij->t, 452,
			    "4.3.1 Insufficient system storage");
		inj_free(ij);
		return;
	}
	ij->in.id = id;
	if (ij->t) {
		snprintf(reply, sizeof(reply), "2.0.0 OK queued as %llX",
		    (unsigned long long)id);
		smtpd_submit_done(ij->t, 250, reply);
		receipt_records(sv, ij, &ij->in);
	}
	if (sv->sched)
		sched_msg_add(sv->sched, &ij->in, wall_now());
	inj_free(ij);
}

/* Spool msg (whose strings may be borrowed); ij has the queued copy. */
static int
inj_submit(struct server *sv, struct inj *ij, struct spool_msg *sm)
{
	if (sv->stopping || spool_submit(sv->spool, sm, inj_durable, ij) == -1)
		return -1;
	sv->pending_submits++;
	return 0;
}

static struct inj *
inj_new(struct server *sv, const struct spool_msg *sm)
{
	struct inj *ij = xcalloc(1, sizeof(*ij));

	ij->sv = sv;
	ij->in.time_queued = sm->time_queued;
	ij->in.orig = inj_keep(ij, sm->orig);
	ij->in.envid = inj_keep(ij, sm->envid);
	ij->in.vmta = inj_keep(ij, sm->vmta);
	ij->in.job_id = inj_keep(ij, sm->job_id);
	ij->in.src_type = inj_keep(ij, sm->src_type);
	ij->in.src_mta = inj_keep(ij, sm->src_mta);
	ij->in.rcv_ip = inj_keep(ij, sm->rcv_ip);
	ij->in.auth_user = inj_keep(ij, sm->auth_user);
	ij->in.ret_full = sm->ret_full;
	ij->in.datalen = sm->datalen;
	ij->in.nrcpt = sm->nrcpt;
	ij->rcpts = xcalloc(sm->nrcpt ? sm->nrcpt : 1, sizeof(*ij->rcpts));
	for (size_t i = 0; i < sm->nrcpt; i++) {
		ij->rcpts[i].addr = xstrdup(sm->rcpts[i].addr);
		ij->rcpts[i].orcpt = sm->rcpts[i].orcpt ?
		    xstrdup(sm->rcpts[i].orcpt) : NULL;
		ij->rcpts[i].vmta = sm->rcpts[i].vmta ?
		    xstrdup(sm->rcpts[i].vmta) : NULL;
		ij->rcpts[i].notify = sm->rcpts[i].notify;
	}
	ij->in.rcpts = ij->rcpts;
	return ij;
}

void
inject_local(struct server *sv, const char *to, const char *vmta,
    char *data, size_t len)
{
	struct spool_rcpt r = { .addr = to };
	struct spool_msg sm = {
		.time_queued = wall_now(), .orig = "", .vmta = vmta,
		.src_type = "api", .nrcpt = 1, .rcpts = &r, .data = data,
		.datalen = len,
	};
	struct inj *ij = inj_new(sv, &sm);

	if (inj_submit(sv, ij, &sm) == -1) {
		log_warnx("dsn: cannot spool the bounce to <%s>", to);
		inj_free(ij);
	}
	free(data);
}

/* --- smtpd callbacks --- */

_Static_assert(CONF_DATE_NO == SMTPD_DATE_NO && CONF_DATE_YES ==
    SMTPD_DATE_YES && CONF_DATE_OVERRIDE == SMTPD_DATE_OVERRIDE,
    "add-date-header values must match smtpd's");

/* smtpd's policy from a <source>: conf's 1:1 mapping plus what it does not
 * carry (retain-x-*, per-IP limits, the source itself). */
static void
source_policy(const struct conf_source *s, struct smtpd_policy *out)
{
	conf_source_to_policy(s, out);
	out->retain_x_virtual_mta = s->retain_x_virtual_mta;
	out->retain_x_job = s->retain_x_job;
	out->max_smtp_in = s->max_smtp_in;
	out->max_msg_rate_n = s->max_msg_rate.n;
	out->max_msg_rate_per = s->max_msg_rate.per;
	out->source_name = s->name;
	out->source_data = s;	/* confs live until exit (server.c) */
}

/* After AUTH: the user's <smtp-user> source, else {auth}, if defined,
 * unless the listener chose a named source. */
static void
cb_auth_policy(const char *user, struct smtpd_policy *pol, void *arg)
{
	struct server *sv = arg;
	const struct conf *c = sv->conf;
	const char *name = "{auth}";
	const struct conf_source *s;

	for (size_t i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].source && pol->source_name &&
		    strcmp(c->listeners[i].source, pol->source_name) == 0)
			return;
	for (size_t i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, user) == 0 && c->users[i].source)
			name = c->users[i].source;
	if ((s = conf_source_find(c, name)) != NULL)
		source_policy(s, pol);
}

static void
cb_policy(const struct sockaddr *peer, const struct smtpd_listener *l,
    struct smtpd_policy *out, void *arg)
{
	struct server *sv = arg;

	/* smtpd_new() is called in server.c; any session's first callback
	 * comes before its AUTH, so registering here is in time. */
	smtpd_set_auth_policy(sv->smtpd, cb_auth_policy);
	source_policy(conf_source_lookup(sv->conf, peer, l->source), out);
}

static int
cb_auth(const char *user, const char *pass, void *arg)
{
	struct server *sv = arg;

	return conf_user_check(sv->conf, user, pass) != NULL;
}

/* The <source> the message came through (for source-level dkim-sign). */
static const struct conf_source *
msg_source(struct server *sv, const struct smtpd_msg *m)
{
	if (m->source_data != NULL)
		return m->source_data;
	return conf_source_lookup(sv->conf, NULL, NULL);	/* defaults */
}

static void
cb_submit(const struct smtpd_msg *m, struct smtpd_submit *t, void *arg)
{
	struct server *sv = arg;
	const char **rv = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof(*rv));
	/* routing: route.c; DKIM signs once, under the message's vmta (the
	 * first recipient's when rcpt-to rules split the message) */
	const char *bad, *vmta = route_message(sv->conf, msg_source(sv, m), m,
	    rv, &bad);
	struct spool_rcpt *r = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof(*r));
	char *srcmta = xasprintf("%s (%s)", m->helo ? m->helo : "",
	    m->peer_ip ? m->peer_ip : "");
	size_t slen = 0;
	char *signed_data = NULL;
	int dk = dkim_cache_sign(sv->dkim, sv->conf, &(struct dkim_cache_msg){
	    .vmta = vmta, .mail_from = m->mail_from,
	    .source_sign = msg_source(sv, m)->dkim_sign, .rcpts = m->rcpts,
	    .nrcpt = m->nrcpt, .data = m->data, .len = m->datalen },
	    &signed_data, &slen);
	struct spool_msg sm = {
		.time_queued = (int64_t)m->received, .orig = m->mail_from,
		.envid = m->envid, .ret_full = (uint8_t)m->ret_full,
		.vmta = vmta, .job_id = m->job_id, .src_type = "smtp",
		.src_mta = srcmta, .rcv_ip = m->peer_ip,
		.auth_user = m->auth_user, .nrcpt = m->nrcpt, .rcpts = r,
		.data = signed_data ? signed_data : m->data,
		.datalen = signed_data ? slen : m->datalen,
	};
	struct inj *ij;

	if (dk == -1) {		/* never a silent unsigned send */
		smtpd_submit_done(t, 451, "4.3.0 DKIM signing failed, try "
		    "again later");
		goto out;
	}
	if (bad) {		/* PowerMTA rejects an invalid virtual MTA */
		char msg[400];

		snprintf(msg, sizeof(msg), "5.7.1 Invalid virtual MTA or pool "
		    "\"%.200s\"", bad);
		smtpd_submit_done(t, 550, msg);
		goto out;
	}
	for (size_t i = 0; i < m->nrcpt; i++)
		r[i] = (struct spool_rcpt){ .addr = m->rcpts[i].addr,
		    .orcpt = m->rcpts[i].orcpt, .vmta = rv[i],
		    .notify = m->rcpts[i].notify };
	ij = inj_new(sv, &sm);
	ij->t = t;
	ij->rcv_dst = m->local_ip ? xstrdup(m->local_ip) : NULL;
	if (inj_submit(sv, ij, &sm) == -1) {
		smtpd_submit_done(t, 452, "4.3.1 Insufficient system storage");
		inj_free(ij);
	}
out:
	free(signed_data);
	free(srcmta);
	free(r);
	free(rv);
}

static const struct smtpd_cbs inject_smtpd_cbs = {
	.policy = cb_policy,
	.auth = cb_auth,
	.submit = cb_submit,
};

const struct smtpd_cbs *
inject_cbs(void)
{
	return &inject_smtpd_cbs;
}

/* --- recovery --- */

static void
cb_recover(const struct spool_msg *sm, void *arg)
{
	struct server *sv = arg;
	struct sched_rcpt_in *ri = xcalloc(sm->nrcpt ? sm->nrcpt : 1,
	    sizeof(*ri));
	struct sched_msg_in in = {
		.id = sm->id, .time_queued = sm->time_queued, .orig = sm->orig,
		.envid = sm->envid, .vmta = sm->vmta, .job_id = sm->job_id,
		.src_type = sm->src_type, .src_mta = sm->src_mta,
		.rcv_ip = sm->rcv_ip, .auth_user = sm->auth_user,
		.ret_full = sm->ret_full, .datalen = sm->datalen,
		.nrcpt = sm->nrcpt, .rcpts = ri, .recovered = 1,
	};

	for (size_t i = 0; i < sm->nrcpt; i++)
		ri[i] = (struct sched_rcpt_in){ .addr = sm->rcpts[i].addr,
		    .orcpt = sm->rcpts[i].orcpt,
		    .vmta = sm->rcpts[i].vmta,
		    .notify = sm->rcpts[i].notify,
		    .done = sm->rcpts[i].state == SPOOL_RCPT_DONE,
		    .attempts = sm->rcpts[i].attempts,
		    .next_attempt = sm->rcpts[i].next_attempt };
	sched_msg_add(sv->sched, &in, wall_now());
	free(ri);
}

void
inject_recover(struct server *sv, int64_t now)
{
	char err[256];
	long n;

	(void)now;
	n = spool_recover(sv->spool, cb_recover, sv, err, sizeof(err));
	if (n < 0)
		fatalx("spool recovery failed: %s", err);
	log_info("spool: recovered %ld message%s with pending recipients", n,
	    n == 1 ? "" : "s");
}
