/*
 * conf_units.c -- PowerMTA value syntaxes: TIME-INTERVAL, sizes, rates,
 * booleans, interval lists; and their formatting for docs and logs.
 *
 * Invariants: parsers never accept trailing garbage, negative numbers or
 * values that overflow int64; they return 0 on success, -1 otherwise and
 * leave *out untouched on failure.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"

/* Parse an unsigned decimal prefix; returns chars consumed, 0 if none. */
static size_t
units_num(const char *s, int64_t *out)
{
	size_t i = 0;
	int64_t v = 0;

	while (isdigit((unsigned char)s[i])) {
		int d = s[i] - '0';

		if (v > (INT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		i++;
	}
	*out = v;
	return i;
}

static int
units_mul(int64_t v, int64_t m, int64_t *acc)
{
	if (v != 0 && m > INT64_MAX / v)
		return -1;
	if (*acc > INT64_MAX - v * m)
		return -1;
	*acc += v * m;
	return 0;
}

static int64_t
units_time_unit(char u)
{
	switch (tolower((unsigned char)u)) {
	case 'w': return 7 * 86400;
	case 'd': return 86400;
	case 'h': return 3600;
	case 'm': return 60;
	case 's': return 1;
	default: return 0;
	}
}

int
conf_parse_time(const char *s, int64_t *out)
{
	int64_t acc = 0, v, m;
	size_t n;

	if (s == NULL || *s == '\0')
		return -1;
	n = units_num(s, &v);
	if (n > 0 && s[n] == '\0') {	/* bare number = seconds */
		*out = v;
		return 0;
	}
	while (*s != '\0') {
		if ((n = units_num(s, &v)) == 0)
			return -1;
		s += n;
		if ((m = units_time_unit(*s)) == 0)
			return -1;
		s++;
		if (units_mul(v, m, &acc) == -1)
			return -1;
	}
	*out = acc;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	int64_t v, m = 1, acc = 0;
	size_t n;

	if (s == NULL || (n = units_num(s, &v)) == 0)
		return -1;
	switch (tolower((unsigned char)s[n])) {
	case '\0': break;
	case 'b': m = 1; break;
	case 'k': m = 1024; break;
	case 'm': m = 1024 * 1024; break;
	case 'g': m = 1024LL * 1024 * 1024; break;
	case 't': m = 1024LL * 1024 * 1024 * 1024; break;
	default: return -1;
	}
	if (s[n] != '\0' && s[n + 1] != '\0')
		return -1;
	if (units_mul(v, m, &acc) == -1)
		return -1;
	*out = (uint64_t)acc;
	return 0;
}

static int64_t
units_rate_unit(const char *u)
{
	static const struct { const char *n; int64_t s; } tab[] = {
		{ "d", 86400 }, { "day", 86400 }, { "h", 3600 },
		{ "hr", 3600 }, { "m", 60 }, { "min", 60 }, { "s", 1 },
		{ "sec", 1 },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(u, tab[i].n) == 0)
			return tab[i].s;
	return 0;
}

int
conf_parse_rate(const char *s, struct conf_rate *out)
{
	int64_t n, mult = 1, unit;
	size_t k;

	if (s == NULL)
		return -1;
	if (strcasecmp(s, "unlimited") == 0) {
		out->n = 0;
		out->per = 0;
		return 0;
	}
	if ((k = units_num(s, &n)) == 0)
		return -1;
	if (s[k] == '\0' && n == 0) {	/* "0": nothing allowed */
		out->n = 0;
		out->per = 1;
		return 0;
	}
	if (s[k] != '/')
		return -1;
	s += k + 1;
	if ((k = units_num(s, &mult)) > 0 && mult == 0)
		return -1;
	if (k == 0)
		mult = 1;
	if ((unit = units_rate_unit(s + k)) == 0)
		return -1;
	if (mult > INT64_MAX / unit)
		return -1;
	out->n = n;
	out->per = mult * unit;
	return 0;
}

int
conf_rate_unlimited(const struct conf_rate *r)
{
	return r->per == 0;
}

int
conf_parse_bool(const char *s, int *out)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0)
		*out = 1;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

int
conf_parse_time_list(const char *s, int64_t *out, int max)
{
	int64_t tmp[CONF_MAX_RETRY];
	char buf[64];
	int n = 0;

	if (s == NULL || max > CONF_MAX_RETRY)
		return -1;
	for (;;) {
		size_t len = strcspn(s, ",");
		size_t b = 0, e = len;

		while (b < e && isspace((unsigned char)s[b]))
			b++;
		while (e > b && isspace((unsigned char)s[e - 1]))
			e--;
		if (e == b || e - b >= sizeof(buf) || n >= max)
			return -1;
		memcpy(buf, s + b, e - b);
		buf[e - b] = '\0';
		if (conf_parse_time(buf, &tmp[n]) == -1)
			return -1;
		n++;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	memcpy(out, tmp, (size_t)n * sizeof(*out));
	return n;
}

void
conf_format_time(char *buf, size_t len, int64_t secs)
{
	static const struct { char u; int64_t s; } tab[] = {
		{ 'w', 7 * 86400 }, { 'd', 86400 }, { 'h', 3600 },
		{ 'm', 60 }, { 's', 1 },
	};
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (secs < 0) {
		snprintf(buf, len, "never");
		return;
	}
	if (secs == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < 5 && off < len; i++) {
		if (secs >= tab[i].s) {
			int w = snprintf(buf + off, len - off, "%lld%c",
			    (long long)(secs / tab[i].s), tab[i].u);
			if (w < 0)
				return;
			off += (size_t)w;
			secs %= tab[i].s;
		}
	}
}

void
conf_format_rate(char *buf, size_t len, const struct conf_rate *r)
{
	char t[48];

	if (conf_rate_unlimited(r)) {
		snprintf(buf, len, "unlimited");
		return;
	}
	if (r->n == 0) {
		snprintf(buf, len, "0");
		return;
	}
	conf_format_time(t, sizeof(t), r->per);
	if (strcmp(t, "1s") == 0 || strcmp(t, "1m") == 0 ||
	    strcmp(t, "1h") == 0 || strcmp(t, "1d") == 0)
		snprintf(buf, len, "%lld/%s", (long long)r->n, t + 1);
	else if (strchr(t + 1, 'w') == NULL && strlen(t) >= 2 &&
	    strspn(t, "0123456789") == strlen(t) - 1)
		snprintf(buf, len, "%lld/%s", (long long)r->n, t);
	else
		snprintf(buf, len, "%lld/%llds", (long long)r->n,
		    (long long)r->per);
}
