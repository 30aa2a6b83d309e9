/*
 * yamlin.h: the strict YAML reader under plumb's spec, policy and suite
 * files: libyaml's event stream, one event at a time, with plumb's own
 * grammar for scalars and one-line errors "PATH:LINE: key: reason".
 *
 * What it is: the pieces every one of those readers needs and must get
 * right once: bounded input (a byte limit, UTF-8 only), libyaml errors with
 * their line, refusal of aliases, anchors and tags at the event that carries
 * them (so an expansion bomb fails at its first anchor and nothing is ever
 * expanded), and scalar readers for integers, floats, booleans and text
 * whose grammar does not depend on YAML 1.1 resolution rules or on the
 * host's locale:
 *
 *   integer  plain decimal digits; no sign, no leading zero (YAML 1.1 reads
 *            010 as octal), no 0x, no 1_000, no quotes
 *   float    plain [+-]digits[.digits][e[+-]digits] (or .digits); no .nan,
 *            .inf, nan, inf, hex floats; finite and normal (or zero)
 *   bool     plain `true` or `false` only (not yes/no/on/off/True)
 *   text     any scalar style, non-empty, not a plain null (~, null), a
 *            byte limit, no control characters (a multi-line variant allows
 *            '\n' and '\t')
 *
 * What it is not: a YAML loader. There is no tree: the caller walks the
 * events in the order its format allows, so the work is bounded by the
 * input size and nesting is refused at the first level the format does not
 * have, however deep it goes.
 *
 * Usage, for a top-level mapping of known keys:
 *
 *   struct yamlin y;
 *   if (yamlin_open(&y, text, len, path, "suite", MAX, err) < 0) return -1;
 *   rc = yamlin_document_start(&y);           // at the top MAPPING-START
 *   while (rc == 0 && (rc = yamlin_next(&y)) == 0 &&
 *          y.ev.type != YAML_MAPPING_END_EVENT) {
 *       ... yamlin_expect_key, yamlin_key_is / yamlin_unknown_key,
 *       yamlin_once, yamlin_next, then a yamlin_read_* for the value ...
 *   }
 *   if (rc == 0) rc = yamlin_document_end(&y);
 *   yamlin_close(&y);
 *
 * Conventions: every int-returning function returns 0, or -1 with *err
 * filled (one line); after a failure the reader must not be advanced, only
 * closed. yamlin_read_* read the current event and do not advance; keys in
 * messages are the caller's words ("types: 'blk.*'", "tokens[3]"). Errors
 * about a value name the line of that value's event.
 */
#ifndef PLUMB_YAMLIN_H
#define PLUMB_YAMLIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "err.h"

#define YAMLIN_SHOW_SIZE 200  /* buffer for yamlin_show() */
#define YAMLIN_FOUND_SIZE 240 /* buffer for yamlin_found() */

/*
 * One parse. Invariants: `ev` is the current event, valid while have_ev;
 * yamlin_next() releases it before fetching the next, yamlin_close() releases
 * the last. path, what and err stay usable after yamlin_close(), so checks
 * that run once the events are consumed still report through yamlin_fail().
 * Callers read ev (its type, and ev.data.scalar for a scalar) and never
 * write any field.
 */
struct yamlin {
    yaml_parser_t parser;
    bool parser_ready;          /* parser initialized, to delete */
    yaml_event_t ev;
    bool have_ev;
    const char *path;           /* for messages; borrowed */
    const char *what;           /* the document's noun: "spec", "suite"; borrowed */
    const unsigned char *text;  /* the input, len bytes; borrowed */
    size_t len;
    struct plumb_err *err;      /* may be NULL */
};

/*
 * Start reading len bytes of YAML at text (NULL with len 0 is empty input).
 * path names the input in messages and what names the kind of document
 * ("spec is N bytes, more than the M-byte limit", "empty spec, ..."); both,
 * text and err are borrowed and must outlive y. Input over max_bytes is
 * refused before libyaml sees it, and only UTF-8 is read (libyaml would
 * otherwise also take UTF-16). Returns 0, or -1 with err set and y closed
 * (yamlin_close() is still safe).
 */
int yamlin_open(struct yamlin *y, const char *text, size_t len, const char *path,
                const char *what, size_t max_bytes, struct plumb_err *err);

/* Release the parser and the current event. Safe on a zeroed, failed or
 * already closed reader; path, what and err remain for yamlin_fail(). */
void yamlin_close(struct yamlin *y);

/*
 * Read the file at path whole into *buf (malloc'd, the caller frees; not
 * NUL-terminated) and its size into *len. Files over max_bytes are refused
 * without reading past max_bytes + 1. Returns 0, or -1 with err = "PATH:
 * cannot open: ...", "PATH: cannot read: ...", "PATH: larger than the
 * N-byte limit" or "PATH: out of memory", and *buf = NULL, *len = 0.
 */
int yamlin_load_file(const char *path, size_t max_bytes, char **buf, size_t *len,
                     struct plumb_err *err);

