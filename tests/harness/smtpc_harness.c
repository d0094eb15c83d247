/*
 * smtpc_harness.c -- deliver one message with sluice_smtpc and print every
 * reply, for the pytest integration tests.
 *
 * Usage: smtpc-harness --host IP --port N --from ADDR --rcpt ADDR...
 *            --data FILE [--source-ip IP] [--starttls|--require-tls]
 *            [--helo NAME] [--txns N] [--timeout SEC] [--dst-name NAME]
 * Output lines ("-" for an empty enhanced code):
 *   ready ext=<keywords> tls=<protocol> cipher=<cipher> local=<ip> peer=<ip>
 *   txn <n>
 *   mail <code> <enh> <text>
 *   rcpt <addr> <code> <enh> <text>
 *   data <code> <enh> <text>
 *   closed <code> <enh> <text>      (or "closed quit" after our QUIT)
 * --txns N sends the same transaction N times on one connection. The
 * program ends by itself: a watchdog aborts after 4 x --timeout seconds.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <getopt.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpc/smtpc.h"

struct harness {
	struct event_base	*base;
	struct event		*watchdog;
	struct smtpc_txn	 txn;
	const char		*rcpts[64];
	int			 txns, sent, rc;
};

static void
harness_reply(const char *what, const struct smtpc_reply *r)
{
	printf("%s %d %s %s\n", what, r->code, r->enh[0] ? r->enh : "-",
	    r->text);
}

static void
harness_send(struct smtpc *c, struct harness *h)
{
	printf("txn %d\n", ++h->sent);
	if (smtpc_send(c, &h->txn) == -1) {
		printf("send-failed\n");
		h->rc = 1;
		smtpc_quit(c);
	}
	fflush(stdout);
}

static void
harness_ready(struct smtpc *c, void *arg)
{
	printf("ready ext=%s tls=%s cipher=%s local=%s peer=%s\n",
	    smtpc_esmtp_ext(c), smtpc_tls_protocol(c), smtpc_tls_cipher(c),
	    smtpc_local_ip(c), smtpc_peer_ip(c));
	harness_send(c, arg);
}

static void
harness_done(struct smtpc *c, const struct smtpc_result *r, void *arg)
{
	struct harness *h = arg;
	char what[300];

	harness_reply("mail", &r->mail);
	for (size_t i = 0; i < r->nrcpt; i++) {
		snprintf(what, sizeof(what), "rcpt %s", h->rcpts[i]);
		harness_reply(what, &r->rcpt[i]);
	}
	harness_reply("data", &r->data);
	fflush(stdout);
	if (h->sent < h->txns)
		harness_send(c, h);
	else
		smtpc_quit(c);
}

static void
harness_closed(struct smtpc *c, const struct smtpc_reply *why, void *arg)
{
	struct harness *h = arg;

	(void)c;
	if (why == NULL)
		printf("closed quit\n");
	else
		harness_reply("closed", why);
	fflush(stdout);
	event_del(h->watchdog);
}

static void
harness_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	printf("watchdog\n");
	fflush(stdout);
	exit(3);
	(void)arg;
}

static int
harness_addr(const char *ip, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static char *
harness_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(path);
		exit(2);
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
usage(void)
{
	fprintf(stderr, "usage: smtpc-harness --host IP --port N --from A "
	    "--rcpt A... --data FILE [--source-ip IP] [--starttls] "
	    "[--require-tls] [--helo NAME] [--txns N] [--timeout S]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "from", required_argument, NULL, 'f' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "data", required_argument, NULL, 'd' },
		{ "source-ip", required_argument, NULL, 's' },
		{ "starttls", no_argument, NULL, 'S' },
		{ "require-tls", no_argument, NULL, 'R' },
		{ "helo", required_argument, NULL, 'H' },
		{ "txns", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "dst-name", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	struct harness h;
	struct smtpc_params p;
	struct smtpc_cbs cbs = { harness_ready, harness_done, harness_closed };
	struct sockaddr_storage dst, src;
	const char *host = "127.0.0.1", *srcip = NULL, *data = NULL;
	int ch, port = 0, timeout = 30;
	char *buf;
	struct timeval tv;

	memset(&h, 0, sizeof(h));
	memset(&p, 0, sizeof(p));
	h.txns = 1;
	h.txn.mail_from = "";
	p.helo = "sluice.test";
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'f': h.txn.mail_from = optarg; break;
		case 'r':
			if (h.txn.nrcpt >= 64)
				usage();
			h.rcpts[h.txn.nrcpt++] = optarg;
			break;
		case 'd': data = optarg; break;
		case 's': srcip = optarg; break;
		case 'S': p.tls = SMTPC_TLS_OPPORTUNISTIC; break;
		case 'R': p.tls = SMTPC_TLS_REQUIRED; break;
		case 'H': p.helo = optarg; break;
		case 'n': h.txns = atoi(optarg); break;
		case 't': timeout = atoi(optarg); break;
		case 'N': p.dst_name = optarg; break;
		default: usage();
		}
	}
	if (port <= 0 || h.txn.nrcpt == 0 || data == NULL || h.txns < 1 ||
	    harness_addr(host, port, &dst, &p.dstlen) == -1)
		usage();
	p.dst = (struct sockaddr *)&dst;
	if (srcip != NULL) {
		if (harness_addr(srcip, 0, &src, &p.srclen) == -1)
			usage();
		p.src = (struct sockaddr *)&src;
	}
	if (p.tls != SMTPC_TLS_NO) {
		p.ssl_ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(p.ssl_ctx, SSL_VERIFY_NONE, NULL);
	}
	p.connect_timeout = p.greeting_timeout = p.cmd_timeout = timeout;
	p.data_init_timeout = p.data_block_timeout = timeout;
	p.data_term_timeout = timeout;
	buf = harness_read(data, &h.txn.datalen);
	h.txn.data = buf;
	h.txn.rcpts = h.rcpts;
	h.base = event_base_new();
	h.watchdog = evtimer_new(h.base, harness_on_watchdog, &h);
	tv.tv_sec = 4 * timeout;
	tv.tv_usec = 0;
	evtimer_add(h.watchdog, &tv);
	if (smtpc_connect(h.base, &p, &cbs, &h) == NULL) {
		fprintf(stderr, "smtpc-harness: bad parameters\n");
		return 2;
	}
	event_base_dispatch(h.base);
	event_free(h.watchdog);
	event_base_free(h.base);
	SSL_CTX_free(p.ssl_ctx);
	free(buf);
	return h.rc;
}
