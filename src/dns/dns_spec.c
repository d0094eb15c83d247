/*
 * dns_spec.c -- parser for PowerMTA smtp-hosts / route specifications:
 * "h1, h2; [10.1.1.1]:2525; lookup-mx:other.domain".
 *
 * ';' separates preference levels (tried in order), ',' separates hosts of
 * one level. An item is a host name with optional ":port", an address
 * literal "[1.2.3.4]" / "[IPv6:::1]" / "[::1]" with optional ":port", or
 * "lookup-mx:domain". Invariants: on error nothing is left allocated in
 * *out; on success every item has a non-empty name. Pure (no I/O).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns_internal.h"
#include "lib/strutil.h"
#include "lib/xmalloc.h"

static int
dns_spec_valid_host(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return 0;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return 0;
	return 1;
}

/* ":port" suffix at p (or nothing). Returns 0 and sets *port, or -1. */
static int
dns_spec_port(const char *p, uint16_t *port)
{
	char *end;
	long v;

	*port = 0;
	if (*p == '\0')
		return 0;
	if (*p != ':' || !isdigit((unsigned char)p[1]))
		return -1;
	v = strtol(p + 1, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
dns_spec_literal(const char *tok, struct dns_spec_item *it)
{
	const char *close = strchr(tok, ']');
	char addr[INET6_ADDRSTRLEN + 8];
	size_t n;
	const char *a = addr;

	if (close == NULL || (n = (size_t)(close - tok - 1)) == 0 ||
	    n >= sizeof(addr))
		return -1;
	memcpy(addr, tok + 1, n);
	addr[n] = '\0';
	if (strncasecmp(a, "IPv6:", 5) == 0)
		a += 5;
	if (dns_spec_port(close + 1, &it->port) == -1)
		return -1;
	memset(&it->addr, 0, sizeof(it->addr));
	if (inet_pton(AF_INET, a, &((struct sockaddr_in *)&it->addr)->sin_addr)
	    == 1) {
		it->addr.ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, a,
	    &((struct sockaddr_in6 *)&it->addr)->sin6_addr) == 1) {
		it->addr.ss_family = AF_INET6;
	} else
		return -1;
	it->kind = DNS_SPEC_LITERAL;
	it->name = xstrdup(a);
	return 0;
}

static int
dns_spec_item(const char *tok, struct dns_spec_item *it)
{
	const char *colon;

	memset(it, 0, sizeof(*it));
	if (tok[0] == '[')
		return dns_spec_literal(tok, it);
	if (strncasecmp(tok, "lookup-mx:", 10) == 0) {
		if (!dns_spec_valid_host(tok + 10))
			return -1;
		it->kind = DNS_SPEC_MX;
		it->name = xstrdup(tok + 10);
		return 0;
	}
	colon = strchr(tok, ':');
	it->kind = DNS_SPEC_HOST;
	it->name = colon ? xstrndup(tok, (size_t)(colon - tok)) : xstrdup(tok);
	if (!dns_spec_valid_host(it->name) ||
	    dns_spec_port(colon ? colon : "", &it->port) == -1) {
		free(it->name);
		it->name = NULL;
		return -1;
	}
	return 0;
}

static int
dns_spec_level(char *level, unsigned lvl, struct dns_spec *out, char *err,
    size_t errlen)
{
	char *tok;
	char *rest = level;

	/* strsep keeps empty fields so "a,,b" is reported. */
	while ((tok = strsep(&rest, ",")) != NULL) {
		struct dns_spec_item it;

		tok = str_trim(tok);
		if (*tok == '\0') {
			snprintf(err, errlen, "smtp-hosts: empty host in "
			    "level %u", lvl + 1);
			return -1;
		}
		if (dns_spec_item(tok, &it) == -1) {
			snprintf(err, errlen, "smtp-hosts: bad host \"%s\"",
			    tok);
			return -1;
		}
		it.level = lvl;
		out->items = xreallocarray(out->items, out->nitems + 1,
		    sizeof(*out->items));
		out->items[out->nitems++] = it;
	}
	return 0;
}

int
dns_spec_parse(const char *spec, struct dns_spec *out, char *err,
    size_t errlen)
{
	char *copy, *rest, *level;
	unsigned lvl = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "smtp-hosts: empty specification");
		return -1;
	}
	rest = copy = xstrdup(spec);
	while (rc == 0 && (level = strsep(&rest, ";")) != NULL) {
		level = str_trim(level);
		if (*level == '\0' && rest == NULL && lvl > 0)
			break;		/* a trailing ';' is harmless */
		rc = dns_spec_level(level, lvl++, out, err, errlen);
	}
	free(copy);
	if (rc == -1)
		dns_spec_fini(out);
	return rc;
}

void
dns_spec_fini(struct dns_spec *s)
{
	for (size_t i = 0; i < s->nitems; i++)
		free(s->items[i].name);
	free(s->items);
	memset(s, 0, sizeof(*s));
}
