/*
 * api.c -- management HTTP API (libevent evhttp) for the `sluice` CLI:
 * on a unix socket (control-socket, default <spool>/sluiced.sock, mode
 * 0660) and, if http-mgmt-port is set, on 127.0.0.1:PORT.
 *
 * Reads (GET): /status, /queues, /list. Commands (POST, parameters in the
 * URL or as a form body): /pause, /resume, /schedule, /delete, /reload,
 * /rotate, /set (queue mode). Every reply honours format=json|text; commands answer
 * {"status":"success"|"error","message":...} with HTTP 200, 400 (bad
 * request), 403 (not local), 404 (no such queue/job/path) or 405 (wrong
 * method). Commands are refused unless they come over the unix socket or
 * from 127.0.0.1, and refused when the request carries an Origin header
 * (a browser page). Shapes and semantics: docs/api.md.
 *
 * Queue and job control lives in src/sched/sched_ctl.c; deleted recipients
 * go through outcome.c's outcome_hook (journal done, b record, DSN).
 * Owned by the control helper.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "acct/acctw.h"
#include "conf/conf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"
#include "spool/spool.h"
#include "daemon/server.h"

static struct sched_ctl *api_ctl;	/* queue/job control; one daemon */

static void
status_json(struct server *sv, struct sbuf *b)
{
	struct sched_stats st;
	struct spool_stats ss;
	struct json j;

	sched_get_stats(sv->sched, &st);
	spool_get_stats(sv->spool, &ss);
	json_init(&j, b);
	json_obj_begin(&j);
	json_key(&j, "status");
	json_obj_begin(&j);
	json_key(&j, "uptime");
	json_int(&j, (int64_t)(time(NULL) - sv->started));
	json_key(&j, "traffic");
	json_obj_begin(&j);
	json_key(&j, "in");
	json_obj_begin(&j);
	json_key(&j, "rcpt"); json_uint(&j, st.in_rcpt);
	json_key(&j, "msg"); json_uint(&j, st.in_msg);
	json_obj_end(&j);
	json_key(&j, "out");
	json_obj_begin(&j);
	json_key(&j, "rcpt"); json_uint(&j, st.out_rcpt);
	json_key(&j, "msg"); json_uint(&j, st.out_msg);
	json_obj_end(&j);
	json_key(&j, "bounced"); json_uint(&j, st.bounced_rcpt);
	json_key(&j, "expired"); json_uint(&j, st.expired_rcpt);
	json_key(&j, "deferred"); json_uint(&j, st.deferred_rcpt);
	json_obj_end(&j);
	json_key(&j, "conn");
	json_obj_begin(&j);
	json_key(&j, "smtpIn");
	json_int(&j, sv->smtpd ? smtpd_session_count(sv->smtpd) : 0);
	json_key(&j, "smtpOut"); json_uint(&j, st.conns);
	json_obj_end(&j);
	json_key(&j, "queue");
	json_obj_begin(&j);
	json_key(&j, "rcpt"); json_uint(&j, st.queue_rcpt);
	json_key(&j, "msg"); json_uint(&j, st.queue_msg);
	json_key(&j, "domains"); json_uint(&j, st.domains);
	json_obj_end(&j);
	json_key(&j, "spool");
	json_obj_begin(&j);
	json_key(&j, "messages"); json_uint(&j, ss.messages);
	json_key(&j, "recipients"); json_uint(&j, ss.recipients);
	json_key(&j, "segments"); json_uint(&j, ss.segments);
	json_key(&j, "bytes"); json_uint(&j, ss.bytes);
	json_key(&j, "commits"); json_uint(&j, ss.commits);
	json_key(&j, "records"); json_uint(&j, ss.records);
	json_obj_end(&j);
	json_obj_end(&j);
	json_obj_end(&j);
	sbuf_putc(b, '\n');
}

