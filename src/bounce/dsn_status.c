/*
 * dsn_status.c -- RFC 3463 (and RFC 5248 registry) enhanced status texts,
 * written the way PowerMTA puts them in dsnStatus:
 * "5.1.1 (bad destination mailbox address)", "2.0.0 (success)".
 * All returned strings are static.
 */
#include <stdio.h>
#include <string.h>

#include "bounce/bounce.h"

struct dsn_text {
	int		 subject, detail;
	const char	*text;
};

/* Detail texts, lower case as PowerMTA writes them. */
static const struct dsn_text dsn_texts[] = {
	{ 0, 0, "undefined status" },
	{ 1, 0, "other address status" },
	{ 1, 1, "bad destination mailbox address" },
	{ 1, 2, "bad destination system: no such domain" },
	{ 1, 3, "bad destination mailbox address syntax" },
	{ 1, 4, "destination mailbox address ambiguous" },
	{ 1, 5, "destination mailbox address valid" },
	{ 1, 6, "mailbox has moved" },
	{ 1, 7, "bad sender's mailbox address syntax" },
	{ 1, 8, "bad sender's system address" },
	{ 1, 10, "recipient address has null MX" },
	{ 2, 0, "other or undefined mailbox status" },
	{ 2, 1, "mailbox disabled, not accepting messages" },
	{ 2, 2, "mailbox full" },
	{ 2, 3, "message length exceeds administrative limit" },
	{ 2, 4, "mailing list expansion problem" },
	{ 3, 0, "other or undefined mail system status" },
	{ 3, 1, "mail system full" },
	{ 3, 2, "system not accepting network messages" },
	{ 3, 3, "system not capable of selected features" },
	{ 3, 4, "message too big for system" },
	{ 3, 5, "system incorrectly configured" },
	{ 3, 6, "requested priority was changed" },
	{ 4, 0, "other or undefined network or routing status" },
	{ 4, 1, "no answer from host" },
	{ 4, 2, "bad connection" },
	{ 4, 3, "routing server failure" },
	{ 4, 4, "unable to route" },
	{ 4, 5, "network congestion" },
	{ 4, 6, "routing loop detected" },
	{ 4, 7, "delivery time expired" },
	{ 5, 0, "other or undefined protocol status" },
	{ 5, 1, "invalid command" },
	{ 5, 2, "syntax error" },
	{ 5, 3, "too many recipients" },
	{ 5, 4, "invalid command arguments" },
	{ 5, 5, "wrong protocol version" },
	{ 5, 6, "authentication exchange line too long" },
	{ 6, 0, "other or undefined media error" },
	{ 6, 1, "media not supported" },
	{ 6, 2, "conversion required and prohibited" },
	{ 6, 3, "conversion required but not supported" },
	{ 6, 4, "conversion with loss performed" },
	{ 6, 5, "conversion failed" },
	{ 6, 7, "non-ASCII addresses not permitted for that sender" },
	{ 6, 8, "UTF-8 string reply is required, but not permitted by the "
	    "client" },
	{ 6, 9, "UTF-8 header message cannot be transferred to one or more "
	    "recipients" },
	{ 7, 0, "other or undefined security status" },
	{ 7, 1, "delivery not authorized" },
	{ 7, 2, "mailing list expansion prohibited" },
	{ 7, 3, "security conversion required but not possible" },
	{ 7, 4, "security features not supported" },
	{ 7, 5, "cryptographic failure" },
	{ 7, 6, "cryptographic algorithm not supported" },
	{ 7, 7, "message integrity failure" },
	{ 7, 8, "authentication credentials invalid" },
	{ 7, 9, "authentication mechanism is too weak" },
	{ 7, 10, "encryption needed" },
	{ 7, 11, "encryption required for requested authentication "
	    "mechanism" },
	{ 7, 12, "a password transition is needed" },
	{ 7, 13, "user account disabled" },
	{ 7, 14, "trust relationship required" },
	{ 7, 15, "priority level is too low" },
	{ 7, 16, "message is too big for the specified priority" },
	{ 7, 17, "mailbox owner has changed" },
	{ 7, 18, "domain owner has changed" },
	{ 7, 19, "RRVS test cannot be completed" },
	{ 7, 20, "no passing DKIM signature found" },
	{ 7, 21, "no acceptable DKIM signature found" },
	{ 7, 22, "no valid author-matched DKIM signature found" },
	{ 7, 23, "SPF validation failed" },
	{ 7, 24, "SPF validation error" },
	{ 7, 25, "reverse DNS validation failed" },
	{ 7, 26, "multiple authentication checks failed" },
	{ 7, 27, "sender address has null MX" },
};

/* Parse "C.S.D" (optionally followed by anything non-digit). */
static int
dsn_status_parse(const char *s, int *c, int *sub, int *det)
{
	int n = 0;

	if (s == NULL || sscanf(s, "%1d.%3d.%3d%n", c, sub, det, &n) != 3 ||
	    n == 0 || (*c != 2 && *c != 4 && *c != 5))
		return -1;
	return 0;
}

const char *
dsn_status_text(const char *status)
{
	int c, sub, det;
	const char *subj = NULL;

	if (dsn_status_parse(status, &c, &sub, &det) != 0)
		return "undefined status";
	if (c == 2 && sub == 0 && det == 0)
		return "success";
	for (size_t i = 0; i < sizeof(dsn_texts) / sizeof(dsn_texts[0]); i++) {
		if (dsn_texts[i].subject != sub)
			continue;
		if (dsn_texts[i].detail == det)
			return dsn_texts[i].text;
		if (dsn_texts[i].detail == 0)
			subj = dsn_texts[i].text;
	}
	return subj ? subj : "undefined status";
}

void
dsn_status_format(char *buf, size_t len, const char *status)
{
	int c, sub, det;

	if (len == 0)
		return;
	if (dsn_status_parse(status, &c, &sub, &det) != 0) {
		snprintf(buf, len, "%s", status ? status : "");
		return;
	}
	snprintf(buf, len, "%d.%d.%d (%s)", c, sub, det,
	    dsn_status_text(status));
}
