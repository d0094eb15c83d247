/*
 * conf_set.c -- typed assignment of one directive value, built-in defaults
 * and general -> specific merging, all driven by the directive table.
 *
 * Invariants: a value is written to its field only after it parsed and
 * passed the bounds check; on error the field keeps its old value and
 * conf_perr() has described the problem with FILE:LINE. Defaults are the
 * table's `def` strings parsed by the same code (so docs and behaviour
 * cannot drift). Strings are conf-owned (conf_strdup), never freed here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"

#define FIELD(obj, d, type)	((type *)((char *)(obj) + (d)->off))

static int
set_int(struct conf_parser *p, const struct conf_directive *d, void *obj,
    const char *arg)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0')
		return conf_perr(p, "%s: not a number: \"%s\"", d->name, arg);
	if (v < d->min || v > d->max)
		return conf_perr(p, "%s: %lld out of range %lld..%lld", d->name,
		    v, (long long)d->min, (long long)d->max);
	*FIELD(obj, d, int) = (int)v;
	return 0;
}

static int
set_time(struct conf_parser *p, const struct conf_directive *d, void *obj,
    const char *arg)
{
	int64_t v;

	if ((d->flags & CF_NEVER) && strcasecmp(arg, "never") == 0)
		v = CONF_NEVER;
	else if (conf_parse_time(arg, &v) == -1)
		return conf_perr(p, "%s: bad time interval \"%s\" (e.g. 10m, "
		    "4d12h, 300s%s)", d->name, arg,
		    (d->flags & CF_NEVER) ? ", never" : "");
	else if ((d->min && v < d->min) || (d->max && v > d->max))
		return conf_perr(p, "%s: %s out of range", d->name, arg);
	*FIELD(obj, d, int64_t) = v;
	return 0;
}

static int
set_size(struct conf_parser *p, const struct conf_directive *d, void *obj,
    const char *arg)
{
	uint64_t v;

	if (conf_parse_size(arg, &v) == -1)
		return conf_perr(p, "%s: bad size \"%s\" (e.g. 250M, 512k, 1g)",
		    d->name, arg);
	if ((d->min && v < (uint64_t)d->min) ||
	    (d->max && v > (uint64_t)d->max))
		return conf_perr(p, "%s: %s out of range (minimum %lld bytes)",
		    d->name, arg, (long long)d->min);
	*FIELD(obj, d, uint64_t) = v;
	return 0;
}

static int
set_enum(struct conf_parser *p, const struct conf_directive *d,
    const char *arg, int *out)
{
	for (const struct conf_enum *e = d->enums; e->name != NULL; e++) {
		if (strcasecmp(e->name, arg) == 0) {
			*out = e->value;
			return 0;
		}
	}
	return conf_perr(p, "%s: invalid value \"%s\"", d->name, arg);
}

static int
set_str(struct conf_parser *p, const struct conf_directive *d, void *obj,
    const char *arg)
{
	size_t len = strlen(arg);
	char *v;
	int dummy;

	if (len >= 2 && arg[0] == '"' && arg[len - 1] == '"')
		v = conf_strdup(p->c, arg + 1), v[len - 2] = '\0';
	else
		v = conf_strdup(p->c, arg);
	if (*v == '\0')
		return conf_perr(p, "%s: empty value", d->name);
	if (d->enums != NULL && set_enum(p, d, v, &dummy) == -1)
		return -1;
	if (d->flags & CF_PATH)
		v = conf_resolve_path(p, v);
	*FIELD(obj, d, char *) = v;
	return 0;
}

static int
set_timelist(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_domain *dom = obj;
	int n;

	n = conf_parse_time_list(arg, dom->retry_after, CONF_MAX_RETRY);
	if (n < 1)
		return conf_perr(p, "%s: bad interval list \"%s\" (1 to %d "
		    "intervals like 10m,1h,4h)", d->name, arg, CONF_MAX_RETRY);
	dom->nretry_after = n;
	return 0;
}

int
conf_directive_set(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	if (*arg == '\0' && d->type != CT_FN)
		return conf_perr(p, "%s: missing value", d->name);
	switch (d->type) {
	case CT_BOOL:
		if (conf_parse_bool(arg, FIELD(obj, d, int)) == -1)
			return conf_perr(p, "%s: expected yes|no|true|false, "
			    "got \"%s\"", d->name, arg);
		return 0;
	case CT_INT:
		return set_int(p, d, obj, arg);
	case CT_SIZE:
		return set_size(p, d, obj, arg);
	case CT_TIME:
		return set_time(p, d, obj, arg);
	case CT_RATE:
		if (conf_parse_rate(arg, FIELD(obj, d, struct conf_rate)) == -1)
			return conf_perr(p, "%s: bad rate \"%s\" (N/[M]unit "
			    "with unit d|day|h|hr|m|min|s|sec, 0 or unlimited)",
			    d->name, arg);
		return 0;
	case CT_STR:
		return set_str(p, d, obj, arg);
	case CT_ENUM:
		return set_enum(p, d, arg, FIELD(obj, d, int));
	case CT_TIMELIST:
		return set_timelist(p, d, obj, arg);
	case CT_FN:
		return d->fn(p, d, obj, arg);
	case CT_BLOCK:
		break;
	}
	return conf_perr(p, "%s: is a block, write <%s ...>", d->name, d->name);
}

/*
 * Fill obj with the defaults of every typed directive of `scope`. Uses a
 * throw-away parser: built-in default strings cannot fail (a failure is a
 * bug in the table, hence the abort in conf_defaults_check in tests).
 */
void
conf_defaults_apply(unsigned scope, void *obj)
{
	struct conf dummy;
	struct conf_internal in;
	struct conf_parser p;
	char err[256];

	memset(&dummy, 0, sizeof(dummy));
	memset(&in, 0, sizeof(in));
	memset(&p, 0, sizeof(p));
	dummy.in = &in;
	p.c = &dummy;
	p.err = err;
	p.errlen = sizeof(err);
	p.file = "(defaults)";
	for (size_t i = 0; i < conf_ndirectives; i++) {
		const struct conf_directive *d = &conf_directives[i];

		if (!(d->scopes & scope) || d->def == NULL || d->alias)
			continue;
		if (d->type == CT_BLOCK || d->type == CT_STR)
			continue;	/* string defaults set below */
		(void)conf_directive_set(&p, d, obj, d->def);
	}
	free(in.strings);
	if (scope & CS_DOMAIN)
		((struct conf_domain *)obj)->dkim_algorithm = "rsa-sha256";
}

/* Copy into dst every field whose directive bit is set in `set`. */
void
conf_merge(void *dst, const void *src, const uint64_t *set, unsigned scope)
{
	for (size_t i = 0; i < conf_ndirectives; i++) {
		const struct conf_directive *d = &conf_directives[i];

		if (!(set[i / 64] & (1ULL << (i % 64))))
			continue;
		if (!(d->scopes & scope) || d->size == 0)
			continue;
		memcpy((char *)dst + d->off, (const char *)src + d->off,
		    d->size);
	}
}