static void
status_text(struct server *sv, struct sbuf *b)
{
	struct sched_stats st;
	struct spool_stats ss;

	sched_get_stats(sv->sched, &st);
	spool_get_stats(sv->spool, &ss);
	sbuf_printf(b, "uptime      %lld s\n",
	    (long long)(time(NULL) - sv->started));
	sbuf_printf(b, "%-11s %10s %10s\n", "traffic", "rcpt", "msg");
	sbuf_printf(b, "%-11s %10llu %10llu\n", "in",
	    (unsigned long long)st.in_rcpt, (unsigned long long)st.in_msg);
	sbuf_printf(b, "%-11s %10llu %10llu\n", "out",
	    (unsigned long long)st.out_rcpt, (unsigned long long)st.out_msg);
	sbuf_printf(b, "bounced     %10llu  expired %llu  deferred %llu\n",
	    (unsigned long long)st.bounced_rcpt,
	    (unsigned long long)st.expired_rcpt,
	    (unsigned long long)st.deferred_rcpt);
	sbuf_printf(b, "connections smtpIn %d  smtpOut %llu\n",
	    sv->smtpd ? smtpd_session_count(sv->smtpd) : 0,
	    (unsigned long long)st.conns);
	sbuf_printf(b, "queue       rcpt %llu  msg %llu  domains %llu\n",
	    (unsigned long long)st.queue_rcpt,
	    (unsigned long long)st.queue_msg, (unsigned long long)st.domains);
	sbuf_printf(b, "spool       messages %llu  recipients %llu  "
	    "segments %llu  bytes %llu\n", (unsigned long long)ss.messages,
	    (unsigned long long)ss.recipients,
	    (unsigned long long)ss.segments, (unsigned long long)ss.bytes);
}

static void
queue_json_cb(const struct sched_queue_info *qi, void *arg)
{
	struct json *j = arg;

	json_obj_begin(j);
	json_key(j, "name"); json_str(j, qi->name);
	json_key(j, "domain"); json_str(j, qi->domain);
	json_key(j, "vmta"); json_str(j, qi->vmta);
	json_key(j, "rcpt"); json_uint(j, qi->rcpt);
	json_key(j, "conn"); json_int(j, qi->conns);
	json_key(j, "mode"); json_str(j, qi->backoff ? "backoff" : "normal");
	json_key(j, "paused"); json_bool(j, qi->paused);
	json_key(j, "nextRetry"); json_int(j, qi->next_retry);
	json_key(j, "lastError"); json_str(j, qi->last_error);
	json_obj_end(j);
}

static void
queue_text_cb(const struct sched_queue_info *qi, void *arg)
{
	struct sbuf *b = arg;
	char when[32] = "-";

	if (qi->next_retry) {
		time_t t = (time_t)qi->next_retry;
		struct tm tm;
		strftime(when, sizeof(when), "%H:%M:%S",
		    localtime_r(&t, &tm));
	}
	sbuf_printf(b, "%-40s %8llu %5d %-8s %-6s %-9s %s\n", qi->name,
	    (unsigned long long)qi->rcpt, qi->conns,
	    qi->backoff ? "backoff" : "normal", qi->paused ? "yes" : "no",
	    when, qi->last_error);
}

static void
queues_body(struct server *sv, struct sbuf *b, int json)
{
	struct json j;

	const char *const *jobs;
	size_t njobs = api_ctl ? sched_ctl_paused_jobs(api_ctl, &jobs) : 0;

	if (!json) {
		sbuf_printf(b, "%-40s %8s %5s %-8s %-6s %-9s %s\n", "QUEUE",
		    "RCPT", "CONN", "MODE", "PAUSED", "RETRY", "LAST ERROR");
		sched_queue_foreach(sv->sched, queue_text_cb, b);
		for (size_t i = 0; i < njobs; i++)
			sbuf_printf(b, "%s%s%s", i ? ", " : "paused jobs: ",
			    jobs[i], i + 1 == njobs ? "\n" : "");
		return;
	}
	json_init(&j, b);
	json_obj_begin(&j);
	json_key(&j, "queues");
	json_arr_begin(&j);
	sched_queue_foreach(sv->sched, queue_json_cb, &j);
	json_arr_end(&j);
	json_key(&j, "pausedJobs");
	json_arr_begin(&j);
	for (size_t i = 0; i < njobs; i++)
		json_str(&j, jobs[i]);
	json_arr_end(&j);
	json_obj_end(&j);
	sbuf_putc(b, '\n');
}

