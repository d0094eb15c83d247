/* SPDX-License-Identifier: ISC
 *
 * dkim_sign.c -- dkim_sign(): builds the folded DKIM-Signature header.
 *
 * Invariants: every output line (CRLF excluded) is at most
 * DKIM_FOLD_WIDTH columns unless a single d= or i= value is itself
 * longer; folding only happens where RFC 6376 allows FWS (between tags,
 * after a ':' in h=, inside the b= value), and the header that is hashed
 * is byte-for-byte the header that is returned minus the b= value, so
 * simple header canonicalisation verifies too.
 * Ownership: the returned header is malloc'd and owned by the caller;
 * params and message are only read. Thread-safe for concurrent calls.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_int.h"
#include "lib/xmalloc.h"

struct fold {
	struct sbuf	*b;
	size_t		 col;
};

/* Append word w; on the same line it is preceded by a space if sp. */
static void
fold_word(struct fold *f, const char *w, size_t n, int sp)
{
	if (f->col + n + (sp ? 1 : 0) > DKIM_FOLD_WIDTH && f->col > 1) {
		sbuf_put(f->b, "\r\n ", 3);
		f->col = 1;
	} else if (sp) {
		sbuf_putc(f->b, ' ');
		f->col++;
	}
	sbuf_put(f->b, w, n);
	f->col += n;
}

/* Append "tag=val;" as one word. */
static void
fold_tag(struct fold *f, const char *tag, const char *val)
{
	size_t tl = strlen(tag), vl = strlen(val), n = tl + vl + 2;

	if (f->col + n + 1 > DKIM_FOLD_WIDTH && f->col > 1) {
		sbuf_put(f->b, "\r\n ", 3);
		f->col = 1;
	} else {
		sbuf_putc(f->b, ' ');
		f->col++;
	}
	sbuf_put(f->b, tag, tl);
	sbuf_putc(f->b, '=');
	sbuf_put(f->b, val, vl);
	sbuf_putc(f->b, ';');
	f->col += n;
}

/* h=: the list may be folded after any ':' (RFC 6376 §3.5 sig-h-tag). */
static void
fold_hlist(struct fold *f, const char *hlist)
{
	struct sbuf w;
	int first = 1;

	sbuf_init(&w);
	for (const char *p = hlist; *p != '\0';) {
		size_t n = strcspn(p, ":");

		sbuf_reset(&w);
		if (first)
			sbuf_puts(&w, "h=");
		sbuf_put(&w, p, n);
		sbuf_putc(&w, p[n] == ':' ? ':' : ';');
		fold_word(f, w.p, w.len, first);
		first = 0;
		p += n + (p[n] == ':');
	}
	sbuf_fini(&w);
}

/* b=: the value may be folded anywhere (sign_build left room after it). */
static void
fold_b(struct fold *f, const char *v)
{
	size_t left = strlen(v);

	while (left > 0) {
		size_t room = DKIM_FOLD_WIDTH - f->col;
		size_t n = left < room ? left : room;

		sbuf_put(f->b, v, n);
		v += n;
		left -= n;
		f->col += n;
		if (left > 0) {
			sbuf_put(f->b, "\r\n ", 3);
			f->col = 1;
		}
	}
}

/* dkim-quoted-printable (RFC 6376 §2.11) for the i= value. */
static char *
sign_qp(const char *s)
{
	struct sbuf b;

	sbuf_init(&b);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 0x20 && c < 0x7f && c != ';' && c != '=')
			sbuf_putc(&b, (char)c);
		else
			sbuf_printf(&b, "=%02X", c);
	}
	return sbuf_steal(&b, NULL);
}

/* i= must be "[local]@domain" with domain equal to or below d=. */
static int
sign_identity_ok(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');
	size_t il, dl = strlen(d);

	if (at == NULL)
		return 0;
	at++;
	il = strlen(at);
	if (il == dl)
		return strcasecmp(at, d) == 0;
	return il > dl && at[il - dl - 1] == '.' &&
	    strcasecmp(at + il - dl, d) == 0;
}

