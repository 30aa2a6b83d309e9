/*
 * test_json.c: the JSON writer's exact output: nesting and commas, escapes,
 * invalid UTF-8, non-finite floats, round-trip digits.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"

TestSuite(json, .timeout = 30);

struct capture {
    char *buf;
    size_t len;
    FILE *fp;
};

static void cap_open(struct capture *c, struct json *j, bool pretty)
{
    c->buf = NULL;
    c->len = 0;
    c->fp = open_memstream(&c->buf, &c->len);
    json_init(j, c->fp, pretty);
}

static void cap_close(struct capture *c)
{
    fclose(c->fp);
}

Test(json, compact_nesting_places_commas_exactly)
{
    struct capture c;
    struct json j;
    cap_open(&c, &j, false);
    json_begin_object(&j);
    json_key(&j, "a"); json_int(&j, -3);
    json_key(&j, "b");
    json_begin_array(&j);
    json_uint(&j, 18446744073709551615ull);
    json_bool(&j, true);
    json_null(&j);
    json_begin_object(&j);
    json_end_object(&j);
    json_begin_array(&j);
    json_end_array(&j);
    json_end_array(&j);
    json_key(&j, "c"); json_str(&j, "x");
    json_end_object(&j);
    cr_assert(eq(int, json_finish(&j), 0));
    cap_close(&c);
    cr_assert(eq(str, c.buf, "{\"a\":-3,\"b\":[18446744073709551615,true,null,{},[]],\"c\":\"x\"}\n"));
    free(c.buf);
}

Test(json, pretty_output_indents_two_spaces)
{
    struct capture c;
    struct json j;
    cap_open(&c, &j, true);
    json_begin_object(&j);
    json_key(&j, "k");
    json_begin_array(&j);
    json_int(&j, 1);
    json_int(&j, 2);
    json_end_array(&j);
    json_end_object(&j);
    json_finish(&j);
    cap_close(&c);
    cr_assert(eq(str, c.buf, "{\n  \"k\": [\n    1,\n    2\n  ]\n}\n"));
    free(c.buf);
}

Test(json, strings_are_escaped_and_invalid_utf8_replaced)
{
    struct capture c;
    struct json j;
    cap_open(&c, &j, false);
    json_begin_array(&j);
    json_strn(&j, "q\"b\\n\nt\t\x01\x7f", 10);
    json_str(&j, "\xe2\x96\x81ok");     /* valid 3-byte sequence kept */
    json_str(&j, "\xff\xc3(");          /* two invalid bytes */
    json_strn(&j, "a\0b", 3);           /* embedded NUL */
    json_end_array(&j);
    json_finish(&j);
    cap_close(&c);
    cr_assert(eq(str, c.buf,
                 "[\"q\\\"b\\\\n\\nt\\t\\u0001\\u007f\",\"\xe2\x96\x81ok\","
                 "\"\xef\xbf\xbd\xef\xbf\xbd(\",\"a\\u0000b\"]\n"));
    free(c.buf);
}

Test(json, floats_round_trip_and_non_finite_become_strings)
{
    struct capture c;
    struct json j;
    cap_open(&c, &j, false);
    json_begin_array(&j);
    json_f32(&j, 0.1f);
    json_f64(&j, 0.1);
    json_f32(&j, NAN);
    json_f64(&j, INFINITY);
    json_f64(&j, -INFINITY);
    json_f32(&j, -0.0f);
    json_end_array(&j);
    json_finish(&j);
    cap_close(&c);
    cr_assert(eq(str, c.buf,
                 "[0.100000001,0.10000000000000001,\"NaN\",\"Infinity\",\"-Infinity\",-0]\n"));
    free(c.buf);
}

/* Every way a byte sequence can fail to be UTF-8 becomes U+FFFD per byte
 * (a sequence cut short by the end of the string, an overlong encoding, a
 * UTF-16 surrogate, a code point past U+10FFFF), while a valid 4-byte
 * sequence is kept; a carriage return is escaped. */
Test(json, broken_utf8_of_every_kind_is_replaced_byte_by_byte)
{
#define FFFD "\xef\xbf\xbd"
    struct capture c;
    struct json j;
    cap_open(&c, &j, false);
    json_begin_array(&j);
    json_str(&j, "\r");
    json_str(&j, "x\xe2\x96");         /* 3-byte sequence cut at the end */
    json_str(&j, "\xc0\xaf");          /* '/' encoded in 2 bytes (overlong) */
    json_str(&j, "\xed\xa0\x80");      /* U+D800, a surrogate */
    json_str(&j, "\xf4\x90\x80\x80");  /* U+110000 */
    json_str(&j, "\xf0\x9f\x98\x80");  /* U+1F600, valid */
    json_end_array(&j);
    cr_assert(eq(int, json_finish(&j), 0));
    cap_close(&c);
    cr_assert(eq(str, c.buf,
                 "[\"\\r\",\"x" FFFD FFFD "\",\"" FFFD FFFD "\",\"" FFFD FFFD FFFD "\",\""
                 FFFD FFFD FFFD FFFD "\",\"\xf0\x9f\x98\x80\"]\n"));
    free(c.buf);
#undef FFFD
}
