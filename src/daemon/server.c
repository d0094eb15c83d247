/*
 * server.c -- bring sluiced up and down: open the spool (and recover it),
 * accounting, bounce rules, DNS, TLS contexts, scheduler, SMTP listeners
 * and the management API; the scheduler pump; graceful stop; reload.
 *
 * Stop (SIGTERM/SIGINT) loses nothing: listeners close first, messages
 * already being spooled get their answer, in-flight deliveries are
 * abandoned (their recipients stay pending in the spool and are retried
 * after restart), then spool and accounting are flushed and closed.
 * Reload (SIGHUP): a new config is parsed; on error the old one stays and
 * the file:line error is logged. On success per-queue <domain> settings,
 * <source> policies, users, vmtas/pools, DKIM keys, bounce patterns and
 * total-max-smtp-out apply at once; listeners, <spool>, <acct-file>,
 * dns-server, control-socket and http-mgmt-port need a restart. Old
 * configs are kept until exit because live SMTP sessions may still point
 * into them.
 */
#include <sys/types.h>

#include <errno.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acct/acctw.h"
#include "bounce/bounce.h"
#include "conf/conf.h"
#include "dns/dns.h"
#include "lib/log.h"
#include "lib/wallclock.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"
#include "spool/spool.h"
#include "daemon/server.h"

static struct conf **old_confs;
static size_t nold_confs;

/* The scheduler runs on a microsecond clock (rate pacing: 600/min is one
 * recipient every 100 ms); its timer heap says when to pump next. */
static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	struct timespec ts;
	int64_t now, next;

	(void)fd;
	(void)what;
	if (sv->sched == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	sched_pump_us(sv->sched, now);
	if ((next = sched_next_timer_us(sv->sched)) != 0) {
		int64_t d = next > now ? next - now : 0;

		if (d > INT64_C(86400) * 1000000)	/* held: "never" */
			d = INT64_C(86400) * 1000000;
		struct timeval tv = { (time_t)(d / 1000000),
		    (suseconds_t)(d % 1000000) };
		evtimer_add(sv->pump_ev, &tv);
	}
}

void
server_wakeup(void *arg)
{
	struct server *sv = arg;

	if (sv->pump_ev && !sv->stopping)
		event_active(sv->pump_ev, EV_TIMEOUT, 0);
}

static int
open_tls(struct server *sv, char *err, size_t errlen)
{
	const struct conf *c = sv->conf;

	sv->ssl_client = SSL_CTX_new(TLS_client_method());
	if (sv->ssl_client == NULL) {
		snprintf(err, errlen, "cannot create TLS client context");
		return -1;
	}
	SSL_CTX_set_verify(sv->ssl_client, SSL_VERIFY_NONE, NULL);
	if (c->tls_certificate == NULL || c->tls_private_key == NULL)
		return 0;
	sv->ssl_server = SSL_CTX_new(TLS_server_method());
	if (sv->ssl_server == NULL ||
	    SSL_CTX_use_certificate_chain_file(sv->ssl_server,
	    c->tls_certificate) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sv->ssl_server, c->tls_private_key,
	    SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "%s: cannot load TLS certificate/key",
		    c->tls_certificate);
		return -1;
	}
	return 0;
}

static int
open_stores(struct server *sv, char *err, size_t errlen)
{
	const struct conf *c = sv->conf;
	struct spool_params sp = { .dir = c->spool_dir,
	    .no_sync = !c->spool_sync };
	/* AAAA too: an MX host with only IPv6 addresses must be reachable;
	 * the resolver orders IPv4 addresses first. */
	struct dns_params dp = { .servers = c->dns_server, .want_ipv6 = 1 };

	if ((sv->spool = spool_open(sv->base, &sp, err, errlen)) == NULL)
		return -1;
	if (c->nacct_files && (sv->acct = acctw_open(c->acct_files,
	    c->nacct_files, err, errlen)) == NULL)
		return -1;
	if ((sv->bounce = bounce_rules_new((const char *const *)
	    c->bounce_patterns, c->nbounce_patterns, err, errlen)) == NULL)
		return -1;
	if ((sv->dns = dns_new(sv->base, &dp, err, errlen)) == NULL)
		return -1;
	return open_tls(sv, err, errlen);
}

static void
write_ports(FILE *fp, const char *kind, const char *addr, unsigned port)
{
	fprintf(stderr, "sluiced: info: %s listening on %s:%u\n", kind, addr,
	    port);
	if (fp)
		fprintf(fp, "%s %s:%u\n", kind, addr, port);
}

static int
open_listeners(struct server *sv, FILE *pf, char *err, size_t errlen)
{
	const struct conf *c = sv->conf;
	struct smtpd_params p = { .hostname = c->host_name,
	    .max_line = (size_t)c->smtp_in_max_line_length,
	    .max_data_line = (size_t)c->smtp_in_max_data_line_length,
	    .cmd_timeout = (int)c->smtp_in_command_timeout,
	    .data_timeout = (int)c->smtp_in_data_timeout,
	    .max_connections = c->total_max_smtp_in,
	    .max_errors = c->smtp_in_max_errors,
	    .ssl_ctx = sv->ssl_server };
	struct smtpd_listener def = { .addr = "0.0.0.0", .port = 25 };

	sv->smtpd = smtpd_new(sv->base, &p, inject_cbs(), sv);
	for (size_t i = 0; i < (c->nlisteners ? c->nlisteners : 1); i++) {
		const struct conf_listener *cl = c->nlisteners ?
		    &c->listeners[i] : NULL;
		struct smtpd_listener l = cl ? (struct smtpd_listener){
		    .addr = cl->addr, .port = cl->port, .source = cl->source } :
		    def;
		int idx = smtpd_listen(sv->smtpd, &l, err, errlen);
		if (idx < 0)
			return -1;
		write_ports(pf, "smtp", l.addr, smtpd_listener_port(sv->smtpd,
		    idx));
	}
	return 0;
}

