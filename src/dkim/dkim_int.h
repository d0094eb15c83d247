/* SPDX-License-Identifier: ISC
 *
 * dkim_int.h -- internals shared by the dkim_*.c files (not a public API;
 * tests may use it).
 */
#ifndef SLUICE_DKIM_INT_H
#define SLUICE_DKIM_INT_H

#include <openssl/evp.h>

#include "dkim/dkim.h"
#include "dkim/dkim_hdr.h"
#include "lib/sbuf.h"

enum dkim_alg { DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256 };

struct dkim_key {
	EVP_PKEY	*pkey;
	enum dkim_alg	 alg;
	int		 bits;
	char		*selector;
	char		*domain;
	/* Signing contexts prepared at load (fetches done once); each
	 * signature works on a private copy, so the key stays read-only. */
	EVP_MD_CTX	*ed_tmpl;	/* Ed25519: DigestSignInit done */
	EVP_PKEY_CTX	*rsa_tmpl;	/* RSA: sign_init, PKCS#1, SHA-256 */
};

#define DKIM_RSA_MIN_BITS 1024
#define DKIM_RSA_MAX_BITS 4096
#define DKIM_FOLD_WIDTH 78

const char *dkim_alg_name(enum dkim_alg a);
/* SHA-256, fetched once per process (NULL only if OpenSSL is broken). */
const EVP_MD *dkim_sha256(void);
/* Prepare k->ed_tmpl / k->rsa_tmpl. Returns 0, or -1 with err set. */
int dkim_key_prepare(struct dkim_key *k, char *err, size_t errlen);
/* Selector / domain syntax check (letters, digits, '-', '_', '.'). */
int dkim_name_ok(const char *s);
/* Append base64 (no line breaks) of data to out. */
void dkim_base64(struct sbuf *out, const unsigned char *data, size_t len);
/* Append the OpenSSL error queue (drained) as "; reason" text. */
void dkim_ossl_err(char *err, size_t errlen);

/*
 * The body hash (bh=) of a message body with canonicalisation c, as
 * base64 into out, computed with the caller's digest context md (reused
 * across calls to save provider set-up). Returns 0, or -1 with err set.
 */
int dkim_body_hash(EVP_MD_CTX *md, enum dkim_canon c, const char *body, size_t len,
    struct sbuf *out, char *err, size_t errlen);

/*
 * The core of signing: hash the fields of h named by hlist ("from:to",
 * bottom-up per name) with header canonicalisation c, then sighdr (the
 * complete "DKIM-Signature: ...b=" text with empty b=, no CRLF) without
 * a trailing CRLF, and sign: rsa-sha256 = RSASSA-PKCS1-v1_5 with SHA-256,
 * ed25519-sha256 = Ed25519 over the SHA-256 digest (RFC 8463 §3). Appends
 * the base64 signature to b64; md is the caller's digest context.
 * Returns 0, or -1 with err set.
 */
int dkim_sign_fields(EVP_MD_CTX *md, const struct dkim_key *k, enum dkim_canon c,
    const struct dkim_hdr *h, const char *hlist, const char *sighdr,
    struct sbuf *b64, char *err, size_t errlen);

#endif
