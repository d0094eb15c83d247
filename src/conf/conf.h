/*
 * conf.h -- PowerMTA-syntax configuration: loading, lookups, directive docs.
 *
 * One typed directive table (conf_table.c) drives parsing, bounds checks,
 * defaults and the documentation printed by conf_print_directives() (and
 * docs/config.md). Syntax and meanings follow PowerMTA 5.0 (see
 * docs/config.md): `keyword value` lines, `#` comments, <tag ARG> blocks,
 * include, domain-macro, domain/source pattern precedence and merging.
 *
 * Invariants: a struct conf is immutable once conf_load() returns, except
 * for the internal lookup caches (guarded by a mutex, so lookups may be
 * called from any thread). A failed load returns NULL and never touches
 * any previously loaded conf (reload = load new, swap, free old).
 * Ownership: everything reachable from a struct conf is owned by it and
 * stays valid until conf_free(). All `const` pointers returned by lookups
 * are borrowed from the conf.
 *
 * Value conventions used in all structs below:
 *   - times (TIME-INTERVAL) are int64_t seconds; -1 means "never";
 *   - sizes are uint64_t bytes; 0 means unlimited where documented;
 *   - rates are struct conf_rate (see below);
 *   - booleans are int 0/1.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "acct/acctw.h"

struct pcre2_real_code_8;		/* pcre2_code (8-bit) */
struct smtpd_policy;			/* smtpd/smtpd.h */

#define CONF_NEVER		 (-1)	/* time value "never" */
#define CONF_MAX_RETRY		 30	/* retry-after list length */
#define CONF_DEFAULT_VMTA	 "{default}"

/* N messages (or connections) per `per` seconds. per == 0: unlimited.
 * n == 0 with per > 0: "0", nothing allowed. */
struct conf_rate {
	int64_t		 n;
	int64_t		 per;
};

/* Units (public so the CLI and tests can reuse them). 0 ok, -1 bad. */
int conf_parse_time(const char *s, int64_t *out);	/* 1w2d12h, 300s, 90 */
int conf_parse_size(const char *s, uint64_t *out);	/* 250M, 1g, 512k, 100 */
int conf_parse_rate(const char *s, struct conf_rate *out); /* 83/10m, unlimited */
int conf_parse_bool(const char *s, int *out);		/* yes|no|true|false */
/* Comma-separated TIME-INTERVAL list, 1..max values; returns count or -1. */
int conf_parse_time_list(const char *s, int64_t *out, int max);
/* Format back for docs/logs ("4d12h", "never", "83/10m", "unlimited"). */
void conf_format_time(char *buf, size_t len, int64_t secs);
void conf_format_rate(char *buf, size_t len, const struct conf_rate *r);
/* 1 if r permits unlimited events. */
int conf_rate_unlimited(const struct conf_rate *r);

/* ---- addresses ------------------------------------------------------ */

struct conf_cidr {
	struct sockaddr_storage	 addr;	/* AF_INET / AF_INET6, masked */
	int			 bits;	/* prefix length */
	int			 any;	/* "0/0": matches IPv4 and IPv6 */
};

/* Parse "10.0.0.0/8", "10/8", "0/0", "1.2.3.4", "::1", "2001:db8::/32". */
int conf_cidr_parse(const char *s, struct conf_cidr *out);
int conf_cidr_match(const struct conf_cidr *c, const struct sockaddr *sa);

struct conf_listener {		/* smtp-listener IP:PORT [source=NAME] */
	const char	*addr;		/* "0.0.0.0", "127.0.0.1", "::1" */
	uint16_t	 port;
	const char	*source;	/* source=NAME or NULL */
};

struct conf_source_host {	/* smtp-source-host IP HOSTNAME */
	const char		*ip;	/* textual, as written */
	const char		*host;	/* EHLO name */
	struct sockaddr_storage	 addr;	/* port 0 */
	socklen_t		 addrlen;
};

struct conf_dkim_key {		/* domain-key SELECTOR,DOMAIN|*,FILE */
	const char	*selector;
	const char	*domain;	/* "*" = sign with the sender's domain */
	const char	*path;
};

