/*
 * smtpc_txn.c -- one mail transaction: [RSET] MAIL, RCPT..., DATA, data.
 *
 * With PIPELINING (RFC 2920) RSET (if needed), MAIL, every RCPT and DATA go
 * out in one write and the replies are matched in order; otherwise one
 * command at a time. RFC 2920 §3.1: when no RCPT was accepted but DATA got
 * 354 anyway, a lone "." ends the empty transaction; without PIPELINING a
 * transaction whose RCPTs all failed sends no DATA and is reset (RSET)
 * before the next one. Timeouts follow RFC 5321 §4.5.3.2.
 * Invariants: c->xq[xq_head..xq_len) lists the replies still expected, in
 * order; every reply text in c->res is heap memory owned by c->res.
 * If MAIL fails, every rcpt[] carries the MAIL reply.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpc/smtpc_conn.h"

#define SMTPC_CHUNK	65536

static const char *smtpc_x_names[] = {
	[SMTPC_X_RSET] = "RSET", [SMTPC_X_MAIL] = "MAIL FROM",
	[SMTPC_X_RCPT] = "RCPT TO", [SMTPC_X_DATA] = "DATA",
	[SMTPC_X_DOT] = "end of data", [SMTPC_X_DOT_EMPTY] = "end of data",
};

static void
smtpc_reply_set(struct smtpc_reply *dst, int code, const char *enh,
    const char *text)
{
	free((char *)dst->text);
	dst->code = code;
	snprintf(dst->enh, sizeof(dst->enh), "%s", enh);
	dst->text = xstrdup(text);
}

static void
smtpc_reply_copy(struct smtpc_reply *dst, const struct smtpc_reply *src)
{
	smtpc_reply_set(dst, src->code, src->enh, src->text);
}

static void
smtpc_result_free(struct smtpc_result *r)
{
	free((char *)r->mail.text);
	free((char *)r->data.text);
	for (size_t i = 0; i < r->nrcpt; i++)
		free((char *)r->rcpt[i].text);
	free(r->rcpt);
	memset(r, 0, sizeof(*r));
}

void
smtpc_txn_clear(struct smtpc *c)
{
	smtpc_result_free(&c->res);
	free(c->xq);
	free(c->xq_rcpt);
	c->xq = NULL;
	c->xq_rcpt = NULL;
	c->xq_head = c->xq_len = 0;
	c->t = NULL;
	if (c->state == SMTPC_S_TXN)
		c->state = SMTPC_S_IDLE;
}

static void
smtpc_xq_push(struct smtpc *c, enum smtpc_expect x, size_t rcpt)
{
	c->xq[c->xq_len] = x;
	c->xq_rcpt[c->xq_len++] = rcpt;
}

static int
smtpc_txn_any_rcpt_ok(const struct smtpc *c)
{
	for (size_t i = 0; i < c->res.nrcpt; i++)
		if (c->res.rcpt[i].code / 100 == 2)
			return 1;
	return 0;
}

/* Arm the timer for the reply at the head of the queue. */
static void
smtpc_txn_timer(struct smtpc *c)
{
	int t;

	if (c->xq_head >= c->xq_len)
		return;
	switch (c->xq[c->xq_head]) {
	case SMTPC_X_DATA:
		t = c->p.data_init_timeout > 0 ? c->p.data_init_timeout : 120;
		break;
	case SMTPC_X_DOT:
	case SMTPC_X_DOT_EMPTY:
		if (c->data_off < c->data_out.len)
			t = c->p.data_block_timeout > 0 ?
			    c->p.data_block_timeout : 180;
		else
			t = c->p.data_term_timeout > 0 ?
			    c->p.data_term_timeout : 600;
		break;
	default:
		t = c->p.cmd_timeout > 0 ? c->p.cmd_timeout : 300;
		break;
	}
	smtpc_timer_arm(c, t);
}

static void
smtpc_txn_mail(struct smtpc *c, struct sbuf *out)
{
	const struct smtpc_txn *t = c->t;
	unsigned f = c->ext.flags;

	sbuf_printf(out, "MAIL FROM:<%s>", t->mail_from);
	if (f & SMTPC_EXT_SIZE)
		sbuf_printf(out, " SIZE=%zu", t->size_hint ? t->size_hint :
		    t->datalen);
	if ((f & SMTPC_EXT_8BITMIME) && smtpc_has_8bit(t->data, t->datalen))
		sbuf_puts(out, " BODY=8BITMIME");
	if ((f & SMTPC_EXT_SMTPUTF8) && smtpc_has_8bit(t->mail_from,
	    strlen(t->mail_from)))
		sbuf_puts(out, " SMTPUTF8");
	if (f & SMTPC_EXT_DSN) {
		if (t->ret_full)
			sbuf_puts(out, " RET=FULL");
		if (t->envid != NULL && *t->envid != '\0') {
			sbuf_puts(out, " ENVID=");
			smtpc_xtext(t->envid, out);
		}
	}
	sbuf_puts(out, "\r\n");
}

