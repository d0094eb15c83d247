/*
 * ctl_parse.c -- `sluice` control commands: argv -> one management API
 * request (method, path, url-encoded parameters). No I/O, so the command
 * syntax is unit-tested (tests/unit/test_cli_ctl.c).
 *
 * Verbs follow PowerMTA's `pmta` CLI: pause|resume queue DOMAIN[/VMTA]
 * (also `domain D` = D/ *, `vmta V` = * /V, `job ID`), schedule
 * DOMAIN[/VMTA], delete --queue=|--job= [--dsn] [--no-accounting],
 * list [--queue=] [--job=] [--maxitems=N], reload, rotate acct,
 * set queue --mode=backoff|normal DOMAIN[/VMTA]. The table
 * below is the single source of the usage text.
 */
#include <event2/http.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

enum {
	O_QUEUE = 1 << 0, O_JOB = 1 << 1, O_DSN = 1 << 2, O_NOACCT = 1 << 3,
	O_MAXITEMS = 1 << 4, O_MODE = 1 << 5,
};

struct ctl_cmd {
	const char	*word;
	const char	*path;
	int		 post;
	int		 opts;		/* O_* allowed */
	int		 nargs;		/* positional arguments; -1 = 2 */
	const char	*usage;
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", "/status", 0, 0, 0, "status" },
	{ "queues", "/queues", 0, 0, 0, "queues" },
	{ "list", "/list", 0, O_QUEUE | O_JOB | O_MAXITEMS, 0,
	    "list [--queue=DOMAIN[/VMTA]] [--job=ID] [--maxitems=N]" },
	{ "pause", "/pause", 1, 0, 2,
	    "pause queue DOMAIN[/VMTA] | domain DOMAIN | vmta VMTA | job ID" },
	{ "resume", "/resume", 1, 0, 2,
	    "resume queue DOMAIN[/VMTA] | domain DOMAIN | vmta VMTA | job ID" },
	{ "schedule", "/schedule", 1, 0, 1, "schedule DOMAIN[/VMTA]" },
	{ "delete", "/delete", 1, O_QUEUE | O_JOB | O_DSN | O_NOACCT, 0,
	    "delete --queue=DOMAIN[/VMTA] and/or --job=ID [--dsn] "
	    "[--no-accounting]" },
	{ "reload", "/reload", 1, 0, 0, "reload" },
	{ "rotate", "/rotate", 1, 0, 1, "rotate acct" },
	{ "set", "/set", 1, O_MODE, 2,
	    "set queue --mode=backoff|normal DOMAIN[/VMTA]" },
};

#define CTL_COMMON "[--json] [--socket PATH | --port N]"

static const struct ctl_cmd *
ctl_find(const char *word)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(*ctl_cmds); i++)
		if (strcmp(ctl_cmds[i].word, word) == 0)
			return &ctl_cmds[i];
	return NULL;
}

int
cli_ctl_usage(FILE *f, const char *word)
{
	const struct ctl_cmd *c = ctl_find(word);

	if (c == NULL)
		return 0;
	fprintf(f, "usage: sluice %s %s\n", c->usage, CTL_COMMON);
	return 1;
}

static void
param_add(struct cli_req *r, const char *k, const char *v)
{
	char *enc = evhttp_uriencode(v, -1, 0);

	sbuf_printf(&r->params, "%s%s=%s", r->params.len ? "&" : "", k,
	    enc ? enc : "");
	free(enc);
}

static int __attribute__((format(printf, 3, 4)))
usage_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CLI_PARSE_USAGE;
}

/* pause/resume KIND ARG -> queue=SPEC or job=ID. */
static int
parse_target(struct cli_req *r, const char *kind, const char *arg, char *err,
    size_t errlen)
{
	char spec[512];

	if (arg[0] == '\0')
		return usage_err(err, errlen, "empty %s", kind);
	if (strcmp(kind, "job") == 0) {
		param_add(r, "job", arg);
		return CLI_PARSE_OK;
	}
	if (strcmp(kind, "queue") == 0)
		snprintf(spec, sizeof(spec), "%s", arg);
	else if (strcmp(kind, "domain") == 0 && !strchr(arg, '/'))
		snprintf(spec, sizeof(spec), "%s/*", arg);
	else if (strcmp(kind, "vmta") == 0 && !strchr(arg, '/'))
		snprintf(spec, sizeof(spec), "*/%s", arg);
	else
		return usage_err(err, errlen, "expected queue DOMAIN[/VMTA], "
		    "domain DOMAIN, vmta VMTA or job ID, not '%s'", kind);
	param_add(r, "queue", spec);
	return CLI_PARSE_OK;
}

