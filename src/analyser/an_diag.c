/*
 * an_diag.c -- dsnDiag normalisation (one pass, no allocation) and
 * rule-table classification (first matching rule wins).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "analyser/an_diag.h"

static const struct {
	const char *name;
	const char *action;
} an_dclasses[AN_DC__COUNT] = {
	[AN_DC_RATE] = { "rate-limit", "normal ISP throttling: lower "
	    "max-msg-rate/max-smtp-out for this ISP and let retries work; "
	    "do not add connections" },
	[AN_DC_REPUTATION] = { "reputation", "reputation signal: check "
	    "Postmaster Tools/SNDS, reduce volume to this ISP and lengthen "
	    "retry intervals; never increase connection attempts" },
	[AN_DC_AUTH] = { "authentication", "authentication/DMARC failure: fix "
	    "SPF, DKIM alignment and the DMARC record of the sending domain" },
	[AN_DC_GREYLIST] = { "greylisting", "greylisting: the retry will "
	    "succeed; keep retry-after, no action needed" },
	[AN_DC_CONTENT] = { "content", "content/spam filter: review content, "
	    "links and the list source of this campaign" },
	[AN_DC_MAILBOX] = { "bad-mailbox", "invalid recipients: suppress them "
	    "and review list quality" },
	[AN_DC_QUOTA] = { "quota", "mailbox full: soft failure; retry, "
	    "suppress after repeated failures" },
	[AN_DC_POLICY] = { "policy", "policy block: check blocklists and the "
	    "ISP's sender policy; contact the ISP if it persists" },
	[AN_DC_CONNECTION] = { "connection", "connection/DNS/TLS trouble "
	    "reaching the MX: usually transient; check routing if it persists" },
	[AN_DC_OTHER] = { "other", "unclassified: read the example reply" },
};

const char *
an_dclass_name(enum an_dclass c)
{
	return (unsigned)c < AN_DC__COUNT ? an_dclasses[c].name : "other";
}

const char *
an_dclass_action(enum an_dclass c)
{
	return (unsigned)c < AN_DC__COUNT ? an_dclasses[c].action : "";
}

static int
an_is_wordc(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@' ||
	    c == ':' || c == '%' || c == '+' || c == '=' || c == '/';
}

/* Classify one token; returns the replacement or NULL to keep it. */
static const char *
an_diag_token(const char *w, size_t n, int first)
{
	size_t digits = 0, hex = 0, dots = 0, colons = 0, at = 0, alpha = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		digits += isdigit(c) != 0;
		hex += isxdigit(c) != 0;
		alpha += isalpha(c) != 0;
		dots += c == '.';
		colons += c == ':';
		at += c == '@';
	}
	if (at && n > 2 && memmem(w, n, "://", 3) == NULL)
		return "<email>";
	if (digits == 0)
		return NULL;
	if (dots == 3 && digits + dots == n)
		return "<ip>";
	if (colons >= 2 && hex + colons == n)
		return "<ip>";
	if (dots == 2 && digits + dots == n && n <= 9 && isdigit(
	    (unsigned char)w[0]) && w[1] == '.')
		return NULL;			/* enhanced status 4.7.0 */
	if (digits == n)
		return first && n == 3 ? NULL : "#";
	if (hex == n && n >= 8)
		return "<hex>";
	if (n >= 8 && alpha > 0)
		return "<id>";
	if (n >= 8 || digits + dots == n)
		return "#";
	return NULL;				/* short codes: TSS04, RP-001 */
}

static size_t
an_put(char *out, size_t o, size_t cap, const char *s, size_t n)
{
	if (o + n > cap)
		n = cap > o ? cap - o : 0;
	memcpy(out + o, s, n);
	return o + n;
}

size_t
an_diag_normalise(const char *d, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0, lim = cap - 1 < AN_DIAG_KEYMAX ? cap - 1 :
	    AN_DIAG_KEYMAX, n;
	int first = 1, sp = 0;
	const char *rep;

	if (len >= 5 && strncasecmp(d, "smtp;", 5) == 0)
		i = 5;
	while (i < len && o < lim) {
		unsigned char c = (unsigned char)d[i];
		if (isspace(c)) {
			sp = o > 0;
			i++;
			continue;
		}
		if (sp) {
			out[o++] = ' ';
			sp = 0;
			if (o >= lim)
				break;
		}
		if (!an_is_wordc(c)) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		n = 0;
		while (i + n < len && an_is_wordc((unsigned char)d[i + n]))
			n++;
		if (first && n > 4 && isdigit(c) && d[i + 3] == '-')
			n = 3;			/* "421-4.7.0" */
		while (n > 1 && strchr(".:-/=", d[i + n - 1]) != NULL)
			n--;			/* trailing punctuation */
		const char *url = memmem(d + i, n, "://", 3), *sl;
		if (url && (sl = memchr(url + 3, '/', (size_t)(d + i + n -
		    url - 3))) != NULL) {
			/* URL: keep scheme and host, drop the variable path. */
			o = an_put(out, o, lim, d + i, (size_t)(sl - d - i));
			o = an_put(out, o, lim, "/...", 4);
			i += n;
			first = 0;
			continue;
		}
		rep = an_diag_token(d + i, n, first);
		o = rep ? an_put(out, o, lim, rep, strlen(rep)) :
		    an_put(out, o, lim, d + i, n);
		i += n;
		first = 0;
	}
	out[o] = '\0';
	return o;
}

struct an_drule {
	enum an_dclass	 cls;
	const char	*pat[4];	/* all must occur (lower case) */
};

