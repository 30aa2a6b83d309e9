/*
 * test_spec.c: reading model specs (harness/spec.c).
 *
 * Valid specs are read key by key; every refused input is checked for the
 * one-line message "FILE:LINE: key: reason" it must give.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* Criterion 2.4.1's cr_assert() stores an int into a 1-bit field, which gcc's
 * -Wconversion flags at every use; the rest of the warnings stay on. */
#pragma GCC diagnostic ignored "-Wconversion"

#include "dtype.h"
#include "sha256.h"
#include "spec.h"

TestSuite(spec, .timeout = 30);

/* Every key. Line numbers matter to the tests below. */
static const char full_spec[] =
    "# a comment line\n"              /* 1 */
    "name: tiny-gqa\n"                /* 2 */
    "seed: 18446744073709551615\n"    /* 3 */
    "vocab: 512\n"                    /* 4 */
    "dim: 256\n"                      /* 5 */
    "layers: 2\n"                     /* 6 */
    "heads: 8\n"                      /* 7 */
    "kv_heads: 2\n"                   /* 8 */
    "ffn_dim: 512\n"                  /* 9 */
    "context: 128\n"                  /* 10 */
    "rope_base: 500000.0\n"           /* 11 */
    "rope_dims: 32\n"                 /* 12 */
    "rms_eps: 1.0e-6\n"               /* 13 */
    "init_scale: 0.5\n"               /* 14 */
    "tied_output: true\n"             /* 15 */
    "types:\n"                        /* 16 */
    "  \"blk.*.ffn_*\": q4_k\n"       /* 17 */
    "  token_embd.weight: F16\n"      /* 18 */
    "  default: q8_0\n";              /* 19 */

/* Required keys only: 8 lines, so an appended key is on line 9. */
#define MIN_SPEC                                                                \
    "name: t\nseed: 1\nvocab: 300\ndim: 64\nlayers: 1\nheads: 8\nffn_dim: 128\n" \
    "context: 16\n"

static int parse(struct spec *s, const char *yaml, struct plumb_err *err)
{
    return spec_parse(s, yaml, strlen(yaml), "t.yaml", err);
}

/* The spec must be refused with a message containing `want`, and the struct
 * left zeroed. */
static void expect_error(const char *yaml, size_t len, const char *want)
{
    struct spec s;
    struct plumb_err err = {{0}};
    int rc = spec_parse(&s, yaml, len, "t.yaml", &err);
    cr_assert(eq(int, rc, -1), "accepted:\n%s", yaml);
    cr_assert(ne(ptr, strstr(err.msg, want), NULL), "message '%s' lacks '%s'", err.msg, want);
    cr_assert(eq(ptr, strchr(err.msg, '\n'), NULL), "message has a newline");
    cr_assert(eq(ptr, s.name, NULL));
    cr_assert(eq(ptr, s.rules, NULL));
    cr_assert(eq(ptr, s.path, NULL));
    spec_free(&s);
}

static void expect_error_str(const char *yaml, const char *want)
{
    expect_error(yaml, strlen(yaml), want);
}

