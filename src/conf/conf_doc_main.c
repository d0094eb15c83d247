/*
 * conf_doc_main.c -- sluice-conf-doc: print the directive reference from
 * the directive table (Markdown by default, `--text` for plain text).
 * Used to regenerate the generated part of docs/config.md; sluiced
 * --help-config prints the same text through conf_print_directives().
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--text") == 0)
		conf_print_directives(stdout);
	else
		conf_print_directives_fmt(stdout, CONF_DOC_MARKDOWN);
	return fflush(stdout) == 0 ? 0 : 1;
}
