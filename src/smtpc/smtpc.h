/*
 * smtpc.h -- outbound SMTP client engine (one connection), on libevent.
 *
 * Owner-driven, like OpenSMTPD's smtp client: the owner connects, gets
 * ready() once the greeting, EHLO (HELO fallback) and opportunistic
 * STARTTLS are done, sends one transaction at a time with smtpc_send(),
 * gets txn_done() with every reply, and may send the next transaction on the
 * same connection (reuse) or smtpc_quit(). RFC 5321 §4.5.3.2 timeouts.
 * PIPELINING is used when offered (MAIL+RCPTs+DATA in one write).
 * Remote replies are data, not errors: every reply is reported, including
 * connection-level failures through closed().
 * Callbacks run on the loop thread. After closed() the smtpc is freed by
 * the engine; the owner must drop its pointer.
 */
#ifndef SLUICE_SMTPC_H
#define SLUICE_SMTPC_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct smtpc;
typedef struct ssl_ctx_st SSL_CTX;

enum smtpc_tls {
	SMTPC_TLS_NO = 0,	/* never STARTTLS */
	SMTPC_TLS_OPPORTUNISTIC,/* STARTTLS if offered, no verification */
	SMTPC_TLS_REQUIRED,	/* fail the connection if not offered */
};

struct smtpc_params {
	const char		*helo;		/* EHLO name (vmta host name) */
	const struct sockaddr	*src;		/* bind source IP, NULL = any */
	socklen_t		 srclen;
	const struct sockaddr	*dst;
	socklen_t		 dstlen;
	const char		*dst_name;	/* MX name: SNI, dsnMta */
	enum smtpc_tls		 tls;
	SSL_CTX			*ssl_ctx;	/* client ctx; NULL = no TLS */
	/* Timeouts in seconds; 0 = RFC 5321 §4.5.3.2 default. */
	int			 connect_timeout;	/* 2m (PowerMTA) */
	int			 greeting_timeout;	/* 5m */
	int			 cmd_timeout;		/* EHLO/MAIL/RCPT: 5m */
	int			 data_init_timeout;	/* 2m */
	int			 data_block_timeout;	/* 3m */
	int			 data_term_timeout;	/* 10m */
};

struct smtpc_reply {
	int		 code;		/* 0 = no reply (network error/timeout) */
	char		 enh[16];	/* "5.1.1" or "" */
	const char	*text;		/* whole reply, lines joined by ' ',
					 * e.g. "550 5.1.1 user unknown";
					 * for code 0 a description such as
					 * "connection refused" */
};

struct smtpc_txn {
	const char		*mail_from;	/* "" = null sender */
	const char		*envid;		/* sent only if DSN offered */
	int			 ret_full;
	size_t			 nrcpt;
	const char *const	*rcpts;
	const char *const	*orcpts;	/* may be NULL */
	const char		*data;		/* CRLF lines, NOT dot-stuffed */
	size_t			 datalen;
	size_t			 size_hint;	/* SIZE= if offered (0 = datalen) */
};

struct smtpc_result {
	struct smtpc_reply	 mail;
	size_t			 nrcpt;
	struct smtpc_reply	*rcpt;		/* per recipient */
	struct smtpc_reply	 data;		/* DATA end reply (code 0 if
						 * not reached) */
};

struct smtpc_cbs {
	/* Connected and idle: a transaction may be sent. */
	void	(*ready)(struct smtpc *c, void *arg);
	/* One transaction finished; the connection is idle again unless
	 * a closed() follows. Result memory is borrowed.
	 * If the connection ends mid-transaction (421, network error,
	 * timeout), txn_done() still comes first, with that reason in every
	 * reply not received, then closed(). If MAIL was refused, every
	 * rcpt[] carries the MAIL reply. data.code is 0 when the data was
	 * not sent (e.g. text "no recipients accepted"). */
	void	(*txn_done)(struct smtpc *c, const struct smtpc_result *r,
		    void *arg);
	/* The connection ended. why->code is the reply that ended it
	 * (421, 554 greeting...) or 0 with a text for network errors and
	 * timeouts; after smtpc_quit() why is NULL. */
	void	(*closed)(struct smtpc *c, const struct smtpc_reply *why,
		    void *arg);
};

/* Returns NULL (and no callback follows) only for unusable params; every
 * later failure, including bind/connect errors, arrives through closed(). */
struct smtpc *smtpc_connect(struct event_base *base,
    const struct smtpc_params *p, const struct smtpc_cbs *cbs, void *arg);

/* Start a transaction; only valid between ready/txn_done and the next
 * send. t and its strings must stay valid until txn_done or closed.
 * Returns -1 (no callback) when the connection is not idle or nrcpt is 0.
 * May be called from inside ready() or txn_done(). */
int smtpc_send(struct smtpc *c, const struct smtpc_txn *t);

/* Send QUIT and close; closed(c, NULL) follows. */
void smtpc_quit(struct smtpc *c);

/* Drop the connection now; no further callback. */
void smtpc_abort(struct smtpc *c);

/* Facts for accounting, valid while the smtpc lives. */
const char *smtpc_esmtp_ext(struct smtpc *c);	/* "PIPELINING,8BITMIME" */
const char *smtpc_peer_ip(struct smtpc *c);
const char *smtpc_local_ip(struct smtpc *c);
const char *smtpc_peer_name(struct smtpc *c);
const char *smtpc_tls_protocol(struct smtpc *c);	/* "" if none */
const char *smtpc_tls_cipher(struct smtpc *c);

#endif
