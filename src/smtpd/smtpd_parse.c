/*
 * smtpd_parse.c -- pure parsers for SMTP commands (see smtpd_parse.h).
 *
 * Deliberately stricter than many servers: angle brackets are required
 * around paths, an empty forward-path is refused, parameters may appear
 * once, and only the extensions we advertise are accepted as parameters.
 * Bytes >= 0x80 are accepted in local parts and domains (UTF-8 passes
 * through unchanged). Nothing here allocates.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd/smtpd_parse.h"

static const struct {
	const char	*name;
	enum smtpd_cmd	 cmd;
} verbs[] = {
	{ "HELO", SMTPD_CMD_HELO },	{ "EHLO", SMTPD_CMD_EHLO },
	{ "MAIL", SMTPD_CMD_MAIL },	{ "RCPT", SMTPD_CMD_RCPT },
	{ "DATA", SMTPD_CMD_DATA },	{ "RSET", SMTPD_CMD_RSET },
	{ "NOOP", SMTPD_CMD_NOOP },	{ "QUIT", SMTPD_CMD_QUIT },
	{ "VRFY", SMTPD_CMD_VRFY },	{ "HELP", SMTPD_CMD_HELP },
	{ "STARTTLS", SMTPD_CMD_STARTTLS }, { "AUTH", SMTPD_CMD_AUTH },
	{ "EXPN", SMTPD_CMD_NOTIMPL },	{ "ETRN", SMTPD_CMD_NOTIMPL },
	{ "TURN", SMTPD_CMD_NOTIMPL },	{ "ATRN", SMTPD_CMD_NOTIMPL },
	{ "BDAT", SMTPD_CMD_NOTIMPL },	{ "BURL", SMTPD_CMD_NOTIMPL },
	{ "LHLO", SMTPD_CMD_NOTIMPL },	{ "SEND", SMTPD_CMD_NOTIMPL },
	{ "SOML", SMTPD_CMD_NOTIMPL },	{ "SAML", SMTPD_CMD_NOTIMPL },
};

enum smtpd_cmd
smtpd_parse_verb(const char *line, const char **arg)
{
	size_t n = 0, i;

	while (isalpha((unsigned char)line[n]))
		n++;
	*arg = line + n;
	if (line[n] != '\0' && line[n] != ' ')
		return SMTPD_CMD_UNKNOWN;
	if (line[n] == ' ')
		*arg = line + n + 1;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == n &&
		    strncasecmp(verbs[i].name, line, n) == 0)
			return verbs[i].cmd;
	return SMTPD_CMD_UNKNOWN;
}

const char *
smtpd_cmd_name(enum smtpd_cmd c)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].cmd == c)
			return verbs[i].name;
	return "UNKNOWN";
}

/* RFC 5322 atext, plus UTF-8 bytes. */
static int
is_atext(unsigned char c)
{
	if (c >= 0x80 || isalnum(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
is_ldh(unsigned char c)
{
	return c >= 0x80 || isalnum(c) || c == '-';
}

/* Domain (sub-domains) or address literal at p; returns its length or -1. */
static int
parse_domain(const char *p)
{
	const char *s = p;
	size_t lab;

	if (*p == '[') {
		for (p++; *p != ']'; p++) {
			unsigned char c = (unsigned char)*p;
			if (c < 33 || c > 126 || c == '[' || c == '\\')
				return -1;
		}
		return p - s + 1 > 255 ? -1 : (int)(p - s + 1);
	}
	for (;;) {
		for (lab = 0; is_ldh((unsigned char)p[lab]); lab++)
			;
		if (lab == 0 || lab > 63 || p[0] == '-' || p[lab - 1] == '-')
			return -1;
		p += lab;
		if (*p != '.')
			break;
		p++;
	}
	return p - s > 255 ? -1 : (int)(p - s);
}

/* Local part (dot-string or quoted-string); returns its length or -1. */
static int
parse_local(const char *p)
{
	const char *s = p;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '\\') {
				c = (unsigned char)*++p;
				if (c < 32 || c > 126)
					return -1;
			} else if ((c < 32 || c > 126) && c < 0x80)
				return -1;
		}
		p++;
	} else {
		for (;;) {
			if (!is_atext((unsigned char)*p))
				return -1;
			while (is_atext((unsigned char)*p))
				p++;
			if (*p != '.')
				break;
			p++;
		}
	}
	return p - s > 64 ? -1 : (int)(p - s);
}

