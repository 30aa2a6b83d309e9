/*
 * test_llama_layout.c: the hyper-parameter checks every llama model passes
 * before anything is sized from them, each refusal naming the key and the
 * value, and the tensor list they imply.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <string.h>

#include "llama_layout.h"

TestSuite(llama_layout, .timeout = 10);

/* The gqa fixture's shape: vocab 512, dim 64, 2 layers, 8 heads, 2 kv. */
static struct llama_hparams good(void)
{
    return (struct llama_hparams){.n_vocab = 512, .dim = 64, .n_layers = 2, .n_heads = 8,
                                  .n_kv_heads = 2, .ffn_dim = 160, .n_ctx = 32, .n_rot = 8,
                                  .rope_base = 10000.0f, .rms_eps = 1e-5f};
}

Test(llama_layout, accepts_a_consistent_shape)
{
    struct llama_hparams hp = good();
    struct plumb_err err = {{0}};
    cr_assert(eq(int, llama_layout_check(&hp, &err), 0), "%s", err.msg);
    hp.n_ctx = INT64_C(1) << 32; /* the largest count allowed */
    cr_assert(eq(int, llama_layout_check(&hp, &err), 0), "%s", err.msg);
}

Test(llama_layout, every_inconsistency_is_named)
{
    struct {
        int field;
        double value;
        const char *msg;
    } cases[] = {
        {0, 0, "vocab_size is 0, expected 1 to 2^32"},
        {1, -64, "embedding_length is -64, expected 1 to 2^32"},
        {2, 4294967297.0, "block_count is 4294967297, expected 1 to 2^32"},
        {3, 0, "attention.head_count is 0, expected 1 to 2^32"},
        {4, 0, "attention.head_count_kv is 0, expected 1 to 2^32"},
        {5, 0, "feed_forward_length is 0, expected 1 to 2^32"},
        {6, 0, "context_length is 0, expected 1 to 2^32"},
        {7, 0, "rope.dimension_count is 0, expected 1 to 2^32"},
        {3, 6, "head_count 6 does not divide embedding_length 64"},
        {4, 3, "head_count_kv 3 does not divide head_count 8"},
        {3, 64, "head dimension 1 (embedding_length / head_count) is odd; RoPE rotates pairs"},
        {7, 4, "rope.dimension_count is 4, expected the head dimension 8 (llama rotates whole heads)"},
        {8, 0, "layer_norm_rms_epsilon is 0, expected 0 < eps < 1"},
        {8, 1, "layer_norm_rms_epsilon is 1, expected 0 < eps < 1"},
        {8, NAN, "layer_norm_rms_epsilon is nan, expected 0 < eps < 1"},
        {9, 1, "rope.freq_base is 1, expected 1 < freq_base < 1e30"},
        {9, INFINITY, "rope.freq_base is inf, expected 1 < freq_base < 1e30"},
        {9, NAN, "rope.freq_base is nan, expected 1 < freq_base < 1e30"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct llama_hparams hp = good();
        int64_t *counts[] = {&hp.n_vocab, &hp.dim, &hp.n_layers, &hp.n_heads,
                             &hp.n_kv_heads, &hp.ffn_dim, &hp.n_ctx, &hp.n_rot};
        if (cases[i].field < 8) {
            *counts[cases[i].field] = (int64_t)cases[i].value;
            if (cases[i].field == 3 && cases[i].value == 64) {
                hp.n_kv_heads = 64; /* head_dim 1, kv heads dividing */
                hp.n_rot = 1;
            }
        } else if (cases[i].field == 8) {
            hp.rms_eps = (float)cases[i].value;
        } else {
            hp.rope_base = (float)cases[i].value;
        }
        struct plumb_err err = {{0}};
        cr_assert(eq(int, llama_layout_check(&hp, &err), -1), "case %zu", i);
        cr_assert(eq(str, err.msg, (char *)cases[i].msg), "case %zu", i);
    }
}

/* 1 + 9 per layer + output_norm + output (not when tied); names and shapes
 * as llama.cpp's, row length first. */
Test(llama_layout, lists_every_tensor_with_its_shape)
{
    struct llama_hparams hp = good();
    cr_assert(eq(i64, llama_layout_count(&hp), 1 + 2 * 9 + 2));
    struct llama_tensor_desc d;
    llama_layout_get(&hp, 0, &d);
    cr_assert(eq(str, d.name, "token_embd.weight"));
    cr_assert(eq(i64, d.ne[0], 64));
    cr_assert(eq(i64, d.ne[1], 512));
    llama_layout_get(&hp, 1 + 9 + 2, &d); /* layer 1's attn_k: 8 rows per kv head x 2 */
    cr_assert(eq(str, d.name, "blk.1.attn_k.weight"));
    cr_assert(eq(i64, d.layer, 1));
    cr_assert(eq(i64, d.ne[0], 64));
    cr_assert(eq(i64, d.ne[1], 16));
    llama_layout_get(&hp, 1 + 9 + 9, &d);
    cr_assert(eq(str, d.name, "output_norm.weight"));
    cr_assert(eq(u32, d.n_dims, 1));
    cr_assert(eq(i64, d.layer, -1));
    hp.tied_output = true;
    cr_assert(eq(i64, llama_layout_count(&hp), 1 + 2 * 9 + 1));
}
