/*
 * bounce_rules.c -- <bounce-category-patterns>: compile and classify.
 *
 * Rules are tried in order: the user's lines first, then the built-in
 * table (bounce_defaults.c); the first PCRE2 match (caseless, byte mode,
 * so invalid UTF-8 in a remote reply is harmless) gives the category.
 * The subject is "<status>;<diag>"; with no status one is taken from the
 * diagnostic ("550 5.1.1 ..." -> 5.1.1, else 5.0.0 / 4.0.0 by reply code).
 * Ownership: a bounce_rules owns its compiled patterns and user category
 * strings; bounce_classify() returns a built-in static string or one owned
 * by the rules (valid until bounce_rules_free()). Classification is
 * read-only and may run on several threads at once.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce.h"
#include "bounce/bounce_int.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

struct bounce_rule {
	pcre2_code	*re;
	const char	*cat;
	char		*owned;		/* user category, else NULL */
};

struct bounce_rules {
	struct bounce_rule	*v;
	size_t			 n;
};

/* Compile re; NULL with a message in err. */
static pcre2_code *
bounce_compile(const char *re, size_t len, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *c;
	int ec;

	c = pcre2_compile((PCRE2_SPTR)re, len, PCRE2_CASELESS, &ec, &off,
	    NULL);
	if (c == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "bad pattern at offset %zu: %s",
		    (size_t)off, (const char *)msg);
		return NULL;
	}
	(void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);	/* optional */
	return c;
}

/*
 * Split a user line "/REGEX/ category  # comment" into its parts.
 * 0, or -1 with err.
 */
static int
bounce_line_parse(const char *line, const char **re, size_t *relen,
    const char **cat, size_t *catlen, char *err, size_t errlen)
{
	const char *s = line, *e, *c;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	for (const char *h = s; *h; h++)
		if (*h == '#' && h > s && isspace((unsigned char)h[-1])) {
			e = h;
			break;
		}
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	c = e;
	while (c > s && !isspace((unsigned char)c[-1]))
		c--;
	*cat = c;
	*catlen = (size_t)(e - c);
	while (c > s && isspace((unsigned char)c[-1]))
		c--;
	if (*catlen == 0 || c - s < 2 || s[0] != '/' || c[-1] != '/') {
		snprintf(err, errlen, "expected \"/REGEX/ category\"");
		return -1;
	}
	*re = s + 1;
	*relen = (size_t)(c - 1 - (s + 1));
	return 0;
}

static void
bounce_rules_add(struct bounce_rules *r, pcre2_code *re, const char *cat,
    char *owned)
{
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	r->v[r->n].re = re;
	r->v[r->n].cat = cat;
	r->v[r->n].owned = owned;
	r->n++;
}

struct bounce_rules *
bounce_rules_new(const char *const *user, size_t nuser, char *err,
    size_t errlen)
{
	struct bounce_rules *r = xcalloc(1, sizeof(*r));
	const char *re, *cat;
	size_t relen, catlen;
	char e[300];
	pcre2_code *c;

	for (size_t i = 0; user != NULL && i < nuser; i++) {
		if (bounce_line_parse(user[i], &re, &relen, &cat, &catlen, e,
		    sizeof(e)) != 0 ||
		    (c = bounce_compile(re, relen, e, sizeof(e))) == NULL) {
			snprintf(err, errlen, "line %zu: %s", i + 1, e);
			bounce_rules_free(r);
			return NULL;
		}
		char *owned = xstrndup(cat, catlen);
		bounce_rules_add(r, c, owned, owned);
	}
	for (size_t i = 0; i < bounce_ndefaults; i++) {
		c = bounce_compile(bounce_defaults[i].re,
		    strlen(bounce_defaults[i].re), e, sizeof(e));
		if (c == NULL) {
			snprintf(err, errlen, "built-in rule %zu: %s", i, e);
			bounce_rules_free(r);
			return NULL;
		}
		bounce_rules_add(r, c, bounce_defaults[i].cat, NULL);
	}
	return r;
}

void
bounce_rules_free(struct bounce_rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		pcre2_code_free(r->v[i].re);
		free(r->v[i].owned);
	}
	free(r->v);
	free(r);
}

/* Status from a diagnostic: the first "[245].d.d" after the reply code,
 * else the reply code's class; "" if neither. */
static void
bounce_status_from_diag(const char *diag, char *out, size_t len)
{
	const char *p = strchr(diag, ';') ? strchr(diag, ';') + 1 : diag;
	int a, b, c, n = 0;
	const char *code;

	out[0] = '\0';
	while (*p == ' ')
		p++;
	code = p;
	for (; *p; p++) {
		if ((*p == '2' || *p == '4' || *p == '5') &&
		    (p == diag || !isdigit((unsigned char)p[-1])) &&
		    sscanf(p, "%1d.%3d.%3d%n", &a, &b, &c, &n) == 3 && n > 0) {
			snprintf(out, len, "%d.%d.%d", a, b, c);
			return;
		}
	}
	if ((code[0] == '4' || code[0] == '5') && isdigit((unsigned char)code[1]))
		snprintf(out, len, "%c.0.0", code[0]);
}

const char *
bounce_classify(const struct bounce_rules *r, const char *status,
    const char *diag)
{
	char st[32];
	struct sbuf subj;
	pcre2_match_data *md;
	const char *cat = "other";

	if (r == NULL)
		return cat;
	if (diag == NULL)
		diag = "";
	/* Only the code counts: "5.1.1 (bad ...)" is accepted too. */
	if (status != NULL && strspn(status, "0123456789.") > 0)
		snprintf(st, sizeof(st), "%.*s",
		    (int)strspn(status, "0123456789."), status);
	else
		bounce_status_from_diag(diag, st, sizeof(st));
	status = st;
	sbuf_init(&subj);
	sbuf_printf(&subj, "%s;%s", status, diag);
	md = pcre2_match_data_create(1, NULL);
	for (size_t i = 0; i < r->n; i++) {
		if (pcre2_match(r->v[i].re, (PCRE2_SPTR)subj.p, subj.len, 0, 0,
		    md, NULL) >= 0) {
			cat = r->v[i].cat;
			break;
		}
	}
	pcre2_match_data_free(md);
	sbuf_fini(&subj);
	return cat;
}
