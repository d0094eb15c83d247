/*
 * api_int.h -- internals shared by the management API files (not for
 * other modules): one request being answered, reply helpers, and the
 * handlers of each route.
 *
 * Files: api.c (listeners, routing, who may command, reply helpers),
 * api_show.c (GET /status, /queues, /list), api_ctl.c (POST /pause,
 * /resume, /schedule, /set, /delete, /reload, /rotate). A handler answers
 * exactly once (api_reply or api_send). Everything runs on the loop
 * thread; the request lives for the duration of the handler call.
 */
#ifndef SLUICE_API_INT_H
#define SLUICE_API_INT_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>

#include "lib/sbuf.h"
#include "daemon/server.h"

struct api_req {
	struct server		*sv;
	struct evhttp_request	*req;
	struct evkeyvalq	 query;		/* URL parameters */
	struct evkeyvalq	 form;		/* POST body parameters */
	int			 json;		/* format=json */
	struct sbuf		 b;		/* the body being built */
};

/* Send r->b with `code` (content type from r->json). */
void api_send(struct api_req *r, int code);
/* {"status":"success|error","message":...} (JSON) or the message. */
void api_reply(struct api_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A parameter from the URL, else from the form body; NULL if absent. */
const char *api_param(struct api_req *r, const char *name);
/* yes/true/1/"" -> 1, no/false/0 -> 0, absent -> def, else -1. */
int api_param_bool(struct api_req *r, const char *name, int def);
int64_t api_now(void);

/* api_show.c */
void api_cmd_status(struct api_req *r);
void api_cmd_queues(struct api_req *r);
void api_cmd_list(struct api_req *r);

/* api_ctl.c */
void api_cmd_pause(struct api_req *r);
void api_cmd_resume(struct api_req *r);
void api_cmd_schedule(struct api_req *r);
void api_cmd_set(struct api_req *r);
void api_cmd_delete(struct api_req *r);
void api_cmd_reload(struct api_req *r);
void api_cmd_rotate(struct api_req *r);

#endif
