/*
 * conf_source.c -- <source CIDR|NAME> blocks: CIDR parsing and matching,
 * precomputed merged settings, per-connection lookup, and the mapping to
 * smtpd's per-connection policy.
 *
 * Invariants: CIDR ranges are either nested or disjoint, so the merged
 * settings of the most specific matching block (all containing blocks,
 * least specific first, then itself) are the answer for every address it
 * contains; they are computed once at load (conf_sources_finalize), and a
 * lookup is a scan for the longest matching prefix. `0/0` matches IPv4 and
 * IPv6 clients; `::/0` only IPv6. IPv4-mapped IPv6 peers match as IPv4.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd.h"

static int
cidr_v4(const char *s, struct in_addr *a)
{
	char buf[INET_ADDRSTRLEN + 8];
	int dots = 0;

	for (const char *t = s; *t; t++)
		dots += *t == '.';
	if (strlen(s) >= INET_ADDRSTRLEN || dots > 3 || *s == '\0')
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	for (; dots < 3; dots++)
		strcat(buf, ".0");
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -1;
}

static void
cidr_mask(unsigned char *b, size_t len, int bits)
{
	for (size_t i = 0; i < len; i++) {
		int keep = bits - (int)i * 8;

		if (keep >= 8)
			continue;
		b[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

int
conf_cidr_parse(const char *s, struct conf_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	long bits;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -1;
		bits = 128;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;

		s4->sin_family = AF_INET;
		if ((slash == NULL && strchr(addr, '.') == NULL) ||
		    cidr_v4(addr, &s4->sin_addr) == -1)
			return -1;
		bits = 32;
	}
	if (slash != NULL) {
		long max = bits;

		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end != '\0' || bits < 0 || bits > max)
			return -1;
	}
	out->bits = (int)bits;
	if (out->addr.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;

		cidr_mask((unsigned char *)&s4->sin_addr, 4, out->bits);
		out->any = out->bits == 0;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;

		cidr_mask(s6->sin6_addr.s6_addr, 16, out->bits);
	}
	return 0;
}

int
conf_cidr_match(const struct conf_cidr *c, const struct sockaddr *sa)
{
	unsigned char buf[16];
	const unsigned char *net;
	size_t len;

	if (c->any)
		return 1;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			if (c->addr.ss_family != AF_INET)
				return 0;
			memcpy(buf, s6->sin6_addr.s6_addr + 12, 4);
			len = 4;
		} else {
			if (c->addr.ss_family != AF_INET6)
				return 0;
			memcpy(buf, s6->sin6_addr.s6_addr, 16);
			len = 16;
		}
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		if (c->addr.ss_family != AF_INET)
			return 0;
		memcpy(buf, &s4->sin_addr, 4);
		len = 4;
	} else
		return 0;
	cidr_mask(buf, len, c->bits);
	net = c->addr.ss_family == AF_INET ?
	    (const unsigned char *)&((const struct sockaddr_in *)&c->addr)->sin_addr :
	    ((const struct sockaddr_in6 *)&c->addr)->sin6_addr.s6_addr;
	return memcmp(buf, net, len) == 0;
}

int
conf_source_block_open(struct conf_parser *p, const char *arg,
    struct conf_frame *f)
{
	struct conf_internal *in = p->c->in;
	struct conf_sblock *b = xcalloc(1, sizeof(*b));

	in->sources = xreallocarray(in->sources, in->nsources + 1,
	    sizeof(*in->sources));
	in->sources[in->nsources++] = b;
	b->name = conf_strdup(p->c, arg);
	b->order = in->norder++;
	b->v = in->src_default;
	b->v.name = b->name;
	if (conf_cidr_parse(arg, &b->cidr) == -1) {
		if (strchr(arg, '/') != NULL || strchr(arg, ' ') != NULL)
			return conf_perr(p, "<source %s>: bad CIDR or name", arg);
		b->named = 1;
	}
	f->obj = &b->v;
	f->set = b->set;
	return 0;
}

/* 1 if block y's settings are inherited by block x. */
static int
source_inherits(const struct conf_sblock *x, const struct conf_sblock *y)
{
	if (x->named) {
		if (y->named)
			return strcmp(x->name, y->name) == 0 &&
			    y->order <= x->order;
		return y->cidr.any;
	}
	if (y->named || y->cidr.bits > x->cidr.bits)
		return 0;
	if (!conf_cidr_match(&y->cidr, (const struct sockaddr *)&x->cidr.addr))
		return 0;
	return y->cidr.bits < x->cidr.bits || y->cidr.any != x->cidr.any ||
	    y->order <= x->order;
}

