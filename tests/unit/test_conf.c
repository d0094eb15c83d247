/*
 * test_conf.c -- config semantics: defaults, <domain> precedence and
 * merging (the User's Guide example), macros, vmta/pool inheritance,
 * <source> CIDR selection, includes, lists, the example config, reload,
 * and the generated directive docs.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "smtpd/smtpd.h"

static char err[1024];

static struct conf *
load_str(const char *text)
{
	struct conf *c = conf_load_string("test.conf", text, err, sizeof(err));

	if (c == NULL)
		fail_msg("load failed: %s", err);
	return c;
}

static char *
src_path(const char *rel)
{
	const char *src = getenv("SLUICE_SRC");
	char *p;

	if (src == NULL)
		src = ".";
	p = malloc(strlen(src) + strlen(rel) + 2);
	assert_non_null(p);
	sprintf(p, "%s/%s", src, rel);
	return p;
}

static void
test_defaults(void **state)
{
	struct conf *c = load_str("");
	const struct conf_domain *d = conf_domain_lookup(c, NULL, "x.test");
	const struct conf_source *s = conf_source_lookup(c, NULL, NULL);

	(void)state;
	assert_int_equal(d->max_smtp_out, 20);
	assert_int_equal(d->backoff_max_smtp_out, 20);
	assert_int_equal(d->max_msg_per_connection, 0);
	assert_int_equal(d->max_errors_per_connection, 0);
	assert_int_equal(d->max_rcpt_per_message, 1000);
	assert_true(conf_rate_unlimited(&d->max_msg_rate));
	assert_true(conf_rate_unlimited(&d->backoff_max_msg_rate));
	assert_int_equal(d->nretry_after, 1);
	assert_int_equal(d->retry_after[0], 600);
	assert_int_equal(d->backoff_retry_after, 3600);
	assert_int_equal(d->retry_after_dns_error, 60);
	assert_int_equal(d->bounce_after, 4 * 86400 + 12 * 3600);
	assert_int_equal(d->bounce_upon_no_mx, CONF_NEVER);
	assert_int_equal(d->default_smtp_port, 25);
	assert_int_equal(d->use_starttls, 1);
	assert_int_equal(d->require_starttls, 0);
	assert_int_equal(d->connect_timeout, 120);
	assert_int_equal(d->smtp_greeting_timeout, 300);
	assert_int_equal(d->data_send_timeout, 180);
	assert_int_equal(d->smtp_data_termination_timeout, 600);
	assert_int_equal(d->backoff_to_normal_after, CONF_NEVER);
	assert_int_equal(d->dkim_sign, CONF_DKIM_NO);
	assert_string_equal(d->dkim_algorithm, "rsa-sha256");
	assert_int_equal(d->dkim_expire_after, CONF_NEVER);
	assert_int_equal(d->queue_priority, 50);
	assert_int_equal(d->type, CONF_TYPE_SMTP);
	assert_null(d->smtp_hosts);
	assert_false(d->retry_schedule.enabled);
	assert_int_equal(c->total_max_smtp_out, 1000);
	assert_int_equal(c->total_max_smtp_in, 100);
	assert_int_equal(c->http_mgmt_port, 8080);
	assert_int_equal(c->spool_sync, 1);
	assert_int_equal(c->nlisteners, 1);
	assert_string_equal(c->listeners[0].addr, "0.0.0.0");
	assert_int_equal(c->listeners[0].port, 25);
	assert_string_equal(c->spool_dir, "/var/spool/sluice");
	assert_string_equal(c->control_socket, "/var/spool/sluice/sluiced.sock");
	assert_non_null(c->host_name);
	assert_int_equal(s->smtp_service, 1);
	assert_int_equal(s->always_allow_relaying, 0);
	assert_int_equal(s->add_received_header, 1);
	assert_int_equal(s->allow_starttls, 1);
	assert_int_equal(s->max_rcpt_per_message, 1000);
	assert_int_equal(s->max_message_size, 0);
	conf_free(c);
}

/* PowerMTA User's Guide §3.2 example, written specific-first to show that
 * file order does not matter. */
