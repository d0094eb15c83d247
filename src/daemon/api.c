/*
 * api.c -- management HTTP API (libevent evhttp) for the `sluice` CLI:
 * on a unix socket (control-socket, default <spool>/sluiced.sock) and, if
 * http-mgmt-port is set, on 127.0.0.1:PORT.
 *
 * GET /status?format=json|text and GET /queues?format=json|text, shaped
 * after PowerMTA's web monitor (docs/architecture.md lists the fields).
 * Read-only; unknown paths get 404, other methods 405.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"
#include "spool/spool.h"
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

	if (!json) {
		sbuf_printf(b, "%-40s %8s %5s %-8s %-6s %-9s %s\n", "QUEUE",
		    "RCPT", "CONN", "MODE", "PAUSED", "RETRY", "LAST ERROR");
		sched_queue_foreach(sv->sched, queue_text_cb, b);
		return;
	}
	json_init(&j, b);
	json_obj_begin(&j);
	json_key(&j, "queues");
	json_arr_begin(&j);
	sched_queue_foreach(sv->sched, queue_json_cb, &j);
	json_arr_end(&j);
	json_obj_end(&j);
	sbuf_putc(b, '\n');
}

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

static void
api_cb(struct evhttp_request *req, void *arg)
{
	struct server *sv = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;
	const char *query = u ? evhttp_uri_get_query(u) : NULL;
	struct evkeyvalq q;
	const char *fmt = NULL;
	int json;
	struct sbuf b;

	sbuf_init(&b);
	memset(&q, 0, sizeof(q));	/* evhttp_parse_query_str inits it */
	if (query)
		evhttp_parse_query_str(query, &q);
	fmt = evhttp_find_header(&q, "format");
	json = fmt && strcmp(fmt, "json") == 0;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		sbuf_puts(&b, "method not allowed\n");
		send_reply(req, 405, "Method Not Allowed", "text/plain", &b);
	} else if (fmt && !json && strcmp(fmt, "text") != 0) {
		sbuf_printf(&b, "unknown format \"%s\" (json or text)\n", fmt);
		send_reply(req, 400, "Bad Request", "text/plain", &b);
	} else if (path && strcmp(path, "/status") == 0) {
		json ? status_json(sv, &b) : status_text(sv, &b);
		send_reply(req, 200, "OK", json ? "application/json" :
		    "text/plain", &b);
	} else if (path && strcmp(path, "/queues") == 0) {
		queues_body(sv, &b, json);
		send_reply(req, 200, "OK", json ? "application/json" :
		    "text/plain", &b);
	} else {
		sbuf_printf(&b, "not found: %s (try /status or /queues)\n",
		    path ? path : "");
		send_reply(req, 404, "Not Found", "text/plain", &b);
	}
	evhttp_clear_headers(&q);
	sbuf_fini(&b);
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
	if (sv->control_path) {
		(void)unlink(sv->control_path);
		free(sv->control_path);
		sv->control_path = NULL;
	}
}
