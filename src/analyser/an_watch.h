/*
 * an_watch.h -- `sluice acct watch FILE`: follow the current accounting
 * file across rotation (rename + new file, or truncation), print alerts
 * when they start or clear and a rolling summary over the last --window
 * every --interval seconds.
 */
#ifndef SLUICE_AN_WATCH_H
#define SLUICE_AN_WATCH_H

#include "analyser/an_isp.h"
#include "analyser/an_opts.h"

/* Runs until SIGINT/SIGTERM or --exit-after; returns the exit status. */
int an_watch_main(const struct an_opts *o, const struct an_isp_map *isps);

#endif
