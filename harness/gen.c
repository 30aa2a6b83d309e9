/*
 * gen.c: synthetic llama GGUF models from a spec. See gen.h for the weight
 * formula and the determinism argument.
 *
 * Filling a tensor is split by rows over n_threads threads; each element's
 * value depends only on its index, so the bytes never depend on the split.
 */
#include "gen.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "sha256.h"
#include "version.h"

#define GEN_GOLDEN 0x9E3779B97F4A7C15ull

/* splitmix64's finaliser: a bijective 64-bit mix. */
static uint64_t gen_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t gen_fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

double gen_sqrt(double x)
{
    if (!(x > 0.0))
        return 0.0;
    /* Start from a power of two near sqrt(x), then Newton: y = (y + x/y)/2,
     * which converges quadratically from above. */
    double y = 1.0;
    while (y * y < x)
        y *= 2.0;
    while (y * y > 4.0 * x)
        y *= 0.5;
    for (int i = 0; i < 60; i++) {
        double next = 0.5 * (y + x / y);
        if (next >= y)
            break;
        y = next;
    }
    return y;
}

/* Uniform in [-1, 1) with 24 bits: exactly representable in float. */
static float gen_uniform(uint64_t key, int64_t j)
{
    uint64_t r = gen_mix(key + ((uint64_t)j / 2 + 1) * GEN_GOLDEN);
    uint32_t k = (j & 1) ? (uint32_t)(r >> 8) & 0xffffffu : (uint32_t)(r >> 40);
    return (float)((int32_t)k - (1 << 23)) * (1.0f / 8388608.0f);
}

float gen_weight(const struct gen *g, int64_t t, int64_t j)
{
    return gen_uniform(g->key[t], j) * g->scale[t] + g->offset[t];
}

/* ---- filling tensors ---- */

struct gen_fill_job {
    const struct gen *g;
    int64_t t;
    uint8_t *dst;
    int64_t row0, row1;  /* rows [row0, row1) */
    size_t row_size;
    int failed;
};

static void *gen_fill_rows(void *arg)
{
    struct gen_fill_job *job = arg;
    const struct gen *g = job->g;
    const struct llama_tensor_desc *d = &g->desc[job->t];
    /* the fastest converter giving the reference quantizer's exact bytes */
    dtype_from_float_fn quantize = dtype_quantizer(g->type[job->t]);
    int64_t n = d->ne[0];
    float *row = malloc((size_t)n * sizeof *row);
    if (!row) {
        job->failed = 1;
        return NULL;
    }
    for (int64_t r = job->row0; r < job->row1; r++) {
        for (int64_t i = 0; i < n; i++)
            row[i] = gen_weight(g, job->t, r * n + i);
        quantize(row, job->dst + (size_t)r * job->row_size, n);
    }
    free(row);
    return NULL;
}

static int gen_fill(void *ctx, int64_t t, void *dst, size_t size, struct plumb_err *err)
{
    const struct gen *g = ctx;
    const struct llama_tensor_desc *d = &g->desc[t];
    size_t row_size;
    if (!dtype_row_size(g->type[t], d->ne[0], &row_size) || row_size * (size_t)d->ne[1] != size)
        return err_set(err, "tensor '%s': size mismatch", d->name);

    enum { GEN_MAX_THREADS = 64 };
    struct gen_fill_job jobs[GEN_MAX_THREADS];
    pthread_t tid[GEN_MAX_THREADS];
    int nt = g->n_threads < 1 ? 1 : g->n_threads > GEN_MAX_THREADS ? GEN_MAX_THREADS : g->n_threads;
    if (nt > d->ne[1])
        nt = (int)d->ne[1];
    int started = 0;
    for (int i = 0; i < nt; i++) {
        jobs[i] = (struct gen_fill_job){g, t, dst, d->ne[1] * i / nt, d->ne[1] * (i + 1) / nt,
                                        row_size, 0};
        if (i == 0)
            continue; /* the calling thread does the first share */
        if (pthread_create(&tid[i], NULL, gen_fill_rows, &jobs[i]) != 0) {
            jobs[i].failed = 1;
            break;
        }
        started = i;
    }
    gen_fill_rows(&jobs[0]);
    int failed = jobs[0].failed;
    for (int i = 1; i <= started; i++) {
        pthread_join(tid[i], NULL);
        failed |= jobs[i].failed;
    }
    for (int i = started + 1; i < nt; i++) /* threads that never started */
        failed = 1;
    if (failed)
        return err_set(err, "tensor '%s': out of memory or threads while generating", d->name);
    return 0;
}

/* ---- describing the file ---- */

void gen_free(struct gen *g)
{
    vocab_free(&g->vocab);
    free(g->desc);
    free(g->type);
    free(g->key);
    free(g->scale);
    free(g->offset);
    memset(g, 0, sizeof *g);
}

