/*
 * dkim_cache.c -- DKIM signing at spool time (after smtpd's header
 * changes: Received, Message-Id/Date, X-Virtual-MTA/X-Job stripping):
 * whether a message is signed, with which keys, and the loaded keys.
 * The rules are documented for users in docs/dkim-signing.md:
 *
 *  - Signed if its <source> says dkim-sign yes, or the merged <domain>
 *    settings (vmta, domain) of ANY recipient's domain say dkim-sign yes
 *    (PowerMTA decides per delivery; one signed copy serves all). The
 *    dkim-* canon/headers/identity/expire settings come from the first
 *    recipient domain saying yes, else from the first recipient's.
 *    `if-x-dkim-options-present` is treated as no.
 *  - Author domain (dkim-identity): sender-or-from (default) the Sender
 *    header's domain, else From's, else the envelope sender's; from: the
 *    same without Sender. With an address its domain is used instead,
 *    and i= is set.
 *  - dkim-sign yes but no key: sent unsigned with a rate-limited warning
 *    (warn_no_key); a block where no key can ever apply is refused at
 *    load (conf_dkim_check_scopes).
 *  - Keys for a domain D: levels VMTA, pools containing it (or the pool
 *    named by the message), global. In the first level with a key whose
 *    domain equals or is a parent of D, or is "*", every key of that level
 *    with that same domain entry signs (RSA + Ed25519 pairs). Else
 *    dkim-key-directory DIR/<D or nearest parent>/<selector>.pem, all keys
 *    of that directory.
 *  - dkim-esp-domain (VMTA, else pool, else global) adds the keys of that
 *    domain, found the same way, unless it is the author domain.
 *
 * Keys are loaded when the config is checked (dkim_cache_check): a key
 * that does not load is a config error (exit at start, old config kept on
 * reload), and no key file is read per message, except a "*" key, which
 * is read once per new signing domain (its d= is part of the loaded key);
 * if that fails the message is refused with a temporary error, never sent
 * unsigned. The keys of the last successful check wait in `pending` until
 * dkim_cache_new() takes them (start-up and reload both call check, then
 * new).
 * Ownership: a cache owns its keys; loop thread only.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf/conf.h"
#include "dkim/dkim.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "sched/sched.h"
#include "smtpd/smtpd.h"
#include "daemon/server.h"

#define DKC_MAX_SIGS	8
#define DKC_DOM_MAX	256

struct dkc_key {
	const struct conf_dkim_key *ck;		/* NULL: from the key dir */
	char			*domain;	/* signing domain (d=) */
	struct dkim_key		*key;
	struct dkc_key		*next;
};

/* "dkim-sign yes but no key" warnings: at most one per domain per
 * DKC_WARN_EVERY seconds (the last DKC_WARN_SLOTS domains remembered) and
 * DKC_WARN_BURST per DKC_WARN_EVERY overall; the rest are counted. */
#define DKC_WARN_SLOTS	64
#define DKC_WARN_EVERY	300
#define DKC_WARN_BURST	20

struct dkc_warn {
	char		dom[DKC_DOM_MAX];
	time_t		last;
	unsigned long	missed;		/* messages since the last warning */
};

struct dkim_cache {
	struct dkc_key		*keys;
	struct dkc_warn		 warn[DKC_WARN_SLOTS];
	time_t			 burst_start;
	unsigned		 burst;		/* warnings since burst_start */
	unsigned long		 burst_missed;	/* over the overall limit */
};

static struct dkim_cache *pending;	/* keys of the last good check */

static void
cache_destroy(struct dkim_cache *dc)
{
	struct dkc_key *e, *next;

	if (dc == NULL)
		return;
	for (e = dc->keys; e; e = next) {
		next = e->next;
		dkim_key_free(e->key);
		free(e->domain);
		free(e);
	}
	free(dc);
}

static void
pending_free(void)
{
	cache_destroy(pending);
	pending = NULL;
}

struct dkim_cache *
dkim_cache_new(void)
{
	struct dkim_cache *dc = pending;

	pending = NULL;
	return dc ? dc : xcalloc(1, sizeof(*dc));
}

void
dkim_cache_free(struct dkim_cache *dc)
{
	cache_destroy(dc);
}