static void
test_domain_precedence(void **state)
{
	struct conf *c = load_str(
	    "<domain discard.port25.com>\n bounce-after 1h\n</domain>\n"
	    "<domain *.port25.com>\n log-commands yes\n</domain>\n"
	    "<domain [*.]port25.com>\n bounce-after 4d\n</domain>\n"
	    "<domain *>\n bounce-after 2d\n max-smtp-out 9\n</domain>\n");
	const struct conf_domain *d;

	(void)state;
	d = conf_domain_lookup(c, NULL, "discard.port25.com");
	assert_int_equal(d->bounce_after, 3600);
	assert_int_equal(d->log_commands, 1);
	assert_int_equal(d->max_smtp_out, 9);
	assert_string_equal(d->pattern, "discard.port25.com");
	d = conf_domain_lookup(c, NULL, "DISCARD.Port25.COM.");
	assert_int_equal(d->bounce_after, 3600);
	d = conf_domain_lookup(c, NULL, "port25.com");
	assert_int_equal(d->bounce_after, 4 * 86400);
	assert_int_equal(d->log_commands, 0);
	assert_string_equal(d->pattern, "[*.]port25.com");
	d = conf_domain_lookup(c, NULL, "mail.port25.com");
	assert_int_equal(d->bounce_after, 4 * 86400);
	assert_int_equal(d->log_commands, 1);
	assert_string_equal(d->pattern, "*.port25.com");
	d = conf_domain_lookup(c, NULL, "notport25.com");
	assert_int_equal(d->bounce_after, 2 * 86400);
	assert_int_equal(d->log_commands, 0);
	d = conf_domain_lookup(c, NULL, "other.org");
	assert_int_equal(d->bounce_after, 2 * 86400);
	assert_int_equal(d->max_smtp_out, 9);
	/* cached: same pointer for the same matching blocks */
	assert_ptr_equal(conf_domain_lookup(c, NULL, "a.port25.com"),
	    conf_domain_lookup(c, NULL, "b.port25.com"));
	conf_free(c);
}

static void
test_domain_values(void **state)
{
	struct conf *c = load_str(
	    "<domain r.test>\n"
	    " smtp-hosts a.test, b.test:2525; [10.1.1.1]:26; lookup-mx:o.test\n"
	    " retry-after 10m,10m,1h,4h\n"
	    " max-msg-rate 83/10m\n max-connect-rate 5/min\n"
	    " backoff-max-connect-rate 1/min\n"
	    " bounce-upon-no-mx 2h\n max-rcpt-per-transaction 50\n"
	    " retry-schedule exponential first=1m factor=3 max=2h jitter=5%\n"
	    " dkim-sign if-x-dkim-options-present\n dkim-body-canon simple\n"
	    " queue-to \"big.queue\"\n type discard\n"
	    "</domain>\n<domain route.test>\n route x.test\n"
	    " bounce-upon-no-mx true\n</domain>\n");
	const struct conf_domain *d = conf_domain_lookup(c, "{default}",
	    "r.test");

	(void)state;
	assert_int_equal(d->nsmtp_hosts, 4);
	assert_string_equal(d->smtp_hosts[0].host, "a.test");
	assert_int_equal(d->smtp_hosts[0].level, 0);
	assert_string_equal(d->smtp_hosts[1].host, "b.test");
	assert_int_equal(d->smtp_hosts[1].port, 2525);
	assert_int_equal(d->smtp_hosts[1].level, 0);
	assert_string_equal(d->smtp_hosts[2].host, "10.1.1.1");
	assert_true(d->smtp_hosts[2].literal);
	assert_int_equal(d->smtp_hosts[2].port, 26);
	assert_int_equal(d->smtp_hosts[2].level, 1);
	assert_true(d->smtp_hosts[3].lookup_mx);
	assert_string_equal(d->smtp_hosts[3].host, "o.test");
	assert_int_equal(d->nretry_after, 4);
	assert_int_equal(d->retry_after[3], 4 * 3600);
	assert_int_equal(d->max_msg_rate.n, 83);
	assert_int_equal(d->backoff_max_msg_rate.per, 600); /* inherits */
	assert_int_equal(d->backoff_max_connect_rate.n, 1);
	assert_int_equal(d->bounce_upon_no_mx, 7200);
	assert_int_equal(d->max_rcpt_per_message, 50);
	assert_true(d->retry_schedule.enabled);
	assert_int_equal(d->retry_schedule.first, 60);
	assert_true(d->retry_schedule.factor == 3.0);
	assert_int_equal(d->retry_schedule.max, 7200);
	assert_int_equal(d->retry_schedule.jitter_pct, 5);
	assert_int_equal(d->dkim_sign, CONF_DKIM_IF_OPTIONS);
	assert_int_equal(d->dkim_body_canon, CONF_CANON_SIMPLE);
	assert_int_equal(d->dkim_headers_canon, CONF_CANON_RELAXED);
	assert_string_equal(d->queue_to, "big.queue");
	assert_int_equal(d->type, CONF_TYPE_DISCARD);
	d = conf_domain_lookup(c, NULL, "route.test");
	assert_int_equal(d->nsmtp_hosts, 1);
	assert_string_equal(d->smtp_hosts[0].host, "x.test");
	assert_int_equal(d->bounce_upon_no_mx, 0);
	conf_free(c);
}