Test(spec, full_spec_reads_every_key)
{
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, full_spec, &err), 0), "%s", err.msg);
    cr_assert(eq(str, s.path, "t.yaml"));
    cr_assert(eq(str, s.name, "tiny-gqa"));
    cr_assert(eq(u64, s.seed, UINT64_MAX));
    cr_assert(eq(i64, s.hp.n_vocab, 512));
    cr_assert(eq(i64, s.hp.dim, 256));
    cr_assert(eq(i64, s.hp.n_layers, 2));
    cr_assert(eq(i64, s.hp.n_heads, 8));
    cr_assert(eq(i64, s.hp.n_kv_heads, 2));
    cr_assert(eq(i64, s.hp.ffn_dim, 512));
    cr_assert(eq(i64, s.hp.n_ctx, 128));
    cr_assert(eq(flt, s.hp.rope_base, 500000.0f));
    cr_assert(eq(i64, s.hp.n_rot, 32));
    cr_assert(eq(flt, s.hp.rms_eps, 1.0e-6f));
    cr_assert(eq(flt, s.init_scale, 0.5f));
    cr_assert(eq(int, s.hp.tied_output, 1));
    cr_assert(eq(sz, s.n_rules, (size_t)2));
    cr_assert(eq(str, s.rules[0].glob, "blk.*.ffn_*"));
    cr_assert(eq(int, s.rules[0].type, PLUMB_TYPE_Q4_K));
    cr_assert(eq(int, s.rules[0].line, 17));
    cr_assert(eq(str, s.rules[1].glob, "token_embd.weight"));
    cr_assert(eq(int, s.rules[1].type, PLUMB_TYPE_F16));
    cr_assert(eq(int, s.rules[1].line, 18));
    cr_assert(eq(int, s.default_type, PLUMB_TYPE_Q8_0));
    uint8_t want[32];
    sha256(full_spec, strlen(full_spec), want);
    cr_assert(eq(int, memcmp(s.sha256, want, 32), 0));
    spec_free(&s);
    cr_assert(eq(ptr, s.name, NULL));
}

/* The example at the top of spec.h, line for line. */
static const char header_example[] =
    "name: tiny-gqa            # general.name                  (required)\n"
    "seed: 42                  # PRNG seed, 0..2^64-1           (required)\n"
    "vocab: 512                # vocabulary size, 259..2^24     (required)\n"
    "dim: 64                   # embedding length, 1..2^20      (required)\n"
    "layers: 2                 # block count, 1..1024           (required)\n"
    "heads: 8                  # attention heads, 1..2^20       (required)\n"
    "kv_heads: 2               # key/value heads (default heads)\n"
    "ffn_dim: 160              # feed-forward length, 1..2^20   (required)\n"
    "context: 128              # context length, 1..2^24        (required)\n"
    "rope_base: 10000.0        # rope freq base (default 10000)\n"
    "rope_dims: 8              # rope dimension count (default and only\n"
    "                          # allowed value: the head dimension)\n"
    "rms_eps: 1.0e-5           # RMSNorm epsilon, 0 < eps < 1 (default 1e-5)\n"
    "init_scale: 0.5           # weights ~ init_scale * U(-1,1)/sqrt(row\n"
    "                          # length) shaped, 0 < s <= 1e6 (default 1.0)\n"
    "tied_output: false        # no output.weight (default false)\n"
    "types:                    # tensor type by glob, first match wins;\n"
    "  \"blk.*.ffn_[gud]*\": q8_0  # `default` applies to 2-D tensors that\n"
    "  token_embd.weight: f16  # no glob matches; 1-D (norm) tensors are f32\n"
    "  default: f32            # unless a glob names them (default f32)\n";

Test(spec, header_example_is_valid)
{
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, header_example, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, s.hp.n_rot, 8));
    cr_assert(eq(sz, s.n_rules, (size_t)2));
    cr_assert(eq(int, s.rules[0].type, PLUMB_TYPE_Q8_0));
    struct llama_tensor_desc t;
    llama_layout_get(&s.hp, 6, &t); /* blk.0.ffn_norm: the glob leaves it alone */
    cr_assert(eq(str, t.name, "blk.0.ffn_norm.weight"));
    cr_assert(eq(int, spec_tensor_type(&s, &t), PLUMB_TYPE_F32));
    spec_free(&s);
}

Test(spec, missing_optional_keys_take_their_defaults)
{
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, MIN_SPEC, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, s.hp.n_kv_heads, 8));
    cr_assert(eq(flt, s.hp.rope_base, 10000.0f));
    cr_assert(eq(i64, s.hp.n_rot, 8));
    cr_assert(eq(flt, s.hp.rms_eps, 1e-5f));
    cr_assert(eq(flt, s.init_scale, 1.0f));
    cr_assert(eq(int, s.hp.tied_output, 0));
    cr_assert(eq(int, s.default_type, PLUMB_TYPE_F32));
    cr_assert(eq(sz, s.n_rules, (size_t)0));
    cr_assert(eq(u64, s.seed, 1));
    spec_free(&s);
}

