/*
 * an_diag.h -- dsnDiag normalisation and classification.
 *
 * an_diag_normalise() turns a remote reply into a cluster key: IPs become
 * <ip>, e-mail addresses <email>, hex tokens <hex>, long tokens holding
 * digits (queue ids, Gmail's "a640si1234567qkh.123") <id>, other numbers #;
 * the reply code and enhanced status code are kept; whitespace (CR/LF
 * included) collapses to one space; the key is cut at AN_DIAG_KEYMAX.
 * an_diag_classify() maps a reply to an operational class, each with the
 * response the operational notes recommend. Pure functions, thread-safe.
 */
#ifndef SLUICE_AN_DIAG_H
#define SLUICE_AN_DIAG_H

#include <stddef.h>

#define AN_DIAG_KEYMAX	160

enum an_dclass {
	AN_DC_RATE,
	AN_DC_REPUTATION,
	AN_DC_AUTH,
	AN_DC_GREYLIST,
	AN_DC_CONTENT,
	AN_DC_MAILBOX,
	AN_DC_QUOTA,
	AN_DC_POLICY,
	AN_DC_CONNECTION,
	AN_DC_OTHER,
	AN_DC__COUNT
};

const char *an_dclass_name(enum an_dclass c);
const char *an_dclass_action(enum an_dclass c);
/* Write the cluster key of diag into out (cap >= AN_DIAG_KEYMAX + 1,
 * NUL-terminated); returns its length. */
size_t an_diag_normalise(const char *diag, size_t len, char *out, size_t cap);
/* Class of a reply from its dsnStatus and dsnDiag (either may be empty). */
enum an_dclass an_diag_classify(const char *status, size_t slen,
    const char *diag, size_t dlen);

#endif
