/*
 * smtpd_cmd.c -- the command table: {verb, check, proceed} per command.
 *
 * A check function validates the session phase and the argument and sends
 * the error reply itself (returning -1); a proceed function executes a
 * command that passed its check. Every reply carries an enhanced status
 * code (RFC 2034) except the EHLO capability list, 354 and 334.
 * Invariants: error replies go through smtpd_cmd_error(), which counts them
 * and ends the session with 421 4.7.0 at max_errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd_int.h"
#include "spool/spool.h"

_Static_assert(SMTPD_NOTIFY_NEVER == SPOOL_NOTIFY_NEVER &&
    SMTPD_NOTIFY_SUCCESS == SPOOL_NOTIFY_SUCCESS &&
    SMTPD_NOTIFY_FAILURE == SPOOL_NOTIFY_FAILURE &&
    SMTPD_NOTIFY_DELAY == SPOOL_NOTIFY_DELAY, "NOTIFY bits must match");

struct smtpd_cmd_def {
	enum smtpd_cmd	 cmd;
	int		(*check)(struct smtpd_session *, const char *);
	void		(*proceed)(struct smtpd_session *, const char *);
};

int
smtpd_cmd_error(struct smtpd_session *s, const char *reply)
{
	smtpd_session_reply(s, reply);
	if (++s->nerrors < s->srv->p.max_errors)
		return 0;
	smtpd_session_close(s, "421 4.7.0 Error: too many errors");
	return 1;
}

static int
fail(struct smtpd_session *s, const char *reply)
{
	smtpd_cmd_error(s, reply);
	return -1;
}

static int
check_none(struct smtpd_session *s, const char *arg)
{
	(void)s;
	(void)arg;
	return 0;
}

static int
check_noarg(struct smtpd_session *s, const char *arg)
{
	return *arg ? fail(s, "501 5.5.4 Syntax error: no parameters "
	    "allowed") : 0;
}

static int
check_helo(struct smtpd_session *s, const char *arg)
{
	return smtpd_parse_helo(arg) ? fail(s, "501 5.5.4 Syntax: EHLO "
	    "hostname") : 0;
}

static int
check_mail(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	if (s->phase == SMTPD_PH_INIT)
		return fail(s, "503 5.5.1 Error: send HELO/EHLO first");
	if (s->phase >= SMTPD_PH_MAIL)
		return fail(s, "503 5.5.1 Error: nested MAIL command");
	if (s->pol.require_auth && s->auth_user == NULL)
		return fail(s, "530 5.7.0 Authentication required");
	if (!smtpd_ip_msg_allowed(s)) {
		/* Not a client error: not counted towards max_errors. */
		smtpd_session_reply(s, "451 4.7.1 Message rate limit "
		    "exceeded, try again later");
		return -1;
	}
	return 0;
}

static int
check_rcpt(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	return s->phase < SMTPD_PH_MAIL ? fail(s, "503 5.5.1 Error: need "
	    "MAIL command") : 0;
}

static int
check_data(struct smtpd_session *s, const char *arg)
{
	if (s->phase == SMTPD_PH_MAIL)
		return fail(s, "554 5.5.1 Error: no valid recipients");
	if (s->phase != SMTPD_PH_RCPT)
		return fail(s, "503 5.5.1 Error: need RCPT command");
	return check_noarg(s, arg);
}

static int
check_vrfy(struct smtpd_session *s, const char *arg)
{
	return *arg ? 0 : fail(s, "501 5.5.4 Syntax: VRFY address");
}

static int
starttls_offered(const struct smtpd_session *s)
{
	return s->srv->p.ssl_ctx && s->pol.allow_starttls && !s->tls;
}

static int
check_starttls(struct smtpd_session *s, const char *arg)
{
	if (s->tls)
		return fail(s, "503 5.5.1 Error: TLS already active");
	if (!starttls_offered(s))
		return fail(s, "454 4.7.0 TLS not available");
	if (s->phase >= SMTPD_PH_MAIL)
		return fail(s, "503 5.5.1 Error: mail transaction in progress");
	return check_noarg(s, arg);
}

