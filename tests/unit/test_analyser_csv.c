/*
 * test_analyser_csv.c -- the analyser's CSV scanner and header-driven
 * record parser, on the real PowerMTA samples in tests/data/acct and on
 * edge cases: quoted commas/quotes/CRLF, missing columns, several headers
 * in one file, no header, malformed lines, input fed in small pieces,
 * stray quotes, lines over 1 MiB; the record-end scan against a byte-wise
 * reference; the block cutter's header test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analyser/an_csv.h"
#include "analyser/an_parse.h"
#include "lib/xmalloc.h"

#define MAXR 64

/* What the callback saw, values unquoted. */
struct seen {
	int		 n;
	int		 type[MAXR];
	uint64_t	 line[MAXR];
	char		*val[MAXR][ACCT_F__COUNT];
};

static void
seen_cb(void *arg, const struct an_rec *r)
{
	struct seen *s = arg;
	char buf[4096];

	if (s->n >= MAXR)
		return;
	s->type[s->n] = r->type;
	s->line[s->n] = r->line;
	for (int f = 0; f < ACCT_F__COUNT; f++) {
		if (r->f[f].len == 0)
			continue;
		size_t n = an_csv_unquote(r->f[f], buf);
		s->val[s->n][f] = xstrndup(buf, n);
	}
	s->n++;
}

static void
seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		for (int f = 0; f < ACCT_F__COUNT; f++)
			free(s->val[i][f]);
	memset(s, 0, sizeof(*s));
}

static const char *
val(const struct seen *s, int i, enum acct_field f)
{
	return s->val[i][f] ? s->val[i][f] : "";
}