/* --- requests --- */

struct api_req {
	struct server		*sv;
	struct evhttp_request	*req;
	struct evkeyvalq	 query;		/* URL parameters */
	struct evkeyvalq	 form;		/* POST body parameters */
	int			 json;
	struct sbuf		 b;
};

static void
send_reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const struct sbuf *b)
{
	struct evbuffer *out = evbuffer_new();

	evbuffer_add(out, b->p, b->len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

static const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	default: return "Error";
	}
}

/* {"status":"success|error","message":...} or the message as text. */
static void __attribute__((format(printf, 3, 4)))
api_reply(struct api_req *r, int code, const char *fmt, ...)
{
	char msg[1024];
	struct json j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sbuf_reset(&r->b);
	if (r->json) {
		json_init(&j, &r->b);
		json_obj_begin(&j);
		json_key(&j, "status");
		json_str(&j, code == 200 ? "success" : "error");
		json_key(&j, "message");
		json_str(&j, msg);
		json_obj_end(&j);
	} else {
		sbuf_puts(&r->b, msg);
	}
	sbuf_putc(&r->b, '\n');
	send_reply(r->req, code, http_reason(code), r->json ?
	    "application/json" : "text/plain", &r->b);
}

static const char *
param(struct api_req *r, const char *name)
{
	const char *v = evhttp_find_header(&r->query, name);

	return v ? v : evhttp_find_header(&r->form, name);
}

/* yes/true/1 -> 1, no/false/0 -> 0, absent -> def, else -1. */
static int
param_bool(struct api_req *r, const char *name, int def)
{
	const char *v = param(r, name);

	if (v == NULL)
		return def;
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcmp(v, "1") || v[0] == '\0')
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	    !strcmp(v, "0"))
		return 0;
	return -1;
}

static int64_t
api_now(void)
{
	return (int64_t)time(NULL);
}

/* The queue spec or job (exactly one), checked; -1 after an error reply. */
static int
want_queue_or_job(struct api_req *r, const char **queue, const char **job)
{
	*queue = param(r, "queue");
	*job = param(r, "job");
	if ((*queue == NULL) == (*job == NULL)) {
		api_reply(r, 400, "give exactly one of queue=DOMAIN[/VMTA] or "
		    "job=ID");
		return -1;
	}
	if (*queue && sched_ctl_spec_match(*queue, "x", "x") == -1) {
		api_reply(r, 400, "invalid queue \"%s\" (DOMAIN[/VMTA], "
		    "wildcards * and ?)", *queue);
		return -1;
	}
	if (*job && (*job)[0] == '\0') {
		api_reply(r, 400, "empty job id");
		return -1;
	}
	return 0;
}

/* --- commands --- */

static void
cmd_pause(struct api_req *r, int pause)
{
	const char *queue, *job, *verb = pause ? "paused" : "resumed";
	long n, nrcpt = 0;

	if (want_queue_or_job(r, &queue, &job) == -1)
		return;
	if (job) {
		n = sched_ctl_pause_job(api_ctl, job, pause, api_now());
		if (n < 0)
			api_reply(r, 404, "job %s is not paused", job);
		else
			api_reply(r, 200, "job %s %s (%ld recipient%s %s)", job,
			    verb, n, n == 1 ? "" : "s",
			    pause ? "held" : "released");
		return;
	}
	n = sched_ctl_pause_queues(api_ctl, queue, pause, api_now(), &nrcpt);
	if (n == 0 && !sched_ctl_spec_has_wildcard(queue)) {
		api_reply(r, 404, "no queue %s", queue);
		return;
	}
	api_reply(r, 200, "%ld queue%s %s (%ld recipient%s %s)%s", n,
	    n == 1 ? "" : "s", verb, nrcpt, nrcpt == 1 ? "" : "s",
	    pause ? "held" : "released", pause &&
	    sched_ctl_spec_has_wildcard(queue) ? "; queues created later "
	    "that match are paused too" : "");
}

