/*
 * acct_schema.h -- the one accounting schema shared by sluiced's writer,
 * the sluice CLI and the `sluice acct` analyser.
 *
 * Field names and record types are PowerMTA's (User's Guide 5.0 ch. 11; see
 * docs/accounting.md). The X-macro ACCT_FIELDS is the single source of the
 * field list; everything else (enum, name table, lookup) is derived from it.
 * Nothing here allocates; all returned strings are static.
 */
#ifndef SLUICE_ACCT_SCHEMA_H
#define SLUICE_ACCT_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ACCT_FIELDS(X)                                   \
	X(TYPE, "type")                                  \
	X(TIME_LOGGED, "timeLogged")                     \
	X(TIME_QUEUED, "timeQueued")                     \
	X(TIME_IMPRINTED, "timeImprinted")               \
	X(TOTAL_SECONDS_QUEUED, "totalSecondsQueued")    \
	X(TIME_FIRST_ATTEMPT, "timeFirstAttempt")        \
	X(ORIG, "orig")                                  \
	X(RCPT, "rcpt")                                  \
	X(ORCPT, "orcpt")                                \
	X(DSN_ACTION, "dsnAction")                       \
	X(DSN_STATUS, "dsnStatus")                       \
	X(DSN_DIAG, "dsnDiag")                           \
	X(DSN_MTA, "dsnMta")                             \
	X(BOUNCE_CAT, "bounceCat")                       \
	X(SRC_TYPE, "srcType")                           \
	X(SRC_MTA, "srcMta")                             \
	X(DLV_TYPE, "dlvType")                           \
	X(DLV_SOURCE_IP, "dlvSourceIp")                  \
	X(DLV_DESTINATION_IP, "dlvDestinationIp")        \
	X(DLV_ESMTP_AVAILABLE, "dlvEsmtpAvailable")      \
	X(DLV_SIZE, "dlvSize")                           \
	X(VMTA, "vmta")                                  \
	X(JOB_ID, "jobId")                               \
	X(ENV_ID, "envId")                               \
	X(QUEUE, "queue")                                \
	X(VMTA_POOL, "vmtaPool")                         \
	X(DLV_TLS_PROTOCOL, "dlvTlsProtocol")            \
	X(DLV_TLS_CIPHER, "dlvTlsCipher")                \
	X(RCV_SMTP_USER, "rcvSmtpUser")                  \
	X(USER_STRING, "userString")                     \
	X(RCV_SOURCE_IP, "rcvSourceIp")                  \
	X(RCV_DESTINATION_IP, "rcvDestinationIp")        \
	X(DSN_REPORTING_MTA, "dsnReportingMta")          \
	X(REP_SOURCE_IP, "repSourceIp")                  \
	X(FEEDBACK_TYPE, "feedbackType")                 \
	X(FORMAT, "format")                              \
	X(USER_AGENT, "userAgent")                       \
	X(REPORTING_MTA, "reportingMta")                 \
	X(REPORTED_DOMAIN, "reportedDomain")

enum acct_field {
#define ACCT_ENUM(id, name) ACCT_F_##id,
	ACCT_FIELDS(ACCT_ENUM)
#undef ACCT_ENUM
	ACCT_F__COUNT
};

enum acct_rtype {
	ACCT_R_D,	/* delivery */
	ACCT_R_B,	/* bounce (local) */
	ACCT_R_T,	/* transient (per recipient) */
	ACCT_R_TQ,	/* transient-queue */
	ACCT_R_R,	/* receipt */
	ACCT_R_F,	/* feedback-loop */
	ACCT_R_RB,	/* remote-bounce */
	ACCT_R_RS,	/* remote-status */
	ACCT_R__COUNT
};

/* The PowerMTA 4.5/5.x default header (23 fields, ends queue,vmtaPool). */
extern const enum acct_field acct_default_fields[];
extern const size_t acct_default_nfields;
/* The pre-4.5 default header (22 fields, timeImprinted, no queue/vmtaPool). */
extern const enum acct_field acct_legacy_fields[];
extern const size_t acct_legacy_nfields;

/* Field name as written in the header ("dsnDiag"). */
const char *acct_field_name(enum acct_field f);
/* Field by header name, case-sensitive as PowerMTA writes it but also
 * accepting any letter case; -1 if unknown (header_* are the caller's). */
int acct_field_lookup(const char *name, size_t len);

/* Short code ("d", "tq"). */
const char *acct_rtype_code(enum acct_rtype t);
/* Long name ("delivery", "transient-queue"). */
const char *acct_rtype_long(enum acct_rtype t);
/* By code or long name; -1 if unknown. */
int acct_rtype_lookup(const char *s, size_t len);

/*
 * Format a time as PowerMTA does: iso != 0 gives "YYYY-MM-DD HH:MM:SS+hhmm"
 * in local time with numeric offset, iso == 0 gives decimal time_t.
 * Returns the length written (buf always NUL-terminated), 0 if len too small.
 */
size_t acct_format_time(char *buf, size_t len, int64_t t, int iso);

/*
 * Parse either timestamp form ("YYYY-MM-DD HH:MM:SS+hhmm", also with 'T'
 * and "Z" or "+hh:mm", or plain epoch seconds). Returns 0 and sets *out to
 * epoch seconds, or -1 on a malformed value.
 */
int acct_parse_time(const char *s, size_t len, int64_t *out);

#endif
