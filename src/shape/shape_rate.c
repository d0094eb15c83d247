/*
 * shape_rate.c -- smooth rate pacing (GCRA) for max-msg-rate,
 * max-connect-rate and max-smtp-msg-rate.
 *
 * State is one theoretical arrival time (tat) kept as whole microseconds
 * plus a remainder in 1/n microseconds, so "N per M" is exact in the long
 * run. An event at `now` conforms iff tat - now <= tau; taking it moves
 * tat to max(tat, now) + per/n. Invariant: 0 <= tat_rem < rate.n for paced
 * rates. No clock, no allocation.
 */
#include <stdint.h>
#include <string.h>

#include "shape/shape.h"

#define BURST_PCT	100		/* tau: n / BURST_PCT intervals... */
#define BURST_MAX_US	SHAPE_USEC	/* ...but at most one second */

static void
rate_params(struct shape_rate *r, const struct conf_rate *cr)
{
	int64_t per, total, extra;

	r->rate = *cr;
	r->T = r->Trem = r->tau = 0;
	if (conf_rate_unlimited(cr)) {
		r->kind = SHAPE_RATE_UNLIMITED;
		return;
	}
	if (cr->n <= 0) {
		r->kind = SHAPE_RATE_NONE;
		return;
	}
	r->kind = SHAPE_RATE_PACED;
	per = cr->per > INT64_MAX / SHAPE_USEC ? INT64_MAX / SHAPE_USEC :
	    cr->per;
	total = per * SHAPE_USEC;
	r->T = total / cr->n;
	r->Trem = total % cr->n;
	extra = cr->n / BURST_PCT;
	if (r->T == 0)
		r->tau = extra > 0 ? 1 : 0;
	else if (extra > BURST_MAX_US / r->T)
		r->tau = BURST_MAX_US;
	else
		r->tau = extra * r->T;
	if (r->tau < r->tau_min)
		r->tau = r->tau_min;
}

void
shape_rate_init(struct shape_rate *r, const struct conf_rate *cr)
{
	memset(r, 0, sizeof(*r));
	rate_params(r, cr);
	r->tat = INT64_MIN;
}

void
shape_rate_set_granularity(struct shape_rate *r, int64_t us)
{
	r->tau_min = us > 0 ? us : 0;
	if (r->kind == SHAPE_RATE_PACED && r->tau < r->tau_min)
		r->tau = r->tau_min;
}

void
shape_rate_set(struct shape_rate *r, const struct conf_rate *cr,
    int64_t now)
{
	rate_params(r, cr);
	r->tat_rem = 0;
	if (r->kind == SHAPE_RATE_PACED && r->tat != INT64_MIN &&
	    r->tat > now && r->tat - now > r->T) {
		r->tat = now + r->T;
	}
}

/* 1 if one event conforms at now given arrival time (tat, rem). */
static int
conforms(const struct shape_rate *r, int64_t tat, int64_t rem, int64_t now)
{
	if (tat <= now)
		return 1;
	if (tat - now < r->tau)
		return 1;
	return tat - now == r->tau && rem == 0;
}

/* Advance (tat, rem) by one event at now. */
static void
advance(const struct shape_rate *r, int64_t *tat, int64_t *rem, int64_t now)
{
	if (*tat < now) {
		*tat = now;
		*rem = 0;
	}
	*tat += r->T;
	*rem += r->Trem;
	if (*rem >= r->rate.n) {
		*rem -= r->rate.n;
		(*tat)++;
	}
}

int64_t
shape_rate_next(const struct shape_rate *r, int64_t now)
{
	int64_t t;

	if (r->kind == SHAPE_RATE_UNLIMITED)
		return now;
	if (r->kind == SHAPE_RATE_NONE)
		return SHAPE_NEVER;
	if (conforms(r, r->tat, r->tat_rem, now))
		return now;
	t = r->tat - r->tau;		/* > now here */
	return r->tat_rem > 0 ? t + 1 : t;
}

int64_t
shape_rate_avail(const struct shape_rate *r, int64_t now, int64_t max)
{
	int64_t tat = r->tat, rem = r->tat_rem, k = 0;

	if (max <= 0 || r->kind == SHAPE_RATE_NONE)
		return 0;
	if (r->kind == SHAPE_RATE_UNLIMITED)
		return max;
	while (k < max && conforms(r, tat, rem, now)) {
		advance(r, &tat, &rem, now);
		k++;
	}
	return k;
}

int64_t
shape_rate_take_n(struct shape_rate *r, int64_t now, int64_t n)
{
	int64_t k = 0;

	if (n <= 0 || r->kind == SHAPE_RATE_NONE)
		return 0;
	if (r->kind == SHAPE_RATE_UNLIMITED)
		return n;
	while (k < n && conforms(r, r->tat, r->tat_rem, now)) {
		advance(r, &r->tat, &r->tat_rem, now);
		k++;
	}
	return k;
}

int
shape_rate_take(struct shape_rate *r, int64_t now)
{
	return shape_rate_take_n(r, now, 1) == 1;
}

void
shape_rate_charge(struct shape_rate *r, int64_t now, int64_t n)
{
	if (r->kind != SHAPE_RATE_PACED)
		return;
	for (int64_t k = 0; k < n; k++)
		advance(r, &r->tat, &r->tat_rem, now);
}