Test(spec, flow_style_and_quoted_keys_are_accepted)
{
    static const char yaml[] =
        "{\"name\": 'flow', seed: 0, vocab: 259, dim: 64, layers: 1, heads: 8, ffn_dim: 64,\n"
        " context: 1, rope_base: 1e4, rms_eps: .5, types: {}}\n";
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, yaml, &err), 0), "%s", err.msg);
    cr_assert(eq(str, s.name, "flow"));
    cr_assert(eq(flt, s.hp.rope_base, 10000.0f));
    cr_assert(eq(flt, s.hp.rms_eps, 0.5f));
    spec_free(&s);
}

Test(spec, tensor_type_takes_the_first_matching_rule)
{
    static const char yaml[] = MIN_SPEC
        "types:\n"
        "  blk.0.attn_q.weight: q8_0\n"
        "  \"blk.*.attn_*\": q4_0\n"
        "  \"*_norm.weight\": f16\n"
        "  default: q5_1\n";
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, yaml, &err), 0), "%s", err.msg);
    static const struct { const char *name; int type; } want[] = {
        {"token_embd.weight", PLUMB_TYPE_Q5_1},
        {"blk.0.attn_norm.weight", PLUMB_TYPE_Q4_0}, /* blk.*.attn_* comes first */
        {"blk.0.attn_q.weight", PLUMB_TYPE_Q8_0},
        {"blk.0.attn_k.weight", PLUMB_TYPE_Q4_0},
        {"blk.0.attn_output.weight", PLUMB_TYPE_Q4_0},
        {"blk.0.ffn_norm.weight", PLUMB_TYPE_F16},
        {"blk.0.ffn_down.weight", PLUMB_TYPE_Q5_1},
        {"output_norm.weight", PLUMB_TYPE_F16},
        {"output.weight", PLUMB_TYPE_Q5_1},
    };
    int64_t count = llama_layout_count(&s.hp);
    size_t checked = 0;
    for (int64_t i = 0; i < count; i++) {
        struct llama_tensor_desc t;
        llama_layout_get(&s.hp, i, &t);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            if (strcmp(want[k].name, t.name) == 0) {
                cr_assert(eq(int, spec_tensor_type(&s, &t), want[k].type), "%s", t.name);
                checked++;
            }
    }
    cr_assert(eq(sz, checked, sizeof want / sizeof want[0]));
    spec_free(&s);
}

Test(spec, one_d_tensors_default_to_f32)
{
    static const char yaml[] = MIN_SPEC "types:\n  default: q8_0\n";
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, yaml, &err), 0), "%s", err.msg);
    struct llama_tensor_desc t;
    llama_layout_get(&s.hp, 1, &t);
    cr_assert(eq(str, t.name, "blk.0.attn_norm.weight"));
    cr_assert(eq(int, spec_tensor_type(&s, &t), PLUMB_TYPE_F32));
    llama_layout_get(&s.hp, 0, &t);
    cr_assert(eq(int, spec_tensor_type(&s, &t), PLUMB_TYPE_Q8_0));
    spec_free(&s);
}

Test(spec, unknown_key_names_line_and_key)
{
    expect_error_str(MIN_SPEC "layer: 2\n", "t.yaml:9: unknown key 'layer'");
}

Test(spec, duplicate_key_names_both_lines)
{
    expect_error_str(MIN_SPEC "dim: 64\n", "t.yaml:9: dim: duplicate key (first at line 4)");
}

Test(spec, missing_required_key)
{
    expect_error_str("name: t\nseed: 1\nvocab: 300\nlayers: 1\nheads: 8\nffn_dim: 128\ncontext: 16\n",
                     "t.yaml: missing required key 'dim'");
}

