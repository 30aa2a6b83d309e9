/*
 * bench.c: the engine benchmarks. See bench.h.
 *
 * bench_model() runs a model through forward_eval(); bench_ops() builds one
 * layer's worth of data and calls the pieces a decoded token is made of,
 * through the same functions forward_eval() uses (forward_matmul_split,
 * forward_attention_split, the resolved kernel set), so what is timed is
 * what a token runs.
 */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dtype.h"
#include "forward.h"
#include "kernels_registry.h"
#include "model.h"
#include "scalar.h"

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
    double *pp = NULL, *tg = NULL, *phase = NULL, *plain = NULL;
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
    phase = calloc((size_t)reps, sizeof *phase);
    plain = calloc((size_t)reps, sizeof *plain);
    tokens = calloc((size_t)n_ctx, sizeof *tokens);
    if (!pp || !tg || !phase || !plain || !tokens) {
        err_set(err, "%s: out of memory", o->model_path);
        goto done;
    }
    /* fixed, spread-out token ids: the benchmark needs no tokenizer */
    for (int64_t i = 0; i < n_ctx; i++)
        tokens[i] = (int32_t)((i * 7919 + 1) % m.hp.n_vocab);

    /* Repetition -1 is a warm-up, not counted: it maps the model's pages in
     * (page faults on first touch) and wakes the threads and caches, as
     * llama-bench's warm-up run does. */
    for (int rep = -1; rep < reps; rep++) {
        forward_reset(&f);
        double t0 = bench_now();
        if (forward_eval(&f, tokens, n_prompt, err) != 0)
            goto done;
        double t1 = bench_now();
        for (int i = 0; i < n_decode; i++) {
            double ti = bench_now();
            if (forward_eval(&f, tokens + n_prompt + i, 1, err) != 0)
                goto done;
            if (rep >= 0)
                tg[rep * n_decode + i] = 1.0 / (bench_now() - ti);
        }
        if (rep >= 0) {
            pp[rep] = (double)n_prompt / (t1 - t0);
            phase[rep] = (double)n_decode / (bench_now() - t1);
        }
    }
    r->pp_tps = bench_median(pp, reps);
    r->tg_tps = bench_median(tg, reps * n_decode);
    r->tg_phase_tps = bench_median(phase, reps);
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

    /* The roofline, on the engine's own threads, once the memory figures
     * above are taken (its buffer is not the engine's memory). */
    if (membw_measure(&f.pool, o->bw_bytes, 0, MEMBW_LOADS_BEST, &r->bw, err) != 0)
        goto done;
    r->pct_bw = r->bw.gbps > 0 ? 100.0 * r->gbps / r->bw.gbps : 0;
    rc = 0;
done:
    free(pp);
    free(tg);
    free(phase);
    free(plain);
    free(tokens);
    free(x);
    free(out);
    forward_free(&f);
    model_close(&m);
    return rc;
}

/* ---- one decoded token's operations, one at a time ---- */

static const char *const bench_op_names[BENCH_OP_COUNT] = {
    [BENCH_OP_MATVEC] = "matvec",       [BENCH_OP_RMSNORM] = "rmsnorm",
    [BENCH_OP_ROPE] = "rope",           [BENCH_OP_ATTENTION] = "attention",
    [BENCH_OP_SOFTMAX] = "softmax",     [BENCH_OP_SILU_MUL] = "silu_mul",
    [BENCH_OP_ADD] = "add",
};

const char *bench_op_name(enum bench_op op)
{
    return (unsigned)op < BENCH_OP_COUNT ? bench_op_names[op] : "unknown";
}

int bench_op_from_name(const char *name)
{
    for (int op = 0; op < BENCH_OP_COUNT; op++)
        if (!strcmp(name, bench_op_names[op]))
            return op;
    return -1;
}

const int bench_ops_types[] = {
    PLUMB_TYPE_F32,  PLUMB_TYPE_F16,  PLUMB_TYPE_BF16, PLUMB_TYPE_Q8_0,
    PLUMB_TYPE_Q4_0, PLUMB_TYPE_Q4_1, PLUMB_TYPE_Q5_0, PLUMB_TYPE_Q5_1,
    PLUMB_TYPE_Q4_K, PLUMB_TYPE_Q5_K, PLUMB_TYPE_Q6_K,
};
const int bench_ops_n_types = (int)(sizeof bench_ops_types / sizeof bench_ops_types[0]);