/* Skip an RFC 5321 source route "@a,@b:" (obsolete; ignored). */
static int
skip_route(const char **pp)
{
	const char *p = *pp;
	int n;

	if (*p != '@')
		return 0;
	for (;;) {
		if (*p++ != '@' || (n = parse_domain(p)) < 0)
			return -1;
		p += n;
		if (*p == ':')
			break;
		if (*p++ != ',')
			return -1;
	}
	*pp = p + 1;
	return 0;
}

int
smtpd_parse_path(const char **pp, char *out, int allow_empty, int allow_bare)
{
	const char *p = *pp, *mbox;
	int n;

	if (*p++ != '<')
		return SMTPD_PERR_SYNTAX;
	if (*p == '>') {
		if (!allow_empty)
			return SMTPD_PERR_ADDR;
		out[0] = '\0';
		*pp = p + 1;
		return 0;
	}
	if (skip_route(&p) < 0)
		return SMTPD_PERR_ADDR;
	mbox = p;
	if ((n = parse_local(p)) < 0)
		return SMTPD_PERR_ADDR;
	p += n;
	if (*p == '>') {
		if (!allow_bare || n != 10 || strncasecmp(mbox, "postmaster",
		    10) != 0)
			return SMTPD_PERR_ADDR;
	} else {
		if (*p++ != '@' || (n = parse_domain(p)) < 0)
			return SMTPD_PERR_ADDR;
		p += n;
		if (*p != '>')
			return strchr(p, '>') ? SMTPD_PERR_ADDR : SMTPD_PERR_SYNTAX;
	}
	if (p - mbox > SMTPD_PATH_MAX)
		return SMTPD_PERR_TOOLONG;
	memcpy(out, mbox, p - mbox);
	out[p - mbox] = '\0';
	*pp = p + 1;
	return 0;
}

int
smtpd_xtext_decode(const char *in, size_t inlen, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	if (inlen == 0)
		return -1;
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (o + 1 >= outsz)
			return -1;
		if (c == '+') {
			const char *h, *l;
			if (i + 2 >= inlen)
				return -1;
			h = strchr(hex, toupper((unsigned char)in[i + 1]));
			l = strchr(hex, toupper((unsigned char)in[i + 2]));
			if (in[i + 1] == '\0' || in[i + 2] == '\0' || !h || !l)
				return -1;
			out[o++] = (char)((h - hex) << 4 | (l - hex));
			i += 2;
		} else if (c < 33 || c > 126 || c == '=')
			return -1;
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
smtpd_base64_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outsz)
{
	size_t i, o = 0;
	int v[4], k, pad;

	if (inlen % 4 != 0 || outsz < 3 * (inlen / 4) + 1)
		return -1;
	for (i = 0; i < inlen; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && k >= 2 && i + 4 == inlen) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64val(c)) < 0)
				return -1;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	out[o] = '\0';
	return (int)o;
}

