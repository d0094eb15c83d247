/*
 * json.c -- small streaming JSON writer into an sbuf.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/json.h"
#include "lib/log.h"

void
json_init(struct json *j, struct sbuf *out)
{
	j->out = out;
	j->depth = 0;
	j->after_key = 0;
	j->first[0] = 1;
}

/* Before any value: comma if this is not the first in its container,
 * unless a key was just written (then the key already did it). */
static void
json_sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0 && !j->first[j->depth])
		sbuf_putc(j->out, ',');
	j->first[j->depth] = 0;
}

static void
json_push(struct json *j, char c)
{
	json_sep(j);
	sbuf_putc(j->out, c);
	if (j->depth + 1 >= JSON_MAX_DEPTH)
		fatalx("json: nesting too deep");
	j->depth++;
	j->first[j->depth] = 1;
}

static void
json_pop(struct json *j, char c)
{
	if (j->depth == 0)
		fatalx("json: unbalanced close");
	j->depth--;
	sbuf_putc(j->out, c);
}

void json_obj_begin(struct json *j) { json_push(j, '{'); }
void json_obj_end(struct json *j) { json_pop(j, '}'); }
void json_arr_begin(struct json *j) { json_push(j, '['); }
void json_arr_end(struct json *j) { json_pop(j, ']'); }

void
json_escape(struct sbuf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': sbuf_put(out, "\\\"", 2); break;
		case '\\': sbuf_put(out, "\\\\", 2); break;
		case '\n': sbuf_put(out, "\\n", 2); break;
		case '\r': sbuf_put(out, "\\r", 2); break;
		case '\t': sbuf_put(out, "\\t", 2); break;
		default:
			if (c < 0x20) {
				char u[6] = { '\\', 'u', '0', '0',
				    hex[c >> 4], hex[c & 15] };
				sbuf_put(out, u, 6);
			} else
				sbuf_putc(out, (char)c);
		}
	}
}

void
json_key(struct json *j, const char *key)
{
	json_sep(j);
	sbuf_putc(j->out, '"');
	json_escape(j->out, key, strlen(key));
	sbuf_put(j->out, "\":", 2);
	j->after_key = 1;
}

void
json_strn(struct json *j, const char *s, size_t len)
{
	json_sep(j);
	sbuf_putc(j->out, '"');
	json_escape(j->out, s, len);
	sbuf_putc(j->out, '"');
}

void
json_str(struct json *j, const char *s)
{
	if (s == NULL)
		json_null(j);
	else
		json_strn(j, s, strlen(s));
}

void
json_int(struct json *j, int64_t v)
{
	json_sep(j);
	sbuf_printf(j->out, "%" PRId64, v);
}

void
json_uint(struct json *j, uint64_t v)
{
	json_sep(j);
	sbuf_printf(j->out, "%" PRIu64, v);
}

void
json_double(struct json *j, double v)
{
	json_sep(j);
	if (isnan(v) || isinf(v))
		sbuf_puts(j->out, "null");
	else
		sbuf_printf(j->out, "%.6g", v);
}

void
json_bool(struct json *j, int v)
{
	json_sep(j);
	sbuf_puts(j->out, v ? "true" : "false");
}

void
json_null(struct json *j)
{
	json_sep(j);
	sbuf_puts(j->out, "null");
}
