/*
 * forward.c: the llama forward pass. See forward.h for the contract.
 *
 * Read forward_ubatch() top to bottom: it is the model. Everything else is
 * bookkeeping: buffers, the RoPE table, and splitting matrix rows and
 * attention heads over the thread pool.
 */
#include "forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpenv.h"
#include "kernels_registry.h"
#include "mathfn.h"
#include "scalar.h"

/* ---- parallel pieces (forward.h: shared with the benchmark) ---- */

static void forward_matmul_worker(void *ctx, int i, int n)
{
    struct forward_matmul_job *job = ctx;
    const struct model_weight *w = job->w;
    long long r0, r1;
    pool_split(w->n_rows, i, n, &r0, &r1);
    float *scratch = job->scratch + (int64_t)i * job->scratch_len;
    job->k->matmul[w->type](job->out, w->n_rows, w->data, w->row_size, job->x, w->n, job->n_tok,
                            r0, r1, scratch);
}

void forward_matmul_split(struct pool *pool, struct forward_matmul_job *job)
{
    pool_run(pool, forward_matmul_worker, job);
}

/* out (n_tok, W rows) = x (n_tok, W cols) @ W^T, rows split over threads */
static void forward_matmul(struct forward *f, float *out, const struct model_weight *w,
                           const float *x, int64_t n_tok)
{
    struct forward_matmul_job job = {&f->k, w, out, x, n_tok, f->scratch, f->scratch_len};
    forward_matmul_split(&f->pool, &job);
}

/* Each worker takes a share of the (token, head) pairs of the batch. */
static void forward_attention_worker(void *ctx, int i, int n)
{
    struct forward_attention_job *job = ctx;
    int64_t n_heads = job->n_heads, q_dim = n_heads * job->head_dim;
    long long b, e;
    pool_split(job->n_tok * n_heads, i, n, &b, &e);
    float *att = job->scratch + (int64_t)i * job->scratch_len;
    float scale = 1.0f / sqrtf((float)job->head_dim);
    for (long long th = b; th < e;) {
        int64_t t = th / n_heads;
        int64_t h0 = th % n_heads;
        int64_t h1 = h0 + (e - th) < n_heads ? h0 + (e - th) : n_heads;
        /* causal: token at pos0+t sees cache positions 0 .. pos0+t */
        job->k->attention(job->out + t * q_dim, job->q + t * q_dim, job->key_cache,
                          job->value_cache, job->pos0 + t + 1, n_heads, job->n_kv_heads,
                          job->head_dim, h0, h1, scale, att);
        th += h1 - h0;
    }
}

void forward_attention_split(struct pool *pool, struct forward_attention_job *job)
{
    pool_run(pool, forward_attention_worker, job);
}

/* ---- taps ---- */

static int forward_tap(struct forward *f, const char *name, int64_t layer, float *data,
                       int64_t width, int64_t n_tok, int64_t pos0, struct plumb_err *err)
{
    char full[64];
    if (layer >= 0) {
        snprintf(full, sizeof full, "%s-%lld", name, (long long)layer);
        name = full;
    }
    if (f->perturb_name && !strcmp(name, f->perturb_name))
        for (int64_t i = 0; i < width * n_tok; i++)
            data[i] *= f->perturb_factor;
    return f->tap ? f->tap(f->tap_ctx, name, data, width, n_tok, pos0, err) : 0;
}

/* A tap point: costs one branch when nothing listens. */
#define TAP(name, layer, data, width)                                                    \
    do {                                                                                 \
        if ((f->tap || f->perturb_name) &&                                               \
            forward_tap(f, name, layer, data, width, n_tok, pos0, err) != 0)             \
            return -1;                                                                   \
    } while (0)

/* ---- the model ---- */

/* n_tok tokens (n_tok <= FORWARD_UBATCH) at positions pos0 .. pos0+n_tok-1. */
static int forward_ubatch(struct forward *f, const int32_t *tokens, int64_t n_tok, int64_t pos0,
                          struct plumb_err *err)
{
    const struct model *m = f->m;
    const struct llama_hparams *hp = &m->hp;
    const struct plumb_kernels *k = &f->k;
    int64_t dim = hp->dim, q_dim = m->q_dim, kv_dim = m->kv_dim, ffn_dim = hp->ffn_dim;
    int64_t hd = m->head_dim;

    /* x = token embedding rows */
    for (int64_t t = 0; t < n_tok; t++)
        model_weight_row(&m->token_embd, tokens[t], f->x + t * dim);
    TAP("inp_embd", -1, f->x, dim);

