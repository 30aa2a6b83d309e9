/*
 * test_forward.c: the scalar kernels on hand-computed cases, and the whole
 * forward pass on every shipped fixture: against an independent
 * double-precision implementation written here, bit-identical across
 * batching and thread counts, and every bad input refused with its reason.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "dump.h"
#include "forward.h"
#include "gen.h"
#include "helpers.h"
#include "model.h"
#include "scalar.h"
#include "spec.h"

TestSuite(kernels, .timeout = 30);
TestSuite(forward, .timeout = 120);

/* ---- scalar kernels, hand-computed ---- */

Test(kernels, dot_is_sequential_float_sum)
{
    /* 1e8 + 1 - 1e8 in float order: (1e8*1 + 1*1) rounds to 1e8, minus 1e8 = 0;
     * a pairwise or double sum would give 1. The spec is the sequential one. */
    float a[3] = {1e8f, 1.0f, -1e8f}, b[3] = {1.0f, 1.0f, 1.0f};
    cr_assert(eq(flt, scalar_dot(a, b, 3), 0.0f));
    float c[4] = {1.5f, -2.0f, 0.25f, 4.0f}, d[4] = {2.0f, 0.5f, 8.0f, -1.0f};
    cr_assert(eq(flt, scalar_dot(c, d, 4), 3.0f - 1.0f + 2.0f - 4.0f));
}

Test(kernels, rmsnorm_scales_by_inverse_root_mean_square)
{
    /* x = (1,2,3,4): mean of squares 7.5; with eps 0.5 the scale is 1/sqrt(8) */
    float x[4] = {1, 2, 3, 4}, w[4] = {1, 2, 0.5f, -1}, out[4];
    scalar_rmsnorm(out, x, w, 4, 0.5f);
    float s = 1.0f / sqrtf(8.0f); /* 0.35355339..., correctly rounded */
    cr_assert(eq(flt, s, 0.353553385f));
    float want[4] = {1 * s * 1, 2 * s * 2, 3 * s * 0.5f, 4 * s * -1};
    for (int i = 0; i < 4; i++)
        cr_assert(eq(flt, out[i], want[i]), "i=%d", i);
}

Test(kernels, rope_rotates_adjacent_pairs)
{
    /* two heads of dim 4: pair 0 by 90 degrees, pair 1 by 0 */
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float c[2] = {0, 1}, s[2] = {1, 0};
    scalar_rope(x, 2, 4, c, s);
    float want[8] = {-2, 1, 3, 4, -6, 5, 7, 8};
    for (int i = 0; i < 8; i++)
        cr_assert(eq(flt, x[i], want[i]), "i=%d", i);
}

Test(kernels, softmax_of_logs_gives_proportions)
{
    /* exp(ln k) / sum is k / 10 for k = 1..4, to within an ulp or two */
    float x[4] = {0.0f, 0.693147181f, 1.09861229f, 1.38629436f};
    scalar_softmax(x, 4);
    for (int i = 0; i < 4; i++)
        cr_assert(epsilon_eq(flt, x[i], (float)(i + 1) / 10.0f, 3e-7f), "i=%d: %.9g", i, (double)x[i]);
    float y[3] = {-INFINITY, 5.0f, 5.0f}; /* a masked entry and a tie */
    scalar_softmax(y, 3);
    cr_assert(eq(flt, y[0], 0.0f));
    cr_assert(eq(flt, y[1], 0.5f));
    cr_assert(eq(flt, y[2], 0.5f));
}

