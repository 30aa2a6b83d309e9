/*
 * llama_layout.c: the llama tensor list. See llama_layout.h.
 */
#include "llama_layout.h"

#include <stdio.h>

int llama_layout_check(const struct llama_hparams *hp, struct plumb_err *err)
{
    const struct { const char *key; int64_t v; } counts[] = {
        {"vocab_size", hp->n_vocab},
        {"embedding_length", hp->dim},
        {"block_count", hp->n_layers},
        {"attention.head_count", hp->n_heads},
        {"attention.head_count_kv", hp->n_kv_heads},
        {"feed_forward_length", hp->ffn_dim},
        {"context_length", hp->n_ctx},
        {"rope.dimension_count", hp->n_rot},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (counts[i].v < 1 || counts[i].v > (INT64_C(1) << 32))
            return err_set(err, "%s is %lld, expected 1 to 2^32", counts[i].key,
                           (long long)counts[i].v);
    if (hp->dim % hp->n_heads != 0)
        return err_set(err, "head_count %lld does not divide embedding_length %lld",
                       (long long)hp->n_heads, (long long)hp->dim);
    if (hp->n_heads % hp->n_kv_heads != 0)
        return err_set(err, "head_count_kv %lld does not divide head_count %lld",
                       (long long)hp->n_kv_heads, (long long)hp->n_heads);
    int64_t head_dim = hp->dim / hp->n_heads;
    if (head_dim % 2 != 0)
        return err_set(err, "head dimension %lld (embedding_length / head_count) is odd; RoPE rotates pairs",
                       (long long)head_dim);
    if (hp->n_rot != head_dim)
        return err_set(err, "rope.dimension_count is %lld, expected the head dimension %lld (llama rotates whole heads)",
                       (long long)hp->n_rot, (long long)head_dim);
    if (!(hp->rms_eps > 0.0f) || !(hp->rms_eps < 1.0f))
        return err_set(err, "layer_norm_rms_epsilon is %g, expected 0 < eps < 1", (double)hp->rms_eps);
    if (!(hp->rope_base > 1.0f) || !(hp->rope_base < 1e30f))
        return err_set(err, "rope.freq_base is %g, expected 1 < freq_base < 1e30", (double)hp->rope_base);
    return 0;
}

int64_t llama_layout_count(const struct llama_hparams *hp)
{
    return 1 + hp->n_layers * LLAMA_PER_LAYER + 1 + (hp->tied_output ? 0 : 1);
}

static void llama_layout_set(struct llama_tensor_desc *out, enum llama_tensor_kind kind,
                             int64_t layer, const char *name, int64_t ne0, int64_t ne1)
{
    out->kind = kind;
    out->layer = layer;
    if (layer >= 0)
        snprintf(out->name, sizeof out->name, "blk.%lld.%s.weight", (long long)layer, name);
    else
        snprintf(out->name, sizeof out->name, "%s.weight", name);
    out->n_dims = ne1 > 0 ? 2 : 1;
    out->ne[0] = ne0;
    out->ne[1] = ne1 > 0 ? ne1 : 1;
}

void llama_layout_get(const struct llama_hparams *hp, int64_t i, struct llama_tensor_desc *out)
{
    int64_t head_dim = hp->dim / hp->n_heads;
    int64_t q_dim = hp->n_heads * head_dim;
    int64_t kv_dim = hp->n_kv_heads * head_dim;

    if (i == 0) {
        llama_layout_set(out, LLAMA_TOKEN_EMBD, -1, "token_embd", hp->dim, hp->n_vocab);
        return;
    }
    i -= 1;
    if (i < hp->n_layers * LLAMA_PER_LAYER) {
        int64_t l = i / LLAMA_PER_LAYER;
        switch (i % LLAMA_PER_LAYER) {
        case 0: llama_layout_set(out, LLAMA_ATTN_NORM, l, "attn_norm", hp->dim, 0); break;
        case 1: llama_layout_set(out, LLAMA_ATTN_Q, l, "attn_q", hp->dim, q_dim); break;
        case 2: llama_layout_set(out, LLAMA_ATTN_K, l, "attn_k", hp->dim, kv_dim); break;
        case 3: llama_layout_set(out, LLAMA_ATTN_V, l, "attn_v", hp->dim, kv_dim); break;
        case 4: llama_layout_set(out, LLAMA_ATTN_OUTPUT, l, "attn_output", q_dim, hp->dim); break;
        case 5: llama_layout_set(out, LLAMA_FFN_NORM, l, "ffn_norm", hp->dim, 0); break;
        case 6: llama_layout_set(out, LLAMA_FFN_GATE, l, "ffn_gate", hp->dim, hp->ffn_dim); break;
        case 7: llama_layout_set(out, LLAMA_FFN_UP, l, "ffn_up", hp->dim, hp->ffn_dim); break;
        default: llama_layout_set(out, LLAMA_FFN_DOWN, l, "ffn_down", hp->ffn_dim, hp->dim); break;
        }
        return;
    }
    i -= hp->n_layers * LLAMA_PER_LAYER;
    if (i == 0)
        llama_layout_set(out, LLAMA_OUTPUT_NORM, -1, "output_norm", hp->dim, 0);
    else
        llama_layout_set(out, LLAMA_OUTPUT, -1, "output", hp->dim, hp->n_vocab);
}
