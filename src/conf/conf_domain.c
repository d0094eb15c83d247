/*
 * conf_domain.c -- <domain PATTERN> blocks: pattern forms, domain-macro
 * expansion, precedence and the merged per-queue lookup.
 *
 * Precedence (PowerMTA §3.2): `*` < `[*.]d` < `*.d` < exact, and among
 * suffix patterns more labels are more specific; an explicitly written
 * pattern beats the same pattern produced by a macro; equal patterns apply
 * in file order. Levels: global blocks, then the blocks of the pool that
 * contains the VMTA, then the VMTA's own blocks (each general -> specific).
 * Invariants: block lists are sorted once at the end of loading; lookups
 * cache one merged struct per distinct sequence of matching blocks, so
 * the cache size is bounded by the config and returned pointers live
 * until conf_free().
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

#define MACRO_MAX_EXPANSION	10000
#define CACHE_BUCKETS		256

static int
macro_namelen(const char *s)
{
	int n = 0;

	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

static struct conf_macro *
macro_find(struct conf_internal *in, const char *name, size_t len)
{
	for (size_t i = 0; i < in->nmacros; i++)
		if (strlen(in->macros[i].name) == len &&
		    strncmp(in->macros[i].name, name, len) == 0)
			return &in->macros[i];
	return NULL;
}

static int macro_resolve(struct conf_parser *p, struct conf_macro *m);

/* Append to *out every expansion of s (each $NAME by each value). */
static int
expand(struct conf_parser *p, const char *s, char ***out, size_t *nout)
{
	const char *dollar = strchr(s, '$');
	struct conf_macro *m;
	int len;

	if (dollar == NULL) {
		if (*nout >= MACRO_MAX_EXPANSION)
			return conf_perr(p, "domain-macro expansion yields "
			    "more than %d names", MACRO_MAX_EXPANSION);
		*out = xreallocarray(*out, *nout + 1, sizeof(**out));
		(*out)[(*nout)++] = xstrdup(s);
		return 0;
	}
	len = macro_namelen(dollar + 1);
	if (len == 0)
		return conf_perr(p, "'$' must be followed by a macro name");
	if ((m = macro_find(p->c->in, dollar + 1, (size_t)len)) == NULL)
		return conf_perr(p, "undefined domain-macro $%.*s", len,
		    dollar + 1);
	if (macro_resolve(p, m) == -1)
		return -1;
	for (size_t i = 0; i < m->nexp; i++) {
		char *t = xasprintf("%.*s%s%s", (int)(dollar - s), s,
		    m->exp[i], dollar + 1 + len);
		int rc = expand(p, t, out, nout);

		free(t);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
macro_resolve(struct conf_parser *p, struct conf_macro *m)
{
	const char *ofile = p->file;
	int oline = p->line;

	if (m->state == 2)
		return 0;
	if (m->state == 1) {
		p->file = m->file;
		p->line = m->line;
		return conf_perr(p, "domain-macro loop: $%s refers to itself",
		    m->name);
	}
	m->state = 1;
	for (size_t i = 0; i < m->nvals; i++) {
		p->file = m->file;
		p->line = m->line;
		if (expand(p, m->vals[i], &m->exp, &m->nexp) == -1)
			return -1;
	}
	m->state = 2;
	p->file = ofile;
	p->line = oline;
	return 0;
}

int
conf_h_macro(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_internal *in = p->c->in;
	struct conf_macro *m;
	int len = macro_namelen(arg);
	const char *s;

	(void)obj;
	if (len == 0 || (arg[len] != ' ' && arg[len] != '\t'))
		return conf_perr(p, "%s: expected NAME value[,value...] (name "
		    "of letters, digits, _)", d->name);
	if (macro_find(in, arg, (size_t)len) != NULL)
		return conf_perr(p, "domain-macro %.*s defined twice", len, arg);
	in->macros = xreallocarray(in->macros, in->nmacros + 1,
	    sizeof(*in->macros));
	m = &in->macros[in->nmacros++];
	memset(m, 0, sizeof(*m));
	m->name = xstrndup(arg, (size_t)len);
	m->file = conf_strdup(p->c, p->file);
	m->line = p->line;
	for (s = arg + len; *s != '\0';) {
		size_t n;
		char *v;

		s += strspn(s, " \t,");
		if ((n = strcspn(s, ",")) == 0)
			break;
		v = xstrndup(s, n);
		while (n > 0 && isspace((unsigned char)v[n - 1]))
			v[--n] = '\0';
		m->vals = xreallocarray(m->vals, m->nvals + 1, sizeof(char *));
		m->vals[m->nvals++] = v;
		s += strcspn(s, ",");
	}
	if (m->nvals == 0)
		return conf_perr(p, "domain-macro %s: no values", m->name);
	return 0;
}

int
conf_macros_check(struct conf_parser *p)
{
	struct conf_internal *in = p->c->in;

	for (size_t i = 0; i < in->nmacros; i++)
		if (macro_resolve(p, &in->macros[i]) == -1)
			return -1;
	return 0;
}

static int
pattern_valid_name(const char *s)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '.' && (s[1] == '.' || s[1] == '\0'))
			return 0;
		if (!(isalnum(ch) || ch == '-' || ch == '_' || ch == '.' ||
		    ch >= 0x80))
			return 0;
	}
	return 1;
}