static void
test_macros(void **state)
{
	struct conf *c = load_str(
	    "domain-macro com aol.com, aim.com\n"
	    "domain-macro tld com,net\n"
	    "domain-macro nest yahoo.$tld, other.org\n"
	    "<domain aol.com>\n max-smtp-out 100\n</domain>\n"
	    "<domain $com>\n max-smtp-out 50\n bounce-after 1d\n</domain>\n"
	    "<domain yahoo.$tld>\n max-smtp-out 7\n</domain>\n"
	    "<domain [*.]$nest>\n queue-priority 9\n</domain>\n");
	const struct conf_domain *d;

	(void)state;
	d = conf_domain_lookup(c, NULL, "aol.com");
	assert_int_equal(d->max_smtp_out, 100);	/* explicit beats macro */
	assert_int_equal(d->bounce_after, 86400); /* merged from macro */
	d = conf_domain_lookup(c, NULL, "aim.com");
	assert_int_equal(d->max_smtp_out, 50);
	d = conf_domain_lookup(c, NULL, "yahoo.net");
	assert_int_equal(d->max_smtp_out, 7);
	assert_int_equal(d->queue_priority, 9);	/* [*.]yahoo.net */
	d = conf_domain_lookup(c, NULL, "yahoo.org");
	assert_int_equal(d->max_smtp_out, 20);
	assert_int_equal(d->queue_priority, 50);
	d = conf_domain_lookup(c, NULL, "x.yahoo.com");
	assert_int_equal(d->max_smtp_out, 20);
	assert_int_equal(d->queue_priority, 9);
	d = conf_domain_lookup(c, NULL, "other.org");
	assert_int_equal(d->queue_priority, 9);
	conf_free(c);
}

static const char *vmta_conf =
    "<domain *>\n max-smtp-out 30\n bounce-after 3d\n</domain>\n"
    "<domain gmail.com>\n max-msg-rate 100/h\n</domain>\n"
    "<virtual-mta v1>\n smtp-source-host 10.0.0.1 a.test\n"
    " smtp-source-host 2001:db8::1 a6.test\n"
    " domain-key s1,example.com,/k/v1.pem\n"
    " <domain gmail.com>\n  max-smtp-out 3\n </domain>\n</virtual-mta>\n"
    "<virtual-mta v2>\n smtp-source-host 10.0.0.2 b.test\n</virtual-mta>\n"
    "<virtual-mta v3>\n smtp-source-host 10.0.0.3 c.test\n</virtual-mta>\n"
    "<virtual-mta-pool p1>\n virtual-mta v1\n virtual-mta v2\n"
    " domain-key p,*,/k/pool.pem\n"
    " <domain *>\n  max-smtp-out 8\n  retry-after 5m\n </domain>\n"
    " <domain [*.]gmail.com>\n  max-msg-rate 50/h\n </domain>\n"
    "</virtual-mta-pool>\n"
    "<virtual-mta-pool p2>\n virtual-mta v1\n virtual-mta v3\n"
    "</virtual-mta-pool>\n"
    "domain-key g,example.com,/k/global.pem\n"
    "domain-key g2,other.org,/k/g2.pem\n";

