/*
 * smtpc_conn.h -- the smtpc object shared by smtpc.c (connection, session
 * set-up, close), smtpc_txn.c (transactions) and smtpc_io.c (reading).
 *
 * Invariants: c->state says what the next reply answers; after
 * smtpc_close() or smtpc_abort() c->dead is set, no callback runs any more
 * and the memory is released from c->ev_free on the next loop turn.
 */
#ifndef SLUICE_SMTPC_CONN_H
#define SLUICE_SMTPC_CONN_H

#include <sys/socket.h>

#include <stddef.h>

#include "smtpc/smtpc_internal.h"

struct bufferevent;
struct event;
typedef struct ssl_st SSL;

enum smtpc_state {
	SMTPC_S_CONNECTING,
	SMTPC_S_GREETING,
	SMTPC_S_EHLO,
	SMTPC_S_HELO,
	SMTPC_S_STARTTLS,
	SMTPC_S_TLS,		/* handshake in progress */
	SMTPC_S_IDLE,
	SMTPC_S_TXN,
	SMTPC_S_QUIT,
	SMTPC_S_REFUSED,	/* sent QUIT after a refusal; closing */
};

enum smtpc_expect {		/* what a transaction reply answers */
	SMTPC_X_RSET,
	SMTPC_X_MAIL,
	SMTPC_X_RCPT,
	SMTPC_X_DATA,
	SMTPC_X_DOT,
	SMTPC_X_DOT_EMPTY,	/* lone "." after a 354 with no recipient */
};

struct smtpc {
	struct event_base	*base;
	struct smtpc_params	 p;
	struct sockaddr_storage	 src, dst;
	char			*helo, *dst_name;
	struct smtpc_cbs	 cbs;
	void			*arg;
	struct bufferevent	*bev;
	struct event		*timer;
	struct event		*ev_free;
	struct event		*ev_defer;	/* deferred close */
	struct event		*rd;		/* plain reads (smtpc_io.c) */
	enum smtpc_state	 state;
	int			 dead, tls_on, used_helo, need_rset;
	int			 closing;	/* no new transaction */
	int			 refuse_code;	/* SMTPC_S_REFUSED reason */
	char			 refuse_enh[16];
	struct smtpc_rbuf	 rb;
	struct smtpc_ext	 ext;
	char			 peer_ip[64], local_ip[64];
	char			 tls_proto[32], tls_cipher[128];
	char			*defer_text;	/* reason for ev_defer */
	SSL			*ssl;
	/* current transaction */
	const struct smtpc_txn	*t;
	struct smtpc_result	 res;
	enum smtpc_expect	*xq;		/* replies still expected */
	size_t			*xq_rcpt;	/* rcpt index per entry */
	size_t			 xq_head, xq_len;
	size_t			 next_rcpt;	/* lock-step: next RCPT */
	int			 pipelined;
	struct sbuf		 data_out;
	size_t			 data_off;
};

/* smtpc.c */
void smtpc_write(struct smtpc *c, const char *s, size_t len);
void smtpc_timer_arm(struct smtpc *c, int seconds);
/* End the connection: a transaction in progress is finished first
 * (txn_done with why in every missing reply), then closed(why). */
void smtpc_close(struct smtpc *c, const struct smtpc_reply *why);
void smtpc_close_text(struct smtpc *c, const char *text);

/* Run the read / event handling for c->bev (used by smtpc_io.c). */
void smtpc_handle_read(struct smtpc *c);
void smtpc_handle_event(struct smtpc *c, short what);

/* smtpc_io.c: plain connections read without the bufferevent */
void smtpc_io_start(struct smtpc *c);
void smtpc_io_stop(struct smtpc *c, int give_back);

/* smtpc_txn.c */
void smtpc_txn_reply(struct smtpc *c, const struct smtpc_reply *r);
void smtpc_txn_on_write(struct smtpc *c);
/* Fill every missing reply with why and call txn_done. Returns 0 if the
 * smtpc is still alive afterwards. */
int smtpc_txn_abort(struct smtpc *c, const struct smtpc_reply *why);
void smtpc_txn_clear(struct smtpc *c);

#endif