static int
pattern_parse(struct conf_parser *p, struct conf_dblock *b, char *pat)
{
	char *base = pat;

	for (char *s = pat; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	if (strcmp(pat, "*") == 0) {
		b->kind = CONF_DK_ALL;
		b->base = conf_strdup(p->c, "");
		return 0;
	}
	if (strncmp(pat, "[*.]", 4) == 0)
		b->kind = CONF_DK_DOMSUB, base = pat + 4;
	else if (strncmp(pat, "*.", 2) == 0)
		b->kind = CONF_DK_SUB, base = pat + 2;
	else if (pat[0] == '[')
		return conf_perr(p, "<domain %s>: domain-literal patterns "
		    "[ip/mask] are not supported", pat);
	else
		b->kind = CONF_DK_EXACT;
	if (base[strlen(base) - 1] == '.')
		base[strlen(base) - 1] = '\0';
	if (!pattern_valid_name(base))
		return conf_perr(p, "<domain %s>: bad domain pattern", pat);
	b->base = conf_strdup(p->c, base);
	b->labels = 1;
	for (const char *s = base; *s; s++)
		b->labels += *s == '.';
	return 0;
}

static struct conf_dblock *
dblock_new(struct conf_parser *p, struct conf_dblist *l, const char *pat)
{
	struct conf_dblock *b = xcalloc(1, sizeof(*b));

	b->pattern = conf_strdup(p->c, pat);
	b->order = p->c->in->norder++;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = b;
	l->has_blocks = 1;
	return b;
}

int
conf_domain_block_open(struct conf_parser *p, struct conf_dblist *l,
    const char *pattern, struct conf_frame *f)
{
	char **names = NULL;
	size_t nnames = 0, start = l->n;
	int rc = 0, macro = strchr(pattern, '$') != NULL;

	if (strchr(pattern, ' ') != NULL || strchr(pattern, '\t') != NULL)
		return conf_perr(p, "<domain %s>: one pattern per block",
		    pattern);
	rc = expand(p, pattern, &names, &nnames);
	for (size_t i = 0; i < nnames && rc == 0; i++) {
		struct conf_dblock *b = dblock_new(p, l, names[i]);
		char *tmp = xstrdup(names[i]);

		b->from_macro = macro;
		rc = pattern_parse(p, b, tmp);
		free(tmp);
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (rc == -1)
		return -1;
	f->dblocks = l->v + start;
	f->ndblocks = l->n - start;
	return 0;
}

static int
dblock_cmp(const void *a, const void *b)
{
	const struct conf_dblock *x = *(struct conf_dblock *const *)a;
	const struct conf_dblock *y = *(struct conf_dblock *const *)b;

	if (x->kind == CONF_DK_ALL || y->kind == CONF_DK_ALL) {
		if (x->kind != y->kind)
			return x->kind == CONF_DK_ALL ? -1 : 1;
	} else if (x->labels != y->labels)
		return x->labels - y->labels;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->from_macro != y->from_macro)
		return y->from_macro - x->from_macro;
	return x->order - y->order;
}

void
conf_dblist_sort(struct conf_dblist *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), dblock_cmp);
}

