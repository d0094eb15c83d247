/*
 * conf_values.c -- parsers for structured <domain> and <acct-file> values:
 * smtp-hosts routes, the Sluice retry-schedule, bounce-upon-no-mx, and
 * accounting `records` / `record-fields`.
 *
 * Invariants: values are fully validated before the field is written;
 * arrays stored in a block are conf-owned (registered for conf_free()).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"
#include "lib/strutil.h"
#include "lib/xmalloc.h"

#define FIELD(obj, d, type)	((type *)((char *)(obj) + (d)->off))

static int
host_parse(struct conf_parser *p, char *s, struct conf_smtp_host *h)
{
	char *end, *colon = NULL;
	long port = 0;

	if (strncasecmp(s, "lookup-mx:", 10) == 0) {
		h->lookup_mx = 1;
		s += 10;
	} else if (*s == '[') {
		char *rb = strchr(s, ']');

		if (rb == NULL)
			return -1;
		*rb = '\0';
		h->literal = 1;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL)
			return -1;
		s++;
	} else if ((colon = strchr(s, ':')) != NULL)
		*colon = '\0';
	if (colon != NULL) {
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end != '\0' || port < 1 ||
		    port > 65535)
			return -1;
	}
	if (*s == '\0' || strpbrk(s, " \t/") != NULL)
		return -1;
	h->host = conf_strdup(p->c, s);
	h->port = (uint16_t)port;
	return 0;
}

int
conf_h_smtp_hosts(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_domain *dom = obj;
	struct conf_smtp_host *v = NULL;
	char *buf = xstrdup(arg), *lvsave = NULL, *lv;
	size_t n = 0;
	int level = 0;

	for (lv = strtok_r(buf, ";", &lvsave); lv != NULL;
	    lv = strtok_r(NULL, ";", &lvsave), level++) {
		char *hsave = NULL;

		for (char *h = strtok_r(lv, ",", &hsave); h != NULL;
		    h = strtok_r(NULL, ",", &hsave)) {
			v = xreallocarray(v, n + 1, sizeof(*v));
			memset(&v[n], 0, sizeof(v[n]));
			v[n].level = level;
			h = str_trim(h);
			char *orig = xstrdup(h);
			int bad = host_parse(p, h, &v[n]) == -1;

			if (bad)
				conf_perr(p, "%s: bad host \"%s\" (host, "
				    "host:port, [IP]:port, lookup-mx:domain)",
				    d->name, orig);
			free(orig);
			if (bad) {
				free(v);
				free(buf);
				return -1;
			}
			n++;
		}
	}
	free(buf);
	if (n == 0)
		return conf_perr(p, "%s: no hosts", d->name);
	conf_own(p->c, v);
	dom->smtp_hosts = v;
	dom->nsmtp_hosts = n;
	return 0;
}

static int
sched_kv(struct conf_parser *p, struct conf_retry_schedule *r, char *kv)
{
	char *val = strchr(kv, '='), *end;

	if (val == NULL)
		return -1;
	*val++ = '\0';
	if (strcmp(kv, "first") == 0)
		return conf_parse_time(val, &r->first) == -1 || r->first < 1 ?
		    -1 : 0;
	if (strcmp(kv, "max") == 0)
		return conf_parse_time(val, &r->max) == -1 || r->max < 1 ?
		    -1 : 0;
	if (strcmp(kv, "factor") == 0) {
		r->factor = strtod(val, &end);
		return end == val || *end != '\0' || !isfinite(r->factor) ||
		    r->factor < 1.0 || r->factor > 100.0 ? -1 : 0;
	}
	if (strcmp(kv, "jitter") == 0) {
		long j = strtol(val, &end, 10);

		if (end == val || (*end != '\0' && strcmp(end, "%") != 0) ||
		    j < 0 || j > 100)
			return -1;
		r->jitter_pct = (int)j;
		return 0;
	}
	(void)p;
	return -1;
}

int
conf_h_retry_schedule(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_retry_schedule r = { 1, 300, 2.0, 4 * 3600, 10 };
	char *buf, *save = NULL, *tok;
	int rc = 0;

	if (strcasecmp(arg, "off") == 0) {
		memset(FIELD(obj, d, struct conf_retry_schedule), 0, sizeof(r));
		return 0;
	}
	buf = xstrdup(arg);
	tok = strtok_r(buf, " \t", &save);
	if (tok == NULL || strcasecmp(tok, "exponential") != 0)
		rc = conf_perr(p, "%s: expected `exponential [first=T] "
		    "[factor=F] [max=T] [jitter=N%%]` or `off`", d->name);
	while (rc == 0 && (tok = strtok_r(NULL, " \t", &save)) != NULL) {
		char *copy = xstrdup(tok);

		if (sched_kv(p, &r, tok) == -1)
			rc = conf_perr(p, "%s: bad parameter \"%s\"", d->name,
			    copy);
		free(copy);
	}
	if (rc == 0 && r.max < r.first)
		rc = conf_perr(p, "%s: max is smaller than first", d->name);
	free(buf);
	if (rc == 0)
		*FIELD(obj, d, struct conf_retry_schedule) = r;
	return rc;
}

int
conf_h_no_mx(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	int64_t v;
	int b;

	if (strcasecmp(arg, "never") == 0)
		v = CONF_NEVER;
	else if (conf_parse_bool(arg, &b) == 0)
		v = b ? 0 : CONF_NEVER;
	else if (conf_parse_time(arg, &v) == -1)
		return conf_perr(p, "%s: expected true|false|never|TIME, got "
		    "\"%s\"", d->name, arg);
	*FIELD(obj, d, int64_t) = v;
	return 0;
}

/* "d,b,t" or long names into a bit mask; -1 on an unknown type. */
static int
rtypes(const char *s, uint32_t *mask, const char **bad, size_t *badlen)
{
	*mask = 0;
	while (*s != '\0') {
		size_t n;
		int t;

		s += strspn(s, " ,");
		if ((n = strcspn(s, " ,")) == 0)
			break;
		if ((t = acct_rtype_lookup(s, n)) < 0) {
			*bad = s;
			*badlen = n;
			return -1;
		}
		*mask |= 1u << t;
		s += n;
	}
	return *mask ? 0 : -1;
}

