/*
 * smtpc.c -- outbound SMTP connection: non-blocking connect with source
 * address binding, greeting, EHLO (HELO fallback on 5xx), opportunistic or
 * required STARTTLS (no certificate verification), RFC 5321 §4.5.3.2
 * timeouts, and the close/abort paths. Transactions are in smtpc_txn.c.
 *
 * Invariants: exactly one closed() per smtpc unless smtpc_abort() came
 * first; no callback after that; the memory is freed on the next loop
 * turn (so the owner may call smtpc_abort() from inside any callback).
 * A 421 reply at any point closes the connection with that reply.
 * Ownership: params strings and addresses are copied at connect time.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpc/smtpc_conn.h"

#define SMTPC_QUIT_TIMEOUT	10

static void smtpc_on_read(struct bufferevent *bev, void *arg);
static void smtpc_on_write(struct bufferevent *bev, void *arg);
static void smtpc_on_event(struct bufferevent *bev, short what, void *arg);

static int
smtpc_timeout(int v, int dflt)
{
	return v > 0 ? v : dflt;
}

void
smtpc_timer_arm(struct smtpc *c, int seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_add(c->timer, &tv);
}

/*
 * Send s. On a plain connection with nothing queued it goes straight to
 * the socket with send(2): no write event is enabled and disabled (two
 * epoll_ctl) per command group or message, no loop turn waits for
 * writability. What the socket does not take (or all of it under TLS, or
 * while connecting) is queued on the bufferevent, which sends it in order
 * and reports errors through smtpc_on_event.
 */
void
smtpc_write(struct smtpc *c, const char *s, size_t len)
{
	struct evbuffer *out;
	ssize_t n;

	if (c->bev == NULL || len == 0)
		return;
	out = bufferevent_get_output(c->bev);
	if (c->ssl == NULL && c->state != SMTPC_S_CONNECTING &&
	    evbuffer_get_length(out) == 0) {
		n = send(bufferevent_getfd(c->bev), s, len, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (n > 0) {
			s += n;
			len -= (size_t)n;
		}
	}
	if (len > 0)
		evbuffer_add(out, s, len);
}

/* Send "VERB[ arg]\r\n", enter state st and wait timeout seconds. */
static void
smtpc_cmd(struct smtpc *c, enum smtpc_state st, int timeout, const char *verb,
    const char *argstr)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s%s%s\r\n", verb,
	    argstr ? " " : "", argstr ? argstr : "");

	if (n < 0 || (size_t)n >= sizeof(line))
		fatalx("%s: command too long", __func__);
	c->state = st;
	smtpc_write(c, line, (size_t)n);
	smtpc_timer_arm(c, timeout);
}

static void
smtpc_on_free(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;

	(void)fd;
	(void)what;
	smtpc_txn_clear(c);
	smtpc_rbuf_fini(&c->rb);
	smtpc_ext_fini(&c->ext);
	sbuf_fini(&c->data_out);
	event_free(c->timer);
	event_free(c->ev_defer);
	event_free(c->ev_free);
	free(c->helo);
	free(c->dst_name);
	free(c->defer_text);
	free(c);
}

/* Stop all I/O and schedule the free. */
static void
smtpc_kill(struct smtpc *c)
{
	c->dead = 1;
	smtpc_io_stop(c, 0);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);	/* also frees the SSL */
		c->bev = NULL;
	}
	evtimer_del(c->timer);
	event_del(c->ev_defer);
	event_active(c->ev_free, 0, 0);
}

void
smtpc_close(struct smtpc *c, const struct smtpc_reply *why)
{
	static const struct smtpc_reply lost = { 0, "", "connection lost" };

	if (c->dead)
		return;
	if (c->state == SMTPC_S_TXN &&
	    smtpc_txn_abort(c, why ? why : &lost) == -1)
		return;
	smtpc_kill(c);
	if (c->cbs.closed)
		c->cbs.closed(c, why, c->arg);
}

void
smtpc_close_text(struct smtpc *c, const char *text)
{
	struct smtpc_reply r = { 0, "", text };

	smtpc_close(c, &r);
}

/* The server refused us (greeting, EHLO/HELO, required STARTTLS): say
 * QUIT politely and close with that reply once the server answers. */
static void
smtpc_refused(struct smtpc *c, const struct smtpc_reply *r)
{
	free(c->defer_text);
	c->defer_text = xstrdup(r->text);
	c->refuse_code = r->code;
	memcpy(c->refuse_enh, r->enh, sizeof(r->enh));
	smtpc_cmd(c, SMTPC_S_REFUSED, SMTPC_QUIT_TIMEOUT, "QUIT", NULL);
}

