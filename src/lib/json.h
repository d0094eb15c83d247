/*
 * json.h -- small streaming JSON writer into an sbuf.
 *
 * Commas between members/elements are inserted automatically; nesting is
 * tracked up to JSON_MAX_DEPTH. Strings are escaped per RFC 8259 (control
 * characters as \u00XX; bytes >= 0x80 are passed through, so the input
 * should be UTF-8).
 */
#ifndef SLUICE_JSON_H
#define SLUICE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"

#define JSON_MAX_DEPTH 32

struct json {
	struct sbuf	*out;
	int		 depth;
	int		 after_key;	/* a key was just written */
	unsigned char	 first[JSON_MAX_DEPTH];	/* no member written yet */
};

void json_init(struct json *j, struct sbuf *out);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
/* Member key inside an object; the next value call writes its value. */
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);	/* NULL -> null */
void json_strn(struct json *j, const char *s, size_t len);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_double(struct json *j, double v);	/* NaN/inf -> null */
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* Append a string, escaped, without quotes or comma handling. */
void json_escape(struct sbuf *out, const char *s, size_t len);

#endif
