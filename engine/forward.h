/*
 * forward.h: the llama forward pass with a KV cache and activation taps.
 *
 * One code path serves prompt processing and decoding: forward_eval() takes
 * any number of tokens, runs them through the model in micro-batches of at
 * most FORWARD_UBATCH tokens at the next free cache positions, and leaves
 * the logits of the last token. Every buffer, the KV cache included, is
 * allocated once by forward_init(); nothing is allocated per token.
 *
 * Results are bit-identical however the tokens are batched (one call with
 * the whole prompt, or one call per token) and for any thread count:
 * every output element is computed by the same operations in the same order
 * (see engine/kernels/scalar.c), only which thread computes it varies.
 *
 * Taps: when a tap function is set, it is called at each named intermediate
 * with the rows of the current micro-batch; names follow llama.cpp's graph
 * (inp_embd, attn_norm-N, Qcur-N, Kcur-N, Vcur-N, kqv_out-N, ffn_inp-N,
 * ffn_norm-N, ffn_gate-N, ffn_up-N, ffn_out-N, l_out-N, result_norm,
 * result_output). Qcur/Kcur are after RoPE; kqv_out-N is the attention
 * block's output after the output projection; ffn_out-N is before the
 * residual add; l_out-N after it. With no tap set, each tap point costs one
 * predictable branch.
 */
#ifndef PLUMB_FORWARD_H
#define PLUMB_FORWARD_H

#include <stdint.h>

#include "err.h"
#include "kernels.h"
#include "model.h"
#include "pool.h"

#define FORWARD_UBATCH 32 /* tokens per micro-batch */

/* Called with n_tok rows of `width` floats for positions pos0.. pos0+n_tok-1.
 * Return 0, or -1 with err set to stop the evaluation. */
typedef int (*forward_tap_fn)(void *ctx, const char *name, const float *data, int64_t width,
                              int64_t n_tok, int64_t pos0, struct plumb_err *err);

/* Must not be moved after forward_init (its pool's workers point into it). */
struct forward {
    const struct model *m;
    struct plumb_kernels k;     /* the kernel set, NULL entries filled from scalar */
    struct pool pool;
    int64_t n_ctx;              /* cache positions */
    int64_t n_past;             /* positions already in the cache */
    int64_t n_last;             /* tokens in the last micro-batch */

    float *x;           /* (ubatch, dim)      residual stream */
    float *xb;          /* (ubatch, dim)      normed input, projection output */
    float *q;           /* (ubatch, q_dim)    queries */
    float *k_cur;       /* (ubatch, kv_dim)   keys of this batch */
    float *v_cur;       /* (ubatch, kv_dim)   values of this batch */
    float *att_out;     /* (ubatch, q_dim)    attention output before Wo */
    float *hb;          /* (ubatch, ffn_dim)  gate, then silu(gate)*up */
    float *hb2;         /* (ubatch, ffn_dim)  up */
    float *logits;      /* (ubatch, n_vocab) */
    float *key_cache;   /* (n_layers, n_ctx, kv_dim) */
    float *value_cache; /* (n_layers, n_ctx, kv_dim) */
    float *rope_cos;    /* (n_ctx, head_dim/2) */
    float *rope_sin;    /* (n_ctx, head_dim/2) */
    float *scratch;     /* (n_threads, scratch_len) per-thread rows and scores */
    int64_t scratch_len;

    forward_tap_fn tap;
    void *tap_ctx;
    const char *perturb_name;   /* testing the harness: see forward_set_perturb */
    float perturb_factor;
};

/*
 * Prepare to run model m with kernel set k (NULL for scalar) on n_threads
 * threads and a cache of n_ctx positions (0 for the model's context length).
 * Refuses to run when the floating-point environment is not IEEE default,
 * or with a set kernels_resolve() refuses (wrong ABI version, no name).
 * Returns 0, or -1 with err set; forward_free() in either case.
 */
int forward_init(struct forward *f, const struct model *m, const struct plumb_kernels *k,
                 int n_threads, int64_t n_ctx, struct plumb_err *err);

void forward_free(struct forward *f);

/* Forget the cache: the next token is at position 0. */
void forward_reset(struct forward *f);

/* Attach a tap (NULL to detach). */
void forward_set_tap(struct forward *f, forward_tap_fn tap, void *ctx);

/*
 * For testing tools that compare activations: multiply the tap `name`
 * (e.g. "ffn_out-1") by factor in flight, so everything after it sees the
 * change, as a buggy kernel there would cause. name is borrowed; NULL stops.
 */
void forward_set_perturb(struct forward *f, const char *name, float factor);

/*
 * Run n tokens at positions n_past .. n_past+n-1. Errors (exit-2 class):
 * a token id out of range, more tokens than the cache has room for; the
 * cache is left as it was before the call. Returns 0 or -1.
 */
int forward_eval(struct forward *f, const int32_t *tokens, int64_t n, struct plumb_err *err);

/* Logits (n_vocab floats) of the last token evaluated. */
const float *forward_logits(const struct forward *f);

/*
 * The two operations forward_eval() splits over its thread pool, exported so
 * that `plumb bench --ops` times exactly what a decoded token runs.
 */

/* A matrix product: out (n_tok, w->n_rows) = x (n_tok, w->n) @ W^T. */
struct forward_matmul_job {
    const struct plumb_kernels *k; /* resolved: no NULL entry */
    const struct model_weight *w;
    float *out;                    /* (n_tok, w->n_rows) */
    const float *x;                /* (n_tok, w->n) */
    int64_t n_tok;
    float *scratch;                /* (pool threads, scratch_len) */
    int64_t scratch_len;           /* >= w->n */
};

/* Run job on pool: worker i of n computes the rows pool_split(w->n_rows, i,
 * n) gives it, with row i of the scratch. Returns when all are done. */
void forward_matmul_split(struct pool *pool, struct forward_matmul_job *job);

/* Causal attention of n_tok queries at positions pos0.. over one layer's
 * cache (kernels.h: plumb_attention_fn). */
struct forward_attention_job {
    const struct plumb_kernels *k; /* resolved: no NULL entry */
    float *out;                    /* (n_tok, n_heads*head_dim) */
    const float *q;                /* (n_tok, n_heads*head_dim) */
    const float *key_cache;        /* (pos0 + n_tok, n_kv_heads*head_dim) */
    const float *value_cache;      /* (pos0 + n_tok, n_kv_heads*head_dim) */
    int64_t pos0, n_tok;
    int64_t n_heads, n_kv_heads, head_dim;
    float *scratch;                /* (pool threads, scratch_len) */
    int64_t scratch_len;           /* >= pos0 + n_tok */
};

/* Run job on pool: worker i of n takes the (token, head) pairs
 * pool_split(n_tok*n_heads, i, n) gives it; the scale is 1/sqrt(head_dim). */
void forward_attention_split(struct pool *pool, struct forward_attention_job *job);

#endif
