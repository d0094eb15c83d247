/*
 * conf_parse.c -- the line reader: comments, <tag ARG> / </tag> blocks,
 * `keyword value` lines, include files and error positions.
 *
 * Invariants: the first error stops parsing and is reported once as
 * "FILE:LINE: message"; a block opened in a file must be closed in that
 * same file; include loops are detected by real path. Strings the parser
 * creates belong to the conf being built (conf_strdup).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_internal.h"
#include "lib/strutil.h"
#include "lib/xmalloc.h"

#define CONF_MAX_FILE	(16 * 1024 * 1024)

int
conf_perr(struct conf_parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->file, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	return -1;
}

void
conf_own(struct conf *c, void *ptr)
{
	struct conf_internal *in = c->in;

	in->strings = xreallocarray(in->strings, in->nstrings + 1,
	    sizeof(*in->strings));
	in->strings[in->nstrings++] = ptr;
}

char *
conf_strdup(struct conf *c, const char *s)
{
	char *v = xstrdup(s);

	conf_own(c, v);
	return v;
}

/* Path relative to the directory of the file being read. */
char *
conf_resolve_path(struct conf_parser *p, const char *path)
{
	char *dup, *dir, *res;

	if (path[0] == '/' || p->file == NULL || strchr(p->file, '/') == NULL)
		return conf_strdup(p->c, path);
	dup = xstrdup(p->file);
	dir = dirname(dup);
	res = xasprintf("%s/%s", dir, path);
	free(dup);
	dup = conf_strdup(p->c, res);
	free(res);
	return dup;
}

void
conf_add_ref(struct conf_parser *p, enum conf_ref_kind k, const char *name,
    size_t owner)
{
	struct conf_internal *in = p->c->in;
	struct conf_ref *r;

	in->refs = xreallocarray(in->refs, in->nrefs + 1, sizeof(*in->refs));
	r = &in->refs[in->nrefs++];
	r->kind = k;
	r->name = conf_strdup(p->c, name);
	r->file = conf_strdup(p->c, p->file);
	r->line = p->line;
	r->owner = owner;
}

static int
parse_close(struct conf_parser *p, char *s, int base)
{
	size_t len = strlen(s);
	struct conf_frame *f;

	if (len < 3 || s[len - 1] != '>')
		return conf_perr(p, "malformed closing tag \"%s\"", s);
	s[len - 1] = '\0';
	s = str_trim(s + 2);
	if (p->depth <= base)
		return conf_perr(p, "</%s> without an open <%s> block", s, s);
	f = &p->stack[p->depth - 1];
	if (strcasecmp(s, f->tag) != 0)
		return conf_perr(p, "</%s> does not match <%s> opened at line "
		    "%d", s, f->tag, f->line);
	if (f->scope == CS_USER &&
	    p->c->users[f->index].password == NULL)
		return conf_perr(p, "<smtp-user %s> has no password",
		    p->c->users[f->index].name);
	p->depth--;
	return 0;
}

