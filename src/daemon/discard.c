/*
 * discard.c -- `type discard` domains (PowerMTA's blackhole delivery): a
 * connection of such a queue does no DNS and no SMTP; it takes the
 * transactions the scheduler hands out and reports every recipient
 * delivered (2.0.0), so they are journaled done and get a `d` record with
 * dlvType `discard` and an empty dsnDiag, dsnMta, dlvSourceIp and
 * dlvDestinationIp (outcome.c). Shaping still applies: the connection
 * counts against max-smtp-out/total-max-smtp-out and takes pacer tokens;
 * when the pacer says "not yet" it ends and the queue's pace timer opens
 * the next one.
 *
 * A discard connection has c->owner == NULL (it is no delivery.c
 * connection). It works in slices of DISCARD_SLICE transactions per loop
 * turn so a large queue does not stall the loop. Ownership: a struct
 * discard_conn lives from discard_open() until its scheduler connection
 * is closed; discard_abort_all() frees the rest at shutdown (no batch is
 * ever outstanding between slices).
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/wallclock.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "shape/shape.h"
#include "daemon/server.h"

#define DISCARD_SLICE	64	/* transactions per loop turn */

struct discard_conn {
	struct server		*sv;
	struct sched_conn	*sc;
	struct event		*ev;
	struct discard_conn	*next, *prev;
};

static int64_t
discard_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * SHAPE_USEC + ts.tv_nsec / 1000;
}

static void
discard_free(struct discard_conn *d)
{
	struct server *sv = d->sv;

	if (d->prev)
		d->prev->next = d->next;
	else
		sv->discards = d->next;
	if (d->next)
		d->next->prev = d->prev;
	event_free(d->ev);
	free(d);
}

/* Every recipient of the batch "delivered" by discarding it. */
static void
discard_batch(struct sched_conn *sc, const struct sched_batch *b)
{
	struct sched_result *res = xcalloc(b->n, sizeof(*res));

	for (size_t i = 0; i < b->n; i++)
		res[i] = (struct sched_result){ .code = 250,
		    .status = "2.0.0" };
	sched_conn_batch_done(sc, res, wall_now());
	free(res);
}

static void
discard_run(evutil_socket_t fd, short what, void *arg)
{
	struct discard_conn *d = arg;
	struct sched_conn *sc = d->sc;
	struct timeval zero = { 0, 0 };

	(void)fd;
	(void)what;
	for (int i = 0; i < DISCARD_SLICE; i++) {
		const struct sched_batch *b;

		if (d->sv->stopping ||
		    (b = sched_conn_next_us(sc, discard_now_us())) == NULL) {
			discard_free(d);
			sched_conn_closed(sc, wall_now());
			return;
		}
		discard_batch(sc, b);
	}
	evtimer_add(d->ev, &zero);
}

int
discard_queue(const struct sched_queue *q)
{
	const struct conf_domain *dom = sched_queue_params(q)->dom;

	return dom != NULL && dom->type == CONF_TYPE_DISCARD;
}

void
discard_open(struct server *sv, struct sched_conn *c)
{
	struct discard_conn *d = xcalloc(1, sizeof(*d));
	struct timeval zero = { 0, 0 };

	d->sv = sv;
	d->sc = c;
	c->owner = NULL;
	d->next = sv->discards;
	if (sv->discards)
		sv->discards->prev = d;
	sv->discards = d;
	/* never call back into the scheduler from inside its hook */
	d->ev = evtimer_new(sv->base, discard_run, d);
	evtimer_add(d->ev, &zero);
}

void
discard_abort_all(struct server *sv)
{
	while (sv->discards)
		discard_free(sv->discards);
}