static void
cmd_pause_on(struct api_req *r)
{
	cmd_pause(r, 1);
}

static void
cmd_resume(struct api_req *r)
{
	cmd_pause(r, 0);
}

static void
cmd_schedule(struct api_req *r)
{
	const char *queue = param(r, "queue");
	size_t nrcpt;
	long n;

	if (queue == NULL) {
		api_reply(r, 400, "missing queue=DOMAIN[/VMTA]");
		return;
	}
	if ((n = sched_ctl_schedule(api_ctl, queue, api_now(), &nrcpt)) < 0) {
		api_reply(r, 400, "invalid queue \"%s\"", queue);
		return;
	}
	if (n == 0 && !sched_ctl_spec_has_wildcard(queue)) {
		api_reply(r, 404, "no queue %s", queue);
		return;
	}
	api_reply(r, 200, "%ld queue%s scheduled (%zu deferred recipient%s "
	    "retried now)", n, n == 1 ? "" : "s", nrcpt, nrcpt == 1 ? "" : "s");
}

static void
cmd_set(struct api_req *r)
{
	const char *queue = param(r, "queue"), *mode = param(r, "mode");
	long n, nshaped;
	int backoff;

	if (queue == NULL || mode == NULL) {
		api_reply(r, 400, "set needs queue=DOMAIN[/VMTA] and "
		    "mode=backoff|normal");
		return;
	}
	if (strcmp(mode, "backoff") != 0 && strcmp(mode, "normal") != 0) {
		api_reply(r, 400, "invalid mode \"%s\" (backoff or normal)",
		    mode);
		return;
	}
	backoff = mode[0] == 'b';
	if ((n = sched_ctl_set_mode(api_ctl, queue, backoff, api_now(),
	    &nshaped)) < 0) {
		api_reply(r, 400, "invalid queue \"%s\"", queue);
		return;
	}
	if (n == 0 && !sched_ctl_spec_has_wildcard(queue)) {
		api_reply(r, 404, "no queue %s", queue);
		return;
	}
	log_info("set queue %s --mode=%s: %ld queue(s)", queue, mode, nshaped);
	api_reply(r, 200, "%ld queue%s set to %s mode", nshaped,
	    nshaped == 1 ? "" : "s", mode);
}

struct del_ctx {
	struct server	*sv;
	int		 dsn;
	int		 accounting;
};

/* Deleted recipients go through the daemon's normal outcome path (spool
 * journal, b record, DSN); no DSN unless asked for, no record with
 * accounting=no. */
static void
del_emit(void *arg, const struct sched_event *ev, size_t n)
{
	struct del_ctx *d = arg;
	struct acctw *acct = d->sv->acct;

	for (size_t i = 0; i < n && !d->dsn; i++)
		ev[i].rcpt->notify = SPOOL_NOTIFY_NEVER;
	if (!d->accounting)
		d->sv->acct = NULL;
	outcome_hook(d->sv, ev, n);
	d->sv->acct = acct;
}

