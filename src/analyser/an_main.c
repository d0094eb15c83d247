/*
 * an_main.c -- `sluice acct` entry point: options, ISP map, one pass over
 * the inputs, reports, exit status (0 ok, 1 unreadable input, 2 usage,
 * 3 critical alert).
 */
#include <stdio.h>
#include <string.h>

#include "analyser/analyser.h"
#include "analyser/an_agg.h"
#include "analyser/an_html.h"
#include "analyser/an_report.h"
#include "analyser/an_run.h"
#include "analyser/an_watch.h"

#define AN_EXIT_IO	1
#define AN_EXIT_USAGE	2
#define AN_EXIT_CRIT	3
#define AN_STDERR_ERRS	20

static void
an_main_warn_errs(const struct an_agg *a)
{
	size_t n = a->errs.nkept < AN_STDERR_ERRS ? a->errs.nkept :
	    AN_STDERR_ERRS;

	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "sluice acct: %s:%llu: %s\n",
		    a->errs.kept[i].file,
		    (unsigned long long)a->errs.kept[i].line,
		    a->errs.kept[i].msg);
	if (a->errs.n > n)
		fprintf(stderr, "sluice acct: %llu malformed lines in all "
		    "(see the malformed section)\n",
		    (unsigned long long)a->errs.n);
}

static int
an_main_report(struct an_opts *o, const struct an_isp_map *isps)
{
	struct an_ctx ctx;
	struct an_agg agg;
	struct an_run_stats st;
	struct an_report rep, full;
	unsigned want = o->sections;
	int rc;

	if (o->html)
		o->sections = (1u << AN_S__COUNT) - 1;
	an_ctx_init(&ctx, o, isps);
	an_agg_init(&agg, &ctx);
	rc = an_run(&ctx, &agg, &st) ? AN_EXIT_IO : 0;
	an_main_warn_errs(&agg);
	an_report_build(&rep, &agg, &st, want);
	an_report_print(&rep, o->format, stdout);
	fflush(stdout);
	if (o->html) {
		an_report_build(&full, &agg, &st, o->sections);
		if (an_html_write(&full, o->html) != 0)
			rc = AN_EXIT_IO;
		an_report_fini(&full);
	}
	if (rc == 0 && (want & AN_SBIT(AN_S_ALERTS)) &&
	    rep.alerts.max_level == AN_CRIT)
		rc = AN_EXIT_CRIT;
	an_report_fini(&rep);
	an_agg_fini(&agg);
	return rc;
}

int
analyser_main(int argc, char **argv)
{
	struct an_opts o;
	struct an_isp_map isps;
	int rc;

	an_opts_init(&o);
	if ((rc = an_opts_parse(&o, argc, argv)) != 0) {
		an_opts_fini(&o);
		return rc > 0 ? 0 : AN_EXIT_USAGE;
	}
	an_isp_map_init(&isps);
	for (size_t i = 0; i < o.isp_maps.n; i++)
		if (an_isp_map_load(&isps, o.isp_maps.v[i]) != 0)
			rc = AN_EXIT_USAGE;
	if (rc == 0)
		rc = o.watch ? an_watch_main(&o, &isps) :
		    an_main_report(&o, &isps);
	an_isp_map_fini(&isps);
	an_opts_fini(&o);
	return rc;
}
