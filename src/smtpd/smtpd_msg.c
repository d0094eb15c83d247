/*
 * smtpd_msg.c -- end of DATA: reject a bad message, or add the trace and
 * missing headers, pick the VMTA/job and hand the message to submit().
 *
 * Invariants: the session is in SMTPD_S_SUBMIT from just before submit()
 * is called until smtpd_submit_done(); the struct smtpd_msg and all its
 * strings live in the session and stay valid until then.
 */
#include <sys/time.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "smtpd/smtpd_int.h"

static const char *
msg_protocol(const struct smtpd_session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->tls)
		return s->auth_user ? "ESMTPSA" : "ESMTPS";
	return s->auth_user ? "ESMTPA" : "ESMTP";
}

static void
msg_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

static void
msg_received(struct smtpd_session *s, const char *date, char *buf,
    size_t len)
{
	const char *host = s->srv->hostname;

	if (s->pol.hide_message_source)
		snprintf(buf, len, "Received: by %.255s (Sluice) with %s;\r\n"
		    "\t%s\r\n", host, msg_protocol(s), date);
	else
		snprintf(buf, len, "Received: from %.255s ([%s])\r\n"
		    "\tby %.255s (Sluice) with %s;\r\n\t%s\r\n",
		    s->helo ? s->helo : "unknown", s->peer_ip, host,
		    msg_protocol(s), date);
}

static void
msg_fill(struct smtpd_session *s, time_t now)
{
	struct smtpd_msg *m = &s->msg;

	memset(m, 0, sizeof(*m));
	m->received = now;
	m->helo = s->helo ? s->helo : "";
	m->peer_ip = s->peer_ip;
	m->local_ip = s->local_ip;
	m->local_port = s->local_port;
	m->auth_user = s->auth_user;
	m->mail_from = s->mail_from;
	m->envid = s->envid;
	m->ret_full = s->ret_full;
	m->nrcpt = s->nrcpt;
	m->rcpts = s->rcpts;
	m->vmta = s->hres.have_vmta ? s->hres.vmta : s->pol.default_vmta;
	m->vmta_from_header = s->hres.have_vmta;
	m->job_id = s->hres.have_job ? s->hres.job : NULL;
	m->source = s->pol.source_name;
	m->source_data = s->pol.source_data;
	m->data = s->out.p;
	m->datalen = s->out.len;
}

void
smtpd_session_data_end(struct smtpd_session *s)
{
	struct smtpd_hdr_opts o;
	struct timeval tv;
	char date[64], received[1024], msgid[256];

	if (s->dr.err) {
		smtpd_session_reply(s, smtpd_data_err_reply(s->dr.err));
		smtpd_session_reset_tx(s);
		s->state = SMTPD_S_CMD;
		smtpd_session_set_timeout(s, s->srv->p.cmd_timeout);
		return;
	}
	gettimeofday(&tv, NULL);
	msg_date(tv.tv_sec, date, sizeof(date));
	memset(&o, 0, sizeof(o));
	o.process_vmta = s->pol.process_x_virtual_mta;
	o.process_job = s->pol.process_x_job;
	o.retain_vmta = s->pol.retain_x_virtual_mta;
	o.retain_job = s->pol.retain_x_job;
	o.job_header = s->pol.jobid_header;
	if (s->pol.add_received_header) {
		msg_received(s, date, received, sizeof(received));
		o.received = received;
	}
	if (s->pol.add_message_id_header) {
		snprintf(msgid, sizeof(msgid), "<%lld.%06ld.%d.%llu@%s>",
		    (long long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(),
		    (unsigned long long)++s->srv->seq, s->srv->hostname);
		o.message_id = msgid;
	}
	if (s->pol.add_date_header != SMTPD_DATE_NO)
		o.date = date;
	o.date_override = s->pol.add_date_header == SMTPD_DATE_OVERRIDE;
	smtpd_ip_charge_msg(s);
	smtpd_hdr_rewrite(s->data.p ? s->data.p : "", s->data.len, &o, &s->out,
	    &s->hres);
	msg_fill(s, tv.tv_sec);
	s->state = SMTPD_S_SUBMIT;
	smtpd_session_set_timeout(s, 0);
	s->submit.s = s;
	s->srv->cbs.submit(&s->msg, &s->submit, s->srv->arg);
}
