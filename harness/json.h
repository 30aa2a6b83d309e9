/*
 * json.h: a small streaming JSON writer for plumb's machine-readable output
 * (`inspect --json`, report.json).
 *
 * The writer tracks nesting so commas and indentation come out right; the
 * caller pairs begin/end calls. Strings are escaped per RFC 8259 (control
 * characters as \u00XX; invalid UTF-8 bytes become U+FFFD so the output is
 * always valid JSON). Non-finite floats, which JSON cannot hold, are written
 * as the strings "NaN", "Infinity" and "-Infinity". Floats are written with
 * enough digits to round-trip (%.9g for float, %.17g for double).
 */
#ifndef PLUMB_JSON_H
#define PLUMB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

struct json {
    FILE *fp;
    int depth;
    bool first[JSON_MAX_DEPTH]; /* no element written yet at this depth */
    bool after_key;             /* a key was just written: the value follows */
    bool pretty;
};

void json_init(struct json *j, FILE *fp, bool pretty);

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);

/* Object member name; the next call writes its value. */
void json_key(struct json *j, const char *key);

void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t len);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_f32(struct json *j, float v);
void json_f64(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* Decode the UTF-8 sequence at s (n bytes available): its length (1-4) and
 * code point, or 0 when it is invalid (truncated, overlong, a surrogate,
 * past U+10FFFF). Shared with the other text writers (report.c). */
size_t json_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Finish the document with a newline. Returns 0, or -1 if the stream had an
 * error (ferror). */
int json_finish(struct json *j);

#endif