static void
smtpc_refused_close(struct smtpc *c)
{
	struct smtpc_reply r;

	r.code = c->refuse_code;
	memcpy(r.enh, c->refuse_enh, sizeof(r.enh));
	r.text = c->defer_text ? c->defer_text : "";
	smtpc_close(c, &r);
}

static void
smtpc_ready(struct smtpc *c)
{
	if (c->p.tls == SMTPC_TLS_REQUIRED && !c->tls_on) {
		struct smtpc_reply r = { 0, "", "STARTTLS required but not "
		    "offered by the server" };

		smtpc_refused(c, &r);
		return;
	}
	c->state = SMTPC_S_IDLE;
	evtimer_del(c->timer);
	if (c->cbs.ready)
		c->cbs.ready(c, c->arg);
}

static void
smtpc_ehlo(struct smtpc *c)
{
	smtpc_cmd(c, SMTPC_S_EHLO, smtpc_timeout(c->p.cmd_timeout, 300),
	    "EHLO", c->helo);
}

static void
smtpc_tls_start(struct smtpc *c)
{
	struct bufferevent *tls;
	SSL *ssl = SSL_new(c->p.ssl_ctx);

	if (ssl == NULL) {
		smtpc_close_text(c, "TLS: cannot create SSL object");
		return;
	}
	if (c->dst_name != NULL && *c->dst_name != '\0')
		SSL_set_tlsext_host_name(ssl, c->dst_name);
	/* Bytes after "220" before the handshake would be an injection. */
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	smtpc_io_stop(c, 1);	/* the TLS filter reads through c->bev */
	tls = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		smtpc_close_text(c, "TLS: cannot start handshake");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	c->bev = tls;
	c->ssl = ssl;
	c->state = SMTPC_S_TLS;
	bufferevent_setcb(tls, smtpc_on_read, smtpc_on_write, smtpc_on_event,
	    c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	smtpc_timer_arm(c, smtpc_timeout(c->p.cmd_timeout, 300));
}

static void
smtpc_on_ehlo(struct smtpc *c, const struct smtpc_reply *r)
{
	if (r->code / 100 == 5 && c->state == SMTPC_S_EHLO) {
		c->used_helo = 1;
		smtpc_cmd(c, SMTPC_S_HELO, smtpc_timeout(c->p.cmd_timeout,
		    300), "HELO", c->helo);
		return;
	}
	if (r->code / 100 != 2) {
		smtpc_refused(c, r);
		return;
	}
	if (c->state == SMTPC_S_EHLO)
		smtpc_ext_parse(&c->ext, c->rb.lines.p, c->rb.lines.len);
	if (!c->tls_on && c->p.tls != SMTPC_TLS_NO && c->p.ssl_ctx != NULL &&
	    (c->ext.flags & SMTPC_EXT_STARTTLS)) {
		smtpc_cmd(c, SMTPC_S_STARTTLS, smtpc_timeout(c->p.cmd_timeout,
		    300), "STARTTLS", NULL);
		return;
	}
	smtpc_ready(c);
}

static void
smtpc_on_reply(struct smtpc *c, const struct smtpc_reply *r)
{
	if (r->code == 421 && c->state != SMTPC_S_QUIT &&
	    c->state != SMTPC_S_REFUSED) {
		smtpc_close(c, r);
		return;
	}
	switch (c->state) {
	case SMTPC_S_GREETING:
		if (r->code == 220)
			smtpc_ehlo(c);
		else
			smtpc_refused(c, r);
		break;
	case SMTPC_S_EHLO:
	case SMTPC_S_HELO:
		smtpc_on_ehlo(c, r);
		break;
	case SMTPC_S_STARTTLS:
		if (r->code == 220)
			smtpc_tls_start(c);
		else if (c->p.tls == SMTPC_TLS_REQUIRED)
			smtpc_refused(c, r);
		else
			smtpc_ready(c);
		break;
	case SMTPC_S_TXN:
		smtpc_txn_reply(c, r);
		break;
	case SMTPC_S_QUIT:
		smtpc_close(c, NULL);
		break;
	case SMTPC_S_REFUSED:
		smtpc_refused_close(c);
		break;
	default:
		/* Unsolicited reply while idle or connecting: ignore it. */
		log_debug("smtpc: %s: unexpected reply %s", c->peer_ip,
		    r->text);
		break;
	}
}

static void
smtpc_on_read(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while (!c->dead && c->bev == bev &&
	    (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		int rc = n > SMTPC_LINE_MAX ? -1 :
		    smtpc_rbuf_line(&c->rb, line, n);

		free(line);
		if (rc == -1) {
			smtpc_close_text(c, "protocol error: malformed reply "
			    "from server");
			return;
		}
		if (rc == 1) {
			struct smtpc_reply r;

			r.code = c->rb.code;
			memcpy(r.enh, c->rb.enh, sizeof(r.enh));
			r.text = c->rb.text.p;
			smtpc_on_reply(c, &r);
		}
	}
	if (!c->dead && c->bev == bev && evbuffer_get_length(in) >
	    SMTPC_LINE_MAX)
		smtpc_close_text(c, "protocol error: reply line too long");
}

void
smtpc_handle_read(struct smtpc *c)
{
	smtpc_on_read(c->bev, c);
}

void
smtpc_handle_event(struct smtpc *c, short what)
{
	smtpc_on_event(c->bev, what, c);
}

static void
smtpc_on_write(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;

	(void)bev;
	if (!c->dead && c->state == SMTPC_S_TXN)
		smtpc_txn_on_write(c);
}

static void
smtpc_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (inet_ntop(ss->ss_family, a, buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
}

static void
smtpc_on_connected(struct smtpc *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (c->state == SMTPC_S_TLS) {
		snprintf(c->tls_proto, sizeof(c->tls_proto), "%s",
		    SSL_get_version(c->ssl));
		snprintf(c->tls_cipher, sizeof(c->tls_cipher), "%s",
		    SSL_get_cipher_name(c->ssl));
		c->tls_on = 1;
		smtpc_ehlo(c);
		return;
	}
	if (getsockname(bufferevent_getfd(c->bev), (struct sockaddr *)&ss,
	    &sl) == 0)
		smtpc_addr_str(&ss, c->local_ip, sizeof(c->local_ip));
	c->state = SMTPC_S_GREETING;
	smtpc_timer_arm(c, smtpc_timeout(c->p.greeting_timeout, 300));
	smtpc_io_start(c);
}

/* "Connection refused" -> "connection refused". */
static void
smtpc_errno_text(char *buf, size_t len, const char *prefix, int err)
{
	snprintf(buf, len, "%s%s", prefix, strerror(err));
	if (*prefix == '\0' && buf[0] != '\0')
		buf[0] = (char)tolower((unsigned char)buf[0]);
}

static void
smtpc_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtpc *c = arg;
	char text[256];
	unsigned long e;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (c->dead)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		smtpc_on_connected(c);
		return;
	}
	if (c->state == SMTPC_S_QUIT) {
		smtpc_close(c, NULL);
		return;
	}
	if (c->state == SMTPC_S_REFUSED) {
		smtpc_refused_close(c);
		return;
	}
	e = c->ssl != NULL ? bufferevent_get_openssl_error(c->bev) : 0;
	if (c->state == SMTPC_S_TLS || e != 0) {
		const char *why = e ? ERR_reason_error_string(e) : NULL;

		snprintf(text, sizeof(text), "%s: %s", c->state ==
		    SMTPC_S_TLS ? "TLS handshake failed" : "TLS error",
		    why ? why : (what & BEV_EVENT_EOF) ?
		    "connection closed by peer" : "unknown error");
	} else if ((what & BEV_EVENT_EOF) || err == 0)
		snprintf(text, sizeof(text), "connection closed by peer");
	else
		smtpc_errno_text(text, sizeof(text), "", err);
	smtpc_close_text(c, text);
}

static void
smtpc_on_timer(evutil_socket_t fd, short what, void *arg)
{
	static const char *waits[] = {
		[SMTPC_S_GREETING] = "greeting", [SMTPC_S_EHLO] = "EHLO",
		[SMTPC_S_HELO] = "HELO", [SMTPC_S_STARTTLS] = "STARTTLS",
		[SMTPC_S_TLS] = "TLS handshake",
	};
	struct smtpc *c = arg;
	char text[128];

	(void)fd;
	(void)what;
	if (c->state == SMTPC_S_CONNECTING)
		smtpc_close_text(c, "connection timed out");
	else if (c->state == SMTPC_S_QUIT)
		smtpc_close(c, NULL);
	else if (c->state == SMTPC_S_REFUSED)
		smtpc_refused_close(c);
	else if (c->state == SMTPC_S_TXN)
		smtpc_txn_reply(c, NULL);	/* NULL = timeout */
	else {
		snprintf(text, sizeof(text), "timeout waiting for %s",
		    c->state < sizeof(waits) / sizeof(waits[0]) &&
		    waits[c->state] ? waits[c->state] : "reply");
		smtpc_close_text(c, text);
	}
}

static void
smtpc_on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;

	(void)fd;
	(void)what;
	if (c->defer_text == NULL)
		smtpc_close(c, NULL);
	else
		smtpc_close_text(c, c->defer_text);
}

