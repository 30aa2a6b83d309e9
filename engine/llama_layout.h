/*
 * llama_layout.h: the tensors a `general.architecture = llama` GGUF holds.
 *
 * One list, in the order plumb writes them, of every tensor's name and shape
 * (ggml order: ne[0] is the row length) for given hyper-parameters. The
 * fixture generator writes exactly this list and the model loader expects it,
 * so the two cannot disagree. Names and shapes are llama.cpp's:
 *   token_embd.weight       {dim, n_vocab}
 *   blk.N.attn_norm.weight  {dim}
 *   blk.N.attn_q.weight     {dim, n_heads*head_dim}
 *   blk.N.attn_k.weight     {dim, n_kv_heads*head_dim}
 *   blk.N.attn_v.weight     {dim, n_kv_heads*head_dim}
 *   blk.N.attn_output.weight {n_heads*head_dim, dim}
 *   blk.N.ffn_norm.weight   {dim}
 *   blk.N.ffn_gate.weight   {dim, ffn_dim}
 *   blk.N.ffn_up.weight     {dim, ffn_dim}
 *   blk.N.ffn_down.weight   {ffn_dim, dim}
 *   output_norm.weight      {dim}
 *   output.weight           {dim, n_vocab}   (absent when tied to token_embd)
 */
#ifndef PLUMB_LLAMA_LAYOUT_H
#define PLUMB_LLAMA_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/*
 * Hyper-parameters of a llama model. Invariants once llama_layout_check()
 * passed: all counts >= 1, n_heads divides dim, n_kv_heads divides n_heads,
 * head_dim (= dim / n_heads) is even, n_rot == head_dim.
 */
struct llama_hparams {
    int64_t n_vocab;
    int64_t dim;          /* embedding length */
    int64_t n_layers;
    int64_t n_heads;
    int64_t n_kv_heads;
    int64_t ffn_dim;      /* feed-forward length */
    int64_t n_ctx;        /* context length */
    int64_t n_rot;        /* rope dimension count */
    float rope_base;      /* rope freq base */
    float rms_eps;
    bool tied_output;     /* no output.weight: logits use token_embd.weight */
};

enum llama_tensor_kind {
    LLAMA_TOKEN_EMBD,
    LLAMA_ATTN_NORM,
    LLAMA_ATTN_Q,
    LLAMA_ATTN_K,
    LLAMA_ATTN_V,
    LLAMA_ATTN_OUTPUT,
    LLAMA_FFN_NORM,
    LLAMA_FFN_GATE,
    LLAMA_FFN_UP,
    LLAMA_FFN_DOWN,
    LLAMA_OUTPUT_NORM,
    LLAMA_OUTPUT,
    LLAMA_KIND_COUNT
};

#define LLAMA_PER_LAYER 9 /* tensors in each blk.N */

struct llama_tensor_desc {
    char name[64];
    enum llama_tensor_kind kind;
    int64_t layer;        /* -1 outside the blocks */
    uint32_t n_dims;      /* 1 or 2 */
    int64_t ne[2];        /* ne[1] = 1 when n_dims == 1 */
};

/* Check the invariants above; err names the first broken one, e.g.
 * "head_count 6 does not divide embedding_length 64". */
int llama_layout_check(const struct llama_hparams *hp, struct plumb_err *err);

/* Number of tensors in the layout. */
int64_t llama_layout_count(const struct llama_hparams *hp);

/* Tensor i (0 <= i < count) of the layout. hp must have passed the check. */
void llama_layout_get(const struct llama_hparams *hp, int64_t i, struct llama_tensor_desc *out);

#endif
