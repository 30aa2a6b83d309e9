/*
 * suite.h: the suite file: which cases `plumb check` runs.
 *
 *   # fixtures/suite.yaml (paths are relative to this file's folder)
 *   golden_dir: ../golden          # where each case's golden lives (required)
 *   cases:
 *     - name: gqa-short            # [a-z0-9._-]+, unique; golden: <name>.gguf.gz
 *       fixture: gqa.yaml          # a model spec (see spec.h)
 *       tokens: [1, 17, 42, 7]     # token ids ...
 *       policy: policies/exact.yaml
 *     - name: gqa-long
 *       fixture: gqa.yaml
 *       prompt: "Some text"        # ... or text, tokenized by the fixture's
 *       policy: policies/exact.yaml  # tokenizer with BOS
 *
 * (tests/test_suite.c parses this example verbatim.)
 *
 * What is accepted, strictly (the reader is harness/yamlin.h):
 * - One YAML document: a mapping with golden_dir and cases, each once.
 * - cases: a non-empty sequence of mappings. Each case has name, fixture and
 *   policy (all required) and exactly one of tokens and prompt. Each key at
 *   most once; unknown keys are errors.
 * - name: 1..100 bytes of a-z, 0-9, '.', '_', '-'; unique in the file.
 * - golden_dir, fixture, policy: paths, 1..4096 bytes, no control
 *   characters; relative ones are taken from the suite file's folder (see
 *   suite_resolve), and the struct holds them resolved. Whether they exist
 *   is for the runner to find out.
 * - tokens: a non-empty flow or block sequence of token ids, each a plain
 *   decimal integer 0..2^31-1 (no sign, no leading zero, no quotes), at most
 *   1,000,000 of them. Whether an id is inside the fixture's vocabulary is
 *   for the runner to check.
 * - prompt: text of 1..65536 bytes; any scalar style, so block scalars (|,
 *   >) work; newlines and tabs allowed, other control characters (NUL
 *   included) are not.
 * - Refused outright: aliases and anchors (so no expansion bombs), tags,
 *   more than one document, non-UTF-8 input, input over 1 MiB.
 *
 * Errors are one line naming the file, the line and the key:
 * "suite.yaml:9: tokens[2]: 4294967296 is out of range, expected 0 to
 * 2147483647", "suite.yaml:12: name: duplicate case name 'gqa-short' (first
 * at line 4)", "suite.yaml:7: cases[1]: missing required key 'policy'",
 * "suite.yaml: missing required key 'cases'". YAML syntax and encoding
 * errors carry libyaml's line.
 */
#ifndef PLUMB_SUITE_H
#define PLUMB_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* One case. Exactly one of tokens (n_tokens >= 1 ids in 0..2^31-1) and
 * prompt (non-empty) is set. */
struct suite_case {
    char *name;
    char *fixture;        /* resolved path of the spec */
    char *policy;         /* resolved path of the policy */
    int32_t *tokens;      /* (n_tokens,); NULL when prompt is set */
    int64_t n_tokens;     /* 0 when prompt is set */
    char *prompt;         /* NULL when tokens are set */
    int line;             /* 1-based line where the case starts */
};

/* A parsed suite. Invariants after suite_load(): n_cases >= 1, case names
 * unique, every path resolved against the suite file's folder. */
struct suite {
    char *path;           /* as given, for messages */
    char *golden_dir;     /* resolved */
    struct suite_case *cases;
    size_t n_cases;
};

/* Read and validate a suite file (at most 1 MiB). Returns 0, or -1 with err
 * = "PATH:LINE: key: reason" (or "PATH: reason" when there is no line) and s
 * zeroed. s needs no initialisation; release it with suite_free(). */
int suite_load(struct suite *s, const char *path, struct plumb_err *err);

/* Same, from len bytes of YAML text in memory (at most 1 MiB; text may be
 * NULL when len is 0); path is used in messages and to resolve the paths
 * the suite names, as if the text had been read from it. */
int suite_parse(struct suite *s, const char *text, size_t len, const char *path,
                struct plumb_err *err);

/* Release; safe on a zeroed or failed suite, and twice. Leaves s zeroed. */
void suite_free(struct suite *s);

/* Resolve rel against the folder of base_file ("a/b/suite.yaml" + "x.yaml"
 * -> "a/b/x.yaml"; "suite.yaml" + "x.yaml" -> "x.yaml"; absolute rel stays
 * as it is). Purely textual: no "." or ".." folding, no file system access.
 * malloc'd (the caller frees), NULL on no memory. */
char *suite_resolve(const char *base_file, const char *rel);

#endif
