/*
 * smtpc_io.c -- reading a plain (non-TLS) connection without the
 * bufferevent's read side.
 *
 * libevent 2.1's bufferevent asks the kernel for the readable byte count
 * (ioctl FIONREAD) before every read and reads at most 4096 bytes per loop
 * turn. Once connected, a persistent read event recv()s up to
 * SMTPC_READ_MAX bytes straight into the bufferevent's input buffer and
 * runs the usual read or event handler; the bufferevent keeps connecting
 * and the write side. Timeouts are smtpc's own timer, as before.
 *
 * Invariants: c->rd exists only while the connection is plain, connected
 * and alive; nothing touches c after a handler ran. STARTTLS hands reading
 * back to the bufferevent (the TLS filter reads through it).
 * Ownership: the read event belongs to the connection.
 */
#include <sys/socket.h>

#include <errno.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/evrecv.h"
#include "lib/log.h"
#include "smtpc/smtpc_conn.h"

#define SMTPC_READ_MAX	16384

static void
smtpc_io_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	ssize_t n;
	int err;

	(void)what;
	n = evrecv_into(in, fd, SMTPC_READ_MAX);
	if (n > 0) {
		smtpc_handle_read(c);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	/* Like a bufferevent: stop reading, then report EOF or the error
	 * (with recv's errno for the handler's text). */
	err = errno;
	event_del(c->rd);
	errno = n == 0 ? 0 : err;
	smtpc_handle_event(c, BEV_EVENT_READING |
	    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
}

/* Connected in the clear: read c->bev's socket ourselves. */
void
smtpc_io_start(struct smtpc *c)
{
	c->rd = event_new(c->base, bufferevent_getfd(c->bev),
	    EV_READ | EV_PERSIST, smtpc_io_read_cb, c);
	if (c->rd == NULL || event_add(c->rd, NULL) == -1) {
		if (c->rd != NULL)
			event_free(c->rd);
		c->rd = NULL;
		return;		/* the bufferevent keeps reading */
	}
	bufferevent_disable(c->bev, EV_READ);
}

/* Give reading back to the bufferevent (STARTTLS) or stop (closing). */
void
smtpc_io_stop(struct smtpc *c, int give_back)
{
	if (c->rd == NULL)
		return;
	event_free(c->rd);
	c->rd = NULL;
	if (give_back && c->bev != NULL)
		bufferevent_enable(c->bev, EV_READ);
}
