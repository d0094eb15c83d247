/* SPDX-License-Identifier: ISC
 *
 * dkim_key.c -- loading DKIM private keys (PEM: PKCS#8, or PKCS#1 RSA).
 *
 * Invariants: a loaded key is RSA with 1024-4096 bits or Ed25519 and has
 * a syntactically valid selector and domain; otherwise loading fails with
 * a message fit for a config error. Encrypted keys are refused (never a
 * pass-phrase prompt). A struct dkim_key is immutable after loading and
 * may be used by several threads at once.
 * Ownership: dkim_key_free() releases everything; returned strings are
 * borrowed from the key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "dkim/dkim_int.h"
#include "lib/xmalloc.h"

const char *
dkim_alg_name(enum dkim_alg a)
{
	return a == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

int
dkim_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' ||
	    s[n - 1] == '.' || strstr(s, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

void
dkim_ossl_err(char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	size_t used = strlen(err);
	char buf[256];

	if (e != 0 && used + 3 < errlen) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err + used, errlen - used, " (%s)", buf);
	}
	ERR_clear_error();
}

/* Never prompt: an encrypted key makes the read fail. */
static int
key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

static EVP_PKEY *
key_read(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *pk;
	int asked = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "dkim: cannot open key file %s: %s",
		    path, strerror(errno));
		return NULL;
	}
	pk = PEM_read_PrivateKey(fp, NULL, key_no_passphrase, &asked);
	fclose(fp);
	if (pk == NULL) {
		snprintf(err, errlen, asked ? "dkim: key file %s is encrypted "
		    "(pass-phrase protected keys are not supported)" :
		    "dkim: key file %s holds no PEM private key", path);
		dkim_ossl_err(err, errlen);
	}
	return pk;
}

static int
key_check(struct dkim_key *k, const char *path, char *err, size_t errlen)
{
	int id = EVP_PKEY_get_base_id(k->pkey);

	k->bits = EVP_PKEY_get_bits(k->pkey);
	if (id == EVP_PKEY_ED25519) {
		k->alg = DKIM_ALG_ED25519_SHA256;
		return 0;
	}
	if (id != EVP_PKEY_RSA) {
		snprintf(err, errlen, "dkim: key file %s: unsupported key "
		    "type %s (need RSA or Ed25519)", path,
		    OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown");
		return -1;
	}
	k->alg = DKIM_ALG_RSA_SHA256;
	if (k->bits < DKIM_RSA_MIN_BITS || k->bits > DKIM_RSA_MAX_BITS) {
		snprintf(err, errlen, "dkim: key file %s: RSA key has %d "
		    "bits; DKIM keys must have %d-%d bits", path, k->bits,
		    DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS);
		return -1;
	}
	return 0;
}

struct dkim_key *
dkim_key_load(const char *path, const char *selector, const char *domain,
    char *err, size_t errlen)
{
	struct dkim_key *k;

	if (errlen > 0)
		err[0] = '\0';
	if (selector == NULL || !dkim_name_ok(selector)) {
		snprintf(err, errlen, "dkim: invalid selector \"%s\"",
		    selector ? selector : "");
		return NULL;
	}
	if (domain == NULL || !dkim_name_ok(domain)) {
		snprintf(err, errlen, "dkim: invalid domain \"%s\"",
		    domain ? domain : "");
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	if ((k->pkey = key_read(path, err, errlen)) == NULL ||
	    key_check(k, path, err, errlen) == -1) {
		dkim_key_free(k);
		return NULL;
	}
	k->selector = xstrdup(selector);
	k->domain = xstrdup(domain);
	if (dkim_key_prepare(k, err, errlen) == -1) {
		dkim_key_free(k);
		return NULL;
	}
	return k;
}

void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	EVP_MD_CTX_free(k->ed_tmpl);
	EVP_PKEY_CTX_free(k->rsa_tmpl);
	EVP_PKEY_free(k->pkey);
	free(k->selector);
	free(k->domain);
	free(k);
}

const char *
dkim_key_domain(const struct dkim_key *k)
{
	return k->domain;
}

const char *
dkim_key_selector(const struct dkim_key *k)
{
	return k->selector;
}
