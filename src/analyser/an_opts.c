/*
 * an_opts.c -- `sluice acct` command line (getopt_long; options and files
 * may be mixed). See an_opts_usage() for the grammar.
 */
#include <ctype.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "analyser/an_opts.h"
#include "lib/xmalloc.h"
#include "proto/acct_schema.h"

static const struct {
	const char	*word;
	unsigned	 sections;
} an_cmds[] = {
	{ "summary", AN_SBIT(AN_S_SUMMARY) },
	{ "isps", AN_SBIT(AN_S_ISPS) },
	{ "domains", AN_SBIT(AN_S_DOMAINS) },
	{ "ips", AN_SBIT(AN_S_IPS) },
	{ "vmtas", AN_SBIT(AN_S_VMTAS) },
	{ "jobs", AN_SBIT(AN_S_JOBS) },
	{ "matrix", AN_SBIT(AN_S_MATRIX) },
	{ "codes", AN_SBIT(AN_S_CODES) },
	{ "diag", AN_SBIT(AN_S_DIAG) },
	{ "bouncecat", AN_SBIT(AN_S_BCAT) },
	{ "series", AN_SBIT(AN_S_SERIES) },
	{ "queue-time", AN_SBIT(AN_S_QTIME) },
	{ "trends", AN_SBIT(AN_S_TRENDS) },
	{ "alerts", AN_SBIT(AN_S_ALERTS) },
	{ "malformed", AN_SBIT(AN_S_ERRORS) },
	{ "report", (1u << AN_S__COUNT) - 1 },
	{ "watch", 0 },
};

static const char *const an_snames[AN_S__COUNT] = {
	"summary", "isps", "domains", "ips", "vmtas", "jobs", "matrix",
	"codes", "diag", "bouncecat", "series", "queue-time", "trends",
	"alerts", "malformed",
};

const char *
an_section_name(enum an_section s)
{
	return (unsigned)s < AN_S__COUNT ? an_snames[s] : "";
}

void
an_opts_usage(FILE *f)
{
	fprintf(f,
"usage: sluice acct [REPORT] [OPTIONS] [FILE|GLOB|-]...\n"
"       sluice acct watch [OPTIONS] FILE\n"
"\n"
"Reads PowerMTA-format accounting CSV (plain, .gz, .zst; stdin if no file).\n"
"REPORT (default: report = every section):\n"
"  summary isps domains ips vmtas jobs matrix codes diag bouncecat\n"
"  series queue-time trends alerts malformed report\n"
"  --section A,B        several sections in one run\n"
"Output:   (terminal table by default) --json  --csv  --html FILE\n"
"Filters:  --since T --until T (YYYY-MM-DD[ HH:MM[:SS]][+hhmm] or epoch, UTC\n"
"          unless an offset is given)  --domain D  --isp NAME  --ip IP\n"
"          --vmta V  --job J  --type d,b,t,tq,r,f,rb,rs  (repeatable/commas)\n"
"Reports:  --top N (default 25, 0 = all)  --bucket DUR (default 1h)\n"
"          --diag-prefix N (group dsnDiag by its first N characters)\n"
"          --isp-map FILE (lines 'PATTERN ISP', PATTERN: domain, name.*\n"
"          or *.domain; extends the built-in map)\n"
"Alerts:   --threshold NAME=VALUE with NAME isp-deferral-warn (5),\n"
"          isp-deferral-crit (15), isp-ip-deferral (10), ip-bounce (2),\n"
"          min-volume (100)  --expect-ip IP (must be delivering)\n"
"          exit status 3 when a critical alert fires\n"
"Other:    --threads N  --progress/--no-progress  --max-keys N\n"
"          --split-min BYTES (split plain files larger than this, 32M)\n"
"          --block-size BYTES (blocks of one compressed/stdin input parsed\n"
"          by several threads, 2M)\n"
"Watch:    --interval SEC (10)  --window DUR (15m)  --exit-after SEC\n"
"          --from-start (read the existing file first)\n");
}

void
an_opts_init(struct an_opts *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->since = INT64_MIN;
	o->until = INT64_MAX;
	o->bucket = 3600;
	o->top = 25;
	o->threads = n < 1 ? 1 : n > 16 ? 16 : (int)n;
	o->th.isp_defer_warn = 5;
	o->th.isp_defer_crit = 15;
	o->th.ispip_defer_warn = 10;
	o->th.ip_bounce_warn = 2;
	o->th.min_volume = 100;
	o->progress = -1;
	o->max_keys = 1000000;
	o->split_min = (size_t)32 << 20;
	o->block_size = (size_t)2 << 20;
	o->interval = 10;
	o->window = 900;
}

