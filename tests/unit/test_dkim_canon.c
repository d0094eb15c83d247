/* SPDX-License-Identifier: ISC
 *
 * test_dkim_canon.c -- canonicalisation and header splitting (pure code):
 * RFC 6376 §3.4.5 examples, empty bodies, trailing blank lines, chunking
 * at every byte boundary, bare LF / bare CR, h= list building.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_hdr.h"

/* RFC 6376 §3.4.5 example message. */
static const char rfc_hdr_a[] = "A: X";
static const char rfc_hdr_b[] = "B : Y\t\r\n\tZ  ";
static const char rfc_msg[] =
    "A: X\r\n"
    "B : Y\t\r\n"
    "\tZ  \r\n"
    "\r\n"
    " C \r\n"
    "D \t E\r\n"
    "\r\n"
    "\r\n";

static void
sink(void *arg, const void *data, size_t len)
{
	sbuf_put(arg, data, len);
}

/* Canonicalise body in chunks of chunk bytes (0 = one call). */
static void
body(enum dkim_canon c, const char *in, size_t len, size_t chunk,
    struct sbuf *out)
{
	struct dkim_body_canon bc;

	sbuf_reset(out);
	dkim_body_canon_init(&bc, c, sink, out);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk)
		dkim_body_canon_update(&bc, in + off,
		    len - off < chunk ? len - off : chunk);
	uint64_t total = dkim_body_canon_final(&bc);

	assert_int_equal(total, out->len);
}

static void
expect_body(enum dkim_canon c, const char *in, const char *want)
{
	struct sbuf out;
	size_t len = strlen(in);

	sbuf_init(&out);
	for (size_t chunk = 0; chunk <= len + 1; chunk++) {
		body(c, in, len, chunk, &out);
		assert_int_equal(out.len, strlen(want));
		assert_memory_equal(out.p ? out.p : "", want, out.len);
	}
	sbuf_fini(&out);
}

static void
expect_header(enum dkim_canon c, const char *in, const char *want)
{
	struct sbuf out;

	sbuf_init(&out);
	dkim_canon_header(c, in, strlen(in), &out);
	assert_string_equal(out.p, want);
	sbuf_fini(&out);
}

static void
test_rfc_example_headers(void **state)
{
	(void)state;
	expect_header(DKIM_CANON_RELAXED, rfc_hdr_a, "a:X");
	expect_header(DKIM_CANON_RELAXED, rfc_hdr_b, "b:Y Z");
	expect_header(DKIM_CANON_SIMPLE, rfc_hdr_a, "A: X");
	expect_header(DKIM_CANON_SIMPLE, rfc_hdr_b, "B : Y\t\r\n\tZ  ");
}

static void
test_rfc_example_body(void **state)
{
	const char *b = strstr(rfc_msg, "\r\n\r\n") + 4;

	(void)state;
	expect_body(DKIM_CANON_RELAXED, b, " C\r\nD E\r\n");
	expect_body(DKIM_CANON_SIMPLE, b, " C \r\nD \t E\r\n");
}

static void
test_rfc_example_split(void **state)
{
	struct dkim_hdr h;

	(void)state;
	dkim_hdr_parse(&h, rfc_msg, strlen(rfc_msg));
	assert_int_equal(h.n, 2);
	assert_int_equal(h.f[0].len, strlen(rfc_hdr_a));
	assert_memory_equal(h.f[0].p, rfc_hdr_a, h.f[0].len);
	assert_int_equal(h.f[1].len, strlen(rfc_hdr_b));
	assert_memory_equal(h.f[1].p, rfc_hdr_b, h.f[1].len);
	assert_int_equal(h.f[1].nlen, 1);	/* "B", WSP before ':' cut */
	assert_string_equal(h.body, " C \r\nD \t E\r\n\r\n\r\n");
	dkim_hdr_fini(&h);
}

static void
test_empty_bodies(void **state)
{
	(void)state;
	/* §3.4.3: empty simple body is CRLF; §3.4.4: relaxed is empty. */
	expect_body(DKIM_CANON_SIMPLE, "", "\r\n");
	expect_body(DKIM_CANON_RELAXED, "", "");
	expect_body(DKIM_CANON_SIMPLE, "\r\n\r\n\r\n", "\r\n");
	expect_body(DKIM_CANON_RELAXED, "\r\n \t\r\n\t\r\n", "");
	/* In simple, a line of blanks is not an empty line. */
	expect_body(DKIM_CANON_SIMPLE, "\r\n \r\n\r\n", "\r\n \r\n");
}

static void
test_trailing_and_inner_blank_lines(void **state)
{
	(void)state;
	expect_body(DKIM_CANON_RELAXED, "a\r\n\r\n\r\nb\r\n\r\n\r\n",
	    "a\r\n\r\n\r\nb\r\n");
	expect_body(DKIM_CANON_SIMPLE, "a\r\n\r\n\r\nb\r\n\r\n",
	    "a\r\n\r\n\r\nb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a\r\n  \r\nb \t\r\n \r\n",
	    "a\r\n\r\nb\r\n");
}

static void
test_missing_final_crlf(void **state)
{
	(void)state;
	expect_body(DKIM_CANON_SIMPLE, "a\r\nb", "a\r\nb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a\r\nb  ", "a\r\nb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a\r\n\r\n  ", "a\r\n");
}

