/*
 * sched_policy.c -- pure scheduling rules: queue names, retry schedule,
 * expiry, reply-code outcomes, PowerMTA time-interval parsing.
 *
 * No state, no I/O: every function here is a function of its arguments so
 * the unit tests can pin PowerMTA's semantics (retry-after's last value
 * repeats; bounce-after counts from the time the message was queued).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched.h"

void
sched_queue_params_default(struct sched_queue_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_smtp_out = 20;
	p->max_msg_per_connection = 0;
	p->max_errors_per_connection = 0;
	p->max_rcpt_per_message = 1000;
	p->nretry = 1;
	p->retry_after[0] = 600;
	p->bounce_after = 4 * 86400 + 12 * 3600;
	p->port = 25;
	p->use_starttls = 1;
}

int
sched_queue_name_format(char *buf, size_t len, const char *domain,
    const char *vmta)
{
	size_t dl = strlen(domain);
	int n;

	if (vmta == NULL || *vmta == '\0')
		vmta = SCHED_DEFAULT_VMTA;
	n = snprintf(buf, len, "%s/%s", domain, vmta);
	if (n < 0 || (size_t)n >= len)
		return -1;
	for (size_t i = 0; i < dl; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	return 0;
}

const char *
sched_addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL || at[1] == '\0' || at == addr)
		return NULL;
	return at + 1;
}

int64_t
sched_retry_delay(const struct sched_queue_params *p, uint32_t attempts)
{
	size_t i;

	if (p->nretry == 0)
		return 600;
	i = attempts == 0 ? 0 : attempts - 1;
	if (i >= p->nretry)
		i = p->nretry - 1;
	return p->retry_after[i];
}

int64_t
sched_expiry(const struct sched_queue_params *p, int64_t time_queued)
{
	return time_queued + p->bounce_after;
}

enum sched_outcome
sched_outcome_for_code(int code)
{
	if (code >= 200 && code < 300)
		return SCHED_DELIVERED;
	if (code >= 500 && code < 600)
		return SCHED_BOUNCED;
	return SCHED_DEFERRED;
}

const char *
sched_outcome_name(enum sched_outcome k)
{
	switch (k) {
	case SCHED_DELIVERED:
		return "delivered";
	case SCHED_BOUNCED:
		return "bounced";
	case SCHED_DEFERRED:
		return "deferred";
	case SCHED_EXPIRED:
		return "expired";
	}
	return "?";
}

static int64_t
interval_unit(char c)
{
	switch (c) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 7 * 86400;
	}
	return -1;
}

int
sched_interval_parse(const char *s, int64_t *out)
{
	int64_t total = 0;
	int any = 0;

	while (isspace((unsigned char)*s))
		s++;
	while (*s && !isspace((unsigned char)*s)) {
		char *end;
		long long v;
		int64_t unit = 1;

		if (!isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || v < 0 || v > 100LL * 365 * 86400)
			return -1;
		if (*end && !isspace((unsigned char)*end)) {
			if ((unit = interval_unit((char)tolower(
			    (unsigned char)*end))) < 0)
				return -1;
			end++;
		}
		total += v * unit;
		any = 1;
		s = end;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (!any || *s)
		return -1;
	*out = total;
	return 0;
}

int
sched_retry_parse(struct sched_queue_params *p, const char *list)
{
	int64_t v[SCHED_MAX_RETRY];
	size_t n = 0;
	const char *s = list;

	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char item[64];

		if (n == SCHED_MAX_RETRY || len >= sizeof(item))
			return -1;
		memcpy(item, s, len);
		item[len] = '\0';
		if (sched_interval_parse(item, &v[n]) == -1 || v[n] <= 0)
			return -1;
		n++;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	memcpy(p->retry_after, v, n * sizeof(v[0]));
	p->nretry = n;
	return 0;
}
