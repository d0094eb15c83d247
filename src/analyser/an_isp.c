/*
 * an_isp.c -- domain -> ISP rules (see an_isp.h).
 *
 * Lookups run once per distinct domain (the aggregate caches the result),
 * so a linear rule scan is fine.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyser/an_isp.h"
#include "lib/strutil.h"
#include "lib/xmalloc.h"

static const char *const an_isp_builtin[][2] = {
	{ "gmail.com", "Gmail" }, { "googlemail.com", "Gmail" },
	{ "outlook.*", "Microsoft" }, { "hotmail.*", "Microsoft" },
	{ "live.*", "Microsoft" }, { "msn.com", "Microsoft" },
	{ "windowslive.com", "Microsoft" },
	{ "yahoo.*", "Yahoo" }, { "ymail.com", "Yahoo" },
	{ "rocketmail.com", "Yahoo" }, { "aol.*", "Yahoo" },
	{ "aim.com", "Yahoo" }, { "verizon.net", "Yahoo" },
	{ "icloud.com", "Apple" }, { "me.com", "Apple" }, { "mac.com", "Apple" },
	{ "comcast.net", "Comcast" },
	{ "att.net", "AT&T" }, { "sbcglobal.net", "AT&T" },
	{ "bellsouth.net", "AT&T" },
	{ "gmx.*", "GMX/Web.de" }, { "web.de", "GMX/Web.de" },
	{ "mail.com", "GMX/Web.de" },
	{ "orange.fr", "Orange" }, { "wanadoo.fr", "Orange" },
	{ "free.fr", "Free" }, { "sfr.fr", "SFR" }, { "laposte.net", "La Poste" },
	{ "t-online.de", "T-Online" }, { "libero.it", "Libero" },
	{ "yandex.*", "Yandex" }, { "ya.ru", "Yandex" },
	{ "mail.ru", "Mail.ru" }, { "inbox.ru", "Mail.ru" },
	{ "list.ru", "Mail.ru" }, { "bk.ru", "Mail.ru" },
	{ "protonmail.com", "Proton" }, { "proton.me", "Proton" },
	{ "zoho.com", "Zoho" }, { "qq.com", "QQ" },
	{ "163.com", "NetEase" }, { "126.com", "NetEase" },
	{ "seznam.cz", "Seznam" }, { "btinternet.com", "BT" },
	{ "cox.net", "Cox" }, { "charter.net", "Charter" },
};

static int
an_isp_id(struct an_isp_map *m, const char *name)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->names[i], name) == 0)
			return i;
	if (m->n >= AN_ISP_MAX)
		return -1;
	m->names[m->n] = xstrdup(name);
	return m->n++;
}

int
an_isp_map_add(struct an_isp_map *m, const char *pat, const char *isp)
{
	struct an_isp_rule r;
	size_t len = strlen(pat);

	memset(&r, 0, sizeof(r));
	if (len > 2 && pat[len - 2] == '.' && pat[len - 1] == '*') {
		r.kind = 1;
		len -= 2;
	} else if (len > 2 && pat[0] == '*' && pat[1] == '.') {
		r.kind = 2;
		pat += 2;
		len -= 2;
	}
	if (len == 0 || memchr(pat, '*', len) != NULL || *isp == '\0')
		return -1;
	if ((r.isp = an_isp_id(m, isp)) < 0)
		return -1;
	r.pat = xstrndup(pat, len);
	for (size_t i = 0; i < len; i++)
		r.pat[i] = (char)tolower((unsigned char)r.pat[i]);
	r.len = len;
	m->rules = xreallocarray(m->rules, m->nrules + 1, sizeof(*m->rules));
	memmove(m->rules + 1, m->rules, m->nrules * sizeof(*m->rules));
	m->rules[0] = r;
	m->nrules++;
	return 0;
}

void
an_isp_map_init(struct an_isp_map *m)
{
	size_t n = sizeof(an_isp_builtin) / sizeof(an_isp_builtin[0]);

	memset(m, 0, sizeof(*m));
	an_isp_id(m, "Other");
	/* Added in reverse so the table order is the match order. */
	for (size_t i = n; i-- > 0;)
		an_isp_map_add(m, an_isp_builtin[i][0], an_isp_builtin[i][1]);
}

void
an_isp_map_fini(struct an_isp_map *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->names[i]);
	for (size_t i = 0; i < m->nrules; i++)
		free(m->rules[i].pat);
	free(m->rules);
	memset(m, 0, sizeof(*m));
}

int
an_isp_map_load(struct an_isp_map *m, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024], *p, *sp;
	unsigned ln = 0;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "sluice acct: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		ln++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = str_trim(line);
		if (*p == '\0')
			continue;
		sp = p + strcspn(p, " \t");
		if (*sp == '\0' || (*sp = '\0', an_isp_map_add(m, p,
		    str_trim(sp + 1)) != 0)) {
			fprintf(stderr, "sluice acct: %s:%u: expected "
			    "'PATTERN ISP' (PATTERN: domain, name.* or "
			    "*.domain; at most %d ISPs)\n", path, ln, AN_ISP_MAX);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

/* Is s (len n) a plausible public suffix: "tld" or "co.tld"? */
static int
an_isp_tld(const char *s, size_t n)
{
	const char *dot = memchr(s, '.', n);

	if (n == 0)
		return 0;
	if (dot == NULL)
		return 1;
	return (size_t)(dot - s) <= 3 && memchr(dot + 1, '.',
	    n - (size_t)(dot - s) - 1) == NULL;
}

static int
an_isp_match(const struct an_isp_rule *r, const char *d, size_t n)
{
	switch (r->kind) {
	case 1:
		return n > r->len + 1 && d[r->len] == '.' &&
		    memcmp(d, r->pat, r->len) == 0 &&
		    an_isp_tld(d + r->len + 1, n - r->len - 1);
	case 2:
		return n > r->len + 1 && d[n - r->len - 1] == '.' &&
		    memcmp(d + n - r->len, r->pat, r->len) == 0;
	default:
		if (n == r->len)
			return memcmp(d, r->pat, n) == 0;
		return n > r->len + 1 && d[n - r->len - 1] == '.' &&
		    memcmp(d + n - r->len, r->pat, r->len) == 0;
	}
}

int
an_isp_lookup(const struct an_isp_map *m, const char *dom, size_t len)
{
	for (size_t i = 0; i < m->nrules; i++)
		if (an_isp_match(&m->rules[i], dom, len))
			return m->rules[i].isp;
	return 0;
}
