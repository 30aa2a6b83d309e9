/*
 * spec.h: the YAML description of a tiny synthetic llama model.
 *
 * A spec names the model's shape and how to fill it; `plumb gen` turns it
 * into a GGUF file, the same bytes on every machine. Example (every key):
 *
 *   name: tiny-gqa            # general.name                  (required)
 *   seed: 42                  # PRNG seed, 0..2^64-1           (required)
 *   vocab: 512                # vocabulary size, 259..2^24     (required)
 *   dim: 64                   # embedding length, 1..2^20      (required)
 *   layers: 2                 # block count, 1..1024           (required)
 *   heads: 8                  # attention heads, 1..2^20       (required)
 *   kv_heads: 2               # key/value heads (default heads)
 *   ffn_dim: 160              # feed-forward length, 1..2^20   (required)
 *   context: 128              # context length, 1..2^24        (required)
 *   rope_base: 10000.0        # rope freq base (default 10000)
 *   rope_dims: 8              # rope dimension count (default and only
 *                             # allowed value: the head dimension)
 *   rms_eps: 1.0e-5           # RMSNorm epsilon, 0 < eps < 1 (default 1e-5)
 *   init_scale: 0.5           # weights ~ init_scale * U(-1,1)/sqrt(row
 *                             # length) shaped, 0 < s <= 1e6 (default 1.0)
 *   tied_output: false        # no output.weight (default false)
 *   types:                    # tensor type by glob, first match wins;
 *     "blk.*.ffn_[gud]*": q8_0  # `default` applies to 2-D tensors that
 *     token_embd.weight: f16  # no glob matches; 1-D (norm) tensors are f32
 *     default: f32            # unless a glob names them (default f32)
 *
 * (tests/test_spec.c parses this example verbatim.)
 *
 * What is accepted, strictly:
 * - One YAML document whose top level is a mapping of the keys above; each
 *   key at most once. Unknown keys are errors (no silent typos).
 * - Integers: plain decimal digits only. No sign, no leading zero (YAML 1.1
 *   reads 010 as octal), no 0x, no 1_000, no quotes.
 * - Floats: plain decimal or exponent form ([+-]digits[.digits][e[+-]digits]);
 *   .nan, .inf, nan, inf and hex floats are errors; the value must be a
 *   finite, normal float. The host's locale does not matter.
 * - Booleans: plain `true` or `false` only (not yes/no/on/off/True).
 * - name and globs: any scalar style, 1..256 bytes, no control characters.
 * - types: a mapping of glob -> type name (case-insensitive ggml name). The
 *   key `default` is not a glob. Globs are fnmatch(3) patterns with no flags
 *   (so `*` also matches `.`), tried in file order; a glob that matches a
 *   1-D norm tensor gives it its type too. At most 256 rules; each must match
 *   at least one tensor of the layout. Types need a reference quantizer
 *   (q2_k, q3_k and the iq* types have none); q8_1 and q8_k, activation
 *   types, are refused. A type's block size must divide the row length of
 *   every tensor given that type.
 * - The whole model holds at most 2^32 weights.
 * - Refused outright: aliases and anchors (so no expansion bombs), tags,
 *   sequences, mappings nested anywhere but under `types`, more than one
 *   document, non-UTF-8 input, input over 1 MiB.
 *
 * Errors are one line naming the file, the line and the key: "tiny.yaml:7:
 * heads: 6 does not divide dim 64", "tiny.yaml:3: unknown key 'layer'",
 * "tiny.yaml:4: dim: duplicate key (first at line 2)", "tiny.yaml: missing
 * required key 'dim'". Errors that involve types name the rule's line and
 * the first tensor (in layout order) it breaks: "tiny.yaml:17: types:
 * 'blk.*.ffn_*' = q4_k: tensor 'blk.0.ffn_down.weight' row length 160 is not
 * a multiple of 256". YAML syntax and encoding errors carry libyaml's line.
 */
#ifndef PLUMB_SPEC_H
#define PLUMB_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "llama_layout.h"

struct spec_type_rule {
    char *glob;       /* fnmatch(3) pattern over tensor names */
    int type;         /* ggml type id */
    int line;         /* 1-based line in the spec, for messages */
};

/*
 * A parsed, validated spec. Invariants after spec_load(): hp passes
 * llama_layout_check(); every tensor of the layout has a type whose block
 * size divides its row length and which plumb can quantize.
 */
struct spec {
    char *path;                 /* as given, for messages */
    char *name;
    uint64_t seed;
    struct llama_hparams hp;
    float init_scale;
    int default_type;           /* for 2-D tensors no rule matches */
    struct spec_type_rule *rules;
    size_t n_rules;
    uint8_t sha256[32];         /* of the spec file's bytes */
};

/* Read and validate a spec file. Returns 0, or -1 with err =
 * "PATH:LINE: key: reason" (or "PATH: reason" when there is no line). */
int spec_load(struct spec *s, const char *path, struct plumb_err *err);

/* Same, from len bytes of YAML text in memory; name is used in messages. */
int spec_parse(struct spec *s, const char *text, size_t len, const char *name,
               struct plumb_err *err);

/* Release; safe on a zeroed or failed spec. */
void spec_free(struct spec *s);

/* The type of a tensor of the layout: the first rule whose glob matches,
 * else default_type for 2-D tensors, else f32. */
int spec_tensor_type(const struct spec *s, const struct llama_tensor_desc *t);

#endif