static void
cache_add(struct dkim_cache *dc, const struct conf_dkim_key *ck,
    const char *domain, struct dkim_key *key)
{
	struct dkc_key *e = xcalloc(1, sizeof(*e)), **pp = &dc->keys;

	e->ck = ck;
	e->domain = xstrdup(domain);
	e->key = key;
	while (*pp)			/* keep load order (key dir: sorted) */
		pp = &(*pp)->next;
	*pp = e;
}

/* --- loading (config check) --- */

static int
load_list(struct dkim_cache *dc, const struct conf *c,
    const struct conf_dkim_key *k, size_t n, char *err, size_t errlen)
{
	char kerr[512];

	for (size_t i = 0; i < n; i++) {
		int wild = strcmp(k[i].domain, "*") == 0;
		struct dkim_key *key = dkim_key_load(k[i].path, k[i].selector,
		    wild ? "example.invalid" : k[i].domain, kerr, sizeof(kerr));

		if (key == NULL) {
			snprintf(err, errlen, "%s: domain-key %s,%s,%s: %s",
			    c->path, k[i].selector, k[i].domain, k[i].path,
			    kerr);
			return -1;
		}
		if (wild)	/* checked; loaded per signing domain */
			dkim_key_free(key);
		else
			cache_add(dc, &k[i], k[i].domain, key);
	}
	return 0;
}

static int
is_pem(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 &&
	    strcmp(d->d_name + n - 4, ".pem") == 0;
}

static int
not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every DIR/<domain>/<selector>.pem of one domain directory. */
static int
load_dir_domain(struct dkim_cache *dc, const char *dir, const char *name,
    char *err, size_t errlen)
{
	char *sub = xasprintf("%s/%s", dir, name), dom[DKC_DOM_MAX];
	char kerr[512];
	struct dirent **ents;
	int n, rc = 0;

	n = scandir(sub, &ents, is_pem, alphasort);
	snprintf(dom, sizeof(dom), "%s", name);
	for (char *p = dom; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", sub, ents[i]->d_name);
		char *sel = xstrndup(ents[i]->d_name,
		    strlen(ents[i]->d_name) - 4);
		struct dkim_key *key = rc ? NULL : dkim_key_load(path, sel,
		    dom, kerr, sizeof(kerr));

		if (key != NULL)
			cache_add(dc, NULL, dom, key);
		else if (rc == 0) {
			snprintf(err, errlen, "dkim-key-directory %s: %s: %s",
			    dir, path, kerr);
			rc = -1;
		}
		free(path);
		free(sel);
		free(ents[i]);
	}
	if (n >= 0)		/* n < 0: not a directory, ignored */
		free(ents);
	free(sub);
	return rc;
}