static int
check_auth(struct smtpd_session *s, const char *arg)
{
	if (s->phase == SMTPD_PH_INIT)
		return fail(s, "503 5.5.1 Error: send EHLO first");
	if (!s->tls || s->srv->cbs.auth == NULL)
		return fail(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
	if (s->auth_user)
		return fail(s, "503 5.5.1 Error: already authenticated");
	if (s->phase >= SMTPD_PH_MAIL)
		return fail(s, "503 5.5.1 Error: mail transaction in progress");
	return *arg ? 0 : fail(s, "501 5.5.4 Syntax: AUTH mechanism");
}

static void
proceed_ehlo(struct smtpd_session *s, const char *arg, int esmtp)
{
	struct smtpd *srv = s->srv;

	smtpd_session_reset_tx(s);
	free(s->helo);
	s->helo = xstrndup(arg, strcspn(arg, " "));
	s->phase = SMTPD_PH_HELO;
	s->esmtp = esmtp;
	if (!esmtp) {
		smtpd_session_replyf(s, "250 %s", srv->hostname);
		return;
	}
	smtpd_session_replyf(s, "250-%s Hello [%s]", srv->hostname, s->peer_ip);
	smtpd_session_reply(s, "250-PIPELINING");
	if (s->pol.max_message_size)
		smtpd_session_replyf(s, "250-SIZE %zu", s->pol.max_message_size);
	else
		smtpd_session_reply(s, "250-SIZE");
	smtpd_session_reply(s, "250-8BITMIME");
	smtpd_session_reply(s, "250-DSN");
	if (starttls_offered(s))
		smtpd_session_reply(s, "250-STARTTLS");
	if (s->tls && srv->cbs.auth)
		smtpd_session_reply(s, "250-AUTH PLAIN LOGIN");
	smtpd_session_reply(s, "250 ENHANCEDSTATUSCODES");
}

static void
proceed_helo(struct smtpd_session *s, const char *arg)
{
	proceed_ehlo(s, arg, 0);
}

static void
proceed_ehlo1(struct smtpd_session *s, const char *arg)
{
	proceed_ehlo(s, arg, 1);
}

static void
proceed_mail(struct smtpd_session *s, const char *arg)
{
	struct smtpd_mail_args m;
	int r;

	if ((r = smtpd_parse_mail(arg, &m)) != 0) {
		smtpd_cmd_error(s, smtpd_perr_reply(r, 0));
		return;
	}
	if (s->pol.max_message_size && m.has_size &&
	    m.size > s->pol.max_message_size) {
		smtpd_session_reply(s, "552 5.3.4 Message size exceeds fixed "
		    "maximum message size");
		return;
	}
	s->mail_from = xstrdup(m.addr);
	s->envid = m.has_envid ? xstrdup(m.envid) : NULL;
	s->ret_full = m.ret == 1;
	s->phase = SMTPD_PH_MAIL;
	smtpd_session_reply(s, "250 2.1.0 Sender OK");
}

static void
proceed_rcpt(struct smtpd_session *s, const char *arg)
{
	struct smtpd_rcpt_args a;
	struct smtpd_rcpt *r;
	int e;

	if ((e = smtpd_parse_rcpt(arg, &a)) != 0) {
		smtpd_cmd_error(s, smtpd_perr_reply(e, 1));
		return;
	}
	if (!s->pol.always_allow_relaying && s->auth_user == NULL) {
		smtpd_cmd_error(s, "550 5.7.1 Relaying denied");
		return;
	}
	if (s->nrcpt >= s->pol.max_rcpt_per_message) {
		smtpd_session_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		s->rcpts = xreallocarray(s->rcpts, s->rcpt_cap,
		    sizeof(*s->rcpts));
	}
	r = &s->rcpts[s->nrcpt++];
	r->addr = xstrdup(a.addr);
	r->orcpt = a.has_orcpt ? xstrdup(a.orcpt) : NULL;
	r->notify = a.notify;
	s->phase = SMTPD_PH_RCPT;
	smtpd_session_reply(s, "250 2.1.5 Recipient OK");
}

static void
proceed_data(struct smtpd_session *s, const char *arg)
{
	struct smtpd_params *p = &s->srv->p;

	(void)arg;
	/* RFC 2920 §3.1: DATA ends a pipelined group; text before our 354
	 * is a protocol violation (and the smuggling "pipelining" probe). */
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0) {
		smtpd_session_close(s, "554 5.5.0 Error: message text sent "
		    "before the 354 reply (improper pipelining)");
		return;
	}
	smtpd_session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtpd_data_begin(&s->dr, &s->data, s->pol.max_message_size,
	    p->max_data_line);
	s->state = SMTPD_S_DATA;
	smtpd_session_set_timeout(s, p->data_timeout);
}

