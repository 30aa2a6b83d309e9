/*
 * yamlin.c: the strict event reader under spec.c, suite.c (and policies).
 * See yamlin.h for the grammar and the conventions.
 *
 * Moved out of spec.c, where it was first written and tested: the messages
 * are the ones tests/test_spec.c pins, word for word.
 *
 * Invariant: no function here reads a byte of the input that libyaml has
 * not bounded (scalar values come with their length), and no message holds
 * untrusted bytes except through yamlin_show().
 */
#include "yamlin.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int yamlin_open(struct yamlin *y, const char *text, size_t len, const char *path,
                const char *what, size_t max_bytes, struct plumb_err *err)
{
    memset(y, 0, sizeof *y);
    y->path = path ? path : "input";
    y->what = what ? what : "document";
    y->text = (const unsigned char *)text;
    y->len = len;
    y->err = err;
    if (len > max_bytes)
        return yamlin_fail(y, 0, NULL, "%s is %zu bytes, more than the %zu-byte limit", y->what,
                           len, max_bytes);
    if (!yaml_parser_initialize(&y->parser))
        return yamlin_fail(y, 0, NULL, "out of memory");
    y->parser_ready = true;
    /* Our files are UTF-8; without this libyaml would also accept UTF-16.
     * Forcing the encoding also stops libyaml from stripping a UTF-8 byte
     * order mark the way its own detection does; its scanner then skips the
     * mark but counts it as a column, which shifts the first line's
     * indentation and breaks a block mapping. So the mark goes here, and
     * offsets and lines are counted from after it (it holds no newline). */
    yaml_parser_set_encoding(&y->parser, YAML_UTF8_ENCODING);
    if (y->text && y->len >= 3 && memcmp(y->text, "\xef\xbb\xbf", 3) == 0) {
        y->text += 3;
        y->len -= 3;
    }
    yaml_parser_set_input_string(&y->parser, y->text ? y->text : (const unsigned char *)"",
                                 y->len);
    return 0;
}

void yamlin_close(struct yamlin *y)
{
    if (!y)
        return;
    if (y->have_ev) {
        yaml_event_delete(&y->ev);
        y->have_ev = false;
    }
    if (y->parser_ready) {
        yaml_parser_delete(&y->parser);
        y->parser_ready = false;
    }
}

