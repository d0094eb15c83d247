/*
 * control.c -- `sluice status|queues`: thin HTTP client of sluiced's
 * management API over its unix control socket (or 127.0.0.1:PORT).
 *
 * The daemon renders both text and JSON; this client only picks the
 * format, sends one HTTP/1.0 GET and prints the body. Errors (no daemon,
 * bad reply) go to stderr with exit code 1; usage errors exit 2.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/sbuf.h"

#define CLI_DEFAULT_SOCKET	"/var/spool/sluice/sluiced.sock"
#define CLI_TIMEOUT_MS		10000

struct cli_target {
	const char	*socket_path;
	int		 port;		/* > 0: use 127.0.0.1:port */
};

static int
cli_connect(const struct cli_target *t)
{
	int fd;

	if (t->port > 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
		    .sin_port = htons((uint16_t)t->port) };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(t->socket_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, t->socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read the whole response (HTTP/1.0: server closes) with a timeout. */
static int
cli_read_all(int fd, struct sbuf *resp)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[8192];
	ssize_t n;

	for (;;) {
		int r = poll(&pfd, 1, CLI_TIMEOUT_MS);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		if (r < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			sbuf_put(resp, buf, (size_t)n);
	}
}

/* Send GET path, print the body. Returns the exit code. */
static int
cli_get(const struct cli_target *t, const char *path)
{
	struct sbuf req, resp;
	const char *body;
	int fd, status = 0, rc = 1;

	if ((fd = cli_connect(t)) < 0) {
		fprintf(stderr, "sluice: cannot reach sluiced at %s%s: %s\n",
		    t->port > 0 ? "127.0.0.1 port " : "",
		    t->port > 0 ? "" : t->socket_path, strerror(errno));
		return 1;
	}
	sbuf_init(&req);
	sbuf_init(&resp);
	sbuf_printf(&req, "GET %s HTTP/1.0\r\nHost: localhost\r\n"
	    "Connection: close\r\n\r\n", path);
	if (write(fd, req.p, req.len) != (ssize_t)req.len ||
	    cli_read_all(fd, &resp) < 0) {
		fprintf(stderr, "sluice: control request failed: %s\n",
		    strerror(errno));
		goto out;
	}
	if (sscanf(resp.p ? resp.p : "", "HTTP/1.%*d %d", &status) != 1 ||
	    (body = strstr(resp.p, "\r\n\r\n")) == NULL) {
		fprintf(stderr, "sluice: malformed reply from sluiced\n");
		goto out;
	}
	body += 4;
	fwrite(body, 1, resp.len - (size_t)(body - resp.p), stdout);
	if (resp.len > 0 && resp.p[resp.len - 1] != '\n')
		putchar('\n');
	if (status != 200) {
		fprintf(stderr, "sluice: sluiced answered HTTP %d\n", status);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	sbuf_fini(&req);
	sbuf_fini(&resp);
	return rc;
}

static void
cli_control_usage(const char *cmd)
{
	fprintf(stderr, "usage: sluice %s [--json] [--socket PATH | --port N]\n",
	    cmd);
}

int
cli_control_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_target t = { .socket_path = getenv("SLUICE_SOCKET") };
	const char *cmd = argv[0];
	char path[256];
	int json = 0, c;

	if (t.socket_path == NULL)
		t.socket_path = CLI_DEFAULT_SOCKET;
	optind = 1;
	while ((c = getopt_long(argc, argv, "js:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 's': t.socket_path = optarg; break;
		case 'p': t.port = atoi(optarg); break;
		case 'h': cli_control_usage(cmd); return 0;
		default: cli_control_usage(cmd); return 2;
		}
	}
	if (optind != argc) {
		cli_control_usage(cmd);
		return 2;
	}
	snprintf(path, sizeof(path), "/%s?format=%s", cmd,
	    json ? "json" : "text");
	return cli_get(&t, path);
}
