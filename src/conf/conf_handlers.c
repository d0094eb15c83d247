/*
 * conf_handlers.c -- parsers for directives whose values have their own
 * syntax (CT_FN entries of the table): listeners, source hosts, access
 * lists, DKIM key declarations, references to named objects, smtp-hosts,
 * retry-schedule, bounce-upon-no-mx, acct-file records/record-fields,
 * pool members and smtp-user fields.
 *
 * Invariants: each handler validates the whole value before storing
 * anything; names of objects that may be defined later in the file are
 * recorded with conf_add_ref() and checked by conf_finalize().
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"
#include "lib/strutil.h"
#include "lib/xmalloc.h"

#define GROW(arr, n)	((arr) = xreallocarray((arr), (n) + 1, sizeof(*(arr))))
#define FIELD(obj, d, type)	((type *)((char *)(obj) + (d)->off))

static unsigned
cur_scope(struct conf_parser *p)
{
	return p->depth ? p->stack[p->depth - 1].scope : CS_GLOBAL;
}

/* Split into at most max whitespace-separated tokens (in buf). */
static int
tokens(char *buf, char **tok, int max)
{
	char *save = NULL;
	int n = 0;

	for (char *s = strtok_r(buf, " \t", &save); s != NULL;
	    s = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		tok[n++] = s;
	}
	return n;
}

static int
parse_ip(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* "IP:PORT", "[IPv6]:PORT"; writes the bare IP into ip. */
static int
parse_hostport(const char *s, char *ip, size_t iplen, long *port)
{
	const char *colon;
	char *end;
	size_t n;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		n = (size_t)(rb - s - 1);
		s++;
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = (size_t)(colon - s);
		if (memchr(s, ':', n) != NULL)
			return -1;	/* bare IPv6 needs [] */
	}
	if (n == 0 || n >= iplen)
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	*port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || *port < 0 || *port > 65535)
		return -1;
	return 0;
}

int
conf_h_listener(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf *c = obj;
	char buf[512], ip[INET6_ADDRSTRLEN + 8], *tok[3];
	struct sockaddr_storage ss;
	struct conf_listener *l;
	socklen_t sl;
	long port;
	int n;

	snprintf(buf, sizeof(buf), "%s", arg);
	if ((n = tokens(buf, tok, 2)) < 1)
		return conf_perr(p, "%s: expected IP:PORT [source=NAME]",
		    d->name);
	if (parse_hostport(tok[0], ip, sizeof(ip), &port) == -1)
		return conf_perr(p, "%s: bad address \"%s\" (IP:PORT, "
		    "[IPv6]:PORT)", d->name, tok[0]);
	if (strcmp(ip, "0/0") == 0)
		snprintf(ip, sizeof(ip), "0.0.0.0");
	if (parse_ip(ip, &ss, &sl) == -1)
		return conf_perr(p, "%s: bad IP address \"%s\"", d->name, ip);
	if (n == 2 && (strncmp(tok[1], "source=", 7) != 0 || tok[1][7] == 0))
		return conf_perr(p, "%s: expected source=NAME, got \"%s\"",
		    d->name, tok[1]);
	GROW(c->listeners, c->nlisteners);
	l = &c->listeners[c->nlisteners++];
	l->addr = conf_strdup(c, ip);
	l->port = (uint16_t)port;
	l->source = n == 2 ? conf_strdup(c, tok[1] + 7) : NULL;
	if (l->source != NULL)
		conf_add_ref(p, CONF_REF_SOURCE, l->source, 0);
	return 0;
}

