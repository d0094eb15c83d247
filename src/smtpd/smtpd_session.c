/*
 * smtpd_session.c -- one inbound SMTP connection: bufferevent I/O, the input
 * loop, timeouts, STARTTLS, closing and the submit hand-off.
 *
 * Invariants: input is processed only in session_process(), which holds
 * in_process so that nothing frees the session under it; while a submit is
 * outstanding (SMTPD_S_SUBMIT) no input is processed, so pipelined
 * commands after the final dot are executed in order after the reply. A
 * session whose peer goes away during a submit becomes a ZOMBIE (socket
 * freed, struct kept) until smtpd_submit_done().
 * Ownership: sessions belong to their struct smtpd.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd_int.h"

static void session_process(struct smtpd_session *s);
static void session_read_cb(struct bufferevent *bev, void *arg);
static void session_write_cb(struct bufferevent *bev, void *arg);
static void session_event_cb(struct bufferevent *bev, short what, void *arg);

/*
 * Replies on a plain connection collect in s->reply and are sent with one
 * send(2) by smtpd_session_flush() (end of an input round, before a close
 * or STARTTLS, after the greeting): no write event is enabled and
 * disabled (two epoll_ctl) per reply, and no loop turn is spent waiting
 * for writability. Only what the socket does not take goes through the
 * bufferevent, in order behind anything already queued there. TLS
 * sessions write to the TLS filter's buffer as before.
 */
void
smtpd_session_flush(struct smtpd_session *s)
{
	struct evbuffer *out;
	size_t off = 0;
	ssize_t n;

	if (s->reply.len == 0)
		return;
	if (s->raw == NULL) {	/* connection gone */
		sbuf_reset(&s->reply);
		return;
	}
	out = bufferevent_get_output(s->raw);
	if (evbuffer_get_length(out) == 0) {
		n = send(bufferevent_getfd(s->raw), s->reply.p, s->reply.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			off = (size_t)n;
	}
	/* EAGAIN, a short write or an error: the bufferevent sends the rest
	 * or reports the error through session_event_cb. */
	if (off < s->reply.len)
		evbuffer_add(out, s->reply.p + off, s->reply.len - off);
	sbuf_reset(&s->reply);
}

static struct evbuffer *
session_tls_out(struct smtpd_session *s)
{
	if (s->bev == NULL || s->bev == s->raw)
		return NULL;
	return bufferevent_get_output(s->bev);
}

void
smtpd_session_reply(struct smtpd_session *s, const char *line)
{
	struct evbuffer *out;

	if (s->bev == NULL)
		return;
	if ((out = session_tls_out(s)) != NULL) {
		evbuffer_add(out, line, strlen(line));
		evbuffer_add(out, "\r\n", 2);
		return;
	}
	sbuf_puts(&s->reply, line);
	sbuf_put(&s->reply, "\r\n", 2);
}

void
smtpd_session_replyf(struct smtpd_session *s, const char *fmt, ...)
{
	struct evbuffer *out;
	char buf[1024], *big;
	va_list ap;
	int n;

	if (s->bev == NULL)
		return;
	va_start(ap, fmt);
	if ((out = session_tls_out(s)) != NULL) {
		evbuffer_add_vprintf(out, fmt, ap);
		evbuffer_add(out, "\r\n", 2);
		va_end(ap);
		return;
	}
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(buf))
		sbuf_put(&s->reply, buf, (size_t)n);
	else {
		big = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		sbuf_put(&s->reply, big, (size_t)n);
		free(big);
	}
	sbuf_put(&s->reply, "\r\n", 2);
}

/* Read timeout in seconds (0 = none); the write timeout is always set. */
void
smtpd_session_set_timeout(struct smtpd_session *s, int secs)
{
	struct timeval rd = { secs, 0 };
	struct timeval wr = { s->srv->p.cmd_timeout, 0 };

	if (s->bev == NULL)
		return;
	if (s->rd == NULL) {
		bufferevent_set_timeouts(s->bev, secs ? &rd : NULL, &wr);
		return;
	}
	bufferevent_set_timeouts(s->raw, NULL, &wr);
	s->rd_secs = secs;
	if (s->rd_on)
		smtpd_io_read(s, 1);	/* re-arms with the new timeout */
}

