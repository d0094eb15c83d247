/*
 * dns_msg.c -- TTL of a raw DNS response (c-ares 1.18 parses MX replies
 * without their TTL, so the cache reads it from the wire format here).
 *
 * Invariants: reads only inside [abuf, abuf+alen); malformed input gives
 * -1, never a read out of bounds. Pure: no I/O, no allocation.
 */
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_internal.h"

#define DNS_HDR_LEN	12
#define DNS_T_SOA	6

static uint32_t
dns_msg_u16(const unsigned char *p)
{
	return ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t
dns_msg_u32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

/* Skip a possibly compressed name at off; returns the offset after it or
 * -1. A compression pointer ends the name in place. */
static long
dns_msg_skip_name(const unsigned char *abuf, size_t alen, size_t off)
{
	while (off < alen) {
		unsigned len = abuf[off];

		if (len == 0)
			return (long)off + 1;
		if ((len & 0xc0) == 0xc0)
			return off + 2 <= alen ? (long)off + 2 : -1;
		if (len & 0xc0)
			return -1;
		off += 1 + len;
	}
	return -1;
}

/* Walk one resource record at *off; fill type, ttl and the rdata offset. */
static int
dns_msg_rr(const unsigned char *abuf, size_t alen, size_t *off,
    uint32_t *type, uint32_t *ttl, size_t *rdata, size_t *rdlen)
{
	long o = dns_msg_skip_name(abuf, alen, *off);

	if (o < 0 || (size_t)o + 10 > alen)
		return -1;
	*type = dns_msg_u16(abuf + o);
	*ttl = dns_msg_u32(abuf + o + 4);
	*rdlen = dns_msg_u16(abuf + o + 8);
	*rdata = (size_t)o + 10;
	if (*rdata + *rdlen > alen)
		return -1;
	*off = *rdata + *rdlen;
	return 0;
}

/* SOA negative TTL: min(record TTL, MINIMUM field). */
static long
dns_msg_soa_ttl(const unsigned char *abuf, size_t alen, size_t rdata,
    size_t rdlen, uint32_t ttl)
{
	long o = dns_msg_skip_name(abuf, alen, rdata);		/* MNAME */
	uint32_t min;

	if (o >= 0)
		o = dns_msg_skip_name(abuf, alen, (size_t)o);	/* RNAME */
	if (o < 0 || (size_t)o + 20 > rdata + rdlen)
		return -1;
	min = dns_msg_u32(abuf + o + 16);
	return (long)(min < ttl ? min : ttl);
}

long
dns_msg_ttl(const unsigned char *abuf, size_t alen, long neg_default)
{
	uint32_t qd, an, ns, type, ttl;
	size_t off = DNS_HDR_LEN, rdata, rdlen;
	long best = -1;

	if (abuf == NULL || alen < DNS_HDR_LEN)
		return -1;
	qd = dns_msg_u16(abuf + 4);
	an = dns_msg_u16(abuf + 6);
	ns = dns_msg_u16(abuf + 8);
	for (uint32_t i = 0; i < qd; i++) {
		long o = dns_msg_skip_name(abuf, alen, off);

		if (o < 0 || (size_t)o + 4 > alen)
			return -1;
		off = (size_t)o + 4;
	}
	for (uint32_t i = 0; i < an; i++) {
		if (dns_msg_rr(abuf, alen, &off, &type, &ttl, &rdata,
		    &rdlen) == -1)
			return -1;
		if (best < 0 || (long)ttl < best)
			best = (long)(ttl & 0x7fffffff);
	}
	if (an > 0)
		return best;
	for (uint32_t i = 0; i < ns; i++) {
		if (dns_msg_rr(abuf, alen, &off, &type, &ttl, &rdata,
		    &rdlen) == -1)
			return -1;
		if (type == DNS_T_SOA)
			return dns_msg_soa_ttl(abuf, alen, rdata, rdlen,
			    ttl & 0x7fffffff);
	}
	return neg_default;
}
