/*
 * test_model.c: binding a llama GGUF: hyper-parameters with their defaults,
 * and every way a file can fail to be a runnable llama model, each refused
 * with the key or tensor named.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "helpers.h"
#include "llama_layout.h"
#include "model.h"

TestSuite(model, .timeout = 30);

enum breakage {
    BREAK_NONE,
    BREAK_ARCH,          /* general.architecture = gpt2 */
    BREAK_NO_EPS,        /* required key missing */
    BREAK_EPS_STRING,    /* key of the wrong type */
    BREAK_MISSING,       /* a tensor left out */
    BREAK_SHAPE,         /* a tensor of the wrong shape */
    BREAK_TYPE,          /* a tensor of a type plumb cannot compute with */
    BREAK_HEADS,         /* head_count not dividing the embedding */
    BREAK_ROT,           /* rope dimension count != head dim */
    BREAK_NO_ARCH,       /* general.architecture missing */
    BREAK_ARCH_U32,      /* general.architecture not a string */
    BREAK_CTX_STRING,    /* an integer key of the wrong type */
    BREAK_ROPE_STRING,   /* an optional float key of the wrong type */
    BREAK_NO_EMBD,       /* token_embd.weight missing (the vocabulary's size) */
    BREAK_3D,            /* a matrix with a third dimension */
    BREAK_LAYERS_2_32,   /* block_count 2^32: a claim no file can back */
    VARY_NORMS_F16,      /* not broken: norm vectors stored as f16 (1.5) */
};

static const float zeros[4096];
static uint16_t f16_one_and_a_half[64]; /* 0x3e00 = 1.5 in IEEE half */

/* A tiny llama file (dim 8, 2 heads, 1 kv head, ffn 16, vocab 4, 1 layer),
 * zero weights, with one thing broken. */
static char *write_model(const char *dir, enum breakage b, bool tied)
{
    struct llama_hparams hp = {.n_vocab = 4, .dim = 8, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1,
                               .ffn_dim = 16, .n_ctx = 8, .n_rot = 4, .rope_base = 10000.0f,
                               .rms_eps = 1e-5f, .tied_output = tied};
    struct gguf_writer w;
    gguf_writer_init(&w);
    if (b == BREAK_ARCH_U32)
        gguf_writer_u32(&w, "general.architecture", 5);
    else if (b != BREAK_NO_ARCH)
        gguf_writer_str(&w, "general.architecture", b == BREAK_ARCH ? "gpt2" : "llama");
    if (b == BREAK_CTX_STRING)
        gguf_writer_str(&w, "llama.context_length", "eight");
    else
        gguf_writer_u32(&w, "llama.context_length", 8);
    gguf_writer_u32(&w, "llama.embedding_length", 8);
    if (b == BREAK_LAYERS_2_32)
        gguf_writer_u64(&w, "llama.block_count", UINT64_C(1) << 32);
    else
        gguf_writer_u32(&w, "llama.block_count", 1);
    if (b == BREAK_ROPE_STRING)
        gguf_writer_str(&w, "llama.rope.freq_base", "ten thousand");
    gguf_writer_u32(&w, "llama.feed_forward_length", 16);
    gguf_writer_u32(&w, "llama.attention.head_count", b == BREAK_HEADS ? 3 : 2);
    gguf_writer_u32(&w, "llama.attention.head_count_kv", 1);
    if (b == BREAK_EPS_STRING)
        gguf_writer_str(&w, "llama.attention.layer_norm_rms_epsilon", "small");
    else if (b != BREAK_NO_EPS)
        gguf_writer_f32(&w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (b == BREAK_ROT)
        gguf_writer_u32(&w, "llama.rope.dimension_count", 2);
    int64_t count = llama_layout_count(&hp);
    for (int64_t i = 0; i < count; i++) {
        struct llama_tensor_desc d;
        llama_layout_get(&hp, i, &d);
        if ((b == BREAK_MISSING && d.kind == LLAMA_FFN_UP) ||
            (b == BREAK_NO_EMBD && d.kind == LLAMA_TOKEN_EMBD))
            continue;
        int64_t ne[3] = {d.ne[0], d.ne[1], 2};
        int type = PLUMB_TYPE_F32;
        const void *data = zeros;
        if (b == VARY_NORMS_F16 && d.n_dims == 1) {
            type = PLUMB_TYPE_F16;
            for (int k = 0; k < 64; k++)
                f16_one_and_a_half[k] = 0x3e00;
            data = f16_one_and_a_half;
        }
        if (b == BREAK_SHAPE && d.kind == LLAMA_ATTN_K)
            ne[1] = 8;
        if (b == BREAK_TYPE && d.kind == LLAMA_ATTN_V) {
            type = PLUMB_TYPE_I8; /* known to ggml, not computed with by plumb */
        }
        uint32_t n_dims = d.n_dims;
        if (b == BREAK_3D && d.kind == LLAMA_ATTN_Q)
            n_dims = 3;
        size_t size = (size_t)(ne[0] * ne[1] * (n_dims == 3 ? 2 : 1)) * dtype_traits(type)->type_size;
        gguf_writer_tensor(&w, d.name, type, n_dims, ne, data, size);
    }
    char *path = malloc(512);
    snprintf(path, 512, "%s/m%d.gguf", dir, (int)b);
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), 0), "%s", err.msg);
    gguf_writer_free(&w);
    return path;
}

