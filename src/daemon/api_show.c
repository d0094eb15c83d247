/*
 * api_show.c -- the management API's reads (GET): /status (traffic,
 * connections, queue and spool totals), /queues (per queue, plus the
 * paused jobs) and /list (queued recipients, oldest message first), as
 * text tables or JSON. Shapes: docs/api.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/json.h"
#include "lib/sbuf.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"
#include "spool/spool.h"
#include "daemon/api_int.h"
#include "daemon/server.h"

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
	json_key(j, "vmtaPool"); json_str(j, qi->pool ? qi->pool : "");
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
	sbuf_printf(b, "%-40s %8llu %5d %-12s %-8s %-6s %-9s %s\n",
	    qi->name, (unsigned long long)qi->rcpt, qi->conns,
	    qi->pool ? qi->pool : "-",
	    qi->backoff ? "backoff" : "normal", qi->paused ? "yes" : "no",
	    when, qi->last_error);
}

static void
queues_body(struct server *sv, struct sbuf *b, int json)
{
	struct json j;

	const char *const *jobs;
	size_t njobs = sv->ctl ? sched_ctl_paused_jobs(sv->ctl, &jobs) : 0;

	if (!json) {
		sbuf_printf(b, "%-40s %8s %5s %-12s %-8s %-6s %-9s %s\n",
		    "QUEUE", "RCPT", "CONN", "POOL", "MODE", "PAUSED", "RETRY",
		    "LAST ERROR");
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

void
api_cmd_list(struct api_req *r)
{
	struct sched_ctl_sel sel = { api_param(r, "queue"), api_param(r, "job") };
	const char *mi = api_param(r, "maxitems");
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
	total = sched_ctl_list(r->sv->ctl, &sel, (size_t)max, list_cb, &l);
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
	api_send(r, 200);
}
void
api_cmd_status(struct api_req *r)
{
	r->json ? status_json(r->sv, &r->b) : status_text(r->sv, &r->b);
	api_send(r, 200);
}

void
api_cmd_queues(struct api_req *r)
{
	queues_body(r->sv, &r->b, r->json);
	api_send(r, 200);
}

