/*
 * conf_doc.c -- directive documentation generated from the directive table
 * (plain text for `sluiced --help-config`, Markdown for docs/config.md).
 *
 * Invariants: reads only conf_directives[]; prints scopes in a fixed order
 * so the output is stable and docs/config.md can be regenerated and
 * diffed (tests compare it with the committed file).
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf_internal.h"

static const unsigned doc_scopes[] = {
	CS_GLOBAL, CS_SPOOL, CS_SOURCE, CS_DOMAIN, CS_VMTA, CS_POOL, CS_ACCT,
	CS_SPL, CS_PL, CS_ROLLUP, CS_USER,
};

static const char *
type_name(const struct conf_directive *d)
{
	switch (d->type) {
	case CT_BOOL: return "boolean";
	case CT_INT: return "integer";
	case CT_SIZE: return "size";
	case CT_TIME: return (d->flags & CF_NEVER) ? "time|never" : "time";
	case CT_RATE: return "rate";
	case CT_STR: return (d->flags & CF_PATH) ? "path" : "string";
	case CT_ENUM: return "keyword";
	case CT_TIMELIST: return "time list";
	case CT_FN: return "special";
	case CT_BLOCK: return "block";
	}
	return "?";
}

static void
scopes_str(char *buf, size_t len, unsigned scopes)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned bit = 1; bit <= CS_USER && off < len; bit <<= 1) {
		if (!(scopes & bit))
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    off ? ", " : "", conf_scope_name(bit));
	}
}

static void
range_str(char *buf, size_t len, const struct conf_directive *d)
{
	buf[0] = '\0';
	if (d->type == CT_INT)
		snprintf(buf, len, "%lld..%lld", (long long)d->min,
		    (long long)d->max);
	else if (d->type == CT_ENUM || (d->type == CT_STR && d->enums)) {
		size_t off = 0;

		for (const struct conf_enum *e = d->enums; e->name && off < len;
		    e++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off ? "|" : "", e->name);
	} else if (d->type == CT_SIZE && d->min)
		snprintf(buf, len, ">= %lldk", (long long)d->min / 1024);
}

/* Markdown table cell: escape the column separator, and <tags> outside
 * `code` spans so they are not taken as HTML. */
static void
md_put(FILE *fp, const char *s)
{
	int code = 0;

	for (; *s != '\0'; s++) {
		if (*s == '`')
			code = !code;
		if (*s == '|')
			fputc('\\', fp);
		if (!code && *s == '<')
			fputs("&lt;", fp);
		else if (!code && *s == '>')
			fputs("&gt;", fp);
		else
			fputc(*s, fp);
	}
}

static void
print_one(FILE *fp, const struct conf_directive *d, enum conf_doc_format f)
{
	char scopes[256], range[256];
	const char *def = d->def ? d->def : "";

	scopes_str(scopes, sizeof(scopes), d->scopes);
	range_str(range, sizeof(range), d);
	if (f == CONF_DOC_MARKDOWN) {
		fprintf(fp, "| `%s%s%s` | %s | ", d->type == CT_BLOCK ? "<" : "",
		    d->name, d->type == CT_BLOCK ? ">" : "", type_name(d));
		md_put(fp, *def ? def : "-");
		fputs(" | ", fp);
		md_put(fp, range);
		fputs(" | ", fp);
		md_put(fp, d->help);
		fputs(" |\n", fp);
		return;
	}
	fprintf(fp, "  %s%s%s\n", d->type == CT_BLOCK ? "<" : "", d->name,
	    d->type == CT_BLOCK ? ">" : "");
	fprintf(fp, "      type: %s", type_name(d));
	if (*def)
		fprintf(fp, "   default: %s", def);
	if (*range)
		fprintf(fp, "   values: %s", range);
	fprintf(fp, "\n      scope: %s\n      %s\n", scopes, d->help);
}

void
conf_print_directives_fmt(FILE *fp, enum conf_doc_format f)
{
	for (size_t s = 0; s < sizeof(doc_scopes) / sizeof(doc_scopes[0]);
	    s++) {
		unsigned scope = doc_scopes[s];

		if (f == CONF_DOC_MARKDOWN)
			fprintf(fp, "\n## %s\n\n| directive | type | default | "
			    "values | meaning |\n|---|---|---|---|---|\n",
			    conf_scope_name(scope));
		else
			fprintf(fp, "\n%s\n", conf_scope_name(scope));
		for (size_t i = 0; i < conf_ndirectives; i++)
			if (conf_directives[i].scopes & scope)
				print_one(fp, &conf_directives[i], f);
	}
}

void
conf_print_directives(FILE *fp)
{
	conf_print_directives_fmt(fp, CONF_DOC_TEXT);
}
