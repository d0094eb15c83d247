/*
 * an_csv.c -- RFC 4180 record scanner: SSE2 block masks (LF and quote for
 * record ends, comma for fields) with memchr fallbacks, so the common
 * record (no quotes) is scanned a block at a time.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "analyser/an_csv.h"

/*
 * A '"' opens a quoted field only at a field start (the record's first
 * byte, after a comma, or right after a closing quote: a doubled quote);
 * inside a quoted field it closes it. So a stray quote inside an unquoted
 * field is data, exactly as an_csv_split() reads it, and cannot make the
 * scan run on over the following lines. Returns the new state.
 */
static inline int
an_csv_quote(const char *q, const char *start, const char **lastq, int in)
{
	if (in) {
		*lastq = q;
		return 0;
	}
	return q == start || q[-1] == ',' || q - 1 == *lastq;
}

/* The byte-at-a-time scan from p, continuing the state (in, lastq) of
 * a scan that began at start: the record's LF, or NULL with *inq set. */
static inline const char *
an_csv_record_end_bytes(const char *p, const char *end, const char *start,
    const char *lastq, int in, int *inq, int *nl_in)
{
	for (; p < end; p++) {
		if (*p == '"')
			in = an_csv_quote(p, start, &lastq, in);
		else if (*p == '\n') {
			if (!in) {
				*inq = 0;
				return p;
			}
			(*nl_in)++;
		}
	}
	*inq = in;
	return NULL;
}

#if defined(__SSE2__)
/*
 * One pass over 16-byte blocks: masks of LF and '"' bytes, handled in
 * address order (a quote may change the state, an LF outside quotes ends
 * the record). Most blocks have neither and cost a few instructions.
 */
const char *
an_csv_record_end(const char *p, const char *end, int *inq, int *nl_in)
{
	const __m128i nl = _mm_set1_epi8('\n'), qt = _mm_set1_epi8('"');
	const char *start = p, *lastq = NULL;
	unsigned mn, mq, low;
	int in = 0;

	*nl_in = 0;
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		mn = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl));
		mq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, qt));
		if (mq == 0 && !in && mn != 0) {
			*inq = 0;
			return p + __builtin_ctz(mn);
		}
		while (mn | mq) {
			low = (mn | mq) & (~(mn | mq) + 1);
			if (mq & low)
				in = an_csv_quote(p + __builtin_ctz(low), start,
				    &lastq, in);
			else if (!in) {
				*inq = 0;
				return p + __builtin_ctz(low);
			} else
				(*nl_in)++;
			mn &= ~low;
			mq &= ~low;
		}
		p += 16;
	}
	return an_csv_record_end_bytes(p, end, start, lastq, in, inq, nl_in);
}
#else
const char *
an_csv_record_end(const char *p, const char *end, int *inq, int *nl_in)
{
	*nl_in = 0;
	return an_csv_record_end_bytes(p, end, p, NULL, 0, inq, nl_in);
}
#endif

/* End of a quoted field starting at p ('"'): the byte after its closing
 * quote, or end if unterminated. */
static const char *
an_csv_quoted_end(const char *p, const char *end)
{
	const char *q = p + 1;

	for (;;) {
		if (q >= end)
			return end;
		q = memchr(q, '"', (size_t)(end - q));
		if (q == NULL)
			return end;
		if (q + 1 < end && q[1] == '"') {
			q += 2;
			continue;
		}
		return q + 1;
	}
}

/* Quoted field at p: its span ends at the first comma after the closing
 * quote (anything in between is kept: lenient), or at end. */
static const char *
an_csv_quoted_field(const char *p, const char *end)
{
	const char *c = an_csv_quoted_end(p, end);

	c = memchr(c, ',', (size_t)(end - c));
	return c ? c : end;
}

#if defined(__SSE2__)
/*
 * Unquoted fields are cut from one 16-byte comma mask per block, so short
 * fields cost a few bit operations instead of a memchr call each. A field
 * that starts with '"' goes through an_csv_quoted_field(); a quote inside
 * an unquoted field is data, as in the scalar version.
 */
size_t
an_csv_split(const char *end, struct an_span *cols, size_t maxcols,
    size_t *ncols, const char **pos)
{
	const __m128i cm = _mm_set1_epi8(',');
	const char *p = *pos, *b, *c;
	size_t n = *ncols;
	unsigned m;

	while (n < maxcols && p != NULL) {
		if (p < end && *p == '"') {
			c = an_csv_quoted_field(p, end);
			cols[n].p = p;
			cols[n].len = (uint32_t)(c - p);
			n++;
			p = c < end ? c + 1 : NULL;
			continue;
		}
		for (b = p; end - b >= 16; b += 16) {
			m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
			    _mm_loadu_si128((const __m128i *)(const void *)b),
			    cm));
			for (; m != 0; m &= m - 1) {
				c = b + __builtin_ctz(m);
				cols[n].p = p;
				cols[n].len = (uint32_t)(c - p);
				n++;
				p = c + 1;	/* c < end */
				if (n == maxcols || (p < end && *p == '"'))
					goto next;
			}
		}
		c = memchr(b, ',', (size_t)(end - b));
		if (c == NULL)
			c = end;
		cols[n].p = p;
		cols[n].len = (uint32_t)(c - p);
		n++;
		p = c < end ? c + 1 : NULL;
next:		;
	}
	*ncols = n;
	*pos = p;
	return n;
}
#else
size_t
an_csv_split(const char *end, struct an_span *cols, size_t maxcols,
    size_t *ncols, const char **pos)
{
	const char *p = *pos, *c;
	size_t n = *ncols;

	while (n < maxcols && p != NULL) {
		if (p < end && *p == '"') {
			c = an_csv_quoted_field(p, end);
		} else {
			c = memchr(p, ',', (size_t)(end - p));
			if (c == NULL)
				c = end;
		}
		cols[n].p = p;
		cols[n].len = (uint32_t)(c - p);
		n++;
		p = c < end ? c + 1 : NULL;
	}
	*ncols = n;
	*pos = p;
	return n;
}
#endif

size_t
an_csv_unquote(struct an_span s, char *out)
{
	const char *p = s.p, *e = s.p + s.len;
	size_t n = 0;

	if (!an_csv_is_quoted(s)) {
		memcpy(out, s.p, s.len);
		return s.len;
	}
	p++;
	while (p < e) {
		if (*p == '"') {
			if (p + 1 < e && p[1] == '"') {
				out[n++] = '"';
				p += 2;
				continue;
			}
			p++;	/* closing quote; keep any trailing junk */
			continue;
		}
		out[n++] = *p++;
	}
	return n;
}