static void
an_strlist_free(struct an_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((char *)l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
an_opts_fini(struct an_opts *o)
{
	an_strlist_free(&o->f_domain);
	an_strlist_free(&o->f_ip);
	an_strlist_free(&o->f_vmta);
	an_strlist_free(&o->f_job);
	an_strlist_free(&o->f_isp);
	an_strlist_free(&o->expect_ips);
	an_strlist_free(&o->isp_maps);
	for (size_t i = 0; i < o->nfiles; i++)
		free(o->files[i]);
	free(o->files);
}

/* Append the comma-separated items of s (copied). */
static void
an_strlist_add(struct an_strlist *l, const char *s)
{
	const char *p = s, *c;

	for (;;) {
		c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n > 0) {
			l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
			l->v[l->n++] = xstrndup(p, n);
		}
		if (c == NULL)
			break;
		p = c + 1;
	}
}

/* "90", "15m", "1h", "2d" -> seconds; -1 if bad. */
static int64_t
an_parse_dur(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	return (int64_t)v;
}

static int
an_parse_when(const char *s, int64_t *out)
{
	char buf[64];
	size_t n = strlen(s);

	if (n == 10 && s[4] == '-') {
		snprintf(buf, sizeof(buf), "%s 00:00:00", s);
		s = buf;
	} else if (n == 16 && s[4] == '-') {
		snprintf(buf, sizeof(buf), "%s:00", s);
		s = buf;
	}
	return acct_parse_time(s, strlen(s), out);
}

static int
an_opt_types(struct an_opts *o, const char *s)
{
	struct an_strlist l = { NULL, 0 };
	int t, rc = 0;

	an_strlist_add(&l, s);
	for (size_t i = 0; i < l.n; i++) {
		if ((t = acct_rtype_lookup(l.v[i], strlen(l.v[i]))) < 0) {
			fprintf(stderr, "sluice acct: unknown record type '%s'\n",
			    l.v[i]);
			rc = -1;
		} else
			o->types |= 1u << t;
	}
	an_strlist_free(&l);
	return rc;
}

static int
an_opt_threshold(struct an_opts *o, const char *s)
{
	const char *eq = strchr(s, '=');
	char *end;
	double v;

	if (eq == NULL || (v = strtod(eq + 1, &end), end == eq + 1) ||
	    *end != '\0' || v < 0)
		goto bad;
	size_t n = (size_t)(eq - s);
#define AN_IS(name) (n == strlen(name) && strncmp(s, name, n) == 0)
	if (AN_IS("isp-deferral-warn"))
		o->th.isp_defer_warn = v;
	else if (AN_IS("isp-deferral-crit"))
		o->th.isp_defer_crit = v;
	else if (AN_IS("isp-ip-deferral"))
		o->th.ispip_defer_warn = v;
	else if (AN_IS("ip-bounce"))
		o->th.ip_bounce_warn = v;
	else if (AN_IS("min-volume"))
		o->th.min_volume = (uint64_t)v;
	else
		goto bad;
#undef AN_IS
	return 0;
bad:
	fprintf(stderr, "sluice acct: bad --threshold '%s' (NAME=NUMBER; see "
	    "--help)\n", s);
	return -1;
}

static int
an_opt_sections(struct an_opts *o, const char *s)
{
	struct an_strlist l = { NULL, 0 };
	int rc = 0;

	an_strlist_add(&l, s);
	for (size_t i = 0; i < l.n; i++) {
		size_t k;
		for (k = 0; k < sizeof(an_cmds) / sizeof(an_cmds[0]); k++)
			if (strcmp(an_cmds[k].word, l.v[i]) == 0 &&
			    an_cmds[k].sections)
				break;
		if (k == sizeof(an_cmds) / sizeof(an_cmds[0])) {
			fprintf(stderr, "sluice acct: unknown section '%s'\n",
			    l.v[i]);
			rc = -1;
		} else
			o->sections |= an_cmds[k].sections;
	}
	an_strlist_free(&l);
	return rc;
}

static void
an_add_file(struct an_opts *o, const char *s)
{
	o->files = xreallocarray(o->files, o->nfiles + 1, sizeof(*o->files));
	o->files[o->nfiles++] = xstrdup(s);
}

static int
an_vercmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Literal paths, or globs expanded in version order (= rotation order:
 * acct.csv.2 before acct.csv.10, acct-...-0009.csv before -0010.csv).
 */
static int
an_opts_files(struct an_opts *o, int argc, char **argv)
{
	glob_t g;
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "*?[") == NULL ||
		    access(argv[i], F_OK) == 0) {
			an_add_file(o, argv[i]);
			continue;
		}
		if (glob(argv[i], GLOB_NOSORT, NULL, &g) != 0) {
			fprintf(stderr, "sluice acct: %s: no such file\n", argv[i]);
			rc = -1;
			continue;
		}
		qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), an_vercmp);
		for (size_t k = 0; k < g.gl_pathc; k++)
			an_add_file(o, g.gl_pathv[k]);
		globfree(&g);
	}
	if (o->nfiles == 0 && rc == 0) {
		if (isatty(0)) {
			fprintf(stderr, "sluice acct: no input (give files or "
			    "pipe into stdin)\n");
			return -1;
		}
		an_add_file(o, "-");
	}
	return rc;
}