/* Wrong types and unreadable values, one case each. */
static const struct bad_value {
    const char *yaml;
    const char *want;
} bad_values[] = {
    {MIN_SPEC "kv_heads: eight\n", "t.yaml:9: kv_heads: expected an integer, found 'eight'"},
    {MIN_SPEC "kv_heads: \"8\"\n", "t.yaml:9: kv_heads: expected an integer, found the quoted string '8'"},
    {MIN_SPEC "kv_heads: 8.0\n", "t.yaml:9: kv_heads: expected an integer, found '8.0'"},
    {MIN_SPEC "kv_heads: 0x8\n", "t.yaml:9: kv_heads: expected an integer, found '0x8'"},
    {MIN_SPEC "kv_heads: 010\n", "t.yaml:9: kv_heads: expected a decimal integer, found '010'"},
    {MIN_SPEC "kv_heads: +8\n", "t.yaml:9: kv_heads: expected an integer, found '+8'"},
    {MIN_SPEC "kv_heads:\n", "t.yaml:9: kv_heads: expected an integer, found nothing"},
    {MIN_SPEC "kv_heads: [8]\n", "t.yaml:9: kv_heads: expected an integer, found a sequence"},
    {MIN_SPEC "kv_heads: {a: 8}\n", "t.yaml:9: kv_heads: expected an integer, found a mapping"},
    {MIN_SPEC "kv_heads: -8\n", "t.yaml:9: kv_heads: -8 is negative"},
    {MIN_SPEC "kv_heads: 0\n", "t.yaml:9: kv_heads: 0 is out of range, expected 1 to 1048576"},
    {MIN_SPEC "rope_dims: 99999999999999999999999\n",
     "t.yaml:9: rope_dims: '99999999999999999999999' does not fit in 64 bits"},
    {"name: t\nseed: 18446744073709551616\n", "t.yaml:2: seed: '18446744073709551616' does not fit in 64 bits"},
    {"name: t\nseed: -1\n", "t.yaml:2: seed: -1 is negative"},
    {"name: t\nvocab: 258\n", "t.yaml:2: vocab: 258 is out of range, expected 259 to 16777216"},
    {"name: t\nvocab: 16777217\n", "t.yaml:2: vocab: 16777217 is out of range"},
    {"name: t\ndim: 1048577\n", "t.yaml:2: dim: 1048577 is out of range"},
    {"name: t\nlayers: 1025\n", "t.yaml:2: layers: 1025 is out of range, expected 1 to 1024"},
    {"name: t\ncontext: 16777217\n", "t.yaml:2: context: 16777217 is out of range"},
    {MIN_SPEC "rope_base: 1e39\n", "t.yaml:9: rope_base: '1e39' is out of range for a float"},
    {MIN_SPEC "rope_base: 1e99999\n", "t.yaml:9: rope_base: '1e99999' is out of range for a float"},
    {MIN_SPEC "rms_eps: 1e-46\n", "t.yaml:9: rms_eps: '1e-46' is out of range for a float"},
    {MIN_SPEC "rms_eps: .nan\n", "t.yaml:9: rms_eps: expected a finite decimal number, found '.nan'"},
    {MIN_SPEC "rms_eps: nan\n", "t.yaml:9: rms_eps: expected a finite decimal number, found 'nan'"},
    {MIN_SPEC "rope_base: .inf\n", "t.yaml:9: rope_base: expected a finite decimal number, found '.inf'"},
    {MIN_SPEC "rope_base: inf\n", "t.yaml:9: rope_base: expected a finite decimal number"},
    {MIN_SPEC "rope_base: 0x1p4\n", "t.yaml:9: rope_base: expected a finite decimal number"},
    {MIN_SPEC "rope_base: 1e\n", "t.yaml:9: rope_base: expected a finite decimal number"},
    {MIN_SPEC "rope_base: .\n", "t.yaml:9: rope_base: expected a finite decimal number"},
    {MIN_SPEC "rope_base: '10000'\n", "t.yaml:9: rope_base: expected a number, found the quoted string"},
    {MIN_SPEC "tied_output: yes\n", "t.yaml:9: tied_output: expected true or false, found 'yes'"},
    {MIN_SPEC "tied_output: True\n", "t.yaml:9: tied_output: expected true or false, found 'True'"},
    {MIN_SPEC "tied_output: 1\n", "t.yaml:9: tied_output: expected true or false"},
    {"name:\n", "t.yaml:1: name: expected a non-empty string, found nothing"},
    {"name: ~\n", "t.yaml:1: name: expected a non-empty string, found null"},
    {"name: ''\n", "t.yaml:1: name: expected a non-empty string, found an empty string"},
    {"name: [a]\n", "t.yaml:1: name: expected a non-empty string, found a sequence"},
    {"name: \"a\\0b\"\n", "t.yaml:1: name: control character 0x00"},
    {"name: \"a\\nb\"\n", "t.yaml:1: name: control character 0x0a"},
    {MIN_SPEC "types: q8_0\n", "t.yaml:9: types: expected a mapping of glob: type, found 'q8_0'"},
    {MIN_SPEC "types: [q8_0]\n", "t.yaml:9: types: expected a mapping of glob: type, found a sequence"},
    {MIN_SPEC "types:\n  \"*\": [q8_0]\n", "t.yaml:10: types: '*': expected a tensor type name, found a sequence"},
    {MIN_SPEC "types:\n  ? [a]\n  : q8_0\n", "t.yaml:10: types: expected a glob, found a sequence"},
    {MIN_SPEC "types:\n  '': q8_0\n", "t.yaml:10: types: expected a glob, found an empty string"},
    {MIN_SPEC "types:\n  output.weight: q8_0\n  output.weight: q4_0\n",
     "t.yaml:11: types: duplicate key 'output.weight' (first at line 10)"},
    {MIN_SPEC "types:\n  default: q8_0\n  default: q4_0\n",
     "t.yaml:11: types: duplicate key 'default' (first at line 10)"},
    {"? [a, b]\n: 1\n", "t.yaml:1: expected a key, found a sequence"},
    {"hello\n", "t.yaml:1: expected a mapping of keys at the top level, found 'hello'"},
    {"- a\n- b\n", "t.yaml:1: expected a mapping of keys at the top level, found a sequence"},
    {MIN_SPEC "---\n" MIN_SPEC, "t.yaml:9: only one YAML document is allowed"},
    {MIN_SPEC "kv_heads: !!int 8\n", "t.yaml:9: tags are not supported (found tag:yaml.org,2002:int)"},
    {"!!map\nname: t\n", "t.yaml:1: tags are not supported (found tag:yaml.org,2002:map)"},
};

