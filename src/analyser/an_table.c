/*
 * an_table.c -- report tables and their text/CSV/JSON renderers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_table.h"
#include "lib/xmalloc.h"
#include "proto/csv.h"

void
an_table_init(struct an_table *t, const char *name, const char *title)
{
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	t->title = xstrdup(title);
}

void
an_table_fini(struct an_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].s);
	for (size_t c = 0; c < t->ncols; c++) {
		free(t->cols[c].key);
		free(t->cols[c].title);
	}
	free(t->cells);
	free(t->name);
	free(t->title);
	free(t->note);
	memset(t, 0, sizeof(*t));
}

void
an_table_col(struct an_table *t, const char *key, const char *title,
    enum an_ckind kind)
{
	if (t->ncols >= AN_TABLE_MAXCOLS || t->nrows > 0)
		return;
	t->cols[t->ncols].key = xstrdup(key);
	t->cols[t->ncols].title = xstrdup(title);
	t->cols[t->ncols].kind = kind;
	t->ncols++;
}

void
an_table_col_wide(struct an_table *t)
{
	if (t->ncols > 0)
		t->cols[t->ncols - 1].wide = 1;
}

size_t
an_table_row(struct an_table *t)
{
	struct an_cell *r;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xreallocarray(t->cells, t->cap * t->ncols + 1,
		    sizeof(*t->cells));
	}
	r = &t->cells[t->nrows * t->ncols];
	for (size_t c = 0; c < t->ncols; c++) {
		r[c].s = NULL;
		r[c].d = NAN;
	}
	return t->nrows++;
}

void
an_table_set_strn(struct an_table *t, size_t col, const char *s, size_t n)
{
	struct an_cell *c;

	if (t->nrows == 0 || col >= t->ncols)
		return;
	c = &t->cells[(t->nrows - 1) * t->ncols + col];
	free(c->s);
	c->s = xstrndup(s, n);
}

void
an_table_set_str(struct an_table *t, size_t col, const char *s)
{
	an_table_set_strn(t, col, s, strlen(s));
}

void
an_table_set_num(struct an_table *t, size_t col, double v)
{
	if (t->nrows == 0 || col >= t->ncols)
		return;
	t->cells[(t->nrows - 1) * t->ncols + col].d = v;
}

const struct an_cell *
an_table_cell(const struct an_table *t, size_t row, size_t col)
{
	return &t->cells[row * t->ncols + col];
}

static void
an_fmt_secs(double v, char *buf, size_t len)
{
	if (v < 120)
		snprintf(buf, len, "%.0fs", v);
	else if (v < 7200)
		snprintf(buf, len, "%.1fm", v / 60);
	else if (v < 172800)
		snprintf(buf, len, "%.1fh", v / 3600);
	else
		snprintf(buf, len, "%.1fd", v / 86400);
}

void
an_cell_format(const struct an_col *c, const struct an_cell *v, char *buf,
    size_t len)
{
	if (c->kind == AN_C_STR) {
		snprintf(buf, len, "%s", v->s ? v->s : "");
		return;
	}
	if (isnan(v->d)) {
		snprintf(buf, len, "-");
		return;
	}
	switch (c->kind) {
	case AN_C_INT:
		snprintf(buf, len, "%.0f", v->d);
		break;
	case AN_C_PCT:
		snprintf(buf, len, "%.1f%%", v->d);
		break;
	case AN_C_SEC:
		an_fmt_secs(v->d, buf, len);
		break;
	default:
		snprintf(buf, len, "%.2f", v->d);
		break;
	}
}

/* Display width: characters, not bytes, so UTF-8 text lines up. */
static size_t
an_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Terminal cell text: control characters shown as spaces, capped. */
static void
an_text_cell(const struct an_table *t, size_t r, size_t c, char *buf,
    size_t len)
{
	an_cell_format(&t->cols[c], an_table_cell(t, r, c), buf,
	    len < 100 ? len : 100);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

void
an_table_text(const struct an_table *t, FILE *f)
{
	size_t w[AN_TABLE_MAXCOLS];
	char buf[512];
	size_t nr = t->text_rows && t->text_rows < t->nrows ? t->text_rows :
	    t->nrows;

	fprintf(f, "%s\n", t->title);
	for (size_t i = an_width(t->title); i > 0; i--)
		fputc('=', f);
	fputc('\n', f);
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = an_width(t->cols[c].title);
		if (t->cols[c].wide)
			continue;
		for (size_t r = 0; r < nr; r++) {
			an_text_cell(t, r, c, buf, sizeof(buf));
			if (an_width(buf) > w[c])
				w[c] = an_width(buf);
		}
	}
	for (size_t r = 0; r <= nr; r++) {
		size_t last = t->ncols;
		while (last > 0 && t->cols[last - 1].wide)
			last--;
		for (size_t c = 0; c < last; c++) {
			int left = t->cols[c].kind == AN_C_STR;
			if (t->cols[c].wide)
				continue;
			if (r == 0)
				snprintf(buf, sizeof(buf), "%s", t->cols[c].title);
			else
				an_text_cell(t, r - 1, c, buf, sizeof(buf));
			size_t pad = w[c] - an_width(buf);
			if (!left)
				fprintf(f, "%*s", (int)pad, "");
			if (left && c + 1 == last)
				pad = 0;
			fputs(buf, f);
			if (c + 1 < last)
				fprintf(f, "%*s", (int)(left ? pad + 2 : 2), "");
		}
		fputc('\n', f);
	}
	if (t->nrows == 0)
		fprintf(f, "(no data)\n");
	if (t->note)
		fprintf(f, "%s\n", t->note);
	fputc('\n', f);
}

static void
an_csv_num(struct sbuf *b, const struct an_col *c, double v)
{
	if (isnan(v))
		return;
	if (c->kind == AN_C_INT)
		sbuf_printf(b, "%.0f", v);
	else
		sbuf_printf(b, "%.4f", v);
}

void
an_table_csv(const struct an_table *t, FILE *f, int header)
{
	struct sbuf b;

	sbuf_init(&b);
	if (header)
		sbuf_printf(&b, "# %s\r\n", t->name);
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (c)
				sbuf_putc(&b, ',');
			if (r == 0) {
				csv_put_field(&b, t->cols[c].key,
				    strlen(t->cols[c].key));
				continue;
			}
			const struct an_cell *v = an_table_cell(t, r - 1, c);
			if (t->cols[c].kind == AN_C_STR)
				csv_put_field(&b, v->s, v->s ? strlen(v->s) : 0);
			else
				an_csv_num(&b, &t->cols[c], v->d);
		}
		sbuf_puts(&b, "\r\n");
	}
	fwrite(b.p, 1, b.len, f);
	sbuf_fini(&b);
}

void
an_table_json(const struct an_table *t, struct json *j)
{
	json_key(j, t->name);
	json_arr_begin(j);
	for (size_t r = 0; r < t->nrows; r++) {
		json_obj_begin(j);
		for (size_t c = 0; c < t->ncols; c++) {
			const struct an_cell *v = an_table_cell(t, r, c);
			json_key(j, t->cols[c].key);
			if (t->cols[c].kind == AN_C_STR)
				json_str(j, v->s);
			else if (isnan(v->d))
				json_null(j);
			else if (t->cols[c].kind == AN_C_INT ||
			    (v->d == floor(v->d) && fabs(v->d) < 9e15))
				json_int(j, (int64_t)v->d);
			else
				json_double(j, round(v->d * 10000) / 10000);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}