static int
load_dir(struct dkim_cache *dc, const char *dir, char *err, size_t errlen)
{
	struct dirent **ents;
	int n, rc = 0;

	if ((n = scandir(dir, &ents, not_dot, alphasort)) < 0) {
		snprintf(err, errlen, "dkim-key-directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = load_dir_domain(dc, dir, ents[i]->d_name, err,
			    errlen);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static size_t
dir_keys(const struct dkim_cache *dc)
{
	size_t n = 0;

	for (const struct dkc_key *e = dc->keys; e; e = e->next)
		n += e->ck == NULL;
	return n;
}

int
dkim_cache_check(const struct conf *c, char *err, size_t errlen)
{
	static int registered;
	struct dkim_cache *dc = xcalloc(1, sizeof(*dc));
	int rc = load_list(dc, c, c->dkim_keys, c->ndkim_keys, err, errlen);

	for (size_t i = 0; rc == 0 && i < c->nvmtas; i++)
		rc = load_list(dc, c, c->vmtas[i].dkim_keys,
		    c->vmtas[i].ndkim_keys, err, errlen);
	for (size_t i = 0; rc == 0 && i < c->npools; i++)
		rc = load_list(dc, c, c->pools[i].dkim_keys,
		    c->pools[i].ndkim_keys, err, errlen);
	if (rc == 0 && c->dkim_key_directory != NULL)
		rc = load_dir(dc, c->dkim_key_directory, err, errlen);
	if (rc == 0)
		rc = conf_dkim_check_scopes(c, dir_keys(dc), err, errlen);
	if (rc == -1) {
		cache_destroy(dc);
		return -1;
	}
	pending_free();
	pending = dc;
	if (!registered++)
		atexit(pending_free);
	return 0;
}

/* --- key choice --- */

static int
dom_is_or_under(const char *d, const char *parent)
{
	size_t n = strlen(d), m = strlen(parent);

	if (n == m)
		return strcasecmp(d, parent) == 0;
	return n > m && d[n - m - 1] == '.' &&
	    strcasecmp(d + n - m, parent) == 0;
}

/* The loaded key for a configured key and signing domain; "*" keys are
 * loaded here once per domain. NULL if that load fails (logged). */
static struct dkim_key *
key_for(struct dkim_cache *dc, const struct conf_dkim_key *ck,
    const char *dom)
{
	struct dkim_key *key;
	char err[512];

	for (struct dkc_key *e = dc->keys; e; e = e->next)
		if (e->ck == ck && strcasecmp(e->domain, dom) == 0)
			return e->key;
	if (strcmp(ck->domain, "*") != 0)
		return NULL;		/* not loaded at check: cannot be */
	key = dkim_key_load(ck->path, ck->selector, dom, err, sizeof(err));
	if (key == NULL) {
		log_warnx("dkim: domain-key %s,*,%s for %s: %s", ck->selector,
		    ck->path, dom, err);
		return NULL;
	}
	cache_add(dc, ck, dom, key);
	return key;
}

struct dkc_pick {
	const struct dkim_key	*keys[DKC_MAX_SIGS];
	int			 author[DKC_MAX_SIGS];	/* gets i= */
	int			 n;
	int			 failed;	/* a matched key did not load */
};

static void
pick_add(struct dkc_pick *p, const struct dkim_key *k, int author)
{
	for (int i = 0; i < p->n; i++)
		if (strcasecmp(dkim_key_domain(p->keys[i]),
		    dkim_key_domain(k)) == 0 &&
		    strcmp(dkim_key_selector(p->keys[i]),
		    dkim_key_selector(k)) == 0)
			return;		/* same d= and s=: once */
	if (p->n == DKC_MAX_SIGS)
		return;
	p->author[p->n] = author;
	p->keys[p->n++] = k;
}

/* Keys of one level matching dom; 1 if the level had a match. */
static int
pick_level(struct dkim_cache *dc, const struct conf_dkim_key *k, size_t n,
    const char *dom, int author, struct dkc_pick *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(k[i].domain, "*") == 0 ||
		    dom_is_or_under(dom, k[i].domain))
			break;
	if (i == n)
		return 0;
	for (size_t j = i; j < n; j++) {
		const struct dkim_key *key;

		if (strcmp(k[j].domain, k[i].domain) != 0)
			continue;
		key = key_for(dc, &k[j], strcmp(k[j].domain, "*") ? k[j].domain :
		    dom);
		if (key == NULL)
			p->failed = 1;
		else
			pick_add(p, key, author);
	}
	return 1;
}

/* Key directory: DIR/<dom or nearest parent>/ *.pem; 1 if found. */
static int
pick_dir(struct dkim_cache *dc, const char *dom, int author,
    struct dkc_pick *p)
{
	for (const char *d = dom; d != NULL; d = strchr(d, '.') ?
	    strchr(d, '.') + 1 : NULL) {
		int found = 0;

		for (struct dkc_key *e = dc->keys; e; e = e->next)
			if (e->ck == NULL && strcasecmp(e->domain, d) == 0) {
				pick_add(p, e->key, author);
				found = 1;
			}
		if (found)
			return 1;
	}
	return 0;
}

static void
pick_keys(struct dkim_cache *dc, const struct conf *c, const char *vmta,
    const char *dom, int author, struct dkc_pick *p)
{
	const struct conf_vmta *v = conf_vmta_find(c, vmta);
	const struct conf_pool *pl = conf_pool_find(c, vmta);

	if (v && pick_level(dc, v->dkim_keys, v->ndkim_keys, dom, author, p))
		return;
	for (size_t i = 0; v != NULL && i < c->npools; i++)
		for (size_t j = 0; j < c->pools[i].nmembers; j++)
			if (c->pools[i].members[j] == v &&
			    pick_level(dc, c->pools[i].dkim_keys,
			    c->pools[i].ndkim_keys, dom, author, p))
				return;
	if (pl && pick_level(dc, pl->dkim_keys, pl->ndkim_keys, dom, author,
	    p))
		return;
	if (pick_level(dc, c->dkim_keys, c->ndkim_keys, dom, author, p))
		return;
	pick_dir(dc, dom, author, p);
}

static const char *
esp_domain(const struct conf *c, const char *vmta)
{
	const struct conf_vmta *v = conf_vmta_find(c, vmta);
	const struct conf_pool *pl = conf_pool_find(c, vmta);

	if (v && v->dkim_esp_domain)
		return v->dkim_esp_domain;
	for (size_t i = 0; v != NULL && i < c->npools; i++)
		for (size_t j = 0; j < c->pools[i].nmembers; j++)
			if (c->pools[i].members[j] == v &&
			    c->pools[i].dkim_esp_domain)
				return c->pools[i].dkim_esp_domain;
	if (pl && pl->dkim_esp_domain)
		return pl->dkim_esp_domain;
	return c->dkim_esp_domain;
}

/* --- the message --- */

/* Unfolded value of the first header field `name` into buf, or NULL. */
static const char *
hdr_value(const char *data, size_t len, const char *name, char *buf,
    size_t blen)
{
	const char *p = data, *end = data + len;
	size_t nl = strlen(name);

	while (p < end && *p != '\r' && *p != '\n') {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t o = 0;

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) <= nl || p[nl] != ':' ||
		    strncasecmp(p, name, nl) != 0) {
			p = eol + 1;
			continue;
		}
		for (p += nl + 1;; p = eol + 1) {
			for (; p < eol && o + 1 < blen; p++)
				if (*p != '\r')
					buf[o++] = *p;
			if (eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
				break;
			eol = memchr(eol + 1, '\n', (size_t)(end - eol - 1));
			if (eol == NULL)
				eol = end;
		}
		buf[o] = '\0';
		return buf;
	}
	return NULL;
}

