/*
 * conf_blocks.c -- opening <tag ARG> blocks: creates the object the block
 * fills (vmta, pool, acct-file, lists, users, spool) with its defaults and
 * pushes a parser frame. <domain> and <source> are delegated to
 * conf_domain.c and conf_source.c.
 *
 * Invariants: arrays in struct conf only grow when a block of their own
 * kind opens, and such blocks never nest in themselves, so the frame's
 * object pointer stays valid until the block closes.
 */
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"
#include "lib/xmalloc.h"

#define GROW(arr, n)	((arr) = xreallocarray((arr), (n) + 1, sizeof(*(arr))))

static struct conf_frame *
frame_push(struct conf_parser *p, unsigned scope, const char *tag, void *obj)
{
	struct conf_frame *f = &p->stack[p->depth++];

	memset(f, 0, sizeof(*f));
	f->scope = scope;
	f->tag = tag;
	f->obj = obj;
	f->line = p->line;
	return f;
}

static int
open_vmta(struct conf_parser *p, const char *name)
{
	struct conf *c = p->c;
	struct conf_internal *in = c->in;
	struct conf_vmta *v;
	size_t n = c->nvmtas;

	if (strcasecmp(name, CONF_DEFAULT_VMTA) == 0 || name[0] == '{')
		return conf_perr(p, "virtual-mta name \"%s\" is reserved", name);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(c->vmtas[i].name, name) == 0)
			return conf_perr(p, "virtual-mta %s already defined at "
			    "%s:%d", name, in->vmta_file[i], in->vmta_line[i]);
	GROW(c->vmtas, n);
	GROW(in->vmta_blocks, n);
	GROW(in->vmta_line, n);
	GROW(in->vmta_file, n);
	v = &c->vmtas[n];
	memset(v, 0, sizeof(*v));
	memset(&in->vmta_blocks[n], 0, sizeof(in->vmta_blocks[n]));
	conf_defaults_apply(CS_VMTA, v);
	v->name = conf_strdup(c, name);
	in->vmta_line[n] = p->line;
	in->vmta_file[n] = conf_strdup(c, p->file);
	c->nvmtas++;
	frame_push(p, CS_VMTA, "virtual-mta", v)->index = n;
	return 0;
}

static int
open_pool(struct conf_parser *p, const char *name)
{
	struct conf *c = p->c;
	struct conf_internal *in = c->in;
	struct conf_pool *v;
	size_t n = c->npools;

	if (name[0] == '{')
		return conf_perr(p, "pool name \"%s\" is reserved", name);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(c->pools[i].name, name) == 0)
			return conf_perr(p, "virtual-mta-pool %s already "
			    "defined at %s:%d", name, in->pool_file[i],
			    in->pool_line[i]);
	GROW(c->pools, n);
	GROW(in->pool_blocks, n);
	GROW(in->pool_line, n);
	GROW(in->pool_file, n);
	v = &c->pools[n];
	memset(v, 0, sizeof(*v));
	memset(&in->pool_blocks[n], 0, sizeof(in->pool_blocks[n]));
	conf_defaults_apply(CS_POOL, v);
	v->name = conf_strdup(c, name);
	in->pool_line[n] = p->line;
	in->pool_file[n] = conf_strdup(c, p->file);
	c->npools++;
	frame_push(p, CS_POOL, "virtual-mta-pool", v)->index = n;
	return 0;
}

static int
open_acct(struct conf_parser *p, const char *path)
{
	struct conf *c = p->c;
	struct acctw_file *f;

	if (path[0] == '|')
		return conf_perr(p, "<acct-file |command>: accounting pipes "
		    "are not supported; write a file");
	for (size_t i = 0; i < c->nacct_files; i++)
		if (strcmp(c->acct_files[i].path, path) == 0)
			return conf_perr(p, "<acct-file %s> defined twice", path);
	GROW(c->acct_files, c->nacct_files);
	f = &c->acct_files[c->nacct_files++];
	memset(f, 0, sizeof(*f));
	conf_defaults_apply(CS_ACCT, f);
	f->path = conf_resolve_path(p, path);
	frame_push(p, CS_ACCT, "acct-file", f);
	return 0;
}

