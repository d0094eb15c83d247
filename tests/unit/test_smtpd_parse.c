/*
 * test_smtpd_parse.c -- unit tests for src/smtpd/smtpd_parse.c: verbs,
 * MAIL/RCPT paths and parameters, xtext, base64, and a cross-check against
 * the smtp-proto request vectors in tests/data/smtp/.
 *
 * The vectors give upstream's ok/err verdict per command line. Our parser
 * is stricter on purpose; every line where we differ is listed in
 * known_diffs[] with the reason, and the test fails both on an unlisted
 * difference and on a listed line that no longer differs.
 * RCPT vectors use the empty path "<>" as a placeholder to test parameters;
 * we refuse an empty forward-path (RFC 5321 4.1.1.3), so "<>" is replaced by
 * "<a@example.org>" there, and rejection of "RCPT TO:<>" is tested apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpd/smtpd_parse.h"

static const struct {
	const char	*line;	/* decoded vector input */
	const char	*why;
} known_diffs[] = {
	{ "LHLO bar.com", "LMTP is not offered: 502" },
	{ "EXPN Hello", "EXPN not implemented: 502" },
	{ "EXPN \"Hello\\\" Wo\\\\rld\"", "EXPN not implemented: 502" },
	{ "VRFY \"\"", "VRFY answers 252 to any non-empty argument" },
	{ "BDAT 0", "CHUNKING not offered" },
	{ "BDAT 123456", "CHUNKING not offered" },
	{ "BDAT 123456 LAST", "CHUNKING not offered" },
	{ "AUTH GSSAPI", "only PLAIN and LOGIN: 504" },
	{ "AUTH ECDSA-NIST256P-CHALLENGE =", "only PLAIN and LOGIN: 504" },
	{ "AUTH SCRAM-SHA-256-PLUS base64_goes_here",
	    "only PLAIN and LOGIN: 504" },
	{ "AUTH ECDSA-NIST256P-CHALLENGE100 abcde",
	    "only PLAIN and LOGIN: 504" },
	{ "ETRN Hello", "ETRN not implemented: 502" },
	{ "ETRN \"Hello\\\" Wo\\\\rld\"", "ETRN not implemented: 502" },
	{ "ATRN example.org", "ATRN not implemented: 502" },
	{ "ATRN example.org,example.com,example.net", "ATRN: 502" },
	{ "ATRN example.org, example.com, example.net", "ATRN: 502" },
	{ "BURL imap://harry@gryffindor.example.com/outbox;uidvalidity="
	    "1078863300/;uid=25;urlauth=submit+harry:internal:"
	    "91354a473744909de610943775f92038 LAST", "BURL: 502" },
	{ "BURL imap:://test.example.org", "BURL: 502" },
	{ "MAIL  FROM : < >", "a space is not a path (RFC 5321 4.1.2)" },
	{ "MAIL FROM:<> SMTPUTF8", "SMTPUTF8 not advertised: 555" },
	{ "MAIL FROM:<> SMTPUTF8 REQUIRETLS CONPERM",
	    "extensions not advertised: 555" },
	{ "RCPT TO:<> CONNEG", "CONNEG not advertised: 555" },
	{ "MAIL FROM:<> BODY=BINARYMIME BODY=7BIT BODY=8BITMIME",
	    "BINARYMIME not advertised; BODY only once" },
	{ "MAIL FROM:<> BY=120;R", "DELIVERBY not advertised: 555" },
	{ "MAIL FROM:<> BY=0;N", "DELIVERBY not advertised: 555" },
	{ "MAIL FROM:<> BY=-10;RT", "DELIVERBY not advertised: 555" },
	{ "MAIL FROM:<> BY=+22;NT", "DELIVERBY not advertised: 555" },
	{ "MAIL FROM:<> HOLDUNTIL=12345 HOLDFOR=67890",
	    "FUTURERELEASE not advertised: 555" },
	{ "MAIL FROM:<> RET=HDRS RET=FULL", "RET only once (RFC 3461 4.3)" },
	{ "MAIL FROM:<> SOLICIT=org.example:ADV:ADLT", "not advertised" },
	{ "MAIL FROM:<>  SOLICIT=net.example:ADV,org.example:ADV:ADLT",
	    "not advertised" },
	{ "MAIL FROM:<> TRANSID=<12345@claremont.edu>", "not advertised" },
	{ "MAIL FROM:<> MTRK=my-ceritifier", "MTRK not advertised" },
	{ "MAIL FROM:<> MTRK=other-certifier:1234", "MTRK not advertised" },
	{ "MAIL FROM:<> MT-PRIORITY=3", "MT-PRIORITY not advertised" },
	{ "MAIL FROM:<> MT-PRIORITY=-6", "MT-PRIORITY not advertised" },
	{ "RCPT TO:<> RRVS=2014-04-03T23:01:00Z", "RRVS not advertised" },
	{ "RCPT TO:<> RRVS=1997-11-24T14:22:01-08:00;C",
	    "RRVS not advertised" },
	{ "RCPT TO:<> RRVS=2003-07-01T10:52:37+02:00;R",
	    "RRVS not advertised" },
	{ "MAIL FROM:<foo@bar\"aa\\\" hello world\".com>",
	    "quotes are not allowed in a domain (RFC 5321 4.1.2)" },
};

