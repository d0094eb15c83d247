/*
 * acct_layout.c -- record-fields parsing and the union header of a file.
 *
 * Default layouts per record type (PowerMTA 5.0 User's Guide ch. 11, see
 * docs/accounting.md for the choices made where the guide's field tables
 * and its sample lines disagree). A list is comma-separated; items are
 * "*", a field name, "header_NAME" or "!item" (exclusion, applied after
 * all inclusions). The union keeps first-seen order over d,b,t,tq,r,f,rb,rs.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acct/acct_layout.h"
#include "acct/acctw.h"
#include "lib/xmalloc.h"
#include "proto/csv.h"

static const enum acct_field acct_tq_fields[] = {
	ACCT_F_TYPE, ACCT_F_TIME_LOGGED, ACCT_F_DSN_STATUS, ACCT_F_DSN_DIAG,
	ACCT_F_DSN_MTA, ACCT_F_DLV_TYPE, ACCT_F_DLV_SOURCE_IP,
	ACCT_F_DLV_DESTINATION_IP, ACCT_F_VMTA, ACCT_F_QUEUE,
};
static const enum acct_field acct_r_fields[] = {
	ACCT_F_TYPE, ACCT_F_TIME_LOGGED, ACCT_F_ORIG, ACCT_F_RCPT, ACCT_F_ORCPT,
	ACCT_F_SRC_TYPE, ACCT_F_SRC_MTA, ACCT_F_RCV_SOURCE_IP,
	ACCT_F_RCV_DESTINATION_IP, ACCT_F_VMTA, ACCT_F_VMTA_POOL,
	ACCT_F_JOB_ID, ACCT_F_ENV_ID,
};
static const enum acct_field acct_f_fields[] = {
	ACCT_F_TYPE, ACCT_F_TIME_LOGGED, ACCT_F_REP_SOURCE_IP,
	ACCT_F_FEEDBACK_TYPE, ACCT_F_FORMAT, ACCT_F_USER_AGENT, ACCT_F_ENV_ID,
	ACCT_F_ORIG, ACCT_F_RCPT, ACCT_F_REPORTING_MTA, ACCT_F_DLV_SOURCE_IP,
	ACCT_F_REPORTED_DOMAIN,
};
static const enum acct_field acct_rb_fields[] = {
	ACCT_F_TYPE, ACCT_F_TIME_LOGGED, ACCT_F_ORIG, ACCT_F_RCPT, ACCT_F_ORCPT,
	ACCT_F_DSN_STATUS, ACCT_F_DSN_DIAG, ACCT_F_DSN_MTA,
	ACCT_F_DSN_REPORTING_MTA, ACCT_F_BOUNCE_CAT, ACCT_F_SRC_TYPE,
	ACCT_F_SRC_MTA, ACCT_F_ENV_ID, ACCT_F_FORMAT,
};
static const enum acct_field acct_rs_fields[] = {
	ACCT_F_TYPE, ACCT_F_TIME_LOGGED, ACCT_F_ORIG, ACCT_F_RCPT, ACCT_F_ORCPT,
	ACCT_F_DSN_ACTION, ACCT_F_DSN_STATUS, ACCT_F_DSN_DIAG, ACCT_F_DSN_MTA,
	ACCT_F_BOUNCE_CAT, ACCT_F_SRC_TYPE, ACCT_F_SRC_MTA, ACCT_F_ENV_ID,
	ACCT_F_FORMAT,
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A growable list of columns. */
struct acct_cols {
	struct acct_col	*v;
	size_t		 n;
};

const enum acct_field *
acct_layout_defaults(enum acct_rtype t, size_t *n)
{
	switch (t) {
	case ACCT_R_TQ:
		*n = NELEM(acct_tq_fields);
		return acct_tq_fields;
	case ACCT_R_R:
		*n = NELEM(acct_r_fields);
		return acct_r_fields;
	case ACCT_R_F:
		*n = NELEM(acct_f_fields);
		return acct_f_fields;
	case ACCT_R_RB:
		*n = NELEM(acct_rb_fields);
		return acct_rb_fields;
	case ACCT_R_RS:
		*n = NELEM(acct_rs_fields);
		return acct_rs_fields;
	default:
		*n = acct_default_nfields;
		return acct_default_fields;
	}
}

static int
acct_col_same(const struct acct_col *a, const struct acct_col *b)
{
	if (a->field != b->field)
		return 0;
	return a->field != -1 || strcasecmp(a->hdr, b->hdr) == 0;
}

static ssize_t
acct_cols_find(const struct acct_cols *c, const struct acct_col *x)
{
	for (size_t i = 0; i < c->n; i++)
		if (acct_col_same(&c->v[i], x))
			return (ssize_t)i;
	return -1;
}

/* Append a copy of x unless already present. */
static void
acct_cols_add(struct acct_cols *c, const struct acct_col *x)
{
	if (acct_cols_find(c, x) >= 0)
		return;
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n].field = x->field;
	c->v[c->n].hdr = x->hdr ? xstrdup(x->hdr) : NULL;
	c->n++;
}

