/*
 * dsn_harness.c -- test harness: build one DSN with dsn_build() and write
 * it to stdout. The original message is read from stdin.
 *
 * usage: dsn-harness [-f] [-m host] [-s sender] [-e envid] [-a arrival]
 *            [-n now] -r 'rcpt|orcpt|action|status|diag|remote-mta' ...
 *   -f  return the full message (message/rfc822), else headers only
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce/bounce.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

#define MAXR 64

/* Split "a|b|c|d|e|f" into r (empty fields -> NULL). */
static void
harness_rcpt(char *spec, struct dsn_rcpt *r, int64_t now)
{
	char *f[6] = { 0 };

	for (int i = 0; i < 6; i++) {
		f[i] = strsep(&spec, "|");
		if (f[i] != NULL && *f[i] == '\0')
			f[i] = NULL;
	}
	r->rcpt = f[0];
	r->orcpt = f[1];
	r->action = f[2];
	r->status = f[3];
	r->diag = f[4];
	r->remote_mta = f[5];
	r->last_attempt = now;
}

int
main(int argc, char **argv)
{
	struct dsn_rcpt rc[MAXR];
	struct dsn_params p = { .reporting_mta = "mta.example.net",
	    .to = "sender@example.org", .now = 1700000000,
	    .arrival = 1699990000 };
	struct sbuf in;
	char buf[65536], *out;
	size_t n, len;
	int ch;

	memset(rc, 0, sizeof(rc));
	while ((ch = getopt(argc, argv, "fm:s:e:a:n:r:")) != -1) {
		switch (ch) {
		case 'f': p.ret_full = 1; break;
		case 'm': p.reporting_mta = optarg; break;
		case 's': p.to = optarg; break;
		case 'e': p.envid = optarg; break;
		case 'a': p.arrival = strtoll(optarg, NULL, 10); break;
		case 'n': p.now = strtoll(optarg, NULL, 10); break;
		case 'r':
			if (p.nrcpt == MAXR)
				return 2;
			harness_rcpt(optarg, &rc[p.nrcpt++], p.now);
			break;
		default:
			fprintf(stderr, "usage: dsn-harness [-f] [-m host] "
			    "[-s sender] [-e envid] -r spec ...\n");
			return 2;
		}
	}
	sbuf_init(&in);
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		sbuf_put(&in, buf, n);
	p.orig_msg = in.p;
	p.orig_len = in.len;
	p.rcpts = rc;
	out = dsn_build(&p, &len);
	fwrite(out, 1, len, stdout);
	free(out);
	sbuf_fini(&in);
	return 0;
}
