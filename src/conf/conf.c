/*
 * conf.c -- conf_load()/conf_free() and the small by-name lookups.
 *
 * Invariants: conf_load() builds a brand-new struct conf and either
 * returns it complete and validated or frees it and returns NULL with the
 * first error in err; it shares nothing with any other loaded conf, which
 * is what makes reload (load new, swap, free old) safe.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"
#include "lib/xmalloc.h"

static struct conf *
conf_new(const char *path)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	struct conf_internal *in = xcalloc(1, sizeof(*in));

	c->in = in;
	pthread_mutex_init(&in->lock, NULL);
	c->path = xstrdup(path);
	conf_defaults_apply(CS_GLOBAL | CS_SPOOL, c);
	conf_defaults_apply(CS_SOURCE, &in->src_default);
	in->src_default.name = "{builtin}";
	conf_defaults_apply(CS_DOMAIN, &in->dom_default);
	in->dom_default.pattern = "*";
	return c;
}

static struct conf *
conf_load_common(const char *path, char *text, char *err, size_t errlen)
{
	struct conf *c = conf_new(path);
	struct conf_parser p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.err = err;
	p.errlen = errlen;
	p.file = c->path;
	if (errlen > 0)
		err[0] = '\0';
	if (text != NULL)
		rc = conf_parse_text(&p, c->path, text);
	else
		rc = conf_parse_file(&p, path);
	if (rc == 0)
		rc = conf_finalize(&p);
	for (int i = 0; i < p.nincl; i++)
		free(p.incl[i]);
	if (rc != 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	return conf_load_common(path, NULL, err, errlen);
}

struct conf *
conf_load_string(const char *name, const char *text, char *err,
    size_t errlen)
{
	char *copy = xstrdup(text);
	struct conf *c = conf_load_common(name, copy, err, errlen);

	free(copy);
	return c;
}

static void
internal_free(struct conf *c)
{
	struct conf_internal *in = c->in;

	conf_dblist_free(&in->global);
	for (size_t i = 0; i < c->nvmtas; i++)
		conf_dblist_free(&in->vmta_blocks[i]);
	for (size_t i = 0; i < c->npools; i++)
		conf_dblist_free(&in->pool_blocks[i]);
	free(in->vmta_blocks);
	free(in->pool_blocks);
	free(in->vmta_line);
	free(in->vmta_file);
	free(in->pool_line);
	free(in->pool_file);
	for (size_t i = 0; i < in->nsources; i++)
		free(in->sources[i]);
	free(in->sources);
	for (size_t i = 0; i < in->nmacros; i++) {
		struct conf_macro *m = &in->macros[i];

		for (size_t j = 0; j < m->nvals; j++)
			free(m->vals[j]);
		for (size_t j = 0; j < m->nexp; j++)
			free(m->exp[j]);
		free(m->vals);
		free(m->exp);
		free(m->name);
	}
	free(in->macros);
	free(in->refs);
	conf_cache_free(in);
	for (size_t i = 0; i < in->nstrings; i++)
		free(in->strings[i]);
	free(in->strings);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nvmtas; i++) {
		free(c->vmtas[i].source_hosts);
		free(c->vmtas[i].dkim_keys);
	}
	for (size_t i = 0; i < c->npools; i++) {
		free(c->pools[i].members);
		free(c->pools[i].dkim_keys);
	}
	conf_lists_free(c);
	internal_free(c);
	free(c->vmtas);
	free(c->pools);
	free(c->postmaster);
	free(c->listeners);
	free(c->source_hosts);
	free(c->http_access);
	free(c->dkim_keys);
	free(c->acct_files);
	free(c->users);
	free(c->path);
	free(c);
}

const struct conf_vmta *
conf_vmta_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; name != NULL && i < c->nvmtas; i++)
		if (strcasecmp(c->vmtas[i].name, name) == 0)
			return &c->vmtas[i];
	return NULL;
}

const struct conf_pool *
conf_pool_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; name != NULL && i < c->npools; i++)
		if (strcasecmp(c->pools[i].name, name) == 0)
			return &c->pools[i];
	return NULL;
}

const struct conf_smtp_pattern_list *
conf_smtp_pattern_list_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nsmtp_pattern_lists; i++)
		if (strcasecmp(c->smtp_pattern_lists[i].name, name) == 0)
			return &c->smtp_pattern_lists[i];
	return NULL;
}

const struct conf_pattern_list *
conf_pattern_list_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->npattern_lists; i++)
		if (strcasecmp(c->pattern_lists[i].name, name) == 0)
			return &c->pattern_lists[i];
	return NULL;
}

/* 1 if name equals suffix or ends with "." suffix. */
static int
domain_is_or_under(const char *name, const char *suffix, int strict)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (!strict && strcasecmp(name, suffix) == 0)
		return 1;
	return n > s + 1 && name[n - s - 1] == '.' &&
	    strcasecmp(name + n - s, suffix) == 0;
}

const struct conf_rollup *
conf_rollup_find(const struct conf *c, const char *mx)
{
	char buf[256];
	size_t n = strlen(mx);

	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, mx, n + 1);
	if (n > 0 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	for (size_t i = 0; i < c->nrollups; i++) {
		const struct conf_rollup *r = &c->rollups[i];

		if (strncmp(r->mx, "*.", 2) == 0 ?
		    domain_is_or_under(buf, r->mx + 2, 1) :
		    strcasecmp(buf, r->mx) == 0)
			return r;
	}
	return NULL;
}

static int
ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = (unsigned char)(la != lb);

	for (size_t i = 0; i < lb; i++)
		d |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return d == 0;
}

const struct conf_user *
conf_user_check(const struct conf *c, const char *user, const char *pass)
{
	if (user == NULL || pass == NULL)
		return NULL;
	for (size_t i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, user) == 0)
			return ct_equal(pass, c->users[i].password) ?
			    &c->users[i] : NULL;
	return NULL;
}
