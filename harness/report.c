/*
 * report.c: the reports of a suite run. See report.h.
 *
 * This file only formats the struct report it is handed; it measures
 * nothing and changes nothing in it. Every string that comes from the report
 * (case names, tap names, paths, error messages) goes through the escaping
 * of the format it lands in: json.h for JSON, xml_put() for JUnit and HTML
 * (which also drops control characters and repairs invalid UTF-8, so the
 * output always parses), md_put() for Markdown table cells, text_put() for
 * the terminal (no control characters, so a case name cannot smuggle in an
 * escape sequence).
 *
 * Numbers meant for people are short ("3.1e-4"); a bound is printed exactly
 * as it reads back, a measured value with just enough digits to differ from
 * its bound, and a "needs" suggestion is rounded away from failing so that
 * the printed number, put in a policy, passes. The machine-readable
 * report.json keeps every digit.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "json.h"
#include "outfile.h"

#define REPORT_SCHEMA_VERSION 1

/* ---- small strings ---- */

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* A fixed buffer that appends with truncation; descriptions are one line and
 * far shorter than this. */
struct sbuf {
    char s[2048];
    size_t len;
};

static void sb_init(struct sbuf *b)
{
    b->s[0] = '\0';
    b->len = 0;
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->len + 1 >= sizeof b->s)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, sizeof b->s - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b->len += (size_t)n;
    if (b->len > sizeof b->s - 1)
        b->len = sizeof b->s - 1;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid or
 * encodes a character XML and HTML forbid (surrogates, U+FFFE/U+FFFF and the
 * other noncharacters). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    uint32_t c;
    size_t len = json_utf8_decode(s, n, &c);
    if (len && ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe))
        return 0;
    return len;
}

/* U+0080..U+009F, the C1 controls, as UTF-8. */
static bool is_c1_control(const unsigned char *s, size_t len)
{
    return len == 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

/* Text for XML or HTML, in element content or in a quoted attribute: the
 * five special characters as entities, control characters dropped (XML 1.0
 * cannot hold them at all), invalid UTF-8 as U+FFFD. In an attribute, tab
 * and newline become character references so they survive attribute-value
 * normalisation. */
static void xml_put(FILE *fp, const char *s, bool attr)
{
    const unsigned char *p = (const unsigned char *)nz(s);
    size_t n = strlen((const char *)p);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        switch (c) {
        case '&': fputs("&amp;", fp); i++; continue;
        case '<': fputs("&lt;", fp); i++; continue;
        case '>': fputs("&gt;", fp); i++; continue;
        case '"': fputs("&quot;", fp); i++; continue;
        case '\'': fputs("&#39;", fp); i++; continue;
        case '\t': fputs(attr ? "&#9;" : "\t", fp); i++; continue;
        case '\n': fputs(attr ? "&#10;" : "\n", fp); i++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            i++;
            continue;
        }
        size_t len = utf8_len(p + i, n - i);
        if (len == 0) {
            fputs("\xef\xbf\xbd", fp); /* U+FFFD */
            i++;
        } else {
            if (!is_c1_control(p + i, len))
                fwrite(p + i, 1, len, fp);
            i += len;
        }
    }
}

/* Text for a Markdown table cell (GitHub flavour): '|' and '\' and the
 * characters that start emphasis, code or links escaped; '<' and '&' as
 * entities where they could open a tag or an entity; newlines and control
 * characters become spaces so the row stays one line. '_' inside a word is
 * left alone (GFM never reads it as emphasis), so tap names stay readable. */
static void md_put(FILE *fp, const char *s)
{
    const unsigned char *p = (const unsigned char *)nz(s);
    for (size_t i = 0; p[i]; i++) {
        unsigned char c = p[i];
        unsigned char prev = i ? p[i - 1] : ' ', next = p[i + 1];
        bool word_prev = (prev >= '0' && prev <= '9') || ((prev | 0x20) >= 'a' && (prev | 0x20) <= 'z');
        bool word_next = (next >= '0' && next <= '9') || ((next | 0x20) >= 'a' && (next | 0x20) <= 'z');
        if (c == '|' || c == '\\' || c == '*' || c == '`' || c == '[' || c == ']' ||
            (c == '_' && !(word_prev && word_next))) {
            fputc('\\', fp);
            fputc(c, fp);
        } else if (c == '<' && next != '=' && next != ' ' && next != '\0') {
            fputs("&lt;", fp);
        } else if (c == '&' && next != ' ' && next != '\0') {
            fputs("&amp;", fp);
        } else if (c < 0x20 || c == 0x7f) {
            fputc(' ', fp);
        } else {
            fputc(c, fp);
        }
    }
}

/* Text for a terminal: control characters become '?'. */
static void text_put(FILE *fp, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)nz(s); *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, fp);
}

/* ---- numbers for people ---- */

/* Drop trailing zeros after a decimal point, and a bare point. */
static void trim_fraction(char *s)
{
    char *dot = strchr(s, '.');
    if (!dot || strchr(s, 'e'))
        return;
    char *end = s + strlen(s);
    while (end > dot + 1 && end[-1] == '0')
        end--;
    if (end == dot + 1)
        end = dot;
    *end = '\0';
}

/* v with sig significant digits in the shortest plain form: "0", "37",
 * "0.031", "3.1e-4", "2e19", "inf", "nan". Whole numbers below 1e9 print
 * whole. */
