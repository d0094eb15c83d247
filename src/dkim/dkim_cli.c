/* SPDX-License-Identifier: ISC
 *
 * dkim_cli.c -- `sluice dkim ...`: keygen, record, sign.
 *
 *   sluice dkim keygen DOMAIN SELECTOR [--ed25519] [--bits N] [--dir DIR]
 *   sluice dkim record KEYFILE DOMAIN SELECTOR
 *   sluice dkim sign -k KEYFILE:SELECTOR:DOMAIN [-k ...] [--canon H/B]
 *       [--headers LIST] [--identity I] [--timestamp T] [--expire SECS]
 *       [FILE]
 *
 * keygen/record print the DNS TXT record on stdout. sign reads a CRLF
 * message (FILE or stdin) and writes it to stdout with one
 * DKIM-Signature per -k prepended (all computed over the input message;
 * the first -k ends up topmost). Exit status: 0 ok, 1 failure, 2 usage.
 * Ownership: argv is only read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"
#include "dkim/dkim_cli.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

#define DKIM_CLI_MAXKEYS 8
#define DKIM_CLI_MAXMSG (256u * 1024 * 1024)

static const char dkim_cli_usage_text[] =
    "usage: sluice dkim keygen DOMAIN SELECTOR [--ed25519] [--bits N] "
    "[--dir DIR]\n"
    "       sluice dkim record KEYFILE DOMAIN SELECTOR\n"
    "       sluice dkim sign -k KEYFILE:SELECTOR:DOMAIN [-k ...] "
    "[--canon relaxed|simple[/relaxed|simple]]\n"
    "            [--headers h1:h2:...] [--identity I] [--timestamp T] "
    "[--expire SECS] [FILE]\n";

static int
cli_usage(void)
{
	fputs(dkim_cli_usage_text, stderr);
	return 2;
}

/* Parse a decimal integer in [min, max]; -1 on error. */
static int
cli_num(const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *out < min ||
	    *out > max) {
		fprintf(stderr, "sluice dkim: bad number \"%s\" (%lld-%lld)\n",
		    s, min, max);
		return -1;
	}
	return 0;
}