/* Minimal JSON string decoder (\" \\ \/ \n \r \t \uXXXX to UTF-8). */
static int
json_unquote(const char *in, char *out, size_t outsz)
{
	size_t o = 0;

	if (*in++ != '"')
		return -1;
	for (; *in && *in != '"'; in++) {
		unsigned c = (unsigned char)*in;
		if (o + 4 >= outsz)
			return -1;
		if (c == '\\') {
			c = (unsigned char)*++in;
			if (c == 'u') {
				unsigned v;
				if (sscanf(in + 1, "%4x", &v) != 1)
					return -1;
				in += 4;
				if (v < 0x80)
					out[o++] = (char)v;
				else if (v < 0x800) {
					out[o++] = (char)(0xc0 | v >> 6);
					out[o++] = (char)(0x80 | (v & 63));
				} else {
					out[o++] = (char)(0xe0 | v >> 12);
					out[o++] = (char)(0x80 | (v >> 6 & 63));
					out[o++] = (char)(0x80 | (v & 63));
				}
				continue;
			}
			c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ?
			    '\t' : c;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return *in == '"' ? 0 : -1;
}

/* 1 if the command would be accepted in a suitable session state. */
static int
classify(const char *line)
{
	struct smtpd_mail_args m;
	struct smtpd_rcpt_args r;
	const char *arg;
	char buf[1024];

	switch (smtpd_parse_verb(line, &arg)) {
	case SMTPD_CMD_HELO:
	case SMTPD_CMD_EHLO:
		return smtpd_parse_helo(arg) == 0;
	case SMTPD_CMD_MAIL:
		return smtpd_parse_mail(arg, &m) == 0;
	case SMTPD_CMD_RCPT:
		if (strncmp(arg, "TO:<>", 5) == 0) {
			snprintf(buf, sizeof(buf), "TO:<a@example.org>%s",
			    arg + 5);
			arg = buf;
		}
		return smtpd_parse_rcpt(arg, &r) == 0;
	case SMTPD_CMD_DATA:
	case SMTPD_CMD_RSET:
	case SMTPD_CMD_QUIT:
	case SMTPD_CMD_STARTTLS:
		return *arg == '\0';
	case SMTPD_CMD_NOOP:
	case SMTPD_CMD_HELP:
		return 1;
	case SMTPD_CMD_VRFY:
		return *arg != '\0';
	case SMTPD_CMD_AUTH:
		return strncmp(arg, "PLAIN", 5) == 0 ||
		    strncmp(arg, "LOGIN", 5) == 0;
	default:
		return 0;
	}
}

static const char *
diff_reason(const char *line)
{
	size_t i;

	for (i = 0; i < sizeof(known_diffs) / sizeof(known_diffs[0]); i++)
		if (strcmp(known_diffs[i].line, line) == 0)
			return known_diffs[i].why;
	return NULL;
}

static void
test_vectors(void **state)
{
	char path[4096], row[4096], line[2048], *tab, *exp;
	const char *src = getenv("SLUICE_SRC");
	int n = 0, ndiff = 0, bad = 0, ours, want;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/smtp/"
	    "smtp-proto-request-vectors.tsv", src ? src : ".");
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(row, sizeof(row), f));	/* header */
	while (fgets(row, sizeof(row), f)) {
		if ((tab = strchr(row, '\t')) == NULL)
			continue;
		*tab = '\0';
		exp = tab + 1;
		assert_int_equal(json_unquote(row, line, sizeof(line)), 0);
		want = strncmp(exp, "ok", 2) == 0;
		ours = classify(line);
		n++;
		if (ours != want) {
			ndiff++;
			if (diff_reason(line) == NULL) {
				fprintf(stderr, "unlisted diff: [%s] want %d\n",
				    line, want);
				bad++;
			}
		} else if (diff_reason(line)) {
			fprintf(stderr, "listed but agrees: [%s]\n", line);
			bad++;
		}
	}
	fclose(f);
	assert_int_equal(n, 149);
	assert_int_equal(bad, 0);
	/* Duplicate vector lines ("SMTPUTF8=YES" twice) count once each. */
	assert_true(ndiff >= (int)(sizeof(known_diffs) /
	    sizeof(known_diffs[0])));
}

