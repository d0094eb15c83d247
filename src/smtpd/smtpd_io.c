/*
 * smtpd_io.c -- reading a plain (non-TLS) connection without the
 * bufferevent's read side.
 *
 * libevent 2.1's bufferevent reads at most 4096 bytes per loop turn and
 * asks the kernel for the readable byte count (ioctl FIONREAD) before every
 * read: a 5 KB message costs two turns, two reads and two ioctls. Here a
 * persistent read event recv()s up to SMTPD_READ_MAX bytes straight into
 * the bufferevent's input buffer, then runs the session's usual read or
 * event callback; the bufferevent keeps the write side (smtpd_session.c
 * sends replies directly and queues only what the socket does not take).
 *
 * Invariants: s->rd exists only while the connection is plain and open;
 * the read timeout restarts whenever the event fires, like a bufferevent
 * read timeout; nothing touches s after a session callback ran (it may
 * have freed s). STARTTLS hands reading back to the bufferevent (the TLS
 * filter reads through it).
 * Ownership: the read event belongs to the session.
 */
#include <sys/socket.h>

#include <errno.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lib/evrecv.h"
#include "lib/log.h"
#include "smtpd/smtpd_int.h"

#define SMTPD_READ_MAX	16384

static void
io_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_session *s = arg;
	struct evbuffer *in;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		smtpd_session_on_event(s, BEV_EVENT_TIMEOUT |
		    BEV_EVENT_READING);
		return;
	}
	in = bufferevent_get_input(s->raw);
	n = evrecv_into(in, fd, SMTPD_READ_MAX);
	if (n > 0) {
		smtpd_session_on_read(s);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	/* Like a bufferevent: stop reading, then report EOF or the error. */
	smtpd_io_read(s, 0);
	smtpd_session_on_event(s, BEV_EVENT_READING |
	    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
}

/* Take over reading from s->raw (a plain socket bufferevent). */
int
smtpd_io_start(struct smtpd_session *s)
{
	s->rd = event_new(s->srv->base, bufferevent_getfd(s->raw),
	    EV_READ | EV_PERSIST, io_read_cb, s);
	return s->rd == NULL ? -1 : 0;
}

/* Stop and free the read event (connection closed, or STARTTLS). */
void
smtpd_io_stop(struct smtpd_session *s)
{
	if (s->rd == NULL)
		return;
	event_free(s->rd);
	s->rd = NULL;
	s->rd_on = 0;
}

/* Enable or disable reading, with the current read timeout. */
void
smtpd_io_read(struct smtpd_session *s, int on)
{
	struct timeval tv = { s->rd_secs, 0 };

	if (s->rd == NULL) {
		if (s->bev == NULL)
			return;
		if (on)
			bufferevent_enable(s->bev, EV_READ);
		else
			bufferevent_disable(s->bev, EV_READ);
		return;
	}
	if (on) {
		event_add(s->rd, s->rd_secs ? &tv : NULL);
		if (s->rd_secs == 0)	/* event_add(NULL) keeps an old one */
			event_remove_timer(s->rd);
	} else if (s->rd_on)
		event_del(s->rd);
	s->rd_on = on;
}