void
smtpd_session_reset_tx(struct smtpd_session *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++) {
		free((char *)s->rcpts[i].addr);
		free((char *)s->rcpts[i].orcpt);
	}
	s->nrcpt = 0;
	free(s->mail_from);
	free(s->envid);
	s->mail_from = s->envid = NULL;
	s->ret_full = 0;
	if (s->phase > SMTPD_PH_HELO)
		s->phase = SMTPD_PH_HELO;
}

/* Give up the connection (not the struct). */
static void
session_release(struct smtpd_session *s)
{
	if (s->bev == NULL)
		return;
	smtpd_io_stop(s);
	bufferevent_free(s->bev);
	s->bev = s->raw = NULL;
	s->srv->nsessions--;
	smtpd_ip_conn_close(s);
	evtimer_del(s->linger);
}

void
smtpd_session_free(struct smtpd_session *s)
{
	struct smtpd *srv = s->srv;

	session_release(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	smtpd_session_reset_tx(s);
	free(s->rcpts);
	free(s->helo);
	free(s->auth_user);
	free(s->login_user);
	free(s->line);
	sbuf_fini(&s->data);
	sbuf_fini(&s->out);
	sbuf_fini(&s->reply);
	event_free(s->linger);
	free(s);
}

void
smtpd_session_drop(struct smtpd_session *s)
{
	if (s->in_process) {
		s->want_free = 1;
		return;
	}
	if (s->state == SMTPD_S_SUBMIT) {
		session_release(s);
		s->state = SMTPD_S_ZOMBIE;
		return;
	}
	if (s->state != SMTPD_S_ZOMBIE)
		smtpd_session_free(s);
}

/* Closing: free once both output buffers are empty. */
static void
session_check_flushed(struct smtpd_session *s)
{
	struct timeval tv = { 0, 20000 };

	smtpd_session_flush(s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->raw)) == 0) {
		smtpd_session_drop(s);
		return;
	}
	/* The TLS filter has no callback for the raw socket draining. */
	if (s->bev != s->raw)
		evtimer_add(s->linger, &tv);
}

static void
session_linger_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	session_check_flushed(arg);
}

void
smtpd_session_close(struct smtpd_session *s, const char *line)
{
	if (s->bev == NULL)
		return;
	if (line)
		smtpd_session_reply(s, line);
	s->state = SMTPD_S_CLOSING;
	smtpd_io_read(s, 0);
	smtpd_session_set_timeout(s, 0);
	if (!s->in_process)
		session_check_flushed(s);
}

/* A refused line; it also ends an AUTH exchange. Returns -1. */
static int
session_bad_line(struct smtpd_session *s, const char *reply)
{
	if (s->state == SMTPD_S_AUTH) {
		s->state = SMTPD_S_CMD;
		s->auth_step = SMTPD_AUTH_NONE;
	}
	smtpd_cmd_error(s, reply);
	return -1;
}

/*
 * Read one command line into s->line. Returns 1 for a line, 0 when more
 * input is needed, -1 when a bad line was consumed (already answered).
 */
static int
session_getline(struct smtpd_session *s, struct evbuffer *in)
{
	size_t max = s->srv->p.max_line, len = evbuffer_get_length(in), n;
	struct evbuffer_ptr ptr;
	const char *p;

	ptr = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (ptr.pos < 0 && len <= max && !s->skip_line)
		return 0;
	if (ptr.pos < 0) {
		evbuffer_drain(in, len);
		if (s->skip_line)
			return 0;
		s->skip_line = 1;
		return session_bad_line(s, "500 5.5.2 Line too long");
	}
	n = (size_t)ptr.pos + 1;
	if (s->skip_line || n > max) {
		evbuffer_drain(in, n);
		if (s->skip_line) {
			s->skip_line = 0;
			return -1;
		}
		return session_bad_line(s, "500 5.5.2 Line too long");
	}
	p = (const char *)evbuffer_pullup(in, n);
	if (n < 2 || p[n - 2] != '\r' || memchr(p, '\r', n - 2) ||
	    memchr(p, '\0', n - 2)) {
		evbuffer_drain(in, n);
		return session_bad_line(s, "500 5.5.2 Syntax error: bare CR, "
		    "bare LF or NUL in command line");
	}
	memcpy(s->line, p, n - 2);
	s->line[n - 2] = '\0';
	evbuffer_drain(in, n);
	return 1;
}