int yamlin_load_file(const char *path, size_t max_bytes, char **buf, size_t *len,
                     struct plumb_err *err)
{
    *buf = NULL;
    *len = 0;
    if (max_bytes == SIZE_MAX)
        max_bytes = SIZE_MAX - 1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    /* One byte more than the limit tells "too big" from "exactly full". */
    char *b = malloc(max_bytes + 1);
    if (!b) {
        fclose(f);
        return err_set(err, "%s: out of memory", path);
    }
    size_t n = fread(b, 1, max_bytes + 1, f);
    int rc = 0;
    if (ferror(f))
        rc = err_set(err, "%s: cannot read: %s", path, strerror(errno));
    else if (n > max_bytes)
        rc = err_set(err, "%s: larger than the %zu-byte limit", path, max_bytes);
    fclose(f);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* "PATH:LINE: key: reason"; line 0 leaves out the line, key NULL the key. */
int yamlin_fail(struct yamlin *y, int line, const char *key, const char *fmt, ...)
{
    char reason[PLUMB_ERR_MAX];
    char where[32] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(where, sizeof where, ":%d", line);
    if (key)
        return err_set(y->err, "%s%s: %s: %s", y->path, where, key, reason);
    return err_set(y->err, "%s%s: %s", y->path, where, reason);
}

/* A printable rendering of len bytes of untrusted text: printable ASCII as
 * is, other bytes as \xNN, cut after about 40 bytes. (At most 41 + 4 + 3
 * bytes and a NUL are written.) */
const char *yamlin_show(char out[YAMLIN_SHOW_SIZE], const char *v, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (o > 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f) {
            out[o++] = (char)ch;
        } else {
            snprintf(out + o, 5, "\\x%02x", ch);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}

int yamlin_line(const struct yamlin *y)
{
    /* Inputs are capped well below INT_MAX bytes by their readers, so the
     * line fits an int. */
    return (int)y->ev.start_mark.line + 1;
}

/* 1-based line of byte offset `off` of the input (for reader errors, which
 * libyaml reports by offset only). */
static int yamlin_line_of_offset(const struct yamlin *y, size_t off)
{
    int line = 1;
    if (off > y->len)
        off = y->len;
    for (size_t i = 0; i < off; i++)
        if (y->text[i] == '\n')
            line++;
    return line;
}

/* Turn libyaml's failure into our one line. */
static int yamlin_yaml_error(struct yamlin *y)
{
    const yaml_parser_t *p = &y->parser;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return yamlin_fail(y, 0, NULL, "out of memory while parsing YAML");
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            return yamlin_fail(y, yamlin_line_of_offset(y, p->problem_offset), NULL,
                               "%s (byte 0x%02x at offset %zu)", problem,
                               (unsigned)p->problem_value & 0xffu, p->problem_offset);
        return yamlin_fail(y, yamlin_line_of_offset(y, p->problem_offset), NULL,
                           "%s (at offset %zu)", problem, p->problem_offset);
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
        if (p->context)
            return yamlin_fail(y, (int)p->problem_mark.line + 1, NULL, "%s (%s at line %d)",
                               problem, p->context, (int)p->context_mark.line + 1);
        return yamlin_fail(y, (int)p->problem_mark.line + 1, NULL, "%s", problem);
    default:
        return yamlin_fail(y, 0, NULL, "%s", problem);
    }
}

/*
 * Fetch the next event into y->ev, releasing the previous one. Refuses
 * aliases, anchors and tags wherever they appear: our files never need them,
 * and refusing anchors as well as aliases stops an expansion bomb at its
 * first definition.
 */
int yamlin_next(struct yamlin *y)
{
    char shown[YAMLIN_SHOW_SIZE];
    if (y->have_ev) {
        yaml_event_delete(&y->ev);
        y->have_ev = false;
    }
    if (!y->parser_ready)
        return yamlin_fail(y, 0, NULL, "internal error: reading a closed YAML reader");
    if (!yaml_parser_parse(&y->parser, &y->ev))
        return yamlin_yaml_error(y);
    y->have_ev = true;

    const yaml_char_t *anchor = NULL;
    const yaml_char_t *tag = NULL;
    switch (y->ev.type) {
    case YAML_ALIAS_EVENT:
        anchor = y->ev.data.alias.anchor;
        return yamlin_fail(y, yamlin_line(y), NULL, "aliases are not supported (found *%s)",
                           yamlin_show(shown, (const char *)anchor, strlen((const char *)anchor)));
    case YAML_SCALAR_EVENT:
        anchor = y->ev.data.scalar.anchor;
        tag = y->ev.data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = y->ev.data.sequence_start.anchor;
        tag = y->ev.data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = y->ev.data.mapping_start.anchor;
        tag = y->ev.data.mapping_start.tag;
        break;
    default:
        break;
    }
    if (anchor)
        return yamlin_fail(y, yamlin_line(y), NULL,
                           "anchors and aliases are not supported (found &%s)",
                           yamlin_show(shown, (const char *)anchor, strlen((const char *)anchor)));
    if (tag)
        return yamlin_fail(y, yamlin_line(y), NULL, "tags are not supported (found %s)",
                           yamlin_show(shown, (const char *)tag, strlen((const char *)tag)));
    return 0;
}

/* What the current event is, for "expected X, found Y". */
const char *yamlin_found(const struct yamlin *y, char out[YAMLIN_FOUND_SIZE])
{
    char shown[YAMLIN_SHOW_SIZE];
    switch (y->ev.type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_SCALAR_EVENT:
        break;
    default:
        return "the end of a collection";
    }
    const char *v = (const char *)y->ev.data.scalar.value;
    size_t len = y->ev.data.scalar.length;
    if (y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (len == 0)
            return "nothing";
        snprintf(out, YAMLIN_FOUND_SIZE, "'%s'", yamlin_show(shown, v, len));
    } else {
        snprintf(out, YAMLIN_FOUND_SIZE, "the quoted string '%s'", yamlin_show(shown, v, len));
    }
    return out;
}

bool yamlin_is_scalar(const struct yamlin *y)
{
    return y->have_ev && y->ev.type == YAML_SCALAR_EVENT;
}

bool yamlin_is_plain(const struct yamlin *y)
{
    return yamlin_is_scalar(y) && y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool yamlin_scalar_is(const struct yamlin *y, const char *s)
{
    if (!yamlin_is_scalar(y))
        return false;
    size_t n = strlen(s);
    return y->ev.data.scalar.length == n && memcmp(y->ev.data.scalar.value, s, n) == 0;
}

int yamlin_document_start(struct yamlin *y)
{
    char found[YAMLIN_FOUND_SIZE];
    if (yamlin_next(y) < 0)
        return -1;
    if (y->ev.type != YAML_STREAM_START_EVENT)
        return yamlin_fail(y, 0, NULL, "malformed YAML stream");
    if (yamlin_next(y) < 0)
        return -1;
    if (y->ev.type == YAML_STREAM_END_EVENT)
        return yamlin_fail(y, 0, NULL, "empty %s, expected a mapping of keys", y->what);
    if (yamlin_next(y) < 0) /* past DOCUMENT-START */
        return -1;
    if (y->ev.type != YAML_MAPPING_START_EVENT)
        return yamlin_fail(y, yamlin_line(y), NULL,
                           "expected a mapping of keys at the top level, found %s",
                           yamlin_found(y, found));
    return 0;
}

int yamlin_document_end(struct yamlin *y)
{
    if (yamlin_next(y) < 0)
        return -1;
    if (y->ev.type != YAML_DOCUMENT_END_EVENT)
        return yamlin_fail(y, yamlin_line(y), NULL, "malformed YAML document");
    if (yamlin_next(y) < 0)
        return -1;
    if (y->ev.type != YAML_STREAM_END_EVENT)
        return yamlin_fail(y, yamlin_line(y), NULL, "only one YAML document is allowed");
    return 0;
}

int yamlin_expect_mapping_start(struct yamlin *y, const char *key, const char *what)
{
    char found[YAMLIN_FOUND_SIZE];
    if (y->ev.type != YAML_MAPPING_START_EVENT)
        return yamlin_fail(y, yamlin_line(y), key, "expected %s, found %s", what,
                           yamlin_found(y, found));
    return 0;
}

int yamlin_expect_sequence_start(struct yamlin *y, const char *key, const char *what)
{
    char found[YAMLIN_FOUND_SIZE];
    if (y->ev.type != YAML_SEQUENCE_START_EVENT)
        return yamlin_fail(y, yamlin_line(y), key, "expected %s, found %s", what,
                           yamlin_found(y, found));
    return 0;
}

int yamlin_expect_key(struct yamlin *y, const char *where)
{
    char found[YAMLIN_FOUND_SIZE];
    if (!yamlin_is_scalar(y))
        return yamlin_fail(y, yamlin_line(y), where, "expected a key, found %s",
                           yamlin_found(y, found));
    return 0;
}

int yamlin_key_index(const struct yamlin *y, const char *const *names, int n)
{
    for (int k = 0; k < n; k++)
        if (yamlin_scalar_is(y, names[k]))
            return k;
    return -1;
}

int yamlin_unknown_key(struct yamlin *y, const char *where)
{
    char shown[YAMLIN_SHOW_SIZE];
    const char *v = yamlin_is_scalar(y) ? (const char *)y->ev.data.scalar.value : "";
    size_t len = yamlin_is_scalar(y) ? y->ev.data.scalar.length : 0;
    return yamlin_fail(y, yamlin_line(y), where, "unknown key '%s'", yamlin_show(shown, v, len));
}

int yamlin_once(struct yamlin *y, const char *key, int *first_line)
{
    if (*first_line)
        return yamlin_fail(y, yamlin_line(y), key, "duplicate key (first at line %d)", *first_line);
    *first_line = yamlin_line(y);
    return 0;
}

static bool yamlin_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* An unsigned decimal integer in [min, max]: digits only, no sign, no
 * leading zero (YAML 1.1 would read 010 as octal 8). */
int yamlin_read_uint(struct yamlin *y, const char *key, uint64_t min, uint64_t max,
                     uint64_t *out)
{
    char found[YAMLIN_FOUND_SIZE];
    int line = yamlin_line(y);
    if (!yamlin_is_plain(y))
        return yamlin_fail(y, line, key, "expected an integer, found %s", yamlin_found(y, found));
    const char *v = (const char *)y->ev.data.scalar.value;
    size_t len = y->ev.data.scalar.length;
    bool digits = len > 0;
    for (size_t i = 0; i < len; i++)
        digits = digits && yamlin_is_digit(v[i]);
    if (len > 1 && v[0] == '-') {
        bool rest = true;
        for (size_t i = 1; i < len; i++)
            rest = rest && yamlin_is_digit(v[i]);
        if (rest)
            return yamlin_fail(y, line, key, "%s is negative, expected %llu to %llu", v,
                               (unsigned long long)min, (unsigned long long)max);
    }
    if (!digits)
        return yamlin_fail(y, line, key, "expected an integer, found %s", yamlin_found(y, found));
    if (len > 1 && v[0] == '0')
        return yamlin_fail(y, line, key,
                           "expected a decimal integer, found %s "
                           "(a leading zero reads as octal in YAML 1.1)",
                           yamlin_found(y, found));
    errno = 0;
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno == ERANGE)
        return yamlin_fail(y, line, key, "%s does not fit in 64 bits", yamlin_found(y, found));
    if (errno != 0 || end != v + len)
        return yamlin_fail(y, line, key, "expected an integer, found %s", yamlin_found(y, found));
    if (x < min || x > max)
        return yamlin_fail(y, line, key, "%llu is out of range, expected %llu to %llu", x,
                           (unsigned long long)min, (unsigned long long)max);
    *out = x;
    return 0;
}

/* Length of the longest prefix of v made of decimal digits. */
static size_t yamlin_span_digits(const char *v, size_t len)
{
    size_t i = 0;
    while (i < len && yamlin_is_digit(v[i]))
        i++;
    return i;
}

/* true when v is [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?: decimal and
 * exponent forms; never nan, inf, hex floats or YAML's .inf/.nan. */
static bool yamlin_is_decimal_float(const char *v, size_t len)
{
    size_t i = 0;
    if (i < len && (v[i] == '+' || v[i] == '-'))
        i++;
    size_t whole = yamlin_span_digits(v + i, len - i);
    i += whole;
    size_t frac = 0;
    if (i < len && v[i] == '.') {
        i++;
        frac = yamlin_span_digits(v + i, len - i);
        i += frac;
    }
    if (whole == 0 && frac == 0)
        return false;
    if (i < len && (v[i] == 'e' || v[i] == 'E')) {
        i++;
        if (i < len && (v[i] == '+' || v[i] == '-'))
            i++;
        size_t ex = yamlin_span_digits(v + i, len - i);
        if (ex == 0)
            return false;
        i += ex;
    }
    return i == len;
}

#define YAMLIN_MAX_NUMBER 64 /* characters in a number's text */

/*
 * The current scalar as text strtof()/strtod() will read, in buf: checked
 * against the decimal grammar, then '.' swapped for the current locale's
 * decimal point, because strto* read that point: a host program that called
 * setlocale() must not change what a file means. *zero_text tells whether
 * the mantissa has no non-zero digit (so a zero result is exact, not an
 * underflow).
 */
static int yamlin_number_text(struct yamlin *y, const char *key,
                              char buf[YAMLIN_MAX_NUMBER * 4 + 1], size_t *buf_len,
                              bool *zero_text)
{
    char found[YAMLIN_FOUND_SIZE];
    int line = yamlin_line(y);
    if (!yamlin_is_plain(y))
        return yamlin_fail(y, line, key, "expected a number, found %s", yamlin_found(y, found));
    const char *v = (const char *)y->ev.data.scalar.value;
    size_t len = y->ev.data.scalar.length;
    if (!yamlin_is_decimal_float(v, len))
        return yamlin_fail(y, line, key, "expected a finite decimal number, found %s",
                           yamlin_found(y, found));
    if (len > YAMLIN_MAX_NUMBER)
        return yamlin_fail(y, line, key, "%s is too long for a number", yamlin_found(y, found));
    const char *point = localeconv()->decimal_point;
    size_t plen = strlen(point);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] == '.' && plen > 0 && plen <= 4) {
            memcpy(buf + o, point, plen);
            o += plen;
        } else {
            buf[o++] = v[i];
        }
    }
    buf[o] = '\0';
    *buf_len = o;
    *zero_text = true;
    for (size_t i = 0; i < len && v[i] != 'e' && v[i] != 'E'; i++)
        if (v[i] >= '1' && v[i] <= '9')
            *zero_text = false;
    return 0;
}