    for (int64_t l = 0; l < hp->n_layers; l++) {
        const struct model_layer *L = &m->layers[l];

        /* attention: xb = rmsnorm(x) * attn_norm */
        for (int64_t t = 0; t < n_tok; t++)
            k->rmsnorm(f->xb + t * dim, f->x + t * dim, L->attn_norm, dim, hp->rms_eps);
        TAP("attn_norm", l, f->xb, dim);

        /* q, k, v projections */
        forward_matmul(f, f->q, &L->wq, f->xb, n_tok);
        forward_matmul(f, f->k_cur, &L->wk, f->xb, n_tok);
        forward_matmul(f, f->v_cur, &L->wv, f->xb, n_tok);

        /* RoPE on q and k at each token's position */
        for (int64_t t = 0; t < n_tok; t++) {
            const float *c = f->rope_cos + (pos0 + t) * (hd / 2);
            const float *s = f->rope_sin + (pos0 + t) * (hd / 2);
            k->rope(f->q + t * q_dim, hp->n_heads, hd, c, s);
            k->rope(f->k_cur + t * kv_dim, hp->n_kv_heads, hd, c, s);
        }
        TAP("Qcur", l, f->q, q_dim);
        TAP("Kcur", l, f->k_cur, kv_dim);
        TAP("Vcur", l, f->v_cur, kv_dim);

        /* append k, v to this layer's cache */
        float *kc = f->key_cache + (l * f->n_ctx + pos0) * kv_dim;
        float *vc = f->value_cache + (l * f->n_ctx + pos0) * kv_dim;
        memcpy(kc, f->k_cur, (size_t)(n_tok * kv_dim) * sizeof(float));
        memcpy(vc, f->v_cur, (size_t)(n_tok * kv_dim) * sizeof(float));

        /* causal grouped-query attention over the cache */
        struct forward_attention_job aj = {
            .k = k, .out = f->att_out, .q = f->q,
            .key_cache = f->key_cache + l * f->n_ctx * kv_dim,
            .value_cache = f->value_cache + l * f->n_ctx * kv_dim,
            .pos0 = pos0, .n_tok = n_tok, .n_heads = hp->n_heads, .n_kv_heads = hp->n_kv_heads,
            .head_dim = hd, .scratch = f->scratch, .scratch_len = f->scratch_len};
        forward_attention_split(&f->pool, &aj);

        /* output projection, residual */
        forward_matmul(f, f->xb, &L->wo, f->att_out, n_tok);
        TAP("kqv_out", l, f->xb, dim);
        for (int64_t t = 0; t < n_tok; t++)
            k->add(f->x + t * dim, f->x + t * dim, f->xb + t * dim, dim);
        TAP("ffn_inp", l, f->x, dim);

        /* feed-forward: xb = rmsnorm(x) * ffn_norm; SwiGLU */
        for (int64_t t = 0; t < n_tok; t++)
            k->rmsnorm(f->xb + t * dim, f->x + t * dim, L->ffn_norm, dim, hp->rms_eps);
        TAP("ffn_norm", l, f->xb, dim);
        forward_matmul(f, f->hb, &L->w_gate, f->xb, n_tok);
        forward_matmul(f, f->hb2, &L->w_up, f->xb, n_tok);
        TAP("ffn_gate", l, f->hb, ffn_dim);
        TAP("ffn_up", l, f->hb2, ffn_dim);
        for (int64_t t = 0; t < n_tok; t++)
            k->silu_mul(f->hb + t * ffn_dim, f->hb + t * ffn_dim, f->hb2 + t * ffn_dim, ffn_dim);
        forward_matmul(f, f->xb, &L->w_down, f->hb, n_tok);
        TAP("ffn_out", l, f->xb, dim);
        for (int64_t t = 0; t < n_tok; t++)
            k->add(f->x + t * dim, f->x + t * dim, f->xb + t * dim, dim);
        TAP("l_out", l, f->x, dim);
    }

    /* final norm and the LM head */
    for (int64_t t = 0; t < n_tok; t++)
        k->rmsnorm(f->xb + t * dim, f->x + t * dim, m->output_norm, dim, hp->rms_eps);
    TAP("result_norm", -1, f->xb, dim);
    forward_matmul(f, f->logits, &m->output, f->xb, n_tok);
    TAP("result_output", -1, f->logits, hp->n_vocab);
    return 0;
}

int forward_eval(struct forward *f, const int32_t *tokens, int64_t n, struct plumb_err *err)
{
    const struct model *m = f->m;
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return err_set(err, "%s: token id %d (at %lld) is out of range 0..%lld", m->gguf.path,
                           tokens[i], (long long)i, (long long)(m->hp.n_vocab - 1));
    if (n > f->n_ctx - f->n_past)
        return err_set(err, "%s: %lld tokens after %lld already evaluated exceed the context of %lld",
                       m->gguf.path, (long long)n, (long long)f->n_past, (long long)f->n_ctx);
    for (int64_t i = 0; i < n; i += FORWARD_UBATCH) {
        int64_t nb = n - i < FORWARD_UBATCH ? n - i : FORWARD_UBATCH;
        if (forward_ubatch(f, tokens + i, nb, f->n_past, err) != 0)
            return -1;
        f->n_past += nb;
        f->n_last = nb;
    }
    return 0;
}