static void fmt_num(char *out, size_t n, double v, int sig)
{
    if (isnan(v)) {
        snprintf(out, n, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, n, "%s", v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == 0) {
        snprintf(out, n, "0");
        return;
    }
    if (fabs(v) < 1e9 && v == floor(v)) {
        snprintf(out, n, "%.0f", v);
        return;
    }
    char m[32]; /* "-1.2345678901234567e-308" at most */
    snprintf(m, sizeof m, "%.*e", sig - 1, v);
    char *e = strchr(m, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (!e || (exp10 >= -1 && exp10 < 6)) {
        int dec = sig - 1 - exp10;
        snprintf(out, n, "%.*f", dec > 0 ? dec : 0, v);
        trim_fraction(out);
        return;
    }
    *e = '\0';
    trim_fraction(m);
    snprintf(out, n, "%se%d", m, exp10);
}

/* v with dec decimals, trailing zeros dropped. */
static void fmt_fixed(char *out, size_t n, double v, int dec)
{
    snprintf(out, n, "%.*f", dec, v);
    trim_fraction(out);
    if (!strcmp(out, "-0"))
        snprintf(out, n, "0");
}

/* Cosines live just below 1: decimals enough to show two significant digits
 * of 1 - v (0.99987 for a gap of 1.3e-4). */
static int cosine_decimals(double v)
{
    double gap = fabs(1.0 - v);
    if (!(gap > 0) || !isfinite(gap))
        return 1;
    double d = 1.0 - floor(log10(gap));
    return d < 1 ? 1 : d > 15 ? 15 : (int)d;
}

/* The shortest form of v that reads back as exactly v: for bounds, which a
 * person wrote in a policy. */
static void fmt_exact(char *out, size_t n, double v)
{
    for (int sig = 1; sig <= 17; sig++) {
        fmt_num(out, n, v, sig);
        if (strtod(out, NULL) == v)
            return;
    }
}

static const char *metric_name(enum policy_metric m)
{
    const char *s = policy_metric_name(m);
    return s ? s : "?";
}

/* Lower bounds (the value must reach the bound) as opposed to upper bounds. */
static bool metric_is_lower(enum policy_metric m)
{
    return m == POLICY_MIN_COSINE || m == POLICY_MIN_TOP1 || m == POLICY_MIN_TOPK;
}

/* A measured value, with extra digits on top of the usual two. */
static void fmt_metric(char *out, size_t n, enum policy_metric m, double v, int extra)
{
    if (m == POLICY_MIN_COSINE && isfinite(v) && v != floor(v))
        fmt_fixed(out, n, v, cosine_decimals(v) + extra);
    else
        fmt_num(out, n, v, 2 + extra);
}

/* A value and its bound: the bound exact, the value with the fewest digits
 * that still tell it from the bound (1.04e-5 > 1e-5, not 1e-5 > 1e-5). */
static void fmt_value_bound(char *vs, char *bs, size_t n, enum policy_metric m, double v, double b)
{
    fmt_exact(bs, n, b);
    for (int extra = 0; extra < 16; extra++) {
        fmt_metric(vs, n, m, v, extra);
        if (v == b || strcmp(vs, bs) != 0)
            return;
    }
}

/* A suggested bound, rounded away from failing (up for upper bounds, down
 * for lower ones) and checked by reading the printed text back, so the
 * printed number passes when put in the policy. */
static void fmt_needed(char *out, size_t n, enum policy_metric m, double v)
{
    if (!isfinite(v) || v == 0 || (fabs(v) < 1e9 && v == floor(v))) {
        fmt_num(out, n, v, 17);
        return;
    }
    bool cosine = m == POLICY_MIN_COSINE;
    int dir = metric_is_lower(m) ? -1 : 1;
    int dec = cosine_decimals(v);
    double step = cosine ? pow(10.0, -dec) : pow(10.0, floor(log10(fabs(v))) - 1);
    double r = dir > 0 ? floor(v / step) : ceil(v / step);
    for (int i = 0; i < 4; i++, r += dir) {
        if (cosine)
            fmt_fixed(out, n, r * step, dec);
        else
            fmt_num(out, n, r * step, 2);
        double back = strtod(out, NULL);
        if (dir > 0 ? back >= v : back <= v)
            return;
    }
    fmt_num(out, n, v, 17);
}

/* ---- what a case says ---- */

static bool case_pass(const struct report_case *c)
{
    return !c->errored && c->result.pass;
}

static int check_count(const struct compare_tap *t)
{
    return t->n_checks < 0 ? 0 : t->n_checks > POLICY_METRIC_COUNT ? POLICY_METRIC_COUNT : t->n_checks;
}

/* The case's taps, or none when it errored or holds none. */
static int64_t case_taps(const struct report_case *c)
{
    return c->errored || !c->result.taps || c->result.n_taps < 0 ? 0 : c->result.n_taps;
}

/* Index of the first failing tap, -1 when none: result.first_fail when it is
 * in range, else the first tap marked failing. */
static int64_t case_first_fail(const struct report_case *c)
{
    int64_t n = case_taps(c);
    if (c->result.first_fail >= 0 && c->result.first_fail < n)
        return c->result.first_fail;
    for (int64_t i = 0; i < n; i++)
        if (!c->result.taps[i].pass)
            return i;
    return -1;
}

struct report_counts {
    int64_t passed, failed, errored;
    double seconds;
};

static struct report_counts report_count(const struct report *r)
{
    struct report_counts k = {0, 0, 0, 0.0};
    for (int64_t i = 0; i < r->n_cases; i++) {
        const struct report_case *c = &r->cases[i];
        if (c->errored)
            k.errored++;
        else if (c->result.pass)
            k.passed++;
        else
            k.failed++;
        if (isfinite(c->seconds) && c->seconds > 0)
            k.seconds += c->seconds;
    }
    return k;
}

bool report_pass(const struct report *r)
{
    for (int64_t i = 0; i < r->n_cases; i++)
        if (!case_pass(&r->cases[i]))
            return false;
    return true;
}

/* How much of its allowance a check uses: 0 = exact, 1 = at the bound,
 * above 1 failing. The lower-bound metrics (cosine, top-1, top-k) are at
 * best 1, so their use is the distance from 1 against the bound's. An
 * elementwise check only knows its mismatch count, so it scores 0 when
 * clean and just above 1 by the share that mismatched. */
static double check_usage(const struct compare_tap *t, const struct compare_check *c)
{
    double v = c->value, b = c->bound;
    if (c->metric == POLICY_ELEMENTWISE)
        return c->pass ? 0.0 : 1.0 + (t->n > 0 ? v / (double)t->n : 1.0);
    if (isnan(v))
        return INFINITY;
    double used, room;
    if (metric_is_lower(c->metric)) {
        used = 1.0 - v;
        room = 1.0 - b;
    } else {
        used = v;
        room = b;
    }
    if (used <= 0)
        return 0.0;
    return room > 0 ? used / room : INFINITY;
}

struct worst {
    const struct compare_tap *tap;
    const struct compare_check *check;
};

/* The check closest to (or furthest past) its bound; the earliest on ties.
 * Returns false when the case has no checks. */
static bool case_worst(const struct report_case *c, struct worst *w)
{
    double best = -1;
    w->tap = NULL;
    w->check = NULL;
    for (int64_t i = 0; i < case_taps(c); i++) {
        const struct compare_tap *t = &c->result.taps[i];
        for (int k = 0; k < check_count(t); k++) {
            double u = check_usage(t, &t->checks[k]);
            if (u > best) {
                best = u;
                w->tap = t;
                w->check = &t->checks[k];
            }
        }
    }
    return w->check != NULL;
}

/* "atol/rtol 12 mismatches of 8192" or "max_nmse 2.1e-6 > 1e-8". */
static void describe_check(struct sbuf *b, const struct compare_tap *t, const struct compare_check *c)
{
    const char *name = metric_name(c->metric);
    if (c->metric == POLICY_ELEMENTWISE) {
        char v[64];
        fmt_num(v, sizeof v, c->value, 17);
        sb_printf(b, "%s %s mismatches of %" PRId64, name, v, t->n);
        return;
    }
    char v[64], bound[64];
    fmt_value_bound(v, bound, sizeof v, c->metric, c->value, c->bound);
    bool lower = metric_is_lower(c->metric);
    const char *op = c->pass ? (lower ? ">=" : "<=") : (lower ? "<" : ">");
    sb_printf(b, "%s %s %s %s", name, v, op, bound);
}

/* " (needs atol >= 3.2e-4)" for a failing check that knows its needed bound. */
static void describe_needed(struct sbuf *b, const struct compare_check *c)
{
    if (c->pass || !isfinite(c->needed))
        return;
    char s[64];
    fmt_needed(s, sizeof s, c->metric, c->needed);
    if (c->metric == POLICY_ELEMENTWISE)
        sb_printf(b, " (needs atol >= %s)", s);
    else
        sb_printf(b, " (needs %s %s %s)", metric_name(c->metric),
                  metric_is_lower(c->metric) ? "<=" : ">=", s);
}

/* ", max |a-b| 3.1e-4 at position 5, column 17". */
static void describe_where(struct sbuf *b, const struct compare_tap *t)
{
    char a[64];
    fmt_num(a, sizeof a, t->max_abs, 2);
    sb_printf(b, ", max |a-b| %s", a);
    if (t->width > 0 && t->max_abs_index >= 0 && t->max_abs_index < t->n)
        sb_printf(b, " at position %" PRId64 ", column %" PRId64, t->max_abs_index / t->width,
                  t->max_abs_index % t->width);
}

/* Why tap t failed: its first failing check in full, the others after. */
static void describe_failure(struct sbuf *b, const struct compare_tap *t)
{
    if (t->missing_in_cand) {
        sb_printf(b, "missing from the candidate");
        return;
    }
    if (t->missing_in_ref) {
        sb_printf(b, "not in the reference");
        return;
    }
    if (t->shape_mismatch) {
        sb_printf(b, "shape differs from the reference");
        return;
    }
    int first = -1;
    for (int k = 0; k < check_count(t) && first < 0; k++)
        if (!t->checks[k].pass)
            first = k;
    if (t->nonfinite > 0) {
        sb_printf(b, "%" PRId64 " non-finite values where the reference is finite", t->nonfinite);
        if (first >= 0)
            sb_printf(b, "; ");
    }
    if (first < 0) {
        if (t->nonfinite <= 0)
            sb_printf(b, "failed");
        describe_where(b, t);
        return;
    }
    describe_check(b, t, &t->checks[first]);
    describe_where(b, t);
    describe_needed(b, &t->checks[first]);
    bool more = false;
    for (int k = first + 1; k < check_count(t); k++) {
        if (t->checks[k].pass)
            continue;
        sb_printf(b, more ? ", " : "; also ");
        describe_check(b, t, &t->checks[k]);
        describe_needed(b, &t->checks[k]);
        more = true;
    }
}

/* "ffn_out-1 (layer 1)" or "result_output". */
static void describe_tap_name(struct sbuf *b, const struct compare_tap *t)
{
    sb_printf(b, "%s", t->name);
    if (t->layer >= 0)
        sb_printf(b, " (layer %" PRId64 ")", t->layer);
}

static bool is_layer_output(const struct compare_tap *t)
{
    return !strncmp(t->name, "l_out-", 6);
}

static bool tap_measured(const struct compare_tap *t)
{
    return !t->missing_in_cand && !t->missing_in_ref && !t->shape_mismatch;
}

/* Whether tap i is a landmark after the first failure ff: the next tap,
 * each layer's output, the last tap. */
static bool growth_landmark(const struct compare_result *res, int64_t ff, int64_t i)
{
    const struct compare_tap *t = &res->taps[i];
    return tap_measured(t) && (i == ff + 1 || is_layer_output(t) || i == res->n_taps - 1);
}

/* "; then grows: l_out-1 2.9e-4, ..., result_output 1.2e-3": max |a-b| at
 * the landmarks after the first failure, at most six of them, "..." where
 * taps are skipped. */
static void describe_growth(struct sbuf *b, const struct report_case *c, int64_t ff)
{
    const struct compare_result *res = &c->result;
    int64_t n = case_taps(c), k = 0, last = -1, at = 0;
    for (int64_t i = ff + 1; i < n; i++)
        if (growth_landmark(res, ff, i)) {
            k++;
            last = i;
        }
    if (k == 0)
        return;
    bool grows = res->taps[last].max_abs > res->taps[ff].max_abs;
    sb_printf(b, "; %s ", grows ? "then grows:" : "after it:");
    int64_t prev = ff;
    for (int64_t i = ff + 1; i < n; i++) {
        if (!growth_landmark(res, ff, i))
            continue;
        bool show = k <= 6 || at < 2 || at >= k - 3;
        at++;
        if (!show)
            continue;
        if (i != prev + 1)
            sb_printf(b, "..., ");
        char v[64];
        fmt_num(v, sizeof v, res->taps[i].max_abs, 2);
        sb_printf(b, "%s %s%s", res->taps[i].name, v, i == last ? "" : ", ");
        prev = i;
    }
}

/* The first divergence of a failing case, or why it failed without one. */
static void describe_divergence(struct sbuf *b, const struct report_case *c, bool growth)
{
    int64_t ff = case_first_fail(c);
    if (ff < 0) {
        sb_printf(b, "failed, but no tap is marked failing");
        return;
    }
    const struct compare_tap *t = &c->result.taps[ff];
    describe_tap_name(b, t);
    sb_printf(b, ": ");
    describe_failure(b, t);
    if (growth)
        describe_growth(b, c, ff);
}

/* "Qcur-1 max_ulp 0 <= 0", or "no checks". */
static void describe_worst(struct sbuf *b, const struct report_case *c)
{
    struct worst w;
    if (!case_worst(c, &w)) {
        sb_printf(b, "no checks");
        return;
    }
    sb_printf(b, "%s ", w.tap->name);
    describe_check(b, w.tap, w.check);
}

/* ---- terminal ---- */

void report_text(FILE *fp, const struct report *r, bool color)
{
    size_t width = 0;
    for (int64_t i = 0; i < r->n_cases; i++) {
        size_t len = strlen(nz(r->cases[i].name));
        if (len > width)
            width = len;
    }
    if (width > 32)
        width = 32;
    for (int64_t i = 0; i < r->n_cases; i++) {
        const struct report_case *c = &r->cases[i];
        const char *verdict = c->errored ? "ERROR" : c->result.pass ? "PASS" : "FAIL";
        const char *ansi = c->errored ? "\033[33m" : c->result.pass ? "\033[32m" : "\033[31m";
        if (color)
            fprintf(fp, "%s%s\033[0m", ansi, verdict);
        else
            fputs(verdict, fp);
        fprintf(fp, "%*s", (int)(6 - strlen(verdict)), "");
        text_put(fp, c->name);
        size_t len = strlen(nz(c->name));
        fprintf(fp, "%*s", (int)(len < width ? width - len : 0) + 3, "");
        struct sbuf b;
        sb_init(&b);
        if (c->errored)
            sb_printf(&b, "%s", c->error[0] ? c->error : "could not run");
        else if (c->result.pass) {
            sb_printf(&b, "worst: ");
            describe_worst(&b, c);
        } else {
            sb_printf(&b, "first divergence: ");
            describe_divergence(&b, c, true);
        }
        text_put(fp, b.s);
        fputc('\n', fp);
    }
    struct report_counts k = report_count(r);
    fprintf(fp, "%" PRId64 " passed, %" PRId64 " failed\n", k.passed, k.failed + k.errored);
}

/* ---- writing a file through outfile ---- */

typedef int (*report_writer_fn)(FILE *fp, const struct report *r, struct plumb_err *err);

/* Write path with fn, atomically: on any failure the destination is left as
 * it was and no temporary file remains. */
static int report_write_file(const char *path, report_writer_fn fn, const struct report *r,
                             struct plumb_err *err)
{
    struct outfile o;
    if (outfile_open(&o, path, err) != 0)
        return -1;
    if (fn(o.fp, r, err) != 0) {
        outfile_abort(&o);
        return err_prefix(err, "%s", path);
    }
    if (ferror(o.fp)) {
        outfile_abort(&o);
        return err_set(err, "%s: write failed", path);
    }
    return outfile_commit(&o, err);
}

/* ---- report.json ---- */

static void json_str_or_null(struct json *j, const char *s)
{
    if (s)
        json_str(j, s);
    else
        json_null(j);
}

static void json_check(struct json *j, const struct compare_check *c)
{
    json_begin_object(j);
    json_key(j, "metric");
    json_str(j, metric_name(c->metric));
    json_key(j, "value");
    json_f64(j, c->value);
    json_key(j, "bound");
    json_f64(j, c->bound);
    json_key(j, "pass");
    json_bool(j, c->pass);
    json_key(j, "needed");
    if (c->pass)
        json_null(j);
    else
        json_f64(j, c->needed);
    json_end_object(j);
}

static void json_tap(struct json *j, const struct compare_tap *t)
{
    json_begin_object(j);
    json_key(j, "name");
    json_str(j, t->name);
    json_key(j, "layer");
    json_int(j, t->layer);
    json_key(j, "pass");
    json_bool(j, t->pass);
    json_key(j, "missing_in_ref");
    json_bool(j, t->missing_in_ref);
    json_key(j, "missing_in_cand");
    json_bool(j, t->missing_in_cand);
    json_key(j, "shape_mismatch");
    json_bool(j, t->shape_mismatch);
    json_key(j, "width");
    json_int(j, t->width);
    json_key(j, "n_pos");
    json_int(j, t->n_pos);
    json_key(j, "n");
    json_int(j, t->n);
    json_key(j, "mismatches");
    json_int(j, t->mismatches);
    json_key(j, "max_abs");
    json_f64(j, t->max_abs);
    json_key(j, "max_abs_index");
    json_int(j, t->max_abs_index);
    bool located = t->width > 0 && t->max_abs_index >= 0;
    json_key(j, "max_abs_position");
    if (located)
        json_int(j, t->max_abs_index / t->width);
    else
        json_null(j);
    json_key(j, "max_abs_column");
    if (located)
        json_int(j, t->max_abs_index % t->width);
    else
        json_null(j);
    json_key(j, "max_rel");
    json_f64(j, t->max_rel);
    json_key(j, "max_ulp");
    json_uint(j, t->max_ulp);
    json_key(j, "rmse");
    json_f64(j, t->rmse);
    json_key(j, "nmse");
    json_f64(j, t->nmse);
    json_key(j, "cosine");
    json_f64(j, t->cosine);
    json_key(j, "nonfinite");
    json_int(j, t->nonfinite);
    json_key(j, "has_logit_metrics");
    json_bool(j, t->has_logit_metrics);
    if (t->has_logit_metrics) {
        json_key(j, "kld_mean");
        json_f64(j, t->kld_mean);
        json_key(j, "kld_max");
        json_f64(j, t->kld_max);
        json_key(j, "top1");
        json_f64(j, t->top1);
        json_key(j, "topk");
        json_f64(j, t->topk);
        json_key(j, "top_k");
        json_int(j, t->top_k);
    }
    json_key(j, "checks");
    json_begin_array(j);
    for (int k = 0; k < check_count(t); k++)
        json_check(j, &t->checks[k]);
    json_end_array(j);
    json_end_object(j);
}

static void json_case(struct json *j, const struct report_case *c)
{
    json_begin_object(j);
    json_key(j, "name");
    json_str_or_null(j, c->name);
    json_key(j, "fixture");
    json_str_or_null(j, c->fixture);
    json_key(j, "policy");
    json_str_or_null(j, c->policy);
    json_key(j, "golden");
    json_str_or_null(j, c->golden);
    json_key(j, "tokens");
    json_int(j, c->n_tokens);
    json_key(j, "seconds");
    json_f64(j, c->seconds);
    json_key(j, "pass");
    json_bool(j, case_pass(c));
    json_key(j, "error");
    if (c->errored)
        json_str(j, c->error[0] ? c->error : "could not run");
    else
        json_null(j);
    int64_t ff = case_first_fail(c);
    json_key(j, "first_fail");
    if (ff >= 0)
        json_str(j, c->result.taps[ff].name);
    else
        json_null(j);
    json_key(j, "first_fail_index");
    json_int(j, ff);
    json_key(j, "taps");
    json_begin_array(j);
    for (int64_t i = 0; i < case_taps(c); i++)
        json_tap(j, &c->result.taps[i]);
    json_end_array(j);
    json_end_object(j);
}

static int json_write(FILE *fp, const struct report *r, struct plumb_err *err)
{
    struct report_counts k = report_count(r);
    struct json j;
    json_init(&j, fp, true);
    json_begin_object(&j);
    json_key(&j, "schema");
    json_str(&j, "plumb-report");
    json_key(&j, "schema_version");
    json_int(&j, REPORT_SCHEMA_VERSION);
    json_key(&j, "suite");
    json_str_or_null(&j, r->suite);
    json_key(&j, "kernels");
    json_str_or_null(&j, r->kernels);
    json_key(&j, "plumb_version");
    json_str_or_null(&j, r->plumb_version);
    json_key(&j, "compiler");
    json_str_or_null(&j, r->compiler);
    json_key(&j, "arch");
    json_str_or_null(&j, r->arch);
    json_key(&j, "shard");
    json_str_or_null(&j, r->shard);
    json_key(&j, "pass");
    json_bool(&j, report_pass(r));
    json_key(&j, "passed");
    json_int(&j, k.passed);
    json_key(&j, "failed");
    json_int(&j, k.failed);
    json_key(&j, "errored");
    json_int(&j, k.errored);
    json_key(&j, "seconds");
    json_f64(&j, k.seconds);
    json_key(&j, "cases");
    json_begin_array(&j);
    for (int64_t i = 0; i < r->n_cases; i++)
        json_case(&j, &r->cases[i]);
    json_end_array(&j);
    json_end_object(&j);
    if (json_finish(&j) != 0) /* the caller puts the path in front */
        return err_set(err, "write failed: %s", strerror(errno ? errno : EIO));
    return 0;
}

int report_json(const struct report *r, const char *path, struct plumb_err *err)
{
    return report_write_file(path, json_write, r, err);
}

/* ---- summary.md ---- */

static void md_seconds(FILE *fp, double s)
{
    fprintf(fp, "%.2f s", isfinite(s) && s > 0 ? s : 0.0);
}

/* One row of the per-tap table around a divergence. */
static void md_tap_row(FILE *fp, const struct compare_tap *t, bool first)
{
    char abs_s[64], ulp_s[64], nmse_s[64], cos_s[64];
    fmt_num(abs_s, sizeof abs_s, t->max_abs, 2);
    fmt_num(ulp_s, sizeof ulp_s, (double)t->max_ulp, 2);
    fmt_num(nmse_s, sizeof nmse_s, t->nmse, 2);
    fmt_fixed(cos_s, sizeof cos_s, t->cosine, cosine_decimals(t->cosine));
    fputs("| ", fp);
    md_put(fp, t->name);
    if (t->layer >= 0)
        fprintf(fp, " | %" PRId64, t->layer);
    else
        fputs(" | -", fp);
    fprintf(fp, " | %" PRId64 " | %s | %s | %s | %s | ", t->mismatches, abs_s, ulp_s, nmse_s, cos_s);
    if (t->pass) {
        fputs("pass", fp);
    } else {
        fputs(first ? "**FAIL** (first)" : "**FAIL**", fp);
        bool any = false;
        for (int k = 0; k < check_count(t); k++)
            if (!t->checks[k].pass) {
                fputs(any ? ", " : ": ", fp);
                md_put(fp, metric_name(t->checks[k].metric));
                any = true;
            }
        if (!any && !tap_measured(t))
            fputs(t->missing_in_cand ? ": missing" : t->missing_in_ref ? ": extra" : ": shape",
                  fp);
    }
    fputs(" |\n", fp);
}

/* Taps from two before the first failure to three after, then the last. */
static void md_divergence(FILE *fp, const struct report_case *c, int64_t ff)
{
    struct sbuf b;
    fputs("\n### ", fp);
    md_put(fp, c->name);
    fputs(": first divergence at ", fp);
    sb_init(&b);
    describe_tap_name(&b, &c->result.taps[ff]);
    md_put(fp, b.s);
    fputs("\n\n", fp);
    sb_init(&b);
    describe_divergence(&b, c, true);
    md_put(fp, b.s);
    fputs("\n\n| tap | layer | mismatches | max abs | max ulp | nmse | cosine | result |\n", fp);
    fputs("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n", fp);
    int64_t n = case_taps(c);
    int64_t lo = ff >= 2 ? ff - 2 : 0, hi = ff + 3 < n - 1 ? ff + 3 : n - 1;
    for (int64_t i = lo; i <= hi; i++)
        md_tap_row(fp, &c->result.taps[i], i == ff);
    if (hi < n - 1) {
        if (hi < n - 2)
            fputs("| ... | | | | | | | |\n", fp);
        md_tap_row(fp, &c->result.taps[n - 1], false);
    }
}

static int md_write(FILE *fp, const struct report *r, struct plumb_err *err)
{
    (void)err;
    struct report_counts k = report_count(r);
    bool pass = report_pass(r);
    fprintf(fp, "## plumb check: %s\n\n", pass ? "PASS" : "FAIL");
    fprintf(fp, "%" PRId64 " passed, %" PRId64 " failed", k.passed, k.failed + k.errored);
    if (k.errored)
        fprintf(fp, " (%" PRId64 " could not run)", k.errored);
    if (r->suite) {
        fputs(" · suite ", fp);
        md_put(fp, r->suite);
    }
    if (r->kernels) {
        fputs(" · kernels ", fp);
        md_put(fp, r->kernels);
    }
    if (r->shard) {
        fputs(" · shard ", fp);
        md_put(fp, r->shard);
    }
    if (r->plumb_version) {
        fputs(" · plumb ", fp);
        md_put(fp, r->plumb_version);
    }
    if (r->compiler || r->arch) {
        fputs(" (", fp);
        md_put(fp, r->compiler);
        fputs(r->compiler && r->arch ? ", " : "", fp);
        md_put(fp, r->arch);
        fputs(")", fp);
    }
    fputs("\n\n| case | result | first divergence | worst metric vs bound | time |\n", fp);
    fputs("| --- | --- | --- | --- | ---: |\n", fp);
    for (int64_t i = 0; i < r->n_cases; i++) {
        const struct report_case *c = &r->cases[i];
        struct sbuf b;
        fputs("| ", fp);
        md_put(fp, c->name);
        if (c->errored) {
            fputs(" | **ERROR** | ", fp);
            md_put(fp, c->error[0] ? c->error : "could not run");
            fputs(" | - | ", fp);
        } else {
            fputs(c->result.pass ? " | pass | " : " | **FAIL** | ", fp);
            sb_init(&b);
            if (c->result.pass)
                sb_printf(&b, "-");
            else
                describe_divergence(&b, c, false);
            md_put(fp, b.s);
            fputs(" | ", fp);
            sb_init(&b);
            describe_worst(&b, c);
            md_put(fp, b.s);
            fputs(" | ", fp);
        }
        md_seconds(fp, c->seconds);
        fputs(" |\n", fp);
    }
    for (int64_t i = 0; i < r->n_cases; i++) {
        const struct report_case *c = &r->cases[i];
        int64_t ff = case_first_fail(c);
        if (!c->errored && !c->result.pass && ff >= 0)
            md_divergence(fp, c, ff);
    }
    return 0;
}

int report_markdown(const struct report *r, const char *path, struct plumb_err *err)
{
    return report_write_file(path, md_write, r, err);
}

/* ---- junit.xml ---- */

/* The suite's name for JUnit: its file name without folder or extension. */
static void suite_label(const struct report *r, char *out, size_t n)
{
    const char *s = r->suite && r->suite[0] ? r->suite : "plumb";
    const char *slash = strrchr(s, '/');
    if (slash && slash[1])
        s = slash + 1;
    snprintf(out, n, "%s", s);
    char *dot = strrchr(out, '.');
    if (dot && dot != out && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
        *dot = '\0';
}

static double junit_seconds(double s)
{
    return isfinite(s) && s > 0 ? s : 0.0;
}

static void junit_property(FILE *fp, const char *name, const char *value)
{
    if (!value)
        return;
    fprintf(fp, "      <property name=\"%s\" value=\"", name);
    xml_put(fp, value, true);
    fputs("\"/>\n", fp);
}

/* The body of a <failure>: the first divergence, then every failing tap. */
static void junit_details(FILE *fp, const struct report_case *c)
{
    struct sbuf b;
    sb_init(&b);
    describe_divergence(&b, c, true);
    fputs("first divergence: ", fp);
    xml_put(fp, b.s, false);
    fputs("\nfailing taps:\n", fp);
    int64_t shown = 0, failing = 0;
    for (int64_t i = 0; i < case_taps(c); i++) {
        const struct compare_tap *t = &c->result.taps[i];
        if (t->pass)
            continue;
        failing++;
        if (shown >= 64)
            continue;
        sb_init(&b);
        sb_printf(&b, "  %s: ", t->name);
        describe_failure(&b, t);
        xml_put(fp, b.s, false);
        fputc('\n', fp);
        shown++;
    }
    if (failing > shown)
        fprintf(fp, "  ... and %" PRId64 " more\n", failing - shown);
}

static int junit_write(FILE *fp, const struct report *r, struct plumb_err *err)
{
    (void)err;
    struct report_counts k = report_count(r);
    char suite[256];
    suite_label(r, suite, sizeof suite);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", fp);
    fprintf(fp,
            "<testsuites name=\"plumb\" tests=\"%" PRId64 "\" failures=\"%" PRId64
            "\" errors=\"%" PRId64 "\" time=\"%.3f\">\n",
            r->n_cases, k.failed, k.errored, k.seconds);
    fputs("  <testsuite name=\"", fp);
    xml_put(fp, suite, true);
    fprintf(fp,
            "\" tests=\"%" PRId64 "\" failures=\"%" PRId64 "\" errors=\"%" PRId64
            "\" skipped=\"0\" time=\"%.3f\">\n",
            r->n_cases, k.failed, k.errored, k.seconds);
    fputs("    <properties>\n", fp);
    junit_property(fp, "suite", r->suite);
    junit_property(fp, "kernels", r->kernels);
    junit_property(fp, "plumb_version", r->plumb_version);
    junit_property(fp, "compiler", r->compiler);
    junit_property(fp, "arch", r->arch);
    junit_property(fp, "shard", r->shard);
    fputs("    </properties>\n", fp);
    for (int64_t i = 0; i < r->n_cases; i++) {
        const struct report_case *c = &r->cases[i];
        fputs("    <testcase classname=\"plumb.", fp);
        xml_put(fp, suite, true);
        fputs("\" name=\"", fp);
        xml_put(fp, c->name, true);
        fprintf(fp, "\" time=\"%.3f\">\n", junit_seconds(c->seconds));
        struct sbuf b;
        sb_init(&b);
        if (c->errored) {
            const char *msg = c->error[0] ? c->error : "could not run";
            fputs("      <error message=\"", fp);
            xml_put(fp, msg, true);
            fputs("\" type=\"error\">", fp);
            xml_put(fp, msg, false);
            fputs("</error>\n", fp);
        } else if (!c->result.pass) {
            describe_divergence(&b, c, false);
            fputs("      <failure message=\"", fp);
            xml_put(fp, b.s, true);
            fputs("\" type=\"drift\">", fp);
            junit_details(fp, c);
            fputs("</failure>\n", fp);
        }
        sb_init(&b);
        sb_printf(&b, "fixture %s, policy %s, golden %s, %" PRId64 " tokens", nz(c->fixture),
                  nz(c->policy), nz(c->golden), c->n_tokens);
        fputs("      <system-out>", fp);
        xml_put(fp, b.s, false);
        fputs("</system-out>\n", fp);
        fputs("    </testcase>\n", fp);
    }
    fputs("  </testsuite>\n</testsuites>\n", fp);
    return 0;
}

int report_junit(const struct report *r, const char *path, struct plumb_err *err)
{
    return report_write_file(path, junit_write, r, err);
}

/* ---- report.html ---- */

/*
 * Charts. The x axis has a slot per layer (0..L-1), with taps outside the
 * blocks (inp_embd before, result_norm and result_output after) in slots of
 * their own on either side. A series is a tap kind: the name without "-N"
 * for block taps, the whole name otherwise. y is log10; zeros sit on a row
 * a decade below the smallest value, labelled "0", infinities on a row a
 * decade above, labelled "inf"; NaN leaves a gap.
 */
#define CHART_MAX_LAYERS 4096

enum chart_metric {
    CHART_MAX_ABS,
    CHART_MAX_ULP,
    CHART_NMSE,
    CHART_COSINE_GAP,
    CHART_KLD,
    CHART_COUNT
};

struct chart_def {
    const char *title;
    enum policy_metric bound_metric;
};

static const struct chart_def chart_defs[CHART_COUNT] = {
    [CHART_MAX_ABS] = {"max |a-b|", POLICY_MAX_ABS},
    [CHART_MAX_ULP] = {"max ULP", POLICY_MAX_ULP},
    [CHART_NMSE] = {"NMSE", POLICY_MAX_NMSE},
    [CHART_COSINE_GAP] = {"1 - cosine", POLICY_MIN_COSINE},
    [CHART_KLD] = {"KL divergence (mean)", POLICY_MAX_KLD},
};

static const char *const chart_palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#637939", "#ce6dbd", "#6b6ecf", "#843c39",
};
#define CHART_COLORS (sizeof chart_palette / sizeof chart_palette[0])

/* Geometry of one chart, in SVG user units. */
#define CHART_W 560
#define CHART_X0 64
#define CHART_X1 540
#define CHART_Y0 40          /* the row above holds the first-failure label */
#define CHART_Y1 230
#define CHART_LEGEND_COL 124

struct chart_layout {
    int64_t n_slots, n_pre, n_layers;
    int64_t *slot;               /* per tap: x slot, -1 when not drawn */
    int *kind;                   /* per tap: series */
    char (*kinds)[DUMP_NAME_MAX];
    int n_kinds;
    char (*labels)[DUMP_NAME_MAX]; /* per slot */
};

static void chart_layout_free(struct chart_layout *L)
{
    free(L->slot);
    free(L->kind);
    free(L->kinds);
    free(L->labels);
    memset(L, 0, sizeof *L);
}

static bool tap_in_block(const struct compare_tap *t)
{
    return t->layer >= 0 && t->layer < CHART_MAX_LAYERS;
}

/* The series name of a tap: "ffn_out" for "ffn_out-3". */
static void tap_kind(const struct compare_tap *t, char *out)
{
    snprintf(out, DUMP_NAME_MAX, "%s", t->name);
    if (tap_in_block(t)) {
        char *dash = strrchr(out, '-');
        if (dash && dash != out)
            *dash = '\0';
    }
}

/* Find name in list[0..*n), appending it when absent; its index. */
static int64_t name_index(char (*list)[DUMP_NAME_MAX], int64_t *n, const char *name)
{
    for (int64_t i = 0; i < *n; i++)
        if (!strcmp(list[i], name))
            return i;
    snprintf(list[*n], DUMP_NAME_MAX, "%s", name);
    return (*n)++;
}

static int chart_layout_init(struct chart_layout *L, const struct report_case *c, struct plumb_err *err)
{
    memset(L, 0, sizeof *L);
    int64_t n = case_taps(c), first_block = n, max_layer = -1;
    for (int64_t i = 0; i < n; i++) {
        const struct compare_tap *t = &c->result.taps[i];
        if (!tap_in_block(t))
            continue;
        if (first_block == n)
            first_block = i;
        if (t->layer > max_layer)
            max_layer = t->layer;
    }
    /* the largest allocation is (n + 1 + layers) names */
    if ((uint64_t)n > SIZE_MAX / DUMP_NAME_MAX / 2 - CHART_MAX_LAYERS)
        return err_set(err, "case '%s': %" PRId64 " taps are too many to chart", nz(c->name), n);
    size_t cap = (size_t)n + 1;
    L->slot = malloc(cap * sizeof *L->slot);
    L->kind = malloc(cap * sizeof *L->kind);
    L->kinds = malloc(cap * sizeof *L->kinds);
    char (*pre)[DUMP_NAME_MAX] = malloc(cap * sizeof *pre);
    char (*post)[DUMP_NAME_MAX] = malloc(cap * sizeof *post);
    L->labels = malloc((cap + (size_t)max_layer + 1) * sizeof *L->labels);
    if (!L->slot || !L->kind || !L->kinds || !pre || !post || !L->labels)
        goto fail;
    /* Pass 1: slots outside the blocks, and series. */
    int64_t n_pre = 0, n_post = 0, n_kinds = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct compare_tap *t = &c->result.taps[i];
        char kind[DUMP_NAME_MAX];
        tap_kind(t, kind);
        L->kind[i] = (int)name_index(L->kinds, &n_kinds, kind);
        if (!tap_measured(t))
            L->slot[i] = -1;
        else if (tap_in_block(t))
            L->slot[i] = -2; /* set below, once n_pre is known */
        else if (i < first_block)
            L->slot[i] = name_index(pre, &n_pre, t->name);
        else
            L->slot[i] = -3 - name_index(post, &n_post, t->name);
    }
    L->n_kinds = (int)n_kinds;
    L->n_pre = n_pre;
    L->n_layers = max_layer + 1;
    L->n_slots = n_pre + L->n_layers + n_post;
    /* Pass 2: final slot numbers and labels. */
    for (int64_t i = 0; i < n; i++) {
        if (L->slot[i] == -2)
            L->slot[i] = n_pre + c->result.taps[i].layer;
        else if (L->slot[i] <= -3)
            L->slot[i] = n_pre + L->n_layers + (-3 - L->slot[i]);
    }
    for (int64_t s = 0; s < n_pre; s++)
        memcpy(L->labels[s], pre[s], DUMP_NAME_MAX);
    for (int64_t l = 0; l < L->n_layers; l++)
        snprintf(L->labels[n_pre + l], DUMP_NAME_MAX, "%" PRId64, l);
    for (int64_t s = 0; s < n_post; s++)
        memcpy(L->labels[n_pre + L->n_layers + s], post[s], DUMP_NAME_MAX);
    free(pre);
    free(post);
    return 0;
fail:
    free(pre);
    free(post);
    chart_layout_free(L);
    return err_set(err, "case '%s': out of memory drawing charts", nz(c->name));
}

/* The value a chart plots for a tap; false for no point (missing tap, no
 * logit metrics, NaN). */
static bool chart_value(enum chart_metric m, const struct compare_tap *t, double *v)
{
    if (!tap_measured(t))
        return false;
    switch (m) {
    case CHART_MAX_ABS: *v = t->max_abs; break;
    case CHART_MAX_ULP: *v = (double)t->max_ulp; break;
    case CHART_NMSE: *v = t->nmse; break;
    case CHART_COSINE_GAP: *v = 1.0 - t->cosine; break;
    case CHART_KLD:
        if (!t->has_logit_metrics)
            return false;
        *v = t->kld_mean;
        break;
    default: return false;
    }
    if (isnan(*v))
        return false;
    if (*v < 0)
        *v = 0; /* a cosine a rounding above 1 */
    return true;
}

/* A bound the policy puts on a chart's metric: as the policy says it, where
 * the chart draws it, and the first two series it applies to (to tell
 * bounds apart when rules give taps different ones). */
struct chart_bound {
    double bound, plotted;
    int kinds[2], n_kinds;
    bool more_kinds;
};

/* The distinct bounds on the chart's metric, at most max. */
static int chart_bounds(enum chart_metric m, const struct report_case *c,
                        const struct chart_layout *L, struct chart_bound *out, int max)
{
    int n = 0;
    for (int64_t i = 0; i < case_taps(c); i++) {
        const struct compare_tap *t = &c->result.taps[i];
        for (int k = 0; k < check_count(t); k++) {
            if (t->checks[k].metric != chart_defs[m].bound_metric)
                continue;
            double b = t->checks[k].bound;
            double y = m == CHART_COSINE_GAP ? 1.0 - b : b;
            if (!isfinite(y) || y < 0)
                continue;
            int j = 0;
            while (j < n && out[j].bound != b)
                j++;
            if (j == n) {
                if (n == max)
                    continue;
                out[n++] = (struct chart_bound){b, y, {0, 0}, 0, false};
            }
            struct chart_bound *cb = &out[j];
            bool seen = false;
            for (int q = 0; q < cb->n_kinds; q++)
                seen = seen || cb->kinds[q] == L->kind[i];
            if (!seen && cb->n_kinds < 2)
                cb->kinds[cb->n_kinds++] = L->kind[i];
            else if (!seen)
                cb->more_kinds = true;
        }
    }
    return n;
}

/* The vertical scale: decades lo..hi, plus a zero row below and an inf row
 * above when needed. */
struct chart_scale {
    int lo, hi;
    bool zero_row, inf_row;
};

static double chart_row_of(const struct chart_scale *s, double v)
{
    if (v <= 0)
        return s->lo - 1;
    if (isinf(v))
        return s->hi + 1;
    return log10(v);
}

static double chart_y(const struct chart_scale *s, double v)
{
    double bottom = s->zero_row ? s->lo - 1 : s->lo, top = s->inf_row ? s->hi + 1 : s->hi;
    double d = chart_row_of(s, v);
    return CHART_Y0 + (top - d) / (top - bottom) * (CHART_Y1 - CHART_Y0);
}

static double chart_x(const struct chart_layout *L, int64_t slot)
{
    return CHART_X0 + ((double)slot + 0.5) * (CHART_X1 - CHART_X0) / (double)L->n_slots;
}

/* "1e-4", "0.1"... "1000", "1e5". */
static void decade_label(char *out, size_t n, int k)
{
    if (k >= 0 && k <= 3)
        snprintf(out, n, "%.0f", pow(10.0, k));
    else
        snprintf(out, n, "1e%d", k);
}

static void svg_text(FILE *fp, double x, double y, const char *anchor, const char *cls,
                     const char *text)
{
    fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\"", x, y);
    if (anchor)
        fprintf(fp, " text-anchor=\"%s\"", anchor);
    if (cls)
        fprintf(fp, " class=\"%s\"", cls);
    fputs(">", fp);
    xml_put(fp, text, false);
    fputs("</text>", fp);
}