Test(spec, bad_values_name_line_key_and_what_was_found)
{
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        expect_error_str(bad_values[i].yaml, bad_values[i].want);
}

Test(spec, unknown_tensor_type)
{
    expect_error_str(MIN_SPEC "types:\n  \"blk.*\": q9_9\n",
                     "t.yaml:10: types: 'blk.*': unknown tensor type 'q9_9'");
}

Test(spec, types_without_a_quantizer_are_refused)
{
    expect_error_str(MIN_SPEC "types:\n  \"blk.*\": q2_k\n",
                     "t.yaml:10: types: 'blk.*': q2_k cannot be generated: no reference quantizer");
    expect_error_str(MIN_SPEC "types:\n  default: iq2_xxs\n",
                     "t.yaml:10: types: 'default': iq2_xxs cannot be generated: no reference quantizer");
    expect_error_str(MIN_SPEC "types:\n  default: Q8_K\n",
                     "t.yaml:10: types: 'default': q8_k cannot be generated: an activation type");
}

Test(spec, shape_errors_name_the_key_to_change)
{
    expect_error_str("name: t\nseed: 1\nvocab: 300\ndim: 64\nlayers: 1\nheads: 6\nffn_dim: 128\ncontext: 16\n",
                     "t.yaml:6: heads: 6 does not divide dim 64");
    expect_error_str("name: t\nseed: 1\nvocab: 300\ndim: 48\nlayers: 1\nheads: 16\nffn_dim: 128\ncontext: 16\n",
                     "t.yaml:6: heads: head dimension 3 (dim 48 / heads 16) is odd");
    expect_error_str(MIN_SPEC "kv_heads: 3\n", "t.yaml:9: kv_heads: 3 does not divide heads 8");
    expect_error_str(MIN_SPEC "kv_heads: 16\n", "t.yaml:9: kv_heads: 16 does not divide heads 8");
    expect_error_str(MIN_SPEC "rope_dims: 4\n",
                     "t.yaml:9: rope_dims: 4 is not the head dimension 8");
    expect_error_str(MIN_SPEC "rms_eps: 0\n", "t.yaml:9: rms_eps: 0 is out of range, expected 0 < rms_eps < 1");
    expect_error_str(MIN_SPEC "rms_eps: 1.0\n", "t.yaml:9: rms_eps: 1 is out of range");
    expect_error_str(MIN_SPEC "rope_base: 1\n", "t.yaml:9: rope_base: 1 is out of range");
    expect_error_str(MIN_SPEC "rope_base: -5e3\n", "t.yaml:9: rope_base: -5000 is out of range");
    expect_error_str(MIN_SPEC "init_scale: 0.0\n", "t.yaml:9: init_scale: 0 is out of range");
    expect_error_str(MIN_SPEC "init_scale: 2e6\n", "t.yaml:9: init_scale: 2e+06 is out of range");
}

