/*
 * conf_table.c -- THE directive table: every keyword Sluice accepts, with
 * its scope(s), type, default, bounds, storage offset and help text.
 *
 * Invariants: the parser (conf_parse.c), defaults (conf_set.c), block
 * merging and the documentation (conf_doc.c, docs/config.md, sluiced
 * --help-config) all read this one table; nothing else knows a keyword.
 * A typed entry (not CT_FN/CT_BLOCK) lists scopes that share one struct:
 * global/spool -> struct conf, source -> conf_source, domain ->
 * conf_domain, virtual-mta -> conf_vmta, pool -> conf_pool, acct-file ->
 * struct acctw_file. A keyword valid in scopes with different structs has
 * one entry per struct. At most 64 * CONF_SETBITS entries.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_internal.h"

#define F(st, f)	.off = offsetof(struct st, f), \
			.size = sizeof(((struct st *)0)->f)
#define RANGE(st, a, b)	.off = offsetof(struct st, a), \
			.size = offsetof(struct st, b) + \
			    sizeof(((struct st *)0)->b) - offsetof(struct st, a)
#define G(f)	F(conf, f)
#define S(f)	F(conf_source, f)
#define D(f)	F(conf_domain, f)
#define V(f)	F(conf_vmta, f)
#define P(f)	F(conf_pool, f)
#define A(f)	F(acctw_file, f)

#define TBOOL(n, sc, dflt, fld, h) \
	{ .name = n, .scopes = sc, .type = CT_BOOL, .def = dflt, fld, .help = h }
#define TINT(n, sc, dflt, lo, hi, fld, h) \
	{ .name = n, .scopes = sc, .type = CT_INT, .def = dflt, .min = lo, \
	  .max = hi, fld, .help = h }
#define TTIME(n, sc, dflt, fl, fld, h) \
	{ .name = n, .scopes = sc, .type = CT_TIME, .def = dflt, .flags = fl, \
	  fld, .help = h }
#define TRATE(n, sc, dflt, fld, h) \
	{ .name = n, .scopes = sc, .type = CT_RATE, .def = dflt, fld, .help = h }
#define TSTR(n, sc, fl, fld, h) \
	{ .name = n, .scopes = sc, .type = CT_STR, .flags = fl, fld, .help = h }
#define TFN(n, sc, dflt, f, fld, h) \
	{ .name = n, .scopes = sc, .type = CT_FN, .def = dflt, .fn = f, fld, \
	  .help = h }
#define TBLK(n, sc, fl, h) \
	{ .name = n, .scopes = sc, .type = CT_BLOCK, .flags = fl, .help = h }
#define TALIAS(n, sc, target) \
	{ .name = n, .scopes = sc, .type = CT_FN, .alias = target, \
	  .help = "Alias of " target "." }

static const struct conf_enum e_date[] = {
	{ "no", CONF_DATE_NO }, { "false", CONF_DATE_NO },
	{ "yes", CONF_DATE_YES }, { "true", CONF_DATE_YES },
	{ "override", CONF_DATE_OVERRIDE }, { NULL, 0 },
};
static const struct conf_enum e_dkim[] = {
	{ "no", CONF_DKIM_NO }, { "false", CONF_DKIM_NO },
	{ "yes", CONF_DKIM_YES }, { "true", CONF_DKIM_YES },
	{ "if-x-dkim-options-present", CONF_DKIM_IF_OPTIONS }, { NULL, 0 },
};
static const struct conf_enum e_canon[] = {
	{ "relaxed", CONF_CANON_RELAXED }, { "simple", CONF_CANON_SIMPLE },
	{ NULL, 0 },
};
static const struct conf_enum e_type[] = {
	{ "smtp", CONF_TYPE_SMTP }, { "discard", CONF_TYPE_DISCARD },
	{ NULL, 0 },
};
static const struct conf_enum e_dkim_alg[] = {
	{ "rsa-sha256", 0 }, { "ed25519-sha256", 1 }, { NULL, 0 },
};

#define BLOCKS_IN_GLOBAL	CS_GLOBAL
#define INCLUDE_SCOPES	(CS_GLOBAL | CS_SOURCE | CS_DOMAIN | CS_VMTA | \
			 CS_POOL | CS_SPL)

const struct conf_directive conf_directives[] = {
	/* ---- blocks ---- */
	TBLK("source", CS_GLOBAL, CF_ARG,
	    "<source CIDR|NAME>: inbound policy by client IP (most specific "
	    "CIDR wins, settings inherited from less specific ones such as "
	    "0/0) or by name ({auth}, {pickup}, smtp-listener source=NAME)."),
	TBLK("domain", CS_GLOBAL | CS_VMTA | CS_POOL, CF_ARG,
	    "<domain PATTERN>: per-queue settings. PATTERN is `*`, `name` "
	    "(exact), `*.name` (subdomains only), `[*.]name` (name and "
	    "subdomains), may use $MACRO. Most specific wins; settings merge "
	    "general to specific; vmta blocks over pool blocks over global."),
	TBLK("virtual-mta", CS_GLOBAL, CF_ARG,
	    "<virtual-mta NAME>: a sending identity (source IPs, host name)."),
	TBLK("virtual-mta-pool", CS_GLOBAL, CF_ARG,
	    "<virtual-mta-pool NAME>: round-robin group of virtual MTAs; "
	    "shares the VMTA namespace."),
	TBLK("acct-file", CS_GLOBAL, CF_ARG,
	    "<acct-file PATH>: a PowerMTA-format accounting CSV file."),
	TBLK("spool", CS_GLOBAL, CF_ARG,
	    "<spool DIR>: the message spool directory (one spool)."),
	TBLK("smtp-pattern-list", CS_GLOBAL, CF_ARG,
	    "<smtp-pattern-list NAME>: `reply /REGEX/ ACTIONS` rules matched "
	    "against remote SMTP replies."),
	TBLK("pattern-list", CS_GLOBAL, CF_ARG,
	    "<pattern-list NAME>: VMTA selection by regex on headers, MAIL "
	    "FROM (whole message) or RCPT TO (that recipient); first match "
	    "wins."),
	TBLK("mx-rollup-list", CS_GLOBAL, 0,
	    "<mx-rollup-list>: `mx HOST NAME.rollup [rollup-by-ip]` lines."),
	TBLK("bounce-category-patterns", CS_GLOBAL, 0,
	    "<bounce-category-patterns>: `/REGEX/ category` lines, tried "
	    "before the built-in patterns."),
	TBLK("smtp-user", CS_GLOBAL, CF_ARG,
	    "<smtp-user NAME>: an SMTP AUTH account."),

	/* ---- global ---- */
	TSTR("host-name", CS_GLOBAL, 0, G(host_name),
	    "Host name for the greeting, Received headers and EHLO "
	    "(default: the system host name)."),
	TINT("host-id", CS_GLOBAL, "0", 0, 65535, G(host_id),
	    "Number that keeps generated Message-Ids unique across servers."),
	TFN("postmaster", CS_GLOBAL, NULL, conf_h_postmaster, G(postmaster),
	    "Postmaster address (repeatable)."),
	TFN("smtp-listener", CS_GLOBAL, NULL, conf_h_listener, G(listeners),
	    "IP:PORT [source=NAME] to accept SMTP on (repeatable; IPv6 as "
	    "[::1]:PORT). None given: 0.0.0.0:25."),
	TFN("smtp-source-host", CS_GLOBAL | CS_VMTA, NULL, conf_h_source_host,
	    G(source_hosts),
	    "IP HOSTNAME: local address to send from and its EHLO name "
	    "(repeatable, used round-robin; IPv4 or IPv6)."),
	TINT("total-max-smtp-out", CS_GLOBAL, "1000", 1, 100000,
	    G(total_max_smtp_out), "Cap on all outbound SMTP connections."),
	TINT("total-max-smtp-in", CS_GLOBAL, "100", 1, 100000,
	    G(total_max_smtp_in), "Cap on all inbound SMTP connections."),
	{ .name = "smtp-in-command-timeout", .scopes = CS_GLOBAL,
	  .type = CT_TIME, .def = "5m", .min = 1, .max = 3600,
	  G(smtp_in_command_timeout), .help = "Sluice: idle time allowed "
	  "between inbound SMTP commands before 421 4.4.2 (1s..1h)." },
	{ .name = "smtp-in-data-timeout", .scopes = CS_GLOBAL,
	  .type = CT_TIME, .def = "5m", .min = 1, .max = 3600,
	  G(smtp_in_data_timeout), .help = "Sluice: idle time allowed "
	  "while receiving message data before 421 4.4.2 (1s..1h)." },
	TINT("smtp-in-max-line-length", CS_GLOBAL, "512", 512, 65536,
	    G(smtp_in_max_line_length), "Sluice: longest inbound SMTP "
	    "command line in bytes with CRLF; longer: 500 5.5.2."),
	TINT("smtp-in-max-data-line-length", CS_GLOBAL, "1000", 1000,
	    1048576, G(smtp_in_max_data_line_length), "Sluice: longest "
	    "message data line in bytes with CRLF; longer: 554 5.6.0 after "
	    "DATA."),
	TINT("smtp-in-max-errors", CS_GLOBAL, "10", 1, 10000,
	    G(smtp_in_max_errors), "Sluice: bad commands per inbound "
	    "connection before 421 4.7.0 closes it."),
	TSTR("log-file", CS_GLOBAL, CF_PATH, G(log_file),
	    "Log file (default: standard error)."),
	TINT("http-mgmt-port", CS_GLOBAL, "8080", 0, 65535, G(http_mgmt_port),
	    "Management HTTP port on loopback; 0 disables it."),
	TFN("http-access", CS_GLOBAL, NULL, conf_h_http_access, G(http_access),
	    "CIDR none|monitor|operator|admin[,deny-logs]: access of TCP "
	    "clients of http-mgmt-port (repeatable, first match wins, "
	    "unmatched: none; monitor reads, operator/admin also command, "
	    "from 127.0.0.1 only; deny-logs has no effect). Without any "
	    "line: reads, and commands from 127.0.0.1."),
	TFN("dns-server", CS_GLOBAL, NULL, conf_h_dns_server, G(dns_server),
	    "Sluice: resolver(s) IP:PORT[,IP:PORT..] instead of "
	    "/etc/resolv.conf (tests)."),
	TSTR("control-socket", CS_GLOBAL, CF_PATH, G(control_socket),
	    "Sluice: unix socket of the `sluice` CLI (default "
	    "SPOOL/sluiced.sock)."),
	TSTR("smtp-server-tls-certificate", CS_GLOBAL, CF_PATH,
	    G(tls_certificate),
	    "Sluice: PEM certificate (chain) for inbound STARTTLS."),
	TSTR("smtp-server-tls-private-key", CS_GLOBAL, CF_PATH,
	    G(tls_private_key), "Sluice: PEM private key for inbound STARTTLS."),
	TSTR("dkim-key-directory", CS_GLOBAL, CF_PATH, G(dkim_key_directory),
	    "Sluice: directory of DOMAIN/SELECTOR.pem keys (sluice dkim "
	    "keygen DOMAIN SELECTOR --dir DIR writes them)."),
	TFN("domain-key", CS_GLOBAL | CS_VMTA | CS_POOL, NULL,
	    conf_h_domain_key, G(dkim_keys),
	    "SELECTOR,DOMAIN|*,FILE: DKIM key (repeatable). VMTA keys first, "
	    "then pool, then global: in the first level with a key whose "
	    "DOMAIN equals or is a parent of the author domain (or is *), the "
	    "first such key's DOMAIN is chosen and every key of that level "
	    "with that DOMAIN signs (e.g. RSA + Ed25519)."),
	TSTR("dkim-esp-domain", CS_GLOBAL, 0, G(dkim_esp_domain),
	    "Sluice: DOMAIN whose key(s) (domain-key or dkim-key-directory) "
	    "add a second, ESP signature to every signed message; also per "
	    "<virtual-mta>/<virtual-mta-pool>."),
	TBOOL("spool-sync", CS_GLOBAL, "yes", G(spool_sync),
	    "Sluice: fdatasync the spool before accepting; `no` is for "
	    "benchmarks only (mail can be lost on a crash)."),
	TFN("include", INCLUDE_SCOPES, NULL, conf_h_include, .off = 0,
	    "FILE: read FILE here (relative to the including file; glob "
	    "patterns allowed; loops are an error)."),
	TFN("domain-macro", CS_GLOBAL, NULL, conf_h_macro, .off = 0,
	    "NAME v1,v2,..: define $NAME for <domain> patterns (may nest; "
	    "define before use)."),

	/* ---- <spool> ---- */
	TBOOL("deliver-only", CS_SPOOL, "no", G(spool_deliver_only),
	    "Deliver what is spooled but accept no new mail into it."),

	/* ---- <source> ---- */
	TBOOL("always-allow-relaying", CS_SOURCE, "no",
	    S(always_allow_relaying),
	    "Accept mail for any recipient domain (feeders)."),
	TBOOL("smtp-service", CS_SOURCE, "yes", S(smtp_service),
	    "Serve SMTP (no: 554 at greeting)."),
	TBOOL("require-auth", CS_SOURCE, "no", S(require_auth),
	    "MAIL FROM needs SMTP AUTH first."),
	TBOOL("allow-starttls", CS_SOURCE, "yes", S(allow_starttls),
	    "Offer STARTTLS (needs smtp-server-tls-certificate)."),
	TBOOL("process-x-virtual-mta", CS_SOURCE, "no",
	    S(process_x_virtual_mta),
	    "Select the VMTA/pool from the X-Virtual-MTA header."),
	TBOOL("retain-x-virtual-mta", CS_SOURCE, "no",
	    S(retain_x_virtual_mta), "Keep the X-Virtual-MTA header."),
	TBOOL("process-x-job", CS_SOURCE, "no", S(process_x_job),
	    "Take the job id from the X-Job (jobid-header) header."),
	TBOOL("retain-x-job", CS_SOURCE, "no", S(retain_x_job),
	    "Keep the job id header."),
	TSTR("jobid-header", CS_SOURCE, 0, S(jobid_header),
	    "Header carrying the job id (default X-Job)."),
	TFN("default-virtual-mta", CS_SOURCE, NULL, conf_h_default_vmta,
	    S(default_virtual_mta),
	    "VMTA or pool for mail from this source."),
	TBOOL("add-received-header", CS_SOURCE, "yes", S(add_received_header),
	    "Add a Received header."),
	TBOOL("hide-message-source", CS_SOURCE, "no", S(hide_message_source),
	    "Leave client name/IP out of the Received header."),
	TBOOL("add-message-id-header", CS_SOURCE, "no",
	    S(add_message_id_header), "Add Message-Id if missing."),
	{ .name = "add-date-header", .scopes = CS_SOURCE, .type = CT_ENUM,
	  .def = "no", .enums = e_date, S(add_date_header),
	  .help = "no|yes|override: add Date if missing (yes) or replace "
	  "it (override)." },
	{ .name = "max-message-size", .scopes = CS_SOURCE, .type = CT_SIZE,
	  .def = "0", S(max_message_size),
	  .help = "Largest accepted message (SIZE), 0 = unlimited." },
	TINT("max-rcpt-per-message", CS_SOURCE, "1000", 1, 1000000,
	    S(max_rcpt_per_message), "Recipients accepted per message."),
	TINT("max-smtp-in", CS_SOURCE, "0", 0, 100000, S(max_smtp_in),
	    "Concurrent connections per client IP; 0 = unlimited."),
	TRATE("max-msg-rate", CS_SOURCE, "unlimited", S(max_msg_rate),
	    "Messages accepted per client IP per time (N/[M]unit)."),
	TBOOL("dkim-sign", CS_SOURCE, "no", S(dkim_sign),
	    "DKIM-sign mail injected from this source."),
	TFN("pattern-list", CS_SOURCE, NULL, conf_h_pattern_list_ref,
	    S(pattern_list), "<pattern-list> used to pick the VMTA."),
	TBOOL("log-connections", CS_SOURCE, "no", S(log_connections),
	    "Log inbound connections."),
	TBOOL("log-commands", CS_SOURCE, "no", S(log_commands),
	    "Log inbound SMTP commands."),

	/* ---- <domain> ---- */
	TINT("max-smtp-out", CS_DOMAIN, "20", 1, 100000, D(max_smtp_out),
	    "Simultaneous connections per queue (domain/vmta)."),
	TINT("backoff-max-smtp-out", CS_DOMAIN, "20", 1, 100000,
	    D(backoff_max_smtp_out), "max-smtp-out in backoff mode."),
	TINT("max-msg-per-connection", CS_DOMAIN, "0", 0, 10000000,
	    D(max_msg_per_connection),
	    "Messages per connection before reconnecting; 0 = no limit."),
	TINT("max-errors-per-connection", CS_DOMAIN, "0", 0, 10000000,
	    D(max_errors_per_connection),
	    "Recipient errors before dropping the connection; 0 = no limit."),
	TINT("max-rcpt-per-message", CS_DOMAIN, "1000", 1, 100000,
	    D(max_rcpt_per_message),
	    "Recipients per SMTP transaction (larger lists are split)."),
	TALIAS("max-rcpt-per-transaction", CS_DOMAIN, "max-rcpt-per-message"),
	TRATE("max-msg-rate", CS_DOMAIN, "unlimited", D(max_msg_rate),
	    "Recipients attempted per time: unlimited, 0 or N/[M]unit "
	    "(e.g. 83/10m)."),
	TRATE("backoff-max-msg-rate", CS_DOMAIN, NULL, D(backoff_max_msg_rate),
	    "max-msg-rate in backoff mode (default: max-msg-rate)."),
	TRATE("max-connect-rate", CS_DOMAIN, "unlimited", D(max_connect_rate),
	    "New connections per time."),
	TRATE("backoff-max-connect-rate", CS_DOMAIN, NULL,
	    D(backoff_max_connect_rate),
	    "max-connect-rate in backoff mode (default: max-connect-rate)."),
	{ .name = "retry-after", .scopes = CS_DOMAIN, .type = CT_TIMELIST,
	  .def = "10m", RANGE(conf_domain, retry_after, nretry_after),
	  .help = "Retry intervals T[,T..] (up to 30; the last repeats)." },
	TTIME("backoff-retry-after", CS_DOMAIN, "1h", 0,
	    D(backoff_retry_after), "Retry interval in backoff mode."),
	TTIME("retry-after-dns-error", CS_DOMAIN, "1m", 0,
	    D(retry_after_dns_error), "Retry interval after a DNS failure."),
	TFN("retry-schedule", CS_DOMAIN, NULL, conf_h_retry_schedule,
	    D(retry_schedule),
	    "Sluice: `exponential first=5m factor=2 max=4h jitter=10%` "
	    "replaces retry-after with min(first*factor^n, max) +- jitter; "
	    "`off` restores retry-after."),
	TTIME("bounce-after", CS_DOMAIN, "4d12h", 0, D(bounce_after),
	    "Bounce messages still undelivered after this long."),
	TFN("bounce-upon-no-mx", CS_DOMAIN, "false", conf_h_no_mx,
	    D(bounce_upon_no_mx),
	    "true|false|never|TIME: bounce when the domain has no MX (TIME: "
	    "only messages queued that long)."),
	TFN("smtp-hosts", CS_DOMAIN, NULL, conf_h_smtp_hosts,
	    RANGE(conf_domain, smtp_hosts, nsmtp_hosts),
	    "Route instead of MX: `a, b; [IP]:PORT; lookup-mx:DOMAIN` "
	    "(`,` same preference, `;` next)."),
	TALIAS("route", CS_DOMAIN, "smtp-hosts"),
	TINT("default-smtp-port", CS_DOMAIN, "25", 1, 65535,
	    D(default_smtp_port), "Port for MX and smtp-hosts without one."),
	TBOOL("use-starttls", CS_DOMAIN, "yes", D(use_starttls),
	    "Use STARTTLS when offered."),
	TBOOL("require-starttls", CS_DOMAIN, "no", D(require_starttls),
	    "Fail delivery if STARTTLS is not available."),
	TTIME("connect-timeout", CS_DOMAIN, "2m", 0, D(connect_timeout),
	    "TCP connect timeout."),
	TTIME("smtp-greeting-timeout", CS_DOMAIN, "5m", 0,
	    D(smtp_greeting_timeout), "Wait for the 220 greeting."),
	{ .name = "connection-idle-timeout", .scopes = CS_DOMAIN,
	  .type = CT_TIME, .def = "0", .max = 600,
	  D(connection_idle_timeout), .help = "Keep an outbound connection "
	  "with nothing to send open that long for more mail (0 = QUIT "
	  "at once; at most 10m)." },
	TTIME("data-send-timeout", CS_DOMAIN, "3m", 0, D(data_send_timeout),
	    "Inactivity timeout while sending DATA."),
	TTIME("smtp-data-termination-timeout", CS_DOMAIN, "10m", 0,
	    D(smtp_data_termination_timeout),
	    "Wait for the reply to the final dot."),
	TFN("smtp-pattern-list", CS_DOMAIN, NULL, conf_h_spl_ref,
	    D(smtp_pattern_list), "<smtp-pattern-list> applied to replies."),
	TTIME("backoff-to-normal-after", CS_DOMAIN, "never", CF_NEVER,
	    D(backoff_to_normal_after),
	    "Leave backoff mode after this long (never)."),
	TBOOL("backoff-to-normal-after-delivery", CS_DOMAIN, "no",
	    D(backoff_to_normal_after_delivery),
	    "Leave backoff mode after a successful delivery."),
	{ .name = "dkim-sign", .scopes = CS_DOMAIN, .type = CT_ENUM,
	  .def = "no", .enums = e_dkim, D(dkim_sign),
	  .help = "yes|no|if-x-dkim-options-present: DKIM-sign mail to "
	  "this domain." },
	{ .name = "dkim-algorithm", .scopes = CS_DOMAIN, .type = CT_STR,
	  .def = "rsa-sha256", .enums = e_dkim_alg, D(dkim_algorithm),
	  .help = "rsa-sha256|ed25519-sha256: accepted for PowerMTA "
	  "compatibility and not used: each key signs with its own "
	  "algorithm (RSA key: rsa-sha256, Ed25519 key: ed25519-sha256)." },
	{ .name = "dkim-headers-canon", .scopes = CS_DOMAIN, .type = CT_ENUM,
	  .def = "relaxed", .enums = e_canon, D(dkim_headers_canon),
	  .help = "relaxed|simple header canonicalisation." },
	{ .name = "dkim-body-canon", .scopes = CS_DOMAIN, .type = CT_ENUM,
	  .def = "relaxed", .enums = e_canon, D(dkim_body_canon),
	  .help = "relaxed|simple body canonicalisation." },
	TSTR("dkim-headers", CS_DOMAIN, 0, D(dkim_headers),
	    "Colon-separated headers to sign (default list if unset)."),
	TFN("dkim-identity", CS_DOMAIN, "sender-or-from",
	    conf_h_dkim_identity, D(dkim_identity),
	    "sender-or-from|from|[LOCAL]@DOMAIN: which domain's keys sign. "
	    "sender-or-from: the Sender header's domain, else From's; from: "
	    "From's only (both: no i=, envelope sender if the header is "
	    "missing). An address: its domain, and it becomes i=."),
	TTIME("dkim-expire-after", CS_DOMAIN, "never", CF_NEVER,
	    D(dkim_expire_after), "DKIM x= = t= + this (never: no x=)."),
	TSTR("queue-to", CS_DOMAIN, 0, D(queue_to),
	    "Put this domain's mail in the queue NAME/vmta, which takes its "
	    "settings and smtp-hosts from <domain NAME> (without "
	    "smtp-hosts there: ignored, logged)."),
	TFN("reroute-to-virtual-mta", CS_DOMAIN, NULL, conf_h_reroute,
	    D(reroute_to_vmta),
	    "NAME: move this queue's mail to the queue of the same domain "
	    "in virtual-mta (or pool) NAME, which then delivers it (vmta, "
	    "queue and vmtaPool of its records are NAME's). A pool picks a "
	    "member per message; a member already the queue's own stays. "
	    "Loops (counting backoff-reroute-to-virtual-mta too) are "
	    "refused at load."),
	TFN("backoff-reroute-to-virtual-mta", CS_DOMAIN, NULL,
	    conf_h_reroute, D(backoff_reroute_to_vmta),
	    "NAME: like reroute-to-virtual-mta, only while the queue is in "
	    "backoff mode: its ready mail moves when backoff starts, mail "
	    "arriving or retried during backoff goes to NAME, mail already "
	    "moved stays there."),
	TBOOL("disable-mx-rollup", CS_DOMAIN, "no", D(disable_mx_rollup),
	    "Never roll this domain into an <mx-rollup-list> queue."),
	{ .name = "type", .scopes = CS_DOMAIN, .type = CT_ENUM, .def = "smtp",
	  .enums = e_type, D(type),
	  .help = "smtp|discard: deliver, or accept and drop (records d)." },
	TINT("queue-priority", CS_DOMAIN, "50", 0, 100, D(queue_priority),
	    "Relative queue priority (0..100)."),
	TBOOL("log-connections", CS_DOMAIN, "no", D(log_connections),
	    "Log outbound connections."),
	TBOOL("log-commands", CS_DOMAIN, "no", D(log_commands),
	    "Log outbound SMTP commands and replies."),
	TBOOL("log-resolution", CS_DOMAIN, "no", D(log_resolution),
	    "Log DNS resolution."),

	/* ---- <virtual-mta> / <virtual-mta-pool> ---- */
	TSTR("host-name", CS_VMTA, 0, V(host_name),
	    "EHLO name for this VMTA (default: source host name)."),
	TINT("max-smtp-out", CS_VMTA, "0", 0, 100000, V(max_smtp_out),
	    "Connections across all queues of the VMTA; 0 = unlimited."),
	TRATE("max-smtp-msg-rate", CS_VMTA, "unlimited", V(max_smtp_msg_rate),
	    "Messages per time across the VMTA."),
	TSTR("dkim-esp-domain", CS_VMTA, 0, V(dkim_esp_domain),
	    "Sluice: ESP signing domain for mail through this VMTA."),
	TSTR("dkim-esp-domain", CS_POOL, 0, P(dkim_esp_domain),
	    "Sluice: ESP signing domain for mail through this pool."),
	TFN("virtual-mta", CS_POOL, NULL, conf_h_member, .off = 0,
	    "NAME: pool member (a <virtual-mta>; repeatable)."),
	TINT("max-smtp-out", CS_POOL, "0", 0, 100000, P(max_smtp_out),
	    "Connections across all queues of the pool's members (on top of "
	    "each member's own limit); 0 = unlimited."),
	TRATE("max-smtp-msg-rate", CS_POOL, "unlimited", P(max_smtp_msg_rate),
	    "Messages per time across all queues of the pool's members."),

	/* ---- <acct-file> ---- */
	TFN("records", CS_ACCT, "d,b", conf_h_records, A(records),
	    "Record types: d,b,t,tq,r,f,rb,rs (or long names)."),
	TFN("record-fields", CS_ACCT, NULL, conf_h_record_fields,
	    A(record_fields),
	    "TYPE FIELDS: `*`, names, header_X, !name (e.g. "
	    "`d *,header_Message-Id`)."),
	{ .name = "max-size", .scopes = CS_ACCT, .type = CT_SIZE,
	  .def = "250M", .min = 1024 * 1024, .max = 0, A(max_size),
	  .help = "Start a new file at this size (minimum 1M)." },
	TTIME("move-interval", CS_ACCT, "1d", 0, A(move_interval),
	    "Move the file to move-to this often."),
	TSTR("move-to", CS_ACCT, CF_PATH, A(move_to),
	    "Directory finished files are moved to (same file system)."),
	TTIME("delete-after", CS_ACCT, "8d", CF_NEVER, A(delete_after),
	    "Delete rotated files this old (without move-to); never."),
	TBOOL("iso-times", CS_ACCT, "yes", A(iso_times),
	    "ISO 8601 times (no: unix seconds)."),
	TBOOL("sync", CS_ACCT, "no", A(sync), "fdatasync after each batch."),

	/* ---- lists ---- */
	TFN("reply", CS_SPL, NULL, conf_h_reply, .off = 0,
	    "/REGEX/ ACTION[,..]: mode=backoff|normal, "
	    "backoff-to-normal-after=T, skip-mx, bounce-rcpt, bounce-queue, "
	    "disable-source-ip, reenable-after=T, defer-queue. Caseless; "
	    "first match wins."),
	TFN("header", CS_PL, NULL, conf_h_pattern, .off = 0,
	    "NAME /REGEX/ virtual-mta=X|recipient-priority=N (the message's "
	    "vmta; recipient-priority is accepted and ignored, logged)"),
	TFN("mail-from", CS_PL, NULL, conf_h_pattern, .off = 0,
	    "/REGEX/ virtual-mta=X|recipient-priority=N (the message's "
	    "vmta)"),
	TFN("rcpt-to", CS_PL, NULL, conf_h_pattern, .off = 0,
	    "/REGEX/ virtual-mta=X|recipient-priority=N (the vmta of each "
	    "matching recipient only)"),
	TFN("mx", CS_ROLLUP, NULL, conf_h_mx, .off = 0,
	    "HOST NAME.rollup [rollup-by-ip]: roll domains whose primary MX "
	    "is HOST (may be *.suffix) into one queue, which delivers to a "
	    "member domain's MX hosts. rollup-by-ip is accepted and has no "
	    "effect of its own (logged)."),
	TFN("password", CS_USER, NULL, conf_h_user_password, .off = 0,
	    "The account's password."),
	TFN("source", CS_USER, NULL, conf_h_user_source, .off = 0,
	    "<source> name applied after AUTH (default {auth})."),
};

