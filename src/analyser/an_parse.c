/*
 * an_parse.c -- header-driven accounting record parser (see an_parse.h).
 *
 * Invariant: ps->maxcol[t] is the highest column any needed field of type t
 * occupies under the current header (-1 if none), so a record is split only
 * as far as its type needs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyser/an_parse.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

void
an_errlog_add(struct an_errlog *l, const char *file, uint64_t line,
    const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	l->n++;
	if (l->nkept >= AN_ERR_KEEP)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->kept[l->nkept].file = xstrdup(file ? file : "-");
	l->kept[l->nkept].line = line;
	l->kept[l->nkept].msg = xstrdup(buf);
	l->nkept++;
}

void
an_errlog_merge(struct an_errlog *dst, struct an_errlog *src,
    uint64_t line_base)
{
	dst->n += src->n;
	for (size_t i = 0; i < src->nkept; i++) {
		if (dst->nkept < AN_ERR_KEEP) {
			dst->kept[dst->nkept] = src->kept[i];
			dst->kept[dst->nkept].line += line_base;
			dst->nkept++;
		} else {
			free(src->kept[i].file);
			free(src->kept[i].msg);
		}
	}
	src->nkept = 0;
	src->n = 0;
}

void
an_errlog_fini(struct an_errlog *l)
{
	for (size_t i = 0; i < l->nkept; i++) {
		free(l->kept[i].file);
		free(l->kept[i].msg);
	}
	memset(l, 0, sizeof(*l));
}

void
an_hdr_init_default(struct an_hdr *h, int legacy)
{
	const enum acct_field *fl = legacy ? acct_legacy_fields :
	    acct_default_fields;
	size_t n = legacy ? acct_legacy_nfields : acct_default_nfields;

	for (int i = 0; i < ACCT_F__COUNT; i++)
		h->col_of[i] = -1;
	for (size_t i = 0; i < n; i++)
		h->col_of[fl[i]] = (int16_t)i;
	h->ncols = (int)n;
	h->inferred = 1;
	h->text = xstrdup(legacy ? "(default 22-column layout)" :
	    "(default 23-column layout)");
}

void
an_hdr_copy(struct an_hdr *dst, const struct an_hdr *src)
{
	*dst = *src;
	dst->text = xstrdup(src->text ? src->text : "");
}

void
an_hdr_fini(struct an_hdr *h)
{
	free(h->text);
	h->text = NULL;
}

int
an_hdr_parse(struct an_hdr *h, const char *p, size_t len)
{
	struct an_span cols[AN_MAXCOLS];
	size_t n = 0, vl;
	const char *pos = p;
	char name[128];
	int f;

	an_csv_split(p + len, cols, AN_MAXCOLS, &n, &pos);
	for (int i = 0; i < ACCT_F__COUNT; i++)
		h->col_of[i] = -1;
	for (size_t c = 0; c < n; c++) {
		if (cols[c].len >= sizeof(name))
			continue;
		vl = an_csv_unquote(cols[c], name);
		const char *nm = name;
		if (c == 0 && vl > 0 && name[0] == '#') {
			nm++;
			vl--;
		}
		while (vl > 0 && (nm[vl - 1] == ' ' || nm[vl - 1] == '\r'))
			vl--;
		if ((f = acct_field_lookup(nm, vl)) >= 0 && h->col_of[f] < 0)
			h->col_of[f] = (int16_t)c;	/* first one wins */
	}
	h->ncols = (int)n;
	h->inferred = 0;
	h->text = xstrndup(p, len);
	return h->col_of[ACCT_F_TYPE] == 0 ? 0 : -1;
}

int
an_rtype_parse(const char *p, size_t len)
{
	if (len == 1) {
		switch (p[0]) {
		case 'd': return ACCT_R_D;
		case 'b': return ACCT_R_B;
		case 't': return ACCT_R_T;
		case 'r': return ACCT_R_R;
		case 'f': return ACCT_R_F;
		default: break;
		}
	} else if (len == 2 && p[0] == 't' && p[1] == 'q')
		return ACCT_R_TQ;
	else if (len == 2 && p[0] == 'r' && p[1] == 'b')
		return ACCT_R_RB;
	else if (len == 2 && p[0] == 'r' && p[1] == 's')
		return ACCT_R_RS;
	return acct_rtype_lookup(p, len);
}

static void
an_parser_derive(struct an_parser *ps)
{
	for (int t = 0; t < ACCT_R__COUNT; t++) {
		int m = 0;
		for (int f = 0; f < ACCT_F__COUNT; f++)
			if ((ps->need[t] & AN_FBIT(f)) && ps->hdr.col_of[f] > m)
				m = ps->hdr.col_of[f];
		ps->maxcol[t] = m;
	}
}

void
an_parser_init(struct an_parser *ps, const char *file,
    const uint64_t need[ACCT_R__COUNT], an_rec_cb *cb, void *arg,
    struct an_errlog *errs)
{
	memset(ps, 0, sizeof(*ps));
	ps->file = file;
	for (int t = 0; t < ACCT_R__COUNT; t++)
		ps->need[t] = need[t] | AN_FBIT(ACCT_F_TYPE);
	ps->cb = cb;
	ps->arg = arg;
	ps->errs = errs;
	ps->rec.file = file;
}

