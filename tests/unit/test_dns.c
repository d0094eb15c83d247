/*
 * test_dns.c -- unit tests for the pure parts of src/dns/: TTL extraction
 * from raw DNS answers, the bounded TTL cache, RFC 5321 §5.1 MX ordering
 * with equal-preference shuffling, RFC 7505 null MX detection, and the
 * PowerMTA smtp-hosts spec parser.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns_internal.h"

/* ---- raw message builder -------------------------------------------- */

struct msg {
	unsigned char	b[512];
	size_t		len;
};

static void
msg_u16(struct msg *m, unsigned v)
{
	m->b[m->len++] = (unsigned char)(v >> 8);
	m->b[m->len++] = (unsigned char)v;
}

static void
msg_u32(struct msg *m, uint32_t v)
{
	msg_u16(m, v >> 16);
	msg_u16(m, v & 0xffff);
}

static void
msg_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		m->b[m->len++] = (unsigned char)n;
		memcpy(m->b + m->len, name, n);
		m->len += n;
		name += n + (dot ? 1 : 0);
	}
	m->b[m->len++] = 0;
}

static void
msg_header(struct msg *m, unsigned an, unsigned ns)
{
	m->len = 0;
	msg_u16(m, 0x1234);
	msg_u16(m, 0x8180);
	msg_u16(m, 1);
	msg_u16(m, an);
	msg_u16(m, ns);
	msg_u16(m, 0);
	msg_name(m, "example.com");
	msg_u16(m, 15);
	msg_u16(m, 1);
}

static void
msg_mx(struct msg *m, uint32_t ttl, unsigned pref, const char *host)
{
	m->b[m->len++] = 0xc0;		/* pointer to the question name */
	m->b[m->len++] = 12;
	msg_u16(m, 15);
	msg_u16(m, 1);
	msg_u32(m, ttl);
	msg_u16(m, (unsigned)(2 + strlen(host) + 2));
	msg_u16(m, pref);
	msg_name(m, host);
}

static void
msg_soa(struct msg *m, uint32_t ttl, uint32_t minimum)
{
	size_t rdlen_at;

	m->b[m->len++] = 0xc0;
	m->b[m->len++] = 12;
	msg_u16(m, 6);
	msg_u16(m, 1);
	msg_u32(m, ttl);
	rdlen_at = m->len;
	msg_u16(m, 0);
	msg_name(m, "ns.example.com");
	msg_name(m, "hostmaster.example.com");
	msg_u32(m, 1);
	msg_u32(m, 3600);
	msg_u32(m, 600);
	msg_u32(m, 86400);
	msg_u32(m, minimum);
	m->b[rdlen_at] = (unsigned char)((m->len - rdlen_at - 2) >> 8);
	m->b[rdlen_at + 1] = (unsigned char)(m->len - rdlen_at - 2);
}

static void
test_msg_ttl_answer_min(void **state)
{
	struct msg m;

	(void)state;
	msg_header(&m, 2, 0);
	msg_mx(&m, 300, 10, "mx1.example.com");
	msg_mx(&m, 120, 20, "mx2.example.com");
	assert_int_equal(dns_msg_ttl(m.b, m.len, 60), 120);
}

static void
test_msg_ttl_negative_soa(void **state)
{
	struct msg m;

	(void)state;
	msg_header(&m, 0, 1);
	msg_soa(&m, 900, 30);
	assert_int_equal(dns_msg_ttl(m.b, m.len, 60), 30);
	msg_header(&m, 0, 1);
	msg_soa(&m, 20, 300);
	assert_int_equal(dns_msg_ttl(m.b, m.len, 60), 20);
	msg_header(&m, 0, 0);
	assert_int_equal(dns_msg_ttl(m.b, m.len, 60), 60);
}

static void
test_msg_ttl_malformed(void **state)
{
	struct msg m;

	(void)state;
	msg_header(&m, 1, 0);
	msg_mx(&m, 300, 10, "mx1.example.com");
	/* Every truncation must be rejected or parsed within bounds. */
	for (size_t n = 0; n < m.len; n++)
		assert_int_equal(dns_msg_ttl(m.b, n, 60), -1);
	assert_int_equal(dns_msg_ttl(NULL, 0, 60), -1);
}

/* ---- cache ---------------------------------------------------------- */

static void
test_cache_ttl(void **state)
{
	struct dns_cache *c = dns_cache_new(10);
	struct dns_cache_hit hit;
	const unsigned char ans[] = "answer";

	(void)state;
	dns_cache_put(c, "Example.COM", 15, 0, ans, sizeof(ans), 100, 1000);
	assert_int_equal(dns_cache_get(c, "example.com", 15, 1099, &hit), 1);
	assert_int_equal(hit.alen, sizeof(ans));
	assert_memory_equal(hit.abuf, ans, sizeof(ans));
	assert_int_equal(dns_cache_get(c, "example.com", 1, 1000, &hit), 0);
	assert_int_equal(dns_cache_get(c, "example.com", 15, 1100, &hit), 0);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_put(c, "zero.ttl", 15, 0, ans, sizeof(ans), 0, 1000);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(c);
}