static void
test_vmta_pool(void **state)
{
	struct conf *c = load_str(vmta_conf);
	const struct conf_domain *d;
	const struct conf_vmta *v;
	const struct conf_pool *p;

	(void)state;
	d = conf_domain_lookup(c, "v1", "gmail.com");
	assert_int_equal(d->max_smtp_out, 3);		/* vmta */
	assert_int_equal(d->max_msg_rate.n, 50);	/* pool */
	assert_int_equal(d->retry_after[0], 300);	/* pool * */
	assert_int_equal(d->bounce_after, 3 * 86400);	/* global */
	d = conf_domain_lookup(c, "v2", "gmail.com");
	assert_int_equal(d->max_smtp_out, 8);
	assert_int_equal(d->max_msg_rate.n, 50);
	d = conf_domain_lookup(c, "v3", "gmail.com");	/* p2: no blocks */
	assert_int_equal(d->max_smtp_out, 30);
	assert_int_equal(d->max_msg_rate.n, 100);
	d = conf_domain_lookup(c, NULL, "gmail.com");
	assert_int_equal(d->max_smtp_out, 30);
	assert_int_equal(d->max_msg_rate.n, 100);
	d = conf_domain_lookup(c, "p1", "yahoo.com");
	assert_int_equal(d->max_smtp_out, 8);
	d = conf_domain_lookup(c, "nosuch", "yahoo.com");
	assert_int_equal(d->max_smtp_out, 30);
	v = conf_vmta_find(c, "V1");
	assert_non_null(v);
	assert_int_equal(v->nsource_hosts, 2);
	assert_int_equal(v->source_hosts[0].addr.ss_family, AF_INET);
	assert_int_equal(v->source_hosts[1].addr.ss_family, AF_INET6);
	assert_string_equal(v->source_hosts[1].host, "a6.test");
	p = conf_pool_find(c, "p1");
	assert_non_null(p);
	assert_int_equal(p->nmembers, 2);
	assert_ptr_equal(p->members[1], conf_vmta_find(c, "v2"));
	assert_null(conf_pool_find(c, "v1"));
	/* DKIM keys per level (which one signs: src/daemon/dkim_cache.c) */
	assert_int_equal(v->ndkim_keys, 1);
	assert_string_equal(v->dkim_keys[0].path, "/k/v1.pem");
	assert_string_equal(v->dkim_keys[0].selector, "s1");
	assert_int_equal(p->ndkim_keys, 1);
	assert_string_equal(p->dkim_keys[0].domain, "*");
	assert_int_equal(c->ndkim_keys, 2);
	assert_string_equal(c->dkim_keys[1].domain, "other.org");
	assert_int_equal(conf_vmta_find(c, "v2")->ndkim_keys, 0);
	assert_int_equal(conf_dkim_check_scopes(c, 0, NULL, 0), 0);
	conf_free(c);
}

