/* SPDX-License-Identifier: ISC
 *
 * dkim_keygen.c -- key generation and the DNS TXT record for a key.
 *
 * Invariants: a key file is created with O_EXCL and mode 0600 (an
 * existing key is never overwritten), written, fsync'ed and closed before
 * success is reported; on any failure the partial file is removed.
 * Directories are created 0700 as needed. TXT strings are <= 255 chars.
 * Ownership: returned strings are malloc'd and owned by the caller.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim/dkim_int.h"
#include "lib/xmalloc.h"

#define DKIM_TXT_CHUNK 255

/* p= value: SubjectPublicKeyInfo DER for RSA, raw 32 bytes for Ed25519. */
static int
keygen_pubkey(EVP_PKEY *pk, struct sbuf *out)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	int n;

	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1)
			return -1;
		dkim_base64(out, raw, rawlen);
		return 0;
	}
	if ((n = i2d_PUBKEY(pk, &der)) <= 0)
		return -1;
	dkim_base64(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

static char *
keygen_record(EVP_PKEY *pk, const char *selector, const char *domain,
    char *err, size_t errlen)
{
	struct sbuf val, rec;
	int ed = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519;

	sbuf_init(&val);
	sbuf_printf(&val, "v=DKIM1; k=%s; p=", ed ? "ed25519" : "rsa");
	if (keygen_pubkey(pk, &val) == -1) {
		sbuf_fini(&val);
		snprintf(err, errlen, "dkim: cannot encode public key");
		dkim_ossl_err(err, errlen);
		return NULL;
	}
	sbuf_init(&rec);
	sbuf_printf(&rec, "%s._domainkey.%s. IN TXT", selector, domain);
	for (size_t off = 0; off < val.len; off += DKIM_TXT_CHUNK) {
		size_t n = val.len - off;

		sbuf_printf(&rec, " \"%.*s\"", (int)(n < DKIM_TXT_CHUNK ? n :
		    DKIM_TXT_CHUNK), val.p + off);
	}
	sbuf_fini(&val);
	return sbuf_steal(&rec, NULL);
}

char *
dkim_key_dns_record(const struct dkim_key *k, char *err, size_t errlen)
{
	return keygen_record(k->pkey, k->selector, k->domain, err, errlen);
}

static int
keygen_mkdirs(char *path, char *err, size_t errlen)
{
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char save = *p;

		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "dkim: mkdir %s: %s", path,
			    strerror(errno));
			*p = save;
			return -1;
		}
		*p = save;
		if (save == '\0')
			return 0;
	}
}

static int
keygen_write(EVP_PKEY *pk, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *fp;
	int ok;

	if (fd == -1) {
		snprintf(err, errlen, "dkim: cannot create %s: %s%s", path,
		    strerror(errno), errno == EEXIST ?
		    " (refusing to overwrite an existing key)" : "");
		return -1;
	}
	if (fchmod(fd, 0600) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "dkim: %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	ok = PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fflush(fp) == 0 && ok && fsync(fd) == 0;
	ok = fclose(fp) == 0 && ok;
	if (!ok) {
		snprintf(err, errlen, "dkim: writing %s failed: %s", path,
		    strerror(errno));
		dkim_ossl_err(err, errlen);
		unlink(path);
		return -1;
	}
	return 0;
}

static EVP_PKEY *
keygen_make(int ed25519, int bits, char *err, size_t errlen)
{
	EVP_PKEY *pk;

	if (ed25519)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (pk == NULL) {
		snprintf(err, errlen, "dkim: key generation failed");
		dkim_ossl_err(err, errlen);
	}
	return pk;
}

char *
dkim_keygen(const char *dir, const char *domain, const char *selector,
    int ed25519, int rsa_bits, char *err, size_t errlen)
{
	EVP_PKEY *pk;
	char *path, *rec = NULL;

	if (errlen > 0)
		err[0] = '\0';
	if (rsa_bits == 0)
		rsa_bits = 2048;
	if (!ed25519 && (rsa_bits < DKIM_RSA_MIN_BITS ||
	    rsa_bits > DKIM_RSA_MAX_BITS)) {
		snprintf(err, errlen, "dkim: RSA key size %d out of range "
		    "%d-%d", rsa_bits, DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS);
		return NULL;
	}
	if (!dkim_name_ok(domain) || !dkim_name_ok(selector)) {
		snprintf(err, errlen, "dkim: invalid domain \"%s\" or "
		    "selector \"%s\"", domain, selector);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, domain);
	if (keygen_mkdirs(path, err, errlen) == 0 &&
	    (pk = keygen_make(ed25519, rsa_bits, err, errlen)) != NULL) {
		free(path);
		path = xasprintf("%s/%s/%s.pem", dir, domain, selector);
		if (keygen_write(pk, path, err, errlen) == 0)
			rec = keygen_record(pk, selector, domain, err, errlen);
		EVP_PKEY_free(pk);
	}
	free(path);
	return rec;
}