static void
test_verbs(void **state)
{
	const char *arg;

	(void)state;
	assert_int_equal(smtpd_parse_verb("ehlo x", &arg), SMTPD_CMD_EHLO);
	assert_string_equal(arg, "x");
	assert_int_equal(smtpd_parse_verb("DATA", &arg), SMTPD_CMD_DATA);
	assert_string_equal(arg, "");
	assert_int_equal(smtpd_parse_verb("DATA_", &arg), SMTPD_CMD_UNKNOWN);
	assert_int_equal(smtpd_parse_verb("", &arg), SMTPD_CMD_UNKNOWN);
	assert_int_equal(smtpd_parse_verb("StartTLS", &arg),
	    SMTPD_CMD_STARTTLS);
	assert_int_equal(smtpd_parse_verb("EXPN a", &arg), SMTPD_CMD_NOTIMPL);
	assert_int_equal(smtpd_parse_verb("MAILFROM:<>", &arg),
	    SMTPD_CMD_UNKNOWN);
}

static void
test_mail(void **state)
{
	struct smtpd_mail_args m;

	(void)state;
	assert_int_equal(smtpd_parse_mail("FROM:<a@b.example> SIZE=1234 "
	    "BODY=8BITMIME RET=FULL ENVID=QQ+2B1 AUTH=<>", &m), 0);
	assert_string_equal(m.addr, "a@b.example");
	assert_true(m.has_size);
	assert_int_equal(m.size, 1234);
	assert_int_equal(m.body8, 1);
	assert_int_equal(m.ret, 1);
	assert_string_equal(m.envid, "QQ+1");
	assert_int_equal(smtpd_parse_mail("FROM:<>", &m), 0);
	assert_string_equal(m.addr, "");
	assert_int_equal(smtpd_parse_mail("FROM:<@r1,@r2:u@d.example>", &m),
	    0);
	assert_string_equal(m.addr, "u@d.example");
	assert_int_equal(smtpd_parse_mail("FROM:<\"a b\"@d>", &m), 0);
	assert_string_equal(m.addr, "\"a b\"@d");
	assert_int_equal(smtpd_parse_mail("FROM:a@b", &m), SMTPD_PERR_SYNTAX);
	assert_int_equal(smtpd_parse_mail("FROM:<a@b", &m), SMTPD_PERR_SYNTAX);
	assert_int_equal(smtpd_parse_mail("FROM:<a@-b>", &m), SMTPD_PERR_ADDR);
	assert_int_equal(smtpd_parse_mail("FROM:<a@b> FOO=1", &m),
	    SMTPD_PERR_UNSUPPORTED);
	assert_int_equal(smtpd_parse_mail("FROM:<a@b> SIZE=12x", &m),
	    SMTPD_PERR_PARAM);
	assert_int_equal(smtpd_parse_mail("FROM:<a@b> ENVID=a+2", &m),
	    SMTPD_PERR_PARAM);
	assert_int_equal(smtpd_parse_mail("FROM:<a@b>x", &m),
	    SMTPD_PERR_SYNTAX);
}

