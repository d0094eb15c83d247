/*
 * an_report.c -- section selection and output (text, CSV, JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyser/an_report.h"
#include "lib/json.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

static struct an_table *
an_report_add(struct an_report *r)
{
	r->tabs = xreallocarray(r->tabs, r->ntabs + 1, sizeof(*r->tabs));
	return &r->tabs[r->ntabs++];
}

static void
an_report_section(struct an_report *r, enum an_section s)
{
	const struct an_agg *a = r->agg;
	struct an_table *t = an_report_add(r);

	switch (s) {
	case AN_S_SUMMARY: an_tab_summary(t, a); break;
	case AN_S_ISPS: an_tab_isps(t, a); break;
	case AN_S_DOMAINS: an_tab_domains(t, a); break;
	case AN_S_IPS:
		an_tab_dim(t, a, &a->ips, "ips", "By source IP (dlvSourceIp)",
		    "ip");
		break;
	case AN_S_VMTAS:
		an_tab_dim(t, a, &a->vmtas, "vmtas", "By virtual MTA", "vmta");
		break;
	case AN_S_JOBS:
		an_tab_dim(t, a, &a->jobs, "jobs", "By job (jobId)", "job");
		break;
	case AN_S_MATRIX: an_tab_matrix(t, a); break;
	case AN_S_CODES: an_tab_codes(t, a); break;
	case AN_S_DIAG: an_tab_diag(t, a); break;
	case AN_S_BCAT: an_tab_bcat(t, a); break;
	case AN_S_SERIES:
		an_tab_series(t, a);
		an_tab_isp_series(an_report_add(r), a);
		break;
	case AN_S_QTIME: an_tab_qtime(t, a); break;
	case AN_S_TRENDS: an_tab_trends(t, &r->trends); break;
	case AN_S_ALERTS: an_tab_alerts(t, &r->alerts); break;
	case AN_S_ERRORS: an_tab_errors(t, a); break;
	default: r->ntabs--; break;
	}
}

void
an_report_build(struct an_report *r, const struct an_agg *a,
    const struct an_run_stats *st, unsigned sections)
{
	memset(r, 0, sizeof(*r));
	r->agg = a;
	r->st = st;
	r->sections = sections;
	an_alerts_eval(a, &r->alerts);
	if (sections & AN_SBIT(AN_S_TRENDS))
		an_trends_eval(a, &r->trends);
	for (int s = 0; s < AN_S__COUNT; s++)
		if (sections & AN_SBIT(s))
			an_report_section(r, (enum an_section)s);
}

void
an_report_fini(struct an_report *r)
{
	for (size_t i = 0; i < r->ntabs; i++)
		an_table_fini(&r->tabs[i]);
	free(r->tabs);
	an_alerts_fini(&r->alerts);
	an_trends_fini(&r->trends);
	memset(r, 0, sizeof(*r));
}

const struct an_table *
an_report_table(const struct an_report *r, const char *name)
{
	for (size_t i = 0; i < r->ntabs; i++)
		if (strcmp(r->tabs[i].name, name) == 0)
			return &r->tabs[i];
	return NULL;
}

static void
an_report_meta(const struct an_report *r, struct json *j)
{
	const struct an_agg *a = r->agg;
	char buf[64];

	json_key(j, "meta");
	json_obj_begin(j);
	json_key(j, "files");
	json_uint(j, r->st->files);
	json_key(j, "bytes");
	json_uint(j, r->st->bytes);
	json_key(j, "lines");
	json_uint(j, r->st->lines);
	json_key(j, "records");
	json_uint(j, a->records);
	json_key(j, "filtered_out");
	json_uint(j, a->filtered);
	json_key(j, "malformed");
	json_uint(j, a->errs.n);
	json_key(j, "headers");
	json_uint(j, r->st->headers);
	json_key(j, "short_rows");
	json_uint(j, r->st->short_rows);
	json_key(j, "chunks_reparsed");
	json_uint(j, r->st->reparsed);
	json_key(j, "stream_blocks");
	json_uint(j, r->st->blocks);
	json_key(j, "seconds");
	json_double(j, r->st->seconds);
	json_key(j, "first");
	if (a->tmin != INT64_MAX) {
		an_fmt_utc(a->tmin, buf, sizeof(buf), 1);
		json_str(j, buf);
	} else
		json_null(j);
	json_key(j, "last");
	if (a->tmax != INT64_MIN) {
		an_fmt_utc(a->tmax, buf, sizeof(buf), 1);
		json_str(j, buf);
	} else
		json_null(j);
	json_key(j, "max_alert_level");
	json_str(j, r->alerts.max_level == AN_CRIT ? "critical" :
	    r->alerts.max_level == AN_WARN ? "warning" : "none");
	json_obj_end(j);
}

static void
an_report_text_head(const struct an_report *r, FILE *f)
{
	const struct an_agg *a = r->agg;
	char b1[64] = "-", b2[64] = "-";

	if (a->tmin != INT64_MAX) {
		an_fmt_utc(a->tmin, b1, sizeof(b1), 1);
		an_fmt_utc(a->tmax, b2, sizeof(b2), 1);
	}
	fprintf(f, "%llu records from %llu file(s), %.1f MB in %.2fs; "
	    "%llu malformed, %llu filtered out; %s .. %s UTC\n\n",
	    (unsigned long long)a->records, (unsigned long long)r->st->files,
	    (double)r->st->bytes / 1e6, r->st->seconds,
	    (unsigned long long)a->errs.n, (unsigned long long)a->filtered,
	    b1, b2);
}

void
an_report_print(const struct an_report *r, enum an_format fmt, FILE *f)
{
	struct sbuf b;
	struct json j;

	switch (fmt) {
	case AN_FMT_JSON:
		sbuf_init(&b);
		json_init(&j, &b);
		json_obj_begin(&j);
		an_report_meta(r, &j);
		for (size_t i = 0; i < r->ntabs; i++)
			an_table_json(&r->tabs[i], &j);
		json_obj_end(&j);
		sbuf_putc(&b, '\n');
		fwrite(b.p, 1, b.len, f);
		sbuf_fini(&b);
		break;
	case AN_FMT_CSV:
		for (size_t i = 0; i < r->ntabs; i++) {
			if (i)
				fputs("\r\n", f);
			an_table_csv(&r->tabs[i], f, r->ntabs > 1);
		}
		break;
	default:
		an_report_text_head(r, f);
		for (size_t i = 0; i < r->ntabs; i++)
			an_table_text(&r->tabs[i], f);
		break;
	}
}
