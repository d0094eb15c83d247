/*
 * an_table.h -- the report model: named tables of typed cells, rendered
 * as an aligned terminal table, CSV or JSON (one model, several
 * renderers, as GoAccess does).
 *
 * Ownership: a table owns its column keys/titles and string cells.
 * Numeric cells hold NaN for "no value" (printed "-", null, empty).
 */
#ifndef SLUICE_AN_TABLE_H
#define SLUICE_AN_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/json.h"

#define AN_TABLE_MAXCOLS 24

enum an_ckind {
	AN_C_STR,	/* text */
	AN_C_INT,	/* count */
	AN_C_PCT,	/* percentage 0..100 */
	AN_C_NUM,	/* decimal */
	AN_C_SEC,	/* seconds (duration) */
};

struct an_col {
	char		*key;		/* snake_case, JSON/CSV name */
	char		*title;		/* terminal heading */
	enum an_ckind	 kind;
	int		 wide;		/* not shown in terminal tables */
};

struct an_cell {
	char		*s;
	double		 d;
};

struct an_table {
	char		*name;		/* JSON member / CSV section */
	char		*title;
	size_t		 ncols;
	struct an_col	 cols[AN_TABLE_MAXCOLS];
	size_t		 nrows, cap;
	struct an_cell	*cells;		/* nrows x ncols */
	char		*note;		/* printed under the text table */
	size_t		 text_rows;	/* terminal shows the first N (0 all) */
};

void an_table_init(struct an_table *t, const char *name, const char *title);
void an_table_fini(struct an_table *t);
void an_table_col(struct an_table *t, const char *key, const char *title,
    enum an_ckind kind);
/* Hide the last column from terminal output (long text). */
void an_table_col_wide(struct an_table *t);
/* Append a row with every cell empty/NaN; returns its index. */
size_t an_table_row(struct an_table *t);
/* Set a cell of the last row. */
void an_table_set_str(struct an_table *t, size_t col, const char *s);
void an_table_set_strn(struct an_table *t, size_t col, const char *s,
    size_t n);
void an_table_set_num(struct an_table *t, size_t col, double v);
const struct an_cell *an_table_cell(const struct an_table *t, size_t row,
    size_t col);

void an_table_text(const struct an_table *t, FILE *f);
/* header: print "# name" before the CSV (several sections in one file). */
void an_table_csv(const struct an_table *t, FILE *f, int header);
/* Writes "name": [ {key: value, ...}, ... ] into an open JSON object. */
void an_table_json(const struct an_table *t, struct json *j);
/* Format a cell for display (text/HTML). */
void an_cell_format(const struct an_col *c, const struct an_cell *v,
    char *buf, size_t len);

#endif
