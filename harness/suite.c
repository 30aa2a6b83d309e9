/*
 * suite.c: reading a suite file (YAML) into a validated struct suite. See
 * suite.h for the format.
 *
 * yamlin (harness/yamlin.h) drives a reader that knows the whole shape of a
 * suite: a top-level mapping of two keys, `cases` a sequence of mappings, and
 * under a case only scalars and one sequence of integers (`tokens`). Any
 * other node, and any alias, anchor or tag, is refused at the event that
 * introduces it, so nothing is expanded or walked recursively and the work
 * is bounded by the input, itself capped at SUITE_MAX_BYTES.
 *
 * What this is not: the runner. Paths are resolved, not opened; token ids
 * are checked against 2^31-1, not against a vocabulary; prompts are kept as
 * text for the fixture's tokenizer.
 *
 * Invariant: after suite_parse() returns 0 every case has a name, a fixture,
 * a policy and exactly one of tokens and prompt, names are unique, and
 * paths are resolved; after it returns -1 the struct is zeroed.
 */
#include "suite.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlin.h"

#define SUITE_MAX_BYTES (UINT32_C(1) << 20) /* largest suite file accepted */
#define SUITE_MAX_NAME 100                  /* bytes in a case name */
#define SUITE_MAX_PATH 4096                 /* bytes in a path as written */
#define SUITE_MAX_PROMPT (64 * 1024)        /* bytes in a prompt */
/* Ids in a case. A flow sequence spends at least 2 bytes per id, so under
 * the 1 MiB input cap this bound cannot be reached; it is kept so that
 * raising one limit does not silently lift the other. */
#define SUITE_MAX_TOKENS 1000000
#define SUITE_MAX_TOKEN_ID INT32_MAX

enum suite_top_key { SUITE_TOP_GOLDEN_DIR, SUITE_TOP_CASES, SUITE_TOP_COUNT };

static const char *const suite_top_keys[SUITE_TOP_COUNT] = {
    [SUITE_TOP_GOLDEN_DIR] = "golden_dir",
    [SUITE_TOP_CASES] = "cases",
};

enum suite_case_key {
    SUITE_CASE_NAME,
    SUITE_CASE_FIXTURE,
    SUITE_CASE_POLICY,
    SUITE_CASE_TOKENS,
    SUITE_CASE_PROMPT,
    SUITE_CASE_COUNT
};

static const char *const suite_case_keys[SUITE_CASE_COUNT] = {
    [SUITE_CASE_NAME] = "name",
    [SUITE_CASE_FIXTURE] = "fixture",
    [SUITE_CASE_POLICY] = "policy",
    [SUITE_CASE_TOKENS] = "tokens",
    [SUITE_CASE_PROMPT] = "prompt",
};

/*
 * The state of one parse. Case names go into an open-addressed hash set
 * (linear probing; a slot holds case index + 1, 0 = empty; capacity a power
 * of two at least twice the names held) so that a file of tens of thousands
 * of cases is checked for duplicates in linear time.
 */
struct suite_ctx {
    struct yamlin y;
    struct suite *s;
    size_t cap_cases;
    int *name_lines;     /* (cap_cases,) line of each case's name */
    uint32_t *slots;     /* (mask + 1,) or NULL before the first name */
    size_t mask;
};

char *suite_resolve(const char *base_file, const char *rel)
{
    if (!rel)
        return NULL;
    const char *slash = (rel[0] == '/' || !base_file) ? NULL : strrchr(base_file, '/');
    size_t dir = slash ? (size_t)(slash - base_file) + 1 : 0;
    size_t n = strlen(rel);
    if (n > SIZE_MAX - 1 - dir)
        return NULL;
    char *out = malloc(dir + n + 1);
    if (!out)
        return NULL;
    if (dir)
        memcpy(out, base_file, dir);
    memcpy(out + dir, rel, n + 1);
    return out;
}