/* dkim-sign yes where no key can ever apply is a config error. */
static void
test_dkim_scopes(void **state)
{
	static const struct {
		const char	*text;
		size_t		 dir_keys;
		const char	*err;	/* NULL: fine */
	} cases[] = {
		{ "<domain *>\n dkim-sign yes\n</domain>\n", 0,
		  "test.conf: <domain *>: dkim-sign yes, but no DKIM key" },
		{ "<domain *>\n dkim-sign yes\n</domain>\n", 1, NULL },
		{ "<source 10/8>\n dkim-sign yes\n</source>\n", 0,
		  "test.conf: <source 10/8>: dkim-sign yes" },
		{ "<domain *>\n dkim-sign if-x-dkim-options-present\n"
		  "</domain>\n", 0, NULL },
		{ "<domain *>\n dkim-sign yes\n</domain>\n"
		  "<virtual-mta v>\n domain-key s,*,/k.pem\n</virtual-mta>\n",
		  0, NULL },
		{ "<virtual-mta a>\n domain-key s,x.test,/k.pem\n"
		  "</virtual-mta>\n<virtual-mta b>\n <domain ok.test>\n"
		  "  dkim-sign yes\n </domain>\n</virtual-mta>\n", 0,
		  "test.conf: <virtual-mta b> <domain ok.test>: dkim-sign yes" },
		{ "<virtual-mta a>\n</virtual-mta>\n<virtual-mta-pool p>\n"
		  " virtual-mta a\n domain-key s,x.test,/k.pem\n"
		  "</virtual-mta-pool>\n<virtual-mta a2>\n <domain *>\n"
		  "  dkim-sign yes\n </domain>\n</virtual-mta>\n", 0,
		  "<virtual-mta a2> <domain *>" },
		{ "<virtual-mta a>\n <domain *>\n  dkim-sign yes\n"
		  " </domain>\n</virtual-mta>\n<virtual-mta-pool p>\n"
		  " virtual-mta a\n domain-key s,x.test,/k.pem\n"
		  "</virtual-mta-pool>\n", 0, NULL },
		{ "<virtual-mta a>\n</virtual-mta>\n<virtual-mta-pool p>\n"
		  " virtual-mta a\n <domain *>\n  dkim-sign yes\n"
		  " </domain>\n</virtual-mta-pool>\n", 0,
		  "<virtual-mta-pool p> <domain *>" },
		{ "<virtual-mta a>\n</virtual-mta>\n<virtual-mta-pool p>\n"
		  " virtual-mta a\n <domain *>\n  dkim-sign yes\n"
		  " </domain>\n</virtual-mta-pool>\n"
		  "domain-key s,x.test,/k.pem\n", 0, NULL },
	};
	struct conf *c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[512] = "";
		int rc;

		c = load_str(cases[i].text);
		rc = conf_dkim_check_scopes(c, cases[i].dir_keys, msg,
		    sizeof(msg));
		if (cases[i].err == NULL)
			assert_int_equal(rc, 0);
		else {
			assert_int_equal(rc, -1);
			if (strstr(msg, cases[i].err) == NULL)
				fail_msg("case %zu: %s", i, msg);
		}
		conf_free(c);
	}
	/* dkim-identity: keywords normalised, addresses kept */
	c = load_str("<domain a.test>\n dkim-identity FROM\n</domain>\n"
	    "<domain b.test>\n dkim-identity @esp.test\n</domain>\n");
	assert_string_equal(conf_domain_lookup(c, NULL, "x.test")->dkim_identity,
	    "sender-or-from");
	assert_string_equal(conf_domain_lookup(c, NULL, "a.test")->dkim_identity,
	    "from");
	assert_string_equal(conf_domain_lookup(c, NULL, "b.test")->dkim_identity,
	    "@esp.test");
	conf_free(c);
}

static const struct sockaddr *
ip(struct sockaddr_storage *ss, const char *s)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(s, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, s, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, s, &s4->sin_addr), 1);
	}
	return (const struct sockaddr *)ss;
}

