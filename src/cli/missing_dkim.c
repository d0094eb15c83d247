/*
 * missing_dkim.c -- linked only when src/dkim is not part of the build.
 */
#include <stdio.h>

#include "dkim/dkim_cli.h"

int
dkim_cli_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "sluice: dkim: this build has no DKIM module\n");
	return 2;
}
