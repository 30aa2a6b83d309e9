/*
 * model.h: a llama GGUF file bound to the engine: hyper-parameters from the
 * metadata, and every weight found, shape-checked and typed.
 *
 * Weights stay in the mmapped file (never copied); only norm vectors that
 * are not stored as f32 are converted once into owned float arrays. After
 * model_open() succeeds every weight the forward pass touches exists, has
 * exactly the shape llama_layout.h gives for the metadata, and a type plumb
 * can dequantize, so the forward pass needs no further checks.
 *
 * Errors name the file, then the key or tensor: "m.gguf: tensor
 * 'blk.3.attn_q.weight': dim 1 is 4096, expected 2048",
 * "m.gguf: general.architecture is 'gpt2'; plumb runs 'llama'".
 */
#ifndef PLUMB_MODEL_H
#define PLUMB_MODEL_H

#include <stdint.h>

#include "err.h"
#include "gguf.h"
#include "llama_layout.h"

/* A weight matrix: n_rows rows of n elements each, in the mapping. */
struct model_weight {
    const char *name;     /* the GGUF tensor's name */
    const void *data;
    int type;             /* ggml type id, dequantizable */
    int64_t n;            /* row length (ne[0]) */
    int64_t n_rows;       /* ne[1] */
    size_t row_size;      /* bytes per row */
};

struct model_layer {
    const float *attn_norm;      /* (dim,) */
    struct model_weight wq;      /* (n_heads*hd rows, dim) */
    struct model_weight wk;      /* (n_kv_heads*hd rows, dim) */
    struct model_weight wv;      /* (n_kv_heads*hd rows, dim) */
    struct model_weight wo;      /* (dim rows, n_heads*hd) */
    const float *ffn_norm;       /* (dim,) */
    struct model_weight w_gate;  /* (ffn_dim rows, dim) */
    struct model_weight w_up;    /* (ffn_dim rows, dim) */
    struct model_weight w_down;  /* (dim rows, ffn_dim) */
};

struct model {
    struct gguf_ctx gguf;        /* the open file */
    struct llama_hparams hp;
    int64_t head_dim;            /* dim / n_heads */
    int64_t q_dim;               /* n_heads * head_dim */
    int64_t kv_dim;              /* n_kv_heads * head_dim */
    struct model_weight token_embd; /* (n_vocab rows, dim) */
    struct model_layer *layers;  /* [n_layers] */
    const float *output_norm;    /* (dim,) */
    struct model_weight output;  /* (n_vocab rows, dim); token_embd when tied */
    float **owned;               /* norm vectors converted to float */
    int64_t n_owned;
};

/* Open path and bind it. Returns 0, or -1 with err set; model_close() in
 * either case. */
int model_open(struct model *m, const char *path, struct plumb_err *err);

/* Release everything; safe on a zeroed or half-opened model. */
void model_close(struct model *m);

/* Dequantize row `row` of w into out (w->n floats). */
void model_weight_row(const struct model_weight *w, int64_t row, float *out);

#endif