static void
test_cache_bounded(void **state)
{
	struct dns_cache *c = dns_cache_new(3);
	struct dns_cache_hit hit;
	const unsigned char ans[] = "x";

	(void)state;
	dns_cache_put(c, "a", 1, 0, ans, 1, 100, 0);
	dns_cache_put(c, "b", 1, 0, ans, 1, 5, 0);
	dns_cache_put(c, "c", 1, 0, ans, 1, 100, 0);
	/* "b" has expired at t=10, so it goes first. */
	dns_cache_put(c, "d", 1, 0, ans, 1, 100, 10);
	assert_int_equal(dns_cache_count(c), 3);
	assert_int_equal(dns_cache_get(c, "a", 1, 10, &hit), 1);
	assert_int_equal(dns_cache_get(c, "b", 1, 10, &hit), 0);
	/* Nothing expired: the oldest ("a") is evicted. */
	dns_cache_put(c, "e", 1, 0, ans, 1, 100, 10);
	assert_int_equal(dns_cache_count(c), 3);
	assert_int_equal(dns_cache_get(c, "a", 1, 10, &hit), 0);
	assert_int_equal(dns_cache_get(c, "e", 1, 10, &hit), 1);
	dns_cache_drop(c, "C");
	assert_int_equal(dns_cache_get(c, "c", 1, 10, &hit), 0);
	dns_cache_drop(c, "*");
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(c);
}

/* ---- MX ordering ---------------------------------------------------- */

static uint32_t
rand_zero(uint32_t upper)
{
	(void)upper;
	return 0;
}

static uint32_t
rand_last(uint32_t upper)
{
	return upper - 1;
}

static void
test_order_sorted(void **state)
{
	struct dns_mx mx[] = {
		{ "c", 30 }, { "a", 10 }, { "b", 20 }, { "a2", 10 },
	};

	(void)state;
	dns_order_mx(mx, 4, rand_last);	/* rand_last = no swap */
	assert_string_equal(mx[0].name, "a");
	assert_string_equal(mx[1].name, "a2");
	assert_string_equal(mx[2].name, "b");
	assert_string_equal(mx[3].name, "c");
}

static void
test_order_shuffles_equal_only(void **state)
{
	struct dns_mx mx[] = {
		{ "b1", 20 }, { "a1", 10 }, { "a2", 10 }, { "a3", 10 },
		{ "b2", 20 },
	};

	(void)state;
	dns_order_mx(mx, 5, rand_zero);
	/* Fisher-Yates with r=0 rotates each run: a1 a2 a3 -> a2 a3 a1. */
	assert_string_equal(mx[0].name, "a2");
	assert_string_equal(mx[1].name, "a3");
	assert_string_equal(mx[2].name, "a1");
	assert_int_equal(mx[3].pref, 20);
	assert_int_equal(mx[4].pref, 20);
	assert_string_equal(mx[3].name, "b2");
	assert_string_equal(mx[4].name, "b1");
}

static void
test_order_nullmx(void **state)
{
	struct dns_mx null1[] = { { "", 0 } };
	struct dns_mx null2[] = { { ".", 0 } };
	struct dns_mx notnull1[] = { { "", 10 } };
	struct dns_mx notnull2[] = { { "", 0 }, { "mx", 10 } };
	struct dns_mx notnull3[] = { { "mx", 0 } };

	(void)state;
	assert_true(dns_order_is_nullmx(null1, 1));
	assert_true(dns_order_is_nullmx(null2, 1));
	assert_false(dns_order_is_nullmx(notnull1, 1));
	assert_false(dns_order_is_nullmx(notnull2, 2));
	assert_false(dns_order_is_nullmx(notnull3, 1));
}

/* ---- smtp-hosts spec ------------------------------------------------ */

static void
test_spec_full(void **state)
{
	struct dns_spec s;
	char err[128];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	(void)state;
	assert_int_equal(dns_spec_parse(" h1, h2:2526 ; [10.1.1.1]:2525; "
	    "lookup-mx:other.domain; [IPv6:::1]", &s, err, sizeof(err)), 0);
	assert_int_equal(s.nitems, 5);
	assert_int_equal(s.items[0].kind, DNS_SPEC_HOST);
	assert_string_equal(s.items[0].name, "h1");
	assert_int_equal(s.items[0].port, 0);
	assert_int_equal(s.items[0].level, 0);
	assert_string_equal(s.items[1].name, "h2");
	assert_int_equal(s.items[1].port, 2526);
	assert_int_equal(s.items[1].level, 0);
	assert_int_equal(s.items[2].kind, DNS_SPEC_LITERAL);
	assert_int_equal(s.items[2].level, 1);
	assert_int_equal(s.items[2].port, 2525);
	sin = (const void *)&s.items[2].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x0a010101);
	assert_int_equal(s.items[3].kind, DNS_SPEC_MX);
	assert_string_equal(s.items[3].name, "other.domain");
	assert_int_equal(s.items[3].level, 2);
	sin6 = (const void *)&s.items[4].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	dns_spec_fini(&s);
}

static void
test_spec_errors(void **state)
{
	static const char *bad[] = {
		"", "h1,,h2", "h1;;h2", "[10.1.1.1", "[10.1.1.300]",
		"h1:0", "h1:65536", "h1:25x", "lookup-mx:", "bad host",
		"-h1", "[::1]:", "h1;, h2", NULL,
	};
	struct dns_spec s;
	char err[128];

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		assert_int_equal(dns_spec_parse(bad[i], &s, err,
		    sizeof(err)), -1);
		assert_true(strncmp(err, "smtp-hosts:", 11) == 0);
		assert_int_equal(s.nitems, 0);
	}
	/* A trailing ';' is tolerated. */
	assert_int_equal(dns_spec_parse("h1;", &s, err, sizeof(err)), 0);
	assert_int_equal(s.nitems, 1);
	dns_spec_fini(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_ttl_answer_min),
		cmocka_unit_test(test_msg_ttl_negative_soa),
		cmocka_unit_test(test_msg_ttl_malformed),
		cmocka_unit_test(test_cache_ttl),
		cmocka_unit_test(test_cache_bounded),
		cmocka_unit_test(test_order_sorted),
		cmocka_unit_test(test_order_shuffles_equal_only),
		cmocka_unit_test(test_order_nullmx),
		cmocka_unit_test(test_spec_full),
		cmocka_unit_test(test_spec_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
