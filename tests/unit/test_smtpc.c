/*
 * test_smtpc.c -- unit tests for the pure parts of src/smtpc/: reply
 * assembly (multi-line, enhanced status codes, malformed lines) driven by
 * the smtp-proto vectors in tests/data/smtp/, EHLO keyword parsing,
 * dot-stuffing with CRLF normalisation, and xtext.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpc/smtpc_internal.h"

/* ---- vector files --------------------------------------------------- */

/* Decode the JSON string at the start of s (test helper; handles the
 * escapes the vector files use). Returns a malloc'ed NUL-ended copy. */
static char *
json_string(const char *s, size_t *outlen)
{
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;

	assert_non_null(out);
	assert_int_equal(*s, '"');
	for (s++; *s && *s != '"'; s++) {
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			out[n++] = (char)strtol((char[]){ s[1], s[2], s[3],
			    s[4], 0 }, NULL, 16);
			s += 4;
			break;
		default: out[n++] = *s; break;
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* The input column of every data row of a vector file. */
static size_t
load_vectors(const char *name, char **rows, size_t max)
{
	char path[1024], line[8192];
	const char *src = getenv("SLUICE_SRC");
	FILE *f;
	size_t n = 0, len;

	snprintf(path, sizeof(path), "%s/tests/data/smtp/%s",
	    src ? src : ".", name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));	/* header */
	while (n < max && fgets(line, sizeof(line), f) != NULL)
		rows[n++] = json_string(line, &len);
	fclose(f);
	return n;
}

/* Feed text line by line until a reply completes; returns the rest. */
static const char *
feed(struct smtpc_rbuf *rb, const char *p, int *rc)
{
	*rc = 0;
	while (*p && *rc == 0) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		*rc = smtpc_rbuf_line(rb, p, n > 0 && p[n - 1] == '\r' ?
		    n - 1 : n);
		p += n + (nl ? 1 : 0);
	}
	return p;
}

static void
test_reply_vectors(void **state)
{
	static const struct {
		int		 code;
		const char	*enh, *text;
	} want[] = {
		{ 250, "2.1.1", "250 2.1.1 Originator "
		    "<ned@ymir.claremont.edu> ok" },
		{ 551, "5.7.1", "551 5.7.1 Forwarding to remote hosts "
		    "disabled Select another host to act as your forwarder" },
		{ 550, "", "550 mailbox unavailable user has moved with no "
		    "forwarding address" },
		{ 550, "", "550 mailbox unavailable user has moved with no "
		    "forwarding address" },
		/* Class 6 is not an RFC 3463 class (and differs from the
		 * reply's 4): no enhanced code, the text is kept. */
		{ 432, "", "432 6.8.9 6.8.9 Hello 6.8.9 6.8.9 , 6 6. 6.8 "
		    "6.8.9 6.8.9 World!" },
		{ 250, "", "250 2address.org" },
		{ 250, "", "250 100.address.org" },
		{ 250, "", "250 111111111111" },
		{ 250, "", "250 99999999999999" },
		{ 250, "2.0.0", "250 2.0.0 Message queued for delivery." },
		/* "250" alone is a complete last line. */
		{ 250, "", "250 Missing space" },
	};
	char *rows[32];
	size_t n = load_vectors("smtp-proto-response-vectors.tsv", rows, 32);
	struct smtpc_rbuf rb;
	int rc;

	(void)state;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	smtpc_rbuf_init(&rb);
	for (size_t i = 0; i < n; i++) {
		const char *rest = feed(&rb, rows[i], &rc);

		assert_int_equal(rc, 1);
		assert_int_equal(rb.code, want[i].code);
		assert_string_equal(rb.enh, want[i].enh);
		assert_string_equal(rb.text.p, want[i].text);
		if (i == n - 1) {
			/* The remainder is a reply of its own. */
			rest = feed(&rb, rest, &rc);
			assert_int_equal(rc, 1);
			assert_string_equal(rb.text.p, "250 Ignore this");
		}
		assert_string_equal(rest, "");
		free(rows[i]);
	}
	smtpc_rbuf_fini(&rb);
}