/*
 * A finite float, correctly rounded from its decimal text by strtof().
 */
int yamlin_read_float(struct yamlin *y, const char *key, float *out)
{
    char found[YAMLIN_FOUND_SIZE];
    char buf[YAMLIN_MAX_NUMBER * 4 + 1];
    size_t o = 0;
    bool zero_text = true;
    if (yamlin_number_text(y, key, buf, &o, &zero_text) < 0)
        return -1;
    int line = yamlin_line(y);
    char *end = NULL;
    float x = strtof(buf, &end);
    if (end != buf + o)
        return yamlin_fail(y, line, key, "expected a finite decimal number, found %s",
                           yamlin_found(y, found));
    /* Overflow gives Inf; underflow a zero or subnormal from non-zero text.
     * Neither is a value a file means. The result decides, not errno:
     * text just below the smallest normal that rounds up to it sets ERANGE
     * on CPUs that detect tininess before rounding (aarch64) and not on
     * those that detect it after (x86-64), and the same file must read the
     * same everywhere. */
    if (!isfinite(x) || (!zero_text && x < FLT_MIN && x > -FLT_MIN))
        return yamlin_fail(y, line, key, "%s is out of range for a float", yamlin_found(y, found));
    *out = x;
    return 0;
}

/* The same for double, by strtod(). */
int yamlin_read_double(struct yamlin *y, const char *key, double *out)
{
    char found[YAMLIN_FOUND_SIZE];
    char buf[YAMLIN_MAX_NUMBER * 4 + 1];
    size_t o = 0;
    bool zero_text = true;
    if (yamlin_number_text(y, key, buf, &o, &zero_text) < 0)
        return -1;
    int line = yamlin_line(y);
    char *end = NULL;
    double x = strtod(buf, &end);
    if (end != buf + o)
        return yamlin_fail(y, line, key, "expected a finite decimal number, found %s",
                           yamlin_found(y, found));
    if (!isfinite(x) || (!zero_text && x < DBL_MIN && x > -DBL_MIN)) /* as for float */
        return yamlin_fail(y, line, key, "%s is out of range for a double", yamlin_found(y, found));
    *out = x;
    return 0;
}