static void
cmd_delete(struct api_req *r)
{
	struct sched_ctl_sel sel = { param(r, "queue"), param(r, "job") };
	struct del_ctx d = { r->sv, param_bool(r, "dsn", 0),
	    param_bool(r, "accounting", 1) };
	struct sched_result res = { .code = 0, .status = "5.0.0",
	    .diag = "deleted by administrator", .category = "other" };
	size_t n, inflight;

	if (sel.job == NULL)
		sel.job = param(r, "jobId");
	if (sel.queue == NULL && sel.job == NULL) {
		api_reply(r, 400, "delete needs queue=DOMAIN[/VMTA] and/or "
		    "job=ID");
		return;
	}
	if (sched_ctl_sel_check(&sel) == -1 || d.dsn < 0 ||
	    d.accounting < 0) {
		api_reply(r, 400, "invalid queue, job, dsn or accounting "
		    "parameter");
		return;
	}
	if (sel.queue && !sched_ctl_spec_has_wildcard(sel.queue) &&
	    sched_queue_find(r->sv->sched, sel.queue) == NULL) {
		api_reply(r, 404, "no queue %s", sel.queue);
		return;
	}
	n = sched_ctl_delete(api_ctl, &sel, &res, api_now(), del_emit, &d,
	    &inflight);
	log_info("delete%s%s%s%s: %zu recipient(s) deleted by administrator",
	    sel.queue ? " queue " : "", sel.queue ? sel.queue : "",
	    sel.job ? " job " : "", sel.job ? sel.job : "", n);
	if (inflight)
		api_reply(r, 200, "%zu recipient%s deleted (%zu in flight, not "
		    "deleted)", n, n == 1 ? "" : "s", inflight);
	else
		api_reply(r, 200, "%zu recipient%s deleted", n,
		    n == 1 ? "" : "s");
}

struct list_ctx {
	struct sbuf	*b;
	struct json	 j;
	int		 json;
};

static void
fmt_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", localtime_r(&tt, &tm));
}

static void
list_cb(const struct sched_ctl_item *it, void *arg)
{
	struct list_ctx *l = arg;
	char when[32];

	if (!l->json) {
		fmt_time(when, sizeof(when), it->next_attempt);
		sbuf_printf(l->b, "%-32s %-32s %-12s %-30s %-8s %4u %s\n",
		    it->rcpt, it->orig[0] ? it->orig : "<>",
		    it->job_id ? it->job_id : "-", it->queue, it->state,
		    it->attempts, when);
		return;
	}
	json_obj_begin(&l->j);
	json_key(&l->j, "rcpt"); json_str(&l->j, it->rcpt);
	json_key(&l->j, "orig"); json_str(&l->j, it->orig);
	json_key(&l->j, "jobId"); json_str(&l->j, it->job_id);
	json_key(&l->j, "queue"); json_str(&l->j, it->queue);
	json_key(&l->j, "state"); json_str(&l->j, it->state);
	json_key(&l->j, "msgId"); json_uint(&l->j, it->msg_id);
	json_key(&l->j, "attempts"); json_uint(&l->j, it->attempts);
	json_key(&l->j, "nextAttempt"); json_int(&l->j, it->next_attempt);
	json_key(&l->j, "timeQueued"); json_int(&l->j, it->time_queued);
	json_obj_end(&l->j);
}

static void
cmd_list(struct api_req *r)
{
	struct sched_ctl_sel sel = { param(r, "queue"), param(r, "job") };
	const char *mi = param(r, "maxitems");
	struct list_ctx l = { .b = &r->b, .json = r->json };
	char *end = NULL;
	long max = 100;
	size_t total, shown;

	if (mi && ((max = strtol(mi, &end, 10)) < 0 || *end || end == mi)) {
		api_reply(r, 400, "invalid maxitems \"%s\"", mi);
		return;
	}
	if (sched_ctl_sel_check(&sel) == -1) {
		api_reply(r, 400, "invalid queue or job");
		return;
	}
	if (sel.queue && !sched_ctl_spec_has_wildcard(sel.queue) &&
	    sched_queue_find(r->sv->sched, sel.queue) == NULL) {
		api_reply(r, 404, "no queue %s", sel.queue);
		return;
	}
	if (r->json) {
		json_init(&l.j, &r->b);
		json_obj_begin(&l.j);
		json_key(&l.j, "status"); json_str(&l.j, "success");
		json_key(&l.j, "recipients");
		json_arr_begin(&l.j);
	} else {
		sbuf_printf(&r->b, "%-32s %-32s %-12s %-30s %-8s %4s %s\n",
		    "RCPT", "ORIG", "JOB", "QUEUE", "STATE", "ATT",
		    "NEXT ATTEMPT");
	}
	total = sched_ctl_list(api_ctl, &sel, (size_t)max, list_cb, &l);
	shown = total < (size_t)max ? total : (size_t)max;
	if (r->json) {
		json_arr_end(&l.j);
		json_key(&l.j, "total"); json_uint(&l.j, total);
		json_key(&l.j, "message");
		json_str(&l.j, "listed");
		json_obj_end(&l.j);
		sbuf_putc(&r->b, '\n');
	} else {
		sbuf_printf(&r->b, "%zu of %zu recipient%s listed\n", shown,
		    total, total == 1 ? "" : "s");
	}
	send_reply(r->req, 200, "OK", r->json ? "application/json" :
	    "text/plain", &r->b);
}
static void
cmd_reload(struct api_req *r)
{
	char err[512];
	struct conf *nc = conf_load(r->sv->opts.config, err, sizeof(err));

	if (nc == NULL) {
		api_reply(r, 400, "reload failed, the old configuration stays: "
		    "%s", err);
		return;
	}
	conf_free(nc);
	if (server_reload(r->sv) == -1)
		api_reply(r, 400, "reload failed, the old configuration stays "
		    "(the reason is in sluiced's log)");
	else
		api_reply(r, 200, "configuration %s reloaded",
		    r->sv->opts.config);
}

