/*
 * main.c -- `sluice`: the operator's command-line tool.
 *
 * A thin dispatcher (smtpctl style): each first word maps to one handler.
 * Daemon control goes over the control socket (cli_control_main); the
 * accounting analyser and DKIM tools run in-process.
 */
#include <stdio.h>
#include <string.h>

#include "analyser/analyser.h"
#include "cli/cli.h"
#include "dkim/dkim_cli.h"
#include "lib/log.h"

struct cli_cmd {
	const char	*word;
	int		(*run)(int, char **);
	const char	*help;
};

static const struct cli_cmd cli_cmds[] = {
	{ "status", cli_control_main, "daemon status (traffic, connections, queue totals)" },
	{ "queues", cli_control_main, "per-queue state: domain/vmta, recipients, connections, mode, paused" },
	{ "list", cli_control_main, "queued recipients: --queue=DOMAIN[/VMTA] --job=ID --maxitems=N" },
	{ "pause", cli_control_main, "hold a queue DOMAIN[/VMTA] (wildcards), domain, vmta or job ID" },
	{ "resume", cli_control_main, "resume what pause held" },
	{ "schedule", cli_control_main, "retry a queue's deferred recipients now: schedule DOMAIN[/VMTA]" },
	{ "delete", cli_control_main, "delete queued recipients: --queue=|--job= [--dsn] [--no-accounting]" },
	{ "reload", cli_control_main, "reload the configuration (like SIGHUP)" },
	{ "rotate", cli_control_main, "start new accounting files: rotate acct" },
	{ "set", cli_control_main, "force a queue's mode: set queue --mode=backoff|normal DOMAIN[/VMTA]" },
	{ "acct", analyser_main, "analyse accounting CSV files (sluice acct --help)" },
	{ "dkim", dkim_cli_main, "DKIM tools: sluice dkim keygen DOMAIN SELECTOR [--ed25519]" },
};

static void
cli_usage(FILE *f)
{
	fprintf(f, "usage: sluice COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cli_cmds[i].word, cli_cmds[i].help);
	fprintf(f, "\ncontrol commands (status .. set) accept --json, "
	    "--socket PATH (default\n%s or $SLUICE_SOCKET)\n"
	    "or --port N (127.0.0.1:N, the http-mgmt-port). `sluice COMMAND "
	    "--help` shows a\ncommand's usage. Quote wildcards: sluice pause "
	    "queue '*/vmta1'. Exit codes:\n0 ok, 1 refused by or cannot reach "
	    "sluiced, 2 bad usage. See docs/api.md.\n", CLI_DEFAULT_SOCKET);
}

int
main(int argc, char **argv)
{
	log_init("sluice", 0);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		cli_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++) {
		if (strcmp(argv[1], cli_cmds[i].word) == 0)
			return cli_cmds[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "sluice: unknown command '%s'\n", argv[1]);
	cli_usage(stderr);
	return 2;
}