/* FNV-1a, 64-bit. */
static uint64_t suite_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return h;
}

/* Slot of `name` in the set: the one holding it, or the empty one where it
 * would go. The set is never full, so the probe ends. */
static size_t suite_slot(const struct suite_ctx *c, const char *name)
{
    size_t i = (size_t)suite_hash(name) & c->mask;
    while (c->slots[i] && strcmp(c->s->cases[c->slots[i] - 1].name, name) != 0)
        i = (i + 1) & c->mask;
    return i;
}

/* Add case idx (named; cases 0..idx-1 already in the set) unless a case of
 * the same name is there: then *first is that case's index. Returns 0, or -1
 * on no memory. */
static int suite_add_name(struct suite_ctx *c, size_t idx, size_t *first)
{
    *first = SIZE_MAX;
    if (!c->slots || 2 * (idx + 1) > c->mask + 1) {
        size_t cap = c->slots ? 2 * (c->mask + 1) : 64;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        free(c->slots);
        c->slots = slots;
        c->mask = cap - 1;
        for (size_t i = 0; i < idx; i++)
            c->slots[suite_slot(c, c->s->cases[i].name)] = (uint32_t)(i + 1);
    }
    size_t slot = suite_slot(c, c->s->cases[idx].name);
    if (c->slots[slot]) {
        *first = c->slots[slot] - 1;
        return 0;
    }
    c->slots[slot] = (uint32_t)(idx + 1);
    return 0;
}

/* A path value, resolved against the suite file's folder. */
static int suite_read_path(struct suite_ctx *c, const char *key, char **out)
{
    char *raw = NULL;
    int line = yamlin_line(&c->y);
    if (yamlin_read_text(&c->y, key, "a path", SUITE_MAX_PATH, &raw) < 0)
        return -1;
    *out = suite_resolve(c->s->path, raw);
    free(raw);
    if (!*out)
        return yamlin_fail(&c->y, line, key, "out of memory");
    return 0;
}

/* Case idx's name: the charset, then uniqueness. */
static int suite_read_name(struct suite_ctx *c, size_t idx)
{
    char shown[YAMLIN_SHOW_SIZE];
    struct suite_case *sc = &c->s->cases[idx];
    int line = yamlin_line(&c->y);
    if (yamlin_read_text(&c->y, "name", "a case name", SUITE_MAX_NAME, &sc->name) < 0)
        return -1;
    for (const char *p = sc->name; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return yamlin_fail(&c->y, line, "name",
                               "'%s' has a character outside [a-z0-9._-] at byte %zu",
                               yamlin_show(shown, sc->name, strlen(sc->name)),
                               (size_t)(p - sc->name));
    }
    c->name_lines[idx] = line;
    size_t first;
    if (suite_add_name(c, idx, &first) < 0)
        return yamlin_fail(&c->y, line, "name", "out of memory");
    if (first != SIZE_MAX)
        return yamlin_fail(&c->y, line, "name", "duplicate case name '%s' (first at line %d)",
                           sc->name, c->name_lines[first]);
    return 0;
}

