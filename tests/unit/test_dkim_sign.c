/* SPDX-License-Identifier: ISC
 *
 * test_dkim_sign.c -- key loading, signing and keygen:
 * the RFC 8463 Appendix A vector reproduced exactly (bh= and both b=),
 * default header list with oversigning, folding <= 78 columns, t=/x=/i=,
 * error texts for bad keys and parameters, keygen files and TXT records.
 * Third-party verification lives in tests/integration/test_dkim_verify.py.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim/dkim.h"
#include "dkim/dkim_hdr.h"
#include "dkim/dkim_int.h"
#include "lib/sbuf.h"
#include "lib/xmalloc.h"

static const char test_msg[] =
    "Received: from x by y; Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.net,\r\n carol@example.net\r\n"
    "Subject: Hello\r\n"
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <t1@example.org>\r\n"
    "Cc: dave@example.net\r\n"
    "X-Mailer: test\r\n"
    "\r\n"
    "Body line\r\n";

static char tmpdir[64];

static char *
data_path(const char *rel)
{
	const char *src = getenv("SLUICE_SRC");

	return xasprintf("%s/tests/data/dkim/%s", src ? src : ".", rel);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct sbuf b;
	char buf[4096];
	size_t n;

	if (fp == NULL)
		fail_msg("cannot open %s (is SLUICE_SRC set?)", path);
	sbuf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_put(&b, buf, n);
	fclose(fp);
	return sbuf_steal(&b, len);
}

static struct dkim_key *
load(const char *rel, const char *sel, const char *dom)
{
	char *p = data_path(rel), err[512];
	struct dkim_key *k = dkim_key_load(p, sel, dom, err, sizeof(err));

	if (k == NULL)
		fail_msg("%s", err);
	free(p);
	return k;
}

/* Copy of field with the b= value (to the end) removed. */
static char *
strip_b(const char *f, size_t len, struct sbuf *bval)
{
	const char *b = NULL;

	for (size_t i = 2; i < len; i++)
		if (f[i] == '=' && f[i - 1] == 'b' &&
		    (f[i - 2] == ' ' || f[i - 2] == ';' || f[i - 2] == '\t'))
			b = f + i + 1;
	assert_non_null(b);
	for (const char *p = b; p < f + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			sbuf_putc(bval, *p);
	return xstrndup(f, (size_t)(b - f));
}

/*
 * RFC 8463 A.3: for each signature in the published message, re-sign
 * the same header text (b= emptied) with the A.1 key and compare.
 */
static void
test_rfc8463_vector(void **state)
{
	static const char hlist[] =
	    "from:to:subject:date:message-id:from:subject:date";
	char *path = data_path("rfc8463/rfc8463-signed.eml"), err[512];
	size_t len;
	char *msg = slurp(path, &len);
	struct dkim_key *keys[2];
	struct dkim_hdr h;
	struct sbuf bh, want, got;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	(void)state;
	keys[0] = load("rfc8463/ed25519-private.pem", "brisbane",
	    "football.example.com");
	keys[1] = load("rfc8463/rsa-private.pem", "test",
	    "football.example.com");
	dkim_hdr_parse(&h, msg, len);
	assert_true(h.n >= 7);
	sbuf_init(&bh);
	assert_int_equal(dkim_body_hash(md, DKIM_CANON_RELAXED, h.body, h.bodylen,
	    &bh, err, sizeof(err)), 0);
	assert_string_equal(bh.p, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	for (int i = 0; i < 2; i++) {
		char *sighdr;

		sbuf_init(&want);
		sbuf_init(&got);
		sighdr = strip_b(h.f[i].p, h.f[i].len, &want);
		assert_int_equal(dkim_sign_fields(md, keys[i],
		    DKIM_CANON_RELAXED, &h, hlist, sighdr, &got, err,
		    sizeof(err)), 0);
		assert_string_equal(got.p, want.p);
		free(sighdr);
		sbuf_fini(&want);
		sbuf_fini(&got);
		dkim_key_free(keys[i]);
	}
	sbuf_fini(&bh);
	EVP_MD_CTX_free(md);
	dkim_hdr_fini(&h);
	free(msg);
	free(path);
}

/* Unfolded value of tag in a DKIM-Signature (static buffer). */
static const char *
tag(const char *sig, const char *name)
{
	static char v[2048];
	char pat[16];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), " %s=", name);
	if ((p = strstr(sig, pat)) == NULL)
		return NULL;
	for (p += strlen(pat); *p && *p != ';' && n + 1 < sizeof(v); p++)
		if (*p != ' ' && *p != '\r' && *p != '\n' && *p != '\t')
			v[n++] = *p;
	v[n] = '\0';
	return v;
}

