/*
 * shape_retry.c -- retry delays: PowerMTA's retry-after list (last value
 * repeats), backoff-retry-after in backoff mode, and Sluice's exponential
 * retry-schedule with deterministic jitter.
 *
 * Pure functions of their arguments plus the caller's rng state (splitmix64),
 * so a test (or a replay) given the same state gets the same delays.
 */
#include <stdint.h>

#include "shape/shape.h"

#define DEFAULT_RETRY	600	/* retry-after default, 10m */

uint64_t
shape_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int64_t
retry_list(const struct conf_domain *dom, int attempts)
{
	int i;

	if (dom->nretry_after <= 0)
		return DEFAULT_RETRY;
	i = attempts - 1;
	if (i >= dom->nretry_after)
		i = dom->nretry_after - 1;
	return dom->retry_after[i] > 0 ? dom->retry_after[i] : 1;
}

static int64_t
retry_exponential(const struct conf_retry_schedule *rs, int attempts,
    uint64_t *rng)
{
	int64_t max = rs->max > 0 ? rs->max : 1, d, span, off;
	double v = rs->first > 0 ? (double)rs->first : 1.0;

	for (int i = 1; i < attempts && v < (double)max; i++)
		v *= rs->factor > 1.0 ? rs->factor : 1.0;
	d = v >= (double)max ? max : (int64_t)v;
	if (rng != NULL && rs->jitter_pct > 0) {
		span = d * rs->jitter_pct / 100;
		if (span > 0) {
			off = (int64_t)(shape_rng_next(rng) %
			    (uint64_t)(2 * span + 1)) - span;
			d += off;
		}
	}
	if (d > max)
		d = max;
	return d < 1 ? 1 : d;
}

int64_t
shape_retry_delay(const struct conf_domain *dom, int attempts,
    int in_backoff, uint64_t *rng_state)
{
	if (attempts < 1)
		attempts = 1;
	if (in_backoff && dom->backoff_retry_after > 0)
		return dom->backoff_retry_after;
	if (dom->retry_schedule.enabled)
		return retry_exponential(&dom->retry_schedule, attempts,
		    rng_state);
	return retry_list(dom, attempts);
}