enum conf_http_level {
	CONF_HTTP_NONE = 0, CONF_HTTP_MONITOR, CONF_HTTP_OPERATOR,
	CONF_HTTP_ADMIN,
};

struct conf_http_access {	/* http-access CIDR LEVEL[,deny-logs] */
	struct conf_cidr	 cidr;
	enum conf_http_level	 level;
	int			 deny_logs;
};

/* ---- <source> ------------------------------------------------------- */

enum conf_date_header {
	CONF_DATE_NO = 0, CONF_DATE_YES = 1, CONF_DATE_OVERRIDE = 2,
};

struct conf_source {
	const char		*name;		/* "10.0.0.0/8", "{auth}", NAME,
						 * or "{builtin}" for defaults */
	int			 always_allow_relaying;	/* false */
	int			 smtp_service;		/* true */
	int			 require_auth;		/* false */
	int			 allow_starttls;	/* true */
	int			 process_x_virtual_mta;	/* false */
	int			 retain_x_virtual_mta;	/* false */
	int			 process_x_job;		/* false */
	int			 retain_x_job;		/* false */
	const char		*jobid_header;		/* NULL = "X-Job" */
	const char		*default_virtual_mta;	/* NULL = {default} */
	int			 add_received_header;	/* true */
	int			 hide_message_source;	/* false */
	int			 add_message_id_header;	/* false */
	enum conf_date_header	 add_date_header;	/* no */
	uint64_t		 max_message_size;	/* 0 = unlimited */
	int			 max_rcpt_per_message;	/* 1000 */
	int			 max_smtp_in;		/* per client IP; 0 = unl. */
	struct conf_rate	 max_msg_rate;		/* per client IP */
	int			 dkim_sign;		/* source-level: sign mail
							 * from this source */
	const char		*pattern_list;		/* <pattern-list> name */
	int			 log_connections;
	int			 log_commands;
};

/* ---- <domain> (per queue) ------------------------------------------- */

enum conf_dkim_sign { CONF_DKIM_NO = 0, CONF_DKIM_YES, CONF_DKIM_IF_OPTIONS };
enum conf_canon { CONF_CANON_RELAXED = 0, CONF_CANON_SIMPLE = 1 }; /* = dkim_canon */
enum conf_dtype { CONF_TYPE_SMTP = 0, CONF_TYPE_DISCARD };

/* smtp-hosts "a, b; [10.1.1.1]:2525; lookup-mx:other.tld": one entry per
 * host; `level` increases at each ';' (lower level tried first). */
struct conf_smtp_host {
	const char	*host;		/* name or IP literal without [] */
	uint16_t	 port;		/* 0 = default-smtp-port */
	int		 level;
	int		 literal;	/* written as [IP] */
	int		 lookup_mx;	/* lookup-mx:DOMAIN (host = DOMAIN) */
};

/* Sluice extension: retry-schedule exponential first=5m factor=2 max=4h
 * jitter=10%. When enabled it replaces retry-after: delay(n) =
 * min(first * factor^n, max) +- jitter percent. */
struct conf_retry_schedule {
	int		 enabled;
	int64_t		 first;		/* 5m */
	double		 factor;	/* 2 */
	int64_t		 max;		/* 4h */
	int		 jitter_pct;	/* 10 */
};

struct conf_smtp_pattern_list;

