/*
 * spool_rec.c -- encoding and decoding of spool log records.
 *
 * Layout (all integers little-endian, see docs/spool-format.md):
 *   header  u32 magic "SLSP" | u32 crc32 | u32 payload length |
 *           u8 type | u8 version | u16 reserved
 *   payload type-specific; strings are u32 length + bytes + NUL, with
 *           length 0xffffffff meaning NULL.
 * The CRC (zlib crc32) covers header bytes 8..15 and the payload, so a
 * damaged length or type is caught too. Encoders leave the CRC at zero;
 * spool_rec_seal() fills it in (the writer thread does this per batch so
 * the loop thread only copies bytes).
 * Invariants: decoders never read past the length they are given and
 * reject anything malformed with -1; they never trust the input.
 */
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "spool/spool_int.h"

#define SPOOL_STR_NULL	0xffffffffu

static void
put_u16(char *p, uint16_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)(v >> 8);
}

static void
put_u32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)((v >> (8 * i)) & 0xff);
}

static void
put_u64(char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (char)((v >> (8 * i)) & 0xff);
}

static uint32_t
get_u32(const char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | (uint8_t)p[i];
	return v;
}

static uint64_t
get_u64(const char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | (uint8_t)p[i];
	return v;
}

/* Writer: appends to a buffer whose size was computed beforehand. */
struct enc {
	char	*p;
};

static void
enc_u8(struct enc *e, uint8_t v)
{
	*e->p++ = (char)v;
}

static void
enc_u32(struct enc *e, uint32_t v)
{
	put_u32(e->p, v);
	e->p += 4;
}

static void
enc_u64(struct enc *e, uint64_t v)
{
	put_u64(e->p, v);
	e->p += 8;
}

static void
enc_str(struct enc *e, const char *s)
{
	size_t n;

	if (s == NULL) {
		enc_u32(e, SPOOL_STR_NULL);
		return;
	}
	n = strlen(s);
	enc_u32(e, (uint32_t)n);
	memcpy(e->p, s, n + 1);
	e->p += n + 1;
}

static size_t
str_size(const char *s)
{
	return s ? 4 + strlen(s) + 1 : 4;
}

/* Reader: bounds-checked cursor; any overrun sets bad. */
struct dec {
	const char	*p;
	size_t		 left;
	int		 bad;
};

static const char *
dec_take(struct dec *d, size_t n)
{
	const char *p = d->p;

	if (d->bad || d->left < n) {
		d->bad = 1;
		return NULL;
	}
	d->p += n;
	d->left -= n;
	return p;
}

static uint8_t
dec_u8(struct dec *d)
{
	const char *p = dec_take(d, 1);

	return p ? (uint8_t)*p : 0;
}

static uint32_t
dec_u32(struct dec *d)
{
	const char *p = dec_take(d, 4);

	return p ? get_u32(p) : 0;
}

static uint64_t
dec_u64(struct dec *d)
{
	const char *p = dec_take(d, 8);

	return p ? get_u64(p) : 0;
}

static const char *
dec_str(struct dec *d)
{
	uint32_t n = dec_u32(d);
	const char *p;

	if (d->bad || n == SPOOL_STR_NULL)
		return NULL;
	if (d->left == 0 || n > d->left - 1) {
		d->bad = 1;
		return NULL;
	}
	p = dec_take(d, (size_t)n + 1);
	if (p == NULL || p[n] != '\0' || memchr(p, '\0', n) != NULL) {
		d->bad = 1;
		return NULL;
	}
	return p;
}

/* ---- header ---- */

void
spool_rec_hdr_put(char *rec, int type, uint32_t plen)
{
	put_u32(rec, SPOOL_REC_MAGIC);
	put_u32(rec + 4, 0);
	put_u32(rec + 8, plen);
	rec[12] = (char)type;
	rec[13] = SPOOL_REC_VERSION;
	put_u16(rec + 14, 0);
}

static uint32_t
rec_crc(const char *rec, uint32_t plen)
{
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, (const Bytef *)rec + 8, SPOOL_REC_HDRLEN - 8);
	c = crc32_z(c, (const Bytef *)rec + SPOOL_REC_HDRLEN, plen);
	return (uint32_t)c;
}

void
spool_rec_seal(char *rec)
{
	put_u32(rec + 4, rec_crc(rec, get_u32(rec + 8)));
}