int yamlin_read_bool(struct yamlin *y, const char *key, bool *out)
{
    char found[YAMLIN_FOUND_SIZE];
    if (yamlin_scalar_is(y, "true") && yamlin_is_plain(y)) {
        *out = true;
        return 0;
    }
    if (yamlin_scalar_is(y, "false") && yamlin_is_plain(y)) {
        *out = false;
        return 0;
    }
    return yamlin_fail(y, yamlin_line(y), key, "expected true or false, found %s",
                       yamlin_found(y, found));
}

/* yamlin_read_text() and its multi-line variant: the one difference is
 * whether '\n' and '\t' pass. */
static int yamlin_text(struct yamlin *y, const char *key, const char *what, size_t max_len,
                       bool multiline, char **out)
{
    char found[YAMLIN_FOUND_SIZE];
    int line = yamlin_line(y);
    if (!yamlin_is_scalar(y))
        return yamlin_fail(y, line, key, "expected %s, found %s", what, yamlin_found(y, found));
    const char *v = (const char *)y->ev.data.scalar.value;
    size_t len = y->ev.data.scalar.length;
    bool null = yamlin_scalar_is(y, "~") || yamlin_scalar_is(y, "null") ||
                yamlin_scalar_is(y, "Null") || yamlin_scalar_is(y, "NULL");
    if (yamlin_is_plain(y) && (len == 0 || null))
        return yamlin_fail(y, line, key, "expected %s, found %s", what, len ? "null" : "nothing");
    if (len == 0)
        return yamlin_fail(y, line, key, "expected %s, found an empty string", what);
    if (len > max_len)
        return yamlin_fail(y, line, key, "%s is %zu bytes, more than %zu", what, len, max_len);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (multiline && (ch == '\n' || ch == '\t'))
            continue;
        if (ch < 0x20 || ch == 0x7f)
            return yamlin_fail(y, line, key, "control character 0x%02x in %s", ch, what);
    }
    char *s = malloc(len + 1);
    if (!s)
        return yamlin_fail(y, line, key, "out of memory");
    memcpy(s, v, len);
    s[len] = '\0';
    *out = s;
    return 0;
}

int yamlin_read_text(struct yamlin *y, const char *key, const char *what, size_t max_len,
                     char **out)
{
    return yamlin_text(y, key, what, max_len, false, out);
}

int yamlin_read_multiline_text(struct yamlin *y, const char *key, const char *what,
                               size_t max_len, char **out)
{
    return yamlin_text(y, key, what, max_len, true, out);
}