static int
parse_positional(const struct ctl_cmd *c, struct cli_req *r, int argc,
    char **argv, char *err, size_t errlen)
{
	if (argc != c->nargs)
		return usage_err(err, errlen, "%s: wrong number of arguments",
		    c->word);
	if (strcmp(c->word, "set") == 0) {
		if (strcmp(argv[0], "queue") != 0 || argv[1][0] == '\0')
			return usage_err(err, errlen, "set: expected 'queue "
			    "DOMAIN[/VMTA]'");
		param_add(r, "queue", argv[1]);
		return CLI_PARSE_OK;
	}
	if (c->nargs == 2)
		return parse_target(r, argv[0], argv[1], err, errlen);
	if (strcmp(c->word, "schedule") == 0) {
		if (argv[0][0] == '\0')
			return usage_err(err, errlen, "empty queue");
		param_add(r, "queue", argv[0]);
	} else if (strcmp(c->word, "rotate") == 0) {
		if (strcmp(argv[0], "acct") != 0)
			return usage_err(err, errlen, "rotate: only 'acct' can "
			    "be rotated (sluiced logs to stderr), not '%s'",
			    argv[0]);
		param_add(r, "what", "acct");
	}
	return CLI_PARSE_OK;
}

static int
opt_value(struct cli_req *r, const struct ctl_cmd *c, int bit, int ch,
    const char *v, char *err, size_t errlen)
{
	char *end;

	if (!(c->opts & bit))
		return usage_err(err, errlen, "%s: option not valid here",
		    c->word);
	switch (ch) {
	case 'q': param_add(r, "queue", v); break;
	case 'J': param_add(r, "job", v); break;
	case 'D': param_add(r, "dsn", "yes"); break;
	case 'A': param_add(r, "accounting", "no"); break;
	case 'M':
		if (strcmp(v, "backoff") != 0 && strcmp(v, "normal") != 0)
			return usage_err(err, errlen, "--mode: backoff or "
			    "normal, not '%s'", v);
		param_add(r, "mode", v);
		break;
	case 'm':
		if (strtol(v, &end, 10) < 0 || *end || end == v)
			return usage_err(err, errlen, "--maxitems: not a "
			    "number: '%s'", v);
		param_add(r, "maxitems", v);
		break;
	}
	return CLI_PARSE_OK;
}

static int
opt_bit(int ch)
{
	switch (ch) {
	case 'q': return O_QUEUE;
	case 'J': return O_JOB;
	case 'D': return O_DSN;
	case 'A': return O_NOACCT;
	case 'm': return O_MAXITEMS;
	case 'M': return O_MODE;
	}
	return 0;
}

static int
parse_opts(const struct ctl_cmd *c, struct cli_req *r, int argc, char **argv,
    char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "queue", required_argument, NULL, 'q' },
		{ "job", required_argument, NULL, 'J' },
		{ "jobId", required_argument, NULL, 'J' },
		{ "dsn", no_argument, NULL, 'D' },
		{ "no-accounting", no_argument, NULL, 'A' },
		{ "maxitems", required_argument, NULL, 'm' },
		{ "mode", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	optind = 0;	/* GNU: full re-initialisation */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "js:p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': r->json = 1; break;
		case 's': r->socket_path = optarg; break;
		case 'p':
			if ((r->port = atoi(optarg)) <= 0 || r->port > 65535)
				return usage_err(err, errlen, "--port: bad port "
				    "'%s'", optarg);
			break;
		case 'h': return CLI_PARSE_HELP;
		case '?': case ':':
			return usage_err(err, errlen, "%s: unknown option or "
			    "missing value", c->word);
		default:
			rc = opt_value(r, c, opt_bit(ch), ch, optarg, err,
			    errlen);
			if (rc != CLI_PARSE_OK)
				return rc;
		}
	}
	return CLI_PARSE_OK;
}

int
cli_ctl_parse(int argc, char **argv, struct cli_req *r, char *err,
    size_t errlen)
{
	const struct ctl_cmd *c = ctl_find(argv[0]);
	int rc;

	if (c == NULL)
		return usage_err(err, errlen, "unknown command '%s'", argv[0]);
	r->path = c->path;
	r->post = c->post;
	if ((rc = parse_opts(c, r, argc, argv, err, errlen)) != CLI_PARSE_OK)
		return rc;
	rc = parse_positional(c, r, argc - optind, argv + optind, err,
	    errlen);
	if (rc != CLI_PARSE_OK)
		return rc;
	if (strcmp(c->word, "set") == 0 && !strstr(r->params.p ?
	    r->params.p : "", "mode="))
		return usage_err(err, errlen, "set: --mode=backoff|normal is "
		    "required");
	if (strcmp(c->word, "delete") == 0 && !strstr(r->params.p ?
	    r->params.p : "", "queue=") && !strstr(r->params.p ?
	    r->params.p : "", "job="))
		return usage_err(err, errlen, "delete: give --queue=DOMAIN"
		    "[/VMTA] and/or --job=ID");
	param_add(r, "format", r->json ? "json" : "text");
	return CLI_PARSE_OK;
}
