/*
 * evrecv.h -- one recv(2) straight into a bufferevent's input buffer.
 *
 * Used by smtpd and smtpc on plain connections, which read the socket
 * themselves (one recv per readiness, no FIONREAD) but keep the
 * bufferevent's input evbuffer as their line buffer. Header-only so that
 * src/lib itself does not depend on libevent; include only from code that
 * links it.
 */
#ifndef SLUICE_EVRECV_H
#define SLUICE_EVRECV_H

#include <sys/socket.h>
#include <sys/types.h>

#include <event2/buffer.h>

#include "lib/log.h"

/*
 * Receive up to max bytes from fd and append them to in. A bufferevent
 * keeps the end of its input buffer frozen except while it reads into it
 * itself; so does this. Returns recv's result (errno set when < 0).
 */
static inline ssize_t
evrecv_into(struct evbuffer *in, int fd, size_t max)
{
	struct evbuffer_iovec v;
	ssize_t n;
	int saved;

	evbuffer_unfreeze(in, 0);
	if (evbuffer_reserve_space(in, (ev_ssize_t)max, &v, 1) < 1)
		fatalx("%s: evbuffer_reserve_space failed", __func__);
	n = recv(fd, v.iov_base, v.iov_len, 0);
	saved = errno;
	v.iov_len = n > 0 ? (size_t)n : 0;
	evbuffer_commit_space(in, &v, 1);
	evbuffer_freeze(in, 0);
	errno = saved;
	return n;
}

#endif
