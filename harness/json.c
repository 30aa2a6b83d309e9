/*
 * json.c: streaming JSON writer. See json.h.
 */
#include "json.h"

#include <math.h>
#include <inttypes.h>
#include <string.h>

void json_init(struct json *j, FILE *fp, bool pretty)
{
    j->fp = fp;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
    j->pretty = pretty;
}

static void json_newline(struct json *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->fp);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->fp);
}

/* Separator and indentation before a value or a key. */
static void json_pre(struct json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth])
            fputc(',', j->fp);
        json_newline(j);
    }
    j->first[j->depth] = false;
}

static void json_open(struct json *j, char c)
{
    json_pre(j);
    fputc(c, j->fp);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->first[j->depth] = true;
}

static void json_close(struct json *j, char c)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty)
        json_newline(j);
    fputc(c, j->fp);
}

void json_begin_object(struct json *j) { json_open(j, '{'); }
void json_end_object(struct json *j) { json_close(j, '}'); }
void json_begin_array(struct json *j) { json_open(j, '['); }
void json_end_array(struct json *j) { json_close(j, ']'); }

size_t json_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) { len = 2; min = 0x80; c &= 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; min = 0x800; c &= 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; min = 0x10000; c &= 0x07; }
    else return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static void json_escaped(FILE *fp, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', fp);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', fp);
            fputc(c, fp);
            i++;
        } else if (c == '\n') {
            fputs("\\n", fp);
            i++;
        } else if (c == '\t') {
            fputs("\\t", fp);
            i++;
        } else if (c == '\r') {
            fputs("\\r", fp);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(fp, "\\u%04x", c);
            i++;
        } else {
            uint32_t cp;
            size_t n = json_utf8_decode(p + i, len - i, &cp);
            if (n == 0) {
                fputs("\xef\xbf\xbd", fp); /* U+FFFD */
                i++;
            } else {
                fwrite(p + i, 1, n, fp);
                i += n;
            }
        }
    }
    fputc('"', fp);
}

void json_key(struct json *j, const char *key)
{
    json_pre(j);
    json_escaped(j->fp, key, strlen(key));
    fputs(j->pretty ? ": " : ":", j->fp);
    j->after_key = true;
}

void json_strn(struct json *j, const char *s, size_t len)
{
    json_pre(j);
    json_escaped(j->fp, s, len);
}

void json_str(struct json *j, const char *s)
{
    json_strn(j, s, strlen(s));
}

void json_int(struct json *j, int64_t v)
{
    json_pre(j);
    fprintf(j->fp, "%" PRId64, v);
}

void json_uint(struct json *j, uint64_t v)
{
    json_pre(j);
    fprintf(j->fp, "%" PRIu64, v);
}

static bool json_nonfinite(struct json *j, double v)
{
    if (isnan(v))
        json_str(j, "NaN");
    else if (isinf(v))
        json_str(j, v > 0 ? "Infinity" : "-Infinity");
    else
        return false;
    return true;
}

void json_f32(struct json *j, float v)
{
    if (json_nonfinite(j, v))
        return;
    json_pre(j);
    fprintf(j->fp, "%.9g", (double)v);
}

void json_f64(struct json *j, double v)
{
    if (json_nonfinite(j, v))
        return;
    json_pre(j);
    fprintf(j->fp, "%.17g", v);
}

void json_bool(struct json *j, bool v)
{
    json_pre(j);
    fputs(v ? "true" : "false", j->fp);
}

void json_null(struct json *j)
{
    json_pre(j);
    fputs("null", j->fp);
}

int json_finish(struct json *j)
{
    fputc('\n', j->fp);
    return ferror(j->fp) ? -1 : 0;
}