void
conf_dblist_free(struct conf_dblist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
dblock_match(const struct conf_dblock *b, const char *dom, size_t dlen)
{
	size_t blen = strlen(b->base);

	switch (b->kind) {
	case CONF_DK_ALL:
		return 1;
	case CONF_DK_EXACT:
		return strcmp(dom, b->base) == 0;
	case CONF_DK_DOMSUB:
		if (strcmp(dom, b->base) == 0)
			return 1;
		/* FALLTHROUGH */
	case CONF_DK_SUB:
		return dlen > blen + 1 && dom[dlen - blen - 1] == '.' &&
		    strcmp(dom + dlen - blen, b->base) == 0;
	}
	return 0;
}

/* Append the matching blocks of one level to the signature. */
static void
level_collect(const struct conf_dblist *l, const char *dom,
    const struct conf_dblock ***sig, size_t *nsig)
{
	size_t dlen = strlen(dom);

	for (size_t i = 0; l != NULL && i < l->n; i++) {
		if (!dblock_match(l->v[i], dom, dlen))
			continue;
		*sig = xreallocarray(*sig, *nsig + 1, sizeof(**sig));
		(*sig)[(*nsig)++] = l->v[i];
	}
}

static void
domain_compute(const struct conf *c, const struct conf_dblock **sig,
    size_t nsig, struct conf_domain *out)
{
	const struct conf_directive *bmr, *bcr;
	uint64_t set[CONF_SETBITS] = { 0 };
	int known, i1, i2;

	*out = c->in->dom_default;
	out->pattern = "*";
	for (size_t i = 0; i < nsig; i++) {
		conf_merge(out, &sig[i]->v, sig[i]->set, CS_DOMAIN);
		for (int k = 0; k < CONF_SETBITS; k++)
			set[k] |= sig[i]->set[k];
		out->pattern = sig[i]->pattern;
	}
	bmr = conf_directive_find("backoff-max-msg-rate", CS_DOMAIN, &known);
	bcr = conf_directive_find("backoff-max-connect-rate", CS_DOMAIN,
	    &known);
	i1 = conf_directive_index(bmr);
	i2 = conf_directive_index(bcr);
	if (!(set[i1 / 64] & (1ULL << (i1 % 64))))
		out->backoff_max_msg_rate = out->max_msg_rate;
	if (!(set[i2 / 64] & (1ULL << (i2 % 64))))
		out->backoff_max_connect_rate = out->max_connect_rate;
	out->smtp_patterns = out->smtp_pattern_list == NULL ? NULL :
	    conf_smtp_pattern_list_find(c, out->smtp_pattern_list);
}

static uint64_t
sig_hash(const struct conf_dblock **sig, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)sig[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static const struct conf_domain *
cache_get(const struct conf *c, const struct conf_dblock **sig, size_t nsig)
{
	struct conf_internal *in = c->in;
	uint64_t h = sig_hash(sig, nsig);
	struct conf_cache_ent *e;
	size_t b;

	if (in->cache == NULL) {
		in->ncache_buckets = CACHE_BUCKETS;
		in->cache = xcalloc(in->ncache_buckets, sizeof(*in->cache));
	}
	b = h % in->ncache_buckets;
	for (e = in->cache[b]; e != NULL; e = e->next)
		if (e->hash == h && e->nsig == nsig &&
		    (nsig == 0 || memcmp(e->sig, sig,
		    nsig * sizeof(*sig)) == 0))
			return &e->d;
	e = xcalloc(1, sizeof(*e));
	e->hash = h;
	e->nsig = nsig;
	e->sig = nsig ? xreallocarray(NULL, nsig, sizeof(*sig)) : NULL;
	if (nsig)
		memcpy(e->sig, sig, nsig * sizeof(*sig));
	domain_compute(c, sig, nsig, &e->d);
	e->next = in->cache[b];
	in->cache[b] = e;
	return &e->d;
}

void
conf_cache_free(struct conf_internal *in)
{
	for (size_t b = 0; b < in->ncache_buckets; b++) {
		struct conf_cache_ent *e, *n;

		for (e = in->cache[b]; e != NULL; e = n) {
			n = e->next;
			free(e->sig);
			free(e);
		}
	}
	free(in->cache);
	in->cache = NULL;
}

/* The pool whose <domain> blocks apply to vmta (at most one has any). */
static const struct conf_dblist *
pool_level(const struct conf *c, const char *vmta)
{
	for (size_t i = 0; i < c->npools; i++) {
		const struct conf_pool *pl = &c->pools[i];

		if (!c->in->pool_blocks[i].has_blocks)
			continue;
		if (strcasecmp(pl->name, vmta) == 0)
			return &c->in->pool_blocks[i];
		for (size_t j = 0; j < pl->nmembers; j++)
			if (strcasecmp(pl->members[j]->name, vmta) == 0)
				return &c->in->pool_blocks[i];
	}
	return NULL;
}

const struct conf_domain *
conf_domain_lookup(const struct conf *c, const char *vmta,
    const char *domain)
{
	const struct conf_dblock **sig = NULL;
	const struct conf_domain *d;
	size_t nsig = 0, len;
	char dom[256];

	len = strlen(domain);
	if (len >= sizeof(dom))
		len = sizeof(dom) - 1;
	for (size_t i = 0; i < len; i++)
		dom[i] = (char)tolower((unsigned char)domain[i]);
	dom[len] = '\0';
	if (len > 0 && dom[len - 1] == '.')
		dom[len - 1] = '\0';
	level_collect(&c->in->global, dom, &sig, &nsig);
	if (vmta != NULL && strcasecmp(vmta, CONF_DEFAULT_VMTA) != 0) {
		size_t vi;

		level_collect(pool_level(c, vmta), dom, &sig, &nsig);
		for (vi = 0; vi < c->nvmtas; vi++)
			if (strcasecmp(c->vmtas[vi].name, vmta) == 0)
				level_collect(&c->in->vmta_blocks[vi], dom,
				    &sig, &nsig);
	}
	pthread_mutex_lock(&c->in->lock);
	d = cache_get(c, sig, nsig);
	pthread_mutex_unlock(&c->in->lock);
	free(sig);
	return d;
}