int
conf_h_records(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	const char *bad = arg;
	size_t badlen = strlen(arg);
	uint32_t m;

	if (rtypes(arg, &m, &bad, &badlen) == -1)
		return conf_perr(p, "%s: unknown record type \"%.*s\" (d, b, "
		    "t, tq, r, f, rb, rs)", d->name, (int)badlen, bad);
	*FIELD(obj, d, uint32_t) = m;
	return 0;
}

static int
field_valid(const char *f, size_t n)
{
	if (n == 1 && *f == '*')
		return 1;
	if (n > 0 && *f == '!')
		f++, n--;
	if (n > 7 && strncmp(f, "header_", 7) == 0)
		return 1;
	return acct_field_lookup(f, n) >= 0;
}

int
conf_h_record_fields(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct acctw_file *af = obj;
	const char *list, *bad;
	size_t tlen = strcspn(arg, " \t"), badlen;
	char types[64];
	uint32_t m;

	list = arg + tlen;
	list += strspn(list, " \t");
	if (tlen == 0 || tlen >= sizeof(types) || *list == '\0')
		return conf_perr(p, "%s: expected TYPE FIELD[,FIELD...]",
		    d->name);
	memcpy(types, arg, tlen);
	types[tlen] = '\0';
	if (rtypes(types, &m, &bad, &badlen) == -1)
		return conf_perr(p, "%s: unknown record type \"%s\"", d->name,
		    types);
	for (const char *s = list; *s != '\0';) {
		size_t n = strcspn(s, ",");

		if (!field_valid(s, n))
			return conf_perr(p, "%s: unknown field \"%.*s\"",
			    d->name, (int)n, s);
		s += n + (s[n] == ',');
	}
	for (int t = 0; t < ACCT_R__COUNT; t++)
		if (m & (1u << t))
			af->record_fields[t] = conf_strdup(p->c, list);
	return 0;
}