double bench_op_flops(enum bench_op op, const struct bench_shape *s)
{
    switch (op) {
    case BENCH_OP_MATVEC:
        return 2.0 * (double)s->rows * (double)s->cols;
    case BENCH_OP_ATTENTION:
        return 4.0 * (double)s->n_heads * (double)s->n_kv * (double)s->head_dim;
    default:
        return 0;
    }
}

double bench_op_bytes(enum bench_op op, int type, const struct bench_shape *s)
{
    const double f = sizeof(float);
    double q = (double)s->n_heads * (double)s->head_dim; /* a token's queries */
    double kv = (double)s->n_kv * (double)s->n_kv_heads * (double)s->head_dim;
    size_t row_size;
    switch (op) {
    case BENCH_OP_MATVEC:
        if (!dtype_row_size(type, s->cols, &row_size))
            return -1;
        return (double)s->rows * (double)row_size + f * (double)s->cols + f * (double)s->rows;
    case BENCH_OP_RMSNORM:
    case BENCH_OP_ADD:
        return 3 * f * (double)s->cols;
    case BENCH_OP_ROPE:
        return 2 * f * q + f * (double)s->head_dim;
    case BENCH_OP_ATTENTION:
        return 2 * f * q + 2 * f * kv;
    case BENCH_OP_SOFTMAX:
        return 2 * f * (double)s->n_heads * (double)s->n_kv;
    case BENCH_OP_SILU_MUL:
        return 3 * f * (double)s->rows;
    default:
        return 0;
    }
}

void bench_rates(struct bench_op_line *l, double bw_gbps)
{
    l->gflops = l->gbps = l->pct_bw = 0;
    if (!(l->seconds > 0))
        return;
    l->gflops = l->flops / l->seconds / 1e9;
    l->gbps = l->bytes / l->seconds / 1e9;
    if (bw_gbps > 0)
        l->pct_bw = 100.0 * l->gbps / bw_gbps;
}

/* Element i of the stream `seed`: a uniform float in [-1, 1), a multiple of
 * 2^-23 (splitmix64 of seed + i, its top 24 bits). */
static float bench_uniform(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)(int32_t)((z >> 40) - (1u << 23)) * 0x1p-23f;
}

static void bench_fill(float *v, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = bench_uniform(seed, (uint64_t)i);
}

struct bench_quant_job {
    dtype_from_float_fn quantize;
    uint64_t seed;
    int64_t rows, cols;
    size_t row_size;
    char *dst;
    float *scratch; /* (threads, cols) */
};

static void bench_quant_worker(void *ctx, int i, int n)
{
    struct bench_quant_job *job = ctx;
    long long r0, r1;
    pool_split(job->rows, i, n, &r0, &r1);
    float *row = job->scratch + (int64_t)i * job->cols;
    for (long long r = r0; r < r1; r++) {
        for (int64_t c = 0; c < job->cols; c++)
            row[c] = bench_uniform(job->seed, (uint64_t)(r * job->cols + c));
        job->quantize(row, job->dst + (size_t)r * job->row_size, job->cols);
    }
}

/* n rounded up to a multiple of a (a power of two), or 0 on overflow. */
static size_t bench_round_up(size_t n, size_t a)
{
    return n > SIZE_MAX - (a - 1) ? 0 : (n + a - 1) & ~(a - 1);
}