const size_t conf_ndirectives =
    sizeof(conf_directives) / sizeof(conf_directives[0]);

_Static_assert(sizeof(conf_directives) / sizeof(conf_directives[0]) <=
    64 * CONF_SETBITS, "too many directives for the set bitmap");

const struct conf_directive *
conf_directive_find(const char *name, unsigned scope, int *known)
{
	*known = 0;
	for (size_t i = 0; i < conf_ndirectives; i++) {
		const struct conf_directive *d = &conf_directives[i];

		if (strcasecmp(d->name, name) != 0)
			continue;
		*known = 1;
		if ((d->scopes & scope) == 0)
			continue;
		if (d->alias != NULL)
			return conf_directive_find(d->alias, scope, known);
		return d;
	}
	return NULL;
}

int
conf_directive_index(const struct conf_directive *d)
{
	return (int)(d - conf_directives);
}

const char *
conf_scope_name(unsigned scope)
{
	switch (scope) {
	case CS_GLOBAL: return "global";
	case CS_SOURCE: return "<source>";
	case CS_DOMAIN: return "<domain>";
	case CS_VMTA: return "<virtual-mta>";
	case CS_POOL: return "<virtual-mta-pool>";
	case CS_ACCT: return "<acct-file>";
	case CS_SPOOL: return "<spool>";
	case CS_SPL: return "<smtp-pattern-list>";
	case CS_PL: return "<pattern-list>";
	case CS_ROLLUP: return "<mx-rollup-list>";
	case CS_BOUNCE: return "<bounce-category-patterns>";
	case CS_USER: return "<smtp-user>";
	default: return "?";
	}
}