static int
open_spl(struct conf_parser *p, const char *name)
{
	struct conf *c = p->c;
	struct conf_smtp_pattern_list *l;

	if (conf_smtp_pattern_list_find(c, name) != NULL)
		return conf_perr(p, "smtp-pattern-list %s defined twice", name);
	GROW(c->smtp_pattern_lists, c->nsmtp_pattern_lists);
	l = &c->smtp_pattern_lists[c->nsmtp_pattern_lists];
	memset(l, 0, sizeof(*l));
	l->name = conf_strdup(c, name);
	frame_push(p, CS_SPL, "smtp-pattern-list", l)->index =
	    c->nsmtp_pattern_lists++;
	return 0;
}

static int
open_pl(struct conf_parser *p, const char *name)
{
	struct conf *c = p->c;
	struct conf_pattern_list *l;

	if (conf_pattern_list_find(c, name) != NULL)
		return conf_perr(p, "pattern-list %s defined twice", name);
	GROW(c->pattern_lists, c->npattern_lists);
	l = &c->pattern_lists[c->npattern_lists];
	memset(l, 0, sizeof(*l));
	l->name = conf_strdup(c, name);
	frame_push(p, CS_PL, "pattern-list", l)->index = c->npattern_lists++;
	return 0;
}

static int
open_user(struct conf_parser *p, const char *name)
{
	struct conf *c = p->c;
	struct conf_user *u;

	for (size_t i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, name) == 0)
			return conf_perr(p, "smtp-user %s defined twice", name);
	GROW(c->users, c->nusers);
	u = &c->users[c->nusers];
	memset(u, 0, sizeof(*u));
	u->name = conf_strdup(c, name);
	frame_push(p, CS_USER, "smtp-user", u)->index = c->nusers++;
	return 0;
}

static int
open_spool(struct conf_parser *p, const char *dir)
{
	if (p->c->in->spool_seen)
		return conf_perr(p, "only one <spool> is supported");
	p->c->in->spool_seen = 1;
	p->c->spool_dir = conf_resolve_path(p, dir);
	frame_push(p, CS_SPOOL, "spool", p->c);
	return 0;
}

static int
open_domain(struct conf_parser *p, const char *pattern)
{
	struct conf_internal *in = p->c->in;
	struct conf_frame *top = p->depth ? &p->stack[p->depth - 1] : NULL;
	struct conf_dblist *l = &in->global;
	struct conf_frame f;

	if (top != NULL && top->scope == CS_VMTA)
		l = &in->vmta_blocks[top->index];
	else if (top != NULL && top->scope == CS_POOL)
		l = &in->pool_blocks[top->index];
	memset(&f, 0, sizeof(f));
	if (conf_domain_block_open(p, l, pattern, &f) == -1)
		return -1;
	*frame_push(p, CS_DOMAIN, "domain", NULL) = f;
	p->stack[p->depth - 1].scope = CS_DOMAIN;
	p->stack[p->depth - 1].tag = "domain";
	p->stack[p->depth - 1].line = p->line;
	return 0;
}

int
conf_block_open(struct conf_parser *p, const struct conf_directive *d,
    const char *arg)
{
	const char *n = d->name;
	struct conf_frame f;

	if (strcmp(n, "domain") == 0)
		return open_domain(p, arg);
	if (strcmp(n, "source") == 0) {
		memset(&f, 0, sizeof(f));
		if (conf_source_block_open(p, arg, &f) == -1)
			return -1;
		*frame_push(p, CS_SOURCE, "source", NULL) = f;
		p->stack[p->depth - 1].scope = CS_SOURCE;
		p->stack[p->depth - 1].tag = "source";
		p->stack[p->depth - 1].line = p->line;
		return 0;
	}
	if (strcmp(n, "virtual-mta") == 0)
		return open_vmta(p, arg);
	if (strcmp(n, "virtual-mta-pool") == 0)
		return open_pool(p, arg);
	if (strcmp(n, "acct-file") == 0)
		return open_acct(p, arg);
	if (strcmp(n, "spool") == 0)
		return open_spool(p, arg);
	if (strcmp(n, "smtp-pattern-list") == 0)
		return open_spl(p, arg);
	if (strcmp(n, "pattern-list") == 0)
		return open_pl(p, arg);
	if (strcmp(n, "smtp-user") == 0)
		return open_user(p, arg);
	if (strcmp(n, "mx-rollup-list") == 0) {
		frame_push(p, CS_ROLLUP, "mx-rollup-list", p->c);
		return 0;
	}
	if (strcmp(n, "bounce-category-patterns") == 0) {
		frame_push(p, CS_BOUNCE, "bounce-category-patterns", p->c);
		return 0;
	}
	return conf_perr(p, "<%s>: block not implemented", n);
}