struct conf_domain {
	const char	*pattern;	/* most specific matching block, "*" */
	int		 max_smtp_out;			/* 20 */
	int		 backoff_max_smtp_out;		/* 20 */
	int		 max_msg_per_connection;	/* 0 = no limit */
	int		 max_errors_per_connection;	/* 0 = no limit */
	int		 max_rcpt_per_message;		/* 1000 */
	struct conf_rate max_msg_rate;			/* unlimited */
	struct conf_rate backoff_max_msg_rate;		/* = max-msg-rate */
	struct conf_rate max_connect_rate;		/* unlimited */
	struct conf_rate backoff_max_connect_rate;	/* = max-connect-rate */
	int64_t		 retry_after[CONF_MAX_RETRY];	/* 10m; last repeats */
	int		 nretry_after;
	int64_t		 backoff_retry_after;		/* 1h */
	int64_t		 retry_after_dns_error;		/* 1m */
	struct conf_retry_schedule retry_schedule;	/* off */
	int64_t		 bounce_after;			/* 4d12h */
	int64_t		 bounce_upon_no_mx;	/* -1 false/never, 0 true,
						 * >0 only if queued that long */
	const struct conf_smtp_host *smtp_hosts;	/* NULL = MX lookup */
	size_t		 nsmtp_hosts;
	int		 default_smtp_port;		/* 25 */
	int		 use_starttls;			/* yes */
	int		 require_starttls;		/* no */
	int64_t		 connect_timeout;		/* 2m */
	int64_t		 smtp_greeting_timeout;		/* 5m */
	int64_t		 data_send_timeout;		/* 3m */
	int64_t		 connection_idle_timeout;	/* 0 = QUIT when idle */
	int64_t		 smtp_data_termination_timeout;	/* 10m */
	const char	*smtp_pattern_list;		/* name or NULL */
	const struct conf_smtp_pattern_list *smtp_patterns; /* resolved */
	int64_t		 backoff_to_normal_after;	/* never */
	int		 backoff_to_normal_after_delivery; /* false */
	enum conf_dkim_sign dkim_sign;			/* no */
	const char	*dkim_algorithm;		/* "rsa-sha256" */
	enum conf_canon	 dkim_headers_canon;		/* relaxed */
	enum conf_canon	 dkim_body_canon;		/* relaxed */
	const char	*dkim_headers;			/* NULL = default */
	const char	*dkim_identity;			/* sender-or-from */
	int64_t		 dkim_expire_after;		/* never (-1) */
	const char	*queue_to;			/* NULL */
	const char	*reroute_to_vmta;		/* vmta/pool; NULL */
	const char	*backoff_reroute_to_vmta;	/* in backoff; NULL */
	int		 disable_mx_rollup;		/* false */
	enum conf_dtype	 type;				/* smtp */
	int		 queue_priority;		/* 50 (0..100) */
	int		 log_connections;		/* false */
	int		 log_commands;			/* false */
	int		 log_resolution;		/* false */
};

/* ---- <smtp-pattern-list>, <pattern-list>, rollups, users ------------ */

enum conf_reply_action {		/* bits of conf_reply_rule.actions */
	CONF_ACT_MODE_BACKOFF		= 1 << 0,
	CONF_ACT_MODE_NORMAL		= 1 << 1,
	CONF_ACT_SKIP_MX		= 1 << 2,
	CONF_ACT_BOUNCE_RCPT		= 1 << 3,
	CONF_ACT_BOUNCE_QUEUE		= 1 << 4,
	CONF_ACT_DISABLE_SOURCE_IP	= 1 << 5,
	CONF_ACT_DEFER_QUEUE		= 1 << 6,
};

struct conf_reply_rule {		/* reply /REGEX/ ACTION[,ACTION] */
	const char			*regex;	/* source text between / / */
	struct pcre2_real_code_8	*re;	/* caseless */
	unsigned			 actions;
	int64_t				 backoff_to_normal_after; /* 0 = unset */
	int64_t				 reenable_after;	  /* 0 = unset */
};

struct conf_smtp_pattern_list {
	const char		*name;
	struct conf_reply_rule	*rules;
	size_t			 nrules;
};

/* First rule whose regex matches the reply text, or NULL. */
const struct conf_reply_rule *conf_smtp_pattern_match(
    const struct conf_smtp_pattern_list *l, const char *reply);

enum conf_pattern_kind {
	CONF_PAT_HEADER, CONF_PAT_MAIL_FROM, CONF_PAT_RCPT_TO,
};

struct conf_pattern_rule {	/* header NAME /re/ R | mail-from /re/ R */
	enum conf_pattern_kind		 kind;
	const char			*header;	/* for CONF_PAT_HEADER */
	const char			*regex;
	struct pcre2_real_code_8	*re;		/* caseless */
	const char			*virtual_mta;	/* virtual-mta=NAME */
	int				 recipient_priority; /* -1 unset */
};