/* Domain of the first address in a header value (or a bare address). */
static const char *
addr_domain(const char *v, char *out, size_t olen)
{
	const char *lt = strchr(v, '<'), *at;
	size_t n = 0;

	if (lt != NULL)
		v = lt + 1;
	if ((at = strchr(v, '@')) == NULL)
		return NULL;
	for (at++; *at && n + 1 < olen && (isalnum((unsigned char)*at) ||
	    *at == '.' || *at == '-' || *at == '_'); at++)
		out[n++] = (char)tolower((unsigned char)*at);
	out[n] = '\0';
	return n ? out : NULL;
}

/* dkim-identity sender-or-from (use_sender) or from. */
static const char *
author_domain(const struct dkim_cache_msg *m, int use_sender, char *out,
    size_t olen)
{
	char buf[1024];
	const char *v, *d = NULL;

	if (use_sender &&
	    (v = hdr_value(m->data, m->len, "Sender", buf, sizeof(buf))))
		d = addr_domain(v, out, olen);
	if (d == NULL &&
	    (v = hdr_value(m->data, m->len, "From", buf, sizeof(buf))))
		d = addr_domain(v, out, olen);
	if (d == NULL && m->mail_from && *m->mail_from)
		d = addr_domain(m->mail_from, out, olen);
	return d;
}

/* The <domain> settings to sign with, or NULL when not signing. */
static const struct conf_domain *
sign_settings(const struct conf *c, const char *vmta,
    const struct dkim_cache_msg *m)
{
	const struct conf_domain *first = NULL;

	for (size_t i = 0; i < m->nrcpt; i++) {
		const char *dom = sched_addr_domain(m->rcpts[i].addr);
		const struct conf_domain *d = conf_domain_lookup(c, vmta,
		    dom ? dom : "");

		if (d->dkim_sign == CONF_DKIM_YES)
			return d;
		if (first == NULL)
			first = d;
	}
	if (!m->source_sign)
		return NULL;
	return first ? first : conf_domain_lookup(c, vmta, "");
}