/* Seal every record in p[0..len), which holds whole records only. */
void
spool_rec_seal_range(char *p, size_t len)
{
	size_t off = 0;

	while (off + SPOOL_REC_HDRLEN <= len) {
		spool_rec_seal(p + off);
		off += SPOOL_REC_HDRLEN + get_u32(p + off + 8);
	}
}

/*
 * Validate the record at p (avail bytes readable). Returns the record's
 * total length, 0 if fewer than a full record's bytes are available (a torn
 * tail), or -1 if the bytes are not a valid record.
 */
long
spool_rec_check(const char *p, size_t avail, int *type, uint32_t *plen)
{
	uint32_t n;

	if (avail < SPOOL_REC_HDRLEN)
		return 0;
	if (get_u32(p) != SPOOL_REC_MAGIC || p[13] != SPOOL_REC_VERSION)
		return -1;
	n = get_u32(p + 8);
	if (n > SPOOL_REC_MAXPAYLOAD)
		return -1;
	if (avail - SPOOL_REC_HDRLEN < n)
		return 0;
	if (rec_crc(p, n) != get_u32(p + 4))
		return -1;
	*type = (uint8_t)p[12];
	*plen = n;
	return (long)(SPOOL_REC_HDRLEN + n);
}

/* ---- MSG ---- */

size_t
spool_rec_msg_size(const struct spool_msg *m)
{
	size_t n = 8 + 8 + 4 + 4;	/* id, time, flags, nrcpt */

	n += str_size(m->orig ? m->orig : "") + str_size(m->envid) +
	    str_size(m->vmta) + str_size(m->job_id) + str_size(m->src_type) +
	    str_size(m->src_mta) + str_size(m->rcv_ip) +
	    str_size(m->auth_user);
	for (size_t i = 0; i < m->nrcpt; i++)
		n += str_size(m->rcpts[i].addr ? m->rcpts[i].addr : "") +
		    str_size(m->rcpts[i].orcpt) + 4 + 4 + 8 +
		    (m->rcpts[i].vmta ? str_size(m->rcpts[i].vmta) : 0);
	return n + 8 + m->datalen;
}

/* rec has room for header + plen (from spool_rec_msg_size). rst may be NULL
 * (all recipients pending). */
void
spool_rec_msg_encode(char *rec, size_t plen, const struct spool_msg *m,
    const struct spool_rst *rst)
{
	struct enc e = { rec + SPOOL_REC_HDRLEN };

	spool_rec_hdr_put(rec, SPOOL_REC_MSG, (uint32_t)plen);
	enc_u64(&e, m->id);
	enc_u64(&e, (uint64_t)m->time_queued);
	enc_u8(&e, m->ret_full ? 1 : 0);
	enc_u8(&e, 0);
	enc_u8(&e, 0);
	enc_u8(&e, 0);
	enc_u32(&e, (uint32_t)m->nrcpt);
	enc_str(&e, m->orig ? m->orig : "");
	enc_str(&e, m->envid);
	enc_str(&e, m->vmta);
	enc_str(&e, m->job_id);
	enc_str(&e, m->src_type);
	enc_str(&e, m->src_mta);
	enc_str(&e, m->rcv_ip);
	enc_str(&e, m->auth_user);
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct spool_rcpt *r = &m->rcpts[i];

		enc_str(&e, r->addr ? r->addr : "");
		enc_str(&e, r->orcpt);
		enc_u8(&e, r->notify);
		enc_u8(&e, rst ? rst[i].done : 0);
		enc_u8(&e, r->vmta ? SPOOL_RCPT_F_VMTA : 0);
		enc_u8(&e, 0);
		enc_u32(&e, rst ? rst[i].attempts : 0);
		enc_u64(&e, rst ? (uint64_t)rst[i].next_attempt : 0);
		if (r->vmta)
			enc_str(&e, r->vmta);
	}
	enc_u64(&e, m->datalen);
	if (m->datalen)
		memcpy(e.p, m->data, m->datalen);
}