static void
test_sources(void **state)
{
	struct conf *c = load_str(
	    "smtp-listener 127.0.0.1:0 source=feeder\n"
	    "smtp-listener [::1]:2525\n"
	    "<source 10.1.2.3>\n smtp-service no\n</source>\n"
	    "<source 10.1.0.0/16>\n process-x-virtual-mta yes\n</source>\n"
	    "<source 10/8>\n always-allow-relaying yes\n"
	    " max-rcpt-per-message 50\n default-virtual-mta v1\n</source>\n"
	    "<source 0/0>\n max-message-size 10M\n</source>\n"
	    "<source ::1>\n require-auth yes\n</source>\n"
	    "<source feeder>\n hide-message-source yes\n"
	    " add-date-header override\n jobid-header X-Campaign\n</source>\n"
	    "<virtual-mta v1>\n</virtual-mta>\n");
	struct sockaddr_storage ss;
	const struct conf_source *s;
	struct smtpd_policy pol;

	(void)state;
	s = conf_source_lookup(c, ip(&ss, "10.1.2.3"), NULL);
	assert_string_equal(s->name, "10.1.2.3");
	assert_int_equal(s->smtp_service, 0);
	assert_int_equal(s->process_x_virtual_mta, 1);
	assert_int_equal(s->always_allow_relaying, 1);
	assert_int_equal(s->max_rcpt_per_message, 50);
	assert_int_equal(s->max_message_size, 10 * 1024 * 1024);
	s = conf_source_lookup(c, ip(&ss, "10.1.9.9"), NULL);
	assert_int_equal(s->smtp_service, 1);
	assert_int_equal(s->process_x_virtual_mta, 1);
	s = conf_source_lookup(c, ip(&ss, "10.9.9.9"), NULL);
	assert_int_equal(s->process_x_virtual_mta, 0);
	assert_int_equal(s->always_allow_relaying, 1);
	assert_string_equal(s->default_virtual_mta, "v1");
	s = conf_source_lookup(c, ip(&ss, "::ffff:10.9.9.9"), NULL);
	assert_int_equal(s->always_allow_relaying, 1);
	s = conf_source_lookup(c, ip(&ss, "192.0.2.1"), NULL);
	assert_int_equal(s->always_allow_relaying, 0);
	assert_int_equal(s->max_message_size, 10 * 1024 * 1024);
	s = conf_source_lookup(c, ip(&ss, "::1"), NULL);
	assert_int_equal(s->require_auth, 1);
	assert_int_equal(s->max_message_size, 10 * 1024 * 1024);
	s = conf_source_lookup(c, ip(&ss, "10.1.2.3"), c->listeners[0].source);
	assert_string_equal(s->name, "feeder");
	assert_int_equal(s->hide_message_source, 1);
	assert_int_equal(s->smtp_service, 1);
	assert_int_equal(s->always_allow_relaying, 0);
	assert_int_equal(s->max_message_size, 10 * 1024 * 1024);
	conf_source_to_policy(s, &pol);
	assert_int_equal(pol.hide_message_source, 1);
	assert_int_equal(pol.add_date_header, CONF_DATE_OVERRIDE);
	assert_int_equal(pol.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(pol.max_rcpt_per_message, 1000);
	assert_string_equal(pol.jobid_header, "X-Campaign");
	assert_int_equal(pol.add_received_header, 1);
	assert_null(conf_source_find(c, "nosuch"));
	assert_string_equal(c->listeners[1].addr, "::1");
	assert_int_equal(c->listeners[1].port, 2525);
	assert_null(c->listeners[1].source);
	conf_free(c);
}

static void
test_include(void **state)
{
	char *path = src_path("tests/data/conf/include/main.conf");
	struct conf *c = conf_load(path, err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->host_name, "included.example.test");
	assert_int_equal(c->total_max_smtp_in, 42);
	assert_non_null(conf_vmta_find(c, "ga"));
	assert_non_null(conf_vmta_find(c, "gb"));
	assert_int_equal(conf_domain_lookup(c, NULL, "x.test")->max_smtp_out, 7);
	conf_free(c);
	free(path);
}

static void
test_include_errors(void **state)
{
	char *path = src_path("tests/data/conf/loop/a.conf");

	(void)state;
	assert_null(conf_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "loop/b.conf:3: include loop"));
	free(path);
	path = src_path("tests/data/conf/loop/incl-unterminated.conf");
	assert_null(conf_load(path, err, sizeof(err)));
	assert_non_null(strstr(err,
	    "loop/unterminated.conf:1: unterminated <virtual-mta> block"));
	free(path);
	assert_null(conf_load("/nonexistent/sluice.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/sluice.conf"));
	assert_null(conf_load_string("m.conf", "\n\ninclude /nonexistent.conf\n",
	    err, sizeof(err)));
	assert_non_null(strstr(err, "m.conf:3: cannot open /nonexistent.conf"));
}