static void svg_axes(FILE *fp, const struct chart_layout *L, const struct chart_scale *s,
                     enum chart_metric m)
{
    char label[DUMP_NAME_MAX + 16];
    int step = (s->hi - s->lo + 5) / 6;
    if (step < 1)
        step = 1;
    for (int k = s->hi; k >= s->lo; k -= step) {
        double y = chart_y(s, pow(10.0, k));
        fprintf(fp, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", CHART_X0,
                y, CHART_X1, y);
        decade_label(label, sizeof label, k);
        svg_text(fp, CHART_X0 - 6, y + 4, "end", NULL, label);
    }
    if (s->zero_row) {
        double y = chart_y(s, 0);
        fprintf(fp, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", CHART_X0,
                y, CHART_X1, y);
        svg_text(fp, CHART_X0 - 6, y + 4, "end", NULL, "0");
        /* the break in the axis between 0 and the lowest decade */
        double yb = (y + chart_y(s, pow(10.0, s->lo))) / 2;
        fprintf(fp, "<path class=\"axis\" d=\"M%d %.1fl8 -4M%d %.1fl8 -4\"/>", CHART_X0 - 4, yb + 2,
                CHART_X0 - 4, yb + 6);
    }
    if (s->inf_row) {
        double y = chart_y(s, INFINITY);
        fprintf(fp, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", CHART_X0,
                y, CHART_X1, y);
        svg_text(fp, CHART_X0 - 6, y + 4, "end", NULL, "inf");
    }
    fprintf(fp, "<path class=\"axis\" d=\"M%d %dV%dH%d\"/>", CHART_X0, CHART_Y0, CHART_Y1, CHART_X1);
    int64_t every = (L->n_layers + 11) / 12;
    if (every < 1)
        every = 1;
    for (int64_t i = 0; i < L->n_slots; i++) {
        double x = chart_x(L, i);
        bool layer = i >= L->n_pre && i < L->n_pre + L->n_layers;
        int64_t l = i - L->n_pre;
        if (layer && l % every != 0 && l != L->n_layers - 1)
            continue;
        fprintf(fp, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x,
                CHART_Y1, x, CHART_Y1 + 4);
        if (layer) {
            svg_text(fp, x, CHART_Y1 + 16, "middle", NULL, L->labels[i]);
        } else {
            fprintf(fp, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" "
                        "transform=\"rotate(-35 %.1f %d)\">", x + 3, CHART_Y1 + 14, x + 3,
                    CHART_Y1 + 14);
            xml_put(fp, L->labels[i], false);
            fputs("</text>", fp);
        }
    }
    if (L->n_layers > 0) {
        double mid = (chart_x(L, L->n_pre) + chart_x(L, L->n_pre + L->n_layers - 1)) / 2;
        svg_text(fp, mid, CHART_Y1 + 32, "middle", "axis-title", "layer");
    }
    snprintf(label, sizeof label, "%s (log scale)", chart_defs[m].title);
    fprintf(fp, "<text class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(14 %d) "
                "rotate(-90)\">", (CHART_Y0 + CHART_Y1) / 2);
    xml_put(fp, label, false);
    fputs("</text>", fp);
}