Test(kernels, attention_maps_query_heads_to_their_kv_group)
{
    /* 4 query heads, 2 kv heads, head dim 2, 2 cached positions. Keys are
     * zero so every score is 0 and attention averages the values. */
    float q[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    float k[8] = {0};
    float v[8] = {/* pos 0 */ 1, 2, 10, 20, /* pos 1 */ 3, 4, 30, 40};
    float out[8], att[2];
    scalar_attention(out, q, k, v, 2, 4, 2, 2, 0, 4, 0.5f, att);
    float want[8] = {2, 3, 2, 3, 20, 30, 20, 30};
    for (int i = 0; i < 8; i++)
        cr_assert(eq(flt, out[i], want[i]), "i=%d", i);
    /* one position: the output is that position's value, whatever the score */
    float q1[2] = {3, -7}, k1[2] = {0.5f, 2}, v1[2] = {-1.25f, 9};
    scalar_attention(out, q1, k1, v1, 1, 1, 1, 2, 0, 1, 0.7f, att);
    cr_assert(eq(flt, out[0], -1.25f));
    cr_assert(eq(flt, out[1], 9.0f));
}

Test(kernels, silu_mul_matches_definition)
{
    float g[3] = {0.0f, 20.0f, -1.0f}, u[3] = {5.0f, 2.0f, 1.0f}, out[3];
    scalar_silu_mul(out, g, u, 3);
    cr_assert(eq(flt, out[0], 0.0f));
    cr_assert(epsilon_eq(flt, out[1], 40.0f, 1e-5f)); /* silu(20) = 20/(1+e^-20) */
    cr_assert(epsilon_eq(flt, out[2], -0.268941421f, 1e-7f)); /* -1/(1+e) */
}

Test(kernels, matmul_dequantizes_rows_and_handles_batches)
{
    /* W (2 rows, 32) in q8_0 with d = 0.5: row 0 all q=2 (value 1), row 1 q=i-16 */
    uint8_t w[2][34];
    for (int r = 0; r < 2; r++) {
        uint16_t d = dtype_fp32_to_fp16(0.5f);
        memcpy(w[r], &d, 2);
        for (int i = 0; i < 32; i++)
            w[r][2 + i] = (uint8_t)(int8_t)(r == 0 ? 2 : i - 16);
    }
    float x[64], out[4], scratch[32];
    for (int i = 0; i < 32; i++) {
        x[i] = 1.0f;          /* token 0 */
        x[32 + i] = (float)i; /* token 1 */
    }
    scalar_matmul(out, 2, w, 34, x, 32, 2, 0, 2, scratch, PLUMB_TYPE_Q8_0);
    cr_assert(eq(flt, out[0], 32.0f));                  /* sum of 1 */
    cr_assert(eq(flt, out[1], -8.0f));                  /* sum (i-16)/2 = -16/2 */
    cr_assert(eq(flt, out[2], 496.0f));                 /* sum i */
    cr_assert(eq(flt, out[3], 0.5f * (10416 - 16 * 496))); /* sum i(i-16)/2 */
}

/* ---- whole model ---- */

static char *fixture_path(const char *dir, const char *name)
{
    char spec_path[256], *out = malloc(512);
    snprintf(spec_path, sizeof spec_path, "fixtures/%s.yaml", name);
    snprintf(out, 512, "%s/%s.gguf", dir, name);
    struct spec s = {0};
    struct plumb_err err = {{0}};
    cr_assert(eq(int, spec_load(&s, spec_path, &err), 0), "%s", err.msg);
    cr_assert(eq(int, gen_write_file(&s, out, 2, &err), 0), "%s", err.msg);
    spec_free(&s);
    return out;
}

/* Evaluate tokens in chunks of `chunk` (0 = all at once) with n_threads; capture taps. */
static void run_capture(const struct model *m, const int32_t *tokens, int64_t n, int64_t chunk,
                        int n_threads, struct dump *d)
{
    struct forward f;
    struct plumb_err err = {{0}};
    /* a cache longer than the fixtures' 32-token context, so runs can cross
     * the 32-token micro-batch edge */
    cr_assert(eq(int, forward_init(&f, m, NULL, n_threads, 48, &err), 0), "%s", err.msg);
    dump_init(d);
    forward_set_tap(&f, dump_capture_tap, d);
    if (chunk <= 0)
        chunk = n;
    for (int64_t i = 0; i < n; i += chunk) {
        int64_t c = n - i < chunk ? n - i : chunk;
        cr_assert(eq(int, forward_eval(&f, tokens + i, c, &err), 0), "%s", err.msg);
    }
    forward_free(&f);
}

static void assert_dumps_identical(const struct dump *a, const struct dump *b, const char *what)
{
    cr_assert(eq(i64, a->n_taps, b->n_taps), "%s", what);
    for (int64_t i = 0; i < a->n_taps; i++) {
        const struct dump_tap *ta = &a->taps[i], *tb = &b->taps[i];
        cr_assert(eq(str, (char *)ta->name, (char *)tb->name), "%s", what);
        cr_assert(eq(i64, ta->n_pos, tb->n_pos), "%s: %s", what, ta->name);
        size_t bytes = (size_t)(ta->width * ta->n_pos) * sizeof(float);
        cr_assert(eq(int, memcmp(ta->data, tb->data, bytes), 0), "%s: tap %s differs", what, ta->name);
    }
}

static const char *const fixture_names[] = {"mha", "gqa", "mqa", "mixed"};

static void make_tokens(int32_t *t, int64_t n, int64_t n_vocab, uint64_t seed)
{
    t[0] = 1; /* BOS */
    for (int64_t i = 1; i < n; i++)
        t[i] = (int32_t)(test_rand(&seed) % (uint64_t)n_vocab);
}

Test(forward, batching_and_threads_never_change_a_bit)
{
    char *dir = make_temp_dir();
    for (size_t fi = 0; fi < sizeof fixture_names / sizeof fixture_names[0]; fi++) {
        char *path = fixture_path(dir, fixture_names[fi]);
        struct model m;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, model_open(&m, path, &err), 0), "%s", err.msg);
        int32_t tokens[45]; /* crosses the 32-token micro-batch edge */
        make_tokens(tokens, 45, m.hp.n_vocab, 99);
        struct dump whole, one_by_one, threaded, odd;
        run_capture(&m, tokens, 45, 0, 1, &whole);
        run_capture(&m, tokens, 45, 1, 1, &one_by_one);
        run_capture(&m, tokens, 45, 0, 3, &threaded);
        run_capture(&m, tokens, 45, 7, 2, &odd);
        assert_dumps_identical(&whole, &one_by_one, fixture_names[fi]);
        assert_dumps_identical(&whole, &threaded, fixture_names[fi]);
        assert_dumps_identical(&whole, &odd, fixture_names[fi]);
        /* the taps llama.cpp users know, in execution order, all positions */
        cr_assert(eq(str, whole.taps[0].name, "inp_embd"));
        cr_assert(eq(str, whole.taps[1].name, "attn_norm-0"));
        cr_assert(eq(str, whole.taps[2].name, "Qcur-0"));
        cr_assert(eq(str, whole.taps[whole.n_taps - 1].name, "result_output"));
        cr_assert(eq(i64, whole.n_taps, 1 + 11 * m.hp.n_layers + 2));
        const struct dump_tap *logits = dump_find(&whole, "result_output");
        cr_assert(eq(i64, logits->n_pos, 45));
        cr_assert(eq(i64, logits->width, m.hp.n_vocab));
        for (int64_t i = 0; i < logits->width * logits->n_pos; i++)
            cr_assert(isfinite(logits->data[i]), "%s: logit %lld not finite", fixture_names[fi], (long long)i);
        dump_free(&whole);
        dump_free(&one_by_one);
        dump_free(&threaded);
        dump_free(&odd);
        model_close(&m);
        free(path);
    }
    rm_tree(dir);
    free(dir);
}