static void
test_ehlo_vectors(void **state)
{
	static const char *want[] = {
		"8BITMIME,ATRN,AUTH,BINARYMIME,BURL,CHECKPOINT,CHUNKING,"
		    "CONNEG,CONPERM,DELIVERBY,DSN,ENHANCEDSTATUSCODES,ETRN,"
		    "EXPN,VRFY,FUTURERELEASE,HELP,MT-PRIORITY,MTRK,"
		    "NO-SOLICITING,PIPELINING,REQUIRETLS,RRVS,SIZE,SMTPUTF8,"
		    "STARTTLS",
		"DELIVERBY,FUTURERELEASE,MT-PRIORITY,NO-SOLICITING,SIZE,"
		    "SMTPUTF8",
		"FUTURERELEASE,MT-PRIORITY",
		NULL,		/* 523: not a 250 EHLO reply */
	};
	char *rows[8];
	size_t n = load_vectors("smtp-proto-ehlo-response-vectors.tsv", rows,
	    8);
	struct smtpc_rbuf rb;
	struct smtpc_ext e;
	int rc;

	(void)state;
	assert_int_equal(n, 4);
	smtpc_rbuf_init(&rb);
	smtpc_ext_init(&e);
	for (size_t i = 0; i < n; i++) {
		feed(&rb, rows[i], &rc);
		assert_int_equal(rc, 1);
		if (want[i] == NULL) {
			assert_int_equal(rb.code, 523);
			free(rows[i]);
			continue;
		}
		assert_int_equal(rb.code, 250);
		smtpc_ext_parse(&e, rb.lines.p, rb.lines.len);
		assert_string_equal(e.names.p, want[i]);
		if (i == 0) {
			assert_int_equal(e.flags, SMTPC_EXT_PIPELINING |
			    SMTPC_EXT_SIZE | SMTPC_EXT_8BITMIME |
			    SMTPC_EXT_STARTTLS | SMTPC_EXT_DSN |
			    SMTPC_EXT_ENHANCED | SMTPC_EXT_SMTPUTF8 |
			    SMTPC_EXT_CHUNKING);
			assert_int_equal(e.size_max, 1000000);
		}
		if (i == 1) {
			assert_int_equal(e.flags, SMTPC_EXT_SIZE |
			    SMTPC_EXT_SMTPUTF8);
			assert_int_equal(e.size_max, 0);
		}
		free(rows[i]);
	}
	smtpc_ext_fini(&e);
	smtpc_rbuf_fini(&rb);
}

static void
test_reply_malformed(void **state)
{
	static const char *bad[] = {
		"", "25", "abc", "250x", "150 too low", "650 too high",
		"2a0 x", NULL,
	};
	struct smtpc_rbuf rb;

	(void)state;
	smtpc_rbuf_init(&rb);
	for (size_t i = 0; bad[i] != NULL; i++) {
		smtpc_rbuf_reset(&rb);
		assert_int_equal(smtpc_rbuf_line(&rb, bad[i],
		    strlen(bad[i])), -1);
	}
	/* The code may not change inside a multi-line reply. */
	smtpc_rbuf_reset(&rb);
	assert_int_equal(smtpc_rbuf_line(&rb, "250-a", 5), 0);
	assert_int_equal(smtpc_rbuf_line(&rb, "251 b", 5), -1);
	smtpc_rbuf_fini(&rb);
}

static void
test_reply_enh(void **state)
{
	char enh[16];

	(void)state;
	assert_int_equal(smtpc_reply_enh(550, "5.1.1 unknown", 13, enh), 5);
	assert_string_equal(enh, "5.1.1");
	assert_int_equal(smtpc_reply_enh(450, "4.7.100", 7, enh), 7);
	assert_string_equal(enh, "4.7.100");
	assert_int_equal(smtpc_reply_enh(550, "4.1.1 x", 7, enh), 0);
	assert_int_equal(smtpc_reply_enh(550, "5.1.1000 x", 10, enh), 0);
	assert_int_equal(smtpc_reply_enh(550, "5.1. x", 6, enh), 0);
	assert_int_equal(smtpc_reply_enh(550, "5.1.1x", 6, enh), 0);
	assert_int_equal(smtpc_reply_enh(250, "2.0", 3, enh), 0);
}

