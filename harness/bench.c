/*
 * bench.c: the engine benchmark. See bench.h.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dtype.h"
#include "forward.h"
#include "model.h"

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* RssAnon from /proc/self/status in bytes, or -1 where there is none. */
static double bench_rss_anon(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "RssAnon: %lf kB", &kb) == 1)
            break;
    fclose(fp);
    return kb < 0 ? -1 : kb * 1024.0;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Weight bytes a decoded token reads: every matrix in full, one embedding
 * row, the norms. With a tied output the embedding is read in full. */
static double bench_bytes_per_token(const struct model *m)
{
    double total = 0;
    for (int64_t l = 0; l < m->hp.n_layers; l++) {
        const struct model_layer *L = &m->layers[l];
        const struct model_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                           &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            total += (double)ws[i]->row_size * (double)ws[i]->n_rows;
        total += 2.0 * (double)m->hp.dim * sizeof(float);
    }
    total += (double)m->output.row_size * (double)m->output.n_rows;
    if (!m->hp.tied_output)
        total += (double)m->token_embd.row_size;
    return total + (double)m->hp.dim * sizeof(float);
}

/* The yardstick's matrix-vector product, as llama2.c's run.c writes it:
 * W (d,n) @ x (n,) -> out (d,). */
static void bench_plain_matvec(float *out, const float *x, const float *w, int64_t n, int64_t d)
{
    for (int64_t i = 0; i < d; i++) {
        float val = 0.0f;
        for (int64_t j = 0; j < n; j++)
            val += w[i * n + j] * x[j];
        out[i] = val;
    }
}

/* One token's matrix work with the plain loop, in seconds. */
static double bench_plain_token(const struct model *m, float *x, float *out)
{
    double t0 = bench_now();
    for (int64_t l = 0; l < m->hp.n_layers; l++) {
        const struct model_layer *L = &m->layers[l];
        const struct model_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                           &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            bench_plain_matvec(out, x, ws[i]->data, ws[i]->n, ws[i]->n_rows);
    }
    bench_plain_matvec(out, x, m->output.data, m->output.n, m->output.n_rows);
    return bench_now() - t0;
}

static bool bench_all_f32(const struct model *m)
{
    for (int64_t l = 0; l < m->hp.n_layers; l++) {
        const struct model_layer *L = &m->layers[l];
        if (L->wq.type || L->wk.type || L->wv.type || L->wo.type || L->w_gate.type ||
            L->w_up.type || L->w_down.type)
            return false;
    }
    return m->output.type == PLUMB_TYPE_F32;
}

int bench_model(const struct bench_options *o, struct bench_result *r, struct plumb_err *err)
{
    memset(r, 0, sizeof *r);
    struct model m;
    struct forward f;
    memset(&f, 0, sizeof f);
    int n_prompt = o->n_prompt > 0 ? o->n_prompt : 32;
    int n_decode = o->n_decode > 0 ? o->n_decode : 16;
    int reps = o->reps > 0 ? o->reps : 3;
    double *pp = NULL, *tg = NULL, *plain = NULL;
    int32_t *tokens = NULL;
    float *x = NULL, *out = NULL;
    int rc = -1;

    if (model_open(&m, o->model_path, err) != 0)
        goto done;
    /* a small model's context bounds the run: fit both parts into it */
    if (n_prompt + n_decode > m.hp.n_ctx) {
        if (n_decode > m.hp.n_ctx / 2)
            n_decode = (int)(m.hp.n_ctx / 2);
        if (n_prompt > m.hp.n_ctx - n_decode)
            n_prompt = (int)(m.hp.n_ctx - n_decode);
    }
    if (n_prompt < 1 || n_decode < 1) {
        err_set(err, "%s: a context of %lld is too small to benchmark", o->model_path,
                (long long)m.hp.n_ctx);
        goto done;
    }
    r->n_prompt = n_prompt;
    r->n_decode = n_decode;
    int64_t n_ctx = n_prompt + n_decode;
    if (forward_init(&f, &m, o->kernels, o->threads, n_ctx, err) != 0)
        goto done;
    pp = calloc((size_t)reps, sizeof *pp);
    tg = calloc((size_t)(reps * n_decode), sizeof *tg);
    plain = calloc((size_t)reps, sizeof *plain);
    tokens = calloc((size_t)n_ctx, sizeof *tokens);
    if (!pp || !tg || !plain || !tokens) {
        err_set(err, "%s: out of memory", o->model_path);
        goto done;
    }
    /* fixed, spread-out token ids: the benchmark needs no tokenizer */
    for (int64_t i = 0; i < n_ctx; i++)
        tokens[i] = (int32_t)((i * 7919 + 1) % m.hp.n_vocab);

    for (int rep = 0; rep < reps; rep++) {
        forward_reset(&f);
        double t0 = bench_now();
        if (forward_eval(&f, tokens, n_prompt, err) != 0)
            goto done;
        pp[rep] = (double)n_prompt / (bench_now() - t0);
        for (int i = 0; i < n_decode; i++) {
            double t1 = bench_now();
            if (forward_eval(&f, tokens + n_prompt + i, 1, err) != 0)
                goto done;
            tg[rep * n_decode + i] = 1.0 / (bench_now() - t1);
        }
    }
    r->pp_tps = bench_median(pp, reps);
    r->tg_tps = bench_median(tg, reps * n_decode);
    r->bytes_per_token = bench_bytes_per_token(&m);
    r->gbps = r->bytes_per_token * r->tg_tps / 1e9;
    r->n_ctx = n_ctx;

    if (o->yardstick && bench_all_f32(&m)) {
        int64_t width = m.hp.dim;
        if (m.hp.ffn_dim > width)
            width = m.hp.ffn_dim;
        if (m.hp.n_vocab > width)
            width = m.hp.n_vocab;
        x = calloc((size_t)width, sizeof *x);
        out = calloc((size_t)width, sizeof *out);
        if (!x || !out) {
            err_set(err, "%s: out of memory", o->model_path);
            goto done;
        }
        for (int64_t i = 0; i < width; i++)
            x[i] = (float)((i % 17) - 8) * 0.0625f;
        for (int rep = 0; rep < reps; rep++)
            plain[rep] = 1.0 / bench_plain_token(&m, x, out);
        r->plain_tps = bench_median(plain, reps);
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->peak_rss_bytes = (double)ru.ru_maxrss * 1024.0;
    r->mapped_bytes = (double)m.gguf.size;
    r->kv_bytes = 2.0 * (double)m.hp.n_layers * (double)n_ctx * (double)m.kv_dim * sizeof(float);
    /* The engine's own memory: anonymous resident pages (heap, KV cache,
     * buffers; not the mapped file), read while everything is still held. */
    r->anon_bytes = bench_rss_anon();
    r->other_bytes = r->anon_bytes - r->kv_bytes;
    rc = 0;
done:
    free(pp);
    free(tg);
    free(plain);
    free(tokens);
    free(x);
    free(out);
    forward_free(&f);
    model_close(&m);
    return rc;
}