/* One step of the input loop; 0 when nothing more can be done now. */
static int
session_step(struct smtpd_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	int r;

	if (s->state == SMTPD_S_DATA) {
		if (smtpd_data_feed(&s->dr, in) == 0)
			return 0;
		smtpd_session_data_end(s);
		return 1;
	}
	if (s->state != SMTPD_S_CMD && s->state != SMTPD_S_AUTH)
		return 0;
	if (s->reply.len > SMTPD_OBUF_MAX)
		smtpd_session_flush(s);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
	    SMTPD_OBUF_MAX) {
		s->paused = 1;	/* resumed by the write callback */
		return 0;
	}
	if ((r = session_getline(s, in)) <= 0)
		return r < 0;
	if (s->state == SMTPD_S_AUTH)
		smtpd_auth_line(s, s->line);
	else
		smtpd_cmd_dispatch(s, s->line);
	return 1;
}

static void
session_process(struct smtpd_session *s)
{
	s->in_process = 1;
	while (!s->want_free && s->bev != NULL && session_step(s))
		;
	s->in_process = 0;
	smtpd_session_flush(s);
	if (s->want_free) {
		s->want_free = 0;
		smtpd_session_drop(s);
	} else if (s->eof && (s->state == SMTPD_S_CMD ||
	    s->state == SMTPD_S_AUTH || s->state == SMTPD_S_DATA))
		smtpd_session_close(s, NULL);	/* input exhausted */
	else if (s->state == SMTPD_S_CLOSING)
		session_check_flushed(s);
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtpd_session *s = arg;

	if (s->state == SMTPD_S_CLOSING) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	if (s->state == SMTPD_S_SUBMIT || s->paused) {
		/* Not processing now: bound what we buffer. */
		if (evbuffer_get_length(bufferevent_get_input(bev)) >
		    SMTPD_IBUF_WAIT)
			smtpd_io_read(s, 0);
		return;
	}
	session_process(s);
}

static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpd_session *s = arg;

	(void)bev;
	if (s->state == SMTPD_S_CLOSING) {
		session_check_flushed(s);
		return;
	}
	if (s->paused) {
		s->paused = 0;
		smtpd_io_read(s, 1);
		session_process(s);
	}
}

void
smtpd_session_on_read(struct smtpd_session *s)
{
	session_read_cb(s->bev, s);
}

void
smtpd_session_on_event(struct smtpd_session *s, short what)
{
	session_event_cb(s->bev, what, s);
}

/* RFC 3207 §4.2: forget everything learnt before TLS. */
static void
session_tls_ready(struct smtpd_session *s)
{
	s->state = SMTPD_S_CMD;
	s->tls = 1;
	s->esmtp = 0;
	smtpd_session_reset_tx(s);
	s->phase = SMTPD_PH_INIT;
	free(s->helo);
	s->helo = NULL;
	smtpd_session_set_timeout(s, s->srv->p.cmd_timeout);
	session_process(s);
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpd_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == SMTPD_S_TLS)
			session_tls_ready(s);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    (s->state == SMTPD_S_CMD || s->state == SMTPD_S_AUTH ||
	    s->state == SMTPD_S_DATA)) {
		log_debug("smtpd: timeout from %s", s->peer_ip);
		smtpd_session_close(s, "421 4.4.2 Error: timeout exceeded");
		return;
	}
	if ((what & BEV_EVENT_EOF) && s->state == SMTPD_S_SUBMIT) {
		/* Half-close after pipelining (e.g. "." QUIT): still answer
		 * the message and run what is buffered, then close. */
		s->eof = 1;
		smtpd_io_read(s, 0);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("smtpd: connection error from %s", s->peer_ip);
	smtpd_session_drop(s);
}

