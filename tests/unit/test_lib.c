/*
 * test_lib.c -- src/lib: fs_mkdir_p / fs_mkdir_parent, sbuf, json writer.
 */
#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fsutil.h"
#include "lib/json.h"
#include "lib/sbuf.h"
#include "lib/strutil.h"

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
test_mkdir_p(void **state)
{
	char base[] = "/tmp/sluice-test-lib-XXXXXX", p[256];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(p, sizeof(p), "%s/a/b/c", base);
	assert_int_equal(fs_mkdir_p(p, 0700), 0);
	assert_true(is_dir(p));
	assert_int_equal(fs_mkdir_p(p, 0700), 0);	/* exists: fine */
	snprintf(p, sizeof(p), "%s/x/y/acct.csv", base);
	assert_int_equal(fs_mkdir_parent(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/x/y", base);
	assert_true(is_dir(p));
	snprintf(p, sizeof(p), "%s/file", base);
	assert_non_null(fp = fopen(p, "w"));
	fclose(fp);
	snprintf(p, sizeof(p), "%s/file/sub", base);
	assert_int_equal(fs_mkdir_p(p, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
	snprintf(p, sizeof(p), "rm -rf '%s'", base);
	assert_int_equal(system(p), 0);
}

static void
test_json(void **state)
{
	struct sbuf b;
	struct json j;

	(void)state;
	sbuf_init(&b);
	json_init(&j, &b);
	json_obj_begin(&j);
	json_key(&j, "a");
	json_int(&j, -3);
	json_key(&j, "s");
	json_str(&j, "q\"\\\n\x01");
	json_key(&j, "l");
	json_arr_begin(&j);
	json_bool(&j, 1);
	json_null(&j);
	json_double(&j, 0.5);
	json_arr_end(&j);
	json_obj_end(&j);
	assert_string_equal(b.p,
	    "{\"a\":-3,\"s\":\"q\\\"\\\\\\n\\u0001\",\"l\":[true,null,0.5]}");
	sbuf_fini(&b);
}

static void
test_str_trim(void **state)
{
	char a[] = "  \t key value \r\n", b[] = "", c[] = " \t ", d[] = "x";

	(void)state;
	assert_string_equal(str_trim(a), "key value");
	assert_string_equal(str_trim(b), "");
	assert_string_equal(str_trim(c), "");
	assert_string_equal(str_trim(d), "x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_str_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
