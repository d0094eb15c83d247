/*
 * smtpd_auth.c -- AUTH PLAIN (RFC 4616) and AUTH LOGIN, only over TLS.
 *
 * The check in smtpd_cmd.c has already refused AUTH without TLS (538
 * 5.7.11). Credentials are verified by the owner's cbs->auth(); decoded
 * secrets are wiped from memory after use. After a successful AUTH the
 * owner may replace the session policy (cbs->auth_policy, e.g. {auth}).
 * Invariants: state is SMTPD_S_AUTH exactly while a 334 challenge is
 * outstanding; "*" cancels (501 5.0.0).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"
#include "smtpd/smtpd_int.h"

/* Let the owner replace the policy for the user; per-IP limits and the
 * connect-time defaults the owner does not set stay as they were. */
static void
smtpd_auth_apply_policy(struct smtpd_session *s)
{
	struct smtpd_policy p = s->pol;

	s->srv->auth_policy(s->auth_user, &p, s->srv->arg);
	p.max_smtp_in = s->pol.max_smtp_in;
	if (p.max_rcpt_per_message == 0)
		p.max_rcpt_per_message = 1000;
	s->pol = p;
}

static void
auth_verify(struct smtpd_session *s, const char *user, const char *pass)
{
	if (*user && s->srv->cbs.auth(user, pass, s->srv->arg)) {
		s->auth_user = xstrdup(user);
		if (s->srv->auth_policy)
			smtpd_auth_apply_policy(s);
		smtpd_session_reply(s, "235 2.7.0 Authentication successful");
		return;
	}
	smtpd_cmd_error(s, "535 5.7.8 Authentication credentials invalid");
}

/* Decode base64 into a fresh buffer; NULL (reply sent) if invalid. */
static unsigned char *
auth_decode(struct smtpd_session *s, const char *b64, int *len)
{
	size_t n = strlen(b64), sz = 3 * (n / 4) + 1;
	unsigned char *buf = xmalloc(sz);

	if ((*len = smtpd_base64_decode(b64, n, buf, sz)) < 0) {
		free(buf);
		smtpd_cmd_error(s, "501 5.5.2 Cannot decode response");
		return NULL;
	}
	return buf;
}

static void
auth_wipe(unsigned char *buf, int len)
{
	explicit_bzero(buf, (size_t)len);
	free(buf);
}

/* authzid NUL authcid NUL passwd */
static void
auth_plain(struct smtpd_session *s, const char *b64)
{
	unsigned char *buf;
	const char *authz, *user = NULL, *pass = NULL, *end, *z;
	int len;

	if ((buf = auth_decode(s, strcmp(b64, "=") ? b64 : "", &len)) == NULL)
		return;
	authz = (const char *)buf;
	end = authz + len;
	if ((z = memchr(authz, '\0', (size_t)len)) != NULL) {
		user = z + 1;
		if ((z = memchr(user, '\0', (size_t)(end - user))) != NULL)
			pass = z + 1;
	}
	if (pass == NULL || memchr(pass, '\0', (size_t)(end - pass)) ||
	    (*authz && strcmp(authz, user) != 0))
		smtpd_cmd_error(s, "535 5.7.8 Authentication credentials "
		    "invalid");
	else
		auth_verify(s, user, pass);
	auth_wipe(buf, len);
}

static void
auth_login_user(struct smtpd_session *s, const char *b64)
{
	unsigned char *buf;
	int len;

	if ((buf = auth_decode(s, b64, &len)) == NULL)
		return;
	if ((size_t)len != strlen((char *)buf)) {
		auth_wipe(buf, len);
		smtpd_cmd_error(s, "501 5.5.2 Cannot decode response");
		return;
	}
	free(s->login_user);
	s->login_user = xstrdup((char *)buf);
	auth_wipe(buf, len);
	s->state = SMTPD_S_AUTH;
	s->auth_step = SMTPD_AUTH_LOGIN_PASS;
	smtpd_session_reply(s, "334 UGFzc3dvcmQ6");	/* "Password:" */
}

static void
auth_login_pass(struct smtpd_session *s, const char *b64)
{
	unsigned char *buf;
	int len;

	if ((buf = auth_decode(s, b64, &len)) == NULL)
		return;
	if ((size_t)len != strlen((char *)buf))
		smtpd_cmd_error(s, "535 5.7.8 Authentication credentials "
		    "invalid");
	else
		auth_verify(s, s->login_user, (char *)buf);
	auth_wipe(buf, len);
}

void
smtpd_auth_start(struct smtpd_session *s, const char *arg)
{
	const char *sp = strchr(arg, ' ');
	size_t mlen = sp ? (size_t)(sp - arg) : strlen(arg);
	const char *init = sp ? sp + 1 : NULL;

	if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
		if (init) {
			auth_plain(s, init);
			return;
		}
		s->state = SMTPD_S_AUTH;
		s->auth_step = SMTPD_AUTH_PLAIN;
		smtpd_session_reply(s, "334 ");
	} else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		if (init) {
			auth_login_user(s, init);
			return;
		}
		s->state = SMTPD_S_AUTH;
		s->auth_step = SMTPD_AUTH_LOGIN_USER;
		smtpd_session_reply(s, "334 VXNlcm5hbWU6");	/* "Username:" */
	} else
		smtpd_cmd_error(s, "504 5.5.4 Unrecognized authentication type");
}

void
smtpd_auth_line(struct smtpd_session *s, char *line)
{
	enum smtpd_auth_step step = s->auth_step;

	s->state = SMTPD_S_CMD;
	s->auth_step = SMTPD_AUTH_NONE;
	if (strcmp(line, "*") == 0)
		smtpd_cmd_error(s, "501 5.0.0 Authentication cancelled");
	else if (step == SMTPD_AUTH_PLAIN)
		auth_plain(s, line);
	else if (step == SMTPD_AUTH_LOGIN_USER)
		auth_login_user(s, line);
	else if (step == SMTPD_AUTH_LOGIN_PASS)
		auth_login_pass(s, line);
	explicit_bzero(line, strlen(line));
}
