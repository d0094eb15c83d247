/* SPDX-License-Identifier: ISC
 *
 * dkim_bench.c -- `sluice-dkim-bench KEYFILE SELECTOR DOMAIN SECONDS`:
 * signs a small (~1 KB) message with dkim_sign() on one thread for about
 * SECONDS, interleaved in batches with the bare OpenSSL signature of a
 * 32-byte digest using one reused context (what `openssl speed` times),
 * so that load from other processes hits both alike. Prints
 * "signs/s: N raw/s: M ratio: R" (used by bench/dkim.sh). Not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dkim/dkim.h"
#include "dkim/dkim_int.h"
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

#define BENCH_BATCH 50

/* One batch of dkim_sign(); returns elapsed seconds, or -1. */
static double
bench_ours(const struct dkim_sign_params *p)
{
	double t0 = bench_now();
	char err[512];

	for (int i = 0; i < BENCH_BATCH; i++) {
		char *h = dkim_sign(p, bench_msg, sizeof(bench_msg) - 1, err,
		    sizeof(err));

		if (h == NULL) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
		free(h);
	}
	return bench_now() - t0;
}

/* One batch of bare signatures with a reused context; -1 on error. */
static double
bench_raw(const struct dkim_key *k, EVP_MD_CTX *mctx, EVP_PKEY_CTX *pctx)
{
	unsigned char md[32] = { 1, 2, 3 }, sig[DKIM_RSA_MAX_BITS / 8];
	double t0 = bench_now();

	for (int i = 0; i < BENCH_BATCH; i++) {
		size_t siglen = sizeof(sig);
		int ok = k->alg == DKIM_ALG_ED25519_SHA256 ?
		    EVP_DigestSign(mctx, sig, &siglen, md, sizeof(md)) :
		    EVP_PKEY_sign(pctx, sig, &siglen, md, sizeof(md));

		if (ok != 1)
			return -1;
	}
	return bench_now() - t0;
}

int
main(int argc, char **argv)
{
	struct dkim_sign_params p;
	struct dkim_key *k;
	char err[512];
	double secs, t0, ours = 0, raw = 0;
	unsigned long n = 0;
	EVP_MD_CTX *mctx;
	EVP_PKEY_CTX *pctx;

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
	mctx = EVP_MD_CTX_new();
	pctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (mctx == NULL || pctx == NULL || (k->alg == DKIM_ALG_ED25519_SHA256 ?
	    EVP_DigestSignInit(mctx, NULL, NULL, NULL, k->pkey) != 1 :
	    (EVP_PKEY_sign_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1))) {
		fprintf(stderr, "raw signing setup failed\n");
		return 1;
	}
	t0 = bench_now();
	while (bench_now() - t0 < secs) {
		double a = bench_ours(&p), b = bench_raw(k, mctx, pctx);

		if (a < 0 || b < 0)
			return 1;
		ours += a;
		raw += b;
		n += BENCH_BATCH;
	}
	printf("signs: %lu seconds: %.3f signs/s: %.1f raw/s: %.1f "
	    "ratio: %.3f\n", n, ours, (double)n / ours, (double)n / raw,
	    raw / ours);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	dkim_key_free(k);
	return 0;
}
