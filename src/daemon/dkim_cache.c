/*
 * dkim_cache.c -- DKIM signing at spool time: decide whether a message is
 * signed (source-level or <domain> dkim-sign), pick the key (domain-key:
 * vmta, pool, global; the sender's domain or a parent), keep loaded keys.
 *
 * Keys are checked at config load (dkim_cache_check), so a bad key path is
 * a config error, never a silent unsigned send. Keys for "*" entries are
 * loaded per sending domain on first use. The cache is dropped on reload.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "dkim/dkim.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "daemon/server.h"

struct dkim_entry {
	char			*path, *domain;
	struct dkim_key		*key;
	struct dkim_entry	*next;
};

struct dkim_cache {
	struct dkim_entry	*head;
};

struct dkim_cache *
dkim_cache_new(void)
{
	return xcalloc(1, sizeof(struct dkim_cache));
}

void
dkim_cache_free(struct dkim_cache *dc)
{
	struct dkim_entry *e, *next;

	if (dc == NULL)
		return;
	for (e = dc->head; e; e = next) {
		next = e->next;
		dkim_key_free(e->key);
		free(e->path);
		free(e->domain);
		free(e);
	}
	free(dc);
}

static int
check_keys(const struct conf_dkim_key *k, size_t n, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *dom = strcmp(k[i].domain, "*") ? k[i].domain :
		    "example.invalid";
		struct dkim_key *key = dkim_key_load(k[i].path, k[i].selector,
		    dom, err, errlen);
		if (key == NULL)
			return -1;
		dkim_key_free(key);
	}
	return 0;
}

int
dkim_cache_check(const struct conf *c, char *err, size_t errlen)
{
	if (check_keys(c->dkim_keys, c->ndkim_keys, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < c->nvmtas; i++)
		if (check_keys(c->vmtas[i].dkim_keys, c->vmtas[i].ndkim_keys,
		    err, errlen) == -1)
			return -1;
	for (size_t i = 0; i < c->npools; i++)
		if (check_keys(c->pools[i].dkim_keys, c->pools[i].ndkim_keys,
		    err, errlen) == -1)
			return -1;
	return 0;
}

static struct dkim_key *
cache_key(struct dkim_cache *dc, const struct conf_dkim_key *k,
    const char *domain)
{
	struct dkim_entry *e;
	char err[256];

	for (e = dc->head; e; e = e->next)
		if (strcmp(e->path, k->path) == 0 &&
		    strcasecmp(e->domain, domain) == 0)
			return e->key;
	struct dkim_key *key = dkim_key_load(k->path, k->selector, domain,
	    err, sizeof(err));
	if (key == NULL) {
		log_warnx("dkim: %s", err);
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	e->path = xstrdup(k->path);
	e->domain = xstrdup(domain);
	e->key = key;
	e->next = dc->head;
	dc->head = e;
	return key;
}

/* Domain of the From: header's address, else NULL; into buf. */
static const char *
from_domain(const char *data, size_t len, char *buf, size_t blen)
{
	const char *p = data, *end = data + len;

	while (p < end && !(p + 1 < end && p[0] == '\r' && p[1] == '\n')) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > 5 && strncasecmp(p, "From:", 5) == 0) {
			const char *at = memchr(p, '@', (size_t)(eol - p));
			size_t n = 0;
			if (at == NULL)
				return NULL;
			for (at++; at < eol && n + 1 < blen &&
			    (isalnum((unsigned char)*at) || *at == '.' ||
			    *at == '-'); at++)
				buf[n++] = *at;
			buf[n] = '\0';
			return n ? buf : NULL;
		}
		p = eol + 1;
	}
	return NULL;
}

char *
dkim_cache_sign(struct dkim_cache *dc, const struct conf *c,
    const char *vmta, const char *mail_from, int source_sign,
    const char *rcpt_domain, const char *data, size_t len, size_t *outlen)
{
	const char *v = vmta && strcmp(vmta, SCHED_DEFAULT_VMTA) ? vmta : NULL;
	const struct conf_domain *d = conf_domain_lookup(c, v,
	    rcpt_domain ? rcpt_domain : "");
	char fbuf[256], err[256];
	const char *sdom;
	const struct conf_dkim_key *k;
	struct dkim_key *key;

	if (!source_sign && d->dkim_sign != CONF_DKIM_YES)
		return NULL;
	if ((sdom = from_domain(data, len, fbuf, sizeof(fbuf))) == NULL)
		sdom = mail_from ? sched_addr_domain(mail_from) : NULL;
	if (sdom == NULL || (k = conf_dkim_key_find(c, v, sdom)) == NULL) {
		log_debug("dkim: no key for sender domain %s", sdom ? sdom :
		    "(none)");
		return NULL;
	}
	key = cache_key(dc, k, strcmp(k->domain, "*") ? k->domain : sdom);
	if (key == NULL)
		return NULL;
	struct dkim_sign_params p = {
		.key = key,
		.header_canon = d->dkim_headers_canon == CONF_CANON_SIMPLE ?
		    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED,
		.body_canon = d->dkim_body_canon == CONF_CANON_SIMPLE ?
		    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED,
		.headers = d->dkim_headers,
		.identity = d->dkim_identity,
		.expire_after = d->dkim_expire_after > 0 ?
		    d->dkim_expire_after : 0,
	};
	char *hdr = dkim_sign(&p, data, len, err, sizeof(err));
	if (hdr == NULL) {
		log_warnx("dkim: signing failed: %s", err);
		return NULL;
	}
	size_t hl = strlen(hdr);
	char *out = xmalloc(hl + len + 1);
	memcpy(out, hdr, hl);
	memcpy(out + hl, data, len);
	out[hl + len] = '\0';
	*outlen = hl + len;
	free(hdr);
	return out;
}
