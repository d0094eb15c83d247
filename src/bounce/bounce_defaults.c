/*
 * bounce_defaults.c -- the built-in <bounce-category-patterns> table.
 *
 * Equivalent to the list PowerMTA ships in its config-defaults (as seen in
 * public configs, see docs/accounting.md): first the text rules, then the
 * enhanced-status-code rules, then the catch-all. Written for Sluice:
 * consecutive rules that give the same category are merged into one
 * alternation, which keeps first-match order. One deliberate change: the
 * 2.x.x -> success rule comes first, so a successful reply that happens to
 * contain e.g. "relay" is never given a failure category.
 * Subjects look like "5.1.1;smtp;550 5.1.1 <x@y>: user unknown".
 */
#include "bounce/bounce_int.h"

/* Words for "the recipient" used by several mailbox rules. */
#define WHO "(?:user|mailbox|recipient|rcpt|local part|address|account|" \
	"mail drop|add?ressee)"
#define BADNESS "(?:not (?:a +)?valid|not known|not here|not found|" \
	"does not exist|bad|invalid|unknown|illegal|unavailable)"

const struct bounce_default bounce_defaults[] = {
	{ "^2\\.\\d+\\.\\d+;", "success" },
	{ "spam|junk mail|blacklist|blocked|\\bU\\.?C\\.?E\\.?\\b|"
	  "\\bAdv(?:ertisements?)?\\b|unsolicited|\\b(?:open)?RBL\\b|"
	  "realtime blackhole|http://basic\\.wirehub\\.nl/blackholes\\.html",
	  "spam-related" },
	{ "\\bvirus\\b", "virus-related" },
	{ "message +content|content +rejected", "content-related" },
	{ "quota|limit exceeded|mailbox +(?:is +)?full", "quota-issues" },
	{ "sender (?:(?:verify|verification) failed|could not be verified|"
	  "address rejected|domain must exist)|unable to verify sender|"
	  "requires valid sender domain|bad sender's system address|"
	  "No MX for envelope sender domain", "invalid-sender" },
	{ "^[45]\\.4\\.4", "routing-errors" },
	{ "no mail hosts for domain|Your domain has not? DNS/MX entries|"
	  "REQUESTED ACTION NOT TAKEN: DNS FAILURE|Domain of sender address|"
	  "return MX does not exist|Invalid sender domain|"
	  "Verification failed", "invalid-sender" },
	{ "\\bstorage\\b", "quota-issues" },
	{ WHO " (?:has|has been|is)? *(?:currently|temporarily +)?"
	  "(?:disabled|expired|inactive|not activated)|"
	  "(?:conta|usu.rio) inativ[ao]", "inactive-mailbox" },
	{ "Too many (?:bad|invalid|unknown|illegal|unavailable) " WHO,
	  "other" },
	{ "(?:No such|bad|invalid|unknown|illegal|unavailable) "
	  "(?:local +)?" WHO "|"
	  WHO " +(?:\\S+@\\S+ +)?" BADNESS "|"
	  "\\S+@\\S+ +(?:is +)?" BADNESS "|"
	  "no mailbox here by that name|my badrcptto list|not our customer|"
	  "no longer (?:valid|available)|have a \\S+ account", "bad-mailbox" },
	{ "\\brelay(?:ing)?", "relaying-issues" },
	{ "domain (?:retired|bad|invalid|unknown|illegal|unavailable)|"
	  "domain no longer in use|domain (?:\\S+ +)?(?:is +)?obsolete",
	  "bad-domain" },
	{ "denied|prohibit|refused|allowed|banned|policy|suspicious activity",
	  "policy-related" },
	{ "bad sequence|syntax error", "protocol-errors" },
	{ "\\broute\\b|\\bunroutable\\b|\\bunrouteable\\b", "routing-errors" },
	{ "Invalid 7bit DATA", "content-related" },
	/* Enhanced status codes (RFC 3463). */
	{ "^[45]\\.1\\.[1346];", "bad-mailbox" },
	{ "^[45]\\.1\\.2", "bad-domain" },
	{ "^[45]\\.1\\.[78];", "invalid-sender" },
	{ "^[45]\\.2\\.0;", "bad-mailbox" },
	{ "^[45]\\.2\\.1;", "inactive-mailbox" },
	{ "^[45]\\.2\\.2;", "quota-issues" },
	{ "^[45]\\.3\\.3;", "content-related" },
	{ "^[45]\\.3\\.5;", "bad-configuration" },
	{ "^[45]\\.4\\.1;", "no-answer-from-host" },
	{ "^[45]\\.4\\.2;", "bad-connection" },
	{ "^[45]\\.4\\.[36];", "routing-errors" },
	{ "^[45]\\.4\\.7;", "message-expired" },
	{ "^[45]\\.5\\.3;", "policy-related" },
	{ "^[45]\\.5\\.\\d+;", "protocol-errors" },
	{ "^[45]\\.6\\.\\d+;", "content-related" },
	{ "^[45]\\.7\\.[012];", "policy-related" },
	{ "^[45]\\.7\\.7;", "content-related" },
	{ "", "other" },
};

const size_t bounce_ndefaults =
    sizeof(bounce_defaults) / sizeof(bounce_defaults[0]);