/*
 * An independent forward pass: double precision throughout, libm's exp,
 * sin, cos and pow, weights dequantized with model_weight_row, written as
 * the textbook equations rather than plumb's kernels.
 */
static void oracle_logits(const struct model *m, const int32_t *tokens, int64_t n, double *logits)
{
    const struct llama_hparams *hp = &m->hp;
    int64_t dim = hp->dim, hd = m->head_dim, q_dim = m->q_dim, kv_dim = m->kv_dim, ff = hp->ffn_dim;
    int64_t maxw = dim > ff ? dim : ff;
    if (q_dim > maxw)
        maxw = q_dim;
    float *row = malloc((size_t)maxw * sizeof *row);
    double *x = calloc((size_t)(n * dim), sizeof *x), *xn = calloc((size_t)dim, sizeof *xn);
    double *q = calloc((size_t)(n * q_dim), sizeof *q), *kk = calloc((size_t)(n * kv_dim), sizeof *kk);
    double *vv = calloc((size_t)(n * kv_dim), sizeof *vv), *att = calloc((size_t)q_dim, sizeof *att);
    double *g = calloc((size_t)ff, sizeof *g), *u = calloc((size_t)ff, sizeof *u);
    double *tmp = calloc((size_t)maxw, sizeof *tmp), *sc = calloc((size_t)n, sizeof *sc);

#define MATVEC(out, W, in)                                   \
    for (int64_t r = 0; r < (W).n_rows; r++) {               \
        model_weight_row(&(W), r, row);                      \
        double s = 0;                                        \
        for (int64_t i = 0; i < (W).n; i++)                  \
            s += (double)row[i] * (in)[i];                   \
        (out)[r] = s;                                        \
    }
#define RMSNORM(out, in, w)                                  \
    do {                                                     \
        double ss = 0;                                       \
        for (int64_t i = 0; i < dim; i++)                    \
            ss += (in)[i] * (in)[i];                         \
        double sc_ = 1.0 / sqrt(ss / (double)dim + hp->rms_eps); \
        for (int64_t i = 0; i < dim; i++)                    \
            (out)[i] = (in)[i] * sc_ * (w)[i];               \
    } while (0)

    for (int64_t t = 0; t < n; t++) {
        model_weight_row(&m->token_embd, tokens[t], row);
        for (int64_t i = 0; i < dim; i++)
            x[t * dim + i] = row[i];
    }
    for (int64_t l = 0; l < hp->n_layers; l++) {
        const struct model_layer *L = &m->layers[l];
        for (int64_t t = 0; t < n; t++) {
            RMSNORM(xn, x + t * dim, L->attn_norm);
            MATVEC(q + t * q_dim, L->wq, xn);
            MATVEC(kk + t * kv_dim, L->wk, xn);
            MATVEC(vv + t * kv_dim, L->wv, xn);
            for (int64_t h = 0; h < q_dim / hd + kv_dim / hd; h++) {
                double *v = h < q_dim / hd ? q + t * q_dim + h * hd : kk + t * kv_dim + (h - q_dim / hd) * hd;
                for (int64_t i = 0; i < hd / 2; i++) {
                    double th = (double)t * pow(hp->rope_base, -2.0 * (double)i / (double)hp->n_rot);
                    double a = v[2 * i], b = v[2 * i + 1];
                    v[2 * i] = a * cos(th) - b * sin(th);
                    v[2 * i + 1] = a * sin(th) + b * cos(th);
                }
            }
        }
        for (int64_t t = 0; t < n; t++) {
            for (int64_t h = 0; h < hp->n_heads; h++) {
                int64_t gk = h / (hp->n_heads / hp->n_kv_heads);
                double mx = -INFINITY, sum = 0;
                for (int64_t p = 0; p <= t; p++) {
                    double s = 0;
                    for (int64_t i = 0; i < hd; i++)
                        s += q[t * q_dim + h * hd + i] * kk[p * kv_dim + gk * hd + i];
                    sc[p] = s / sqrt((double)hd);
                    mx = sc[p] > mx ? sc[p] : mx;
                }
                for (int64_t p = 0; p <= t; p++)
                    sum += sc[p] = exp(sc[p] - mx);
                for (int64_t i = 0; i < hd; i++) {
                    double s = 0;
                    for (int64_t p = 0; p <= t; p++)
                        s += sc[p] / sum * vv[p * kv_dim + gk * hd + i];
                    att[h * hd + i] = s;
                }
            }
            MATVEC(tmp, L->wo, att);
            for (int64_t i = 0; i < dim; i++)
                x[t * dim + i] += tmp[i];
            RMSNORM(xn, x + t * dim, L->ffn_norm);
            MATVEC(g, L->w_gate, xn);
            MATVEC(u, L->w_up, xn);
            for (int64_t i = 0; i < ff; i++)
                g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
            MATVEC(tmp, L->w_down, g);
            for (int64_t i = 0; i < dim; i++)
                x[t * dim + i] += tmp[i];
        }
    }
    for (int64_t t = 0; t < n; t++) {
        RMSNORM(xn, x + t * dim, m->output_norm);
        MATVEC(logits + t * hp->n_vocab, m->output, xn);
    }
#undef MATVEC
#undef RMSNORM
    free(row); free(x); free(xn); free(q); free(kk); free(vv); free(att);
    free(g); free(u); free(tmp); free(sc);
}

