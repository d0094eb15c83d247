/*
 * smtpd.h -- inbound SMTP (injection) server on libevent.
 *
 * ESMTP with PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, DSN,
 * STARTTLS, AUTH PLAIN/LOGIN (only after STARTTLS). Strict CRLF: a bare CR
 * or LF anywhere in a command or in DATA is rejected, so no malformed
 * end-of-data sequence is ever taken as the end (SMTP smuggling).
 * Relaying is allowed only when the client's policy says
 * always_allow_relaying or the session authenticated; otherwise RCPT gets
 * 550 5.7.1.
 * The server knows nothing of spools or config files: the owner supplies a
 * policy per connection and takes finished messages through submit(),
 * answering later with smtpd_submit_done() (group commit is asynchronous).
 * Callbacks run on the loop thread.
 *
 * Protocol choices (tested in tests/integration/test_smtpd.py):
 *  - bare CR / bare LF / NUL in a command line: "500 5.5.2", not executed;
 *    command line longer than max_line: "500 5.5.2 Line too long".
 *  - bare CR / bare LF / NUL / a line longer than max_data_line in DATA:
 *    the message is read up to the real CRLF.CRLF and refused with
 *    "554 5.6.0 ..." (RFC 3463 "other or undefined media error"; chosen
 *    over 550 5.6.11 because every client knows X.6.0). Size over
 *    max_message_size: "552 5.3.4" after the end of data.
 *  - message text sent before our 354 (pipelined DATA): "554 5.5.0" and
 *    the connection is closed (Postfix's mitigation, smtpsmug
 *    "pipelining"). Commands pipelined after the final dot are run in
 *    order after the reply to the message.
 *  - input pipelined after STARTTLS is discarded (CVE-2011-0411 class).
 *  - timeouts: "421 4.4.2"; too many connections: "421 4.3.2"; max_errors
 *    failed commands: "421 4.7.0"; then close. Per client IP (policy
 *    max_smtp_in): "421 4.7.0 Too many connections from your address".
 *  - per client IP message rate (policy max_msg_rate_*): checked at MAIL,
 *    "451 4.7.1 Message rate limit exceeded"; a message is charged when
 *    its DATA is complete and well-formed (before the owner's answer).
 *  - add_date_header SMTPD_DATE_OVERRIDE drops every Date field and adds
 *    ours; retain_x_* keep the processed header in the message.
 *  - RCPT: empty path refused; only SIZE, BODY=7BIT|8BITMIME, RET, ENVID,
 *    AUTH (MAIL) and NOTIFY, ORCPT (RCPT) accepted, once each (555 else).
 */
#ifndef SLUICE_SMTPD_H
#define SLUICE_SMTPD_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct smtpd;
struct smtpd_submit;
typedef struct ssl_ctx_st SSL_CTX;

struct smtpd_listener {
	const char	*addr;		/* "127.0.0.1", "::1", "0.0.0.0" */
	uint16_t	 port;		/* 0 = any free port */
	const char	*source;	/* named <source> (source=NAME) or NULL */
};

/*
 * Per-connection policy, from the matching <source> (see conf). Before
 * cbs->policy() runs the struct is pre-filled with the PowerMTA defaults:
 * smtp_service 1, allow_starttls 1, add_received_header 1, all else 0.
 * String pointers must stay valid for the connection's lifetime.
 */
struct smtpd_policy {
	int		 smtp_service;		/* 0: 554 5.7.1 at greeting */
	int		 always_allow_relaying;
	int		 require_auth;		/* MAIL needs AUTH first */
	int		 allow_starttls;
	int		 process_x_virtual_mta;	/* read + strip X-Virtual-MTA */
	int		 process_x_job;		/* read + strip X-Job */
	int		 add_received_header;
	int		 hide_message_source;
	int		 add_message_id_header;
	int		 add_date_header;	/* SMTPD_DATE_* */
	int		 retain_x_virtual_mta;	/* read it but keep the header */
	int		 retain_x_job;		/* read it but keep the header */
	size_t		 max_message_size;	/* 0 = unlimited */
	size_t		 max_rcpt_per_message;	/* 0 = 1000 */
	const char	*default_vmta;		/* NULL = none */
	const char	*jobid_header;		/* NULL = "X-Job" */
	/* Per client IP, counted across all sessions from that IP (kept in
	 * the server; the limits of the newest connection apply). */
	int		 max_smtp_in;		/* connections; 0 = unlimited:
						 * over it "421 4.7.0" */
	int64_t		 max_msg_rate_n;	/* messages per ... */
	int64_t		 max_msg_rate_per;	/* ... seconds; per 0 =
						 * unlimited; n 0 = none: at
						 * MAIL "451 4.7.1" */
	const char	*source_name;		/* matched <source>, for
						 * smtpd_msg (NULL = none) */
	const void	*source_data;		/* owner's, opaque */
};