static void
cmd_rotate(struct api_req *r)
{
	const char *what = param(r, "what");

	if (what == NULL || strcmp(what, "acct") != 0) {
		api_reply(r, 400, "rotate what=acct (sluiced logs to stderr: "
		    "there is no log file to rotate)");
		return;
	}
	if (r->sv->acct == NULL) {
		api_reply(r, 404, "no <acct-file> configured");
		return;
	}
	acctw_rotate(r->sv->acct);
	api_reply(r, 200, "accounting files rotated");
}

static void
cmd_status(struct api_req *r)
{
	r->json ? status_json(r->sv, &r->b) : status_text(r->sv, &r->b);
	send_reply(r->req, 200, "OK", r->json ? "application/json" :
	    "text/plain", &r->b);
}

static void
cmd_queues(struct api_req *r)
{
	queues_body(r->sv, &r->b, r->json);
	send_reply(r->req, 200, "OK", r->json ? "application/json" :
	    "text/plain", &r->b);
}

struct api_route {
	const char	*path;
	int		 write;		/* POST only, local peers only */
	void		(*run)(struct api_req *);
};

static const struct api_route api_routes[] = {
	{ "/status", 0, cmd_status },
	{ "/queues", 0, cmd_queues },
	{ "/list", 0, cmd_list },
	{ "/pause", 1, cmd_pause_on },
	{ "/resume", 1, cmd_resume },
	{ "/schedule", 1, cmd_schedule },
	{ "/delete", 1, cmd_delete },
	{ "/reload", 1, cmd_reload },
	{ "/rotate", 1, cmd_rotate },
	{ "/set", 1, cmd_set },
};

/* Writes: over the unix socket, or over TCP from 127.0.0.1, and not from
 * a web page (browsers send Origin on cross-site POSTs). */
static int
write_allowed(struct evhttp_request *req)
{
	struct evhttp_connection *ec = evhttp_request_get_connection(req);
	const struct sockaddr *sa = ec ? evhttp_connection_get_addr(ec) : NULL;

	if (evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Origin") != NULL)
		return 0;
	if (sa == NULL || sa->sa_family == AF_UNIX)
		return 1;	/* the unix socket (mode 0660) */
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	return 0;
}

static void
parse_form(struct evhttp_request *req, struct evkeyvalq *form)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = in ? evbuffer_get_length(in) : 0;
	char *body;

	if (len == 0)
		return;
	body = xmalloc(len + 1);
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	evhttp_parse_query_str(body, form);
	free(body);
}