Test(spec, type_that_does_not_fit_a_row_names_rule_and_tensor)
{
    expect_error_str("name: t\nseed: 1\nvocab: 300\ndim: 256\nlayers: 1\nheads: 8\nffn_dim: 160\n"
                     "context: 16\ntypes:\n  \"blk.*.ffn_*\": q4_k\n",
                     "t.yaml:10: types: 'blk.*.ffn_*' = q4_k: tensor 'blk.0.ffn_down.weight' "
                     "row length 160 is not a multiple of 256");
    expect_error_str(MIN_SPEC "types:\n  token_embd.weight: f32\n  default: q4_k\n",
                     "t.yaml:11: types: default = q4_k: tensor 'blk.0.attn_q.weight' "
                     "row length 64 is not a multiple of 256");
}

/* As spec.h says: a glob that matches a norm gives it its type. */
Test(spec, globs_also_choose_types_for_norms)
{
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, MIN_SPEC "types:\n  \"*\": q8_0\n", &err), 0), "%s", err.msg);
    struct llama_tensor_desc t;
    llama_layout_get(&s.hp, 1, &t);
    cr_assert(eq(str, t.name, "blk.0.attn_norm.weight"));
    cr_assert(eq(int, spec_tensor_type(&s, &t), PLUMB_TYPE_Q8_0));
    spec_free(&s);
}

Test(spec, rule_matching_no_tensor_is_refused)
{
    expect_error_str(MIN_SPEC "types:\n  \"blk.*.ffn-*\": q8_0\n",
                     "t.yaml:10: types: 'blk.*.ffn-*' matches no tensor");
    expect_error_str(MIN_SPEC "tied_output: true\ntypes:\n  output.weight: q8_0\n",
                     "t.yaml:11: types: 'output.weight' matches no tensor");
}

Test(spec, oversized_model_is_refused)
{
    expect_error_str("name: t\nseed: 1\nvocab: 16777216\ndim: 1048576\nlayers: 1\nheads: 8\n"
                     "ffn_dim: 128\ncontext: 16\n",
                     "t.yaml: the model would hold");
}