enum {
	AN_O_JSON = 256, AN_O_CSV, AN_O_HTML, AN_O_SINCE, AN_O_UNTIL,
	AN_O_DOMAIN, AN_O_ISP, AN_O_IP, AN_O_VMTA, AN_O_JOB, AN_O_TYPE,
	AN_O_TOP, AN_O_BUCKET, AN_O_DPREFIX, AN_O_ISPMAP, AN_O_THRESH,
	AN_O_EXPECT, AN_O_THREADS, AN_O_PROG, AN_O_NOPROG, AN_O_MAXKEYS,
	AN_O_SECTION, AN_O_SPLITMIN, AN_O_INTERVAL, AN_O_WINDOW, AN_O_EXIT, AN_O_FROMSTART,
	AN_O_BLOCKSIZE,
};

static const struct option an_longopts[] = {
	{ "json", no_argument, NULL, AN_O_JSON },
	{ "csv", no_argument, NULL, AN_O_CSV },
	{ "html", required_argument, NULL, AN_O_HTML },
	{ "since", required_argument, NULL, AN_O_SINCE },
	{ "until", required_argument, NULL, AN_O_UNTIL },
	{ "domain", required_argument, NULL, AN_O_DOMAIN },
	{ "isp", required_argument, NULL, AN_O_ISP },
	{ "ip", required_argument, NULL, AN_O_IP },
	{ "vmta", required_argument, NULL, AN_O_VMTA },
	{ "job", required_argument, NULL, AN_O_JOB },
	{ "type", required_argument, NULL, AN_O_TYPE },
	{ "top", required_argument, NULL, AN_O_TOP },
	{ "bucket", required_argument, NULL, AN_O_BUCKET },
	{ "diag-prefix", required_argument, NULL, AN_O_DPREFIX },
	{ "isp-map", required_argument, NULL, AN_O_ISPMAP },
	{ "threshold", required_argument, NULL, AN_O_THRESH },
	{ "expect-ip", required_argument, NULL, AN_O_EXPECT },
	{ "threads", required_argument, NULL, AN_O_THREADS },
	{ "progress", no_argument, NULL, AN_O_PROG },
	{ "no-progress", no_argument, NULL, AN_O_NOPROG },
	{ "max-keys", required_argument, NULL, AN_O_MAXKEYS },
	{ "section", required_argument, NULL, AN_O_SECTION },
	{ "split-min", required_argument, NULL, AN_O_SPLITMIN },
	{ "interval", required_argument, NULL, AN_O_INTERVAL },
	{ "window", required_argument, NULL, AN_O_WINDOW },
	{ "exit-after", required_argument, NULL, AN_O_EXIT },
	{ "from-start", no_argument, NULL, AN_O_FROMSTART },
	{ "block-size", required_argument, NULL, AN_O_BLOCKSIZE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
an_opt_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A byte count: digits with an optional K, M or G (powers of 1024). */
static int
an_opt_bytes(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10), m = 1;

	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case 'K': case 'k': m = 1L << 10; end++; break;
	case 'M': case 'm': m = 1L << 20; end++; break;
	case 'G': case 'g': m = 1L << 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v > hi / m || v * m < lo)
		return -1;
	*out = v * m;
	return 0;
}

