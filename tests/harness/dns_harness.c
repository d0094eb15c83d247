/*
 * dns_harness.c -- resolve a domain (or an smtp-hosts spec) with sluice_dns
 * and print the result as lines, for the pytest integration tests.
 *
 * Usage: dns-harness [--server 127.0.0.1:PORT] [--ipv6] [--hosts]
 *            [--repeat N] [--delay-ms MS] [--timeout-ms MS] [--tries N]
 *            [--cancel] NAME
 * Output per lookup (repeat runs them one after another, so the later ones
 * can be served from the cache):
 *   lookup N
 *   status OK|NXDOMAIN|NULLMX|NOHOST|TEMPFAIL
 *   error <text>
 *   implicit 0|1
 *   host <name> pref <n> port <n> addrs <ip>:<port>,...
 *   end
 * With --cancel the request is cancelled at once; "cancelled" is printed and
 * the program checks that no callback arrives. Exit status 0 unless usage
 * or set-up fails.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

struct harness {
	struct event_base	*base;
	struct dns		*dns;
	const char		*name;
	int			 hosts_spec;
	int			 remaining, n;
	int			 delay_ms;	/* between repeats */
	struct event		*delay;
};

static const char *status_names[] = {
	"OK", "NXDOMAIN", "NULLMX", "NOHOST", "TEMPFAIL"
};

static void harness_start(struct harness *h);

static void
harness_print_addr(const struct sockaddr_storage *ss, int first)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		port = ntohs(sin->sin_port);
		printf("%s%s:%u", first ? "" : ",", buf, port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		port = ntohs(sin6->sin6_port);
		printf("%s[%s]:%u", first ? "" : ",", buf, port);
	}
}

static void
harness_done(const struct dns_result *res, void *arg)
{
	struct harness *h = arg;

	printf("lookup %d\nstatus %s\nerror %s\nimplicit %d\n", h->n,
	    status_names[res->status], res->error, res->implicit_mx);
	for (size_t i = 0; i < res->nhosts; i++) {
		const struct dns_host *ho = &res->hosts[i];

		printf("host %s pref %u port %u addrs ", ho->name, ho->pref,
		    ho->port);
		for (size_t j = 0; j < ho->naddr; j++)
			harness_print_addr(&ho->addrs[j], j == 0);
		printf("\n");
	}
	printf("end\n");
	fflush(stdout);
	if (--h->remaining > 0) {
		struct timeval tv = { h->delay_ms / 1000,
		    (h->delay_ms % 1000) * 1000 };

		evtimer_add(h->delay, &tv);
	}
}

static void
harness_start(struct harness *h)
{
	h->n++;
	if (h->hosts_spec)
		dns_resolve_hosts(h->dns, h->name, harness_done, h);
	else
		dns_resolve_mx(h->dns, h->name, harness_done, h);
}

static void
harness_on_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	harness_start(arg);
}

static void
harness_on_cancel_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "hosts", no_argument, NULL, 'H' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "tries", required_argument, NULL, 'T' },
		{ "cancel", no_argument, NULL, 'c' },
		{ "delay-ms", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	struct harness h;
	struct dns_params p;
	char err[256];
	int ch, cancel = 0;

	memset(&h, 0, sizeof(h));
	memset(&p, 0, sizeof(p));
	h.remaining = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': p.servers = optarg; break;
		case '6': p.want_ipv6 = 1; break;
		case 'H': h.hosts_spec = 1; break;
		case 'r': h.remaining = atoi(optarg); break;
		case 't': p.timeout_ms = atoi(optarg); break;
		case 'T': p.tries = atoi(optarg); break;
		case 'c': cancel = 1; break;
		case 'D': h.delay_ms = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: dns-harness [options] NAME\n");
			return 2;
		}
	}
	if (optind != argc - 1 || h.remaining < 1) {
		fprintf(stderr, "usage: dns-harness [options] NAME\n");
		return 2;
	}
	h.name = argv[optind];
	h.base = event_base_new();
	h.delay = evtimer_new(h.base, harness_on_delay, &h);
	if ((h.dns = dns_new(h.base, &p, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dns-harness: %s\n", err);
		return 1;
	}
	if (cancel) {
		struct timeval tv = { 1, 0 };
		struct event *t = evtimer_new(h.base,
		    harness_on_cancel_timer, h.base);

		h.n++;
		dns_cancel(dns_resolve_mx(h.dns, h.name, harness_done, &h));
		printf("cancelled\n");
		evtimer_add(t, &tv);
		event_base_dispatch(h.base);
		event_free(t);
	} else {
		harness_start(&h);
		event_base_dispatch(h.base);
	}
	dns_free(h.dns);
	event_free(h.delay);
	event_base_free(h.base);
	return 0;
}