const float *forward_logits(const struct forward *f)
{
    if (f->n_last == 0)
        return NULL;
    return f->logits + (f->n_last - 1) * f->m->hp.n_vocab;
}

/* ---- set-up ---- */

/*
 * The RoPE angle table, computed as ggml's CPU rope does: for position p,
 * theta_0 = p and theta_{i+1} = theta_i * base^(-2/n_rot) (in float), then
 * cos and sin of each theta. So pair i rotates by p * base^(-2i/n_rot).
 */
static void forward_rope_table(struct forward *f)
{
    const struct model *m = f->m;
    int64_t half = m->head_dim / 2;
    float theta_scale = mathfn_powf(m->hp.rope_base, -2.0f / (float)m->hp.n_rot);
    for (int64_t p = 0; p < f->n_ctx; p++) {
        float theta = (float)p;
        for (int64_t i = 0; i < half; i++) {
            mathfn_sincosf(theta, &f->rope_sin[p * half + i], &f->rope_cos[p * half + i]);
            theta *= theta_scale;
        }
    }
}

/* calloc of a * b * c floats, or NULL on overflow or failure. */
static float *forward_alloc(int64_t a, int64_t b, int64_t c)
{
    if (a < 1 || b < 1 || c < 1 || a > INT64_MAX / b || a * b > INT64_MAX / c)
        return NULL;
    int64_t n = a * b * c;
    if ((uint64_t)n > SIZE_MAX / sizeof(float))
        return NULL;
    return calloc((size_t)n, sizeof(float));
}

static int64_t forward_max(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

int forward_init(struct forward *f, const struct model *m, const struct plumb_kernels *k,
                 int n_threads, int64_t n_ctx, struct plumb_err *err)
{
    memset(f, 0, sizeof *f);
    f->m = m;
    if (fpenv_check(err) != 0)
        return -1;
    if (kernels_resolve(k ? k : kernels_scalar(), &f->k, err) != 0)
        return -1;

    const struct llama_hparams *hp = &m->hp;
    f->n_ctx = n_ctx > 0 ? n_ctx : hp->n_ctx;
    if (pool_init(&f->pool, n_threads, err) != 0)
        return -1;

    int64_t ub = FORWARD_UBATCH;
    f->scratch_len = forward_max(forward_max(hp->dim, hp->ffn_dim), forward_max(m->q_dim, f->n_ctx));
    f->x = forward_alloc(ub, hp->dim, 1);
    f->xb = forward_alloc(ub, hp->dim, 1);
    f->q = forward_alloc(ub, m->q_dim, 1);
    f->k_cur = forward_alloc(ub, m->kv_dim, 1);
    f->v_cur = forward_alloc(ub, m->kv_dim, 1);
    f->att_out = forward_alloc(ub, m->q_dim, 1);
    f->hb = forward_alloc(ub, hp->ffn_dim, 1);
    f->hb2 = forward_alloc(ub, hp->ffn_dim, 1);
    f->logits = forward_alloc(ub, hp->n_vocab, 1);
    f->key_cache = forward_alloc(hp->n_layers, f->n_ctx, m->kv_dim);
    f->value_cache = forward_alloc(hp->n_layers, f->n_ctx, m->kv_dim);
    f->rope_cos = forward_alloc(f->n_ctx, m->head_dim / 2, 1);
    f->rope_sin = forward_alloc(f->n_ctx, m->head_dim / 2, 1);
    f->scratch = forward_alloc(n_threads, f->scratch_len, 1);
    if (!f->x || !f->xb || !f->q || !f->k_cur || !f->v_cur || !f->att_out || !f->hb || !f->hb2 ||
        !f->logits || !f->key_cache || !f->value_cache || !f->rope_cos || !f->rope_sin ||
        !f->scratch)
        return err_set(err, "%s: out of memory for the run state (context %lld)", m->gguf.path,
                       (long long)f->n_ctx);
    forward_rope_table(f);
    return 0;
}

void forward_free(struct forward *f)
{
    pool_free(&f->pool);
    free(f->x);
    free(f->xb);
    free(f->q);
    free(f->k_cur);
    free(f->v_cur);
    free(f->att_out);
    free(f->hb);
    free(f->hb2);
    free(f->logits);
    free(f->key_cache);
    free(f->value_cache);
    free(f->rope_cos);
    free(f->rope_sin);
    free(f->scratch);
    memset(f, 0, sizeof *f);
}

void forward_reset(struct forward *f)
{
    f->n_past = 0;
    f->n_last = 0;
}

void forward_set_tap(struct forward *f, forward_tap_fn tap, void *ctx)
{
    f->tap = tap;
    f->tap_ctx = ctx;
}

void forward_set_perturb(struct forward *f, const char *name, float factor)
{
    f->perturb_name = name;
    f->perturb_factor = factor;
}
