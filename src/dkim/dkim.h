/*
 * dkim.h -- DKIM signing (RFC 6376; rsa-sha256 and RFC 8463 ed25519-sha256).
 *
 * Canonicalisation (dkim_canon.c) is pure and separate from key handling
 * and signing (dkim_sign.c). Keys are loaded once (config load/reload); a
 * key that fails to load is a config error, never a silent unsigned send.
 */
#ifndef SLUICE_DKIM_H
#define SLUICE_DKIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct dkim_key;

enum dkim_canon { DKIM_CANON_RELAXED = 0, DKIM_CANON_SIMPLE = 1 };

/* Load a PEM private key (RSA 1024-4096 or Ed25519) for selector/domain. */
struct dkim_key *dkim_key_load(const char *path, const char *selector,
    const char *domain, char *err, size_t errlen);
void dkim_key_free(struct dkim_key *k);
const char *dkim_key_domain(const struct dkim_key *k);
const char *dkim_key_selector(const struct dkim_key *k);

struct dkim_sign_params {
	const struct dkim_key	*key;
	enum dkim_canon		 header_canon;	/* default relaxed */
	enum dkim_canon		 body_canon;	/* default relaxed */
	const char		*headers;	/* "from:to:subject"; NULL = default
						 * list, From/Subject/To/Date
						 * oversigned */
	const char		*identity;	/* i= or NULL */
	time_t			 timestamp;	/* t=; 0 = now */
	int64_t			 expire_after;	/* x= t + this; 0 = none */
};

/*
 * Sign a message (CRLF lines, header + body). Returns a malloc'd, folded
 * "DKIM-Signature: ...\r\n" header to prepend, or NULL with err set.
 */
char *dkim_sign(const struct dkim_sign_params *p, const char *msg, size_t len,
    char *err, size_t errlen);

/*
 * Generate a key in dir/domain/selector.pem (RSA 2048, or Ed25519) and
 * return the DNS TXT record text "selector._domainkey.domain IN TXT ..."
 * (malloc'd), or NULL with err set.
 */
char *dkim_keygen(const char *dir, const char *domain, const char *selector,
    int ed25519, int rsa_bits, char *err, size_t errlen);

/*
 * The DNS TXT record publishing k's public key, in the same form as
 * dkim_keygen() returns (malloc'd), or NULL with err set.
 */
char *dkim_key_dns_record(const struct dkim_key *k, char *err,
    size_t errlen);

#endif