static void
api_dispatch(struct api_req *r, const char *path, const char *fmt)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(r->req);
	const struct api_route *rt = NULL;

	for (size_t i = 0; i < sizeof(api_routes) / sizeof(*api_routes); i++)
		if (path && strcmp(path, api_routes[i].path) == 0)
			rt = &api_routes[i];
	if (fmt && !r->json && strcmp(fmt, "text") != 0)
		api_reply(r, 400, "unknown format \"%s\" (json or text)", fmt);
	else if (rt == NULL)
		api_reply(r, 404, "not found: %s (try /status, /queues, /list; "
		    "POST /pause, /resume, /schedule, /delete, /reload, "
		    "/rotate, /set)", path ? path : "");
	else if (!rt->write && m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
		api_reply(r, 405, "%s: use GET", rt->path);
	else if (rt->write && m != EVHTTP_REQ_POST)
		api_reply(r, 405, "%s: use POST", rt->path);
	else if (rt->write && !write_allowed(r->req))
		api_reply(r, 403, "%s: commands are accepted only over the "
		    "control socket or from 127.0.0.1", rt->path);
	else
		rt->run(r);
}

static void
api_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	const char *query = u ? evhttp_uri_get_query(u) : NULL;
	struct api_req r = { .sv = arg, .req = req };
	const char *fmt;

	sbuf_init(&r.b);
	TAILQ_INIT(&r.query);
	TAILQ_INIT(&r.form);
	if (query)
		evhttp_parse_query_str(query, &r.query);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
		parse_form(req, &r.form);
	if ((fmt = param(&r, "format")) != NULL)
		r.json = strcmp(fmt, "json") == 0;
	api_dispatch(&r, path, fmt);
	evhttp_clear_headers(&r.query);
	evhttp_clear_headers(&r.form);
	sbuf_fini(&r.b);
}

/* --- paused-job sweeps (sched_ctl's `arm`) --- */

static struct event *sweep_ev;

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (api_ctl)
		sched_ctl_sweep(api_ctl);
}

static void
sweep_arm(void *arg)
{
	(void)arg;
	if (sweep_ev)
		event_active(sweep_ev, EV_TIMEOUT, 0);
}

static int
unix_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: control socket path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)unlink(path);
	mode_t old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 16) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	return fd;
}

int
api_start(struct server *sv, char *err, size_t errlen)
{
	const struct conf *c = sv->conf;
	int fd;

	api_ctl = sched_ctl_new(sv->sched, sweep_arm, sv);
	sweep_ev = event_new(sv->base, -1, 0, sweep_cb, sv);
	sv->http = evhttp_new(sv->base);
	evhttp_set_gencb(sv->http, api_cb, sv);
	evhttp_set_allowed_methods(sv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_headers_size(sv->http, 16384);
	evhttp_set_max_body_size(sv->http, 65536);
	sv->control_path = c->control_socket ? xstrdup(c->control_socket) :
	    xasprintf("%s/sluiced.sock", c->spool_dir);
	if ((fd = unix_listen(sv->control_path, err, errlen)) == -1)
		return -1;
	if (evhttp_accept_socket_with_handle(sv->http, fd) == NULL) {
		snprintf(err, errlen, "%s: evhttp cannot accept",
		    sv->control_path);
		close(fd);
		return -1;
	}
	log_info("control socket %s", sv->control_path);
	if (c->http_mgmt_port > 0) {
		struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(
		    sv->http, "127.0.0.1", (uint16_t)c->http_mgmt_port);
		if (bs == NULL)
			log_warnx("http-mgmt-port %d: cannot listen on "
			    "127.0.0.1 (management API on the control socket "
			    "only)", c->http_mgmt_port);
		else
			fprintf(stderr, "sluiced: info: http listening on "
			    "127.0.0.1:%d\n", c->http_mgmt_port);
	}
	return 0;
}

void
api_stop(struct server *sv)
{
	if (sv->http) {
		evhttp_free(sv->http);
		sv->http = NULL;
	}
	sched_ctl_free(api_ctl);	/* restores the scheduler's hooks */
	api_ctl = NULL;
	if (sweep_ev)
		event_free(sweep_ev);
	sweep_ev = NULL;
	if (sv->control_path) {
		(void)unlink(sv->control_path);
		free(sv->control_path);
		sv->control_path = NULL;
	}
}