static char *
sign_all(const struct dkc_pick *p, const struct conf_domain *d,
    const char *identity, const struct dkim_cache_msg *m, size_t *outlen)
{
	char *hdrs[DKC_MAX_SIGS], err[256], *out;
	size_t hl[DKC_MAX_SIGS], total = m->len;
	int n = 0;

	for (; n < p->n; n++) {
		struct dkim_sign_params sp = {
			.key = p->keys[n],
			.header_canon = d->dkim_headers_canon ==
			    CONF_CANON_SIMPLE ? DKIM_CANON_SIMPLE :
			    DKIM_CANON_RELAXED,
			.body_canon = d->dkim_body_canon == CONF_CANON_SIMPLE ?
			    DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED,
			.headers = d->dkim_headers,
			.identity = p->author[n] ? identity : NULL,
			.expire_after = d->dkim_expire_after > 0 ?
			    d->dkim_expire_after : 0,
		};
		if ((hdrs[n] = dkim_sign(&sp, m->data, m->len, err,
		    sizeof(err))) == NULL) {
			log_warnx("dkim: signing as d=%s s=%s failed: %s",
			    dkim_key_domain(p->keys[n]),
			    dkim_key_selector(p->keys[n]), err);
			while (n-- > 0)
				free(hdrs[n]);
			return NULL;
		}
		total += hl[n] = strlen(hdrs[n]);
	}
	out = xmalloc(total + 1);
	*outlen = 0;
	for (int i = 0; i < n; i++) {
		memcpy(out + *outlen, hdrs[i], hl[i]);
		*outlen += hl[i];
		free(hdrs[i]);
	}
	memcpy(out + *outlen, m->data, m->len);
	*outlen += m->len;
	out[*outlen] = '\0';
	return out;
}

/* A message that should be signed goes unsigned: say so, rate-limited. */
static void
warn_no_key(struct dkim_cache *dc, const char *dom)
{
	time_t now = time(NULL);
	struct dkc_warn *w = NULL, *oldest = &dc->warn[0];

	for (size_t i = 0; i < DKC_WARN_SLOTS && w == NULL; i++) {
		if (strcasecmp(dc->warn[i].dom, dom) == 0)
			w = &dc->warn[i];
		else if (dc->warn[i].last < oldest->last)
			oldest = &dc->warn[i];
	}
	if (w != NULL && now - w->last < DKC_WARN_EVERY) {
		w->missed++;
		return;
	}
	if (now - dc->burst_start >= DKC_WARN_EVERY) {
		if (dc->burst_missed)
			log_warnx("dkim: %lu more unsigned messages without a "
			    "DKIM key were not logged", dc->burst_missed);
		dc->burst_start = now;
		dc->burst = 0;
		dc->burst_missed = 0;
	}
	if (dc->burst >= DKC_WARN_BURST) {
		dc->burst_missed++;
		return;
	}
	dc->burst++;
	if (w == NULL) {
		w = oldest;
		snprintf(w->dom, sizeof(w->dom), "%s", dom);
		w->missed = 0;
	}
	if (w->missed)
		log_warnx("dkim: dkim-sign yes but no DKIM key for %s (no "
		    "domain-key or dkim-key-directory entry matches): sent "
		    "unsigned, with %lu more since the last warning for it "
		    "(at most one per %d s)", w->dom, w->missed,
		    DKC_WARN_EVERY);
	else
		log_warnx("dkim: dkim-sign yes but no DKIM key for %s (no "
		    "domain-key or dkim-key-directory entry matches): sent "
		    "unsigned (warned at most once per %d s)", w->dom,
		    DKC_WARN_EVERY);
	w->last = now;
	w->missed = 0;
}

int
dkim_cache_sign(struct dkim_cache *dc, const struct conf *c,
    const struct dkim_cache_msg *m, char **out, size_t *outlen)
{
	const char *v = m->vmta && strcmp(m->vmta, SCHED_DEFAULT_VMTA) ?
	    m->vmta : NULL;
	const struct conf_domain *d = sign_settings(c, v, m);
	const char *identity = NULL, *dom, *esp;
	char abuf[DKC_DOM_MAX];
	struct dkc_pick p = { .n = 0 };

	*out = NULL;
	if (d == NULL)
		return 0;
	if (d->dkim_identity == NULL ||
	    strcmp(d->dkim_identity, "sender-or-from") == 0)
		dom = author_domain(m, 1, abuf, sizeof(abuf));
	else if (strcmp(d->dkim_identity, "from") == 0)
		dom = author_domain(m, 0, abuf, sizeof(abuf));
	else {		/* an address (checked at load) */
		identity = d->dkim_identity;
		dom = addr_domain(identity, abuf, sizeof(abuf));
	}
	if (dom != NULL)
		pick_keys(dc, c, v, dom, 1, &p);
	if ((esp = esp_domain(c, v)) != NULL &&
	    (dom == NULL || strcasecmp(esp, dom) != 0))
		pick_keys(dc, c, v, esp, 0, &p);
	if (p.failed)
		return -1;
	if (p.n == 0) {
		warn_no_key(dc, dom ? dom : "(no author domain)");
		return 0;
	}
	return (*out = sign_all(&p, d, identity, m, outlen)) ? 0 : -1;
}