static void
check_folding(const char *sig)
{
	const char *line = sig, *e;

	assert_true(strncmp(sig, "DKIM-Signature: ", 16) == 0);
	assert_true(strlen(sig) > 2 && strcmp(sig + strlen(sig) - 2,
	    "\r\n") == 0);
	while ((e = strstr(line, "\r\n")) != NULL) {
		assert_true(e - line <= 78);
		if (line != sig)
			assert_true(line[0] == ' ');
		line = e + 2;
	}
	assert_int_equal(*line, '\0');
}

static char *
sign_with(struct dkim_sign_params *p, const char *msg, char *err,
    size_t errlen)
{
	return dkim_sign(p, msg, strlen(msg), err, errlen);
}

static void
test_default_headers_and_tags(void **state)
{
	struct dkim_key *k = load("rfc8463/rsa-private.pem", "sel1",
	    "example.org");
	struct dkim_sign_params p = { .key = k, .timestamp = 1700000000,
	    .expire_after = 86400 };
	char err[512], *sig;

	(void)state;
	sig = sign_with(&p, test_msg, err, sizeof(err));
	assert_non_null(sig);
	check_folding(sig);
	assert_string_equal(tag(sig, "h"), "from:from:to:to:subject:subject:"
	    "date:date:cc:message-id");
	assert_string_equal(tag(sig, "a"), "rsa-sha256");
	assert_string_equal(tag(sig, "c"), "relaxed/relaxed");
	assert_string_equal(tag(sig, "d"), "example.org");
	assert_string_equal(tag(sig, "s"), "sel1");
	assert_string_equal(tag(sig, "t"), "1700000000");
	assert_string_equal(tag(sig, "x"), "1700086400");
	assert_null(tag(sig, "i"));
	assert_int_equal(strlen(tag(sig, "b")), 172);	/* 1024-bit */
	free(sig);

	p.header_canon = p.body_canon = DKIM_CANON_SIMPLE;
	p.headers = "From:Subject:X-Mailer";
	p.identity = "bulk;x=1@news.example.org";
	p.expire_after = 0;
	sig = sign_with(&p, test_msg, err, sizeof(err));
	assert_non_null(sig);
	check_folding(sig);
	assert_string_equal(tag(sig, "c"), "simple/simple");
	assert_string_equal(tag(sig, "h"), "from:subject:x-mailer");
	assert_string_equal(tag(sig, "i"), "bulk=3Bx=3D1@news.example.org");
	assert_null(tag(sig, "x"));
	free(sig);
	dkim_key_free(k);
}

static void
test_ed25519_and_two_signatures(void **state)
{
	struct dkim_key *rsa = load("rfc8463/rsa-private.pem", "r",
	    "example.org");
	struct dkim_key *ed = load("rfc8463/ed25519-private.pem", "e",
	    "example.org");
	struct dkim_sign_params p = { .key = rsa };
	char err[512], *s1, *s2, *bh1;

	(void)state;
	s1 = sign_with(&p, test_msg, err, sizeof(err));
	p.key = ed;
	s2 = sign_with(&p, test_msg, err, sizeof(err));
	assert_non_null(s1);
	assert_non_null(s2);
	check_folding(s2);
	assert_string_equal(tag(s2, "a"), "ed25519-sha256");
	assert_int_equal(strlen(tag(s2, "b")), 88);	/* 64 bytes */
	bh1 = xstrdup(tag(s1, "bh"));
	assert_string_equal(bh1, tag(s2, "bh"));	/* same body */
	free(bh1);
	free(s1);
	free(s2);
	dkim_key_free(rsa);
	dkim_key_free(ed);
}

static void
test_sign_errors(void **state)
{
	struct dkim_key *k = load("rfc8463/ed25519-private.pem", "e",
	    "example.org");
	struct dkim_sign_params p = { .key = k };
	static const char nofrom[] = "To: x@y\r\n\r\nhi\r\n";
	char err[512];

	(void)state;
	assert_null(sign_with(&p, nofrom, err, sizeof(err)));
	assert_non_null(strstr(err, "no From header"));
	p.identity = "user@evil.example";
	assert_null(sign_with(&p, test_msg, err, sizeof(err)));
	assert_non_null(strstr(err, "not in the signing domain"));
	p.identity = "user@notexample.org";
	assert_null(sign_with(&p, test_msg, err, sizeof(err)));
	p.identity = "@sub.Example.ORG";
	free(sign_with(&p, test_msg, err, sizeof(err)));
	assert_string_equal(err, "");
	p.identity = NULL;
	p.headers = "to:subject";
	assert_null(sign_with(&p, test_msg, err, sizeof(err)));
	assert_non_null(strstr(err, "must include From"));
	p.headers = NULL;
	p.expire_after = -5;
	assert_null(sign_with(&p, test_msg, err, sizeof(err)));
	p.expire_after = 0;
	p.key = NULL;
	assert_null(sign_with(&p, test_msg, err, sizeof(err)));
	dkim_key_free(k);
}

