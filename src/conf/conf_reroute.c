/*
 * conf_reroute.c -- load-time loop detection for reroute-to-virtual-mta and
 * backoff-reroute-to-virtual-mta (PowerMTA refuses reroute loops).
 *
 * A queue domain/V whose merged <domain> names a target T moves its mail to
 * domain/T (a pool: to the member picked for the message; a member equal to
 * V keeps it). So for one domain the directives form a graph over the
 * virtual-mtas, V -> T (or V -> each member of pool T other than V), and a
 * cycle means mail could bounce between queues forever. Both directives
 * count, whatever the mode (backoff is per queue, so a loop through a
 * backoff reroute can close at run time). A message picks one member per
 * pool name, so a member reached through pool T that names T itself keeps
 * the mail (a global `reroute-to-virtual-mta POOL` is no loop): that edge
 * is left out for that arrival. Otherwise the check is conservative.
 *
 * Which blocks merge for a domain depends only on which <domain> patterns
 * match it, so one probe domain per block pattern covers every case: the
 * exact name, "PROBE.suffix" for `*.suffix` (and `[*.]suffix`, which also
 * gets the bare suffix), "PROBE" for `*`; a probe under the most specific
 * suffix pattern a real domain matches matches the same patterns.
 * Run once per load after the block lists are sorted, only if some block
 * sets one of the directives. Owns nothing past the call.
 */
#include <stdlib.h>
#include <string.h>

#include "conf/conf_internal.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

#define PROBE	"sluice-reroute-probe"

struct rr {
	struct conf_parser	*p;
	const char		*domain;
	int			*color;		/* 0 new, 1 on the path, 2 done */
	size_t			*path;
	size_t			 npath;
};

static int
uses_reroute(const struct conf_internal *in)
{
	for (size_t i = 0; i < in->nrefs; i++)
		if (in->refs[i].val != NULL)
			return 1;
	return 0;
}

static long
vmta_index(const struct conf *c, const struct conf_vmta *v)
{
	return v ? (long)(v - c->vmtas) : -1;
}

static int visit(struct rr *rr, size_t v, const char *via);

/* Report the loop closed by V's directive `val` reaching vmta w. */
static int
loop_error(struct rr *rr, const char *val, size_t w)
{
	struct conf_parser *p = rr->p;
	const struct conf *c = p->c;
	struct sbuf sb;
	size_t k = 0;
	int rc;

	for (size_t i = 0; i < c->in->nrefs; i++)
		if (c->in->refs[i].val == val) {
			p->file = c->in->refs[i].file;
			p->line = c->in->refs[i].line;
			break;
		}
	while (k < rr->npath && rr->path[k] != w)
		k++;
	sbuf_init(&sb);
	for (; k < rr->npath; k++)
		sbuf_printf(&sb, "%s -> ", c->vmtas[rr->path[k]].name);
	sbuf_puts(&sb, c->vmtas[w].name);
	sbuf_putc(&sb, '\0');
	rc = conf_perr(p, "reroute loop for domain %s: %s", rr->domain,
	    sb.p);
	sbuf_fini(&sb);
	return rc;
}

/* v's directive `val` moves mail to w (through a pool: via = val). */
static int
edge(struct rr *rr, size_t v, const char *val, size_t w, const char *via)
{
	if (w == v)
		return 0;
	if (rr->color[w] == 1)
		return loop_error(rr, val, w);
	if (rr->color[w] == 0)
		return visit(rr, w, via);
	return 0;
}

static int
target(struct rr *rr, size_t v, const char *val)
{
	const struct conf *c = rr->p->c;
	const struct conf_pool *pl;
	long w;

	if (val == NULL)
		return 0;
	if ((w = vmta_index(c, conf_vmta_find(c, val))) >= 0)
		return edge(rr, v, val, (size_t)w, NULL);
	if ((pl = conf_pool_find(c, val)) == NULL)
		return 0;		/* refs are checked before */
	for (size_t i = 0; i < pl->nmembers; i++)
		if (edge(rr, v, val, (size_t)vmta_index(c, pl->members[i]),
		    val) == -1)
			return -1;
	return 0;
}

/* Explore v, reached through pool name `via` (or NULL): a directive naming
 * via keeps the mail in v. Only a full exploration marks v done. */
static int
visit(struct rr *rr, size_t v, const char *via)
{
	const struct conf *c = rr->p->c;
	const struct conf_domain *d = conf_domain_lookup(c, c->vmtas[v].name,
	    rr->domain);
	const char *n[2] = { d->reroute_to_vmta, d->backoff_reroute_to_vmta };
	int full = 1;

	rr->color[v] = 1;
	rr->path[rr->npath++] = v;
	for (int i = 0; i < 2; i++) {
		if (n[i] != NULL && via != NULL && strcmp(n[i], via) == 0) {
			full = 0;
			continue;
		}
		if (target(rr, v, n[i]) == -1)
			return -1;
	}
	rr->npath--;
	rr->color[v] = full ? 2 : 0;
	return 0;
}

static int
check_domain(struct rr *rr, const char *domain)
{
	size_t n = rr->p->c->nvmtas;

	rr->domain = domain;
	memset(rr->color, 0, n * sizeof(*rr->color));
	for (size_t v = 0; v < n; v++) {
		rr->npath = 0;
		if (rr->color[v] == 0 && visit(rr, v, NULL) == -1)
			return -1;
	}
	return 0;
}

static int
check_block(struct rr *rr, const struct conf_dblock *b)
{
	char *probe;
	int rc = 0;

	switch (b->kind) {
	case CONF_DK_ALL:
		return check_domain(rr, PROBE);
	case CONF_DK_EXACT:
		return check_domain(rr, b->base);
	case CONF_DK_DOMSUB:
		if (check_domain(rr, b->base) == -1)
			return -1;
		break;
	default:
		break;
	}
	probe = xasprintf("%s.%s", PROBE, b->base);
	rc = check_domain(rr, probe);
	free(probe);
	return rc;
}

static int
check_list(struct rr *rr, const struct conf_dblist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (check_block(rr, l->v[i]) == -1)
			return -1;
	return 0;
}

int
conf_reroute_check(struct conf_parser *p)
{
	const struct conf *c = p->c;
	const struct conf_internal *in = c->in;
	struct rr rr = { .p = p };
	int rc = 0;

	if (c->nvmtas == 0 || !uses_reroute(in))
		return 0;
	rr.color = xcalloc(c->nvmtas, sizeof(*rr.color));
	rr.path = xcalloc(c->nvmtas, sizeof(*rr.path));
	rc = check_list(&rr, &in->global);
	for (size_t i = 0; rc == 0 && i < c->nvmtas; i++)
		rc = check_list(&rr, &in->vmta_blocks[i]);
	for (size_t i = 0; rc == 0 && i < c->npools; i++)
		rc = check_list(&rr, &in->pool_blocks[i]);
	free(rr.color);
	free(rr.path);
	return rc;
}