#define SMTPD_DATE_NO		0	/* add_date_header values */
#define SMTPD_DATE_YES		1	/* add Date if missing */
#define SMTPD_DATE_OVERRIDE	2	/* replace any Date */

struct smtpd_params {
	const char	*hostname;		/* greeting / Received */
	size_t		 max_line;		/* command line incl CRLF; 0 = 512 */
	size_t		 max_data_line;		/* 0 = 1000 (RFC 5321 limit + slack) */
	int		 cmd_timeout;		/* seconds; 0 = 300 */
	int		 data_timeout;		/* seconds; 0 = 300 */
	int		 max_connections;	/* 0 = 100 (total-max-smtp-in) */
	int		 max_errors;		/* bad commands before 421; 0 = 10 */
	SSL_CTX		*ssl_ctx;		/* server ctx; NULL = no STARTTLS */
};

struct smtpd_rcpt {
	const char	*addr;			/* wire form, no brackets */
	const char	*orcpt;			/* "addr-type;decoded xtext"
						 * e.g. "rfc822;a+b@x", or NULL */
	uint8_t		 notify;		/* SPOOL_NOTIFY_* bits */
};

struct smtpd_msg {
	time_t			 received;
	const char		*helo;
	const char		*peer_ip;
	const char		*local_ip;
	uint16_t		 local_port;
	const char		*auth_user;	/* NULL if not authenticated */
	const char		*mail_from;	/* "" = null sender */
	const char		*envid;		/* xtext-decoded, or NULL */
	int			 ret_full;	/* RET=FULL (0: HDRS/unset) */
	size_t			 nrcpt;
	const struct smtpd_rcpt	*rcpts;
	const char		*vmta;		/* X-Virtual-MTA or default,
						 * NULL if neither */
	int			 vmta_from_header; /* vmta is X-Virtual-MTA's
						 * (not the source default) */
	const char		*job_id;	/* X-Job value or NULL */
	const char		*source;	/* policy's source_name */
	const void		*source_data;	/* policy's source_data */
	const char		*data;		/* final bytes: CRLF, unstuffed,
						 * X- headers stripped, Received
						 * and other added headers in */
	size_t			 datalen;
};

struct smtpd_cbs {
	/* Fill the policy for a new connection. */
	void	(*policy)(const struct sockaddr *peer,
		    const struct smtpd_listener *l, struct smtpd_policy *out,
		    void *arg);
	/* AUTH: 1 if user/password are valid. */
	int	(*auth)(const char *user, const char *pass, void *arg);
	/*
	 * A message is complete; answer with smtpd_submit_done(). m and
	 * everything it points to stay valid until that call. No input of
	 * the session is processed meanwhile.
	 */
	void	(*submit)(const struct smtpd_msg *m, struct smtpd_submit *t,
		    void *arg);
};

struct smtpd *smtpd_new(struct event_base *base, const struct smtpd_params *p,
    const struct smtpd_cbs *cbs, void *arg);

/*
 * Optional: after a successful AUTH, fn may update the session policy for
 * the authenticated user (e.g. the {auth} <source>); it gets the current
 * policy. The per-IP connection limit keeps its connect-time value.
 */
typedef void (*smtpd_auth_policy_fn)(const char *user,
    struct smtpd_policy *pol, void *arg);
void smtpd_set_auth_policy(struct smtpd *s, smtpd_auth_policy_fn fn);

/* Add a listener; returns its index, -1 with err set. */
int smtpd_listen(struct smtpd *s, const struct smtpd_listener *l, char *err,
    size_t errlen);
/* Actual bound port of listener idx (useful with port 0). */
uint16_t smtpd_listener_port(struct smtpd *s, int idx);

/*
 * Answer a submitted message, exactly once per submit(), now or later.
 * code/reply: e.g. 250 "2.0.0 OK queued as 1A2B" or 452 "4.3.1 Insufficient
 * system storage". Safe if the client has gone away meanwhile.
 */
void smtpd_submit_done(struct smtpd_submit *t, int code, const char *reply);

/* Stop accepting new connections (shutdown/drain). */
void smtpd_stop_listening(struct smtpd *s);
int smtpd_session_count(struct smtpd *s);
/* Close everything. Pending submits must have been answered. */
void smtpd_free(struct smtpd *s);

#endif
