/*
 * acct_schema.c -- field and record-type tables for the accounting schema.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto/acct_schema.h"

static const char *const acct_field_names[] = {
#define ACCT_NAME(id, name) name,
	ACCT_FIELDS(ACCT_NAME)
#undef ACCT_NAME
};

const enum acct_field acct_default_fields[] = {
	ACCT_F_TYPE, ACCT_F_TIME_LOGGED, ACCT_F_TIME_QUEUED, ACCT_F_ORIG,
	ACCT_F_RCPT, ACCT_F_ORCPT, ACCT_F_DSN_ACTION, ACCT_F_DSN_STATUS,
	ACCT_F_DSN_DIAG, ACCT_F_DSN_MTA, ACCT_F_BOUNCE_CAT, ACCT_F_SRC_TYPE,
	ACCT_F_SRC_MTA, ACCT_F_DLV_TYPE, ACCT_F_DLV_SOURCE_IP,
	ACCT_F_DLV_DESTINATION_IP, ACCT_F_DLV_ESMTP_AVAILABLE, ACCT_F_DLV_SIZE,
	ACCT_F_VMTA, ACCT_F_JOB_ID, ACCT_F_ENV_ID, ACCT_F_QUEUE,
	ACCT_F_VMTA_POOL,
};
const size_t acct_default_nfields =
    sizeof(acct_default_fields) / sizeof(acct_default_fields[0]);

const enum acct_field acct_legacy_fields[] = {
	ACCT_F_TYPE, ACCT_F_TIME_LOGGED, ACCT_F_TIME_QUEUED,
	ACCT_F_TIME_IMPRINTED, ACCT_F_ORIG, ACCT_F_RCPT, ACCT_F_ORCPT,
	ACCT_F_DSN_ACTION, ACCT_F_DSN_STATUS, ACCT_F_DSN_DIAG, ACCT_F_DSN_MTA,
	ACCT_F_BOUNCE_CAT, ACCT_F_SRC_TYPE, ACCT_F_SRC_MTA, ACCT_F_DLV_TYPE,
	ACCT_F_DLV_SOURCE_IP, ACCT_F_DLV_DESTINATION_IP,
	ACCT_F_DLV_ESMTP_AVAILABLE, ACCT_F_DLV_SIZE, ACCT_F_VMTA,
	ACCT_F_JOB_ID, ACCT_F_ENV_ID,
};
const size_t acct_legacy_nfields =
    sizeof(acct_legacy_fields) / sizeof(acct_legacy_fields[0]);

static const struct {
	const char *code;
	const char *name;
} acct_rtypes[ACCT_R__COUNT] = {
	[ACCT_R_D] = { "d", "delivery" },
	[ACCT_R_B] = { "b", "bounce" },
	[ACCT_R_T] = { "t", "transient" },
	[ACCT_R_TQ] = { "tq", "transient-queue" },
	[ACCT_R_R] = { "r", "receipt" },
	[ACCT_R_F] = { "f", "feedback-loop" },
	[ACCT_R_RB] = { "rb", "remote-bounce" },
	[ACCT_R_RS] = { "rs", "remote-status" },
};

const char *
acct_field_name(enum acct_field f)
{
	if ((int)f < 0 || f >= ACCT_F__COUNT)
		return "";
	return acct_field_names[f];
}

int
acct_field_lookup(const char *name, size_t len)
{
	for (int i = 0; i < ACCT_F__COUNT; i++) {
		if (strlen(acct_field_names[i]) == len &&
		    strncasecmp(acct_field_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

const char *
acct_rtype_code(enum acct_rtype t)
{
	if ((int)t < 0 || t >= ACCT_R__COUNT)
		return "";
	return acct_rtypes[t].code;
}

const char *
acct_rtype_long(enum acct_rtype t)
{
	if ((int)t < 0 || t >= ACCT_R__COUNT)
		return "";
	return acct_rtypes[t].name;
}

int
acct_rtype_lookup(const char *s, size_t len)
{
	for (int i = 0; i < ACCT_R__COUNT; i++) {
		if ((strlen(acct_rtypes[i].code) == len &&
		    strncasecmp(acct_rtypes[i].code, s, len) == 0) ||
		    (strlen(acct_rtypes[i].name) == len &&
		    strncasecmp(acct_rtypes[i].name, s, len) == 0))
			return i;
	}
	return -1;
}

size_t
acct_format_time(char *buf, size_t len, int64_t t, int iso)
{
	struct tm tm;
	time_t tt = (time_t)t;
	long off;
	int n;

	if (!iso) {
		n = snprintf(buf, len, "%lld", (long long)t);
		return (n < 0 || (size_t)n >= len) ? 0 : (size_t)n;
	}
	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	off = tm.tm_gmtoff / 60;
	n = snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d%c%02ld%02ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
	return (n < 0 || (size_t)n >= len) ? 0 : (size_t)n;
}

/* Parse exactly n digits at s; -1 if any is not a digit. */
static int
acct_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
acct_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
acct_parse_offset(const char *s, size_t len, long *off)
{
	int hh, mm, sign;

	if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*off = 0;
		return 0;
	}
	if (len < 3 || (s[0] != '+' && s[0] != '-'))
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	if ((hh = acct_digits(s + 1, 2)) < 0)
		return -1;
	if (len == 3)
		mm = 0;
	else if (len == 5)
		mm = acct_digits(s + 3, 2);
	else if (len == 6 && s[3] == ':')
		mm = acct_digits(s + 4, 2);
	else
		return -1;
	if (mm < 0 || hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

int
acct_parse_time(const char *s, size_t len, int64_t *out)
{
	int y, mo, d, h, mi, se;
	long off = 0;
	size_t i;

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return -1;
	if (len >= 19 && s[4] == '-' && s[7] == '-' &&
	    (s[10] == ' ' || s[10] == 'T') && s[13] == ':' && s[16] == ':') {
		y = acct_digits(s, 4);
		mo = acct_digits(s + 5, 2);
		d = acct_digits(s + 8, 2);
		h = acct_digits(s + 11, 2);
		mi = acct_digits(s + 14, 2);
		se = acct_digits(s + 17, 2);
		if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
		    h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
			return -1;
		i = 19;
		if (i < len && s[i] == '.') {	/* fractional seconds */
			i++;
			while (i < len && isdigit((unsigned char)s[i]))
				i++;
		}
		if (i < len && s[i] == ' ')
			i++;
		if (i < len && acct_parse_offset(s + i, len - i, &off) != 0)
			return -1;
		*out = acct_days_from_civil(y, (unsigned)mo, (unsigned)d) *
		    86400 + h * 3600 + mi * 60 + se - off;
		return 0;
	}
	/* Epoch seconds. */
	int64_t v = 0;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || i > 15)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}