void *bench_matrix_new(struct pool *pool, int type, int64_t rows, int64_t cols, uint64_t seed,
                       size_t *row_size, struct plumb_err *err)
{
    struct bench_quant_job job = {.quantize = dtype_quantizer(type), .seed = seed, .rows = rows,
                                  .cols = cols};
    if (!job.quantize) {
        err_set(err, "type %s: plumb has no quantizer for it", dtype_name(type));
        return NULL;
    }
    if (rows < 1 || cols < 1 || !dtype_row_size(type, cols, &job.row_size)) {
        err_set(err, "type %s: cannot hold %lld x %lld (rows of %lld elements in blocks of %lld)",
                dtype_name(type), (long long)rows, (long long)cols, (long long)cols,
                (long long)dtype_traits(type)->blck_size);
        return NULL;
    }
    size_t size = 0;
    if ((uint64_t)rows <= SIZE_MAX / job.row_size)
        size = bench_round_up((size_t)rows * job.row_size, 64);
    int64_t n_scratch = (int64_t)pool->n_threads * cols;
    if (size == 0 || n_scratch / cols != pool->n_threads ||
        (uint64_t)n_scratch > SIZE_MAX / sizeof(float)) {
        err_set(err, "type %s: %lld x %lld is too large", dtype_name(type), (long long)rows,
                (long long)cols);
        return NULL;
    }
    void *dst = NULL;
    job.scratch = malloc((size_t)n_scratch * sizeof(float));
    if (!job.scratch || posix_memalign(&dst, 64, size) != 0) {
        free(job.scratch);
        err_set(err, "type %s: out of memory for a %zu-byte matrix", dtype_name(type), size);
        return NULL;
    }
    job.dst = dst;
    pool_run(pool, bench_quant_worker, &job);
    free(job.scratch);
    *row_size = job.row_size;
    return dst;
}

/* What one timed call does, and the data it rotates among. */
struct bench_call {
    enum bench_op op;
    struct pool *pool;
    const struct plumb_kernels *k;   /* resolved */
    const struct bench_shape *s;
    struct forward_matmul_job mm;
    struct model_weight *w;          /* [copies] matvec: the same matrix, copied */
    struct forward_attention_job att;
    float *kv;                       /* [copies] (2, n_kv, kv_dim) attention */
    int64_t kv_stride;               /* floats per copy */
    float *x, *y, *z, *out;          /* operands: (max(rows, cols, n_heads*n_kv)) each */
    float *norm;                     /* (cols) */
    float *cos_t, *sin_t;            /* (head_dim / 2) */
};

static void bench_call_run(struct bench_call *c, int copy)
{
    const struct plumb_kernels *k = c->k;
    const struct bench_shape *s = c->s;
    switch (c->op) {
    case BENCH_OP_MATVEC:
        c->mm.w = &c->w[copy];
        forward_matmul_split(c->pool, &c->mm);
        break;
    case BENCH_OP_ATTENTION:
        c->att.key_cache = c->kv + copy * c->kv_stride;
        c->att.value_cache = c->att.key_cache + c->kv_stride / 2;
        forward_attention_split(c->pool, &c->att);
        break;
    case BENCH_OP_RMSNORM:
        k->rmsnorm(c->out, c->x, c->norm, s->cols, 1e-5f);
        break;
    case BENCH_OP_ROPE:
        k->rope(c->x, s->n_heads, s->head_dim, c->cos_t, c->sin_t);
        break;
    case BENCH_OP_SOFTMAX:
        for (int64_t h = 0; h < s->n_heads; h++)
            k->softmax(c->z + h * s->n_kv, s->n_kv);
        break;
    case BENCH_OP_SILU_MUL:
        k->silu_mul(c->out, c->x, c->y, s->rows);
        break;
    case BENCH_OP_ADD:
        k->add(c->out, c->x, c->y, s->cols);
        break;
    default:
        break;
    }
}

/* Median seconds per call: a warm-up call on every copy (at least 3), then
 * reps timed batches, each of enough calls to last about a millisecond
 * (one call for anything slower), the copies taken in turn throughout.
 * With mb, a read-bandwidth pass follows every batch, untimed, and *bw_gbps
 * gets their median: the roofline of the same moments. */
static double bench_time_calls(struct bench_call *c, int copies, int reps, double *times,
                               struct membw *mb, double *bw_gbps)
{
    int next = 0;
    double fastest = INFINITY;
    for (int i = 0; i < (copies > 3 ? copies : 3); i++) {
        double t0 = bench_now();
        bench_call_run(c, next);
        double dt = bench_now() - t0;
        fastest = dt < fastest ? dt : fastest;
        next = (next + 1) % copies;
    }
    int batch = 1;
    if (fastest < 1e-3)
        batch = fastest > 1e-8 ? (int)ceil(1e-3 / fastest) : 100000;
    double *bw = times + reps;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = bench_now();
        for (int j = 0; j < batch; j++) {
            bench_call_run(c, next);
            next = (next + 1) % copies;
        }
        times[rep] = (bench_now() - t0) / batch;
        if (mb)
            bw[rep] = membw_pass(mb, NULL);
    }
    if (mb)
        *bw_gbps = bench_median(bw, reps);
    return bench_median(times, reps);
}

