/*
 * analyser.h -- entry point of `sluice acct` (the accounting analyser).
 * Owned by src/analyser/. argv[0] is "acct".
 */
#ifndef SLUICE_ANALYSER_H
#define SLUICE_ANALYSER_H

int analyser_main(int argc, char **argv);

#endif
