/*
 * outcome.c -- what happens when recipients reach a state: journal it in
 * the spool, write the PowerMTA accounting record (d, b, t, tq), and send
 * one RFC 3464 DSN per message and event batch for hard bounces and
 * expiries (never to the null sender, never against NOTIFY).
 *
 * Field values follow PowerMTA (docs/accounting.md): dsnAction relayed /
 * failed / delayed, dsnStatus "5.1.1 (bad destination mailbox address)",
 * dsnDiag "smtp;550 ..." as the remote said it, dsnMta "host (ip)",
 * bounceCat empty for d, queue "domain/vmta".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct/acctw.h"
#include "bounce/bounce.h"
#include "conf/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "spool/spool.h"
#include "daemon/server.h"

static const char *
dsn_action(enum sched_outcome k)
{
	switch (k) {
	case SCHED_DELIVERED:
		return "relayed";
	case SCHED_DEFERRED:
		return "delayed";
	case SCHED_BOUNCED:
	case SCHED_EXPIRED:
		break;
	}
	return "failed";
}

static enum acct_rtype
acct_type(enum sched_outcome k)
{
	switch (k) {
	case SCHED_DELIVERED:
		return ACCT_R_D;
	case SCHED_DEFERRED:
		return ACCT_R_T;
	case SCHED_BOUNCED:
	case SCHED_EXPIRED:
		break;
	}
	return ACCT_R_B;
}

static void
acct_record(struct server *sv, const struct sched_event *ev)
{
	const struct sched_msg *m = ev->rcpt->msg;
	struct acct_event a;
	char status[128], size[32];
	const char *cat = NULL;

	memset(&a, 0, sizeof(a));
	a.type = acct_type(ev->kind);
	a.time_logged = ev->now;
	a.time_queued = m->time_queued;
	dsn_status_format(status, sizeof(status), ev->status);
	if (ev->kind == SCHED_EXPIRED)
		cat = "message-expired";
	else if (ev->kind != SCHED_DELIVERED)
		cat = ev->res->category ? ev->res->category :
		    bounce_classify(sv->bounce, ev->status, ev->res->diag ?
		    ev->res->diag : "");
	snprintf(size, sizeof(size), "%zu", m->datalen);
	a.v[ACCT_F_ORIG] = m->orig;
	a.v[ACCT_F_RCPT] = ev->rcpt->addr;
	a.v[ACCT_F_ORCPT] = ev->rcpt->orcpt;
	a.v[ACCT_F_DSN_ACTION] = dsn_action(ev->kind);
	a.v[ACCT_F_DSN_STATUS] = status;
	a.v[ACCT_F_DSN_DIAG] = ev->res->diag;
	a.v[ACCT_F_DSN_MTA] = ev->res->mta;
	a.v[ACCT_F_BOUNCE_CAT] = cat;
	a.v[ACCT_F_SRC_TYPE] = m->src_type;
	a.v[ACCT_F_SRC_MTA] = m->src_mta;
	a.v[ACCT_F_DLV_TYPE] = ev->queue && discard_queue(ev->queue) ?
	    "discard" : "smtp";
	a.v[ACCT_F_DLV_SOURCE_IP] = delivery_conn_local_ip(ev->conn);
	a.v[ACCT_F_DLV_DESTINATION_IP] = delivery_conn_peer_ip(ev->conn);
	a.v[ACCT_F_DLV_ESMTP_AVAILABLE] = delivery_conn_esmtp(ev->conn);
	a.v[ACCT_F_DLV_SIZE] = ev->kind == SCHED_DELIVERED && m->datalen ?
	    size : NULL;
	a.v[ACCT_F_VMTA] = ev->rcpt->vmta;	/* per recipient (rcpt-to) */
	a.v[ACCT_F_JOB_ID] = m->job_id;
	a.v[ACCT_F_ENV_ID] = m->envid;
	a.v[ACCT_F_QUEUE] = ev->queue ? sched_queue_name(ev->queue) : NULL;
	a.v[ACCT_F_VMTA_POOL] = ev->rcpt->pool;
	a.v[ACCT_F_DLV_TLS_PROTOCOL] = delivery_conn_tls_protocol(ev->conn);
	a.v[ACCT_F_DLV_TLS_CIPHER] = delivery_conn_tls_cipher(ev->conn);
	a.v[ACCT_F_RCV_SMTP_USER] = m->auth_user;
	a.v[ACCT_F_RCV_SOURCE_IP] = m->rcv_ip;
	if (sv->acct)
		acctw_write(sv->acct, &a);
}

static void
journal(struct server *sv, const struct sched_event *ev)
{
	const struct sched_rcpt *r = ev->rcpt;
	int rc;

	if (ev->kind == SCHED_DEFERRED)
		rc = spool_rcpt_defer(sv->spool, r->msg->id, r->idx,
		    r->attempts, r->next_attempt);
	else
		rc = spool_rcpt_done(sv->spool, r->msg->id, r->idx);
	if (rc == -1)
		log_warnx("spool: cannot journal recipient %u of %llx (%s)",
		    r->idx, (unsigned long long)r->msg->id,
		    sched_outcome_name(ev->kind));
}