static int gen_metadata(const struct gen *g, struct gguf_writer *w)
{
    const struct spec *s = g->spec;
    const struct llama_hparams *hp = &s->hp;
    bool quantized = false;
    for (int64_t t = 0; t < g->n_tensors; t++)
        quantized |= dtype_traits(g->type[t])->is_quantized;

    char hex[65];
    sha256_hex(s->sha256, hex);

    gguf_writer_str(w, "general.architecture", "llama");
    gguf_writer_str(w, "general.name", s->name);
    if (quantized)
        gguf_writer_u32(w, "general.quantization_version", 2);
    gguf_writer_u32(w, "llama.context_length", (uint32_t)hp->n_ctx);
    gguf_writer_u32(w, "llama.embedding_length", (uint32_t)hp->dim);
    gguf_writer_u32(w, "llama.block_count", (uint32_t)hp->n_layers);
    gguf_writer_u32(w, "llama.feed_forward_length", (uint32_t)hp->ffn_dim);
    gguf_writer_u32(w, "llama.attention.head_count", (uint32_t)hp->n_heads);
    gguf_writer_u32(w, "llama.attention.head_count_kv", (uint32_t)hp->n_kv_heads);
    gguf_writer_f32(w, "llama.attention.layer_norm_rms_epsilon", hp->rms_eps);
    gguf_writer_f32(w, "llama.rope.freq_base", hp->rope_base);
    gguf_writer_u32(w, "llama.rope.dimension_count", (uint32_t)hp->n_rot);
    gguf_writer_u32(w, "llama.vocab_size", (uint32_t)hp->n_vocab);

    const struct vocab *v = &g->vocab;
    gguf_writer_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->pieces, (uint64_t)v->n);
    gguf_writer_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_F32, v->scores, (uint64_t)v->n);
    gguf_writer_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_I32, v->types, (uint64_t)v->n);
    gguf_writer_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos);
    gguf_writer_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos);
    gguf_writer_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)v->unk);
    gguf_writer_bool(w, "tokenizer.ggml.add_bos_token", true);
    gguf_writer_bool(w, "tokenizer.ggml.add_eos_token", false);

    gguf_writer_str(w, "plumb.gen.version", PLUMB_VERSION);
    gguf_writer_str(w, "plumb.gen.spec_sha256", hex);
    gguf_writer_u64(w, "plumb.gen.seed", s->seed);
    return gguf_writer_f32(w, "plumb.gen.init_scale", s->init_scale);
}

int gen_describe(struct gen *g, const struct spec *s, int n_threads, struct gguf_writer *w,
                 struct plumb_err *err)
{
    memset(g, 0, sizeof *g);
    g->spec = s;
    g->n_threads = n_threads;
    g->n_tensors = llama_layout_count(&s->hp);
    size_t n = (size_t)g->n_tensors;
    g->desc = calloc(n, sizeof *g->desc);
    g->type = calloc(n, sizeof *g->type);
    g->key = calloc(n, sizeof *g->key);
    g->scale = calloc(n, sizeof *g->scale);
    g->offset = calloc(n, sizeof *g->offset);
    if (!g->desc || !g->type || !g->key || !g->scale || !g->offset)
        return err_set(err, "%s: out of memory", s->path);
    if (vocab_build(&g->vocab, s->hp.n_vocab, err) != 0)
        return err_prefix(err, "%s", s->path);

    for (int64_t t = 0; t < g->n_tensors; t++) {
        struct llama_tensor_desc *d = &g->desc[t];
        llama_layout_get(&s->hp, t, d);
        g->type[t] = spec_tensor_type(s, d);
        g->key[t] = gen_mix(s->seed ^ gen_mix(gen_fnv1a64(d->name)));
        if (d->kind == LLAMA_ATTN_NORM || d->kind == LLAMA_FFN_NORM || d->kind == LLAMA_OUTPUT_NORM) {
            g->scale[t] = 0.125f;
            g->offset[t] = 1.0f;
        } else if (d->kind == LLAMA_TOKEN_EMBD) {
            g->scale[t] = s->init_scale;
        } else {
            g->scale[t] = (float)(s->init_scale * gen_sqrt(3.0 / (double)d->ne[0]));
        }
    }

    gen_metadata(g, w);
    for (int64_t t = 0; t < g->n_tensors; t++)
        gguf_writer_tensor_fill(w, g->desc[t].name, g->type[t], g->desc[t].n_dims, g->desc[t].ne,
                                gen_fill, g);
    if (w->failed)
        return err_set(err, "%s: %s", s->path, w->err.msg);
    return 0;
}

int gen_write_file(const struct spec *s, const char *path, int n_threads, struct plumb_err *err)
{
    struct gguf_writer w;
    struct gen g;
    gguf_writer_init(&w);
    int rc = gen_describe(&g, s, n_threads, &w, err);
    if (rc == 0)
        rc = gguf_writer_write_file(&w, path, err);
    gen_free(&g);
    gguf_writer_free(&w);
    return rc;
}