struct conf_pattern_list {
	const char		*name;
	struct conf_pattern_rule *rules;
	size_t			 nrules;
};

/* 1 if rule matches `value` (a header value, MAIL FROM or RCPT TO). */
int conf_pattern_rule_match(const struct conf_pattern_rule *r,
    const char *value);

struct conf_rollup {		/* mx HOST NAME.rollup [rollup-by-ip] */
	const char	*mx;		/* may start with "*." */
	const char	*name;
	int		 by_ip;
};

struct conf_user {		/* <smtp-user NAME> */
	const char	*name;
	const char	*password;
	const char	*source;	/* NULL = "{auth}" */
};

/* ---- <virtual-mta>, <virtual-mta-pool> ------------------------------ */

struct conf_vmta {
	const char			*name;
	struct conf_source_host		*source_hosts;	/* round-robin */
	size_t				 nsource_hosts;	/* 0 = global */
	const char			*host_name;	/* NULL = global */
	int				 max_smtp_out;	/* 0 = unlimited */
	struct conf_rate		 max_smtp_msg_rate;
	struct conf_dkim_key		*dkim_keys;
	size_t				 ndkim_keys;
	const char			*dkim_esp_domain; /* NULL = global */
};

struct conf_pool {
	const char			*name;
	const struct conf_vmta		**members;
	size_t				 nmembers;
	int				 max_smtp_out;	/* 0 = unlimited */
	struct conf_rate		 max_smtp_msg_rate;
	struct conf_dkim_key		*dkim_keys;
	size_t				 ndkim_keys;
	const char			*dkim_esp_domain; /* NULL = global */
};

/* ---- the whole configuration ---------------------------------------- */

struct conf_internal;

struct conf {
	char			*path;
	char			*host_name;	/* default: gethostname() */
	int			 host_id;	/* 0 */
	char			**postmaster;	/* repeatable */
	size_t			 npostmaster;
	struct conf_listener	*listeners;	/* none given: 0.0.0.0:25 */
	size_t			 nlisteners;
	struct conf_source_host	*source_hosts;	/* global smtp-source-host */
	size_t			 nsource_hosts;
	int			 total_max_smtp_out;	/* 1000 */
	int			 total_max_smtp_in;	/* 100 */
	/* Sluice extensions: inbound SMTP session limits (smtpd_params) */
	int64_t			 smtp_in_command_timeout;	/* 5m */
	int64_t			 smtp_in_data_timeout;	/* 5m */
	int			 smtp_in_max_line_length;	/* 512 */
	int			 smtp_in_max_data_line_length;	/* 1000 */
	int			 smtp_in_max_errors;	/* 10 */
	char			*spool_dir;	/* <spool DIR>; /var/spool/sluice */
	int			 spool_deliver_only;	/* <spool> deliver-only */
	int			 spool_sync;	/* spool-sync; yes (no: bench) */
	char			*log_file;	/* NULL = stderr */
	int			 http_mgmt_port;	/* 8080; 0 = off */
	struct conf_http_access	*http_access;	/* first match wins */
	size_t			 nhttp_access;
	char			*dns_server;	/* "IP:PORT[,..]" or NULL */
	char			*control_socket;/* <spool>/sluiced.sock */
	char			*tls_certificate;	/* inbound STARTTLS */
	char			*tls_private_key;
	char			*dkim_key_directory;
	char			*dkim_esp_domain; /* extra signature, or NULL */
	struct conf_dkim_key	*dkim_keys;	/* global domain-key */
	size_t			 ndkim_keys;
	struct acctw_file	*acct_files;	/* pass to acctw_open() */
	size_t			 nacct_files;
	struct conf_vmta	*vmtas;
	size_t			 nvmtas;
	struct conf_pool	*pools;
	size_t			 npools;
	struct conf_smtp_pattern_list *smtp_pattern_lists;
	size_t			 nsmtp_pattern_lists;
	struct conf_pattern_list *pattern_lists;
	size_t			 npattern_lists;
	struct conf_rollup	*rollups;
	size_t			 nrollups;
	char			**bounce_patterns; /* "/REGEX/ category" lines,
						    * for bounce_rules_new() */
	size_t			 nbounce_patterns;
	struct conf_user	*users;
	size_t			 nusers;
	struct conf_internal	*in;		/* blocks, macros, caches */
};