/* Report a failure from inside smtpc_connect()/smtpc_quit() on the next
 * loop turn, so no callback runs before the caller has the pointer. */
static void
smtpc_defer_close(struct smtpc *c, const char *prefix, int err)
{
	char text[256];

	if (prefix != NULL) {
		smtpc_errno_text(text, sizeof(text), prefix, err);
		free(c->defer_text);
		c->defer_text = xstrdup(text);
	}
	event_active(c->ev_defer, 0, 0);
}

static int
smtpc_socket(struct smtpc *c)
{
	int fd = socket(c->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);

	if (fd == -1) {
		smtpc_defer_close(c, "cannot create socket: ", errno);
		return -1;
	}
	if (c->p.src != NULL && bind(fd, (struct sockaddr *)&c->src,
	    c->p.srclen) == -1) {
		char pfx[96], ip[64];

		smtpc_addr_str(&c->src, ip, sizeof(ip));
		snprintf(pfx, sizeof(pfx), "cannot bind source address %s: ",
		    ip);
		smtpc_defer_close(c, pfx, errno);
		close(fd);
		return -1;
	}
	return fd;
}

static void
smtpc_start(struct smtpc *c)
{
	int fd;

	smtpc_addr_str(&c->dst, c->peer_ip, sizeof(c->peer_ip));
	if ((fd = smtpc_socket(c)) == -1)
		return;
	c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		smtpc_defer_close(c, "cannot create bufferevent: ", ENOMEM);
		return;
	}
	bufferevent_setcb(c->bev, smtpc_on_read, smtpc_on_write,
	    smtpc_on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	smtpc_timer_arm(c, smtpc_timeout(c->p.connect_timeout, 120));
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->dst,
	    (int)c->p.dstlen) == -1) {
		int err = errno;

		bufferevent_free(c->bev);
		c->bev = NULL;
		smtpc_defer_close(c, "", err ? err : ECONNREFUSED);
	}
}