static void
test_mail_length(void **state)
{
	struct smtpd_mail_args m;
	char line[600], local[70];

	(void)state;
	memset(local, 'a', 65);
	local[65] = '\0';
	snprintf(line, sizeof(line), "FROM:<%s@b.example>", local);
	assert_int_equal(smtpd_parse_mail(line, &m), SMTPD_PERR_ADDR);
	local[64] = '\0';
	snprintf(line, sizeof(line), "FROM:<%s@b.example>", local);
	assert_int_equal(smtpd_parse_mail(line, &m), 0);
}

static void
test_rcpt(void **state)
{
	struct smtpd_rcpt_args r;

	(void)state;
	assert_int_equal(smtpd_parse_rcpt("TO:<x@y.example> NOTIFY=SUCCESS,"
	    "DELAY ORCPT=rfc822;x+2By@y.example", &r), 0);
	assert_string_equal(r.addr, "x@y.example");
	assert_int_equal(r.notify, SMTPD_NOTIFY_SUCCESS | SMTPD_NOTIFY_DELAY);
	assert_string_equal(r.orcpt, "rfc822;x+y@y.example");
	assert_int_equal(smtpd_parse_rcpt("TO:<>", &r), SMTPD_PERR_ADDR);
	assert_int_equal(smtpd_parse_rcpt("TO:<Postmaster>", &r), 0);
	assert_int_equal(smtpd_parse_rcpt("TO:<bob>", &r), SMTPD_PERR_ADDR);
	assert_int_equal(smtpd_parse_rcpt("TO:<x@y> NOTIFY=NEVER,DELAY", &r),
	    SMTPD_PERR_PARAM);
	assert_int_equal(smtpd_parse_rcpt("TO:<x@y> NOTIFY=FAILURE,", &r),
	    SMTPD_PERR_PARAM);
	assert_int_equal(smtpd_parse_rcpt("TO:<x@y> ORCPT=rfc822", &r),
	    SMTPD_PERR_PARAM);
}

static void
test_xtext(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(smtpd_xtext_decode("a+20b", 5, out, sizeof(out)), 3);
	assert_string_equal(out, "a b");
	assert_int_equal(smtpd_xtext_decode("+2b", 3, out, sizeof(out)), 1);
	assert_string_equal(out, "+");
	assert_int_equal(smtpd_xtext_decode("a+2", 3, out, sizeof(out)), -1);
	assert_int_equal(smtpd_xtext_decode("a+zz", 4, out, sizeof(out)), -1);
	assert_int_equal(smtpd_xtext_decode("a=b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtpd_xtext_decode("", 0, out, sizeof(out)), -1);
	assert_int_equal(smtpd_xtext_decode("0123456789abcdef", 16, out,
	    sizeof(out)), -1);
}

static void
test_base64(void **state)
{
	unsigned char out[64];

	(void)state;
	assert_int_equal(smtpd_base64_decode("AHVzZXIAcGFzcw==", 16, out,
	    sizeof(out)), 10);
	assert_memory_equal(out, "\0user\0pass", 10);
	assert_int_equal(smtpd_base64_decode("dXNlcg==", 8, out, sizeof(out)),
	    4);
	assert_string_equal((char *)out, "user");
	assert_int_equal(smtpd_base64_decode("dXNlcg=", 7, out, sizeof(out)),
	    -1);
	assert_int_equal(smtpd_base64_decode("dX=lcg==", 8, out, sizeof(out)),
	    -1);
	assert_int_equal(smtpd_base64_decode("", 0, out, sizeof(out)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_mail_length),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