static int
cli_keygen(int argc, char **argv)
{
	const char *pos[2], *dir = ".";
	int npos = 0, ed = 0;
	long long bits = 2048;
	char err[512], *rec;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ed25519") == 0)
			ed = 1;
		else if (strcmp(argv[i], "--bits") == 0 && i + 1 < argc) {
			if (cli_num(argv[++i], 1024, 4096, &bits) == -1)
				return 2;
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (argv[i][0] == '-' || npos == 2)
			return cli_usage();
		else
			pos[npos++] = argv[i];
	}
	if (npos != 2)
		return cli_usage();
	if ((rec = dkim_keygen(dir, pos[0], pos[1], ed, (int)bits, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "sluice %s\n", err);
		return 1;
	}
	fprintf(stderr, "sluice dkim: wrote %s/%s/%s.pem; publish:\n", dir,
	    pos[0], pos[1]);
	printf("%s\n", rec);
	free(rec);
	return 0;
}

static int
cli_record(int argc, char **argv)
{
	struct dkim_key *k;
	char err[512], *rec;

	if (argc != 4)
		return cli_usage();
	if ((k = dkim_key_load(argv[1], argv[3], argv[2], err,
	    sizeof(err))) == NULL ||
	    (rec = dkim_key_dns_record(k, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluice %s\n", err);
		dkim_key_free(k);
		return 1;
	}
	printf("%s\n", rec);
	free(rec);
	dkim_key_free(k);
	return 0;
}

static int
cli_read(const char *path, struct sbuf *msg)
{
	FILE *fp = path ? fopen(path, "rb") : stdin;
	char buf[65536];
	size_t n;

	if (fp == NULL) {
		fprintf(stderr, "sluice dkim: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0 &&
	    msg->len + n <= DKIM_CLI_MAXMSG)
		sbuf_put(msg, buf, n);
	if (ferror(fp) || n > 0) {
		fprintf(stderr, "sluice dkim: reading %s failed or message "
		    "too large\n", path ? path : "stdin");
		if (path)
			fclose(fp);
		return -1;
	}
	if (path)
		fclose(fp);
	return 0;
}

static int
cli_canon_word(const char *s, size_t n, enum dkim_canon *c)
{
	if (n == 7 && strncmp(s, "relaxed", 7) == 0)
		*c = DKIM_CANON_RELAXED;
	else if (n == 6 && strncmp(s, "simple", 6) == 0)
		*c = DKIM_CANON_SIMPLE;
	else
		return -1;
	return 0;
}

/* "H/B", or one word for both. */
static int
cli_canon(const char *s, struct dkim_sign_params *p)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL)
		return cli_canon_word(s, strlen(s), &p->header_canon) == -1 ||
		    cli_canon_word(s, strlen(s), &p->body_canon) == -1 ? -1 : 0;
	return cli_canon_word(s, (size_t)(slash - s), &p->header_canon) ==
	    -1 || cli_canon_word(slash + 1, strlen(slash + 1),
	    &p->body_canon) == -1 ? -1 : 0;
}

/* KEYFILE:SELECTOR:DOMAIN, split at the last two colons. */
static struct dkim_key *
cli_key(const char *spec)
{
	char *s = xstrdup(spec), *d, *sel, err[512];
	struct dkim_key *k = NULL;

	if ((d = strrchr(s, ':')) == NULL) {
		fprintf(stderr, "sluice dkim: -k wants KEYFILE:SELECTOR:DOMAIN\n");
		free(s);
		return NULL;
	}
	*d++ = '\0';
	if ((sel = strrchr(s, ':')) == NULL)
		fprintf(stderr, "sluice dkim: -k wants KEYFILE:SELECTOR:DOMAIN\n");
	else {
		*sel++ = '\0';
		if ((k = dkim_key_load(s, sel, d, err, sizeof(err))) == NULL)
			fprintf(stderr, "sluice %s\n", err);
	}
	free(s);
	return k;
}

struct cli_sign_opts {
	struct dkim_sign_params	 p;
	struct dkim_key		*keys[DKIM_CLI_MAXKEYS];
	int			 nkeys;
	const char		*file;
};

static int
cli_sign_opt(struct cli_sign_opts *o, const char *opt, const char *arg)
{
	long long v;

	if (strcmp(opt, "-k") == 0 || strcmp(opt, "--key") == 0) {
		if (o->nkeys == DKIM_CLI_MAXKEYS)
			return 2;
		return (o->keys[o->nkeys++] = cli_key(arg)) ? 0 : 1;
	}
	if (strcmp(opt, "--canon") == 0)
		return cli_canon(arg, &o->p) == 0 ? 0 : 2;
	if (strcmp(opt, "--headers") == 0)
		o->p.headers = arg;
	else if (strcmp(opt, "--identity") == 0)
		o->p.identity = arg;
	else if (strcmp(opt, "--timestamp") == 0) {
		if (cli_num(arg, 1, (1LL << 40), &v) == -1)
			return 2;
		o->p.timestamp = (time_t)v;
	} else if (strcmp(opt, "--expire") == 0) {
		if (cli_num(arg, 1, (1LL << 40), &v) == -1)
			return 2;
		o->p.expire_after = v;
	} else
		return 2;
	return 0;
}

static int
cli_sign_run(struct cli_sign_opts *o)
{
	struct sbuf msg;
	char *sig[DKIM_CLI_MAXKEYS], err[512];
	int i, rc = 0;

	sbuf_init(&msg);
	if (cli_read(o->file, &msg) == -1) {
		sbuf_fini(&msg);
		return 1;
	}
	for (i = 0; i < o->nkeys; i++) {
		o->p.key = o->keys[i];
		if ((sig[i] = dkim_sign(&o->p, msg.p ? msg.p : "", msg.len,
		    err, sizeof(err))) == NULL) {
			fprintf(stderr, "sluice %s\n", err);
			rc = 1;
			break;
		}
	}
	for (int j = 0; j < i; j++) {
		if (rc == 0)
			fputs(sig[j], stdout);
		free(sig[j]);
	}
	if (rc == 0 && msg.len > 0)
		fwrite(msg.p, 1, msg.len, stdout);
	sbuf_fini(&msg);
	if (rc == 0 && fflush(stdout) != 0)
		rc = 1;
	return rc;
}

static int
cli_sign(int argc, char **argv)
{
	struct cli_sign_opts o;
	int rc = 0, i;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc && rc == 0; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			rc = i + 1 < argc ?
			    cli_sign_opt(&o, argv[i], argv[i + 1]) : 2;
			i++;
		} else if (o.file == NULL)
			o.file = argv[i];
		else
			rc = 2;
	}
	if (rc == 0 && o.nkeys == 0)
		rc = 2;
	if (rc == 2)
		cli_usage();
	if (rc == 0)
		rc = cli_sign_run(&o);
	for (i = 0; i < o.nkeys; i++)
		dkim_key_free(o.keys[i]);
	return rc;
}

int
dkim_cli_main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage();
	if (strcmp(argv[1], "keygen") == 0)
		return cli_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "record") == 0)
		return cli_record(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return cli_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(dkim_cli_usage_text, stdout);
		return 0;
	}
	fprintf(stderr, "sluice dkim: unknown command '%s'\n", argv[1]);
	return cli_usage();
}