struct smtpc *
smtpc_connect(struct event_base *base, const struct smtpc_params *p,
    const struct smtpc_cbs *cbs, void *arg)
{
	struct smtpc *c;

	if (p->dst == NULL || p->dstlen > sizeof(c->dst) ||
	    (p->src != NULL && p->srclen > sizeof(c->src)))
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->p = *p;
	memcpy(&c->dst, p->dst, p->dstlen);
	if (p->src != NULL)
		memcpy(&c->src, p->src, p->srclen);
	c->helo = xstrdup(p->helo && *p->helo ? p->helo : "localhost");
	c->dst_name = xstrdup(p->dst_name ? p->dst_name : "");
	c->p.helo = c->helo;
	c->p.dst_name = c->dst_name;
	c->p.dst = (struct sockaddr *)&c->dst;
	c->p.src = p->src ? (struct sockaddr *)&c->src : NULL;
	c->cbs = *cbs;
	c->arg = arg;
	c->state = SMTPC_S_CONNECTING;
	smtpc_rbuf_init(&c->rb);
	smtpc_ext_init(&c->ext);
	sbuf_init(&c->data_out);
	c->timer = evtimer_new(base, smtpc_on_timer, c);
	c->ev_free = event_new(base, -1, 0, smtpc_on_free, c);
	c->ev_defer = event_new(base, -1, 0, smtpc_on_defer, c);
	if (c->timer == NULL || c->ev_free == NULL || c->ev_defer == NULL)
		fatalx("smtpc: event_new failed");
	smtpc_start(c);
	return c;
}

void
smtpc_quit(struct smtpc *c)
{
	if (c->dead || c->state == SMTPC_S_QUIT ||
	    c->state == SMTPC_S_REFUSED)
		return;
	if (c->state == SMTPC_S_TXN)
		smtpc_txn_clear(c);	/* owner gave up on it */
	if (c->bev == NULL || c->state == SMTPC_S_CONNECTING) {
		free(c->defer_text);
		c->defer_text = NULL;
		c->state = SMTPC_S_QUIT;
		smtpc_defer_close(c, NULL, 0);
		return;
	}
	smtpc_cmd(c, SMTPC_S_QUIT, SMTPC_QUIT_TIMEOUT, "QUIT", NULL);
}

void
smtpc_abort(struct smtpc *c)
{
	if (c->dead)
		return;
	smtpc_kill(c);
}

const char *
smtpc_esmtp_ext(struct smtpc *c)
{
	return c->ext.names.p ? c->ext.names.p : "";
}

const char *
smtpc_peer_ip(struct smtpc *c)
{
	return c->peer_ip;
}

const char *
smtpc_local_ip(struct smtpc *c)
{
	return c->local_ip;
}

const char *
smtpc_peer_name(struct smtpc *c)
{
	return c->dst_name;
}

const char *
smtpc_tls_protocol(struct smtpc *c)
{
	return c->tls_proto;
}

const char *
smtpc_tls_cipher(struct smtpc *c)
{
	return c->tls_cipher;
}