/* A non-empty sequence of token ids, each 0..SUITE_MAX_TOKEN_ID. */
static int suite_read_tokens(struct suite_ctx *c, struct suite_case *sc)
{
    struct yamlin *y = &c->y;
    if (yamlin_expect_sequence_start(y, "tokens", "a sequence of token ids") < 0)
        return -1;
    int line = yamlin_line(y);
    size_t cap = 0;
    for (;;) {
        if (yamlin_next(y) < 0)
            return -1;
        if (y->ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        size_t n = (size_t)sc->n_tokens;
        if (n == SUITE_MAX_TOKENS)
            return yamlin_fail(y, yamlin_line(y), "tokens", "more than %d token ids",
                               SUITE_MAX_TOKENS);
        char key[48];
        snprintf(key, sizeof key, "tokens[%zu]", n);
        uint64_t id = 0;
        if (yamlin_read_uint(y, key, 0, SUITE_MAX_TOKEN_ID, &id) < 0)
            return -1;
        if (n == cap) {
            size_t new_cap = cap ? 2 * cap : 64;
            int32_t *t = realloc(sc->tokens, new_cap * sizeof *t);
            if (!t)
                return yamlin_fail(y, yamlin_line(y), key, "out of memory");
            sc->tokens = t;
            cap = new_cap;
        }
        sc->tokens[n] = (int32_t)id;
        sc->n_tokens = (int64_t)n + 1;
    }
    if (sc->n_tokens == 0)
        return yamlin_fail(y, line, "tokens",
                           "expected at least one token id, found an empty sequence");
    return 0;
}

/* Case idx, from its MAPPING-START to its MAPPING-END. */
static int suite_read_case(struct suite_ctx *c, size_t idx)
{
    struct yamlin *y = &c->y;
    struct suite_case *sc = &c->s->cases[idx];
    char where[48];
    snprintf(where, sizeof where, "cases[%zu]", idx);
    if (yamlin_expect_mapping_start(y, where,
                                    "a mapping of name, fixture, policy and tokens or prompt") < 0)
        return -1;
    sc->line = yamlin_line(y);
    int lines[SUITE_CASE_COUNT] = {0};
    for (;;) {
        if (yamlin_next(y) < 0)
            return -1;
        if (y->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (yamlin_expect_key(y, where) < 0)
            return -1;
        int k = yamlin_key_index(y, suite_case_keys, SUITE_CASE_COUNT);
        if (k < 0)
            return yamlin_unknown_key(y, where);
        if (yamlin_once(y, suite_case_keys[k], &lines[k]) < 0)
            return -1;
        /* Refused at the key, before a long value is read for nothing. */
        int other = k == SUITE_CASE_TOKENS ? SUITE_CASE_PROMPT
                    : k == SUITE_CASE_PROMPT ? SUITE_CASE_TOKENS : -1;
        if (other >= 0 && lines[other])
            return yamlin_fail(y, lines[k], suite_case_keys[k],
                               "a case has tokens or a prompt, not both (%s at line %d)",
                               suite_case_keys[other], lines[other]);
        if (yamlin_next(y) < 0)
            return -1;
        int rc = 0;
        switch ((enum suite_case_key)k) {
        case SUITE_CASE_NAME: rc = suite_read_name(c, idx); break;
        case SUITE_CASE_FIXTURE: rc = suite_read_path(c, "fixture", &sc->fixture); break;
        case SUITE_CASE_POLICY: rc = suite_read_path(c, "policy", &sc->policy); break;
        case SUITE_CASE_TOKENS: rc = suite_read_tokens(c, sc); break;
        case SUITE_CASE_PROMPT:
            rc = yamlin_read_multiline_text(y, "prompt", "text", SUITE_MAX_PROMPT, &sc->prompt);
            break;
        case SUITE_CASE_COUNT: break;
        }
        if (rc < 0)
            return -1;
    }
    for (int k = SUITE_CASE_NAME; k <= SUITE_CASE_POLICY; k++)
        if (!lines[k])
            return yamlin_fail(y, sc->line, where, "missing required key '%s'", suite_case_keys[k]);
    if (!lines[SUITE_CASE_TOKENS] && !lines[SUITE_CASE_PROMPT])
        return yamlin_fail(y, sc->line, where, "missing tokens or prompt (one is required)");
    return 0;
}

/* `cases`: a non-empty sequence of cases, appended to s as they come. */
static int suite_read_cases(struct suite_ctx *c)
{
    struct yamlin *y = &c->y;
    struct suite *s = c->s;
    if (yamlin_expect_sequence_start(y, "cases", "a sequence of cases") < 0)
        return -1;
    int line = yamlin_line(y);
    for (;;) {
        if (yamlin_next(y) < 0)
            return -1;
        if (y->ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        if (s->n_cases == c->cap_cases) {
            /* Far from overflow: every case takes bytes of a 1 MiB input. */
            size_t cap = c->cap_cases ? 2 * c->cap_cases : 8;
            struct suite_case *cases = realloc(s->cases, cap * sizeof *cases);
            if (!cases)
                return yamlin_fail(y, yamlin_line(y), "cases", "out of memory");
            s->cases = cases;
            int *lines = realloc(c->name_lines, cap * sizeof *lines);
            if (!lines)
                return yamlin_fail(y, yamlin_line(y), "cases", "out of memory");
            c->name_lines = lines;
            c->cap_cases = cap;
        }
        size_t idx = s->n_cases++;
        memset(&s->cases[idx], 0, sizeof s->cases[idx]);
        c->name_lines[idx] = 0;
        if (suite_read_case(c, idx) < 0)
            return -1;
    }
    if (s->n_cases == 0)
        return yamlin_fail(y, line, "cases", "expected at least one case, found an empty sequence");
    return 0;
}

/* The top-level mapping, then the document's end, then required keys. */
static int suite_read_top(struct suite_ctx *c)
{
    struct yamlin *y = &c->y;
    int lines[SUITE_TOP_COUNT] = {0};
    if (yamlin_document_start(y) < 0)
        return -1;
    for (;;) {
        if (yamlin_next(y) < 0)
            return -1;
        if (y->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (yamlin_expect_key(y, NULL) < 0)
            return -1;
        int k = yamlin_key_index(y, suite_top_keys, SUITE_TOP_COUNT);
        if (k < 0)
            return yamlin_unknown_key(y, NULL);
        if (yamlin_once(y, suite_top_keys[k], &lines[k]) < 0)
            return -1;
        if (yamlin_next(y) < 0)
            return -1;
        int rc = k == SUITE_TOP_GOLDEN_DIR ? suite_read_path(c, "golden_dir", &c->s->golden_dir)
                                           : suite_read_cases(c);
        if (rc < 0)
            return -1;
    }
    if (yamlin_document_end(y) < 0)
        return -1;
    for (int k = 0; k < SUITE_TOP_COUNT; k++)
        if (!lines[k])
            return yamlin_fail(y, 0, NULL, "missing required key '%s'", suite_top_keys[k]);
    return 0;
}

int suite_parse(struct suite *s, const char *text, size_t len, const char *path,
                struct plumb_err *err)
{
    memset(s, 0, sizeof *s);
    struct suite_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    if (yamlin_open(&c.y, text, len, path ? path : "suite", "suite", SUITE_MAX_BYTES, err) < 0)
        return -1;
    int rc = 0;
    s->path = strdup(c.y.path);
    if (!s->path)
        rc = yamlin_fail(&c.y, 0, NULL, "out of memory");
    if (rc == 0)
        rc = suite_read_top(&c);
    yamlin_close(&c.y);
    free(c.name_lines);
    free(c.slots);
    if (rc < 0) {
        suite_free(s);
        return -1;
    }
    return 0;
}

int suite_load(struct suite *s, const char *path, struct plumb_err *err)
{
    memset(s, 0, sizeof *s);
    char *buf = NULL;
    size_t n = 0;
    if (yamlin_load_file(path, SUITE_MAX_BYTES, &buf, &n, err) < 0)
        return -1;
    int rc = suite_parse(s, buf, n, path, err);
    free(buf);
    return rc;
}

void suite_free(struct suite *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_cases; i++) {
        struct suite_case *sc = &s->cases[i];
        free(sc->name);
        free(sc->fixture);
        free(sc->policy);
        free(sc->tokens);
        free(sc->prompt);
    }
    free(s->cases);
    free(s->golden_dir);
    free(s->path);
    memset(s, 0, sizeof *s);
}
