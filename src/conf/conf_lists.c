/*
 * conf_lists.c -- regex-based lists: <smtp-pattern-list> reply rules with
 * their actions, <pattern-list> selection rules, <mx-rollup-list> entries
 * and <bounce-category-patterns> lines; matching helpers for them.
 *
 * Invariants: every regex is compiled with PCRE2 (caseless; `(?-i)` turns
 * that off) at load time, so a bad pattern is a config error with its
 * line, never a runtime surprise. Conflicting reply actions are rejected.
 * Compiled code is owned by the conf and freed by conf_lists_free().
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"
#include "lib/xmalloc.h"

/*
 * Split "/REGEX/ rest": copies the regex text (without slashes) to *re
 * (malloc'd) and returns a pointer to rest (trimmed), NULL if malformed.
 * A '/' inside the regex is written "\/".
 */
static const char *
split_regex(const char *s, char **re)
{
	size_t i;

	if (*s != '/')
		return NULL;
	for (i = 1; s[i] != '\0' && s[i] != '/'; i++)
		if (s[i] == '\\' && s[i + 1] != '\0')
			i++;
	if (s[i] != '/')
		return NULL;
	*re = xstrndup(s + 1, i - 1);
	s += i + 1;
	if (*s != '\0' && !isspace((unsigned char)*s))
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static pcre2_code *
compile(struct conf_parser *p, const char *re)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *code;
	int ec;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS, &ec, &off, NULL);
	if (code == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		conf_perr(p, "bad regex /%s/ at offset %zu: %s", re,
		    (size_t)off, (char *)msg);
	}
	return code;
}

static int
regex_match(const pcre2_code *re, const char *s)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc;

	rc = pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, md,
	    NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static int
action_parse(struct conf_parser *p, struct conf_reply_rule *r,
    const char *a, size_t n)
{
	static const struct { const char *name; unsigned bit; } tab[] = {
		{ "mode=backoff", CONF_ACT_MODE_BACKOFF },
		{ "mode=normal", CONF_ACT_MODE_NORMAL },
		{ "skip-mx", CONF_ACT_SKIP_MX },
		{ "bounce-rcpt", CONF_ACT_BOUNCE_RCPT },
		{ "bounce-queue", CONF_ACT_BOUNCE_QUEUE },
		{ "disable-source-ip", CONF_ACT_DISABLE_SOURCE_IP },
		{ "defer-queue", CONF_ACT_DEFER_QUEUE },
	};
	char buf[128];
	int64_t *t = NULL;

	if (n >= sizeof(buf))
		return conf_perr(p, "reply: action too long");
	memcpy(buf, a, n);
	buf[n] = '\0';
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(buf, tab[i].name) == 0) {
			r->actions |= tab[i].bit;
			return 0;
		}
	if (strncasecmp(buf, "backoff-to-normal-after=", 24) == 0)
		t = &r->backoff_to_normal_after;
	else if (strncasecmp(buf, "reenable-after=", 15) == 0)
		t = &r->reenable_after;
	if (t == NULL)
		return conf_perr(p, "reply: unknown action \"%s\"", buf);
	if (conf_parse_time(strchr(buf, '=') + 1, t) == -1 || *t <= 0)
		return conf_perr(p, "reply: bad time in \"%s\"", buf);
	return 0;
}

static int
actions_check(struct conf_parser *p, const struct conf_reply_rule *r)
{
	unsigned a = r->actions;

	if (a == 0 && r->backoff_to_normal_after == 0 && r->reenable_after == 0)
		return conf_perr(p, "reply: no action given");
	if ((a & CONF_ACT_MODE_BACKOFF) && (a & CONF_ACT_MODE_NORMAL))
		return conf_perr(p, "reply: mode=backoff conflicts with "
		    "mode=normal");
	if ((a & CONF_ACT_BOUNCE_RCPT) && (a & CONF_ACT_BOUNCE_QUEUE))
		return conf_perr(p, "reply: bounce-rcpt conflicts with "
		    "bounce-queue");
	if ((a & CONF_ACT_BOUNCE_QUEUE) && (a & CONF_ACT_DEFER_QUEUE))
		return conf_perr(p, "reply: bounce-queue conflicts with "
		    "defer-queue");
	if (r->reenable_after && !(a & CONF_ACT_DISABLE_SOURCE_IP))
		return conf_perr(p, "reply: reenable-after needs "
		    "disable-source-ip");
	if (r->backoff_to_normal_after && !(a & CONF_ACT_MODE_BACKOFF))
		return conf_perr(p, "reply: backoff-to-normal-after needs "
		    "mode=backoff");
	return 0;
}