static int
sblock_cmp(const void *a, const void *b)
{
	const struct conf_sblock *x = *(struct conf_sblock *const *)a;
	const struct conf_sblock *y = *(struct conf_sblock *const *)b;
	int rx = x->named ? 1000 : x->cidr.bits + !x->cidr.any;
	int ry = y->named ? 1000 : y->cidr.bits + !y->cidr.any;

	return rx != ry ? rx - ry : x->order - y->order;
}

void
conf_sources_finalize(struct conf *c)
{
	struct conf_internal *in = c->in;
	struct conf_sblock **sorted;

	if (in->nsources == 0)
		return;
	sorted = xreallocarray(NULL, in->nsources, sizeof(*sorted));
	memcpy(sorted, in->sources, in->nsources * sizeof(*sorted));
	qsort(sorted, in->nsources, sizeof(*sorted), sblock_cmp);
	for (size_t i = 0; i < in->nsources; i++) {
		struct conf_sblock *x = in->sources[i];

		x->merged = in->src_default;
		for (size_t j = 0; j < in->nsources; j++)
			if (source_inherits(x, sorted[j]))
				conf_merge(&x->merged, &sorted[j]->v,
				    sorted[j]->set, CS_SOURCE);
		x->merged.name = x->name;
	}
	free(sorted);
}

const struct conf_source *
conf_source_find(const struct conf *c, const char *name)
{
	const struct conf_sblock *best = NULL;

	for (size_t i = 0; i < c->in->nsources; i++) {
		const struct conf_sblock *b = c->in->sources[i];

		if (b->named && strcmp(b->name, name) == 0)
			best = b;
	}
	return best ? &best->merged : NULL;
}

const struct conf_source *
conf_source_lookup(const struct conf *c, const struct sockaddr *peer,
    const char *listener_source)
{
	const struct conf_sblock *best = NULL;
	const struct conf_source *s;

	if (listener_source != NULL && *listener_source != '\0' &&
	    (s = conf_source_find(c, listener_source)) != NULL)
		return s;
	for (size_t i = 0; peer != NULL && i < c->in->nsources; i++) {
		const struct conf_sblock *b = c->in->sources[i];

		if (b->named || !conf_cidr_match(&b->cidr, peer))
			continue;
		if (best == NULL || b->cidr.bits > best->cidr.bits ||
		    (b->cidr.bits == best->cidr.bits &&
		    b->cidr.any == best->cidr.any))
			best = b;
		else if (b->cidr.bits == best->cidr.bits && !b->cidr.any)
			best = b;	/* ::/0 or exact family beats 0/0 */
	}
	return best ? &best->merged : &c->in->src_default;
}

void
conf_source_to_policy(const struct conf_source *s, struct smtpd_policy *out)
{
	memset(out, 0, sizeof(*out));
	out->smtp_service = s->smtp_service;
	out->always_allow_relaying = s->always_allow_relaying;
	out->require_auth = s->require_auth;
	out->allow_starttls = s->allow_starttls;
	out->process_x_virtual_mta = s->process_x_virtual_mta;
	out->process_x_job = s->process_x_job;
	out->add_received_header = s->add_received_header;
	out->hide_message_source = s->hide_message_source;
	out->add_message_id_header = s->add_message_id_header;
	out->add_date_header = (int)s->add_date_header;
	out->max_message_size = (size_t)s->max_message_size;
	out->max_rcpt_per_message = (size_t)s->max_rcpt_per_message;
	out->default_vmta = s->default_virtual_mta;
	out->jobid_header = s->jobid_header;
}