static void
test_lists(void **state)
{
	struct conf *c = load_str(
	    "<smtp-pattern-list bl>\n"
	    " reply /too many connections/ mode=backoff\n"
	    " reply /(?-i)CaseSensitive/ skip-mx\n"
	    " reply /error \\x23 42/ defer-queue\n"
	    " reply /disabled ip/ disable-source-ip,reenable-after=30m\n"
	    " reply /spamhaus/ mode=backoff,backoff-to-normal-after=1h\n"
	    "</smtp-pattern-list>\n"
	    "<domain *>\n smtp-pattern-list bl\n</domain>\n"
	    "<pattern-list sel>\n"
	    " mail-from /@bulk\\.example$/ virtual-mta=v1\n"
	    " header X-Campaign /^promo/ virtual-mta=v1,recipient-priority=10\n"
	    " rcpt-to /@vip\\./ recipient-priority=90\n"
	    "</pattern-list>\n"
	    "<source 0/0>\n pattern-list sel\n</source>\n"
	    "<virtual-mta v1>\n</virtual-mta>\n"
	    "<mx-rollup-list>\n mx mx1.hotmail.com hotmail.rollup\n"
	    " mx *.mail.protection.outlook.com outlook.rollup rollup-by-ip\n"
	    "</mx-rollup-list>\n"
	    "<bounce-category-patterns>\n /unknown user/ bad-mailbox\n"
	    " // other\n</bounce-category-patterns>\n"
	    "<smtp-user alice>\n password s3cret\n</smtp-user>\n");
	const struct conf_domain *d = conf_domain_lookup(c, NULL, "a.test");
	const struct conf_reply_rule *r;
	const struct conf_pattern_list *pl;
	const struct conf_rollup *ru;
	struct sockaddr_storage ss;

	(void)state;
	assert_non_null(d->smtp_patterns);
	r = conf_smtp_pattern_match(d->smtp_patterns,
	    "421 4.7.0 TOO MANY CONNECTIONS from you");
	assert_non_null(r);
	assert_int_equal(r->actions, CONF_ACT_MODE_BACKOFF);
	assert_null(conf_smtp_pattern_match(d->smtp_patterns,
	    "550 casesensitive"));
	assert_non_null(conf_smtp_pattern_match(d->smtp_patterns,
	    "550 CaseSensitive"));
	r = conf_smtp_pattern_match(d->smtp_patterns, "451 error # 42");
	assert_non_null(r);
	assert_int_equal(r->actions, CONF_ACT_DEFER_QUEUE);
	r = conf_smtp_pattern_match(d->smtp_patterns, "550 disabled IP");
	assert_int_equal(r->actions, CONF_ACT_DISABLE_SOURCE_IP);
	assert_int_equal(r->reenable_after, 1800);
	r = conf_smtp_pattern_match(d->smtp_patterns, "554 blocked Spamhaus");
	assert_int_equal(r->backoff_to_normal_after, 3600);
	assert_null(conf_smtp_pattern_match(d->smtp_patterns, "250 ok"));
	pl = conf_pattern_list_find(c, "sel");
	assert_non_null(pl);
	assert_int_equal(pl->nrules, 3);
	assert_int_equal(pl->rules[0].kind, CONF_PAT_MAIL_FROM);
	assert_true(conf_pattern_rule_match(&pl->rules[0], "a@BULK.example"));
	assert_false(conf_pattern_rule_match(&pl->rules[0], "a@bulkXexample"));
	assert_string_equal(pl->rules[1].header, "X-Campaign");
	assert_int_equal(pl->rules[1].recipient_priority, 10);
	assert_string_equal(pl->rules[1].virtual_mta, "v1");
	assert_null(pl->rules[2].virtual_mta);
	assert_string_equal(conf_source_lookup(c, ip(&ss, "192.0.2.7"),
	    NULL)->pattern_list, "sel");
	assert_null(conf_source_lookup(c, NULL, NULL)->pattern_list);
	ru = conf_rollup_find(c, "MX1.hotmail.com.");
	assert_non_null(ru);
	assert_string_equal(ru->name, "hotmail.rollup");
	ru = conf_rollup_find(c, "x.mail.protection.outlook.com");
	assert_non_null(ru);
	assert_true(ru->by_ip);
	assert_null(conf_rollup_find(c, "mail.protection.outlook.com"));
	assert_int_equal(c->nbounce_patterns, 2);
	assert_string_equal(c->bounce_patterns[0], "/unknown user/ bad-mailbox");
	assert_non_null(conf_user_check(c, "alice", "s3cret"));
	assert_null(conf_user_check(c, "alice", "s3cre"));
	assert_null(conf_user_check(c, "alice", "s3cretx"));
	assert_null(conf_user_check(c, "bob", "s3cret"));
	assert_null(conf_user_check(c, "alice", NULL));
	conf_free(c);
}

