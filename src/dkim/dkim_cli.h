/*
 * dkim_cli.h -- entry point of `sluice dkim ...` (keygen). argv[0] is "dkim".
 */
#ifndef SLUICE_DKIM_CLI_H
#define SLUICE_DKIM_CLI_H

int dkim_cli_main(int argc, char **argv);

#endif
