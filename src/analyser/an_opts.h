/*
 * an_opts.h -- command line of `sluice acct`: report sections, filters,
 * output format, alert thresholds, inputs.
 *
 * an_opts_parse() never exits; it returns -1 after printing a usage error.
 * All strings point into argv (borrowed) except the files array (owned,
 * globs expanded).
 */
#ifndef SLUICE_AN_OPTS_H
#define SLUICE_AN_OPTS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

enum an_section {
	AN_S_SUMMARY, AN_S_ISPS, AN_S_DOMAINS, AN_S_IPS, AN_S_VMTAS, AN_S_JOBS,
	AN_S_MATRIX, AN_S_CODES, AN_S_DIAG, AN_S_BCAT, AN_S_SERIES,
	AN_S_QTIME, AN_S_TRENDS, AN_S_ALERTS, AN_S_ERRORS, AN_S__COUNT
};
#define AN_SBIT(s)	(1u << (s))

enum an_format { AN_FMT_TEXT, AN_FMT_JSON, AN_FMT_CSV };

struct an_strlist {
	const char	**v;
	size_t		 n;
};

struct an_thresholds {
	double		 isp_defer_warn;	/* % */
	double		 isp_defer_crit;
	double		 ispip_defer_warn;
	double		 ip_bounce_warn;
	uint64_t	 min_volume;		/* attempts before judging */
};

struct an_opts {
	int		 watch;
	unsigned	 sections;
	enum an_format	 format;
	const char	*html;
	int64_t		 since, until;		/* INT64_MIN/MAX if unset */
	unsigned	 types;			/* record-type mask, 0 = all */
	struct an_strlist f_domain, f_ip, f_vmta, f_job, f_isp;
	struct an_strlist expect_ips;
	int64_t		 bucket;		/* seconds */
	int		 top;
	int		 threads;
	int		 diag_prefix;		/* >0: group by first N chars */
	struct an_strlist isp_maps;
	struct an_thresholds th;
	int		 progress;		/* -1 auto, 0 off, 1 on */
	size_t		 max_keys;
	size_t		 split_min;		/* split plain files above */
	size_t		 block_size;		/* pipelined stream blocks */
	/* watch */
	double		 interval;
	int64_t		 window;
	double		 exit_after;
	int		 from_start;
	char		**files;
	size_t		 nfiles;
};

void an_opts_init(struct an_opts *o);
void an_opts_fini(struct an_opts *o);
/* 0 on success, 1 if help was printed, -1 on a usage error. */
int an_opts_parse(struct an_opts *o, int argc, char **argv);
void an_opts_usage(FILE *f);
const char *an_section_name(enum an_section s);

#endif