static void
proceed_rset(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	smtpd_session_reset_tx(s);
	smtpd_session_reply(s, "250 2.0.0 OK");
}

static void
proceed_noop(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	smtpd_session_reply(s, "250 2.0.0 OK");
}

static void
proceed_quit(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	smtpd_session_close(s, "221 2.0.0 Bye");
}

static void
proceed_vrfy(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	smtpd_session_reply(s, "252 2.5.0 Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
proceed_help(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	smtpd_session_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA "
	    "RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
}

static void
proceed_starttls(struct smtpd_session *s, const char *arg)
{
	(void)arg;
	smtpd_session_reply(s, "220 2.0.0 Ready to start TLS");
	if (smtpd_session_starttls(s) < 0) {
		log_warnx("smtpd: cannot start TLS for %s", s->peer_ip);
		smtpd_session_drop(s);
	}
}

static const struct smtpd_cmd_def cmd_table[SMTPD_CMD_COUNT] = {
	[SMTPD_CMD_HELO] = { SMTPD_CMD_HELO, check_helo, proceed_helo },
	[SMTPD_CMD_EHLO] = { SMTPD_CMD_EHLO, check_helo, proceed_ehlo1 },
	[SMTPD_CMD_MAIL] = { SMTPD_CMD_MAIL, check_mail, proceed_mail },
	[SMTPD_CMD_RCPT] = { SMTPD_CMD_RCPT, check_rcpt, proceed_rcpt },
	[SMTPD_CMD_DATA] = { SMTPD_CMD_DATA, check_data, proceed_data },
	[SMTPD_CMD_RSET] = { SMTPD_CMD_RSET, check_noarg, proceed_rset },
	[SMTPD_CMD_NOOP] = { SMTPD_CMD_NOOP, check_none, proceed_noop },
	[SMTPD_CMD_QUIT] = { SMTPD_CMD_QUIT, check_noarg, proceed_quit },
	[SMTPD_CMD_VRFY] = { SMTPD_CMD_VRFY, check_vrfy, proceed_vrfy },
	[SMTPD_CMD_HELP] = { SMTPD_CMD_HELP, check_none, proceed_help },
	[SMTPD_CMD_STARTTLS] = { SMTPD_CMD_STARTTLS, check_starttls,
	    proceed_starttls },
	[SMTPD_CMD_AUTH] = { SMTPD_CMD_AUTH, check_auth, smtpd_auth_start },
};

void
smtpd_cmd_dispatch(struct smtpd_session *s, char *line)
{
	const struct smtpd_cmd_def *d;
	const char *arg;
	enum smtpd_cmd c;

	c = smtpd_parse_verb(line, &arg);
	if (c == SMTPD_CMD_UNKNOWN) {
		smtpd_cmd_error(s, "500 5.5.1 Error: command not recognized");
		return;
	}
	if (c == SMTPD_CMD_NOTIMPL) {
		smtpd_cmd_error(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	d = &cmd_table[c];
	if (d->proceed == NULL)
		fatalx("%s: no handler for %d", __func__, c);
	if (d->check(s, arg) == 0)
		d->proceed(s, arg);
}
