/*
 * wallclock.h -- the one wall clock for event times in sluiced.
 *
 * Owned by lib. Every timestamp that ends up in the spool or an accounting
 * record (timeQueued, timeLogged, retry times) is read with wall_now(), so
 * that two times taken in order are never out of order. time(2) is not
 * used for them: on Linux it reads the coarse clock, which lags
 * gettimeofday()/CLOCK_REALTIME by up to one tick, so a message received
 * at x.999 s (precise clock, second x+1) and delivered 1 ms later (coarse
 * clock, still second x) was logged a second before it was queued.
 */
#ifndef SLUICE_WALLCLOCK_H
#define SLUICE_WALLCLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since the epoch from CLOCK_REALTIME (not the coarse clock). */
static inline int64_t
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

#endif
