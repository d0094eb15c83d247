/*
 * cli.h -- `sluice` command table and the daemon-control client.
 *
 * Control commands (status, queues, list, pause, resume, schedule, delete,
 * reload, rotate) are parsed by ctl_parse.c into one HTTP request for
 * sluiced's management API (docs/api.md) and sent by control.c over the
 * control socket (or 127.0.0.1:PORT). Exit codes: 0 success, 1 the daemon
 * refused or could not be reached (message on stderr), 2 bad usage.
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdio.h>

#include "lib/sbuf.h"

#define CLI_DEFAULT_SOCKET	"/var/spool/sluice/sluiced.sock"

/* One parsed control command: the HTTP request to send. */
struct cli_req {
	const char	*socket_path;
	int		 port;		/* > 0: use 127.0.0.1:port */
	int		 json;
	int		 post;		/* POST (command) or GET (read) */
	const char	*path;		/* "/pause" */
	struct sbuf	 params;	/* url-encoded "k=v&k=v" */
};

enum { CLI_PARSE_OK = 0, CLI_PARSE_HELP = 1, CLI_PARSE_USAGE = 2 };

/* Parse argv (argv[0] = command word) into r (params must be sbuf_init'd
 * by the caller). CLI_PARSE_USAGE fills err. */
int cli_ctl_parse(int argc, char **argv, struct cli_req *r, char *err,
    size_t errlen);
/* Usage line(s) of a control command; 0 if the word is not one. */
int cli_ctl_usage(FILE *f, const char *word);

/* Control commands: argv[0] is the command word. */
int cli_control_main(int argc, char **argv);

#endif
