/*
 * conf_dkim.c -- DKIM parts of the configuration: the dkim-identity
 * handler, and the check that needs the parsed blocks: a block saying
 * `dkim-sign yes` where no key could ever apply is a configuration error
 * (see conf.h, conf_dkim_check_scopes).
 * Which key signs a given message is decided in src/daemon/dkim_cache.c;
 * this only proves the empty case, which is certain at load time because
 * keys are read only at start and reload.
 * Ownership: reads the struct conf it is given; allocates nothing.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/conf_internal.h"

/*
 * dkim-identity sender-or-from|from|[LOCAL]@DOMAIN. The keywords are kept
 * as static strings (so the built-in default needs no allocation); an
 * address is kept as written and becomes i=.
 */
int
conf_h_dkim_identity(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	const char *at = strchr(arg, '@'), **field = (const char **)(void *)
	    ((char *)obj + d->off);

	if (strcasecmp(arg, "sender-or-from") == 0)
		*field = "sender-or-from";
	else if (strcasecmp(arg, "from") == 0)
		*field = "from";
	else if (at == NULL || at[1] == '\0' || strchr(at + 1, '@') ||
	    strpbrk(arg, " \t<>,;:") != NULL)
		return conf_perr(p, "%s: expected sender-or-from, from or an "
		    "address [LOCAL]@DOMAIN, got \"%s\"", d->name, arg);
	else
		*field = conf_strdup(p->c, arg);
	return 0;
}

/* Keys of the pools that contain v. */
static size_t
pool_keys_of(const struct conf *c, const struct conf_vmta *v)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npools; i++)
		for (size_t j = 0; j < c->pools[i].nmembers; j++)
			if (c->pools[i].members[j] == v)
				n += c->pools[i].ndkim_keys;
	return n;
}

/* Keys of a pool and of its members. */
static size_t
pool_and_members_keys(const struct conf_pool *pl)
{
	size_t n = pl->ndkim_keys;

	for (size_t j = 0; j < pl->nmembers; j++)
		n += pl->members[j]->ndkim_keys;
	return n;
}

/* Keys of every level: what a global block or a source may reach. */
static size_t
all_keys(const struct conf *c, size_t dir_keys)
{
	size_t n = c->ndkim_keys + dir_keys;

	for (size_t i = 0; i < c->nvmtas; i++)
		n += c->vmtas[i].ndkim_keys;
	for (size_t i = 0; i < c->npools; i++)
		n += c->pools[i].ndkim_keys;
	return n;
}

/* First block of a list saying dkim-sign yes, or NULL. */
static const struct conf_dblock *
signing_block(const struct conf_dblist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i]->v.dkim_sign == CONF_DKIM_YES)
			return l->v[i];
	return NULL;
}

static int
no_key(const struct conf *c, const char *outer, const char *where,
    const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s%s<%s %s>: dkim-sign yes, but no DKIM "
	    "key can apply (no domain-key at this level or above, no key in "
	    "dkim-key-directory): mail it asks to sign would go unsigned",
	    c->path, outer ? outer : "", outer ? " " : "", where, name);
	return -1;
}

int
conf_dkim_check_scopes(const struct conf *c, size_t dir_keys, char *err,
    size_t errlen)
{
	const struct conf_internal *in = c->in;
	const struct conf_dblock *b;
	size_t global = c->ndkim_keys + dir_keys, any = all_keys(c, dir_keys);
	char outer[300];

	if (any == 0 && (b = signing_block(&in->global)) != NULL)
		return no_key(c, NULL, "domain", b->pattern, err, errlen);
	for (size_t i = 0; any == 0 && i < in->nsources; i++)
		if (in->sources[i]->v.dkim_sign)
			return no_key(c, NULL, "source", in->sources[i]->name,
			    err, errlen);
	for (size_t i = 0; i < c->nvmtas; i++) {
		const struct conf_vmta *v = &c->vmtas[i];

		if ((b = signing_block(&in->vmta_blocks[i])) == NULL ||
		    global + v->ndkim_keys + pool_keys_of(c, v) > 0)
			continue;
		snprintf(outer, sizeof(outer), "<virtual-mta %s>", v->name);
		return no_key(c, outer, "domain", b->pattern, err, errlen);
	}
	for (size_t i = 0; i < c->npools; i++) {
		const struct conf_pool *pl = &c->pools[i];

		if ((b = signing_block(&in->pool_blocks[i])) == NULL ||
		    global + pool_and_members_keys(pl) > 0)
			continue;
		snprintf(outer, sizeof(outer), "<virtual-mta-pool %s>",
		    pl->name);
		return no_key(c, outer, "domain", b->pattern, err, errlen);
	}
	return 0;
}
