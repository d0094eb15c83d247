/*
 * test_cli_ctl.c -- `sluice` control-command parsing (src/cli/ctl_parse.c):
 * argv -> method, path and url-encoded parameters; usage errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"

struct parsed {
	struct cli_req	r;
	char		err[256];
	int		rc;
};

/* Parse a NULL-terminated word list. */
static void
parse(struct parsed *p, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, p);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	memset(p, 0, sizeof(*p));
	sbuf_init(&p->r.params);
	p->rc = cli_ctl_parse(argc, argv, &p->r, p->err, sizeof(p->err));
	sbuf_putc(&p->r.params, '\0');
}

static void
done(struct parsed *p)
{
	sbuf_fini(&p->r.params);
}

static void
test_pause_forms(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "pause", "queue", "gmail.com/vmta1", NULL);
	assert_int_equal(p.rc, CLI_PARSE_OK);
	assert_true(p.r.post);
	assert_string_equal(p.r.path, "/pause");
	assert_string_equal(p.r.params.p,
	    "queue=gmail.com%2Fvmta1&format=text");
	done(&p);
	parse(&p, "resume", "queue", "*/*", "--json", NULL);
	assert_int_equal(p.rc, CLI_PARSE_OK);
	assert_string_equal(p.r.path, "/resume");
	assert_string_equal(p.r.params.p, "queue=%2A%2F%2A&format=json");
	done(&p);
	parse(&p, "pause", "domain", "yahoo.com", NULL);
	assert_string_equal(p.r.params.p, "queue=yahoo.com%2F%2A&format=text");
	done(&p);
	parse(&p, "pause", "vmta", "{default}", NULL);
	assert_string_equal(p.r.params.p,
	    "queue=%2A%2F%7Bdefault%7D&format=text");
	done(&p);
	parse(&p, "pause", "job", "news 1", "--socket", "/tmp/s", NULL);
	assert_int_equal(p.rc, CLI_PARSE_OK);
	assert_string_equal(p.r.params.p, "job=news%201&format=text");
	assert_string_equal(p.r.socket_path, "/tmp/s");
	done(&p);
}

static void
test_other_commands(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "delete", "--queue=x.test/{default}", "--dsn",
	    "--no-accounting", NULL);
	assert_int_equal(p.rc, CLI_PARSE_OK);
	assert_string_equal(p.r.path, "/delete");
	assert_string_equal(p.r.params.p, "queue=x.test%2F%7Bdefault%7D&"
	    "dsn=yes&accounting=no&format=text");
	done(&p);
	parse(&p, "delete", "--jobId=J7", NULL);
	assert_string_equal(p.r.params.p, "job=J7&format=text");
	done(&p);
	parse(&p, "list", "--queue=x.test", "--maxitems", "5", "--port",
	    "8080", NULL);
	assert_int_equal(p.rc, CLI_PARSE_OK);
	assert_false(p.r.post);
	assert_int_equal(p.r.port, 8080);
	assert_string_equal(p.r.params.p,
	    "queue=x.test&maxitems=5&format=text");
	done(&p);
	parse(&p, "schedule", "*/vmta1", NULL);
	assert_string_equal(p.r.params.p, "queue=%2A%2Fvmta1&format=text");
	done(&p);
	parse(&p, "rotate", "acct", NULL);
	assert_string_equal(p.r.params.p, "what=acct&format=text");
	done(&p);
	parse(&p, "set", "queue", "--mode=backoff", "gmail.com/v1", NULL);
	assert_int_equal(p.rc, CLI_PARSE_OK);
	assert_string_equal(p.r.path, "/set");
	assert_string_equal(p.r.params.p,
	    "mode=backoff&queue=gmail.com%2Fv1&format=text");
	done(&p);
	parse(&p, "reload", NULL);
	assert_int_equal(p.rc, CLI_PARSE_OK);
	assert_true(p.r.post);
	done(&p);
	parse(&p, "status", "--help", NULL);
	assert_int_equal(p.rc, CLI_PARSE_HELP);
	done(&p);
}

static void
test_usage_errors(void **state)
{
	static const char *bad[][5] = {
		{ "pause", NULL },
		{ "pause", "queue", NULL },
		{ "pause", "queue", "a", "b", NULL },
		{ "pause", "host", "x", NULL },
		{ "pause", "domain", "a/b", NULL },
		{ "pause", "queue", "", NULL },
		{ "delete", NULL },
		{ "delete", "--dsn", NULL },
		{ "delete", "--maxitems=3", "--job=1", NULL },
		{ "list", "--maxitems=x", NULL },
		{ "list", "extra", NULL },
		{ "rotate", "log", NULL },
		{ "rotate", NULL },
		{ "schedule", NULL },
		{ "status", "--bogus", NULL },
		{ "queues", "--port", "0", NULL },
		{ "frobnicate", NULL },
		{ "set", "queue", "x.test", NULL },
		{ "set", "queue", "--mode=fast", "x.test", NULL },
		{ "set", "domain", "--mode=normal", "x.test", NULL },
		{ "pause", "queue", "--mode=normal", "x.test", NULL },
	};
	struct parsed p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(&p, bad[i][0], bad[i][1], bad[i][2], bad[i][3],
		    bad[i][4]);
		if (p.rc != CLI_PARSE_USAGE)
			fail_msg("case %zu (%s %s) parsed", i, bad[i][0],
			    bad[i][1] ? bad[i][1] : "");
		assert_true(p.err[0] != '\0');
		done(&p);
	}
}

static void
test_usage_text(void **state)
{
	char buf[512] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_int_equal(cli_ctl_usage(f, "delete"), 1);
	assert_int_equal(cli_ctl_usage(f, "acct"), 0);
	fclose(f);
	assert_non_null(strstr(buf, "--no-accounting"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_forms),
		cmocka_unit_test(test_other_commands),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_usage_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
