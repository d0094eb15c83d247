/*
 * smtpd_parse.h -- pure parsers for the SMTP server (no I/O, no state).
 *
 * Command verbs, MAIL/RCPT paths with ESMTP parameters (SIZE, BODY, RET,
 * ENVID, AUTH, NOTIFY, ORCPT), xtext (RFC 3461 §4) and base64 decoding.
 * Invariants: every function works on a NUL-terminated command line without
 * its CRLF; every output string is written into caller storage and is
 * NUL-terminated; nothing allocates. On a parse error the functions return
 * an enum smtpd_perr code, and smtpd_perr_reply() gives the matching SMTP
 * reply ("501 5.1.7 ...").
 * Ownership: the caller owns all buffers.
 */
#ifndef SLUICE_SMTPD_PARSE_H
#define SLUICE_SMTPD_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum smtpd_cmd {
	SMTPD_CMD_UNKNOWN = 0,
	SMTPD_CMD_HELO,
	SMTPD_CMD_EHLO,
	SMTPD_CMD_MAIL,
	SMTPD_CMD_RCPT,
	SMTPD_CMD_DATA,
	SMTPD_CMD_RSET,
	SMTPD_CMD_NOOP,
	SMTPD_CMD_QUIT,
	SMTPD_CMD_VRFY,
	SMTPD_CMD_HELP,
	SMTPD_CMD_STARTTLS,
	SMTPD_CMD_AUTH,
	SMTPD_CMD_NOTIMPL,	/* known verb we do not implement (EXPN...) */
	SMTPD_CMD_COUNT
};

/* Parse errors; 0 = ok. */
enum smtpd_perr {
	SMTPD_PERR_OK = 0,
	SMTPD_PERR_SYNTAX,		/* 501 5.5.4 */
	SMTPD_PERR_ADDR,		/* 501 5.1.7 / 5.1.3 */
	SMTPD_PERR_PARAM,		/* 501 5.5.4 bad parameter value */
	SMTPD_PERR_UNSUPPORTED,		/* 555 5.5.4 unknown parameter */
	SMTPD_PERR_TOOLONG,		/* 501 5.5.4 path too long */
};

#define SMTPD_PATH_MAX		256	/* RFC 5321 4.5.3.1.3 */
#define SMTPD_XTEXT_MAX		512	/* decoded ENVID / ORCPT */

#define SMTPD_NOTIFY_NEVER	0x01	/* == SPOOL_NOTIFY_* */
#define SMTPD_NOTIFY_SUCCESS	0x02
#define SMTPD_NOTIFY_FAILURE	0x04
#define SMTPD_NOTIFY_DELAY	0x08

struct smtpd_mail_args {
	char		 addr[SMTPD_PATH_MAX + 1];	/* "" = null sender */
	uint64_t	 size;		/* SIZE=, 0 = not given */
	int		 has_size;
	int		 body8;		/* BODY=8BITMIME */
	int		 ret;		/* 0 none, 1 FULL, 2 HDRS */
	int		 has_envid;
	char		 envid[SMTPD_XTEXT_MAX + 1];	/* decoded */
};

struct smtpd_rcpt_args {
	char		 addr[SMTPD_PATH_MAX + 1];
	uint8_t		 notify;	/* SMTPD_NOTIFY_* bits, 0 = not given */
	int		 has_orcpt;
	char		 orcpt[SMTPD_XTEXT_MAX + 1];	/* "rfc822;" + decoded */
};

/*
 * Split a command line into verb and argument. *arg points at the first
 * byte after the verb's separating space (or at the terminating NUL).
 * Returns SMTPD_CMD_UNKNOWN for an unknown verb or a verb glued to other
 * text ("DATA_").
 */
enum smtpd_cmd smtpd_parse_verb(const char *line, const char **arg);
const char *smtpd_cmd_name(enum smtpd_cmd c);

/* "FROM:<path> params" (arg of MAIL). Returns an smtpd_perr. */
int smtpd_parse_mail(const char *arg, struct smtpd_mail_args *out);
/* "TO:<path> params" (arg of RCPT). An empty path is a syntax error. */
int smtpd_parse_rcpt(const char *arg, struct smtpd_rcpt_args *out);
/* EHLO/HELO argument: one domain or address literal. 0 ok, else perr. */
int smtpd_parse_helo(const char *arg);

/*
 * Parse "<...>" at *pp: source route dropped, mailbox validated (dot-string
 * or quoted local part, domain or address literal); the mailbox is copied
 * in wire form into out (size SMTPD_PATH_MAX + 1). allow_empty: "<>" ok.
 * allow_bare: a mailbox without "@domain" is ok ("<postmaster>"). On success
 * *pp is moved past '>'.
 */
int smtpd_parse_path(const char **pp, char *out, int allow_empty,
    int allow_bare);

/*
 * Decode xtext (RFC 3461 §4: "+XX" hex escapes, chars 33..126 except '+'
 * and '='). Returns the decoded length, or -1 on a bad encoding, an empty
 * input or when it does not fit in outsz-1 bytes. out is NUL-terminated.
 */
int smtpd_xtext_decode(const char *in, size_t inlen, char *out,
    size_t outsz);

/*
 * Decode base64 (RFC 4648, padding required for partial quanta). Returns
 * the decoded length or -1. out must hold 3 * (inlen / 4) + 1 bytes; it is
 * NUL-terminated (the data may contain NULs, as AUTH PLAIN does).
 */
int smtpd_base64_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outsz);

/* SMTP reply text for a parse error on MAIL (is_rcpt 0) or RCPT. */
const char *smtpd_perr_reply(int perr, int is_rcpt);

#endif
