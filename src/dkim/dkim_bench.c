/* SPDX-License-Identifier: ISC
 *
 * dkim_bench.c -- `sluice-dkim-bench KEYFILE SELECTOR DOMAIN SECONDS`:
 * signs a small (~1 KB) message with dkim_sign() in a loop on one thread
 * for SECONDS and prints "signs/s: N" (used by bench/dkim.sh, which
 * compares it with `openssl speed`). Not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim/dkim.h"
#include "lib/log.h"

static const char bench_msg[] =
    "From: Newsletter <news@example.org>\r\n"
    "To: Some Recipient <someone@example.net>\r\n"
    "Subject: Your weekly update from Example\r\n"
    "Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
    "Message-ID: <20250602100000.12345@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "List-Unsubscribe: <https://example.org/u/abcdef>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "\r\n"
    "Hello,\r\n\r\n"
    "This is the weekly update. It is short, like most transactional and\r\n"
    "marketing messages, so the signing cost is dominated by the public\r\n"
    "key operation rather than by hashing the body.\r\n\r\n"
    "Regards,\r\nExample\r\n";

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct dkim_sign_params p;
	struct dkim_key *k;
	char err[512];
	double secs, t0, el;
	unsigned long n = 0;

	log_init("sluice-dkim-bench", 0);
	if (argc != 5 || (secs = atof(argv[4])) <= 0) {
		fprintf(stderr, "usage: sluice-dkim-bench KEYFILE SELECTOR "
		    "DOMAIN SECONDS\n");
		return 2;
	}
	if ((k = dkim_key_load(argv[1], argv[2], argv[3], err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.key = k;
	t0 = bench_now();
	do {
		char *h = dkim_sign(&p, bench_msg, sizeof(bench_msg) - 1, err,
		    sizeof(err));

		if (h == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		free(h);
		n++;
	} while ((el = bench_now() - t0) < secs);
	printf("signs: %lu seconds: %.3f signs/s: %.1f\n", n, el,
	    (double)n / el);
	dkim_key_free(k);
	return 0;
}
