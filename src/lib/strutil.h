/*
 * strutil.h -- small string helpers shared by the parsers (config, smtp-hosts
 * specs, analyser mapping files).
 */
#ifndef SLUICE_STRUTIL_H
#define SLUICE_STRUTIL_H

/* Trim leading and trailing white space in place (isspace); returns the
 * trimmed start, which points into s. */
char *str_trim(char *s);

#endif
