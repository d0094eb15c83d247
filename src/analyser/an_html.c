/*
 * an_html.c -- the self-contained HTML report: inline CSS, inline SVG
 * charts (an_svg.c), every report table; no scripts and no external
 * resources, so it renders offline and can be mailed as one file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_html.h"
#include "analyser/an_svg.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

static const char an_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;"
    "background:#fff}h1{font-size:22px}h2{font-size:17px;margin-top:28px;"
    "border-bottom:1px solid #ccc}table{border-collapse:collapse;"
    "margin:6px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;"
    "text-align:right;vertical-align:top}th{background:#f3f3f3}"
    "td.s,th.s{text-align:left}td.w{text-align:left;max-width:520px;"
    "font-size:12px;color:#444}.warn{background:#fff3c4}"
    ".crit{background:#ffd6d6}figure{margin:12px 0}figcaption{font-weight:"
    "600;margin-bottom:4px}svg.chart text{font-size:11px;fill:#333}"
    ".meta{color:#555}ul.alerts li{margin:3px 0}\n";

static void
an_html_cell(struct sbuf *b, const struct an_col *c, const struct an_cell *v)
{
	char buf[600];
	const char *cls = c->wide ? "w" : c->kind == AN_C_STR ? "s" : "";

	if (c->kind == AN_C_PCT && strstr(c->key, "deferral") && !isnan(v->d))
		cls = v->d > 15 ? "crit" : v->d > 5 ? "warn" : "";
	if (c->kind == AN_C_PCT && strcmp(c->key, "bounce_rate") == 0 &&
	    !isnan(v->d) && v->d > 2)
		cls = "warn";
	an_cell_format(c, v, buf, sizeof(buf));
	sbuf_printf(b, "<td class=\"%s\">", cls);
	an_xml_escape(b, buf);
	sbuf_puts(b, "</td>");
}

static void
an_html_table(struct sbuf *b, const struct an_table *t)
{
	if (t == NULL)
		return;
	sbuf_printf(b, "<h2 id=\"%s\">", t->name);
	an_xml_escape(b, t->title);
	sbuf_puts(b, "</h2>\n<table><thead><tr>");
	for (size_t c = 0; c < t->ncols; c++) {
		sbuf_printf(b, "<th class=\"%s\">",
		    t->cols[c].kind == AN_C_STR ? "s" : "");
		an_xml_escape(b, t->cols[c].title);
		sbuf_puts(b, "</th>");
	}
	sbuf_puts(b, "</tr></thead><tbody>\n");
	for (size_t r = 0; r < t->nrows; r++) {
		sbuf_puts(b, "<tr>");
		for (size_t c = 0; c < t->ncols; c++)
			an_html_cell(b, &t->cols[c], an_table_cell(t, r, c));
		sbuf_puts(b, "</tr>\n");
	}
	sbuf_puts(b, "</tbody></table>\n");
	if (t->nrows == 0)
		sbuf_puts(b, "<p class=\"meta\">(no data)</p>\n");
}

static double
an_num(const struct an_table *t, size_t r, const char *key)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (strcmp(t->cols[c].key, key) == 0)
			return an_table_cell(t, r, c)->d;
	return NAN;
}

/* Stacked delivered/deferred/bounced bars from a per-dimension table. */
static void
an_html_bars(struct sbuf *b, const struct an_table *t, const char *title,
    size_t max)
{
	static const char *const col[3] = { AN_COL_DELIVERED, AN_COL_DEFERRED,
	    AN_COL_BOUNCED };
	static const char *const nm[3] = { "delivered", "deferred", "bounced" };
	struct an_bar *bars;
	size_t n;

	if (t == NULL || t->nrows == 0)
		return;
	n = t->nrows < max ? t->nrows : max;
	bars = xcalloc(n, sizeof(*bars));
	for (size_t i = 0; i < n; i++) {
		bars[i].label = an_table_cell(t, i, 0)->s ?
		    an_table_cell(t, i, 0)->s : "";
		bars[i].v[0] = an_num(t, i, "delivered");
		bars[i].v[1] = an_num(t, i, "deferred");
		bars[i].v[2] = an_num(t, i, "bounced");
	}
	an_svg_bars(b, title, bars, n, 3, col, nm);
	free(bars);
}

