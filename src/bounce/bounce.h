/*
 * bounce.h -- bounce classification (bounceCat) and RFC 3464 DSN messages.
 *
 * Classification follows PowerMTA's <bounce-category-patterns>: an ordered
 * list of case-insensitive PCRE2 patterns matched against
 * "<enhanced-status>;<diagnostic text>" (e.g. "5.1.1;550 5.1.1 user unknown"),
 * first match wins, user patterns before the built-in defaults, catch-all
 * "other". Categories are PowerMTA's 17 (plus "success").
 */
#ifndef SLUICE_BOUNCE_H
#define SLUICE_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

struct bounce_rules;

/* Built-in rules only when user is NULL/empty; user lines are
 * "/REGEX/ category". NULL with err "line N: ..." on a bad pattern. */
struct bounce_rules *bounce_rules_new(const char *const *user, size_t nuser,
    char *err, size_t errlen);
void bounce_rules_free(struct bounce_rules *r);

/* Category for a status/diag pair; never NULL (static string). */
const char *bounce_classify(const struct bounce_rules *r, const char *status,
    const char *diag);

/* RFC 3463 description: "5.1.1" -> "bad destination mailbox address".
 * Unknown detail falls back to the class/subject text. Static string. */
const char *dsn_status_text(const char *status);

/* Format PowerMTA's dsnStatus value "5.1.1 (bad destination mailbox
 * address)" into buf. */
void dsn_status_format(char *buf, size_t len, const char *status);

struct dsn_rcpt {
	const char	*rcpt;
	const char	*orcpt;		/* may be NULL */
	const char	*action;	/* "failed", "delayed", "delivered" */
	const char	*status;	/* "5.1.1" */
	const char	*diag;		/* "smtp; 550 5.1.1 user unknown" or NULL */
	const char	*remote_mta;	/* "mx.example.com" or NULL */
	int64_t		 last_attempt;	/* unix time, 0 = none */
};

struct dsn_params {
	const char		*reporting_mta;	/* our host name */
	const char		*from;		/* "MAILER-DAEMON@host" */
	const char		*to;		/* the original envelope sender */
	const char		*envid;
	int64_t			 arrival;
	int			 ret_full;	/* include whole message, else
						 * headers only */
	const char		*orig_msg;
	size_t			 orig_len;
	size_t			 nrcpt;
	const struct dsn_rcpt	*rcpts;
	int64_t			 now;
};

/*
 * Build a multipart/report; report-type=delivery-status message (RFC 3464),
 * CRLF line endings, ready to spool with a null envelope sender. Returns
 * malloc'd bytes (caller frees) and sets *len.
 */
char *dsn_build(const struct dsn_params *p, size_t *len);

#endif