/* One series: its line (pen lifted over gaps) and its points, each with a
 * tooltip; failing taps ringed. */
static void svg_series(FILE *fp, const struct report_case *c, const struct chart_layout *L,
                       const struct chart_scale *s, enum chart_metric m, int kind)
{
    const char *color = chart_palette[(size_t)kind % CHART_COLORS];
    int64_t n = case_taps(c);
    bool open = false, pen = false;
    int64_t prev_slot = -1;
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (L->kind[i] != kind || L->slot[i] < 0)
            continue;
        if (!chart_value(m, &c->result.taps[i], &v)) {
            pen = false;
            continue;
        }
        if (!open) {
            fprintf(fp, "<path class=\"series\" stroke=\"%s\" d=\"", color);
            open = true;
        }
        bool join = pen && L->slot[i] == prev_slot + 1;
        fprintf(fp, "%s%.1f %.1f", join ? "L" : "M", chart_x(L, L->slot[i]), chart_y(s, v));
        pen = true;
        prev_slot = L->slot[i];
    }
    if (open)
        fputs("\"/>", fp);
    for (int64_t i = 0; i < n; i++) {
        double v;
        const struct compare_tap *t = &c->result.taps[i];
        if (L->kind[i] != kind || L->slot[i] < 0 || !chart_value(m, t, &v))
            continue;
        double x = chart_x(L, L->slot[i]), y = chart_y(s, v);
        if (!t->pass)
            fprintf(fp, "<circle class=\"failed\" cx=\"%.1f\" cy=\"%.1f\" r=\"5.5\"/>", x, y);
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", x, y, color);
        char vs[64];
        fmt_num(vs, sizeof vs, v, 3);
        struct sbuf b;
        sb_init(&b);
        sb_printf(&b, "%s: %s%s", t->name, vs, t->pass ? "" : " (failing)");
        xml_put(fp, b.s, false);
        fputs("</title></circle>", fp);
    }
}