static int
parse_open(struct conf_parser *p, char *s)
{
	const struct conf_directive *d;
	unsigned scope = p->depth ? p->stack[p->depth - 1].scope : CS_GLOBAL;
	size_t len = strlen(s);
	char *name, *arg;
	int known;

	if (s[len - 1] != '>')
		return conf_perr(p, "tag must end with '>' on the same line");
	s[len - 1] = '\0';
	name = str_trim(s + 1);
	arg = name + strcspn(name, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	arg = str_trim(arg);
	d = conf_directive_find(name, scope, &known);
	if (d == NULL || d->type != CT_BLOCK) {
		if (known && d == NULL)
			return conf_perr(p, "<%s> not allowed in %s", name,
			    conf_scope_name(scope));
		return conf_perr(p, "unknown block <%s>", name);
	}
	if ((d->flags & CF_ARG) && *arg == '\0')
		return conf_perr(p, "<%s> needs an argument", name);
	if (!(d->flags & CF_ARG) && *arg != '\0')
		return conf_perr(p, "<%s> takes no argument", name);
	if (p->depth >= CONF_MAX_DEPTH)
		return conf_perr(p, "blocks nested too deeply");
	return conf_block_open(p, d, arg);
}

static int
apply_directive(struct conf_parser *p, const struct conf_directive *d,
    const char *arg)
{
	struct conf_frame *f = p->depth ? &p->stack[p->depth - 1] : NULL;
	int idx = conf_directive_index(d);

	if (f == NULL)
		return conf_directive_set(p, d, p->c, arg);
	if (f->scope == CS_DOMAIN) {
		for (size_t i = 0; i < f->ndblocks; i++) {
			struct conf_dblock *b = f->dblocks[i];

			if (conf_directive_set(p, d, &b->v, arg) == -1)
				return -1;
			b->set[idx / 64] |= 1ULL << (idx % 64);
		}
		return 0;
	}
	if (conf_directive_set(p, d, f->obj, arg) == -1)
		return -1;
	if (f->set != NULL)
		f->set[idx / 64] |= 1ULL << (idx % 64);
	return 0;
}

static int
parse_line(struct conf_parser *p, char *s, int base)
{
	unsigned scope = p->depth ? p->stack[p->depth - 1].scope : CS_GLOBAL;
	const struct conf_directive *d;
	char *arg;
	int known;

	if (s[0] == '<' && s[1] == '/')
		return parse_close(p, s, base);
	if (s[0] == '<')
		return parse_open(p, s);
	if (scope == CS_BOUNCE)
		return conf_bounce_line(p, s);
	arg = s + strcspn(s, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	arg = str_trim(arg);
	d = conf_directive_find(s, scope, &known);
	if (d == NULL && known)
		return conf_perr(p, "%s: not allowed in %s", s,
		    conf_scope_name(scope));
	if (d == NULL)
		return conf_perr(p, "unknown directive \"%s\"", s);
	if (d->type == CT_BLOCK)
		return conf_perr(p, "%s: is a block, write <%s ...>", s, s);
	return apply_directive(p, d, arg);
}

int
conf_parse_text(struct conf_parser *p, const char *name, char *text)
{
	const char *ofile = p->file;
	int oline = p->line, base = p->depth, rc = 0;
	char *s = text, *nl;

	p->file = name;
	p->line = 0;
	for (; s != NULL && rc == 0; s = nl) {
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = '\0';
		p->line++;
		s[strcspn(s, "#")] = '\0';
		s = str_trim(s);
		if (*s != '\0')
			rc = parse_line(p, s, base);
	}
	if (rc == 0 && p->depth > base) {
		struct conf_frame *f = &p->stack[p->depth - 1];

		p->line = f->line;
		rc = conf_perr(p, "unterminated <%s> block (no </%s>)",
		    f->tag, f->tag);
	}
	if (rc == 0) {
		p->file = ofile;
		p->line = oline;
	}
	return rc;
}

static char *
read_file(struct conf_parser *p, const char *path)
{
	struct stat st;
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		conf_perr(p, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONF_MAX_FILE) {
		fclose(fp);
		conf_perr(p, "%s: not a regular file or larger than 16M", path);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = fread(buf, 1, (size_t)st.st_size, fp);
	buf[n] = '\0';
	fclose(fp);
	if (memchr(buf, '\0', n) != NULL) {
		free(buf);
		conf_perr(p, "%s: contains NUL bytes", path);
		return NULL;
	}
	return buf;
}

int
conf_parse_file(struct conf_parser *p, const char *path)
{
	char real[PATH_MAX], *text;
	int rc;

	if (realpath(path, real) == NULL)
		return conf_perr(p, "cannot open %s: %s", path,
		    strerror(errno));
	for (int i = 0; i < p->nincl; i++)
		if (strcmp(p->incl[i], real) == 0)
			return conf_perr(p, "include loop: %s is already being "
			    "read", path);
	if (p->nincl >= CONF_MAX_INCLUDE)
		return conf_perr(p, "includes nested too deeply");
	if ((text = read_file(p, path)) == NULL)
		return -1;
	p->incl[p->nincl++] = xstrdup(real);
	rc = conf_parse_text(p, conf_strdup(p->c, path), text);
	free(p->incl[--p->nincl]);
	free(text);
	return rc;
}

/* include FILE|GLOB, relative to the including file. */
int
conf_h_include(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg)
{
	glob_t g;
	char *path;
	int rc = 0, grc;

	(void)obj;
	if (*arg == '\0')
		return conf_perr(p, "%s: missing file name", d->name);
	if (strncmp(arg, "http:", 5) == 0 || strncmp(arg, "https:", 6) == 0)
		return conf_perr(p, "include: URLs are not supported");
	path = conf_resolve_path(p, arg);
	if (strpbrk(path, "*?[") == NULL)
		return conf_parse_file(p, path);
	memset(&g, 0, sizeof(g));
	grc = glob(path, GLOB_ERR, NULL, &g);
	if (grc != 0 && grc != GLOB_NOMATCH) {
		globfree(&g);
		return conf_perr(p, "include %s: glob failed", arg);
	}
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
		rc = conf_parse_file(p, g.gl_pathv[i]);
	globfree(&g);
	return rc;
}
