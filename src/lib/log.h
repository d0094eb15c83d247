/*
 * log.h -- process-wide logging to stderr (systemd/journald friendly).
 *
 * log_warn() appends strerror(errno); log_warnx() does not. fatal()/fatalx()
 * log and exit(1): use them only for programmer bugs or start-up failures,
 * never for peer behaviour or transient I/O errors (those are data).
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *progname, int verbose);
void log_setverbose(int verbose);
int log_getverbose(void);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
_Noreturn void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif
