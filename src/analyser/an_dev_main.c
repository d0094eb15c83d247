/*
 * an_dev_main.c -- `sluice-acct-dev`: runs analyser_main() standalone
 * (development and tests, before the sluice CLI links the analyser).
 */
#include "analyser/analyser.h"
#include "lib/log.h"

int
main(int argc, char **argv)
{
	log_init("sluice acct", 0);
	argv[0] = "acct";
	return analyser_main(argc, argv);
}