/* Whether set (as given, not resolved) has its own kernel for op other than
 * a matvec. */
static bool bench_op_own(const struct plumb_kernels *set, enum bench_op op)
{
    switch (op) {
    case BENCH_OP_RMSNORM:
        return set->rmsnorm;
    case BENCH_OP_ROPE:
        return set->rope;
    case BENCH_OP_ATTENTION:
        return set->attention;
    case BENCH_OP_SOFTMAX:
        return set->softmax;
    case BENCH_OP_SILU_MUL:
        return set->silu_mul;
    case BENCH_OP_ADD:
        return set->add;
    default:
        return false;
    }
}

/* Copies of `bytes` whose total reaches `span`: at least 1. */
static int bench_copies(size_t bytes, size_t span)
{
    size_t n = bytes ? (span + bytes - 1) / bytes : 1;
    return n < 1 ? 1 : n > 1000000 ? 1000000 : (int)n;
}

static bool bench_shape_ok(const struct bench_shape *s, struct plumb_err *err)
{
    const int64_t lim = (int64_t)1 << 24;
    const int64_t v[] = {s->rows, s->cols, s->n_heads, s->n_kv_heads, s->head_dim, s->n_kv};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] < 1 || v[i] > lim) {
            err_set(err, "ops shape: every size must be 1 to %lld (found %lld)", (long long)lim,
                    (long long)v[i]);
            return false;
        }
    if (s->n_heads % s->n_kv_heads != 0 || s->head_dim % 2 != 0) {
        err_set(err, "ops shape: %lld heads over %lld kv heads of dim %lld: heads must be a "
                "multiple of kv heads, the dim even", (long long)s->n_heads,
                (long long)s->n_kv_heads, (long long)s->head_dim);
        return false;
    }
    if (s->n_heads * s->head_dim > lim || s->n_kv * s->n_kv_heads * s->head_dim > ((int64_t)1 << 30) ||
        s->n_heads * s->n_kv > lim) {
        err_set(err, "ops shape: the attention's %lld heads x %lld positions x %lld dims is too large",
                (long long)s->n_heads, (long long)s->n_kv, (long long)s->head_dim);
        return false;
    }
    return true;
}

/* The matvec line of one type: build, copy, time, free. */
static int bench_ops_matvec(struct bench_call *c, int type, size_t rotate, uint64_t seed, int reps,
                            double *times, struct membw *mb, struct bench_op_line *l,
                            struct plumb_err *err)
{
    const struct bench_shape *s = c->s;
    size_t row_size;
    void *one = bench_matrix_new(c->pool, type, s->rows, s->cols, seed, &row_size, err);
    if (!one)
        return -1;
    size_t stride = bench_round_up((size_t)s->rows * row_size, 4096);
    int copies = stride ? bench_copies(stride, rotate) : 1;
    if (stride == 0 || (size_t)copies > SIZE_MAX / stride) {
        free(one);
        return err_set(err, "type %s: %d copies of the matrix do not fit in memory",
                       dtype_name(type), copies);
    }
    void *all = NULL;
    c->w = calloc((size_t)copies, sizeof *c->w);
    if (!c->w || posix_memalign(&all, 4096, (size_t)copies * stride) != 0) {
        free(one);
        free(c->w);
        c->w = NULL;
        return err_set(err, "type %s: out of memory for %d copies of a %zu-byte matrix",
                       dtype_name(type), copies, stride);
    }
    for (int i = 0; i < copies; i++) {
        char *p = (char *)all + (size_t)i * stride;
        memcpy(p, one, (size_t)s->rows * row_size); /* every page of every copy written */
        c->w[i] = (struct model_weight){.name = "bench", .data = p, .type = type, .n = s->cols,
                                        .n_rows = s->rows, .row_size = row_size};
    }
    free(one);
    c->op = BENCH_OP_MATVEC;
    l->op = BENCH_OP_MATVEC;
    l->type = type;
    l->copies = copies;
    l->seconds = bench_time_calls(c, copies, reps, times, mb, &l->bw_gbps);
    free(all);
    free(c->w);
    c->w = NULL;
    return 0;
}