Test(forward, logits_agree_with_an_independent_double_precision_forward_pass)
{
    char *dir = make_temp_dir();
    for (size_t fi = 0; fi < sizeof fixture_names / sizeof fixture_names[0]; fi++) {
        char *path = fixture_path(dir, fixture_names[fi]);
        struct model m;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, model_open(&m, path, &err), 0), "%s", err.msg);
        enum { N = 20 };
        int32_t tokens[N];
        make_tokens(tokens, N, m.hp.n_vocab, 5 + fi);
        struct dump d;
        run_capture(&m, tokens, N, 0, 1, &d);
        const struct dump_tap *lg = dump_find(&d, "result_output");
        double *want = calloc((size_t)(N * m.hp.n_vocab), sizeof *want);
        oracle_logits(&m, tokens, N, want);
        /* the worst error relative to the largest logit at that position */
        double worst = 0;
        int64_t worst_i = 0;
        for (int64_t t = 0; t < N; t++) {
            double mx = 0;
            for (int64_t v = 0; v < m.hp.n_vocab; v++)
                mx = fmax(mx, fabs(want[t * m.hp.n_vocab + v]));
            for (int64_t v = 0; v < m.hp.n_vocab; v++) {
                int64_t i = t * m.hp.n_vocab + v;
                double e = fabs((double)lg->data[i] - want[i]) / mx;
                if (e > worst) {
                    worst = e;
                    worst_i = i;
                }
            }
        }
        /* float accumulation over rows of at most 256 terms, 2-3 layers */
        cr_assert(lt(dbl, worst, 1e-5), "%s: max rel error %.3g at position %lld token %lld (%d positions)",
                  fixture_names[fi], worst, (long long)(worst_i / m.hp.n_vocab),
                  (long long)(worst_i % m.hp.n_vocab), N);
        free(want);
        dump_free(&d);
        model_close(&m);
        free(path);
    }
    rm_tree(dir);
    free(dir);
}

