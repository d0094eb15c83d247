/*
 * test_smtpd_data.c -- unit tests for the DATA reader (smtpd_data.c):
 * end-of-data detection incl. the ten smtpsmug malformed endings, dot
 * unstuffing, byte-by-byte delivery, over-long lines, size limit, NULs and
 * bytes left over after the end (pipelined commands).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "smtpd/smtpd_data.h"

/* The smtpsmug probes (MANIFEST table), as C literals with lengths. */
static const struct {
	const char	*name;
	const char	*ending;
	size_t		 len;
} smug[] = {
	{ "lflf", "\n.\n", 3 },		{ "crcr", "\r.\r", 3 },
	{ "crlf", "\r.\n", 3 },		{ "lfcr", "\n.\r", 3 },
	{ "lfcrlf", "\n.\r\n", 4 },	{ "crlflf", "\r\n.\n", 4 },
	{ "crcrlf", "\r.\r\n", 4 },	{ "crlfcr", "\r\n.\r", 4 },
	{ "nullbefore", "\r\n\0.\r\n", 6 },
	{ "nullafter", "\r\n.\0\r\n", 6 },
};

/* Feed bytes in pieces of `step`; returns the feed result of the last. */
static int
feed(struct smtpd_data *d, struct evbuffer *in, const char *p, size_t len,
    size_t step)
{
	size_t off, n;
	int r = 0;

	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		evbuffer_add(in, p + off, n);
		if ((r = smtpd_data_feed(d, in)) == 1)
			return 1;
	}
	return r;
}

static void
test_plain(void **state)
{
	static const char msg[] = "Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n";
	struct evbuffer *in = evbuffer_new();
	struct smtpd_data d;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	smtpd_data_begin(&d, &out, 0, 1000);
	assert_int_equal(feed(&d, in, msg, sizeof(msg) - 1, 4096), 1);
	assert_int_equal(d.err, 0);
	assert_string_equal(out.p, "Subject: x\r\n\r\n.dot\r\n");
	/* The pipelined command is left for the command loop. */
	assert_int_equal(evbuffer_get_length(in), 6);
	evbuffer_free(in);
	sbuf_fini(&out);
}

static void
test_bytewise(void **state)
{
	static const char msg[] = "a\r\n.b\r\n\r\n.\r\n";
	struct evbuffer *in = evbuffer_new();
	struct smtpd_data d;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	smtpd_data_begin(&d, &out, 0, 1000);
	assert_int_equal(feed(&d, in, msg, sizeof(msg) - 1, 1), 1);
	assert_int_equal(d.err, 0);
	assert_string_equal(out.p, "a\r\nb\r\n\r\n");
	evbuffer_free(in);
	sbuf_fini(&out);
}

static void
test_empty_message(void **state)
{
	struct evbuffer *in = evbuffer_new();
	struct smtpd_data d;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	smtpd_data_begin(&d, &out, 0, 1000);
	assert_int_equal(feed(&d, in, ".\r\n", 3, 100), 1);
	assert_int_equal(out.len, 0);
	evbuffer_free(in);
	sbuf_fini(&out);
}

static void
test_smuggling(void **state)
{
	static const char smuggled[] = "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>"
	    "\r\nDATA\r\nSpoofed\r\n";
	char buf[256];
	size_t i, n, step;

	(void)state;
	for (i = 0; i < sizeof(smug) / sizeof(smug[0]); i++) {
		for (step = 1; step <= 4096; step *= 4096) {
			struct evbuffer *in = evbuffer_new();
			struct smtpd_data d;
			struct sbuf out;

			sbuf_init(&out);
			smtpd_data_begin(&d, &out, 0, 1000);
			n = 0;
			memcpy(buf, "Subject: t\r\n\r\nbody", 18);
			n = 18;
			memcpy(buf + n, smug[i].ending, smug[i].len);
			n += smug[i].len;
			memcpy(buf + n, smuggled, sizeof(smuggled) - 1);
			n += sizeof(smuggled) - 1;
			/* Not the end, whatever follows the bad ending. */
			assert_int_equal(feed(&d, in, buf, n, step), 0);
			assert_int_equal(feed(&d, in, ".\r\n", 3, step), 1);
			assert_int_not_equal(d.err & (SMTPD_DATA_ERR_BARE |
			    SMTPD_DATA_ERR_NUL), 0);
			assert_int_equal(evbuffer_get_length(in), 0);
			evbuffer_free(in);
			sbuf_fini(&out);
		}
	}
}

static void
test_long_line(void **state)
{
	char line[3000];
	struct evbuffer *in = evbuffer_new();
	struct smtpd_data d;
	struct sbuf out;

	(void)state;
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	sbuf_init(&out);
	smtpd_data_begin(&d, &out, 0, 1000);
	assert_int_equal(feed(&d, in, line, sizeof(line), 7), 0);
	assert_int_equal(feed(&d, in, ".\r\n", 3, 7), 1);
	assert_int_equal(d.err, SMTPD_DATA_ERR_LINE);
	/* Exactly 1000 bytes incl CRLF is fine. */
	smtpd_data_begin(&d, &out, 0, 1000);
	assert_int_equal(feed(&d, in, line + 2000, 1000, 4096), 0);
	assert_int_equal(feed(&d, in, ".\r\n", 3, 7), 1);
	assert_int_equal(d.err, 0);
	assert_int_equal(out.len, 1000);
	evbuffer_free(in);
	sbuf_fini(&out);
}

static void
test_long_line_bare_lf_end(void **state)
{
	/* An over-long line ending in a bare LF must not make the next
	 * ".\r\n" the end. */
	char line[2000];
	struct evbuffer *in = evbuffer_new();
	struct smtpd_data d;
	struct sbuf out;

	(void)state;
	memset(line, 'y', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	sbuf_init(&out);
	smtpd_data_begin(&d, &out, 0, 1000);
	assert_int_equal(feed(&d, in, line, sizeof(line), 512), 0);
	assert_int_equal(feed(&d, in, ".\r\n", 3, 512), 0);
	assert_int_equal(feed(&d, in, ".\r\n", 3, 512), 1);
	evbuffer_free(in);
	sbuf_fini(&out);
}

static void
test_size(void **state)
{
	static const char msg[] = "0123456789\r\n0123456789\r\n.\r\n";
	struct evbuffer *in = evbuffer_new();
	struct smtpd_data d;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	smtpd_data_begin(&d, &out, 20, 1000);
	assert_int_equal(feed(&d, in, msg, sizeof(msg) - 1, 5), 1);
	assert_int_equal(d.err, SMTPD_DATA_ERR_SIZE);
	assert_string_equal(smtpd_data_err_reply(d.err),
	    "552 5.3.4 Message size exceeds fixed maximum message size");
	smtpd_data_begin(&d, &out, 24, 1000);
	assert_int_equal(feed(&d, in, msg, sizeof(msg) - 1, 5), 1);
	assert_int_equal(d.err, 0);
	evbuffer_free(in);
	sbuf_fini(&out);
}

static void
test_nul(void **state)
{
	static const char msg[] = "a\0b\r\n.\r\n";
	struct evbuffer *in = evbuffer_new();
	struct smtpd_data d;
	struct sbuf out;

	(void)state;
	sbuf_init(&out);
	smtpd_data_begin(&d, &out, 0, 1000);
	assert_int_equal(feed(&d, in, msg, sizeof(msg) - 1, 4096), 1);
	assert_int_equal(d.err, SMTPD_DATA_ERR_NUL);
	evbuffer_free(in);
	sbuf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_bytewise),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_long_line_bare_lf_end),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