int
server_start(struct server *sv, char *err, size_t errlen)
{
	struct sched_params schp = {
	    .total_max_smtp_out = sv->conf->total_max_smtp_out };
	FILE *pf = NULL;
	char tmp[4096];
	int rc = -1;

	sv->started = time(NULL);
	sv->dkim = dkim_cache_new();
	if (open_stores(sv, err, errlen) == -1)
		return -1;
	sv->rollup = sched_map_new();
	sv->rollup_members = sched_map_new();
	qdomain_conf_applied(sv);
	sv->sched = sched_new(&schp, delivery_hooks(), sv);
	sv->pump_ev = event_new(sv->base, -1, 0, pump_cb, sv);
	inject_recover(sv, wall_now());
	/* written to a temporary name, renamed when complete */
	snprintf(tmp, sizeof(tmp), "%s.tmp", sv->opts.ports_file ?
	    sv->opts.ports_file : "");
	if (sv->opts.ports_file && (pf = fopen(tmp, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (open_listeners(sv, pf, err, errlen) == 0 &&
	    api_start(sv, err, errlen) == 0)
		rc = 0;
	if (rc == 0 && pf && sv->control_path)
		fprintf(pf, "control %s\n", sv->control_path);
	if (pf && (fclose(pf) != 0 || (rc == 0 &&
	    rename(tmp, sv->opts.ports_file) == -1)) && rc == 0) {
		snprintf(err, errlen, "%s: %s", sv->opts.ports_file,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0) {
		server_wakeup(sv);
		log_info("ready");
	}
	return rc;
}

/* Let messages being spooled get their answer (bounded wait). */
static void
drain_submits(struct server *sv)
{
	time_t until = time(NULL) + 10;

	spool_flush(sv->spool);
	while (sv->pending_submits > 0 && time(NULL) < until) {
		struct timespec ts = { 0, 1000000 };
		event_base_loop(sv->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
	if (sv->pending_submits > 0)
		log_warnx("shutdown: %d message(s) still being spooled",
		    sv->pending_submits);
}

/* Called after the event loop has returned (never from a callback: the
 * drain below runs the loop itself). */
void
server_stop(struct server *sv)
{
	log_info("shutting down");
	sv->stopping = 1;
	if (sv->smtpd)
		smtpd_stop_listening(sv->smtpd);
	api_stop(sv);
	if (sv->sched)
		sched_stop(sv->sched);
	delivery_abort_all(sv);
	/* aborted connections free themselves from the loop */
	event_base_loop(sv->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	if (sv->spool)
		drain_submits(sv);
	if (sv->smtpd)
		smtpd_free(sv->smtpd);
	sched_free(sv->sched);
	sv->sched = NULL;
	sched_map_free(sv->rollup);
	sched_map_free(sv->rollup_members);
	sched_map_free(sv->queue_to);
	sv->rollup = sv->rollup_members = sv->queue_to = NULL;
	free(sv->pool_rr);
	sv->pool_rr = NULL;
	if (sv->pump_ev)
		event_free(sv->pump_ev);
	sv->pump_ev = NULL;
	spool_close(sv->spool);
	acctw_close(sv->acct);
	dns_free(sv->dns);
	bounce_rules_free(sv->bounce);
	dkim_cache_free(sv->dkim);
	SSL_CTX_free(sv->ssl_client);
	SSL_CTX_free(sv->ssl_server);
	for (size_t i = 0; i < nold_confs; i++)
		conf_free(old_confs[i]);
	free(old_confs);
	old_confs = NULL;
	nold_confs = 0;
	log_info("stopped: spool and accounting flushed");
}

int
server_reload(struct server *sv)
{
	char err[512];
	struct conf *nc = conf_load(sv->opts.config, err, sizeof(err));
	struct bounce_rules *br;

	if (nc == NULL || dkim_cache_check(nc, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the old configuration: %s",
		    err);
		conf_free(nc);
		return -1;
	}
	br = bounce_rules_new((const char *const *)nc->bounce_patterns,
	    nc->nbounce_patterns, err, sizeof(err));
	if (br == NULL) {
		log_warnx("reload failed, keeping the old configuration: "
		    "bounce-category-patterns: %s", err);
		conf_free(nc);
		return -1;
	}
	old_confs = xreallocarray(old_confs, nold_confs + 1,
	    sizeof(*old_confs));
	old_confs[nold_confs++] = sv->conf;
	sv->conf = nc;
	bounce_rules_free(sv->bounce);
	sv->bounce = br;
	dkim_cache_free(sv->dkim);
	sv->dkim = dkim_cache_new();
	sched_set_params(sv->sched, &(struct sched_params){
	    .total_max_smtp_out = nc->total_max_smtp_out });
	qdomain_conf_applied(sv);
	sched_reload(sv->sched);
	log_info("reloaded %s: <domain>, <source>, users, virtual-mtas, "
	    "DKIM keys, bounce patterns and total-max-smtp-out now apply; "
	    "smtp-listener, total-max-smtp-in, smtp-in-*, <spool>, "
	    "<acct-file>, dns-server, control-socket and http-mgmt-port "
	    "changes need a restart", sv->opts.config);
	return 0;
}
