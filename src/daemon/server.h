/*
 * server.h -- sluiced's global state and the wiring between modules.
 *
 * One struct server holds the event loop and every module instance:
 * config, spool, SMTP injection server, DNS resolver, accounting writer,
 * bounce rules, scheduler, management API. It is created once by main.c;
 * callbacks of all modules get it (or an object pointing to it) as their
 * argument. Everything runs on the loop thread.
 *
 * Files: server.c (start/stop/reload, pump timer), inject.c (smtpd ->
 * DKIM -> spool -> sched), route.c (vmta per recipient), delivery.c
 * (sched <-> dns/smtpc), qdomain.c (queue-to, rollup map), discard.c
 * (type discard), outcome.c
 * (spool journal, accounting records, DSNs), api.c + api_show.c +
 * api_ctl.c (management HTTP).
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct event;
struct evhttp;
struct conf;
struct spool;
struct smtpd;
struct dns;
struct acctw;
struct bounce_rules;
struct sched;
struct sched_conn;
struct sched_ctl;
struct sched_queue;
struct sched_result;
struct sched_event;
struct sched_hooks;
struct smtpd_cbs;
struct dlv_conn;
struct discard_conn;
struct dkim_cache;
struct sched_map;
struct shape_rr;
typedef struct ssl_ctx_st SSL_CTX;

struct server_opts {
	const char	*config;	/* -f */
	const char	*ports_file;	/* --ports-file */
	int		 debug;		/* -d */
};

struct server {
	struct event_base	*base;
	struct server_opts	 opts;
	struct conf		*conf;
	struct spool		*spool;
	struct smtpd		*smtpd;
	struct dns		*dns;
	struct acctw		*acct;
	struct bounce_rules	*bounce;
	struct sched		*sched;
	SSL_CTX			*ssl_client;	/* outbound STARTTLS */
	SSL_CTX			*ssl_server;	/* inbound STARTTLS or NULL */
	struct dkim_cache	*dkim;
	struct evhttp		*http;
	struct sched_ctl	*ctl;		/* operator control (api.c) */
	struct event		*pump_ev;	/* sched_pump, timer + wakeup */
	struct event		*sig_ev[4];
	struct dlv_conn		*conns;		/* live delivery connections */
	struct discard_conn	*discards;	/* live `type discard` ones */
	struct shape_rr		*pool_rr;	/* per conf pool, round-robin */
	size_t			 npool_rr;
	struct sched_map	*rollup;	/* domain -> NAME.rollup */
	struct sched_map	*rollup_members;/* NAME.rollup -> a domain */
	struct sched_map	*queue_to;	/* domain/vmta -> queue-to */
	time_t			 started;
	int			 stopping;
	int			 pending_submits;
	char			*control_path;	/* unix socket path we made */
};

/* server.c */
int server_start(struct server *sv, char *err, size_t errlen);
void server_stop(struct server *sv);		/* graceful: flush, free */
int server_reload(struct server *sv);		/* 0 ok, -1 kept old config */
void server_wakeup(void *arg);			/* sched wakeup hook */

/* inject.c */
const struct smtpd_cbs *inject_cbs(void);
void inject_recover(struct server *sv, int64_t now);
/* Spool and queue a locally generated message (DSN). */
void inject_local(struct server *sv, const char *to, const char *vmta,
    char *data, size_t len);

/* route.c: the vmta or pool of a message (NULL = {default}), and in
 * rcpt_vmta[0..m->nrcpt) each recipient's where a rcpt-to pattern rule
 * routes it elsewhere (else NULL). A name that is neither a vmta nor a
 * pool is put in *bad (the caller rejects the message). */
struct smtpd_msg;
struct conf_source;
const char *route_message(const struct conf *c,
    const struct conf_source *src, const struct smtpd_msg *m,
    const char **rcpt_vmta, const char **bad);

/* qdomain.c: the scheduler's queue_domain hook (queue-to, MX rollup),
 * and the reset after a config was loaded (start, reload). */
const char *qdomain_hook(void *arg, const char *domain, const char *vmta);
void qdomain_conf_applied(struct server *sv);

/* delivery.c */
const struct sched_hooks *delivery_hooks(void);
void delivery_abort_all(struct server *sv);

/* discard.c: `type discard` queues (no DNS, no SMTP, all delivered) */
int discard_queue(const struct sched_queue *q);
void discard_open(struct server *sv, struct sched_conn *c);
void discard_abort_all(struct server *sv);

/* outcome.c */
void outcome_hook(void *arg, const struct sched_event *ev, size_t n);
/* Recipients deleted by the operator (sched_ctl_delete): journal done,
 * b record "deleted by administrator" if accounting, DSN (as NOTIFY
 * allows) only if dsn. */
void outcome_deleted(struct server *sv, const struct sched_event *ev,
    size_t n, int dsn, int accounting);
void outcome_queue_event(void *arg, struct sched_queue *q,
    struct sched_conn *c, const struct sched_result *res, int64_t now);
/* Facts about a delivery connection for accounting (delivery.c). */
const char *delivery_conn_local_ip(const struct sched_conn *c);
const char *delivery_conn_peer_ip(const struct sched_conn *c);
const char *delivery_conn_esmtp(const struct sched_conn *c);
const char *delivery_conn_tls_protocol(const struct sched_conn *c);
const char *delivery_conn_tls_cipher(const struct sched_conn *c);

/* api.c */
int api_start(struct server *sv, char *err, size_t errlen);
void api_stop(struct server *sv);

/* dkim_cache.c (rules: docs/dkim-signing.md) */
struct smtpd_rcpt;
/* An empty cache, or the keys loaded by the last successful check. */
struct dkim_cache *dkim_cache_new(void);
void dkim_cache_free(struct dkim_cache *dc);
/* Load every configured key (domain-key, dkim-key-directory); -1 with
 * err "CONFIG: domain-key S,D,FILE: reason" or "dkim-key-directory DIR:
 * FILE: reason". Call it before dkim_cache_new() for this config. */
int dkim_cache_check(const struct conf *c, char *err, size_t errlen);
struct dkim_cache_msg {
	const char		*vmta;		/* vmta or pool, NULL = none */
	const char		*mail_from;
	int			 source_sign;	/* <source> dkim-sign */
	const struct smtpd_rcpt	*rcpts;
	size_t			 nrcpt;
	const char		*data;		/* final header + body */
	size_t			 len;
};
/* 0: *out is a malloc'd signed copy, or NULL (not to be signed); -1: it
 * must be signed but cannot be (logged): answer with a 4xx. */
int dkim_cache_sign(struct dkim_cache *dc, const struct conf *c,
    const struct dkim_cache_msg *m, char **out, size_t *outlen);

#endif