static char *
slurp(const char *name, size_t *len)
{
	const char *src = getenv("SLUICE_SRC");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/acct/%s",
	    src ? src : ".", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Parse buf (in pieces of `step` bytes if step > 0), every field needed. */
static void
parse(const char *buf, size_t len, size_t step, struct seen *s,
    struct an_errlog *errs)
{
	uint64_t need[ACCT_R__COUNT];
	struct an_parser ps;
	char *acc = xmalloc(len + 1);
	size_t have = 0, fed = 0, used;

	for (int t = 0; t < ACCT_R__COUNT; t++)
		need[t] = ~(uint64_t)0 >> (64 - ACCT_F__COUNT);
	memset(s, 0, sizeof(*s));
	an_parser_init(&ps, "test.csv", need, seen_cb, s, errs);
	if (step == 0)
		step = len;
	while (fed < len || have > 0) {
		size_t k = len - fed < step ? len - fed : step;
		memcpy(acc + have, buf + fed, k);
		have += k;
		fed += k;
		used = an_parser_feed(&ps, acc, have, fed == len);
		memmove(acc, acc + used, have - used);
		have -= used;
		if (fed == len)
			break;
	}
	assert_int_equal(have, 0);
	an_parser_fini(&ps);
	free(acc);
}

static void
test_guide_example(void **state)
{
	struct seen s;
	struct an_errlog e = { 0 };
	size_t len;
	char *b = slurp("pmta-users-guide-11.2.9-example.csv", &len);

	(void)state;
	parse(b, len, 0, &s, &e);
	assert_int_equal(e.n, 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.type[0], ACCT_R_D);
	assert_int_equal(s.type[3], ACCT_R_B);
	assert_string_equal(val(&s, 0, ACCT_F_TIME_LOGGED), "1178807903");
	assert_string_equal(val(&s, 1, ACCT_F_RCPT), "user2@domain.com");
	assert_string_equal(val(&s, 1, ACCT_F_DLV_SOURCE_IP), "10.0.0.1");
	assert_string_equal(val(&s, 2, ACCT_F_DLV_SOURCE_IP), "");
	assert_string_equal(val(&s, 2, ACCT_F_BOUNCE_CAT), "policy-related");
	assert_string_equal(val(&s, 0, ACCT_F_DSN_DIAG), "");	/* no column */
	assert_int_equal(s.line[3], 5);
	seen_free(&s);
	free(b);
}

static void
test_bouncehandler_custom_layout(void **state)
{
	struct seen s;
	struct an_errlog e = { 0 };
	size_t len;
	char *b = slurp("port25-bouncehandler-readme.csv", &len);

	(void)state;
	parse(b, len, 0, &s, &e);
	assert_int_equal(e.n, 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(val(&s, 0, ACCT_F_BOUNCE_CAT), "bad-domain");
	assert_string_equal(val(&s, 0, ACCT_F_VMTA), "vmta-mymta04");
	assert_string_equal(val(&s, 0, ACCT_F_DSN_STATUS),
	    "5.1.2 (bad destination system: no such domain)");
	assert_string_equal(val(&s, 1, ACCT_F_DSN_MTA),
	    "mx1.destindomain.com (2.2.2.2)");
	assert_string_equal(val(&s, 1, ACCT_F_DLV_SOURCE_IP), "1.1.1.1");
	assert_string_equal(val(&s, 1, ACCT_F_DSN_DIAG), "");
	seen_free(&s);
	free(b);
}

static void
test_real_2014_legacy(void **state)
{
	struct seen s;
	struct an_errlog e = { 0 };
	size_t len;
	int64_t t;
	char *b = slurp("real-2014-delivery-record.csv", &len);

	(void)state;
	parse(b, len, 0, &s, &e);
	assert_int_equal(s.n, 1);
	assert_string_equal(val(&s, 0, ACCT_F_DLV_SOURCE_IP), "172.30.149.109");
	assert_string_equal(val(&s, 0, ACCT_F_DLV_ESMTP_AVAILABLE),
	    "PIPELINING,8BITMIME,SIZE,STARTTLS");
	assert_string_equal(val(&s, 0, ACCT_F_VMTA), "CAMPAIGN");
	assert_string_equal(val(&s, 0, ACCT_F_DLV_SIZE), "155704");
	assert_string_equal(val(&s, 0, ACCT_F_BOUNCE_CAT), "success");
	assert_int_equal(acct_parse_time(val(&s, 0, ACCT_F_TIME_LOGGED),
	    strlen(val(&s, 0, ACCT_F_TIME_LOGGED)), &t), 0);
	assert_int_equal(t, 1408876214);
	seen_free(&s);
	free(b);
}

static void
check_edge(const struct seen *s, const struct an_errlog *e)
{
	assert_int_equal(e->n, 0);
	assert_int_equal(s->n, 3);
	assert_string_equal(val(s, 0, ACCT_F_DSN_DIAG),
	    "smtp;421-4.7.0 [1.2.3.4 15] Our system has detected, \"unusual\" "
	    "traffic\r\n421-4.7.0 from your IP, try later");
	assert_string_equal(val(s, 0, ACCT_F_VMTA), "vmta1");
	assert_string_equal(val(s, 0, ACCT_F_VMTA_POOL), "pool1");
	assert_int_equal(s->line[0], 2);
	assert_int_equal(s->line[1], 4);	/* record 1 spans 2 lines */
	assert_string_equal(val(s, 1, ACCT_F_DLV_SOURCE_IP), "10.0.0.2");
	assert_string_equal(val(s, 2, ACCT_F_DSN_DIAG),
	    "smtp;550 5.1.1 <d@yahoo.com>: \"no such user\"");
	assert_string_equal(val(s, 2, ACCT_F_BOUNCE_CAT), "bad-mailbox");
	assert_string_equal(val(s, 2, ACCT_F_DLV_SOURCE_IP), "10.0.0.1");
}

static void
test_quoting_whole_and_pieces(void **state)
{
	struct seen s;
	struct an_errlog e = { 0 };
	size_t len;
	char *b = slurp("edge-quoting.csv", &len);

	(void)state;
	parse(b, len, 0, &s, &e);
	check_edge(&s, &e);
	seen_free(&s);
	for (size_t step = 1; step < 40; step += 3) {
		parse(b, len, step, &s, &e);
		check_edge(&s, &e);
		seen_free(&s);
	}
	free(b);
}

static void
test_mixed_headers(void **state)
{
	const char *in =
	    "type,timeLogged,timeQueued,timeImprinted,orig,rcpt,orcpt,"
	    "dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,"
	    "dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,"
	    "vmta,jobId,envId\n"
	    "d,1,1,,o@x,a@b.c,,relayed,2.0.0,smtp;250,m,,smtp,s,smtp,"
	    "9.9.9.1,8.8.8.8,,1,vA,jA,\n"
	    "#type,timeLogged,rcpt,vmta,dlvSourceIp\n"
	    "t,2,c@d.e,vB,9.9.9.2\n"
	    "tq,3,,vC,0.0.0.0\n";
	struct seen s;
	struct an_errlog e = { 0 };

	(void)state;
	parse(in, strlen(in), 0, &s, &e);
	assert_int_equal(e.n, 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(val(&s, 0, ACCT_F_VMTA), "vA");
	assert_string_equal(val(&s, 0, ACCT_F_DLV_SOURCE_IP), "9.9.9.1");
	assert_string_equal(val(&s, 1, ACCT_F_VMTA), "vB");
	assert_string_equal(val(&s, 1, ACCT_F_DLV_SOURCE_IP), "9.9.9.2");
	assert_int_equal(s.type[2], ACCT_R_TQ);
	assert_string_equal(val(&s, 2, ACCT_F_DSN_DIAG), "");
	seen_free(&s);
}

static void
test_no_header_defaults(void **state)
{
	const char *in23 = "d,1,1,o@x,a@b.c,,relayed,2.0.0,smtp;250,m,,smtp,"
	    "s,smtp,9.9.9.1,8.8.8.8,,1,vA,jA,,b.c/vA,pool\n";
	const char *in22 = "d,1,1,,o@x,a@b.c,,relayed,2.0.0,smtp;250,m,,smtp,"
	    "s,smtp,9.9.9.1,8.8.8.8,,1,vA,jA,\n";
	struct seen s;
	struct an_errlog e = { 0 };

	(void)state;
	parse(in23, strlen(in23), 0, &s, &e);
	assert_string_equal(val(&s, 0, ACCT_F_DLV_SOURCE_IP), "9.9.9.1");
	assert_string_equal(val(&s, 0, ACCT_F_VMTA_POOL), "pool");
	seen_free(&s);
	parse(in22, strlen(in22), 0, &s, &e);
	assert_string_equal(val(&s, 0, ACCT_F_DLV_SOURCE_IP), "9.9.9.1");
	assert_string_equal(val(&s, 0, ACCT_F_VMTA), "vA");
	seen_free(&s);
}

static void
test_malformed_lines(void **state)
{
	const char *in = "type,timeLogged,rcpt,dsnDiag\n"
	    "d,1,a@b.c,ok\n"
	    "x,1,a@b.c,bad type\n"
	    "\n"
	    "b,2,a@b.c,short row follows\n"
	    "t\n"
	    "t,3,a@b.c,\"unterminated\n"
	    "d,4,a@b.c,never seen\n";
	struct seen s;
	struct an_errlog e = { 0 };

	(void)state;
	parse(in, strlen(in), 0, &s, &e);
	assert_int_equal(s.n, 4);	/* d, b, t (short), then resync */
	assert_int_equal(e.n, 2);
	assert_int_equal(e.kept[0].line, 3);
	assert_non_null(strstr(e.kept[0].msg, "unknown record type"));
	assert_int_equal(e.kept[1].line, 7);
	assert_non_null(strstr(e.kept[1].msg, "unterminated"));
	/* The unterminated quote at line 7 is skipped to the end of that
	 * line; parsing resumes with the d record at line 8. */
	assert_int_equal(s.type[3], ACCT_R_D);
	assert_int_equal(s.line[3], 8);
	assert_string_equal(val(&s, 2, ACCT_F_RCPT), "");
	an_errlog_fini(&e);
	seen_free(&s);
}

static void
test_split_resume(void **state)
{
	const char *rec = "a,\"b,c\",,\"d\"\"e\",f";
	struct an_span cols[8];
	size_t n = 0;
	const char *pos = rec, *end = rec + strlen(rec);
	char buf[32];

	(void)state;
	an_csv_split(end, cols, 2, &n, &pos);
	assert_int_equal(n, 2);
	an_csv_split(end, cols, 8, &n, &pos);
	assert_int_equal(n, 5);
	assert_int_equal(an_csv_unquote(cols[1], buf), 3);
	assert_memory_equal(buf, "b,c", 3);
	assert_int_equal(cols[2].len, 0);
	assert_int_equal(an_csv_unquote(cols[3], buf), 3);
	assert_memory_equal(buf, "d\"e", 3);
	assert_int_equal(cols[4].len, 1);
	assert_null(pos);
}

/* Reference splitter: the field rules of an_csv.h, one byte at a time. */
static size_t
ref_split(const char *p, const char *end, struct an_span *cols, size_t max)
{
	size_t n = 0;
	const char *c;

	while (n < max && p != NULL) {
		c = p;
		if (c < end && *c == '"') {
			for (c++; c < end; c++) {
				if (*c != '"')
					continue;
				if (c + 1 < end && c[1] == '"')
					c++;
				else {
					c++;
					break;
				}
			}
		}
		while (c < end && *c != ',')
			c++;
		cols[n].p = p;
		cols[n].len = (uint32_t)(c - p);
		n++;
		p = c < end ? c + 1 : NULL;
	}
	return n;
}

/* Block-wise split == reference, for random records of commas, quotes and
 * letters (fields across 16-byte blocks, quotes mid-field, trailing empty
 * fields), split in one go and resumed at every field count. */
static void
test_split_random(void **state)
{
	static const char alpha[] = "ab,\",,xyz";
	char rec[200];
	struct an_span got[AN_MAXCOLS], want[AN_MAXCOLS];
	unsigned seed = 12345;

	(void)state;
	for (int it = 0; it < 20000; it++) {
		size_t len, n, k, wn;
		const char *pos, *end;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(rec);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			rec[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		end = rec + len;
		wn = ref_split(rec, end, want, AN_MAXCOLS);
		for (k = 1; k <= wn; k++) {
			n = 0;
			pos = rec;
			an_csv_split(end, got, k, &n, &pos);
			assert_int_equal(n, k);
			an_csv_split(end, got, AN_MAXCOLS, &n, &pos);
			assert_int_equal(n, wn);
			assert_null(pos);
			for (size_t i = 0; i < wn; i++) {
				assert_ptr_equal(got[i].p, want[i].p);
				assert_int_equal(got[i].len, want[i].len);
			}
		}
	}
}

/* Reference record end: fields as ref_split() reads them, LF outside a
 * quoted field ends the record. NULL at end (*inq: inside quotes). */
static const char *
ref_record_end(const char *p, const char *end, int *inq, int *nl_in)
{
	*nl_in = 0;
	for (;;) {
		if (p < end && *p == '"') {
			for (p++;; p++) {
				if (p >= end) {
					*inq = 1;
					return NULL;
				}
				if (*p == '\n')
					(*nl_in)++;
				if (*p != '"')
					continue;
				if (p + 1 < end && p[1] == '"')
					p++;
				else {
					p++;
					break;
				}
			}
		}
		while (p < end && *p != ',' && *p != '\n')
			p++;
		if (p >= end) {
			*inq = 0;
			return NULL;
		}
		if (*p == '\n') {
			*inq = 0;
			return p;
		}
		p++;
	}
}

/* Record-end scan == reference for random text of commas, quotes, LFs and
 * letters: a stray quote inside an unquoted field is data there too. */
static void
test_record_end_random(void **state)
{
	static const char alpha[] = "ab,\",\nxyz\"";
	char rec[200];
	unsigned seed = 777;

	(void)state;
	for (int it = 0; it < 50000; it++) {
		size_t len;
		int inq, nl_in, winq, wnl;
		const char *got, *want;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(rec);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			rec[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		want = ref_record_end(rec, rec + len, &winq, &wnl);
		got = an_csv_record_end(rec, rec + len, &inq, &nl_in);
		assert_ptr_equal(got, want);
		assert_int_equal(inq, winq);
		if (got)
			assert_int_equal(nl_in, wnl);
	}
}

/* A stray quote mid-field does not swallow the following lines. */
static void
test_stray_quote(void **state)
{
	static const char in[] =
	    "type,timeLogged,rcpt,dsnDiag,dlvSourceIp\r\n"
	    "t,1709251200,a@x.com,421 say \"hello,1.1.1.1\r\n"
	    "d,1709251201,b@x.com,250 ok,1.1.1.2\r\n"
	    "d,1709251202,c@x.com,\"a \"\"b\"\" c\"x\"y,1.1.1.3\r\n"
	    "zz,1709251203,d@x.com,x,1.1.1.4\r\n"
	    "d,1709251204,e@x.com,\"multi\r\nline\",1.1.1.5\r\n";
	struct an_errlog errs;
	struct seen s;

	(void)state;
	memset(&errs, 0, sizeof(errs));
	for (size_t step = 0; step < 9; step += 4) {
		parse(in, sizeof(in) - 1, step, &s, &errs);
		assert_int_equal(s.n, 4);
		assert_string_equal(val(&s, 0, ACCT_F_DSN_DIAG),
		    "421 say \"hello");
		assert_string_equal(val(&s, 0, ACCT_F_DLV_SOURCE_IP), "1.1.1.1");
		assert_int_equal(s.line[1], 3);
		assert_string_equal(val(&s, 1, ACCT_F_DLV_SOURCE_IP), "1.1.1.2");
		assert_string_equal(val(&s, 2, ACCT_F_DSN_DIAG),
		    "a \"b\" cxy");
		assert_string_equal(val(&s, 2, ACCT_F_DLV_SOURCE_IP), "1.1.1.3");
		assert_int_equal(s.line[3], 6);
		assert_string_equal(val(&s, 3, ACCT_F_DLV_SOURCE_IP), "1.1.1.5");
		assert_int_equal(errs.n, 1);
		assert_int_equal(errs.kept[0].line, 5);
		seen_free(&s);
		an_errlog_fini(&errs);
	}
}

/* A line over 1 MiB is skipped whole, however the input is fed: the
 * parser does not take the rest of it for new records. */
static void
test_long_line_skipped_whole(void **state)
{
	static const char hdr[] = "type,timeLogged,rcpt\n"
	    "d,1709251200,a@x.com\n";
	static const char tail[] = ",x\nd,1709251201,b@x.com\n";
	size_t big = 3u << 20, len = sizeof(hdr) - 1 + big + sizeof(tail) - 1;
	char *in = xmalloc(len);
	struct an_errlog errs;
	struct seen s;

	(void)state;
	memcpy(in, hdr, sizeof(hdr) - 1);
	memset(in + sizeof(hdr) - 1, 'A', big);
	in[sizeof(hdr) - 1] = 'd';
	memcpy(in + sizeof(hdr) - 1 + big, tail, sizeof(tail) - 1);
	memset(&errs, 0, sizeof(errs));
	for (size_t step = 0; step <= (1u << 20); step += 1u << 18) {
		parse(in, len, step, &s, &errs);
		assert_int_equal(s.n, 2);
		assert_int_equal(s.line[1], 4);
		assert_int_equal(errs.n, 1);
		assert_int_equal(errs.kept[0].line, 3);
		assert_string_equal(errs.kept[0].msg, "line longer than 1 MiB");
		seen_free(&s);
		an_errlog_fini(&errs);
	}
	free(in);
}

/* The block cutter's header test agrees with the parser's. */
static void
test_rec_is_header(void **state)
{
	static const struct { const char *rec; int hdr; } c[] = {
		{ "type,timeLogged", 1 }, { "#type,timeLogged", 1 },
		{ "TYPE,x", 1 }, { "Type", 1 }, { "#TYPE", 1 },
		{ "t,1709251200,x", 0 }, { "tq,1,x", 0 }, { "\"type\",x", 0 },
		{ "types,x", 0 }, { "type ,x", 0 }, { "typ", 0 }, { "d,1", 0 },
		{ "#", 0 }, { "#t,1", 0 },
	};
	struct an_errlog errs;
	struct seen s;
	char in[64];

	(void)state;
	memset(&errs, 0, sizeof(errs));
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *r = c[i].rec;

		assert_int_equal(an_rec_is_header(r, r + strlen(r)), c[i].hdr);
		/* the parser: a header is no record; anything else is a
		 * record or a malformed line */
		snprintf(in, sizeof(in), "%s\nd,1709251200\n", r);
		parse(in, strlen(in), 0, &s, &errs);
		assert_int_equal((uint64_t)s.n + errs.n, c[i].hdr ? 1 : 2);
		seen_free(&s);
		an_errlog_fini(&errs);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guide_example),
		cmocka_unit_test(test_bouncehandler_custom_layout),
		cmocka_unit_test(test_real_2014_legacy),
		cmocka_unit_test(test_quoting_whole_and_pieces),
		cmocka_unit_test(test_mixed_headers),
		cmocka_unit_test(test_no_header_defaults),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_split_resume),
		cmocka_unit_test(test_split_random),
		cmocka_unit_test(test_record_end_random),
		cmocka_unit_test(test_stray_quote),
		cmocka_unit_test(test_long_line_skipped_whole),
		cmocka_unit_test(test_rec_is_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