int bench_ops(const struct bench_ops_options *o, struct bench_ops_result *r, struct plumb_err *err)
{
    memset(r, 0, sizeof *r);
    const struct plumb_kernels *raw = o->kernels ? o->kernels : kernels_scalar();
    struct plumb_kernels k;
    if (kernels_resolve(raw, &k, err) != 0)
        return -1;
    struct bench_shape s = o->shape;
    s.rows = s.rows ? s.rows : 14336;
    s.cols = s.cols ? s.cols : 4096;
    s.n_heads = s.n_heads ? s.n_heads : 32;
    s.n_kv_heads = s.n_kv_heads ? s.n_kv_heads : 8;
    s.head_dim = s.head_dim ? s.head_dim : 128;
    s.n_kv = s.n_kv ? s.n_kv : 512;
    if (!bench_shape_ok(&s, err))
        return -1;
    unsigned ops = o->ops ? o->ops : (1u << BENCH_OP_COUNT) - 1;
    const int *types = o->types ? o->types : bench_ops_types;
    int n_types = o->types ? o->n_types : bench_ops_n_types;
    if (n_types < 0 || n_types + BENCH_OP_COUNT > BENCH_OPS_MAX_LINES)
        return err_set(err, "ops: %d types given, at most %d", n_types,
                       BENCH_OPS_MAX_LINES - BENCH_OP_COUNT);
    if (ops & (1u << BENCH_OP_MATVEC))
        for (int i = 0; i < n_types; i++) {
            size_t rs;
            if (!dtype_traits(types[i]) || !dtype_can_quantize(types[i]) || !k.matmul[types[i]])
                return err_set(err, "type %s: plumb has no %s for it", dtype_name(types[i]),
                               dtype_traits(types[i]) && dtype_can_quantize(types[i])
                                   ? "matrix product" : "quantizer");
            if (!dtype_row_size(types[i], s.cols, &rs))
                return err_set(err, "type %s: a row of %lld is not a whole number of its %lld-element "
                               "blocks", dtype_name(types[i]), (long long)s.cols,
                               (long long)dtype_traits(types[i])->blck_size);
        }
    int reps = o->reps > 0 ? o->reps : 20;
    int threads = o->threads > 0 ? o->threads : 1;
    r->shape = s;
    r->reps = reps;
    r->threads = threads;
    r->llc_bytes = membw_llc_bytes();
    size_t rotate = o->rotate_bytes;
    if (rotate == 0) {
        rotate = (size_t)256 << 20;
        if (r->llc_bytes <= SIZE_MAX / 4 && 4 * r->llc_bytes > rotate)
            rotate = 4 * r->llc_bytes;
    }
    r->rotate_bytes = rotate;

    struct pool pool;
    struct membw mb;
    struct bench_call c;
    memset(&mb, 0, sizeof mb);
    memset(&c, 0, sizeof c);
    double *times = NULL;
    float *scratch = NULL;
    int rc = -1;
    if (pool_init(&pool, threads, err) != 0)
        return -1;
    if (membw_init(&mb, &pool, o->bw_bytes, MEMBW_LOADS_BEST, err) != 0)
        goto done;
    membw_passes(&mb, 0, &r->bw);

    int64_t q_dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
    int64_t width = s.rows > s.cols ? s.rows : s.cols;
    if (q_dim > width)
        width = q_dim;
    if (s.n_heads * s.n_kv > width)
        width = s.n_heads * s.n_kv;
    int64_t scratch_len = s.cols > s.n_kv ? s.cols : s.n_kv;
    c.pool = &pool;
    c.k = &k;
    c.s = &s;
    c.x = malloc((size_t)width * sizeof(float));
    c.y = malloc((size_t)width * sizeof(float));
    c.z = malloc((size_t)width * sizeof(float));
    c.out = malloc((size_t)width * sizeof(float));
    c.norm = malloc((size_t)s.cols * sizeof(float));
    c.cos_t = malloc((size_t)(s.head_dim / 2) * sizeof(float));
    c.sin_t = malloc((size_t)(s.head_dim / 2) * sizeof(float));
    scratch = calloc((size_t)threads * (size_t)scratch_len, sizeof(float));
    times = calloc(2 * (size_t)reps, sizeof *times); /* call times, then bandwidth passes */
    if (!c.x || !c.y || !c.z || !c.out || !c.norm || !c.cos_t || !c.sin_t || !scratch || !times) {
        err_set(err, "ops: out of memory");
        goto done;
    }
    bench_fill(c.x, width, o->seed + 1);
    bench_fill(c.y, width, o->seed + 2);
    bench_fill(c.z, width, o->seed + 3);
    bench_fill(c.norm, s.cols, o->seed + 4);
    for (int64_t i = 0; i < s.head_dim / 2; i++) { /* a rotation: cos^2 + sin^2 ~ 1 */
        double a = 0.001 * (double)(i + 1);
        c.cos_t[i] = (float)cos(a);
        c.sin_t[i] = (float)sin(a);
    }
    c.mm = (struct forward_matmul_job){.k = &k, .out = c.out, .x = c.x, .n_tok = 1,
                                       .scratch = scratch, .scratch_len = scratch_len};

    if (ops & (1u << BENCH_OP_MATVEC))
        for (int i = 0; i < n_types; i++) {
            struct bench_op_line *l = &r->lines[r->n_lines];
            if (bench_ops_matvec(&c, types[i], rotate, o->seed + 100 + (uint64_t)types[i], reps,
                                 times, &mb, l, err) != 0)
                goto done;
            l->from_scalar = !raw->matmul[types[i]];
            l->flops = bench_op_flops(BENCH_OP_MATVEC, &s);
            l->bytes = bench_op_bytes(BENCH_OP_MATVEC, types[i], &s);
            bench_rates(l, l->bw_gbps);
            r->n_lines++;
        }

    for (int op = BENCH_OP_MATVEC + 1; op < BENCH_OP_COUNT; op++) {
        if (!(ops & (1u << op)))
            continue;
        struct bench_op_line *l = &r->lines[r->n_lines];
        l->op = (enum bench_op)op;
        l->type = -1;
        l->copies = 1;
        l->bw_gbps = r->bw.gbps; /* cache-resident: the run's figure */
        c.op = (enum bench_op)op;
        if (op == BENCH_OP_ATTENTION) {
            /* one query at the last of n_kv positions; the cache of a layer
             * rotated like the matrices, as each layer has its own */
            c.kv_stride = 2 * s.n_kv * kv_dim;
            size_t bytes = (size_t)c.kv_stride * sizeof(float);
            l->copies = bench_copies(bytes, rotate);
            c.kv = malloc((size_t)l->copies * bytes);
            if (!c.kv) {
                err_set(err, "attention: out of memory for %d copies of a %zu-byte KV cache",
                        l->copies, bytes);
                goto done;
            }
            bench_fill(c.kv, c.kv_stride, o->seed + 5);
            for (int cp = 1; cp < l->copies; cp++) /* every page of every copy written */
                memcpy(c.kv + cp * c.kv_stride, c.kv, bytes);
            c.att = (struct forward_attention_job){
                .k = &k, .out = c.out, .q = c.y, .pos0 = s.n_kv - 1, .n_tok = 1,
                .n_heads = s.n_heads, .n_kv_heads = s.n_kv_heads, .head_dim = s.head_dim,
                .scratch = scratch, .scratch_len = scratch_len};
        }
        l->seconds = bench_time_calls(&c, l->copies, reps, times,
                                      op == BENCH_OP_ATTENTION ? &mb : NULL, &l->bw_gbps);
        free(c.kv);
        c.kv = NULL;
        l->from_scalar = !bench_op_own(raw, l->op);
        l->flops = bench_op_flops(l->op, &s);
        l->bytes = bench_op_bytes(l->op, -1, &s);
        bench_rates(l, l->bw_gbps);
        r->n_lines++;
    }
    rc = 0;
done:
    free(scratch);
    free(c.x);
    free(c.y);
    free(c.z);
    free(c.out);
    free(c.norm);
    free(c.cos_t);
    free(c.sin_t);
    free(times);
    membw_free(&mb);
    pool_free(&pool);
    return rc;
}
