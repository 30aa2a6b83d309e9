/*
 * model.c: binding a llama GGUF file. See model.h.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"

/* Metadata readers: a missing required key, a wrong type or an out-of-range
 * value is an error naming the key. */
static int model_key_i64(const struct gguf_ctx *g, const char *key, bool required, int64_t def,
                         int64_t *out, struct plumb_err *err)
{
    const struct gguf_value *v = gguf_get(g, key);
    if (!v) {
        if (required)
            return err_set(err, "%s: missing required key %s", g->path, key);
        *out = def;
        return 0;
    }
    int64_t x;
    if (gguf_value_i64(v, key, &x, err) != 0)
        return err_prefix(err, "%s", g->path);
    *out = x;
    return 0;
}

static int model_key_f32(const struct gguf_ctx *g, const char *key, bool required, float def,
                         float *out, struct plumb_err *err)
{
    const struct gguf_value *v = gguf_get(g, key);
    if (!v) {
        if (required)
            return err_set(err, "%s: missing required key %s", g->path, key);
        *out = def;
        return 0;
    }
    double x;
    if (gguf_value_f64(v, key, &x, err) != 0)
        return err_prefix(err, "%s", g->path);
    *out = (float)x;
    return 0;
}

static int model_hparams(struct model *m, struct plumb_err *err)
{
    const struct gguf_ctx *g = &m->gguf;
    struct llama_hparams *hp = &m->hp;
    const char *arch = NULL;
    size_t arch_len = 0;
    const struct gguf_value *a = gguf_get(g, "general.architecture");
    if (!a)
        return err_set(err, "%s: missing required key general.architecture", g->path);
    if (gguf_value_str(a, "general.architecture", &arch, &arch_len, err) != 0)
        return err_prefix(err, "%s", g->path);
    if (arch_len != 5 || memcmp(arch, "llama", 5) != 0)
        return err_set(err, "%s: general.architecture is '%.*s'; plumb runs 'llama'", g->path,
                       (int)(arch_len > 40 ? 40 : arch_len), arch);

    if (model_key_i64(g, "llama.context_length", true, 0, &hp->n_ctx, err) ||
        model_key_i64(g, "llama.embedding_length", true, 0, &hp->dim, err) ||
        model_key_i64(g, "llama.block_count", true, 0, &hp->n_layers, err) ||
        model_key_i64(g, "llama.feed_forward_length", true, 0, &hp->ffn_dim, err) ||
        model_key_i64(g, "llama.attention.head_count", true, 0, &hp->n_heads, err) ||
        model_key_i64(g, "llama.attention.head_count_kv", false, hp->n_heads, &hp->n_kv_heads, err) ||
        model_key_f32(g, "llama.attention.layer_norm_rms_epsilon", true, 0, &hp->rms_eps, err) ||
        model_key_f32(g, "llama.rope.freq_base", false, 10000.0f, &hp->rope_base, err))
        return -1;
    int64_t head_dim = hp->n_heads > 0 ? hp->dim / hp->n_heads : 0;
    if (model_key_i64(g, "llama.rope.dimension_count", false, head_dim, &hp->n_rot, err))
        return -1;

    /* The vocabulary size: the key, else the token embedding's row count. */
    const struct gguf_tensor *embd = gguf_get_tensor(g, "token_embd.weight");
    if (!embd)
        return err_set(err, "%s: tensor 'token_embd.weight' missing", g->path);
    if (model_key_i64(g, "llama.vocab_size", false, embd->ne[1], &hp->n_vocab, err))
        return -1;
    hp->tied_output = gguf_find_tensor(g, "output.weight") < 0;

    if (llama_layout_check(hp, err) != 0)
        return err_prefix(err, "%s", g->path);
    m->head_dim = hp->dim / hp->n_heads;
    m->q_dim = hp->n_heads * m->head_dim;
    m->kv_dim = hp->n_kv_heads * m->head_dim;
    return 0;
}

/* Find the tensor the layout describes and check its shape and type. */
static int model_find(const struct model *m, const struct llama_tensor_desc *d,
                      const struct gguf_tensor **out, struct plumb_err *err)
{
    const struct gguf_ctx *g = &m->gguf;
    const struct gguf_tensor *t = gguf_get_tensor(g, d->name);
    if (!t)
        return err_set(err, "%s: tensor '%s' missing", g->path, d->name);
    if (t->n_dims > 2 && (t->ne[2] != 1 || t->ne[3] != 1))
        return err_set(err, "%s: tensor '%s' has %u dimensions, expected %u", g->path, d->name,
                       t->n_dims, d->n_dims);
    for (int i = 0; i < 2; i++)
        if (t->ne[i] != d->ne[i])
            return err_set(err, "%s: tensor '%s': dim %d is %lld, expected %lld", g->path, d->name, i,
                           (long long)t->ne[i], (long long)d->ne[i]);
    if (!dtype_can_dequantize(t->type))
        return err_set(err, "%s: tensor '%s': type %s is not supported for computation", g->path,
                       d->name, dtype_name(t->type));
    *out = t;
    return 0;
}