static void
test_bare_lf_and_cr(void **state)
{
	(void)state;
	expect_body(DKIM_CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a \n\nb\n", "a\r\n\r\nb\r\n");
	/* A CR not followed by LF is data. */
	expect_body(DKIM_CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n");
	expect_body(DKIM_CANON_RELAXED, "a \r b\r\n\r", "a \r b\r\n\r\r\n");
	expect_header(DKIM_CANON_SIMPLE, "X: a\n b", "X: a\r\n b");
}

static void
test_relaxed_wsp(void **state)
{
	(void)state;
	expect_body(DKIM_CANON_RELAXED, "\t lead\t\t mid  x \r\n",
	    " lead mid x\r\n");
	expect_header(DKIM_CANON_RELAXED, "SUBJect:\t  Hello \t World  ",
	    "subject:Hello World");
	expect_header(DKIM_CANON_RELAXED, "To: a@b,\r\n\tc@d,\r\n  e@f",
	    "to:a@b, c@d, e@f");
	expect_header(DKIM_CANON_RELAXED, "X-Empty:", "x-empty:");
	expect_header(DKIM_CANON_RELAXED, "X-Empty:  \r\n ", "x-empty:");
	/* 8-bit bytes pass through unchanged. */
	expect_header(DKIM_CANON_RELAXED, "Subject: caf\xc3\xa9",
	    "subject:caf\xc3\xa9");
}

static void
test_long_body_buffering(void **state)
{
	struct sbuf in, want, out;

	(void)state;
	sbuf_init(&in);
	sbuf_init(&want);
	sbuf_init(&out);
	for (int i = 0; i < 3000; i++) {
		sbuf_printf(&in, "line %d  with   spaces \r\n", i);
		sbuf_printf(&want, "line %d with spaces\r\n", i);
		if (i % 7 == 0) {
			sbuf_puts(&in, "\r\n \r\n");
			sbuf_puts(&want, "\r\n\r\n");
		}
	}
	sbuf_puts(&in, "\r\n\r\n\r\n");
	body(DKIM_CANON_RELAXED, in.p, in.len, 0, &out);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.p, want.p, want.len);
	body(DKIM_CANON_RELAXED, in.p, in.len, 4093, &out);
	assert_memory_equal(out.p, want.p, want.len);
	sbuf_fini(&in);
	sbuf_fini(&want);
	sbuf_fini(&out);
}

static void
test_header_parse_edges(void **state)
{
	static const char m1[] = "From: a\r\nSubject: x";	/* no body */
	static const char m2[] = "\r\nbody\r\n";		/* no header */
	struct dkim_hdr h;

	(void)state;
	dkim_hdr_parse(&h, m1, strlen(m1));
	assert_int_equal(h.n, 2);
	assert_int_equal(h.f[1].len, strlen("Subject: x"));
	assert_int_equal(h.bodylen, 0);
	dkim_hdr_fini(&h);
	dkim_hdr_parse(&h, m2, strlen(m2));
	assert_int_equal(h.n, 0);
	assert_string_equal(h.body, "body\r\n");
	dkim_hdr_fini(&h);
}

static void
test_hlist(void **state)
{
	static const char m[] = "From: a\r\nTo: b\r\nCc: c\r\nCc: d\r\n"
	    "Received: x\r\nMessage-ID: <m>\r\n\r\n";
	struct dkim_hdr h;
	struct sbuf out;
	unsigned char used[8] = { 0 };
	char err[256];

	(void)state;
	sbuf_init(&out);
	dkim_hdr_parse(&h, m, strlen(m));
	assert_int_equal(dkim_hdr_list(&h, NULL, &out, err, sizeof(err)), 0);
	assert_string_equal(out.p, "from:from:to:to:subject:date:cc:cc:"
	    "message-id");
	sbuf_reset(&out);
	assert_int_equal(dkim_hdr_list(&h, " From : TO:x-Custom", &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.p, "from:to:x-custom");
	assert_int_equal(dkim_hdr_list(&h, "to:subject", &out, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "From"));
	assert_int_equal(dkim_hdr_list(&h, "from::to", &out, err,
	    sizeof(err)), -1);
	/* Bottom-up selection per name (§5.4.2). */
	assert_int_equal(dkim_hdr_select(&h, "cc", 2, used), 3);
	assert_int_equal(dkim_hdr_select(&h, "CC", 2, used), 2);
	assert_int_equal(dkim_hdr_select(&h, "cc", 2, used), -1);
	dkim_hdr_fini(&h);
	sbuf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example_headers),
		cmocka_unit_test(test_rfc_example_body),
		cmocka_unit_test(test_rfc_example_split),
		cmocka_unit_test(test_empty_bodies),
		cmocka_unit_test(test_trailing_and_inner_blank_lines),
		cmocka_unit_test(test_missing_final_crlf),
		cmocka_unit_test(test_bare_lf_and_cr),
		cmocka_unit_test(test_relaxed_wsp),
		cmocka_unit_test(test_long_body_buffering),
		cmocka_unit_test(test_header_parse_edges),
		cmocka_unit_test(test_hlist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