Test(model, binds_a_valid_file_with_defaults)
{
    char *dir = make_temp_dir();
    char *path = write_model(dir, BREAK_NONE, false);
    struct model m;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, model_open(&m, path, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, m.hp.n_vocab, 4));          /* from token_embd: no vocab_size key */
    cr_assert(eq(i64, m.hp.n_rot, 4));            /* default: the head dimension */
    cr_assert(eq(flt, m.hp.rope_base, 10000.0f)); /* default */
    cr_assert(eq(i64, m.kv_dim, 4));
    cr_assert(eq(i64, m.q_dim, 8));
    cr_assert(not(m.hp.tied_output));
    cr_assert(eq(str, (char *)m.output.name, "output.weight"));
    model_close(&m);
    free(path);

    path = write_model(dir, BREAK_NONE, true);
    cr_assert(eq(int, model_open(&m, path, &err), 0), "%s", err.msg);
    cr_assert(m.hp.tied_output);
    cr_assert(eq(str, (char *)m.output.name, "token_embd.weight"));
    model_close(&m);
    free(path);
    rm_tree(dir);
    free(dir);
}

Test(model, every_broken_file_names_the_key_or_tensor)
{
    const struct {
        enum breakage b;
        const char *fragment;
    } cases[] = {
        {BREAK_ARCH, "general.architecture is 'gpt2'; plumb runs 'llama'"},
        {BREAK_NO_EPS, "missing required key llama.attention.layer_norm_rms_epsilon"},
        {BREAK_EPS_STRING, "llama.attention.layer_norm_rms_epsilon"},
        {BREAK_MISSING, "tensor 'blk.0.ffn_up.weight' missing"},
        {BREAK_SHAPE, "tensor 'blk.0.attn_k.weight': dim 1 is 8, expected 4"},
        {BREAK_TYPE, "tensor 'blk.0.attn_v.weight': type i8 is not supported"},
        {BREAK_HEADS, "head_count 3 does not divide embedding_length 8"},
        {BREAK_ROT, "rope.dimension_count is 2, expected the head dimension 4"},
        {BREAK_NO_ARCH, "missing required key general.architecture"},
        {BREAK_ARCH_U32, "general.architecture: has type u32"},
        {BREAK_CTX_STRING, "llama.context_length: has type string, expected an integer"},
        {BREAK_ROPE_STRING, "llama.rope.freq_base: has type string"},
        {BREAK_NO_EMBD, "tensor 'token_embd.weight' missing"},
        {BREAK_3D, "tensor 'blk.0.attn_q.weight' has 3 dimensions, expected 2"},
        /* the first tensor of layer 1: found missing, not a terabyte calloc
         * for 2^32 layers failing ("out of memory") or, worse, succeeding */
        {BREAK_LAYERS_2_32, "tensor 'blk.1.attn_norm.weight' missing"},
    };
    char *dir = make_temp_dir();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_model(dir, cases[i].b, false);
        struct model m;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, model_open(&m, path, &err), -1), "case %zu", i);
        cr_assert(not(eq(ptr, strstr(err.msg, cases[i].fragment), NULL)), "case %zu: %s", i, err.msg);
        cr_assert(eq(int, strncmp(err.msg, path, strlen(path)), 0), "names the file: %s", err.msg);
        model_close(&m);
        free(path);
    }
    rm_tree(dir);
    free(dir);
}

/* Norm vectors not stored as f32 are converted once into owned floats: the
 * exact values (1.5 is exact in f16), not pointers into the mapping. */
Test(model, converts_norm_vectors_stored_as_f16)
{
    char *dir = make_temp_dir();
    char *path = write_model(dir, VARY_NORMS_F16, false);
    struct model m;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, model_open(&m, path, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, m.n_owned, 3)); /* attn_norm, ffn_norm, output_norm */
    const float *norms[] = {m.layers[0].attn_norm, m.layers[0].ffn_norm, m.output_norm};
    for (int k = 0; k < 3; k++) {
        const uint8_t *p = (const uint8_t *)norms[k];
        bool outside = p < m.gguf.base || p >= m.gguf.base + m.gguf.size;
        cr_assert(outside, "norm %d points into the file", k);
        for (int i = 0; i < 8; i++)
            cr_assert(eq(flt, norms[k][i], 1.5f), "norm %d [%d]", k, i);
    }
    model_close(&m);
    model_close(&m); /* safe twice */
    free(path);
    rm_tree(dir);
    free(dir);
}
