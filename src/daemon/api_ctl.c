/*
 * api_ctl.c -- the management API's commands (POST): pause/resume of
 * queues and jobs, schedule (retry now), set queue mode, delete, reload,
 * rotate acct. Queue and job control itself is src/sched/sched_ctl.c;
 * deleted recipients go to outcome.c's outcome_deleted (journal done, b
 * record "deleted by administrator" unless accounting=no, DSN only with
 * dsn=yes). Replies and semantics: docs/api.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct/acctw.h"
#include "conf/conf.h"
#include "lib/log.h"
#include "sched/sched.h"
#include "daemon/api_int.h"
#include "daemon/server.h"

/* The queue spec or job (exactly one), checked; -1 after an error reply. */
static int
want_queue_or_job(struct api_req *r, const char **queue, const char **job)
{
	*queue = api_param(r, "queue");
	*job = api_param(r, "job");
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
pause_cmd(struct api_req *r, int pause)
{
	const char *queue, *job, *verb = pause ? "paused" : "resumed";
	long n, nrcpt = 0;

	if (want_queue_or_job(r, &queue, &job) == -1)
		return;
	if (job) {
		n = sched_ctl_pause_job(r->sv->ctl, job, pause, api_now());
		if (n < 0)
			api_reply(r, 404, "job %s is not paused", job);
		else
			api_reply(r, 200, "job %s %s (%ld recipient%s %s)", job,
			    verb, n, n == 1 ? "" : "s",
			    pause ? "held" : "released");
		return;
	}
	n = sched_ctl_pause_queues(r->sv->ctl, queue, pause, api_now(), &nrcpt);
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

void
api_cmd_pause(struct api_req *r)
{
	pause_cmd(r, 1);
}

void
api_cmd_resume(struct api_req *r)
{
	pause_cmd(r, 0);
}

void
api_cmd_schedule(struct api_req *r)
{
	const char *queue = api_param(r, "queue");
	size_t nrcpt;
	long n;

	if (queue == NULL) {
		api_reply(r, 400, "missing queue=DOMAIN[/VMTA]");
		return;
	}
	if ((n = sched_ctl_schedule(r->sv->ctl, queue, api_now(), &nrcpt)) < 0) {
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

void
api_cmd_set(struct api_req *r)
{
	const char *queue = api_param(r, "queue"), *mode = api_param(r, "mode");
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
	if ((n = sched_ctl_set_mode(r->sv->ctl, queue, backoff, api_now(),
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

static void
del_emit(void *arg, const struct sched_event *ev, size_t n)
{
	struct del_ctx *d = arg;

	outcome_deleted(d->sv, ev, n, d->dsn, d->accounting);
}

void
api_cmd_delete(struct api_req *r)
{
	struct sched_ctl_sel sel = { api_param(r, "queue"), api_param(r, "job") };
	struct del_ctx d = { r->sv, api_param_bool(r, "dsn", 0),
	    api_param_bool(r, "accounting", 1) };
	struct sched_result res = { .code = 0, .status = "5.0.0",
	    .diag = "deleted by administrator", .category = "other" };
	size_t n, inflight;

	if (sel.job == NULL)
		sel.job = api_param(r, "jobId");
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
	n = sched_ctl_delete(r->sv->ctl, &sel, &res, api_now(), del_emit, &d,
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

void
api_cmd_reload(struct api_req *r)
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

void
api_cmd_rotate(struct api_req *r)
{
	const char *what = api_param(r, "what");

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