int
conf_h_source_host(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_source_host **arr, *h;
	size_t *n;
	char buf[512], *tok[3];

	if (cur_scope(p) == CS_VMTA) {
		arr = &((struct conf_vmta *)obj)->source_hosts;
		n = &((struct conf_vmta *)obj)->nsource_hosts;
	} else {
		arr = &p->c->source_hosts;
		n = &p->c->nsource_hosts;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	if (tokens(buf, tok, 2) != 2)
		return conf_perr(p, "%s: expected IP HOSTNAME", d->name);
	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	h = &(*arr)[*n];
	memset(h, 0, sizeof(*h));
	if (parse_ip(tok[0], &h->addr, &h->addrlen) == -1)
		return conf_perr(p, "%s: bad IP address \"%s\"", d->name,
		    tok[0]);
	h->ip = conf_strdup(p->c, tok[0]);
	h->host = conf_strdup(p->c, tok[1]);
	(*n)++;
	return 0;
}

int
conf_h_postmaster(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf *c = obj;

	if (*arg == '\0' || strchr(arg, '@') == NULL || strchr(arg, ' '))
		return conf_perr(p, "%s: expected an address", d->name);
	GROW(c->postmaster, c->npostmaster);
	c->postmaster[c->npostmaster++] = conf_strdup(c, arg);
	return 0;
}

int
conf_h_http_access(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	static const char *lv[] = { "none", "monitor", "operator", "admin" };
	struct conf *c = obj;
	struct conf_http_access a;
	char buf[256], *tok[3], *lvl, *opt;
	int i;

	memset(&a, 0, sizeof(a));
	snprintf(buf, sizeof(buf), "%s", arg);
	if (tokens(buf, tok, 2) != 2)
		return conf_perr(p, "%s: expected CIDR LEVEL", d->name);
	if (conf_cidr_parse(tok[0], &a.cidr) == -1)
		return conf_perr(p, "%s: bad CIDR \"%s\"", d->name, tok[0]);
	lvl = tok[1];
	if ((opt = strchr(lvl, ',')) != NULL) {
		*opt++ = '\0';
		if (strcmp(opt, "deny-logs") != 0)
			return conf_perr(p, "%s: unknown option \"%s\"",
			    d->name, opt);
		a.deny_logs = 1;
	}
	for (i = 0; i < 4 && strcasecmp(lvl, lv[i]) != 0; i++)
		;
	if (i == 4)
		return conf_perr(p, "%s: level must be none|monitor|operator|"
		    "admin, got \"%s\"", d->name, lvl);
	a.level = (enum conf_http_level)i;
	GROW(c->http_access, c->nhttp_access);
	c->http_access[c->nhttp_access++] = a;
	return 0;
}

int
conf_h_domain_key(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_dkim_key **arr, *k;
	size_t *n;
	char buf[1024], *sel, *dom, *file;

	snprintf(buf, sizeof(buf), "%s", arg);
	sel = buf;
	if ((dom = strchr(sel, ',')) == NULL ||
	    (file = strchr(dom + 1, ',')) == NULL)
		return conf_perr(p, "%s: expected SELECTOR,DOMAIN,FILE", d->name);
	*dom++ = '\0';
	*file++ = '\0';
	sel = str_trim(sel), dom = str_trim(dom), file = str_trim(file);
	if (*sel == '\0' || *dom == '\0' || *file == '\0' || strchr(file, ','))
		return conf_perr(p, "%s: expected SELECTOR,DOMAIN,FILE", d->name);
	if (cur_scope(p) == CS_VMTA) {
		arr = &((struct conf_vmta *)obj)->dkim_keys;
		n = &((struct conf_vmta *)obj)->ndkim_keys;
	} else if (cur_scope(p) == CS_POOL) {
		arr = &((struct conf_pool *)obj)->dkim_keys;
		n = &((struct conf_pool *)obj)->ndkim_keys;
	} else {
		arr = &p->c->dkim_keys;
		n = &p->c->ndkim_keys;
	}
	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	k = &(*arr)[(*n)++];
	k->selector = conf_strdup(p->c, sel);
	for (char *s = dom; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	k->domain = conf_strdup(p->c, dom);
	k->path = conf_resolve_path(p, file);
	return 0;
}

int
conf_h_dns_server(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	char buf[1024], ip[INET6_ADDRSTRLEN + 8], *save = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	long port;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *s = strtok_r(buf, ",", &save); s != NULL;
	    s = strtok_r(NULL, ",", &save)) {
		s = str_trim(s);
		if (parse_hostport(s, ip, sizeof(ip), &port) == -1)
			snprintf(ip, sizeof(ip), "%s", s);
		if (parse_ip(ip, &ss, &sl) == -1)
			return conf_perr(p, "%s: bad server \"%s\" (IP[:PORT], "
			    "[IPv6]:PORT)", d->name, s);
	}
	if (*arg == '\0')
		return conf_perr(p, "%s: missing value", d->name);
	*FIELD(obj, d, char *) = conf_strdup(p->c, arg);
	return 0;
}

static int
name_ref(struct conf_parser *p, const struct conf_directive *d, void *obj,
    const char *arg, enum conf_ref_kind k)
{
	if (*arg == '\0' || strpbrk(arg, " \t") != NULL)
		return conf_perr(p, "%s: expected one name", d->name);
	*FIELD(obj, d, char *) = conf_strdup(p->c, arg);
	conf_add_ref(p, k, arg, 0);
	return 0;
}

int
conf_h_default_vmta(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	if (strcmp(arg, "by-smtp-source-ip") == 0) {
		*FIELD(obj, d, char *) = conf_strdup(p->c, arg);
		return 0;
	}
	return name_ref(p, d, obj, arg, CONF_REF_VMTA_OR_POOL);
}

/* (backoff-)reroute-to-virtual-mta NAME: a vmta or pool; the ref keeps
 * the stored string so a loop can be reported at its line. */
int
conf_h_reroute(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	if (name_ref(p, d, obj, arg, CONF_REF_VMTA_OR_POOL) == -1)
		return -1;
	p->c->in->refs[p->c->in->nrefs - 1].val = *FIELD(obj, d, char *);
	return 0;
}

int
conf_h_pattern_list_ref(struct conf_parser *p,
    const struct conf_directive *d, void *obj, const char *arg)
{
	return name_ref(p, d, obj, arg, CONF_REF_PL);
}

int
conf_h_spl_ref(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	return name_ref(p, d, obj, arg, CONF_REF_SPL);
}

int
conf_h_member(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	(void)obj;
	if (*arg == '\0' || strpbrk(arg, " \t,") != NULL)
		return conf_perr(p, "%s: expected one VMTA name", d->name);
	conf_add_ref(p, CONF_REF_POOL_MEMBER, arg, p->stack[p->depth - 1].index);
	return 0;
}

int
conf_h_user_password(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_user *u = obj;

	if (*arg == '\0')
		return conf_perr(p, "%s: empty password", d->name);
	u->password = conf_strdup(p->c, arg);
	return 0;
}

int
conf_h_user_source(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	struct conf_user *u = obj;

	if (*arg == '\0' || strpbrk(arg, " \t") != NULL)
		return conf_perr(p, "%s: expected a <source> name", d->name);
	u->source = conf_strdup(p->c, arg);
	conf_add_ref(p, CONF_REF_SOURCE, arg, 0);
	return 0;
}