static void
an_html_timechart(struct sbuf *b, const struct an_table *t)
{
	struct an_series s[4];
	const char **xl;
	double *vol, *ys;
	size_t ns = 0, n;

	if (t == NULL || t->nrows == 0)
		return;
	n = t->nrows;
	xl = xcalloc(n, sizeof(*xl));
	vol = xcalloc(n, sizeof(*vol));
	ys = xcalloc(n * 4, sizeof(*ys));
	for (size_t c = 10; c < t->ncols && ns < 4; c++, ns++) {
		s[ns].name = t->cols[c].title;
		s[ns].y = ys + ns * n;
		for (size_t i = 0; i < n; i++)
			ys[ns * n + i] = an_table_cell(t, i, c)->d;
	}
	for (size_t i = 0; i < n; i++) {
		const char *lab = an_table_cell(t, i, 0)->s;
		xl[i] = lab && strlen(lab) > 11 ? lab + 11 : lab ? lab : "";
		vol[i] = an_num(t, i, "attempts");
	}
	an_svg_timechart(b, "Volume and deferral rate per ISP over time (UTC)",
	    xl, n, vol, s, ns);
	free(xl);
	free(vol);
	free(ys);
}

/* Failures per dsnDiag class. */
static void
an_html_classes(struct sbuf *b, const struct an_agg *a)
{
	static const char *const col[1] = { "#5c6bc0" };
	static const char *const nm[1] = { "failures (t, tq, b, rb)" };
	struct an_bar bars[AN_DC__COUNT];
	size_t n = 0;

	memset(bars, 0, sizeof(bars));
	for (int k = 0; k < AN_DC__COUNT; k++)
		bars[k].label = an_dclass_name(k);
	for (size_t i = 0; i < a->diag.n; i++) {
		const struct an_diagc *c = an_htab_val(&a->diag, i);
		for (int t = 0; t < ACCT_R__COUNT; t++)
			if (t != ACCT_R_D && t != ACCT_R_R)
				bars[c->cls].v[0] += (double)c->c.n[t];
	}
	for (int k = 0; k < AN_DC__COUNT; k++)
		if (bars[k].v[0] > 0)
			bars[n++] = bars[k];
	if (n)
		an_svg_bars(b, "Failures by reply class (dsnDiag)", bars, n, 1,
		    col, nm);
}

static void
an_html_alerts(struct sbuf *b, const struct an_report *r)
{
	sbuf_puts(b, "<h2 id=\"alerts\">Alerts</h2>\n<ul class=\"alerts\">");
	for (size_t i = 0; i < r->alerts.n; i++) {
		sbuf_printf(b, "<li class=\"%s\"><b>%s</b> ",
		    r->alerts.v[i].level == AN_CRIT ? "crit" : "warn",
		    an_level_name(r->alerts.v[i].level));
		an_xml_escape(b, r->alerts.v[i].msg);
		sbuf_puts(b, "</li>");
	}
	if (r->alerts.n == 0)
		sbuf_puts(b, "<li>none: every threshold holds</li>");
	sbuf_puts(b, "</ul>\n");
}

static void
an_html_body(struct sbuf *b, const struct an_report *r)
{
	static const char *const rest[] = { "trends", "summary", "isps",
	    "ips", "matrix", "diag", "codes", "bouncecat", "queue_time",
	    "series", "domains", "vmtas", "jobs", "malformed" };
	const struct an_agg *a = r->agg;
	char t1[64] = "-", t2[64] = "-";

	if (a->tmin != INT64_MAX) {
		an_fmt_utc(a->tmin, t1, sizeof(t1), 1);
		an_fmt_utc(a->tmax, t2, sizeof(t2), 1);
	}
	sbuf_printf(b, "<h1>Sluice accounting report</h1>\n<p class=\"meta\">"
	    "%llu records from %llu file(s), %s .. %s UTC; %llu malformed "
	    "lines; %llu filtered out.</p>\n", (unsigned long long)a->records,
	    (unsigned long long)r->st->files, t1, t2,
	    (unsigned long long)a->errs.n, (unsigned long long)a->filtered);
	an_html_alerts(b, r);
	an_html_timechart(b, an_report_table(r, "series"));
	an_html_bars(b, an_report_table(r, "isps"), "Outcomes by ISP", 12);
	an_html_bars(b, an_report_table(r, "ips"), "Outcomes by source IP", 16);
	an_html_classes(b, a);
	for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
		an_html_table(b, an_report_table(r, rest[i]));
}

int
an_html_write(const struct an_report *r, const char *path)
{
	struct sbuf b;
	FILE *f;
	int rc = 0;

	sbuf_init(&b);
	sbuf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	    "charset=\"utf-8\"><title>Sluice accounting report</title>"
	    "<style>%s</style></head><body>\n", an_css);
	an_html_body(&b, r);
	sbuf_puts(&b, "</body></html>\n");
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "sluice acct: %s: %s\n", path, strerror(errno));
		rc = -1;
	} else {
		if (fwrite(b.p, 1, b.len, f) != b.len)
			rc = -1;
		if (fclose(f) != 0)
			rc = -1;
		if (rc)
			fprintf(stderr, "sluice acct: %s: write failed\n", path);
	}
	sbuf_fini(&b);
	return rc;
}
