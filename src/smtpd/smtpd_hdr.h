/*
 * smtpd_hdr.h -- header rewriting of a received message (pure).
 *
 * Reads and strips (unless retained) X-Virtual-MTA and the job header
 * (X-Job or the configured name) when asked to, prepends a Received field and appends
 * Message-Id / Date at the end of the header block when they are missing
 * (Date: also replacing existing ones with date_override).
 * Invariants: the input is CRLF-normalised (the DATA reader guarantees it);
 * the header block ends at the first empty line, at the first line that is
 * not a header field or continuation, or at the end of the data. Bytes
 * that are not stripped are copied unchanged and in order.
 * Ownership: output goes into the caller's sbuf (reset first); result
 * strings live in the caller's struct.
 */
#ifndef SLUICE_SMTPD_HDR_H
#define SLUICE_SMTPD_HDR_H

#include <stddef.h>

#include "lib/sbuf.h"

#define SMTPD_HDR_VALUE_MAX	256

struct smtpd_hdr_opts {
	int		 process_vmta;	/* read + strip X-Virtual-MTA */
	int		 process_job;	/* read + strip the job header */
	int		 retain_vmta;	/* processed but not stripped */
	int		 retain_job;
	const char	*job_header;	/* NULL = "X-Job" */
	const char	*received;	/* full field incl CRLF, or NULL */
	const char	*message_id;	/* "<id@host>" added if missing, or NULL */
	const char	*date;		/* RFC 5322 date added if missing, or NULL */
	int		 date_override;	/* strip every Date; add `date` */
};

struct smtpd_hdr_result {
	int	 have_vmta;
	int	 have_job;
	char	 vmta[SMTPD_HDR_VALUE_MAX];	/* unfolded, trimmed */
	char	 job[SMTPD_HDR_VALUE_MAX];
	int	 had_message_id;
	int	 had_date;
};

/* Rewrite data[0..len) into out. Never fails. */
void smtpd_hdr_rewrite(const char *data, size_t len,
    const struct smtpd_hdr_opts *o, struct sbuf *out,
    struct smtpd_hdr_result *r);

#endif