/* "FROM:" / "TO:" with optional spaces around the colon (lenient). */
static const char *
skip_keyword(const char *p, const char *kw)
{
	size_t n = strlen(kw);

	while (*p == ' ')
		p++;
	if (strncasecmp(p, kw, n) != 0)
		return NULL;
	p += n;
	while (*p == ' ')
		p++;
	if (*p++ != ':')
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

/*
 * Iterate over "KEY[=VALUE]" parameters separated by spaces. Returns 1 with
 * key/value spans set, 0 at the end, -1 on a syntax error.
 */
static int
next_param(const char **pp, const char **k, size_t *klen, const char **v,
    size_t *vlen)
{
	const char *p = *pp, *e;

	if (*p == '\0')
		return 0;
	if (*p != ' ')
		return -1;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	for (e = p; *e && *e != ' '; e++)
		;
	*k = p;
	*v = memchr(p, '=', e - p);
	if (*v) {
		*klen = *v - p;
		(*v)++;
		*vlen = e - *v;
	} else {
		*klen = e - p;
		*vlen = 0;
	}
	*pp = e;
	return *klen ? 1 : -1;
}

static int
key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && strncasecmp(k, name, klen) == 0;
}

static int
mail_param(struct smtpd_mail_args *m, const char *k, size_t kl, const char *v,
    size_t vl, unsigned *seen)
{
	size_t i;
	char tmp[SMTPD_XTEXT_MAX + 1];

	if (key_is(k, kl, "SIZE")) {
		if (*seen & 1 || v == NULL || vl == 0 || vl > 19)
			return SMTPD_PERR_PARAM;
		for (i = 0, m->size = 0; i < vl; i++) {
			if (!isdigit((unsigned char)v[i]))
				return SMTPD_PERR_PARAM;
			m->size = m->size * 10 + (uint64_t)(v[i] - '0');
		}
		m->has_size = 1;
		*seen |= 1;
	} else if (key_is(k, kl, "BODY")) {
		if (*seen & 2 || v == NULL)
			return SMTPD_PERR_PARAM;
		if (key_is(v, vl, "8BITMIME"))
			m->body8 = 1;
		else if (!key_is(v, vl, "7BIT"))
			return SMTPD_PERR_PARAM;
		*seen |= 2;
	} else if (key_is(k, kl, "RET")) {
		if (*seen & 4 || v == NULL)
			return SMTPD_PERR_PARAM;
		if (key_is(v, vl, "FULL"))
			m->ret = 1;
		else if (key_is(v, vl, "HDRS"))
			m->ret = 2;
		else
			return SMTPD_PERR_PARAM;
		*seen |= 4;
	} else if (key_is(k, kl, "ENVID")) {
		if (*seen & 8 || v == NULL || vl > 100 ||
		    smtpd_xtext_decode(v, vl, m->envid, sizeof(m->envid)) < 0)
			return SMTPD_PERR_PARAM;
		m->has_envid = 1;
		*seen |= 8;
	} else if (key_is(k, kl, "AUTH")) {
		/* RFC 4954 §5: accepted and not trusted; value ignored. */
		if (*seen & 16 || v == NULL ||
		    smtpd_xtext_decode(v, vl, tmp, sizeof(tmp)) < 0)
			return SMTPD_PERR_PARAM;
		*seen |= 16;
	} else
		return SMTPD_PERR_UNSUPPORTED;
	return 0;
}

int
smtpd_parse_mail(const char *arg, struct smtpd_mail_args *m)
{
	const char *p, *k, *v;
	size_t kl, vl;
	unsigned seen = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if ((p = skip_keyword(arg, "FROM")) == NULL)
		return SMTPD_PERR_SYNTAX;
	if ((r = smtpd_parse_path(&p, m->addr, 1, 1)) != 0)
		return r;
	while ((r = next_param(&p, &k, &kl, &v, &vl)) == 1)
		if ((r = mail_param(m, k, kl, v, vl, &seen)) != 0)
			return r;
	return r < 0 ? SMTPD_PERR_SYNTAX : 0;
}

