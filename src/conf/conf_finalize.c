/*
 * conf_finalize.c -- checks and derived state once every file is read:
 * named references, pool membership rules, macro loops, block ordering,
 * source merging and computed defaults (host name, spool, control socket,
 * implicit listener).
 *
 * Invariants: after conf_finalize() returns 0 every name a directive
 * refers to exists, pool members point into the final c->vmtas array and
 * block lists are sorted general -> specific. Errors carry the FILE:LINE
 * of the directive or block that caused them.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/conf_internal.h"
#include "lib/xmalloc.h"

static int
source_named_exists(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->in->nsources; i++)
		if (c->in->sources[i]->named &&
		    strcmp(c->in->sources[i]->name, name) == 0)
			return 1;
	return 0;
}

static int
pool_add_member(struct conf_parser *p, const struct conf_ref *r)
{
	struct conf *c = p->c;
	struct conf_pool *pl = &c->pools[r->owner];
	const struct conf_vmta *v = conf_vmta_find(c, r->name);

	if (v == NULL && conf_pool_find(c, r->name) != NULL)
		return conf_perr(p, "pool %s: member %s is a pool, not a "
		    "virtual-mta", pl->name, r->name);
	if (v == NULL)
		return conf_perr(p, "pool %s: member %s is not a defined "
		    "virtual-mta", pl->name, r->name);
	for (size_t i = 0; i < pl->nmembers; i++)
		if (pl->members[i] == v)
			return conf_perr(p, "pool %s: member %s listed twice",
			    pl->name, r->name);
	pl->members = xreallocarray(pl->members, pl->nmembers + 1,
	    sizeof(*pl->members));
	pl->members[pl->nmembers++] = v;
	return 0;
}

static int
ref_check(struct conf_parser *p, const struct conf_ref *r)
{
	const struct conf *c = p->c;

	p->file = r->file;
	p->line = r->line;
	switch (r->kind) {
	case CONF_REF_SPL:
		if (conf_smtp_pattern_list_find(c, r->name) == NULL)
			return conf_perr(p, "unknown smtp-pattern-list %s",
			    r->name);
		return 0;
	case CONF_REF_PL:
		if (conf_pattern_list_find(c, r->name) == NULL)
			return conf_perr(p, "unknown pattern-list %s", r->name);
		return 0;
	case CONF_REF_VMTA_OR_POOL:
		if (conf_vmta_find(c, r->name) == NULL &&
		    conf_pool_find(c, r->name) == NULL)
			return conf_perr(p, "unknown virtual-mta or pool %s",
			    r->name);
		return 0;
	case CONF_REF_SOURCE:
		if (!source_named_exists(c, r->name))
			return conf_perr(p, "unknown named <source %s>",
			    r->name);
		return 0;
	case CONF_REF_POOL_MEMBER:
		return pool_add_member(p, r);
	}
	return 0;
}

static int
pools_check(struct conf_parser *p)
{
	struct conf *c = p->c;
	struct conf_internal *in = c->in;

	for (size_t i = 0; i < c->npools; i++) {
		struct conf_pool *pl = &c->pools[i];

		p->file = in->pool_file[i];
		p->line = in->pool_line[i];
		if (conf_vmta_find(c, pl->name) != NULL)
			return conf_perr(p, "virtual-mta-pool %s has the name "
			    "of a virtual-mta", pl->name);
		if (pl->nmembers == 0)
			return conf_perr(p, "virtual-mta-pool %s has no "
			    "virtual-mta members", pl->name);
		if (!in->pool_blocks[i].has_blocks)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (!in->pool_blocks[j].has_blocks)
				continue;
			for (size_t a = 0; a < pl->nmembers; a++)
				for (size_t b = 0; b < c->pools[j].nmembers; b++)
					if (pl->members[a] ==
					    c->pools[j].members[b])
						return conf_perr(p, "virtual-mta "
						    "%s is in pools %s and %s, "
						    "which both contain <domain> "
						    "blocks", pl->members[a]->name,
						    c->pools[j].name, pl->name);
		}
	}
	return 0;
}

static void
defaults_fill(struct conf *c)
{
	char host[256];

	if (c->host_name == NULL) {
		if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		c->host_name = conf_strdup(c, host);
	}
	if (c->spool_dir == NULL)
		c->spool_dir = conf_strdup(c, "/var/spool/sluice");
	if (c->control_socket == NULL) {
		char *s = xasprintf("%s/sluiced.sock", c->spool_dir);

		c->control_socket = conf_strdup(c, s);
		free(s);
	}
	if (c->nlisteners == 0) {
		c->listeners = xcalloc(1, sizeof(*c->listeners));
		c->listeners[0].addr = conf_strdup(c, "0.0.0.0");
		c->listeners[0].port = 25;
		c->nlisteners = 1;
	}
}

int
conf_finalize(struct conf_parser *p)
{
	struct conf *c = p->c;
	struct conf_internal *in = c->in;

	if (conf_macros_check(p) == -1)
		return -1;
	for (size_t i = 0; i < in->nrefs; i++)
		if (ref_check(p, &in->refs[i]) == -1)
			return -1;
	if (pools_check(p) == -1)
		return -1;
	p->file = c->path;
	p->line = 0;
	if ((c->tls_certificate == NULL) != (c->tls_private_key == NULL))
		return conf_perr(p, "smtp-server-tls-certificate and "
		    "smtp-server-tls-private-key must be set together");
	conf_dblist_sort(&in->global);
	for (size_t i = 0; i < c->nvmtas; i++)
		conf_dblist_sort(&in->vmta_blocks[i]);
	for (size_t i = 0; i < c->npools; i++)
		conf_dblist_sort(&in->pool_blocks[i]);
	if (conf_reroute_check(p) == -1)
		return -1;
	conf_sources_finalize(c);
	defaults_fill(c);
	return 0;
}