Test(forward, bad_tokens_and_overlong_prompts_are_refused)
{
    char *dir = make_temp_dir();
    char *path = fixture_path(dir, "mha");
    struct model m;
    struct forward f;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, model_open(&m, path, &err), 0), "%s", err.msg);
    cr_assert(eq(int, forward_init(&f, &m, NULL, 1, 0, &err), 0), "%s", err.msg);
    int32_t bad[2] = {1, 512};
    cr_assert(eq(int, forward_eval(&f, bad, 2, &err), -1));
    cr_assert(not(eq(ptr, strstr(err.msg, "token id 512 (at 1) is out of range 0..511"), NULL)), "%s", err.msg);
    int32_t neg = -1;
    cr_assert(eq(int, forward_eval(&f, &neg, 1, &err), -1));
    int32_t many[33] = {0};
    cr_assert(eq(int, forward_eval(&f, many, 33, &err), -1));
    cr_assert(not(eq(ptr, strstr(err.msg, "exceed the context of 32"), NULL)), "%s", err.msg);
    cr_assert(eq(int, forward_eval(&f, many, 32, &err), 0), "%s", err.msg);
    cr_assert(eq(int, forward_eval(&f, many, 1, &err), -1), "a full cache takes no more");
    forward_free(&f);
    model_close(&m);
    free(path);
    rm_tree(dir);
    free(dir);
}

Test(forward, refuses_a_non_default_rounding_mode)
{
    char *dir = make_temp_dir();
    char *path = fixture_path(dir, "mha");
    struct model m;
    struct forward f;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, model_open(&m, path, &err), 0), "%s", err.msg);
    fesetround(FE_UPWARD);
    int rc = forward_init(&f, &m, NULL, 1, 0, &err);
    fesetround(FE_TONEAREST);
    cr_assert(eq(int, rc, -1));
    cr_assert(not(eq(ptr, strstr(err.msg, "rounding mode"), NULL)), "%s", err.msg);
    forward_free(&f);
    model_close(&m);
    free(path);
    rm_tree(dir);
    free(dir);
}