static void
test_example_conf(void **state)
{
	char *path = src_path("etc/sluice.conf");
	struct conf *c = conf_load(path, err, sizeof(err));
	struct sockaddr_storage ss;
	const struct conf_source *s;

	(void)state;
	if (c == NULL)
		fail_msg("etc/sluice.conf: %s", err);
	assert_int_equal(c->nlisteners, 3);
	assert_string_equal(c->listeners[1].addr, "::1");
	assert_string_equal(c->listeners[2].source, "feeder");
	assert_int_equal(c->nacct_files, 2);
	assert_int_equal(c->acct_files[0].records,
	    (1u << ACCT_R_D) | (1u << ACCT_R_B));
	assert_int_equal(c->acct_files[0].max_size, 250ULL << 20);
	assert_int_equal(c->acct_files[0].delete_after, 8 * 86400);
	assert_int_equal(c->acct_files[0].iso_times, 1);
	assert_string_equal(c->acct_files[1].record_fields[ACCT_R_T],
	    "*,header_Message-Id");
	assert_null(c->acct_files[1].record_fields[ACCT_R_D]);
	assert_non_null(strstr(c->spool_dir, "var/spool"));
	assert_int_equal(c->nhttp_access, 2);
	assert_int_equal(c->http_access[0].level, CONF_HTTP_ADMIN);
	s = conf_source_lookup(c, ip(&ss, "127.0.0.1"), NULL);
	assert_int_equal(s->always_allow_relaying, 1);
	assert_string_equal(s->default_virtual_mta, "pool-a");
	assert_int_equal(s->max_message_size, 50 * 1024 * 1024);
	s = conf_source_lookup(c, ip(&ss, "203.0.113.9"), NULL);
	assert_int_equal(s->always_allow_relaying, 0);
	assert_non_null(conf_user_check(c, "feeder1", "change-me"));
	assert_int_equal(conf_domain_lookup(c, "vmta1", "gmail.com")
	    ->max_msg_rate.n, 83);
	assert_int_equal(conf_domain_lookup(c, "vmta1", "gmail.com")
	    ->max_msg_per_connection, 50);		/* pool <domain *> */
	assert_int_equal(conf_domain_lookup(c, NULL, "gmail.com")
	    ->max_msg_per_connection, 100);
	assert_int_equal(conf_domain_lookup(c, "vmta2", "example.org")
	    ->max_smtp_out, 5);
	assert_int_equal(conf_domain_lookup(c, NULL, "discard.example.test")
	    ->type, CONF_TYPE_DISCARD);
	assert_true(conf_domain_lookup(c, NULL, "slow.example.test")
	    ->retry_schedule.enabled);
	conf_free(c);
	free(path);
}

static void
test_reload(void **state)
{
	struct conf *c1 = load_str("<domain *>\n max-smtp-out 11\n</domain>\n");
	const struct conf_domain *d1 = conf_domain_lookup(c1, NULL, "a.test");
	struct conf *c2;

	(void)state;
	assert_null(conf_load_string("new.conf",
	    "<domain *>\n max-smtp-out 12\n bogus 1\n</domain>\n", err,
	    sizeof(err)));
	assert_string_equal(err, "new.conf:3: unknown directive \"bogus\"");
	assert_int_equal(d1->max_smtp_out, 11);
	assert_ptr_equal(conf_domain_lookup(c1, NULL, "a.test"), d1);
	c2 = load_str("<domain *>\n max-smtp-out 12\n</domain>\n");
	assert_int_equal(conf_domain_lookup(c2, NULL, "a.test")->max_smtp_out,
	    12);
	conf_free(c1);
	assert_int_equal(conf_domain_lookup(c2, NULL, "b.test")->max_smtp_out,
	    12);
	conf_free(c2);
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
test_docs(void **state)
{
	char *text = NULL, *md = NULL, *path, *doc;
	size_t len;
	FILE *fp;

	(void)state;
	fp = open_memstream(&text, &len);
	conf_print_directives(fp);
	fclose(fp);
	assert_non_null(strstr(text, "  bounce-after\n      type: time   "
	    "default: 4d12h"));
	assert_non_null(strstr(text, "<virtual-mta-pool>"));
	assert_non_null(strstr(text, "max-rcpt-per-transaction"));
	fp = open_memstream(&md, &len);
	conf_print_directives_fmt(fp, CONF_DOC_MARKDOWN);
	fclose(fp);
	assert_non_null(strstr(md, "| `max-smtp-out` | integer | 20 |"));
	/* docs/config.md must carry the current generated reference */
	path = src_path("docs/config.md");
	doc = slurp(path);
	if (strstr(doc, md) == NULL)
		fail_msg("docs/config.md is stale: regenerate its generated "
		    "part with sluice-conf-doc (see the top of the file)");
	free(doc);
	free(path);
	free(text);
	free(md);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_domain_precedence),
		cmocka_unit_test(test_domain_values),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_vmta_pool),
		cmocka_unit_test(test_dkim_scopes),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_example_conf),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
