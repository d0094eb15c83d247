/*
 * route.c -- which vmta or pool each recipient of an injected message goes
 * through (issue #4), in PowerMTA's order (docs/architecture.md "Routing a
 * message to a vmta"):
 *   1. the X-Virtual-MTA header, when the <source> processes it: the whole
 *      message;
 *   2. the source's <pattern-list>, first matching rule that names a
 *      virtual-mta: `mail-from` and `header` rules route the whole message,
 *      a `rcpt-to` rule only the recipients it matches;
 *   3. default-virtual-mta of the <source> (chosen by listener or client).
 * Ownership: every returned name is borrowed from the config or the
 * message and lives as long as they do. Loop thread only.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"
#include "daemon/server.h"

/* Value of header `name` (unfolded, outer blanks trimmed) from the
 * message head into buf. 1 if found. */
static int
route_header(const char *data, size_t len, const char *name, char *buf,
    size_t blen)
{
	size_t nlen = strlen(name), i = 0, o = 0;

	while (i < len && data[i] != '\r' && data[i] != '\n') {
		size_t eol = i;
		int hit;

		while (eol < len && data[eol] != '\n')
			eol++;
		hit = eol - i > nlen && data[i + nlen] == ':' &&
		    strncasecmp(data + i, name, nlen) == 0;
		if (hit) {
			for (size_t k = i + nlen + 1; ; k++) {
				if (k >= len || (data[k] == '\n' && (k + 1 >= len ||
				    (data[k + 1] != ' ' && data[k + 1] != '\t'))))
					break;
				if (data[k] == '\r' || data[k] == '\n')
					continue;
				if (o + 1 < blen && (o > 0 || (data[k] != ' ' &&
				    data[k] != '\t')))
					buf[o++] = data[k];
			}
			while (o > 0 && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
				o--;
			buf[o] = '\0';
			return 1;
		}
		i = eol + 1;
	}
	return 0;
}

/* Index of the first message-level rule (mail-from, header) that matches
 * and names a virtual-mta, or pl->nrules. */
static size_t
route_msg_rule(const struct conf_pattern_list *pl, const struct smtpd_msg *m)
{
	char val[1024];

	for (size_t i = 0; i < pl->nrules; i++) {
		const struct conf_pattern_rule *r = &pl->rules[i];

		if (r->virtual_mta == NULL || r->kind == CONF_PAT_RCPT_TO)
			continue;
		if (r->kind == CONF_PAT_MAIL_FROM ?
		    conf_pattern_rule_match(r, m->mail_from) :
		    route_header(m->data, m->datalen, r->header, val,
		    sizeof(val)) && conf_pattern_rule_match(r, val))
			return i;
	}
	return pl->nrules;
}

/* The vmta of the first rule before `limit` that is a rcpt-to rule
 * matching addr, else NULL. */
static const char *
route_rcpt_rule(const struct conf_pattern_list *pl, size_t limit,
    const char *addr)
{
	for (size_t i = 0; i < limit; i++) {
		const struct conf_pattern_rule *r = &pl->rules[i];

		if (r->virtual_mta != NULL && r->kind == CONF_PAT_RCPT_TO &&
		    conf_pattern_rule_match(r, addr))
			return r->virtual_mta;
	}
	return NULL;
}

/* NULL for {default}; sets *bad for a name that is neither a
 * <virtual-mta> nor a <virtual-mta-pool>. */
static const char *
route_check(const struct conf *c, const char *v, const char **bad)
{
	if (v == NULL || strcmp(v, SCHED_DEFAULT_VMTA) == 0)
		return NULL;
	if (*bad == NULL && conf_vmta_find(c, v) == NULL &&
	    conf_pool_find(c, v) == NULL)
		*bad = v;
	return v;
}

static int
same_name(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

const char *
route_message(const struct conf *c, const struct conf_source *src,
    const struct smtpd_msg *m, const char **rcpt_vmta, const char **bad)
{
	const struct conf_pattern_list *pl = NULL;
	const char *def, *msgv = NULL;
	size_t limit = 0;

	*bad = NULL;
	for (size_t k = 0; k < m->nrcpt; k++)
		rcpt_vmta[k] = NULL;
	if (m->vmta_from_header)		/* 1: X-Virtual-MTA */
		return route_check(c, m->vmta, bad);
	def = m->vmta ? m->vmta : src->default_virtual_mta;	/* 3 */
	if (src->pattern_list != NULL)
		pl = conf_pattern_list_find(c, src->pattern_list);
	if (pl != NULL) {				/* 2 */
		limit = route_msg_rule(pl, m);
		if (limit < pl->nrules)
			def = pl->rules[limit].virtual_mta;
	}
	for (size_t k = 0; k < m->nrcpt; k++) {
		const char *v = pl ? route_rcpt_rule(pl, limit,
		    m->rcpts[k].addr) : NULL;

		v = v ? v : def;
		if (v != NULL && strcmp(v, SCHED_DEFAULT_VMTA) == 0)
			v = NULL;
		if (k == 0)
			msgv = v;
		else if (!same_name(v, msgv))
			rcpt_vmta[k] = v ? v : SCHED_DEFAULT_VMTA;
		(void)route_check(c, v, bad);
	}
	return route_check(c, m->nrcpt ? msgv : def, bad);
}
