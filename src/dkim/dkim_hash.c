/* SPDX-License-Identifier: ISC
 *
 * dkim_hash.c -- body hash, header hash and the signature primitive.
 *
 * Invariants: the body is streamed through the canonicaliser straight
 * into EVP_DigestUpdate (no copy of the body is made); the header data
 * hashed is exactly RFC 6376 §3.7 step 2, and the signature is computed
 * over its SHA-256 digest (for RSA through EVP_PKEY_sign with the digest
 * type set, which is RSASSA-PKCS1-v1_5 as DigestSign would do; for
 * Ed25519 as PureEdDSA over the 32 digest bytes, RFC 8463 §3).
 * Ownership: all OpenSSL objects are freed before returning.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_int.h"
#include "lib/xmalloc.h"

static EVP_MD *hash_sha256;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void
hash_fetch(void)
{
	hash_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *
dkim_sha256(void)
{
	pthread_once(&hash_once, hash_fetch);
	return hash_sha256;
}

int
dkim_key_prepare(struct dkim_key *k, char *err, size_t errlen)
{
	int ok;

	if (k->alg == DKIM_ALG_ED25519_SHA256)
		ok = (k->ed_tmpl = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit(k->ed_tmpl, NULL, NULL, NULL,
		    k->pkey) == 1;
	else
		ok = (k->rsa_tmpl = EVP_PKEY_CTX_new(k->pkey, NULL)) != NULL &&
		    EVP_PKEY_sign_init(k->rsa_tmpl) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(k->rsa_tmpl,
		    RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(k->rsa_tmpl,
		    dkim_sha256()) == 1;
	if (!ok) {
		snprintf(err, errlen, "dkim: cannot prepare %s signing for "
		    "%s/%s", dkim_alg_name(k->alg), k->domain, k->selector);
		dkim_ossl_err(err, errlen);
		return -1;
	}
	return 0;
}

void
dkim_base64(struct sbuf *out, const unsigned char *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3);

	sbuf_reserve(out, n);
	EVP_EncodeBlock((unsigned char *)out->p + out->len, data, (int)len);
	out->len += n;
	out->p[out->len] = '\0';
}

struct hash_sink {
	EVP_MD_CTX	*ctx;
	int		 ok;
};

static void
hash_emit(void *arg, const void *data, size_t len)
{
	struct hash_sink *s = arg;

	if (s->ok && EVP_DigestUpdate(s->ctx, data, len) != 1)
		s->ok = 0;
}

int
dkim_body_hash(EVP_MD_CTX *md_ctx, enum dkim_canon c, const char *body,
    size_t len, struct sbuf *out, char *err, size_t errlen)
{
	struct dkim_body_canon bc;
	struct hash_sink s = { md_ctx, 1 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (s.ctx == NULL || EVP_DigestInit_ex(s.ctx, dkim_sha256(), NULL) != 1)
		s.ok = 0;
	dkim_body_canon_init(&bc, c, hash_emit, &s);
	dkim_body_canon_update(&bc, body, len);
	dkim_body_canon_final(&bc);
	if (s.ok && EVP_DigestFinal_ex(s.ctx, md, &mdlen) != 1)
		s.ok = 0;
	if (!s.ok) {
		snprintf(err, errlen, "dkim: body hash failed");
		dkim_ossl_err(err, errlen);
		return -1;
	}
	dkim_base64(out, md, mdlen);
	return 0;
}

/* SHA-256 of the canonical header data (RFC 6376 §3.7 step 2), fed to
 * the digest in one update. */
static int
hash_headers(EVP_MD_CTX *ctx, enum dkim_canon c, const struct dkim_hdr *h,
    const char *hlist, const char *sighdr)
{
	unsigned char *used = xcalloc(h->n ? h->n : 1, 1);
	struct sbuf b;
	int ok;

	sbuf_init(&b);
	sbuf_reserve(&b, 2048);
	for (const char *p = hlist; *p != '\0';) {
		size_t n = strcspn(p, ":");
		long i = dkim_hdr_select(h, p, n, used);

		if (i >= 0) {
			dkim_canon_header(c, h->f[i].p, h->f[i].len, &b);
			sbuf_put(&b, "\r\n", 2);
		}
		p += n + (p[n] == ':');
	}
	dkim_canon_header(c, sighdr, strlen(sighdr), &b);
	ok = EVP_DigestInit_ex(ctx, dkim_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, b.p, b.len) == 1;
	sbuf_fini(&b);
	free(used);
	return ok ? 0 : -1;
}

/* Sign with a private copy of the key's prepared context. */
static int
sign_digest(const struct dkim_key *k, const unsigned char *md, size_t mdlen,
    unsigned char *sig, size_t *siglen)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	int ok;

	if (k->alg == DKIM_ALG_ED25519_SHA256) {
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_MD_CTX_copy_ex(mctx, k->ed_tmpl) == 1 &&
		    EVP_DigestSign(mctx, sig, siglen, md, mdlen) == 1;
	} else {
		ok = (pctx = EVP_PKEY_CTX_dup(k->rsa_tmpl)) != NULL &&
		    EVP_PKEY_sign(pctx, sig, siglen, md, mdlen) == 1;
	}
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	return ok ? 0 : -1;
}

int
dkim_sign_fields(EVP_MD_CTX *ctx, const struct dkim_key *k,
    enum dkim_canon c, const struct dkim_hdr *h, const char *hlist,
    const char *sighdr, struct sbuf *b64, char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned char sig[DKIM_RSA_MAX_BITS / 8];
	unsigned int mdlen = 0;
	size_t siglen = sizeof(sig);
	int ok;

	ok = ctx != NULL && hash_headers(ctx, c, h, hlist, sighdr) == 0 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	if (!ok) {
		snprintf(err, errlen, "dkim: header hash failed");
		dkim_ossl_err(err, errlen);
		return -1;
	}
	if (sign_digest(k, md, mdlen, sig, &siglen) == -1) {
		snprintf(err, errlen, "dkim: %s signing with %s/%s failed",
		    dkim_alg_name(k->alg), k->domain, k->selector);
		dkim_ossl_err(err, errlen);
		return -1;
	}
	dkim_base64(b64, sig, siglen);
	return 0;
}
