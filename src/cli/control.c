/*
 * control.c -- the transport of `sluice` control commands: one HTTP/1.0
 * request (built by ctl_parse.c) to sluiced's management API over its unix
 * control socket (or 127.0.0.1:PORT), body printed as the daemon rendered
 * it (text or JSON).
 *
 * Exit codes: 0 the daemon answered 200 (body on stdout); 1 no daemon, a
 * bad reply, or an error answer (its message on stderr); 2 usage errors.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/sbuf.h"

#define CLI_TIMEOUT_MS		30000

static int
cli_connect(const struct cli_req *t)
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

/* Send the request, print the body: to stdout on success, to stderr
 * (prefixed) on an error reply. Returns the exit code. */
static int
cli_send(const struct cli_req *r)
{
	struct sbuf req, resp;
	const char *body;
	int fd, status = 0, rc = 1;
	size_t blen;

	if ((fd = cli_connect(r)) < 0) {
		fprintf(stderr, "sluice: cannot reach sluiced at %s%s: %s\n",
		    r->port > 0 ? "127.0.0.1 port " : "",
		    r->port > 0 ? "" : r->socket_path, strerror(errno));
		return 1;
	}
	sbuf_init(&req);
	sbuf_init(&resp);
	if (r->post)
		sbuf_printf(&req, "POST %s HTTP/1.0\r\nHost: localhost\r\n"
		    "Content-Type: application/x-www-form-urlencoded\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    r->path, r->params.len, r->params.p ? r->params.p : "");
	else
		sbuf_printf(&req, "GET %s?%s HTTP/1.0\r\nHost: localhost\r\n"
		    "Connection: close\r\n\r\n", r->path,
		    r->params.p ? r->params.p : "");
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
	blen = resp.len - (size_t)(body - resp.p);
	if (status == 200) {
		fwrite(body, 1, blen, stdout);
		if (blen > 0 && body[blen - 1] != '\n')
			putchar('\n');
		rc = 0;
	} else {
		fprintf(stderr, "sluice: %.*s%s", (int)blen, body,
		    blen > 0 && body[blen - 1] == '\n' ? "" : "\n");
	}
out:
	close(fd);
	sbuf_fini(&req);
	sbuf_fini(&resp);
	return rc;
}

int
cli_control_main(int argc, char **argv)
{
	struct cli_req r = { .socket_path = getenv("SLUICE_SOCKET") };
	char err[256];
	int rc;

	if (r.socket_path == NULL)
		r.socket_path = CLI_DEFAULT_SOCKET;
	sbuf_init(&r.params);
	rc = cli_ctl_parse(argc, argv, &r, err, sizeof(err));
	if (rc == CLI_PARSE_HELP) {
		cli_ctl_usage(stdout, argv[0]);
		rc = 0;
	} else if (rc == CLI_PARSE_USAGE) {
		fprintf(stderr, "sluice: %s\n", err);
		cli_ctl_usage(stderr, argv[0]);
		rc = 2;
	} else {
		rc = cli_send(&r);
	}
	sbuf_fini(&r.params);
	return rc;
}
