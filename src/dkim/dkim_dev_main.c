/* SPDX-License-Identifier: ISC
 *
 * dkim_dev_main.c -- `sluice-dkim-dev`: runs dkim_cli_main() stand-alone
 * (argv[0] is passed as "dkim"), for tests and benchmarks that must not
 * depend on the full `sluice` CLI being built.
 */
#include "dkim/dkim_cli.h"
#include "lib/log.h"

int
main(int argc, char **argv)
{
	static char dkim_word[] = "dkim";

	log_init("sluice-dkim-dev", 0);
	argv[0] = dkim_word;
	return dkim_cli_main(argc, argv);
}