/* Below the plot, in rows: one entry per series, then the failing-tap ring.
 * Past 16 series the colours repeat. */
static void svg_legend(FILE *fp, const struct chart_layout *L, double y0)
{
    int per_row = (CHART_X1 - CHART_X0 + 40) / CHART_LEGEND_COL;
    for (int k = 0; k <= L->n_kinds; k++) {
        double x = CHART_X0 - 40 + (k % per_row) * CHART_LEGEND_COL, y = y0 + (k / per_row) * 16;
        if (k == L->n_kinds) {
            fprintf(fp, "<circle class=\"failed\" cx=\"%.1f\" cy=\"%.1f\" r=\"5.5\"/>", x + 9, y);
            svg_text(fp, x + 24, y + 4, NULL, NULL, "failing tap");
            break;
        }
        const char *color = chart_palette[(size_t)k % CHART_COLORS];
        fprintf(fp, "<path class=\"series\" stroke=\"%s\" d=\"M%.1f %.1fh18\"/>", color, x, y);
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", x + 9, y, color);
        svg_text(fp, x + 24, y + 4, NULL, NULL, L->kinds[k]);
    }
}

/* One chart, or nothing when the metric has no point in this case. */
static void svg_chart(FILE *fp, const struct report_case *c, const struct chart_layout *L,
                      enum chart_metric m)
{
    struct chart_scale s = {0, 0, false, false};
    double lo_v = INFINITY, hi_v = 0;
    bool any = false;
    for (int64_t i = 0; i < case_taps(c); i++) {
        double v;
        if (L->slot[i] < 0 || !chart_value(m, &c->result.taps[i], &v))
            continue;
        any = true;
        if (v == 0)
            s.zero_row = true;
        else if (isinf(v))
            s.inf_row = true;
        else {
            lo_v = fmin(lo_v, v);
            hi_v = fmax(hi_v, v);
        }
    }
    if (!any)
        return;
    struct chart_bound bounds[4];
    int n_bounds = chart_bounds(m, c, L, bounds, 4);
    for (int j = 0; j < n_bounds; j++) {
        if (bounds[j].plotted == 0) {
            s.zero_row = true;
        } else {
            lo_v = fmin(lo_v, bounds[j].plotted);
            hi_v = fmax(hi_v, bounds[j].plotted);
        }
    }
    if (hi_v > 0) {
        s.lo = (int)floor(log10(lo_v));
        s.hi = (int)ceil(log10(hi_v));
        if (s.hi <= s.lo)
            s.hi = s.lo + 1;
    } else {
        s.lo = -1;
        s.hi = 0;
    }
    int per_row = (CHART_X1 - CHART_X0 + 40) / CHART_LEGEND_COL;
    double legend_y = CHART_Y1 + 64;
    int height = (int)legend_y + ((L->n_kinds + 1 + per_row - 1) / per_row) * 16;
    char title[96];
    snprintf(title, sizeof title, "%s by layer", chart_defs[m].title);
    fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CHART_W, height, CHART_W,
            height);
    xml_put(fp, title, true);
    fputs("\">", fp);
    svg_text(fp, CHART_W / 2.0, 16, "middle", "title", title);
    svg_axes(fp, L, &s, m);
    for (int j = 0; j < n_bounds; j++) {
        const struct chart_bound *cb = &bounds[j];
        double y = chart_y(&s, cb->plotted);
        char bs[64];
        fmt_exact(bs, sizeof bs, cb->bound);
        struct sbuf b;
        sb_init(&b);
        sb_printf(&b, "bound: %s %s", metric_name(chart_defs[m].bound_metric), bs);
        for (int q = 0; n_bounds > 1 && q < cb->n_kinds; q++)
            sb_printf(&b, "%s%s", q ? ", " : " (", L->kinds[cb->kinds[q]]);
        if (n_bounds > 1 && cb->n_kinds > 0)
            sb_printf(&b, "%s)", cb->more_kinds ? ", ..." : "");
        fprintf(fp, "<line class=\"bound\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", CHART_X0,
                y, CHART_X1, y);
        /* at the left end: drift grows rightwards, so the left is where the
         * line is least likely to have points over it */
        svg_text(fp, CHART_X0 + 4, y - 4, NULL, "bound-label", b.s);
    }
    int64_t ff = case_first_fail(c);
    if (ff >= 0 && L->slot[ff] >= 0) {
        double x = chart_x(L, L->slot[ff]);
        bool right = x > (CHART_X0 + CHART_X1) / 2.0;
        fprintf(fp, "<line class=\"first\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x,
                CHART_Y0 - 16, x, CHART_Y1);
        struct sbuf b;
        sb_init(&b);
        sb_printf(&b, "first failure: %s", c->result.taps[ff].name);
        svg_text(fp, right ? x - 4 : x + 4, CHART_Y0 - 6, right ? "end" : "start", "first-label",
                 b.s);
    }
    for (int k = 0; k < L->n_kinds; k++)
        svg_series(fp, c, L, &s, m, k);
    svg_legend(fp, L, legend_y);
    fputs("</svg>\n", fp);
}

