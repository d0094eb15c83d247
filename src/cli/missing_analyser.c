/*
 * missing_analyser.c -- linked only when src/analyser is not part of the
 * build: `sluice acct` then says so instead of failing to link.
 */
#include <stdio.h>

#include "analyser/analyser.h"

int
analyser_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "sluice: acct: this build has no analyser module\n");
	return 2;
}