static void
check_stuff_n(const char *in, size_t len, const char *want, size_t wlen)
{
	struct sbuf out;

	sbuf_init(&out);
	smtpc_dot_stuff(in, len, &out);
	assert_int_equal(out.len, wlen);
	assert_memory_equal(out.p, want, out.len);
	sbuf_fini(&out);
}

static void
check_stuff(const char *in, size_t len, const char *want)
{
	check_stuff_n(in, len, want, strlen(want));
}

static void
test_dot_stuff(void **state)
{
	(void)state;
	check_stuff("", 0, ".\r\n");
	check_stuff("a\r\n", 3, "a\r\n.\r\n");
	check_stuff("a", 1, "a\r\n.\r\n");
	check_stuff(".\r\n", 3, "..\r\n.\r\n");
	check_stuff(".a\r\n..b\r\nc.d\r\n", 14,
	    "..a\r\n...b\r\nc.d\r\n.\r\n");
	/* Bare LF and bare CR become CRLF; smuggling endings are defused. */
	check_stuff("a\n.\nb", 5, "a\r\n..\r\nb\r\n.\r\n");
	check_stuff("a\r.\rb\r\n", 7, "a\r\n..\r\nb\r\n.\r\n");
	check_stuff("x\r\n.\r\ny", 7, "x\r\n..\r\ny\r\n.\r\n");
	check_stuff_n("nul\0.\r\n", 7, "nul\0.\r\n.\r\n", 10);
}

/* The bytewise definition the fast smtpc_dot_stuff() must agree with. */
static void
ref_dot_stuff(const char *data, size_t len, struct sbuf *out)
{
	int bol = 1;

	for (size_t i = 0; i < len; i++) {
		char ch = data[i];

		if (bol && ch == '.')
			sbuf_put(out, ".", 1);
		bol = 0;
		if (ch == '\r' || ch == '\n') {
			if (ch == '\r' && i + 1 < len && data[i + 1] == '\n')
				i++;
			sbuf_put(out, "\r\n", 2);
			bol = 1;
			continue;
		}
		sbuf_put(out, &ch, 1);
	}
	if (!bol)
		sbuf_put(out, "\r\n", 2);
	sbuf_put(out, ".\r\n", 3);
}

/* Random mixes of CR, LF, dots, NUL and text, long and short lines. */
static void
test_dot_stuff_random(void **state)
{
	static const char alpha[] = "\r\n.\0ab";
	char buf[3000];
	unsigned seed = 12345;
	struct sbuf a, b;

	(void)state;
	sbuf_init(&a);
	sbuf_init(&b);
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(round % 7 == 0 ? round : round % 40);

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		sbuf_reset(&a);
		sbuf_reset(&b);
		smtpc_dot_stuff(buf, len, &a);
		ref_dot_stuff(buf, len, &b);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.p, b.p, a.len);
	}
	sbuf_fini(&a);
	sbuf_fini(&b);
}

static void
test_has_8bit(void **state)
{
	char buf[2100];

	(void)state;
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(smtpc_has_8bit(buf, 0), 0);
	assert_int_equal(smtpc_has_8bit(buf, sizeof(buf)), 0);
	for (size_t pos = 0; pos < sizeof(buf); pos += 7) {
		buf[pos] = (char)0x80;
		assert_int_equal(smtpc_has_8bit(buf, sizeof(buf)), 1);
		assert_int_equal(smtpc_has_8bit(buf, pos + 1), 1);
		assert_int_equal(smtpc_has_8bit(buf, pos), 0);
		assert_int_equal(smtpc_has_8bit(buf + pos + 1,
		    sizeof(buf) - pos - 1), 0);
		buf[pos] = 0x7f;
	}
}

static void
test_xtext(void **state)
{
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	smtpc_xtext("a+b=c d\x01", &out);
	assert_string_equal(out.p, "a+2Bb+3Dc+20d+01");
	sbuf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_vectors),
		cmocka_unit_test(test_ehlo_vectors),
		cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_reply_enh),
		cmocka_unit_test(test_dot_stuff),
		cmocka_unit_test(test_dot_stuff_random),
		cmocka_unit_test(test_has_8bit),
		cmocka_unit_test(test_xtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