Test(spec, aliases_and_anchors_are_refused)
{
    expect_error_str(MIN_SPEC "kv_heads: *x\n", "t.yaml:9: aliases are not supported (found *x)");
    expect_error_str("name: &n t\n", "t.yaml:1: anchors and aliases are not supported (found &n)");
    expect_error_str(MIN_SPEC "types: {a: &q q8_0, b: *q}\n", "t.yaml:9: anchors and aliases are not supported");
}

/* A billion-laughs expansion under a valid key: refused at its first anchor,
 * long before any expansion (the suite's timeout would catch a slow path). */
Test(spec, alias_bomb_fails_fast)
{
    static const char bomb[] =
        MIN_SPEC
        "types:\n"
        "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    expect_error_str(bomb, "t.yaml:10: anchors and aliases are not supported (found &a)");
    static const char classic[] =
        "lol1: &lol1 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "lol2: &lol2 [*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1]\n";
    expect_error_str(classic, "t.yaml:1: ");
}

/* Nesting is refused at its first level, however deep it goes. */
Test(spec, deep_nesting_is_refused_at_the_first_level)
{
    size_t depth = 200000;
    const char *prefix = MIN_SPEC "kv_heads: ";
    size_t plen = strlen(prefix);
    char *yaml = malloc(plen + 2 * depth + 2);
    cr_assert(ne(ptr, yaml, NULL));
    memcpy(yaml, prefix, plen);
    memset(yaml + plen, '[', depth);
    memset(yaml + plen + depth, ']', depth);
    yaml[plen + 2 * depth] = '\n';
    yaml[plen + 2 * depth + 1] = '\0';
    expect_error_str(yaml, "t.yaml:9: kv_heads: expected an integer, found a sequence");
    /* The same at the top level, and as block mappings under types. */
    memset(yaml, '{', depth);
    memset(yaml + depth, '}', depth);
    yaml[2 * depth] = '\0';
    expect_error_str(yaml, "t.yaml:1: expected a key, found a mapping");
    free(yaml);
    expect_error_str(MIN_SPEC "types:\n  a:\n    b:\n      c: q8_0\n",
                     "t.yaml:11: types: 'a': expected a tensor type name, found a mapping");
}

Test(spec, empty_input_is_refused)
{
    expect_error(NULL, 0, "t.yaml: empty spec");
    expect_error_str("", "t.yaml: empty spec");
    expect_error_str("# only a comment\n\n", "t.yaml: empty spec");
    expect_error_str("---\n", "t.yaml:2: expected a mapping of keys at the top level, found nothing");
}

Test(spec, binary_garbage_gives_a_yaml_error_with_its_line)
{
    static const char garbage[] = "name: t\nseed: 1\n\xff\xfe\x00\x01\x80garbage";
    expect_error(garbage, sizeof garbage - 1, "t.yaml:3: ");
    expect_error(garbage, sizeof garbage - 1, "byte 0xff");
    static const char nul[] = "name: t\n\x00\x00\x00";
    expect_error(nul, sizeof nul - 1, "t.yaml:2: control characters are not allowed");
    static const char utf16[] = "\xff\xfen\x00""a\x00";
    expect_error(utf16, sizeof utf16 - 1, "t.yaml:1: ");
}

Test(spec, yaml_syntax_error_gives_its_line)
{
    expect_error_str(MIN_SPEC "kv_heads: 'abc\n",
                     "t.yaml:10: found unexpected end of stream (while scanning a quoted scalar at line 9)");
    expect_error_str("name: t\n  seed: 1\n", "t.yaml:2: mapping values are not allowed");
}

Test(spec, input_over_one_mebibyte_is_refused)
{
    size_t len = (1u << 20) + 1;
    char *big = malloc(len);
    cr_assert(ne(ptr, big, NULL));
    memset(big, '#', len);
    expect_error(big, len, "t.yaml: spec is 1048577 bytes, more than the 1048576-byte limit");
    free(big);
}