int
conf_h_reply(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_smtp_pattern_list *l = obj;
	struct conf_reply_rule r;
	const char *rest;
	char *re = NULL;

	memset(&r, 0, sizeof(r));
	if ((rest = split_regex(arg, &re)) == NULL) {
		free(re);
		return conf_perr(p, "%s: expected /REGEX/ ACTION[,ACTION]",
		    d->name);
	}
	r.regex = conf_strdup(p->c, re);
	free(re);
	while (*rest != '\0') {
		size_t n = strcspn(rest, ", \t");

		if (n > 0 && action_parse(p, &r, rest, n) == -1)
			return -1;
		rest += n;
		rest += strspn(rest, ", \t");
	}
	if (actions_check(p, &r) == -1)
		return -1;
	if ((r.re = (struct pcre2_real_code_8 *)compile(p, r.regex)) == NULL)
		return -1;
	l->rules = xreallocarray(l->rules, l->nrules + 1, sizeof(*l->rules));
	l->rules[l->nrules++] = r;
	return 0;
}

static int
pattern_result(struct conf_parser *p, struct conf_pattern_rule *r,
    const char *rest)
{
	while (*rest != '\0') {
		size_t n = strcspn(rest, ", \t");
		char *tok = xstrndup(rest, n), *end;
		int rc = 0;

		if (strncmp(tok, "virtual-mta=", 12) == 0 && tok[12]) {
			r->virtual_mta = conf_strdup(p->c, tok + 12);
			conf_add_ref(p, CONF_REF_VMTA_OR_POOL, tok + 12, 0);
		} else if (strncmp(tok, "recipient-priority=", 19) == 0) {
			long v = strtol(tok + 19, &end, 10);

			if (end == tok + 19 || *end || v < 0 || v > 100)
				rc = conf_perr(p, "bad %s (0..100)", tok);
			r->recipient_priority = (int)v;
		} else
			rc = conf_perr(p, "unknown pattern result \"%s\" "
			    "(virtual-mta=NAME, recipient-priority=N)", tok);
		free(tok);
		if (rc == -1)
			return -1;
		rest += n;
		rest += strspn(rest, ", \t");
	}
	if (r->virtual_mta == NULL && r->recipient_priority < 0)
		return conf_perr(p, "pattern rule without a result");
	return 0;
}

int
conf_h_pattern(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_pattern_list *l = obj;
	struct conf_pattern_rule r;
	const char *rest;
	char *re = NULL;

	memset(&r, 0, sizeof(r));
	r.recipient_priority = -1;
	r.kind = strcmp(d->name, "header") == 0 ? CONF_PAT_HEADER :
	    strcmp(d->name, "mail-from") == 0 ? CONF_PAT_MAIL_FROM :
	    CONF_PAT_RCPT_TO;
	if (r.kind == CONF_PAT_HEADER) {
		size_t n = strcspn(arg, " \t");

		if (n == 0 || arg[n] == '\0')
			return conf_perr(p, "header: expected NAME /REGEX/ "
			    "RESULT");
		re = xstrndup(arg, n);
		r.header = conf_strdup(p->c, re);
		free(re);
		re = NULL;
		arg += n + strspn(arg + n, " \t");
	}
	if ((rest = split_regex(arg, &re)) == NULL || *rest == '\0') {
		free(re);
		return conf_perr(p, "%s: expected /REGEX/ RESULT", d->name);
	}
	r.regex = conf_strdup(p->c, re);
	free(re);
	if (pattern_result(p, &r, rest) == -1)
		return -1;
	if ((r.re = (struct pcre2_real_code_8 *)compile(p, r.regex)) == NULL)
		return -1;
	l->rules = xreallocarray(l->rules, l->nrules + 1, sizeof(*l->rules));
	l->rules[l->nrules++] = r;
	return 0;
}