void
an_parser_preset(struct an_parser *ps, const struct an_hdr *h)
{
	an_hdr_fini(&ps->hdr);
	an_hdr_copy(&ps->hdr, h);
	ps->have_hdr = 1;
	ps->hdr_assumed = 1;
	ps->warned_nohdr = 1;
	an_parser_derive(ps);
}

void
an_parser_fini(struct an_parser *ps)
{
	an_hdr_fini(&ps->hdr);
	free(ps->assumed);
	ps->assumed = NULL;
}

/* Is field 0 "type" or "#type" (any case)? */
static int
an_is_header(struct an_span f0)
{
	const char *p = f0.p;
	size_t n = f0.len;

	if (n > 0 && p[0] == '#') {
		p++;
		n--;
	}
	return n == 4 && strncasecmp(p, "type", 4) == 0;
}

static void
an_parser_header(struct an_parser *ps, const char *p, size_t len)
{
	an_hdr_fini(&ps->hdr);
	an_hdr_parse(&ps->hdr, p, len);
	ps->have_hdr = 1;
	ps->hdr_assumed = 0;
	ps->headers++;
	an_parser_derive(ps);
}

/* First data record of a file without a header: assume the default. */
static void
an_parser_infer(struct an_parser *ps, const char *p, const char *end)
{
	size_t n = 0;
	const char *pos = p;

	an_csv_split(end, ps->cols, AN_MAXCOLS, &n, &pos);
	an_hdr_fini(&ps->hdr);
	an_hdr_init_default(&ps->hdr, n == acct_legacy_nfields);
	ps->have_hdr = 1;
	ps->hdr_assumed = 1;
	an_parser_derive(ps);
	if (!ps->warned_nohdr) {
		log_warnx("%s:%llu: no header line; assuming the %.*s",
		    ps->file, (unsigned long long)ps->line + 1,
		    (int)strlen(ps->hdr.text) - 2, ps->hdr.text + 1);
		ps->warned_nohdr = 1;
	}
}

static void
an_parser_record(struct an_parser *ps, const char *p, const char *end)
{
	size_t n = 0;
	const char *pos = p;
	char tb[32];
	int t, mc;

	an_csv_split(end, ps->cols, 1, &n, &pos);
	if (an_is_header(ps->cols[0])) {
		an_parser_header(ps, p, (size_t)(end - p));
		return;
	}
	if (!ps->have_hdr)
		an_parser_infer(ps, p, end);
	if (ps->hdr_assumed && ps->assumed == NULL)
		ps->assumed = xstrdup(ps->hdr.text);
	t = an_csv_is_quoted(ps->cols[0]) && ps->cols[0].len < sizeof(tb) ?
	    an_rtype_parse(tb, an_csv_unquote(ps->cols[0], tb)) :
	    an_rtype_parse(ps->cols[0].p, ps->cols[0].len);
	if (t < 0) {
		an_errlog_add(ps->errs, ps->file, ps->line + 1,
		    "unknown record type '%.*s'", (int)(ps->cols[0].len > 20 ?
		    20 : ps->cols[0].len), ps->cols[0].p);
		return;
	}
	mc = ps->maxcol[t];
	if (mc > 0) {
		an_csv_split(end, ps->cols, (size_t)mc + 1, &n, &pos);
		if (n <= (size_t)mc)
			ps->short_rows++;
	}
	ps->rec.type = (enum acct_rtype)t;
	ps->rec.line = ps->line + 1;
	for (uint64_t m = ps->need[t]; m; m &= m - 1) {
		int f = __builtin_ctzll(m), c = ps->hdr.col_of[f];
		if (c >= 0 && (size_t)c < n)
			ps->rec.f[f] = ps->cols[c];
		else
			ps->rec.f[f].len = 0;
	}
	ps->records++;
	ps->cb(ps->arg, &ps->rec);
}

int
an_rec_is_header(const char *p, const char *re)
{
	struct an_span c0;
	size_t n = 0;
	const char *pos = p;

	/* most records: a type code, not "type" or "#type" */
	if (re - p < 4 || (p[0] != '#' && ((p[0] | 0x20) != 't' ||
	    (p[1] | 0x20) != 'y')))
		return 0;
	an_csv_split(re, &c0, 1, &n, &pos);
	return n > 0 && an_is_header(c0);
}

size_t
an_parser_feed(struct an_parser *ps, const char *buf, size_t len, int eof)
{
	const char *p = buf, *end = buf + len;
	struct an_scan sc;

	if (ps->skip_line && p < end) {
		/* a bad line longer than the data fed so far: skip it whole */
		const char *nl = memchr(p, '\n', len);

		if (nl == NULL)
			return len;
		p = nl + 1;
		ps->skip_line = 0;
	}
	while (p < end && (ps->stop_at == NULL || p < ps->stop_at)) {
		switch (an_rec_step(p, end, eof, &sc)) {
		case AN_STEP_MORE:
			return (size_t)(p - buf);	/* need more data */
		case AN_STEP_BAD:
			/* skip the bad record: resume after its first LF */
			an_errlog_add(ps->errs, ps->file, ps->line + 1, "%s",
			    sc.why);
			ps->skip_line = sc.skip_rest && !eof;
			break;
		case AN_STEP_REC:
			if (sc.re > p)
				an_parser_record(ps, p, sc.re);
			break;
		}
		ps->line += sc.lines;
		p = sc.next;
	}
	return (size_t)(p - buf);
}