static void
smtpc_txn_rcpt(struct smtpc *c, size_t i, struct sbuf *out)
{
	const struct smtpc_txn *t = c->t;

	sbuf_printf(out, "RCPT TO:<%s>", t->rcpts[i]);
	if ((c->ext.flags & SMTPC_EXT_DSN) && t->orcpts != NULL &&
	    t->orcpts[i] != NULL && *t->orcpts[i] != '\0') {
		sbuf_puts(out, " ORCPT=rfc822;");
		smtpc_xtext(t->orcpts[i], out);
	}
	sbuf_puts(out, "\r\n");
}

/* Send one command (lock-step) and expect its reply. */
static void
smtpc_txn_cmd(struct smtpc *c, enum smtpc_expect x, size_t rcpt)
{
	struct sbuf out;

	sbuf_init(&out);
	if (x == SMTPC_X_RSET)
		sbuf_puts(&out, "RSET\r\n");
	else if (x == SMTPC_X_MAIL)
		smtpc_txn_mail(c, &out);
	else if (x == SMTPC_X_RCPT)
		smtpc_txn_rcpt(c, rcpt, &out);
	else
		sbuf_puts(&out, "DATA\r\n");
	smtpc_write(c, out.p, out.len);
	sbuf_fini(&out);
	smtpc_xq_push(c, x, rcpt);
}

static void
smtpc_txn_pipeline(struct smtpc *c)
{
	struct sbuf out;

	sbuf_init(&out);
	if (c->need_rset) {
		sbuf_puts(&out, "RSET\r\n");
		smtpc_xq_push(c, SMTPC_X_RSET, 0);
	}
	smtpc_txn_mail(c, &out);
	smtpc_xq_push(c, SMTPC_X_MAIL, 0);
	for (size_t i = 0; i < c->t->nrcpt; i++) {
		smtpc_txn_rcpt(c, i, &out);
		smtpc_xq_push(c, SMTPC_X_RCPT, i);
	}
	sbuf_puts(&out, "DATA\r\n");
	smtpc_xq_push(c, SMTPC_X_DATA, 0);
	smtpc_write(c, out.p, out.len);
	sbuf_fini(&out);
}

int
smtpc_send(struct smtpc *c, const struct smtpc_txn *t)
{
	if (c->dead || c->closing || c->state != SMTPC_S_IDLE ||
	    t->nrcpt == 0)
		return -1;
	smtpc_txn_clear(c);
	c->t = t;
	c->res.nrcpt = t->nrcpt;
	c->res.rcpt = xcalloc(t->nrcpt, sizeof(*c->res.rcpt));
	c->xq = xcalloc(t->nrcpt + 4, sizeof(*c->xq));
	c->xq_rcpt = xcalloc(t->nrcpt + 4, sizeof(*c->xq_rcpt));
	c->pipelined = (c->ext.flags & SMTPC_EXT_PIPELINING) != 0;
	sbuf_reset(&c->data_out);
	c->data_off = 0;
	c->state = SMTPC_S_TXN;
	if (c->pipelined)
		smtpc_txn_pipeline(c);
	else
		smtpc_txn_cmd(c, c->need_rset ? SMTPC_X_RSET : SMTPC_X_MAIL, 0);
	c->need_rset = 0;
	smtpc_txn_timer(c);
	return 0;
}

/* Hand the result to the owner; the connection is idle again. */
static void
smtpc_txn_finish(struct smtpc *c)
{
	struct smtpc_result res;

	if (c->res.mail.code / 100 != 2)
		for (size_t i = 0; i < c->res.nrcpt; i++)
			smtpc_reply_copy(&c->res.rcpt[i], &c->res.mail);
	for (size_t i = 0; i < c->res.nrcpt; i++)
		if (c->res.rcpt[i].text == NULL)
			smtpc_reply_set(&c->res.rcpt[i], 0, "",
			    "recipient not attempted");
	if (c->res.data.text == NULL)
		smtpc_reply_set(&c->res.data, 0, "", smtpc_txn_any_rcpt_ok(c) ?
		    "data not sent" : "no recipients accepted");
	res = c->res;
	memset(&c->res, 0, sizeof(c->res));
	smtpc_txn_clear(c);
	c->state = SMTPC_S_IDLE;
	evtimer_del(c->timer);
	if (c->cbs.txn_done)
		c->cbs.txn_done(c, &res, c->arg);
	smtpc_result_free(&res);
}