static int
wants_dsn(const struct sched_event *ev)
{
	uint8_t n = ev->rcpt->notify;

	if (ev->kind != SCHED_BOUNCED && ev->kind != SCHED_EXPIRED)
		return 0;
	if (ev->rcpt->msg->orig[0] == '\0')
		return 0;	/* never bounce a bounce */
	if (n & SPOOL_NOTIFY_NEVER)
		return 0;
	return n == 0 || (n & SPOOL_NOTIFY_FAILURE);
}

/* One DSN for the failed recipients among ev[0..n) (one message). */
static void
send_dsn(struct server *sv, const struct sched_event *ev, size_t n)
{
	const struct sched_msg *m = ev[0].rcpt->msg;
	struct dsn_rcpt *dr = xcalloc(n, sizeof(*dr));
	struct dsn_params p;
	char *orig = NULL, *dsn, from[300];
	size_t olen = 0, nd = 0, len;

	for (size_t i = 0; i < n; i++) {
		if (!wants_dsn(&ev[i]))
			continue;
		dr[nd++] = (struct dsn_rcpt){ .rcpt = ev[i].rcpt->addr,
		    .orcpt = ev[i].rcpt->orcpt, .action = "failed",
		    .status = ev[i].status, .diag = ev[i].res->diag,
		    .remote_mta = ev[i].res->mta, .last_attempt = ev[i].now };
	}
	if (nd == 0) {
		free(dr);
		return;
	}
	if (spool_read_data(sv->spool, m->id, &orig, &olen) == -1)
		log_warn("dsn: cannot read message %llx; DSN without it",
		    (unsigned long long)m->id);
	snprintf(from, sizeof(from), "MAILER-DAEMON@%s", sv->conf->host_name);
	memset(&p, 0, sizeof(p));
	p.reporting_mta = sv->conf->host_name;
	p.from = from;
	p.to = m->orig;
	p.envid = m->envid;
	p.arrival = m->time_queued;
	p.ret_full = m->ret_full;
	p.orig_msg = orig ? orig : "";
	p.orig_len = orig ? olen : 0;
	p.nrcpt = nd;
	p.rcpts = dr;
	p.now = ev[0].now;
	dsn = dsn_build(&p, &len);
	free(orig);
	free(dr);
	if (dsn)
		inject_local(sv, m->orig, ev[0].rcpt->vmta, dsn, len);
}

void
outcome_hook(void *arg, const struct sched_event *ev, size_t n)
{
	struct server *sv = arg;

	/* DSN first: it reads the message, which the spool may drop once
	 * its last recipient is journaled done. */
	send_dsn(sv, ev, n);
	for (size_t i = 0; i < n; i++) {
		journal(sv, &ev[i]);
		acct_record(sv, &ev[i]);
		log_debug("%s %s: %s %s", sched_outcome_name(ev[i].kind),
		    ev[i].rcpt->addr, ev[i].status, ev[i].res->diag ?
		    ev[i].res->diag : "");
	}
}

/*
 * Operator delete ("deleted by administrator", PowerMTA's `delete`): the
 * recipients are final like any bounce (journaled done, so they do not
 * come back after a restart); the b record is written unless the operator
 * said --no-accounting, and a DSN is sent only with --dsn (and then only
 * as NOTIFY allows, never to the null sender).
 */
void
outcome_deleted(struct server *sv, const struct sched_event *ev, size_t n,
    int dsn, int accounting)
{
	if (dsn)
		send_dsn(sv, ev, n);
	for (size_t i = 0; i < n; i++) {
		journal(sv, &ev[i]);
		if (accounting)
			acct_record(sv, &ev[i]);
		log_debug("deleted %s: %s", ev[i].rcpt->addr,
		    ev[i].res->diag ? ev[i].res->diag : "");
	}
}

void
outcome_queue_event(void *arg, struct sched_queue *q, struct sched_conn *c,
    const struct sched_result *res, int64_t now)
{
	struct server *sv = arg;
	struct acct_event a;
	char status[128];
	const char *dst = delivery_conn_peer_ip(c);

	log_info("queue %s: deferred: %s", sched_queue_name(q),
	    res->diag ? res->diag : "");
	memset(&a, 0, sizeof(a));
	a.type = ACCT_R_TQ;
	a.time_logged = now;
	dsn_status_format(status, sizeof(status), res->status && res->status[0]
	    ? res->status : "4.4.1");
	a.v[ACCT_F_DSN_STATUS] = status;
	a.v[ACCT_F_DSN_DIAG] = res->diag;
	a.v[ACCT_F_DSN_MTA] = res->mta;
	a.v[ACCT_F_DLV_TYPE] = "smtp";
	a.v[ACCT_F_DLV_SOURCE_IP] = "0.0.0.0";
	a.v[ACCT_F_DLV_DESTINATION_IP] = dst;
	a.v[ACCT_F_VMTA] = sched_queue_vmta(q);
	a.v[ACCT_F_QUEUE] = sched_queue_name(q);
	if (sv->acct)
		acctw_write(sv->acct, &a);
}