static const char html_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:24px;color:#1f2328;background:#fff;max-width:1180px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 4px;"
    "border-bottom:1px solid #d0d7de;padding-bottom:4px}"
    ".meta{color:#57606a;font-size:13px;margin:4px 0 12px}"
    "table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}"
    "th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:right;"
    "font-variant-numeric:tabular-nums;vertical-align:top}"
    "th{background:#f6f8fa}th.l,td.l{text-align:left}"
    "tr.fail td{background:#ffebe9}tr.first td{background:#ffcecb;font-weight:600}"
    "td.nw{white-space:nowrap}"
    ".badge{display:inline-block;padding:1px 9px;border-radius:10px;color:#fff;font-size:12px;"
    "font-weight:600;vertical-align:middle}"
    ".pass{background:#1a7f37}.fail{background:#cf222e}.error{background:#9a6700}"
    ".why{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;"
    "background:#f6f8fa;border-left:3px solid #cf222e;padding:6px 10px;white-space:pre-wrap;"
    "overflow-wrap:anywhere}"
    ".why.err{border-left-color:#9a6700}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}"
    ".charts svg{border:1px solid #d0d7de;border-radius:4px;max-width:100%;height:auto}"
    "svg text{font-size:11px;fill:#1f2328}"
    "svg .title{font-size:13px;font-weight:600}svg .axis-title{font-size:11.5px;fill:#57606a}"
    "svg .grid{stroke:#eaeef2;stroke-width:1}svg .axis{stroke:#57606a;stroke-width:1;fill:none}"
    "svg .series{fill:none;stroke-width:1.6}"
    "svg .bound{stroke:#cf222e;stroke-width:1.4;stroke-dasharray:6 4}"
    "svg .bound-label{fill:#cf222e;paint-order:stroke;stroke:#fff;stroke-width:3px;"
    "stroke-linejoin:round}"
    "svg .first{stroke:#8250df;stroke-width:1.2;stroke-dasharray:2 3}"
    "svg .first-label{fill:#8250df}"
    "svg .failed{fill:none;stroke:#1f2328;stroke-width:1.2}";