/*
 * Load and validate a config file (with its includes). Returns NULL and
 * writes "FILE:LINE: message" (or "FILE: message") into err on any error.
 */
struct conf *conf_load(const char *path, char *err, size_t errlen);
/* Same, from a string; `name` is used as FILE in messages and includes are
 * relative to the current directory. */
struct conf *conf_load_string(const char *name, const char *text, char *err,
    size_t errlen);
void conf_free(struct conf *c);

/*
 * Merged settings for queue domain/vmta (vmta NULL or "{default}" = no
 * VMTA). Order: built-in defaults, then global <domain> blocks, then the
 * <domain> blocks of the pool(s) containing vmta, then the vmta's own
 * blocks; within each level from general to most specific. Never NULL.
 * Cached: cheap after the first call for a (vmta, domain) pair. `domain` is
 * matched case-insensitively.
 */
const struct conf_domain *conf_domain_lookup(const struct conf *c,
    const char *vmta, const char *domain);

/*
 * Policy for an inbound connection: if listener_source is a name, the
 * named <source> merged over <source 0/0> (if any); otherwise the most
 * specific <source CIDR> containing peer, merged from the least specific
 * containing block. Never NULL (built-in defaults when nothing matches).
 */
const struct conf_source *conf_source_lookup(const struct conf *c,
    const struct sockaddr *peer, const char *listener_source);
/* A named source ("{auth}", NAME) merged over 0/0, or NULL if undefined. */
const struct conf_source *conf_source_find(const struct conf *c,
    const char *name);
/* Fill smtpd's per-connection policy from a source (1:1 fields). */
void conf_source_to_policy(const struct conf_source *s,
    struct smtpd_policy *out);

const struct conf_vmta *conf_vmta_find(const struct conf *c, const char *name);
const struct conf_pool *conf_pool_find(const struct conf *c, const char *name);
const struct conf_smtp_pattern_list *conf_smtp_pattern_list_find(
    const struct conf *c, const char *name);
const struct conf_pattern_list *conf_pattern_list_find(const struct conf *c,
    const char *name);
/* Rollup queue for the (lowest-preference) MX host name, or NULL. */
const struct conf_rollup *conf_rollup_find(const struct conf *c,
    const char *mx);

/* The user if name/password match (constant-time compare), else NULL. */
const struct conf_user *conf_user_check(const struct conf *c,
    const char *user, const char *pass);

/*
 * DKIM signing scopes whose configuration can never find a key (conf_dkim.c;
 * the key choice itself is in src/daemon/dkim_cache.c). For every block
 * that sets dkim-sign yes (<source>, global <domain>, <domain> inside a
 * <virtual-mta> or <virtual-mta-pool>), checks that at least one key could
 * apply to mail it asks to sign: a domain-key of the global level, of the
 * vmta, of a pool containing it, of the pool, of its members (for a global
 * block or a source: of any vmta or pool), or a key from the key directory
 * (dir_keys: how many dkim-key-directory loaded). -1 with
 * "CONFIG: <virtual-mta v1> <domain *>: dkim-sign yes, but ..." in err.
 */
int conf_dkim_check_scopes(const struct conf *c, size_t dir_keys, char *err,
    size_t errlen);

/* ---- directive documentation ---------------------------------------- */

enum conf_doc_format { CONF_DOC_TEXT = 0, CONF_DOC_MARKDOWN = 1 };

/* Print every directive (scope, type, default, bounds, help). */
void conf_print_directives(FILE *fp);
void conf_print_directives_fmt(FILE *fp, enum conf_doc_format fmt);

#endif
