/*
 * log.c -- process-wide logging to stderr.
 *
 * Lines are "progname: level: message". Each line is formatted into one
 * buffer and written with one write(2) so lines from threads never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

static const char *log_prog = "sluice";
static int log_verbose;

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_verbose = verbose;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

static void __attribute__((format(printf, 4, 0)))
log_vemit(const char *level, int with_errno, int saved_errno, const char *fmt,
    va_list ap)
{
	char line[2048];
	int n, m;

	n = snprintf(line, sizeof(line), "%s: %s: ", log_prog, level);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n >= sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (with_errno) {
		m = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(saved_errno));
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

#define LOG_BODY(level, witherr)                                   \
	do {                                                       \
		int saved = errno;                                 \
		va_list ap;                                        \
		va_start(ap, fmt);                                 \
		log_vemit(level, witherr, saved, fmt, ap);         \
		va_end(ap);                                        \
		errno = saved;                                     \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY("warning", 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY("info", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY("debug", 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY("fatal", 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}