static void
acct_cols_free(struct acct_cols *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].hdr);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* Parse one item name (no "!") into a column; -1 if unknown. */
static int
acct_item_parse(const char *s, size_t len, struct acct_col *out)
{
	int f;

	out->hdr = NULL;
	if (len > 7 && strncasecmp(s, "header_", 7) == 0) {
		out->field = -1;
		out->hdr = xstrndup(s + 7, len - 7);
		return 0;
	}
	if ((f = acct_field_lookup(s, len)) < 0)
		return -1;
	out->field = f;
	return 0;
}

/* Apply one list item; -1 with err on an unknown name. */
static int
acct_item_apply(struct acct_cols *inc, struct acct_cols *exc,
    enum acct_rtype t, const char *s, size_t len, char *err, size_t errlen)
{
	struct acct_col c;
	const enum acct_field *def;
	size_t n;
	int neg = 0;

	if (len == 1 && s[0] == '*') {
		def = acct_layout_defaults(t, &n);
		for (size_t i = 0; i < n; i++) {
			c.field = (int)def[i];
			c.hdr = NULL;
			acct_cols_add(inc, &c);
		}
		return 0;
	}
	if (s[0] == '!') {
		neg = 1;
		s++;
		len--;
	}
	if (len == 0 || acct_item_parse(s, len, &c) != 0) {
		snprintf(err, errlen, "record-fields %s: unknown field '%.*s'",
		    acct_rtype_code(t), (int)len, s);
		return -1;
	}
	if (neg && c.field == ACCT_F_TYPE) {
		snprintf(err, errlen, "record-fields %s: 'type' cannot be "
		    "excluded", acct_rtype_code(t));
		return -1;
	}
	acct_cols_add(neg ? exc : inc, &c);
	free(c.hdr);
	return 0;
}

/* Field list of type t into out (type first, exclusions applied). */
static int
acct_type_fields(struct acct_cols *out, enum acct_rtype t, const char *spec,
    char *err, size_t errlen)
{
	struct acct_cols inc = { NULL, 0 }, exc = { NULL, 0 };
	struct acct_col type = { ACCT_F_TYPE, NULL };
	const char *p, *e;
	int rc = 0;

	acct_cols_add(&inc, &type);
	if (spec == NULL || *spec == '\0')
		spec = "*";
	for (p = spec; rc == 0 && *p != '\0'; p = *e ? e + 1 : e) {
		const char *a = p, *b;
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		b = e;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a == b)
			continue;
		rc = acct_item_apply(&inc, &exc, t, a, (size_t)(b - a), err,
		    errlen);
	}
	for (size_t i = 0; rc == 0 && i < inc.n; i++)
		if (acct_cols_find(&exc, &inc.v[i]) < 0)
			acct_cols_add(out, &inc.v[i]);
	acct_cols_free(&inc);
	acct_cols_free(&exc);
	return rc;
}

int
acct_layout_build(struct acct_layout *l, const struct acctw_file *f,
    char *err, size_t errlen)
{
	struct acct_cols uni = { NULL, 0 }, per[ACCT_R__COUNT];

	memset(l, 0, sizeof(*l));
	memset(per, 0, sizeof(per));
	l->records = f->records ? f->records :
	    (1u << ACCT_R_D) | (1u << ACCT_R_B);
	for (int t = 0; t < ACCT_R__COUNT; t++) {
		if (!(l->records & (1u << t)))
			continue;
		if (acct_type_fields(&per[t], (enum acct_rtype)t,
		    f->record_fields[t], err, errlen) != 0)
			goto fail;
		for (size_t i = 0; i < per[t].n; i++)
			acct_cols_add(&uni, &per[t].v[i]);
	}
	l->cols = uni.v;
	l->ncols = uni.n;
	for (int t = 0; t < ACCT_R__COUNT; t++) {
		if (!(l->records & (1u << t)))
			continue;
		l->in_type[t] = xcalloc(l->ncols ? l->ncols : 1, 1);
		for (size_t j = 0; j < l->ncols; j++)
			l->in_type[t][j] = acct_cols_find(&per[t],
			    &l->cols[j]) >= 0;
		acct_cols_free(&per[t]);
	}
	return 0;
fail:
	for (int t = 0; t < ACCT_R__COUNT; t++)
		acct_cols_free(&per[t]);
	acct_cols_free(&uni);
	return -1;
}

void
acct_layout_free(struct acct_layout *l)
{
	struct acct_cols c = { l->cols, l->ncols };

	acct_cols_free(&c);
	for (int t = 0; t < ACCT_R__COUNT; t++)
		free(l->in_type[t]);
	memset(l, 0, sizeof(*l));
}

void
acct_layout_header(const struct acct_layout *l, struct sbuf *b)
{
	for (size_t j = 0; j < l->ncols; j++) {
		if (j)
			sbuf_putc(b, ',');
		if (l->cols[j].field >= 0) {
			sbuf_puts(b, acct_field_name(l->cols[j].field));
		} else {
			char *h = xasprintf("header_%s", l->cols[j].hdr);
			csv_put_field(b, h, strlen(h));
			free(h);
		}
	}
	sbuf_put(b, "\r\n", 2);
}