int
smtpd_session_starttls(struct smtpd_session *s)
{
	struct bufferevent *f;
	SSL *ssl;

	if ((ssl = SSL_new(s->srv->p.ssl_ctx)) == NULL)
		return -1;
	smtpd_session_flush(s);	/* the 220 goes out in the clear */
	/* Discard anything pipelined after STARTTLS (CVE-2011-0411). */
	evbuffer_drain(bufferevent_get_input(s->raw),
	    evbuffer_get_length(bufferevent_get_input(s->raw)));
	smtpd_io_stop(s);	/* the TLS filter reads through s->raw */
	bufferevent_set_timeouts(s->raw, NULL, NULL);
	f = bufferevent_openssl_filter_new(s->srv->base, s->raw, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	bufferevent_enable(s->raw, EV_READ);
	s->bev = f;
	s->state = SMTPD_S_TLS;
	bufferevent_setcb(f, session_read_cb, session_write_cb,
	    session_event_cb, s);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	smtpd_session_set_timeout(s, s->srv->p.cmd_timeout);
	return 0;
}

static void
session_names(struct smtpd_session *s, int fd, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[16];

	if (getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
	    s->peer_ip, sizeof(s->peer_ip), NULL, 0, NI_NUMERICHOST) != 0)
		strcpy(s->peer_ip, "unknown");
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, s->local_ip,
	    sizeof(s->local_ip), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strcpy(s->local_ip, "unknown");
		return;
	}
	s->local_port = (uint16_t)atoi(port);
}

static void
session_policy(struct smtpd_session *s, const struct sockaddr *sa,
    const struct smtpd_lst *lst)
{
	struct smtpd *srv = s->srv;

	memset(&s->pol, 0, sizeof(s->pol));
	s->pol.smtp_service = 1;
	s->pol.allow_starttls = 1;
	s->pol.add_received_header = 1;
	if (srv->cbs.policy)
		srv->cbs.policy(sa, &lst->l, &s->pol, srv->arg);
	if (s->pol.max_rcpt_per_message == 0)
		s->pol.max_rcpt_per_message = 1000;
}

void
smtpd_session_start(struct smtpd *srv, int fd, const struct sockaddr *sa,
    const struct smtpd_lst *lst)
{
	static const char busy[] = "421 4.3.2 Too many connections, try "
	    "again later\r\n";
	struct smtpd_session *s;

	if (srv->nsessions >= srv->p.max_connections) {
		(void)send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->raw = s->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		log_warnx("smtpd: bufferevent_socket_new failed");
		close(fd);
		free(s);
		return;
	}
	srv->nsessions++;
	if ((s->next = srv->sessions) != NULL)
		s->next->prev = s;
	srv->sessions = s;
	s->linger = evtimer_new(srv->base, session_linger_cb, s);
	s->line = xmalloc(srv->p.max_line + 1);
	sbuf_init(&s->data);
	sbuf_init(&s->out);
	sbuf_init(&s->reply);
	session_names(s, fd, sa);
	session_policy(s, sa, lst);
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
	    session_event_cb, s);
	if (smtpd_io_start(s) == 0)
		bufferevent_enable(s->bev, EV_WRITE);
	else
		bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	smtpd_session_set_timeout(s, srv->p.cmd_timeout);
	smtpd_io_read(s, 1);
	if (!s->pol.smtp_service) {
		smtpd_session_close(s, "554 5.7.1 Service unavailable");
		return;
	}
	if (smtpd_ip_conn_open(s) == -1) {
		log_debug("smtpd: %s over its max-smtp-in", s->peer_ip);
		smtpd_session_close(s, "421 4.7.0 Too many connections from "
		    "your address, try again later");
		return;
	}
	smtpd_session_replyf(s, "220 %s ESMTP Sluice", srv->hostname);
	smtpd_session_flush(s);
}

void
smtpd_submit_done(struct smtpd_submit *t, int code, const char *reply)
{
	struct smtpd_session *s = t->s;

	if (s == NULL)
		fatalx("%s: submit answered twice", __func__);
	t->s = NULL;
	if (s->state == SMTPD_S_ZOMBIE) {
		smtpd_session_free(s);
		return;
	}
	if (s->state != SMTPD_S_SUBMIT)
		fatalx("%s: bad state %d", __func__, s->state);
	smtpd_session_replyf(s, "%d %s", code, reply);
	smtpd_session_reset_tx(s);
	sbuf_reset(&s->data);
	s->state = SMTPD_S_CMD;
	smtpd_session_set_timeout(s, s->srv->p.cmd_timeout);
	if (!s->eof)
		smtpd_io_read(s, 1);
	if (!s->in_process)
		session_process(s);
}