static const struct an_drule an_drules[] = {
	{ AN_DC_AUTH, { "4.7.28" } }, { AN_DC_AUTH, { "5.7.26" } },
	{ AN_DC_AUTH, { "4.7.26" } }, { AN_DC_AUTH, { "5.7.27" } },
	{ AN_DC_AUTH, { "5.7.25" } }, { AN_DC_AUTH, { "dmarc" } },
	{ AN_DC_AUTH, { "authenticat" } }, { AN_DC_AUTH, { "spf" } },
	{ AN_DC_AUTH, { "dkim" } },
	{ AN_DC_GREYLIST, { "greylist" } }, { AN_DC_GREYLIST, { "graylist" } },
	{ AN_DC_GREYLIST, { "grey list" } }, { AN_DC_GREYLIST, { "451 4.7.1" } },
	{ AN_DC_GREYLIST, { "450 4.2.0" } },
	{ AN_DC_GREYLIST, { "451 ", "try again later" } },
	{ AN_DC_GREYLIST, { "450 ", "try again later" } },
	{ AN_DC_REPUTATION, { "tss0" } }, { AN_DC_REPUTATION, { "rp-00" } },
	{ AN_DC_REPUTATION, { "reputation" } },
	{ AN_DC_REPUTATION, { "spamhaus" } }, { AN_DC_REPUTATION, { "blocklist" } },
	{ AN_DC_REPUTATION, { "block list" } },
	{ AN_DC_REPUTATION, { "blacklist" } }, { AN_DC_REPUTATION, { "dnsbl" } },
	{ AN_DC_RATE, { "4.2.1" } }, { AN_DC_RATE, { " rate" } },
	{ AN_DC_RATE, { "too many" } }, { AN_DC_RATE, { "throttl" } },
	{ AN_DC_RATE, { "ratelimit" } }, { AN_DC_RATE, { "slow down" } },
	{ AN_DC_REPUTATION, { "4.7.0" } },
	{ AN_DC_QUOTA, { "quota" } }, { AN_DC_QUOTA, { "mailbox full" } },
	{ AN_DC_QUOTA, { "mailbox is full" } }, { AN_DC_QUOTA, { "5.2.2" } },
	{ AN_DC_QUOTA, { "4.2.2" } }, { AN_DC_QUOTA, { "insufficient storage" } },
	{ AN_DC_QUOTA, { "time limit" } },
	{ AN_DC_MAILBOX, { "5.1.1" } }, { AN_DC_MAILBOX, { "5.1.2" } },
	{ AN_DC_MAILBOX, { "5.1.10" } }, { AN_DC_MAILBOX, { "5.2.1" } },
	{ AN_DC_MAILBOX, { "user unknown" } }, { AN_DC_MAILBOX, { "unknown user" } },
	{ AN_DC_MAILBOX, { "no such user" } }, { AN_DC_MAILBOX, { "does not exist" } },
	{ AN_DC_MAILBOX, { "doesn't exist" } },
	{ AN_DC_MAILBOX, { "invalid recipient" } },
	{ AN_DC_MAILBOX, { "recipient unknown" } },
	{ AN_DC_MAILBOX, { "mailbox unavailable" } },
	{ AN_DC_MAILBOX, { "mailbox not found" } },
	{ AN_DC_MAILBOX, { "no mailbox" } }, { AN_DC_MAILBOX, { "disabled" } },
	{ AN_DC_CONTENT, { "spam" } }, { AN_DC_CONTENT, { "content" } },
	{ AN_DC_CONTENT, { "virus" } }, { AN_DC_CONTENT, { "unsolicited" } },
	{ AN_DC_CONTENT, { "phish" } }, { AN_DC_CONTENT, { "malware" } },
	{ AN_DC_CONNECTION, { "4.4." } }, { AN_DC_CONNECTION, { "5.4." } },
	{ AN_DC_CONNECTION, { "no answer" } }, { AN_DC_CONNECTION, { "timed out" } },
	{ AN_DC_CONNECTION, { "timeout" } },
	{ AN_DC_CONNECTION, { "connection refused" } },
	{ AN_DC_CONNECTION, { "connection reset" } },
	{ AN_DC_CONNECTION, { "lost connection" } },
	{ AN_DC_CONNECTION, { "tls" } },
	{ AN_DC_POLICY, { "policy" } }, { AN_DC_POLICY, { "5.7." } },
	{ AN_DC_POLICY, { "denied" } }, { AN_DC_POLICY, { "not allowed" } },
	{ AN_DC_POLICY, { "rejected" } }, { AN_DC_POLICY, { "blocked" } },
};

enum an_dclass
an_diag_classify(const char *status, size_t slen, const char *diag,
    size_t dlen)
{
	char buf[600];
	size_t n = 0, k;

	/* "status diag" in lower case, bounded, whitespace collapsed. */
	for (size_t i = 0; i < slen && n < 200; i++)
		buf[n++] = (char)tolower((unsigned char)status[i]);
	buf[n++] = ' ';
	for (size_t i = 0; i < dlen && n < sizeof(buf) - 1; i++) {
		char c = (char)tolower((unsigned char)diag[i]);
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		if (c == '-' && n >= 3 && isdigit((unsigned char)buf[n - 1]) &&
		    isdigit((unsigned char)buf[n - 2]) &&
		    isdigit((unsigned char)buf[n - 3]))
			c = ' ';	/* "421-4.7.0" reads as "421 4.7.0" */
		if (c == ' ' && n > 0 && buf[n - 1] == ' ')
			continue;
		buf[n++] = c;
	}
	buf[n] = '\0';
	for (size_t r = 0; r < sizeof(an_drules) / sizeof(an_drules[0]); r++) {
		for (k = 0; k < 4 && an_drules[r].pat[k]; k++)
			if (strstr(buf, an_drules[r].pat[k]) == NULL)
				break;
		if (k == 4 || an_drules[r].pat[k] == NULL)
			return an_drules[r].cls;
	}
	return AN_DC_OTHER;
}