/* Set err to "PATH:LINE: key: reason" (line 0 leaves out ":LINE", key NULL
 * leaves out "key: "); reason is printf-style. Returns -1. */
int yamlin_fail(struct yamlin *y, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A printable rendering of len bytes of untrusted text into out: printable
 * ASCII as is, other bytes as \xNN, cut with "..." after about 40 bytes.
 * Returns out. */
const char *yamlin_show(char out[YAMLIN_SHOW_SIZE], const char *v, size_t len);

/* 1-based line of the current event's start. */
int yamlin_line(const struct yamlin *y);

/*
 * Fetch the next event into y->ev, releasing the previous one. Refuses
 * aliases ("aliases are not supported (found *x)"), anchors and tags
 * wherever they appear, and turns libyaml's syntax and encoding errors into
 * one line with their line number.
 */
int yamlin_next(struct yamlin *y);

/* What the current event is, for "expected X, found Y": "a mapping", "a
 * sequence", "the end of a collection", "nothing" (an empty plain scalar),
 * "'v'" (a plain scalar) or "the quoted string 'v'" (other styles), v shown
 * by yamlin_show(). Returns a literal or out. */
const char *yamlin_found(const struct yamlin *y, char out[YAMLIN_FOUND_SIZE]);

/* Whether the current event is a scalar / a plain (unquoted) scalar. */
bool yamlin_is_scalar(const struct yamlin *y);
bool yamlin_is_plain(const struct yamlin *y);

/* Whether the current event is a scalar whose value is exactly s (a scalar
 * holding a NUL never equals a C string). */
bool yamlin_scalar_is(const struct yamlin *y, const char *s);

/*
 * Consume STREAM-START and DOCUMENT-START and require the top-level node to
 * be a mapping, leaving it as the current event. Errors: "empty WHAT,
 * expected a mapping of keys" (no document at all), "expected a mapping of
 * keys at the top level, found X".
 */
int yamlin_document_start(struct yamlin *y);

/* After the top-level MAPPING-END: consume DOCUMENT-END and STREAM-END.
 * Error: "only one YAML document is allowed". */
int yamlin_document_end(struct yamlin *y);

/* The current event must start a mapping / a sequence; otherwise "key:
 * expected WHAT, found X" (e.g. what = "a mapping of glob: type"). */
int yamlin_expect_mapping_start(struct yamlin *y, const char *key, const char *what);
int yamlin_expect_sequence_start(struct yamlin *y, const char *key, const char *what);

/* The current event, inside a mapping, must be a scalar key; otherwise
 * "[where: ]expected a key, found X". where may be NULL. */
int yamlin_expect_key(struct yamlin *y, const char *where);

/* Index in names[0..n) of the current scalar key, or -1. */
int yamlin_key_index(const struct yamlin *y, const char *const *names, int n);

/* Fail with "[where: ]unknown key 'k'" for the current scalar key. */
int yamlin_unknown_key(struct yamlin *y, const char *where);

/*
 * The duplicate-key tracker: *first_line is the line where key was seen in
 * this mapping, 0 when not yet. Records the current event's line, or fails
 * with "key: duplicate key (first at line N)" when already seen.
 */
int yamlin_once(struct yamlin *y, const char *key, int *first_line);

/* An unsigned decimal integer (the grammar above) in [min, max], from the
 * current event. Errors: "expected an integer, found X", "-8 is negative,
 * expected MIN to MAX", "expected a decimal integer, found '010' (...)",
 * "X does not fit in 64 bits", "N is out of range, expected MIN to MAX". */
int yamlin_read_uint(struct yamlin *y, const char *key, uint64_t min, uint64_t max,
                     uint64_t *out);

/* A finite decimal number (the grammar above), correctly rounded to float /
 * double whatever the host's locale. Refused: a quoted scalar ("expected a
 * number, found X"), other spellings ("expected a finite decimal number,
 * found X"), more than 64 characters, and text that is not zero but rounds
 * to Inf, zero or a subnormal ("X is out of range for a float"). */
int yamlin_read_float(struct yamlin *y, const char *key, float *out);
int yamlin_read_double(struct yamlin *y, const char *key, double *out);

/* Plain `true` or `false`; otherwise "expected true or false, found X". */
int yamlin_read_bool(struct yamlin *y, const char *key, bool *out);

/*
 * A malloc'd copy of the current scalar (caller frees), safe as a C string
 * and in a one-line message: non-empty, not a plain null, at most max_len
 * bytes, no control characters (which also rules out NUL from a "\0"
 * escape). what names the value in messages: "expected WHAT, found X",
 * "WHAT is N bytes, more than MAX", "control character 0xNN in WHAT".
 */
int yamlin_read_text(struct yamlin *y, const char *key, const char *what, size_t max_len,
                     char **out);

/* As yamlin_read_text(), but '\n' and '\t' are allowed (prose, block
 * scalars); other control characters, NUL included, are still refused. */
int yamlin_read_multiline_text(struct yamlin *y, const char *key, const char *what,
                               size_t max_len, char **out);

#endif