static char *
write_key(const char *name, EVP_PKEY *pk, int encrypt)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	if (pk != NULL)
		assert_int_equal(PEM_write_PrivateKey(fp, pk, encrypt ?
		    EVP_aes_128_cbc() : NULL, (unsigned char *)"pw",
		    encrypt ? 2 : 0, NULL, NULL), 1);
	else
		fputs("-----BEGIN PRIVATE KEY-----\nnot base64!\n"
		    "-----END PRIVATE KEY-----\n", fp);
	fclose(fp);
	return path;
}

static void
expect_load_error(const char *path, const char *sel, const char *want)
{
	char err[512];

	assert_null(dkim_key_load(path, sel, "example.org", err,
	    sizeof(err)));
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
test_key_load_errors(void **state)
{
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *p1 = write_key("small.pem", small, 0);
	char *p2 = write_key("ec.pem", ec, 0);
	char *p3 = write_key("enc.pem", ed, 1);
	char *p4 = write_key("junk.pem", NULL, 0);
	char *p5 = xasprintf("%s/missing.pem", tmpdir);

	(void)state;
	expect_load_error(p1, "s", "RSA key has 512 bits");
	expect_load_error(p2, "s", "unsupported key type");
	expect_load_error(p3, "s", "is encrypted");
	expect_load_error(p4, "s", "holds no PEM private key");
	expect_load_error(p5, "s", "cannot open key file");
	expect_load_error(p5, "bad;sel", "invalid selector");
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
	free(p1);
	free(p2);
	free(p3);
	free(p4);
	free(p5);
}

/* Every quoted TXT string <= 255 chars; returns their concatenation. */
static char *
txt_join(const char *rec)
{
	struct sbuf b;
	const char *p = rec;

	sbuf_init(&b);
	while ((p = strchr(p, '"')) != NULL) {
		const char *e = strchr(p + 1, '"');

		assert_non_null(e);
		assert_true(e - p - 1 <= 255);
		sbuf_put(&b, p + 1, (size_t)(e - p - 1));
		p = e + 1;
	}
	return sbuf_steal(&b, NULL);
}

static void
test_keygen(void **state)
{
	char err[512], *rec, *rec2, *path, *val;
	struct dkim_key *k;
	struct stat st;

	(void)state;
	rec = dkim_keygen(tmpdir, "example.com", "big", 0, 4096, err,
	    sizeof(err));
	assert_non_null(rec);
	assert_true(strncmp(rec, "big._domainkey.example.com. IN TXT \"",
	    36) == 0);
	val = txt_join(rec);
	assert_true(strncmp(val, "v=DKIM1; k=rsa; p=MII", 21) == 0);
	assert_true(strlen(val) > 510);			/* 3 strings */
	path = xasprintf("%s/example.com/big.pem", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	k = dkim_key_load(path, "big", "example.com", err, sizeof(err));
	assert_non_null(k);
	rec2 = dkim_key_dns_record(k, err, sizeof(err));
	assert_string_equal(rec, rec2);
	dkim_key_free(k);
	free(rec2);
	free(rec);
	free(val);
	/* Never overwrite an existing key. */
	assert_null(dkim_keygen(tmpdir, "example.com", "big", 1, 0, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "refusing to overwrite"));
	rec = dkim_keygen(tmpdir, "example.com", "ed", 1, 0, err, sizeof(err));
	assert_non_null(rec);
	val = txt_join(rec);
	assert_true(strncmp(val, "v=DKIM1; k=ed25519; p=", 22) == 0);
	assert_int_equal(strlen(val), 22 + 44);
	assert_null(dkim_keygen(tmpdir, "example.com", "x", 0, 512, err,
	    sizeof(err)));
	assert_null(dkim_keygen(tmpdir, "../etc", "x", 1, 0, err,
	    sizeof(err)));
	free(rec);
	free(val);
	free(path);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dkim_sign.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc;

	(void)state;
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8463_vector),
		cmocka_unit_test(test_default_headers_and_tags),
		cmocka_unit_test(test_ed25519_and_two_signatures),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_key_load_errors),
		cmocka_unit_test(test_keygen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
