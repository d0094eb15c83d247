/*
 * test_conf_errors.c -- every class of config error is rejected with the
 * exact "FILE:LINE: message" of the offending line (or block).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"

struct bad {
	const char	*text;
	const char	*want;	/* expected prefix of the error message */
};

static const struct bad cases[] = {
	/* syntax and scope */
	{ "host-name a\nbogus-directive 1\n", "e.conf:2: unknown directive \"bogus-directive\"" },
	{ "\n<domain *>\n  smtp-listener 1.2.3.4:25\n</domain>\n", "e.conf:3: smtp-listener: not allowed in <domain>" },
	{ "max-smtp-out 5\n", "e.conf:1: max-smtp-out: not allowed in global" },
	{ "<source 0/0>\n retry-after 10m\n</source>\n", "e.conf:2: retry-after: not allowed in <source>" },
	{ "<nosuch x>\n</nosuch>\n", "e.conf:1: unknown block <nosuch>" },
	{ "<domain *>\n <source 0/0>\n", "e.conf:2: <source> not allowed in <domain>" },
	{ "<domain *>\nmax-smtp-out 5\n", "e.conf:1: unterminated <domain> block" },
	{ "<domain *>\n</source>\n", "e.conf:2: </source> does not match <domain> opened at line 1" },
	{ "</domain>\n", "e.conf:1: </domain> without an open <domain> block" },
	{ "<domain>\n</domain>\n", "e.conf:1: <domain> needs an argument" },
	{ "<mx-rollup-list x>\n</mx-rollup-list>\n", "e.conf:1: <mx-rollup-list> takes no argument" },
	{ "<domain *\n", "e.conf:1: tag must end with '>'" },
	{ "domain x\n", "e.conf:1: domain: is a block" },
	/* values */
	{ "<domain *>\n bounce-after 4x\n</domain>\n", "e.conf:2: bounce-after: bad time interval \"4x\"" },
	{ "<domain *>\n max-smtp-out abc\n</domain>\n", "e.conf:2: max-smtp-out: not a number" },
	{ "<domain *>\n max-smtp-out 0\n</domain>\n", "e.conf:2: max-smtp-out: 0 out of range" },
	{ "<domain *>\n queue-priority 101\n</domain>\n", "e.conf:2: queue-priority: 101 out of range 0..100" },
	{ "<domain *>\n max-msg-rate 10/fortnight\n</domain>\n", "e.conf:2: max-msg-rate: bad rate" },
	{ "<domain *>\n use-starttls maybe\n</domain>\n", "e.conf:2: use-starttls: expected yes|no|true|false" },
	{ "<domain *>\n retry-after 10m,,1h\n</domain>\n", "e.conf:2: retry-after: bad interval list" },
	{ "<domain *>\n type pipe\n</domain>\n", "e.conf:2: type: invalid value \"pipe\"" },
	{ "<domain *>\n max-smtp-out\n</domain>\n", "e.conf:2: max-smtp-out: missing value" },
	{ "<domain *>\n bounce-after never\n</domain>\n", "e.conf:2: bounce-after: bad time interval" },
	{ "<domain *>\n bounce-upon-no-mx sometimes\n</domain>\n", "e.conf:2: bounce-upon-no-mx: expected" },
	{ "<domain *>\n smtp-hosts [1.2.3.4:25\n</domain>\n", "e.conf:2: smtp-hosts: bad host" },
	{ "<domain *>\n retry-schedule linear\n</domain>\n", "e.conf:2: retry-schedule: expected" },
	{ "<domain *>\n retry-schedule exponential factor=0.5\n</domain>\n", "e.conf:2: retry-schedule: bad parameter \"factor=0.5\"" },
	{ "<domain *>\n retry-schedule exponential first=1h max=5m\n</domain>\n", "e.conf:2: retry-schedule: max is smaller" },
	{ "<domain *>\n dkim-algorithm rsa-sha1\n</domain>\n", "e.conf:2: dkim-algorithm: invalid value" },
	{ "<domain [10.0.0.0/8]>\n</domain>\n", "e.conf:1: <domain [10.0.0.0/8]>: domain-literal patterns" },
	{ "<domain a..b>\n</domain>\n", "e.conf:1: <domain a..b>: bad domain pattern" },
	{ "smtp-listener 1.2.3.4\n", "e.conf:1: smtp-listener: bad address" },
	{ "smtp-listener ::1:25\n", "e.conf:1: smtp-listener: bad address" },
	{ "smtp-listener 1.2.3.4:70000\n", "e.conf:1: smtp-listener: bad address" },
	{ "smtp-listener 1.2.3.400:25\n", "e.conf:1: smtp-listener: bad IP address" },
	{ "smtp-listener 1.2.3.4:25 src=x\n", "e.conf:1: smtp-listener: expected source=NAME" },
	{ "smtp-source-host 1.2.3.4\n", "e.conf:1: smtp-source-host: expected IP HOSTNAME" },
	{ "smtp-source-host 1.2.3/24 h.test\n", "e.conf:1: smtp-source-host: bad IP address" },
	{ "http-access 127.0.0.1 root\n", "e.conf:1: http-access: level must be" },
	{ "http-mgmt-port 65536\n", "e.conf:1: http-mgmt-port: 65536 out of range" },
	{ "total-max-smtp-out 0\n", "e.conf:1: total-max-smtp-out: 0 out of range" },
	{ "domain-key s1,example.com\n", "e.conf:1: domain-key: expected SELECTOR,DOMAIN,FILE" },
	{ "<domain *>\n dkim-identity sender\n</domain>\n", "e.conf:2: dkim-identity: expected sender-or-from, from or an address [LOCAL]@DOMAIN, got \"sender\"" },
	{ "<domain *>\n dkim-identity a@b@c.test\n</domain>\n", "e.conf:2: dkim-identity: expected sender-or-from" },
	{ "<domain *>\n dkim-identity news@\n</domain>\n", "e.conf:2: dkim-identity: expected sender-or-from" },
	{ "dns-server 127.0.0.1:53,nameserver\n", "e.conf:1: dns-server: bad server \"nameserver\"" },
	{ "postmaster nobody\n", "e.conf:1: postmaster: expected an address" },
	{ "<source 10.0.0.0/40>\n</source>\n", "e.conf:1: <source 10.0.0.0/40>: bad CIDR" },
	{ "<source 0/0>\n add-date-header sometimes\n</source>\n", "e.conf:2: add-date-header: invalid value" },
	{ "<source 0/0>\n max-message-size 10q\n</source>\n", "e.conf:2: max-message-size: bad size" },
	{ "smtp-server-tls-certificate c.pem\n", "e.conf: smtp-server-tls-certificate and smtp-server-tls-private-key" },
	/* acct-file */
	{ "<acct-file a.csv>\n records d,x\n</acct-file>\n", "e.conf:2: records: unknown record type \"x\"" },
	{ "<acct-file a.csv>\n record-fields d rcpt,nosuch\n</acct-file>\n", "e.conf:2: record-fields: unknown field \"nosuch\"" },
	{ "<acct-file a.csv>\n max-size 10k\n</acct-file>\n", "e.conf:2: max-size: 10k out of range" },
	{ "<acct-file |/bin/cat>\n</acct-file>\n", "e.conf:1: <acct-file |command>: accounting pipes" },
	{ "<spool /a>\n</spool>\n<spool /b>\n</spool>\n", "e.conf:3: only one <spool> is supported" },
	{ "<spool /a>\n priority 1\n</spool>\n", "e.conf:2: unknown directive \"priority\"" },
	/* lists */
	{ "<smtp-pattern-list l>\n reply /x/ mode=backoff,mode=normal\n</smtp-pattern-list>\n", "e.conf:2: reply: mode=backoff conflicts with mode=normal" },
	{ "<smtp-pattern-list l>\n reply /x/ explode\n</smtp-pattern-list>\n", "e.conf:2: reply: unknown action \"explode\"" },
	{ "<smtp-pattern-list l>\n reply /x/\n</smtp-pattern-list>\n", "e.conf:2: reply: no action given" },
	{ "<smtp-pattern-list l>\n reply /(x/ skip-mx\n</smtp-pattern-list>\n", "e.conf:2: bad regex /(x/" },
	{ "<smtp-pattern-list l>\n reply x skip-mx\n</smtp-pattern-list>\n", "e.conf:2: reply: expected /REGEX/" },
	{ "<smtp-pattern-list l>\n reply /x/ reenable-after=1h\n</smtp-pattern-list>\n", "e.conf:2: reply: reenable-after needs disable-source-ip" },
	{ "<smtp-pattern-list l>\n reply /x/ backoff-to-normal-after=xx,mode=backoff\n</smtp-pattern-list>\n", "e.conf:2: reply: bad time" },
	{ "<smtp-pattern-list l>\n reply /x/ bounce-rcpt,bounce-queue\n</smtp-pattern-list>\n", "e.conf:2: reply: bounce-rcpt conflicts" },
	{ "<pattern-list l>\n mail-from /x/ vmta=a\n</pattern-list>\n", "e.conf:2: unknown pattern result" },
	{ "<mx-rollup-list>\n mx mx.test hotmail\n</mx-rollup-list>\n", "e.conf:2: mx: queue name \"hotmail\" must end in .rollup" },
	{ "<bounce-category-patterns>\n unknown user bad-mailbox\n</bounce-category-patterns>\n", "e.conf:2: expected /REGEX/ category" },
	{ "<bounce-category-patterns>\n /[/ bad-mailbox\n</bounce-category-patterns>\n", "e.conf:2: bad regex" },
	{ "<smtp-user u>\n source nosuch\n</smtp-user>\n", "e.conf:3: <smtp-user u> has no password" },
	/* references and semantics */
	{ "<domain *>\n smtp-pattern-list nope\n</domain>\n", "e.conf:2: unknown smtp-pattern-list nope" },
	{ "<source 0/0>\n default-virtual-mta nope\n</source>\n", "e.conf:2: unknown virtual-mta or pool nope" },
	{ "<domain a.test>\n reroute-to-virtual-mta nope\n</domain>\n", "e.conf:2: unknown virtual-mta or pool nope" },
	{ "<virtual-mta a>\n <domain x.test>\n  reroute-to-virtual-mta b\n </domain>\n</virtual-mta>\n"
	  "<virtual-mta b>\n <domain *.test>\n  backoff-reroute-to-virtual-mta a\n </domain>\n</virtual-mta>\n",
	  "e.conf:8: reroute loop for domain x.test: a -> b -> a" },
	{ "<virtual-mta a>\n</virtual-mta>\n<virtual-mta b>\n <domain *>\n  reroute-to-virtual-mta c\n </domain>\n</virtual-mta>\n"
	  "<virtual-mta c>\n</virtual-mta>\n<virtual-mta-pool p>\n virtual-mta b\n virtual-mta c\n</virtual-mta-pool>\n"
	  "<domain *>\n reroute-to-virtual-mta p\n</domain>\n",
	  "e.conf:15: reroute loop for domain sluice-reroute-probe: b -> c -> b" },
	{ "smtp-listener 127.0.0.1:25 source=nope\n", "e.conf:1: unknown named <source nope>" },
	{ "<smtp-user u>\n password p\n source nope\n</smtp-user>\n", "e.conf:3: unknown named <source nope>" },
	{ "<virtual-mta-pool p>\n virtual-mta ghost\n</virtual-mta-pool>\n", "e.conf:2: pool p: member ghost is not a defined virtual-mta" },
	{ "<virtual-mta-pool p>\n</virtual-mta-pool>\n", "e.conf:1: virtual-mta-pool p has no virtual-mta members" },
	{ "<virtual-mta v>\n</virtual-mta>\n<virtual-mta-pool q>\n virtual-mta v\n</virtual-mta-pool>\n<virtual-mta-pool p>\n virtual-mta q\n</virtual-mta-pool>\n", "e.conf:7: pool p: member q is a pool, not a virtual-mta" },
	{ "<virtual-mta v>\n</virtual-mta>\n<virtual-mta-pool v>\n virtual-mta v\n</virtual-mta-pool>\n", "e.conf:3: virtual-mta-pool v has the name of a virtual-mta" },
	{ "<virtual-mta v>\n</virtual-mta>\n<virtual-mta V>\n</virtual-mta>\n", "e.conf:3: virtual-mta V already defined at e.conf:1" },
	{ "<virtual-mta v>\n</virtual-mta>\n"
	  "<virtual-mta-pool p1>\n virtual-mta v\n <domain *>\n </domain>\n</virtual-mta-pool>\n"
	  "<virtual-mta-pool p2>\n virtual-mta v\n <domain a.test>\n </domain>\n</virtual-mta-pool>\n",
	  "e.conf:8: virtual-mta v is in pools p1 and p2, which both contain <domain> blocks" },
	{ "<virtual-mta {default}>\n</virtual-mta>\n", "e.conf:1: virtual-mta name \"{default}\" is reserved" },
	/* macros */
	{ "domain-macro a x.$b\ndomain-macro b y.$a\n", "e.conf:1: domain-macro loop: $a refers to itself" },
	{ "domain-macro a x.$a\n", "e.conf:1: domain-macro loop" },
	{ "<domain $nosuch>\n</domain>\n", "e.conf:1: undefined domain-macro $nosuch" },
	{ "domain-macro a b\ndomain-macro a c\n", "e.conf:2: domain-macro a defined twice" },
	{ "domain-macro a-b c\n", "e.conf:1: domain-macro: expected NAME" },
	{ "<domain a.$>\n</domain>\n", "e.conf:1: '$' must be followed by a macro name" },
};

static void
test_error_cases(void **state)
{
	char err[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c = conf_load_string("e.conf", cases[i].text, err,
		    sizeof(err));

		if (c != NULL) {
			conf_free(c);
			fail_msg("case %zu loaded but should fail: %s", i,
			    cases[i].want);
		}
		if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: got \"%s\"\n want \"%s\"", i, err,
			    cases[i].want);
	}
}

/* Each case's first line alone (or with its block closed) is valid, so
 * the line numbers above really point at the offending line. */
static void
test_good_neighbours(void **state)
{
	char err[1024];
	struct conf *c = conf_load_string("ok.conf",
	    "host-name a\n<domain *>\n max-smtp-out 5\n</domain>\n"
	    "<source 0/0>\n max-message-size 10m\n</source>\n"
	    "<acct-file a.csv>\n records d,b,t,tq,r,f,rb,rs\n"
	    " record-fields d,b *,!orcpt,header_X-Id\n</acct-file>\n",
	    err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->acct_files[0].records, 0xff);
	assert_string_equal(c->acct_files[0].record_fields[ACCT_R_B],
	    "*,!orcpt,header_X-Id");
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_cases),
		cmocka_unit_test(test_good_neighbours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
