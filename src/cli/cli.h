/*
 * cli.h -- `sluice` command table and the daemon-control client.
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

/* Control commands (status, queues, ...): talk HTTP to sluiced over its
 * control socket. argv[0] is the command word. */
int cli_control_main(int argc, char **argv);

#endif
