/*
 * an_html.h -- one self-contained HTML report (inline CSS and SVG charts,
 * no scripts, no network) built from a full report.
 */
#ifndef SLUICE_AN_HTML_H
#define SLUICE_AN_HTML_H

#include "analyser/an_report.h"

/* 0, or -1 after logging why the file could not be written. */
int an_html_write(const struct an_report *r, const char *path);

#endif