Test(spec, too_many_rules_are_refused)
{
    size_t cap = 64 * 1024;
    char *yaml = malloc(cap);
    cr_assert(ne(ptr, yaml, NULL));
    size_t o = (size_t)snprintf(yaml, cap, "%stypes:\n", MIN_SPEC);
    for (int i = 0; i < 257; i++)
        o += (size_t)snprintf(yaml + o, cap - o, "  r%d: q8_0\n", i);
    expect_error_str(yaml, "t.yaml:266: types: more than 256 rules");
    free(yaml);
}

Test(spec, numbers_ignore_the_host_locale)
{
    static const char *const locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"};
    const char *old = setlocale(LC_NUMERIC, NULL);
    char *saved = old ? strdup(old) : NULL;
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++) {
        if (!setlocale(LC_NUMERIC, locales[i]))
            continue;
        struct spec s;
        struct plumb_err err;
        int rc = parse(&s, MIN_SPEC "rms_eps: 2.5e-6\ninit_scale: 0.25\n", &err);
        setlocale(LC_NUMERIC, saved ? saved : "C");
        cr_assert(eq(int, rc, 0), "%s: %s", locales[i], err.msg);
        cr_assert(eq(flt, s.hp.rms_eps, 2.5e-6f));
        cr_assert(eq(flt, s.init_scale, 0.25f));
        spec_free(&s);
    }
    free(saved);
}

Test(spec, load_reads_a_file_and_hashes_its_bytes)
{
    char path[] = "/tmp/plumb-test-spec-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(ge(int, fd, 0));
    FILE *f = fdopen(fd, "wb");
    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(sz, fwrite(full_spec, 1, strlen(full_spec), f), strlen(full_spec)));
    fclose(f);
    struct spec s, p;
    struct plumb_err err;
    int rc = spec_load(&s, path, &err);
    cr_assert(eq(int, rc, 0), "%s", err.msg);
    cr_assert(eq(str, s.path, path));
    cr_assert(eq(str, s.name, "tiny-gqa"));
    cr_assert(eq(int, parse(&p, full_spec, &err), 0), "%s", err.msg);
    cr_assert(eq(int, memcmp(s.sha256, p.sha256, 32), 0));
    spec_free(&p);
    spec_free(&s);

    f = fopen(path, "wb");
    cr_assert(ne(ptr, f, NULL));
    fputs(MIN_SPEC "heads: 4\n", f);
    fclose(f);
    struct plumb_err err2;
    cr_assert(eq(int, spec_load(&s, path, &err2), -1));
    char want[128];
    snprintf(want, sizeof want, "%s:9: heads: duplicate key (first at line 6)", path);
    cr_assert(eq(str, err2.msg, want));
    unlink(path);
}

Test(spec, load_of_a_missing_file_names_it)
{
    struct spec s;
    struct plumb_err err;
    cr_assert(eq(int, spec_load(&s, "/nonexistent/plumb/x.yaml", &err), -1));
    cr_assert(eq(str, err.msg, "/nonexistent/plumb/x.yaml: cannot open: No such file or directory"));
    cr_assert(eq(int, spec_load(&s, "/tmp", &err), -1));
    cr_assert(ne(ptr, strstr(err.msg, "/tmp: cannot read"), NULL), "%s", err.msg);
    spec_free(&s);
}

Test(spec, same_bytes_same_hash_one_byte_differs)
{
    struct spec a, b;
    struct plumb_err err;
    cr_assert(eq(int, parse(&a, MIN_SPEC, &err), 0), "%s", err.msg);
    cr_assert(eq(int, parse(&b, MIN_SPEC "\n", &err), 0), "%s", err.msg);
    cr_assert(ne(int, memcmp(a.sha256, b.sha256, 32), 0));
    spec_free(&a);
    spec_free(&b);
}

Test(spec, free_is_safe_on_zeroed_and_twice)
{
    struct spec s;
    memset(&s, 0, sizeof s);
    spec_free(&s);
    spec_free(NULL);
    cr_assert(eq(int, parse(&s, full_spec, NULL), 0));
    spec_free(&s);
    spec_free(&s);
}