static int
sign_check(const struct dkim_sign_params *p, char *err, size_t errlen)
{
	if (p->key == NULL) {
		snprintf(err, errlen, "dkim: no key");
		return -1;
	}
	if ((p->header_canon != DKIM_CANON_RELAXED &&
	    p->header_canon != DKIM_CANON_SIMPLE) ||
	    (p->body_canon != DKIM_CANON_RELAXED &&
	    p->body_canon != DKIM_CANON_SIMPLE)) {
		snprintf(err, errlen, "dkim: bad canonicalisation");
		return -1;
	}
	if (p->expire_after < 0 || p->timestamp < 0) {
		snprintf(err, errlen, "dkim: negative timestamp or expiry");
		return -1;
	}
	if (p->identity != NULL &&
	    !sign_identity_ok(p->identity, p->key->domain)) {
		snprintf(err, errlen, "dkim: identity \"%s\" is not in the "
		    "signing domain %s (RFC 6376 §3.5 i=)", p->identity,
		    p->key->domain);
		return -1;
	}
	return 0;
}

static const char *
canon_name(enum dkim_canon c)
{
	return c == DKIM_CANON_SIMPLE ? "simple" : "relaxed";
}

/* The header up to and including "b=" (no CRLF) into out. */
static void
sign_build(const struct dkim_sign_params *p, const char *hlist,
    const char *bh, struct fold *f)
{
	const struct dkim_key *k = p->key;
	int64_t t = p->timestamp ? (int64_t)p->timestamp : (int64_t)time(NULL);
	char canon[32], num[32];

	sbuf_puts(f->b, "DKIM-Signature:");
	f->col = 15;
	fold_tag(f, "v", "1");
	fold_tag(f, "a", dkim_alg_name(k->alg));
	snprintf(canon, sizeof(canon), "%s/%s", canon_name(p->header_canon),
	    canon_name(p->body_canon));
	fold_tag(f, "c", canon);
	fold_tag(f, "d", k->domain);
	fold_tag(f, "s", k->selector);
	if (p->identity != NULL) {
		char *q = sign_qp(p->identity);

		fold_tag(f, "i", q);
		free(q);
	}
	snprintf(num, sizeof(num), "%" PRId64, t);
	fold_tag(f, "t", num);
	if (p->expire_after > 0) {
		snprintf(num, sizeof(num), "%" PRId64, t + p->expire_after);
		fold_tag(f, "x", num);
	}
	fold_hlist(f, hlist);
	fold_tag(f, "bh", bh);
	/* Keep value chars beside "b=": no FWS may follow it directly. */
	if (f->col + 1 + 2 + 8 > DKIM_FOLD_WIDTH) {
		sbuf_put(f->b, "\r\n b=", 5);
		f->col = 3;
	} else
		fold_word(f, "b=", 2, 1);
}

char *
dkim_sign(const struct dkim_sign_params *p, const char *msg, size_t len,
    char *err, size_t errlen)
{
	struct dkim_hdr h;
	struct sbuf hlist, bh, out, sig;
	struct fold f;
	EVP_MD_CTX *md;
	int rc = -1;

	if (errlen > 0)
		err[0] = '\0';
	if (sign_check(p, err, errlen) == -1)
		return NULL;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "dkim: out of memory (EVP_MD_CTX)");
		return NULL;
	}
	dkim_hdr_parse(&h, msg, len);
	sbuf_init(&hlist);
	sbuf_init(&bh);
	sbuf_init(&out);
	sbuf_init(&sig);
	f.b = &out;
	if (dkim_hdr_count(&h, "from", 4) == 0)
		snprintf(err, errlen, "dkim: message has no From header");
	else if (dkim_hdr_list(&h, p->headers, &hlist, err, errlen) == 0 &&
	    dkim_body_hash(md, p->body_canon, h.body, h.bodylen, &bh, err,
	    errlen) == 0) {
		sign_build(p, hlist.p, bh.p, &f);
		rc = dkim_sign_fields(md, p->key, p->header_canon, &h, hlist.p,
		    out.p, &sig, err, errlen);
	}
	EVP_MD_CTX_free(md);
	if (rc == 0) {
		fold_b(&f, sig.p);
		sbuf_put(&out, "\r\n", 2);
	}
	dkim_hdr_fini(&h);
	sbuf_fini(&hlist);
	sbuf_fini(&bh);
	sbuf_fini(&sig);
	if (rc == -1) {
		sbuf_fini(&out);
		return NULL;
	}
	return sbuf_steal(&out, NULL);
}
