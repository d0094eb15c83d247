/*
 * main.c -- sluiced: command line, configuration, signals, event loop.
 *
 * Runs in the foreground and logs to stderr (systemd Type=simple). After
 * the listeners are up it prints "sluiced: info: smtp listening on
 * ADDR:PORT" per listener and then "sluiced: info: ready".
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "daemon/server.h"

#define SLUICED_VERSION "0.1.0"

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: sluiced -f CONFIG [-d] [--ports-file FILE]\n"
"       sluiced --help | --help-config | --version\n"
"\n"
"Sluice outbound MTA daemon. Runs in the foreground and logs to stderr.\n"
"\n"
"  -f, --config FILE    configuration file (PowerMTA syntax; required)\n"
"  -d, --debug          debug logging\n"
"      --ports-file F   after start-up write one line per listener:\n"
"                       \"smtp ADDR:PORT\" (actual port, also for port 0),\n"
"                       then \"control PATH\" (management unix socket)\n"
"      --help-config    list every configuration directive and exit\n"
"      --version        print the version and exit\n"
"  -h, --help           this text\n"
"\n"
"Signals: SIGTERM/SIGINT stop cleanly (listeners close, messages being\n"
"spooled are answered, in-flight deliveries stay pending in the spool,\n"
"spool and accounting are flushed; exit 0). SIGHUP reloads the\n"
"configuration (on error the old one stays; the error is logged).\n"
"Management API: HTTP on the control socket (control-socket, default\n"
"SPOOL/sluiced.sock) and on 127.0.0.1:http-mgmt-port if set:\n"
"GET /status?format=json|text, GET /queues?format=json|text.\n");
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *sv = arg;

	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(sv->base);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	server_reload(arg);
}

static int
parse_args(int argc, char **argv, struct server_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "help-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "ports-file", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "f:dh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->config = optarg;
			break;
		case 'd':
			o->debug = 1;
			break;
		case 'P':
			o->ports_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'C':
			conf_print_directives(stdout);
			exit(0);
		case 'V':
			printf("sluiced %s\n", SLUICED_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || o->config == NULL) {
		fprintf(stderr, "sluiced: %s\n", o->config == NULL ?
		    "-f CONFIG is required" : "unexpected argument");
		usage(stderr);
		return -1;
	}
	return 0;
}

static void
add_signals(struct server *sv)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	for (size_t i = 0; i < 3; i++) {
		sv->sig_ev[i] = evsignal_new(sv->base, sigs[i],
		    sigs[i] == SIGHUP ? on_hup : on_stop, sv);
		event_add(sv->sig_ev[i], NULL);
	}
}

int
main(int argc, char **argv)
{
	struct server sv;
	char err[1024];

	memset(&sv, 0, sizeof(sv));
	log_init("sluiced", 0);
	if (parse_args(argc, argv, &sv.opts) == -1)
		return 2;
	log_setverbose(sv.opts.debug);
	signal(SIGPIPE, SIG_IGN);
	if ((sv.conf = conf_load(sv.opts.config, err, sizeof(err))) == NULL ||
	    dkim_cache_check(sv.conf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		conf_free(sv.conf);
		return 1;
	}
	evthread_use_pthreads();
	if ((sv.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	add_signals(&sv);
	if (server_start(&sv, err, sizeof(err)) == -1) {
		log_warnx("start-up failed: %s", err);
		server_stop(&sv);
		return 1;
	}
	event_base_dispatch(sv.base);
	server_stop(&sv);
	for (size_t i = 0; i < 3; i++)
		event_free(sv.sig_ev[i]);
	conf_free(sv.conf);
	event_base_free(sv.base);
	return 0;
}
