/*
 * dns.h -- asynchronous MX / A / AAAA resolution on the event loop (c-ares).
 *
 * c-ares sockets are driven by libevent through ARES_OPT_SOCK_STATE_CB and
 * ares_process_fd(); one timer follows ares_timeout(). Answers are cached
 * by TTL. Results follow RFC 5321 §5.1: MX by preference, equal preferences
 * shuffled, implicit MX (the domain's own A/AAAA) when there is no MX,
 * RFC 7505 null MX reported as DNS_NULLMX.
 * Callbacks run on the loop thread, exactly once per request unless the
 * request is cancelled; result memory is borrowed for the callback only.
 */
#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dns;
struct dns_req;

struct dns_params {
	const char	*servers;	/* "127.0.0.1:5353[,...]"; NULL = resolv.conf */
	int		 timeout_ms;	/* per try; 0 = 2000 */
	int		 tries;		/* 0 = 3 */
	int		 want_ipv6;	/* also AAAA */
	size_t		 cache_max;	/* entries; 0 = 10000 */
};

enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN,		/* domain does not exist: bounce */
	DNS_NULLMX,		/* RFC 7505 "MX 0 .": bounce */
	DNS_NOHOST,		/* no MX and no A/AAAA: bounce */
	DNS_TEMPFAIL,		/* SERVFAIL, timeout, refused: defer */
};

struct dns_host {
	const char		*name;		/* MX host name (or the domain) */
	uint16_t		 pref;
	uint16_t		 port;		/* 0 = default (25) */
	size_t			 naddr;
	struct sockaddr_storage	*addrs;		/* may be 0 if lookups failed;
						 * A before AAAA; each carries
						 * the port (port or 25) */
};

struct dns_result {
	enum dns_status		 status;
	const char		*error;		/* human text for dsnDiag, e.g.
						 * "DNS: host not found (NXDOMAIN)" */
	int			 implicit_mx;
	size_t			 nhosts;
	struct dns_host		*hosts;		/* in the order to try */
};

typedef void dns_cb(const struct dns_result *res, void *arg);

struct dns *dns_new(struct event_base *base, const struct dns_params *p,
    char *err, size_t errlen);
void dns_free(struct dns *d);

/* MX for a domain (then A/AAAA of each MX host). */
struct dns_req *dns_resolve_mx(struct dns *d, const char *domain, dns_cb *cb,
    void *arg);

/*
 * A PowerMTA smtp-hosts / route spec instead of MX:
 * "h1, h2; [10.1.1.1]:2525; lookup-mx:other.domain". Commas separate hosts of
 * one preference level, ';' separates levels. Syntax errors: DNS_NOHOST
 * with error set (callback still called).
 */
struct dns_req *dns_resolve_hosts(struct dns *d, const char *spec, dns_cb *cb,
    void *arg);

/* Cancel a pending request: its callback will not be called. Valid until
 * the callback has run. dns_free() drops pending requests the same way. */
void dns_cancel(struct dns_req *r);

/* Drop cached answers for a domain ("*" = all). */
void dns_cache_clear(struct dns *d, const char *domain);

#endif