static int
dec_rcpts(struct dec *d, struct spool_msg *m, struct spool_rcpt **rbuf,
    size_t *rcap)
{
	/* each recipient needs at least 24 bytes: bound before allocating */
	if (m->nrcpt == 0 || m->nrcpt > d->left / 24)
		return -1;
	spool_grow((void **)rbuf, rcap, m->nrcpt, sizeof(**rbuf));
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct spool_rcpt *r = &(*rbuf)[i];
		uint8_t flags;

		r->addr = dec_str(d);
		r->orcpt = dec_str(d);
		r->notify = dec_u8(d);
		r->state = dec_u8(d);
		flags = dec_u8(d);
		(void)dec_take(d, 1);
		r->attempts = dec_u32(d);
		r->next_attempt = (int64_t)dec_u64(d);
		/* records written before per-recipient vmtas have 0 here */
		r->vmta = (flags & SPOOL_RCPT_F_VMTA) ? dec_str(d) : NULL;
		if (r->addr == NULL || r->state > SPOOL_RCPT_DONE ||
		    (flags & ~SPOOL_RCPT_F_VMTA) != 0 ||
		    ((flags & SPOOL_RCPT_F_VMTA) && r->vmta == NULL))
			return -1;
	}
	m->rcpts = *rbuf;
	return d->bad ? -1 : 0;
}

/*
 * Decode a MSG payload into m. Strings and data point into payload; the
 * recipient array lives in *rbuf (grown as needed, owned by the caller).
 */
int
spool_rec_msg_decode(const char *payload, size_t plen, struct spool_msg *m,
    struct spool_rcpt **rbuf, size_t *rcap)
{
	struct dec d = { payload, plen, 0 };

	memset(m, 0, sizeof(*m));
	m->id = dec_u64(&d);
	m->time_queued = (int64_t)dec_u64(&d);
	m->ret_full = dec_u8(&d);
	(void)dec_take(&d, 3);
	m->nrcpt = dec_u32(&d);
	m->orig = dec_str(&d);
	m->envid = dec_str(&d);
	m->vmta = dec_str(&d);
	m->job_id = dec_str(&d);
	m->src_type = dec_str(&d);
	m->src_mta = dec_str(&d);
	m->rcv_ip = dec_str(&d);
	m->auth_user = dec_str(&d);
	if (d.bad || m->orig == NULL || dec_rcpts(&d, m, rbuf, rcap) == -1)
		return -1;
	m->datalen = dec_u64(&d);
	if (d.bad || m->datalen != d.left)
		return -1;
	m->data = d.p;
	return 0;
}

/* ---- DONE / DEFER ---- */

size_t
spool_rec_state_size(int type)
{
	return type == SPOOL_REC_DONE ? 8 + 4 : 8 + 4 + 4 + 8;
}

void
spool_rec_state_encode(char *rec, int type, const struct spool_rec_state *st)
{
	struct enc e = { rec + SPOOL_REC_HDRLEN };

	spool_rec_hdr_put(rec, type, (uint32_t)spool_rec_state_size(type));
	enc_u64(&e, st->id);
	enc_u32(&e, st->idx);
	if (type == SPOOL_REC_DEFER) {
		enc_u32(&e, st->attempts);
		enc_u64(&e, (uint64_t)st->next_attempt);
	}
}

int
spool_rec_state_decode(const char *payload, size_t plen, int type,
    struct spool_rec_state *st)
{
	struct dec d = { payload, plen, 0 };

	if (plen != spool_rec_state_size(type))
		return -1;
	memset(st, 0, sizeof(*st));
	st->id = dec_u64(&d);
	st->idx = dec_u32(&d);
	if (type == SPOOL_REC_DEFER) {
		st->attempts = dec_u32(&d);
		st->next_attempt = (int64_t)dec_u64(&d);
	}
	return d.bad ? -1 : 0;
}

/* ---- SEGHDR: first record of every segment ---- */

size_t
spool_rec_seghdr_size(void)
{
	return SPOOL_REC_HDRLEN + 4 + 8;
}

void
spool_rec_seghdr_encode(char *rec, uint64_t seg_no)
{
	struct enc e = { rec + SPOOL_REC_HDRLEN };

	spool_rec_hdr_put(rec, SPOOL_REC_SEGHDR, 4 + 8);
	enc_u32(&e, SPOOL_FORMAT_VERSION);
	enc_u64(&e, seg_no);
}

int
spool_rec_seghdr_decode(const char *payload, size_t plen, uint64_t *seg_no)
{
	struct dec d = { payload, plen, 0 };
	uint32_t version;

	if (plen != 12)
		return -1;
	version = dec_u32(&d);
	*seg_no = dec_u64(&d);
	return (d.bad || version != SPOOL_FORMAT_VERSION) ? -1 : 0;
}
