/*
 * smtpd_int.h -- internal structures of the SMTP server, shared by
 * smtpd.c (listeners, server), smtpd_session.c (I/O, lifecycle),
 * smtpd_io.c (reading plain connections),
 * smtpd_cmd.c (command table), smtpd_auth.c (AUTH) and smtpd_ip.c (per
 * client IP limits).
 *
 * Invariants: a session is freed only through smtpd_session_drop(), which
 * defers the free while the session's input loop is on the stack
 * (in_process) and turns it into a ZOMBIE while a submit is outstanding;
 * smtpd_submit_done() then finishes it. srv->nsessions counts sessions
 * that still hold a connection.
 * Ownership: the server owns its sessions; a session owns its strings.
 */
#ifndef SLUICE_SMTPD_INT_H
#define SLUICE_SMTPD_INT_H

#include <netinet/in.h>

#include "lib/sbuf.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_data.h"
#include "smtpd/smtpd_hdr.h"
#include "smtpd/smtpd_parse.h"

struct bufferevent;
struct evconnlistener;
struct event;

#define SMTPD_OBUF_MAX	(64 * 1024)	/* pause input above this output */
#define SMTPD_IBUF_WAIT	(64 * 1024)	/* stop reading while waiting */
#define SMTPD_IPSTR	64
#define SMTPD_IP_BUCKETS 1024	/* per client IP table (smtpd_ip.c) */

struct smtpd_ip;

enum smtpd_state {
	SMTPD_S_CMD,		/* reading command lines */
	SMTPD_S_AUTH,		/* reading an AUTH continuation line */
	SMTPD_S_DATA,		/* reading message text */
	SMTPD_S_SUBMIT,		/* waiting for smtpd_submit_done() */
	SMTPD_S_TLS,		/* TLS handshake running */
	SMTPD_S_CLOSING,	/* flushing the last reply */
	SMTPD_S_ZOMBIE,		/* connection gone, submit outstanding */
};

/* SMTP transaction phase (RFC 5321 command order). */
enum smtpd_phase {
	SMTPD_PH_INIT,		/* no HELO/EHLO yet */
	SMTPD_PH_HELO,		/* greeted, no transaction */
	SMTPD_PH_MAIL,		/* MAIL accepted */
	SMTPD_PH_RCPT,		/* at least one RCPT accepted */
};

enum smtpd_auth_step {
	SMTPD_AUTH_NONE,
	SMTPD_AUTH_PLAIN,	/* waiting for the PLAIN response */
	SMTPD_AUTH_LOGIN_USER,
	SMTPD_AUTH_LOGIN_PASS,
};

struct smtpd_lst {
	struct evconnlistener	*el;
	struct smtpd_listener	 l;	/* strings owned */
	struct smtpd		*srv;
};

struct smtpd {
	struct event_base	*base;
	struct smtpd_params	 p;
	char			*hostname;
	struct smtpd_cbs	 cbs;
	smtpd_auth_policy_fn	 auth_policy;	/* NULL = keep the policy */
	void			*arg;
	struct smtpd_lst	**lst;
	int			 nlst;
	int			 nsessions;
	struct smtpd_session	*sessions;	/* doubly linked */
	uint64_t		 seq;		/* Message-Id counter */
	struct smtpd_ip		*ipt[SMTPD_IP_BUCKETS];	/* per client IP */
	size_t			 nip, nip_sweep;
};

struct smtpd_submit {
	struct smtpd_session	*s;
};

struct smtpd_session {
	struct smtpd		*srv;
	struct smtpd_session	*prev, *next;
	struct bufferevent	*bev;		/* top (TLS filter or raw) */
	struct bufferevent	*raw;		/* socket */
	struct event		*rd;		/* plain reads (smtpd_io.c) */
	int			 rd_on, rd_secs;	/* enabled, timeout */
	struct event		*linger;
	struct smtpd_policy	 pol;
	enum smtpd_state	 state;
	enum smtpd_phase	 phase;
	enum smtpd_auth_step	 auth_step;
	int			 esmtp, tls, in_process, want_free, paused;
	int			 skip_line;	/* inside an over-long command */
	int			 eof;		/* peer half-closed during a submit */
	int			 nerrors;
	char			 peer_ip[SMTPD_IPSTR];
	char			 local_ip[SMTPD_IPSTR];
	uint16_t		 local_port;
	struct smtpd_ip		*ip;		/* counted in while connected */
	char			*helo;
	char			*auth_user;
	char			*login_user;	/* AUTH LOGIN step 1 */
	char			*line;		/* current command, max_line+1 */
	/* transaction */
	char			*mail_from;
	char			*envid;
	int			 ret_full;
	struct smtpd_rcpt	*rcpts;
	size_t			 nrcpt, rcpt_cap;
	struct smtpd_data	 dr;
	struct sbuf		 data;
	struct sbuf		 out;
	struct sbuf		 reply;	/* replies not yet sent (no TLS) */
	struct smtpd_submit	 submit;
	struct smtpd_hdr_result	 hres;	/* vmta/job of the submitted msg */
	struct smtpd_msg	 msg;	/* valid until smtpd_submit_done */
};

/* smtpd_session.c */
void smtpd_session_start(struct smtpd *srv, int fd, const struct sockaddr *sa,
    const struct smtpd_lst *lst);
void smtpd_session_drop(struct smtpd_session *s);
void smtpd_session_free(struct smtpd_session *s);
void smtpd_session_reply(struct smtpd_session *s, const char *line);
void smtpd_session_flush(struct smtpd_session *s);
void smtpd_session_replyf(struct smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtpd_session_close(struct smtpd_session *s, const char *line);
void smtpd_session_reset_tx(struct smtpd_session *s);
void smtpd_session_set_timeout(struct smtpd_session *s, int secs);
int smtpd_session_starttls(struct smtpd_session *s);
void smtpd_session_data_end(struct smtpd_session *s);

/* Run the read / event callback (smtpd_io.c); s may be freed after. */
void smtpd_session_on_read(struct smtpd_session *s);
void smtpd_session_on_event(struct smtpd_session *s, short what);

/* smtpd_io.c: plain connections read without the bufferevent */
int smtpd_io_start(struct smtpd_session *s);
void smtpd_io_stop(struct smtpd_session *s);
void smtpd_io_read(struct smtpd_session *s, int on);

/* smtpd_ip.c: per client IP limits */
int smtpd_ip_conn_open(struct smtpd_session *s);	/* -1: over max_smtp_in */
void smtpd_ip_conn_close(struct smtpd_session *s);
int smtpd_ip_msg_allowed(const struct smtpd_session *s);
void smtpd_ip_charge_msg(struct smtpd_session *s);
void smtpd_ip_free_all(struct smtpd *srv);

/* smtpd_cmd.c */
void smtpd_cmd_dispatch(struct smtpd_session *s, char *line);
/* Count a failed command; 1 if the session was closed for max_errors. */
int smtpd_cmd_error(struct smtpd_session *s, const char *reply);

/* smtpd_auth.c */
void smtpd_auth_start(struct smtpd_session *s, const char *arg);
void smtpd_auth_line(struct smtpd_session *s, char *line);

#endif