static void html_td(FILE *fp, const char *text)
{
    fputs("<td>", fp);
    xml_put(fp, text, false);
    fputs("</td>", fp);
}

static void html_tap_row(FILE *fp, const struct compare_tap *t, bool first)
{
    char s[64];
    fprintf(fp, "<tr%s><td class=\"l\">", first ? " class=\"fail first\"" : t->pass ? "" : " class=\"fail\"");
    xml_put(fp, t->name, false);
    fputs("</td>", fp);
    if (t->layer >= 0)
        fprintf(fp, "<td>%" PRId64 "</td>", t->layer);
    else
        fputs("<td>-</td>", fp);
    if (!tap_measured(t)) {
        fputs("<td colspan=\"8\" class=\"l\">", fp);
        fputs(t->missing_in_cand ? "missing from the candidate"
              : t->missing_in_ref ? "not in the reference" : "shape differs from the reference", fp);
        fputs("</td>", fp);
    } else {
        fprintf(fp, "<td>%" PRId64 "</td>", t->mismatches);
        fmt_num(s, sizeof s, t->max_abs, 3);
        html_td(fp, s);
        fmt_num(s, sizeof s, t->max_rel, 3);
        html_td(fp, s);
        fmt_num(s, sizeof s, (double)t->max_ulp, 3);
        html_td(fp, s);
        fmt_num(s, sizeof s, t->rmse, 3);
        html_td(fp, s);
        fmt_num(s, sizeof s, t->nmse, 3);
        html_td(fp, s);
        fmt_fixed(s, sizeof s, t->cosine, cosine_decimals(t->cosine) + 1);
        html_td(fp, s);
    }
    fputs("<td class=\"l\">", fp);
    if (t->pass) {
        fputs("pass", fp);
    } else {
        fputs(first ? "FAIL (first)" : "FAIL", fp);
        bool any = false;
        for (int k = 0; k < check_count(t); k++)
            if (!t->checks[k].pass) {
                fputs(any ? ", " : ": ", fp);
                xml_put(fp, metric_name(t->checks[k].metric), false);
                any = true;
            }
        if (t->nonfinite > 0)
            fprintf(fp, "%s%" PRId64 " non-finite", any ? ", " : ": ", t->nonfinite);
    }
    fputs("</td></tr>\n", fp);
}