static int
parse_notify(const char *v, size_t vl, uint8_t *out)
{
	const char *e = v + vl, *c;
	uint8_t bits = 0;

	if (vl == 0)
		return -1;
	while (v < e) {
		c = memchr(v, ',', e - v);
		if (c == NULL)
			c = e;
		if (key_is(v, c - v, "NEVER"))
			bits |= SMTPD_NOTIFY_NEVER;
		else if (key_is(v, c - v, "SUCCESS"))
			bits |= SMTPD_NOTIFY_SUCCESS;
		else if (key_is(v, c - v, "FAILURE"))
			bits |= SMTPD_NOTIFY_FAILURE;
		else if (key_is(v, c - v, "DELAY"))
			bits |= SMTPD_NOTIFY_DELAY;
		else
			return -1;
		v = c + (c < e);
		if (c + 1 == e)
			return -1;	/* trailing comma */
	}
	if ((bits & SMTPD_NOTIFY_NEVER) && bits != SMTPD_NOTIFY_NEVER)
		return -1;
	*out = bits;
	return 0;
}

static int
parse_orcpt(const char *v, size_t vl, char *out, size_t outsz)
{
	const char *semi = memchr(v, ';', vl);
	size_t tl, i;

	if (semi == NULL || semi == v || (size_t)(semi - v) + 1 >= vl)
		return -1;
	tl = semi - v;
	for (i = 0; i < tl; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return -1;
	if (tl + 2 >= outsz)
		return -1;
	memcpy(out, v, tl + 1);
	if (smtpd_xtext_decode(semi + 1, vl - tl - 1, out + tl + 1,
	    outsz - tl - 1) < 0)
		return -1;
	return 0;
}

int
smtpd_parse_rcpt(const char *arg, struct smtpd_rcpt_args *r)
{
	const char *p, *k, *v;
	size_t kl, vl;
	int e;

	memset(r, 0, sizeof(*r));
	if ((p = skip_keyword(arg, "TO")) == NULL)
		return SMTPD_PERR_SYNTAX;
	if ((e = smtpd_parse_path(&p, r->addr, 0, 1)) != 0)
		return e;
	while ((e = next_param(&p, &k, &kl, &v, &vl)) == 1) {
		if (key_is(k, kl, "NOTIFY")) {
			if (r->notify || v == NULL ||
			    parse_notify(v, vl, &r->notify) < 0)
				return SMTPD_PERR_PARAM;
		} else if (key_is(k, kl, "ORCPT")) {
			if (r->has_orcpt || v == NULL || vl > 500 ||
			    parse_orcpt(v, vl, r->orcpt, sizeof(r->orcpt)) < 0)
				return SMTPD_PERR_PARAM;
			r->has_orcpt = 1;
		} else
			return SMTPD_PERR_UNSUPPORTED;
	}
	return e < 0 ? SMTPD_PERR_SYNTAX : 0;
}

int
smtpd_parse_helo(const char *arg)
{
	const char *p = arg;

	if (*p == '\0' || *p == ' ')
		return SMTPD_PERR_SYNTAX;
	for (; *p && *p != ' '; p++)
		if ((unsigned char)*p < 33 || *p == 127)
			return SMTPD_PERR_SYNTAX;
	while (*p == ' ')
		p++;
	return *p == '\0' ? 0 : SMTPD_PERR_SYNTAX;
}

const char *
smtpd_perr_reply(int perr, int is_rcpt)
{
	switch (perr) {
	case SMTPD_PERR_ADDR:
		return is_rcpt ? "501 5.1.3 Bad recipient address syntax" :
		    "501 5.1.7 Bad sender address syntax";
	case SMTPD_PERR_PARAM:
		return "501 5.5.4 Invalid parameter value";
	case SMTPD_PERR_UNSUPPORTED:
		return "555 5.5.4 Unsupported parameter";
	case SMTPD_PERR_TOOLONG:
		return "501 5.5.4 Path too long";
	default:
		return is_rcpt ? "501 5.5.4 Syntax: RCPT TO:<address> [params]" :
		    "501 5.5.4 Syntax: MAIL FROM:<address> [params]";
	}
}