int
conf_h_mx(struct conf_parser *p, const struct conf_directive *d, void *obj,
    const char *arg)
{
	struct conf *c = obj;
	char buf[512], *tok[4], *save = NULL;
	int n = 0;
	size_t len;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *s = strtok_r(buf, " \t", &save); s && n < 4;
	    s = strtok_r(NULL, " \t", &save))
		tok[n++] = s;
	if (n < 2 || n > 3 || (n == 3 && strcmp(tok[2], "rollup-by-ip") != 0))
		return conf_perr(p, "%s: expected HOST NAME.rollup "
		    "[rollup-by-ip]", d->name);
	len = strlen(tok[1]);
	if (len <= 7 || strcasecmp(tok[1] + len - 7, ".rollup") != 0)
		return conf_perr(p, "%s: queue name \"%s\" must end in "
		    ".rollup", d->name, tok[1]);
	if (strchr(tok[0] + (strncmp(tok[0], "*.", 2) == 0 ? 2 : 0), '*'))
		return conf_perr(p, "%s: only a leading *. wildcard is "
		    "allowed in \"%s\"", d->name, tok[0]);
	c->rollups = xreallocarray(c->rollups, c->nrollups + 1,
	    sizeof(*c->rollups));
	c->rollups[c->nrollups].mx = conf_strdup(c, tok[0]);
	c->rollups[c->nrollups].name = conf_strdup(c, tok[1]);
	c->rollups[c->nrollups].by_ip = n == 3;
	c->nrollups++;
	return 0;
}

int
conf_bounce_line(struct conf_parser *p, const char *line)
{
	struct conf *c = p->c;
	const char *cat;
	pcre2_code *code;
	char *re = NULL;

	if ((cat = split_regex(line, &re)) == NULL || *cat == '\0') {
		free(re);
		return conf_perr(p, "expected /REGEX/ category");
	}
	for (const char *s = cat; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_') {
			free(re);
			return conf_perr(p, "bad bounce category \"%s\"", cat);
		}
	code = compile(p, re);
	free(re);
	if (code == NULL)
		return -1;
	pcre2_code_free(code);
	c->bounce_patterns = xreallocarray(c->bounce_patterns,
	    c->nbounce_patterns + 1, sizeof(char *));
	c->bounce_patterns[c->nbounce_patterns++] = conf_strdup(c, line);
	return 0;
}

const struct conf_reply_rule *
conf_smtp_pattern_match(const struct conf_smtp_pattern_list *l,
    const char *reply)
{
	for (size_t i = 0; l != NULL && i < l->nrules; i++)
		if (regex_match((const pcre2_code *)l->rules[i].re, reply))
			return &l->rules[i];
	return NULL;
}

int
conf_pattern_rule_match(const struct conf_pattern_rule *r, const char *value)
{
	return regex_match((const pcre2_code *)r->re, value);
}

void
conf_lists_free(struct conf *c)
{
	for (size_t i = 0; i < c->nsmtp_pattern_lists; i++) {
		struct conf_smtp_pattern_list *l = &c->smtp_pattern_lists[i];

		for (size_t j = 0; j < l->nrules; j++)
			pcre2_code_free((pcre2_code *)l->rules[j].re);
		free(l->rules);
	}
	free(c->smtp_pattern_lists);
	for (size_t i = 0; i < c->npattern_lists; i++) {
		struct conf_pattern_list *l = &c->pattern_lists[i];

		for (size_t j = 0; j < l->nrules; j++)
			pcre2_code_free((pcre2_code *)l->rules[j].re);
		free(l->rules);
	}
	free(c->pattern_lists);
	free(c->rollups);
	free(c->bounce_patterns);
}