int
smtpc_txn_abort(struct smtpc *c, const struct smtpc_reply *why)
{
	if (c->res.mail.text == NULL)
		smtpc_reply_copy(&c->res.mail, why);
	for (size_t i = 0; i < c->res.nrcpt; i++)
		if (c->res.rcpt[i].text == NULL)
			smtpc_reply_copy(&c->res.rcpt[i], why);
	if (c->res.data.text == NULL && c->res.mail.code / 100 == 2 &&
	    smtpc_txn_any_rcpt_ok(c))
		smtpc_reply_copy(&c->res.data, why);
	c->closing = 1;
	smtpc_txn_finish(c);
	return c->dead ? -1 : 0;
}

/* Send message data a chunk at a time while the socket takes it (see
 * smtpc_write); at most about two chunks wait in the output buffer, the
 * write callback brings us back when it drains. */
void
smtpc_txn_on_write(struct smtpc *c)
{
	size_t n;
	int sent = 0;

	while (c->data_off < c->data_out.len && c->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) <
	    SMTPC_CHUNK) {
		n = c->data_out.len - c->data_off;
		if (n > SMTPC_CHUNK)
			n = SMTPC_CHUNK;
		smtpc_write(c, c->data_out.p + c->data_off, n);
		c->data_off += n;
		sent = 1;
	}
	if (sent)
		smtpc_txn_timer(c);	/* block timer, or DATA term at the end */
}

/* 354 received: send the message, or a lone "." if nobody takes it. */
static void
smtpc_txn_on_354(struct smtpc *c)
{
	sbuf_reset(&c->data_out);
	c->data_off = 0;
	if (c->res.mail.code / 100 == 2 && smtpc_txn_any_rcpt_ok(c)) {
		smtpc_dot_stuff(c->t->data, c->t->datalen, &c->data_out);
		smtpc_xq_push(c, SMTPC_X_DOT, 0);
	} else {
		sbuf_put(&c->data_out, ".\r\n", 3);
		smtpc_xq_push(c, SMTPC_X_DOT_EMPTY, 0);
	}
	smtpc_txn_on_write(c);
}

static void
smtpc_txn_on_data(struct smtpc *c, const struct smtpc_reply *r)
{
	if (r->code == 354) {
		smtpc_txn_on_354(c);
		return;
	}
	if (c->res.mail.code / 100 == 2) {
		c->need_rset = 1;	/* the server may still hold MAIL */
		if (smtpc_txn_any_rcpt_ok(c))
			smtpc_reply_copy(&c->res.data, r);
	}
	smtpc_txn_finish(c);
}

/* Lock-step: what follows a MAIL or RCPT reply. */
static void
smtpc_txn_next(struct smtpc *c, enum smtpc_expect x, size_t i)
{
	if (x == SMTPC_X_RSET)
		smtpc_txn_cmd(c, SMTPC_X_MAIL, 0);
	else if (x == SMTPC_X_MAIL && c->res.mail.code / 100 != 2)
		smtpc_txn_finish(c);
	else if (x == SMTPC_X_MAIL)
		smtpc_txn_cmd(c, SMTPC_X_RCPT, 0);
	else if (i + 1 < c->res.nrcpt)
		smtpc_txn_cmd(c, SMTPC_X_RCPT, i + 1);
	else if (smtpc_txn_any_rcpt_ok(c))
		smtpc_txn_cmd(c, SMTPC_X_DATA, 0);
	else {
		c->need_rset = 1;	/* no DATA: reset before the next */
		smtpc_txn_finish(c);
	}
}

static void
smtpc_txn_timeout(struct smtpc *c)
{
	char text[96];

	snprintf(text, sizeof(text), "timeout waiting for reply to %s",
	    c->xq_head < c->xq_len ? smtpc_x_names[c->xq[c->xq_head]] :
	    "command");
	smtpc_close_text(c, text);
}

void
smtpc_txn_reply(struct smtpc *c, const struct smtpc_reply *r)
{
	enum smtpc_expect x;
	size_t i;

	if (r == NULL) {
		smtpc_txn_timeout(c);
		return;
	}
	if (c->xq_head >= c->xq_len) {
		smtpc_close_text(c, "protocol error: unexpected reply");
		return;
	}
	x = c->xq[c->xq_head];
	i = c->xq_rcpt[c->xq_head++];
	if (x == SMTPC_X_MAIL)
		smtpc_reply_copy(&c->res.mail, r);
	else if (x == SMTPC_X_RCPT)
		smtpc_reply_copy(&c->res.rcpt[i], r);
	else if (x == SMTPC_X_DOT)
		smtpc_reply_copy(&c->res.data, r);
	if (x == SMTPC_X_DATA)
		smtpc_txn_on_data(c, r);
	else if (x == SMTPC_X_DOT || x == SMTPC_X_DOT_EMPTY)
		smtpc_txn_finish(c);
	else if (!c->pipelined)
		smtpc_txn_next(c, x, i);
	if (!c->dead && c->state == SMTPC_S_TXN)
		smtpc_txn_timer(c);
}
