/*
 * api.c -- management HTTP API (libevent evhttp) for the `sluice` CLI:
 * on a unix socket (control-socket, default <spool>/sluiced.sock, mode
 * 0660) and, if http-mgmt-port is set, on 127.0.0.1:PORT. This file is
 * the transport: listeners, routing, who may send commands, parameters and
 * replies; the handlers are in api_show.c (reads) and api_ctl.c
 * (commands), see api_int.h.
 *
 * Reads (GET): /status, /queues, /list. Commands (POST, parameters in the
 * URL or as a form body): /pause, /resume, /schedule, /delete, /reload,
 * /rotate, /set (queue mode). Every reply honours format=json|text;
 * commands answer {"status":"success"|"error","message":...} with HTTP
 * 200, 400 (bad request), 403 (not local), 404 (no such queue/job/path)
 * or 405 (wrong method). Commands are refused unless they come over the
 * unix socket or from 127.0.0.1, and refused when the request carries an
 * Origin header (a browser page). With http-access lines, TCP clients get
 * the level of the first matching CIDR (none if none matches): none may
 * do nothing, monitor may read, operator and admin may also command.
 * Shapes and semantics: docs/api.md.
 *
 * Owns sv->ctl (the scheduler's operator control) from api_start to
 * api_stop.
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

#include "conf/conf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/wallclock.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "daemon/api_int.h"
#include "daemon/server.h"

/* --- requests and replies --- */

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

void
api_send(struct api_req *r, int code)
{
	send_reply(r->req, code, http_reason(code), r->json ?
	    "application/json" : "text/plain", &r->b);
}

void
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
	api_send(r, code);
}

const char *
api_param(struct api_req *r, const char *name)
{
	const char *v = evhttp_find_header(&r->query, name);

	return v ? v : evhttp_find_header(&r->form, name);
}

int
api_param_bool(struct api_req *r, const char *name, int def)
{
	const char *v = api_param(r, name);

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

int64_t
api_now(void)
{
	return wall_now();
}

struct api_route {
	const char	*path;
	int		 write;		/* POST only, local peers only */
	void		(*run)(struct api_req *);
};

static const struct api_route api_routes[] = {
	{ "/status", 0, api_cmd_status },
	{ "/queues", 0, api_cmd_queues },
	{ "/list", 0, api_cmd_list },
	{ "/pause", 1, api_cmd_pause },
	{ "/resume", 1, api_cmd_resume },
	{ "/schedule", 1, api_cmd_schedule },
	{ "/delete", 1, api_cmd_delete },
	{ "/reload", 1, api_cmd_reload },
	{ "/rotate", 1, api_cmd_rotate },
	{ "/set", 1, api_cmd_set },
};

static const struct sockaddr *
peer_addr(struct evhttp_request *req)
{
	struct evhttp_connection *ec = evhttp_request_get_connection(req);

	return ec ? evhttp_connection_get_addr(ec) : NULL;
}

/* http-access for a TCP peer: the first matching line's level, none if
 * no line matches; without any line, monitor (reads) for everyone and
 * writes as write_allowed() says. The unix socket is not subject to it. */
static enum conf_http_level
http_level(const struct conf *c, const struct sockaddr *sa)
{
	if (sa == NULL || sa->sa_family == AF_UNIX || c->nhttp_access == 0)
		return CONF_HTTP_ADMIN;
	for (size_t i = 0; i < c->nhttp_access; i++)
		if (conf_cidr_match(&c->http_access[i].cidr, sa))
			return c->http_access[i].level;
	return CONF_HTTP_NONE;
}

/* Writes: over the unix socket, or over TCP from 127.0.0.1 with level
 * operator or admin, and not from a web page (browsers send Origin on
 * cross-site POSTs). */
static int
write_allowed(const struct conf *c, struct evhttp_request *req)
{
	const struct sockaddr *sa = peer_addr(req);

	if (evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Origin") != NULL)
		return 0;
	if (sa == NULL || sa->sa_family == AF_UNIX)
		return 1;	/* the unix socket (mode 0660) */
	if (http_level(c, sa) < CONF_HTTP_OPERATOR)
		return 0;
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
	else if (http_level(r->sv->conf, peer_addr(r->req)) == CONF_HTTP_NONE)
		api_reply(r, 403, "%s: forbidden for this address "
		    "(http-access)", rt->path);
	else if (rt->write && !write_allowed(r->sv->conf, r->req))
		api_reply(r, 403, "%s: commands are accepted only over the "
		    "control socket or from 127.0.0.1 with http-access "
		    "operator or admin", rt->path);
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
	if ((fmt = api_param(&r, "format")) != NULL)
		r.json = strcmp(fmt, "json") == 0;
	api_dispatch(&r, path, fmt);
	evhttp_clear_headers(&r.query);
	evhttp_clear_headers(&r.form);
	sbuf_fini(&r.b);
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

	sv->ctl = sched_ctl_new(sv->sched);
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
	sched_ctl_free(sv->ctl);
	sv->ctl = NULL;
	if (sv->control_path) {
		(void)unlink(sv->control_path);
		free(sv->control_path);
		sv->control_path = NULL;
	}
}