static const char *verdict_class(const struct report_case *c)
{
    return c->errored ? "error" : c->result.pass ? "pass" : "fail";
}

static const char *verdict_word(const struct report_case *c)
{
    return c->errored ? "ERROR" : c->result.pass ? "PASS" : "FAIL";
}

static int html_case(FILE *fp, const struct report_case *c, int64_t index, struct plumb_err *err)
{
    char s[64];
    fprintf(fp, "<section>\n<h2 id=\"case-%" PRId64 "\">", index + 1);
    xml_put(fp, c->name, false);
    fprintf(fp, " <span class=\"badge %s\">%s</span></h2>\n", verdict_class(c), verdict_word(c));
    fputs("<p class=\"meta\">fixture ", fp);
    xml_put(fp, c->fixture, false);
    fputs(" · policy ", fp);
    xml_put(fp, c->policy, false);
    fputs(" · golden ", fp);
    xml_put(fp, c->golden, false);
    snprintf(s, sizeof s, "%.2f", isfinite(c->seconds) && c->seconds > 0 ? c->seconds : 0.0);
    fprintf(fp, " · %" PRId64 " tokens · %s s</p>\n", c->n_tokens, s);
    if (c->errored) {
        fputs("<p class=\"why err\">", fp);
        xml_put(fp, c->error[0] ? c->error : "could not run", false);
        fputs("</p>\n</section>\n", fp);
        return 0;
    }
    if (!c->result.pass) {
        struct sbuf b;
        sb_init(&b);
        sb_printf(&b, "first divergence: ");
        describe_divergence(&b, c, true);
        fputs("<p class=\"why\">", fp);
        xml_put(fp, b.s, false);
        fputs("</p>\n", fp);
    }
    int64_t n = case_taps(c);
    if (n > 0) {
        struct chart_layout L;
        if (chart_layout_init(&L, c, err) != 0)
            return -1;
        if (L.n_slots > 0) {
            fputs("<div class=\"charts\">\n", fp);
            for (int m = 0; m < CHART_COUNT; m++)
                svg_chart(fp, c, &L, (enum chart_metric)m);
            fputs("</div>\n", fp);
        }
        chart_layout_free(&L);
    }
    fputs("<table>\n<thead><tr><th class=\"l\">tap</th><th>layer</th><th>mismatches</th>"
          "<th>max abs</th><th>max rel</th><th>max ulp</th><th>rmse</th><th>nmse</th>"
          "<th>cosine</th><th class=\"l\">pass</th></tr></thead>\n<tbody>\n", fp);
    int64_t ff = case_first_fail(c);
    for (int64_t i = 0; i < n; i++)
        html_tap_row(fp, &c->result.taps[i], i == ff);
    fputs("</tbody>\n</table>\n</section>\n", fp);
    return 0;
}

static int html_write(FILE *fp, const struct report *r, struct plumb_err *err)
{
    struct report_counts k = report_count(r);
    bool pass = report_pass(r);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", fp);
    fprintf(fp, "<title>plumb check: %s</title>\n<style>%s</style>\n</head>\n<body>\n",
            pass ? "PASS" : "FAIL", html_css);
    fprintf(fp, "<h1>plumb check <span class=\"badge %s\">%s</span></h1>\n",
            pass ? "pass" : "fail", pass ? "PASS" : "FAIL");
    fprintf(fp, "<p class=\"meta\">%" PRId64 " passed, %" PRId64 " failed", k.passed,
            k.failed + k.errored);
    const char *keys[] = {"suite", "kernels", "shard", "plumb", "compiler", "arch"};
    const char *vals[] = {r->suite, r->kernels, r->shard, r->plumb_version, r->compiler, r->arch};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!vals[i])
            continue;
        fprintf(fp, " · %s ", keys[i]);
        xml_put(fp, vals[i], false);
    }
    fputs("</p>\n<table>\n<thead><tr><th class=\"l\">case</th><th class=\"l\">result</th>"
          "<th class=\"l\">first divergence</th><th class=\"l\">worst metric vs bound</th>"
          "<th>time</th></tr></thead>\n<tbody>\n", fp);
    for (int64_t i = 0; i < r->n_cases; i++) {
        const struct report_case *c = &r->cases[i];
        struct sbuf b;
        fprintf(fp, "<tr%s><td class=\"l nw\"><a href=\"#case-%" PRId64 "\">",
                case_pass(c) ? "" : " class=\"fail\"", i + 1);
        xml_put(fp, c->name, false);
        fprintf(fp, "</a></td><td class=\"l\"><span class=\"badge %s\">%s</span></td>",
                verdict_class(c), verdict_word(c));
        sb_init(&b);
        if (c->errored)
            sb_printf(&b, "%s", c->error[0] ? c->error : "could not run");
        else if (!c->result.pass)
            describe_divergence(&b, c, false);
        else
            sb_printf(&b, "-");
        fputs("<td class=\"l\">", fp);
        xml_put(fp, b.s, false);
        fputs("</td><td class=\"l\">", fp);
        sb_init(&b);
        if (c->errored)
            sb_printf(&b, "-");
        else
            describe_worst(&b, c);
        xml_put(fp, b.s, false);
        char s[64];
        snprintf(s, sizeof s, "%.2f", isfinite(c->seconds) && c->seconds > 0 ? c->seconds : 0.0);
        fprintf(fp, "</td><td class=\"nw\">%s s</td></tr>\n", s);
    }
    fputs("</tbody>\n</table>\n", fp);
    for (int64_t i = 0; i < r->n_cases; i++)
        if (html_case(fp, &r->cases[i], i, err) != 0)
            return -1;
    fputs("</body>\n</html>\n", fp);
    return 0;
}

int report_html(const struct report *r, const char *path, struct plumb_err *err)
{
    return report_write_file(path, html_write, r, err);
}

/* ---- the report folder ---- */

/* mkdir -p dir; a component that exists and is not a folder is an error
 * naming it. */
static int make_dirs(const char *dir, struct plumb_err *err)
{
    size_t n = strlen(dir);
    if (n == 0)
        return err_set(err, "report folder: empty path");
    char *p = malloc(n + 1);
    if (!p)
        return err_set(err, "%s: out of memory", dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if ((p[i] != '/' && p[i] != '\0') || p[i - 1] == '/')
            continue;
        char save = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0) {
            int e = errno;
            struct stat st;
            if (stat(p, &st) != 0) {
                err_set(err, "%s: cannot create folder '%s': %s", dir, p, strerror(e));
                goto fail;
            }
            if (!S_ISDIR(st.st_mode)) {
                err_set(err, "%s: '%s' is a file, not a folder", dir, p);
                goto fail;
            }
        }
        p[i] = save;
    }
    free(p);
    return 0;
fail:
    free(p);
    return -1;
}

int report_write_dir(const struct report *r, const char *dir, struct plumb_err *err)
{
    static const char *const names[] = {"report.json", "summary.md", "report.html", "junit.xml"};
    static const report_writer_fn writers[] = {json_write, md_write, html_write, junit_write};
    if (make_dirs(dir, err) != 0)
        return -1;
    size_t n = strlen(dir);
    char *path = malloc(n + 32);
    if (!path)
        return err_set(err, "%s: out of memory", dir);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, n + 32, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", names[i]);
        if (report_write_file(path, writers[i], r, err) != 0) {
            free(path);
            return -1;
        }
    }
    free(path);
    return 0;
}