static void model_set_weight(struct model_weight *w, const struct gguf_tensor *t)
{
    w->name = t->name;
    w->data = t->data;
    w->type = t->type;
    w->n = t->ne[0];
    w->n_rows = t->ne[1];
    w->row_size = t->size / (size_t)t->ne[1];
}

/* A norm vector as floats: the mapping itself for f32 (GGUF data is aligned
 * to at least 32 bytes... checked here anyway), else a converted copy. */
static int model_set_norm(struct model *m, const struct gguf_tensor *t, const float **out,
                          struct plumb_err *err)
{
    if (t->type == PLUMB_TYPE_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        *out = t->data;
        return 0;
    }
    float *f = malloc((size_t)t->n_elements * sizeof *f);
    if (!f)
        return err_set(err, "%s: out of memory", m->gguf.path);
    dtype_traits(t->type)->to_float(t->data, f, t->n_elements);
    m->owned[m->n_owned++] = f;
    *out = f;
    return 0;
}

int model_open(struct model *m, const char *path, struct plumb_err *err)
{
    memset(m, 0, sizeof *m);
    if (gguf_open(&m->gguf, path, err) != 0)
        return -1;
    if (model_hparams(m, err) != 0)
        return -1;
    const struct llama_hparams *hp = &m->hp;
    /* Every tensor first, before anything is sized by block_count: the
     * metadata may claim 2^32 layers, but a file holds only so many tensors,
     * so this fails at the first missing one and nothing is allocated from
     * the claim. */
    int64_t count = llama_layout_count(hp);
    for (int64_t i = 0; i < count; i++) {
        struct llama_tensor_desc d;
        const struct gguf_tensor *t = NULL;
        llama_layout_get(hp, i, &d);
        if (model_find(m, &d, &t, err) != 0)
            return -1;
    }
    m->layers = calloc((size_t)hp->n_layers, sizeof *m->layers);
    m->owned = calloc((size_t)(2 * hp->n_layers + 1), sizeof *m->owned);
    if (!m->layers || !m->owned)
        return err_set(err, "%s: out of memory", path);

    for (int64_t i = 0; i < count; i++) {
        struct llama_tensor_desc d;
        llama_layout_get(hp, i, &d);
        const struct gguf_tensor *t = gguf_get_tensor(&m->gguf, d.name); /* found above */
        struct model_layer *L = d.layer >= 0 ? &m->layers[d.layer] : NULL;
        int rc = 0;
        switch (d.kind) {
        case LLAMA_TOKEN_EMBD: model_set_weight(&m->token_embd, t); break;
        case LLAMA_ATTN_NORM: rc = model_set_norm(m, t, &L->attn_norm, err); break;
        case LLAMA_ATTN_Q: model_set_weight(&L->wq, t); break;
        case LLAMA_ATTN_K: model_set_weight(&L->wk, t); break;
        case LLAMA_ATTN_V: model_set_weight(&L->wv, t); break;
        case LLAMA_ATTN_OUTPUT: model_set_weight(&L->wo, t); break;
        case LLAMA_FFN_NORM: rc = model_set_norm(m, t, &L->ffn_norm, err); break;
        case LLAMA_FFN_GATE: model_set_weight(&L->w_gate, t); break;
        case LLAMA_FFN_UP: model_set_weight(&L->w_up, t); break;
        case LLAMA_FFN_DOWN: model_set_weight(&L->w_down, t); break;
        case LLAMA_OUTPUT_NORM: rc = model_set_norm(m, t, &m->output_norm, err); break;
        case LLAMA_OUTPUT: model_set_weight(&m->output, t); break;
        case LLAMA_KIND_COUNT: break;
        }
        if (rc != 0)
            return -1;
    }
    if (hp->tied_output)
        m->output = m->token_embd;
    return 0;
}

void model_close(struct model *m)
{
    for (int64_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    gguf_close(&m->gguf);
    memset(m, 0, sizeof *m);
}

void model_weight_row(const struct model_weight *w, int64_t row, float *out)
{
    const void *src = (const char *)w->data + (size_t)row * w->row_size;
    dtype_traits(w->type)->to_float(src, out, w->n);
}