static int
an_opt_one(struct an_opts *o, int c, const char *arg)
{
	long v;

	switch (c) {
	case AN_O_JSON: o->format = AN_FMT_JSON; return 0;
	case AN_O_CSV: o->format = AN_FMT_CSV; return 0;
	case AN_O_HTML: o->html = arg; return 0;
	case AN_O_SINCE: return an_parse_when(arg, &o->since);
	case AN_O_UNTIL: return an_parse_when(arg, &o->until);
	case AN_O_DOMAIN: an_strlist_add(&o->f_domain, arg); return 0;
	case AN_O_ISP: an_strlist_add(&o->f_isp, arg); return 0;
	case AN_O_IP: an_strlist_add(&o->f_ip, arg); return 0;
	case AN_O_VMTA: an_strlist_add(&o->f_vmta, arg); return 0;
	case AN_O_JOB: an_strlist_add(&o->f_job, arg); return 0;
	case AN_O_TYPE: return an_opt_types(o, arg);
	case AN_O_ISPMAP: an_strlist_add(&o->isp_maps, arg); return 0;
	case AN_O_THRESH: return an_opt_threshold(o, arg);
	case AN_O_EXPECT: an_strlist_add(&o->expect_ips, arg); return 0;
	case AN_O_SECTION: return an_opt_sections(o, arg);
	case AN_O_PROG: o->progress = 1; return 0;
	case AN_O_NOPROG: o->progress = 0; return 0;
	case AN_O_FROMSTART: o->from_start = 1; return 0;
	case AN_O_BUCKET: return (o->bucket = an_parse_dur(arg)) > 0 ? 0 : -1;
	case AN_O_WINDOW: return (o->window = an_parse_dur(arg)) > 0 ? 0 : -1;
	case AN_O_INTERVAL: return (o->interval = strtod(arg, NULL)) > 0 ? 0 : -1;
	case AN_O_EXIT: return (o->exit_after = strtod(arg, NULL)) > 0 ? 0 : -1;
	case AN_O_TOP:
		if (an_opt_int(arg, 0, INT_MAX, &v) != 0)
			return -1;
		o->top = (int)v;
		return 0;
	case AN_O_DPREFIX:
		if (an_opt_int(arg, 1, 160, &v) != 0)
			return -1;
		o->diag_prefix = (int)v;
		return 0;
	case AN_O_THREADS:
		if (an_opt_int(arg, 1, 16, &v) != 0)
			return -1;
		o->threads = (int)v;
		return 0;
	case AN_O_SPLITMIN:
		if (an_opt_bytes(arg, 1, LONG_MAX, &v) != 0)
			return -1;
		o->split_min = (size_t)v;
		return 0;
	case AN_O_BLOCKSIZE:
		if (an_opt_bytes(arg, 1, 1L << 30, &v) != 0)
			return -1;
		o->block_size = (size_t)v;
		return 0;
	case AN_O_MAXKEYS:
		if (an_opt_int(arg, 10, INT_MAX, &v) != 0)
			return -1;
		o->max_keys = (size_t)v;
		return 0;
	default:
		return -1;
	}
}

int
an_opts_parse(struct an_opts *o, int argc, char **argv)
{
	int c, first = 1;

	if (argc > 1 && argv[1][0] != '-') {
		for (size_t k = 0; k < sizeof(an_cmds) / sizeof(an_cmds[0]); k++)
			if (strcmp(an_cmds[k].word, argv[1]) == 0) {
				o->sections = an_cmds[k].sections;
				o->watch = strcmp(argv[1], "watch") == 0;
				first = 2;
			}
	}
	optind = 0;
	while ((c = getopt_long(argc - first + 1, argv + first - 1, "h",
	    an_longopts, NULL)) != -1) {
		if (c == 'h') {
			an_opts_usage(stdout);
			return 1;
		}
		if (c == '?' || an_opt_one(o, c, optarg) != 0) {
			if (c != '?')
				fprintf(stderr, "sluice acct: bad value for "
				    "--%s: '%s'\n", an_longopts[c - 256].name,
				    optarg ? optarg : "");
			fprintf(stderr, "try 'sluice acct --help'\n");
			return -1;
		}
	}
	if (o->sections == 0 && !o->watch)
		o->sections = (1u << AN_S__COUNT) - 1;
	return an_opts_files(o, argc - first + 1 - optind,
	    argv + first - 1 + optind);
}
