/*
 * test_vnni.c: the `avx512-vnni` kernel set (engine/kernels/avx512_vnni.c).
 *
 * What is pinned here (every test skips on a CPU without AVX-512 VNNI):
 * - its activation rounding gives the ggml set's values: the q8_0/q8_1
 *   numbers of ggml_ref_quantize_q8_1 (d, s, quants) and the q8_K bytes of
 *   quants_quant_q8_k, on ordinary rows, zero blocks, ties for the largest
 *   magnitude and blocks with an infinity;
 * - each of its 8 integer matrix products is the ggml set's product with the
 *   float sums reordered: within a float-summation bound of it, while both
 *   differ from the unrounded scalar product by far more than that bound;
 * - results are bit-identical however tokens are batched and rows split
 *   (the thread-count determinism the engine relies on);
 * - it reads no byte past the weight matrix: the matrix ends at a page
 *   followed by an inaccessible one;
 * - its float operations and f32/f16/bf16 products are avx512's.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu.h"
#include "dtype.h"
#include "helpers.h"
#include "ggml_ref.h"
#include "kernels_registry.h"
#include "scalar.h"
#include "quants.h"
#if defined(__x86_64__)
#include "avx512.h"
#include "avx512_vnni.h"
#endif

/* Criterion's assertion macros trip -Wconversion (see test_quants.c). */
#pragma GCC diagnostic ignored "-Wconversion"

TestSuite(vnni, .timeout = 60);

#if defined(__x86_64__)

static void need_vnni(void)
{
    if (!cpu_has_avx512_vnni())
        cr_skip_test("this CPU lacks AVX-512 VNNI");
}

static float f16_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return dtype_fp16_to_fp32(h);
}

/* A row whose blocks span many magnitudes, with a zero block and a block
 * whose largest magnitude occurs twice with opposite signs. */
static void act_row(float *x, int n, uint64_t seed)
{
    uint64_t rng = seed;
    for (int i = 0; i < n; i++)
        x[i] = test_bell(&rng) * ldexpf(1.0f, (i / 32) % 13 - 6);
    for (int i = 64; i < 96; i++)
        x[i] = 0.0f;
    x[300] = 1000.0f;
    x[301] = -1000.0f; /* block 9's amax twice; q8_K block 1: the first one wins */
}

/* The layout avx512_vnni.h states for a rounded token's quants. */
static int legacy_at(int type, int nb, int b, int e)
{
    if (type == PLUMB_TYPE_Q8_0 || b >= nb / 4 * 4)
        return 32 * b + e;
    return 128 * (b / 4) + 64 * (e / 16) + 16 * (b % 4) + e % 16;
}

Test(vnni, legacy_rounding_gives_the_ggml_sets_values)
{
    need_vnni();
    enum { N = 32 * 43 }; /* 10 units of four blocks and 3 blocks after them */
    static const int types[] = {PLUMB_TYPE_Q4_0, PLUMB_TYPE_Q4_1, PLUMB_TYPE_Q5_0, PLUMB_TYPE_Q5_1,
                                PLUMB_TYPE_Q8_0};
    static const float offset[] = {8, 0, 16, 0, 128};
    static float x[N];
    static uint8_t ref[N / 32 * 36];
    static float got[N / 32 * 2 + N / 4];
    for (int ti = 0; ti < 5; ti++)
        for (uint64_t seed = 1; seed <= 4; seed++) {
            act_row(x, N, seed);
            if (seed == 4)
                x[700] = INFINITY; /* block 21 goes through the reference code */
            ggml_ref_quantize_q8_1(x, ref, N);
            avx512_vnni_act_legacy(x, got, N, types[ti]);
            const float *d = got, *s = got + N / 32;
            const int8_t *q = (const int8_t *)(got + 2 * (N / 32));
            for (int b = 0; b < N / 32; b++) {
                const uint8_t *blk = ref + 36 * b;
                const int8_t *qref = (const int8_t *)(blk + 4);
                float dref = f16_at(blk);
                cr_assert(eq(int, memcmp(&d[b], &dref, 4), 0), "type %d seed %llu block %d: d %g, ggml %g",
                          types[ti], (unsigned long long)seed, b, d[b], dref);
                int sum = 0;
                for (int e = 0; e < 32; e++) {
                    sum += qref[e];
                    cr_assert(eq(i8, q[legacy_at(types[ti], N / 32, b, e)], qref[e]),
                              "type %d seed %llu block %d element %d", types[ti], (unsigned long long)seed, b, e);
                }
                float sref = offset[ti] != 0 ? -offset[ti] * dref * (float)sum : f16_at(blk + 2);
                cr_assert(eq(int, memcmp(&s[b], &sref, 4), 0), "type %d seed %llu block %d: s %g, want %g",
                          types[ti], (unsigned long long)seed, b, s[b], sref);
            }
        }
    /* not vacuous: the row has nonzero scales and a zero block */
    act_row(x, N, 1);
    avx512_vnni_act_legacy(x, got, N, PLUMB_TYPE_Q4_0);
    cr_assert(eq(flt, got[2], 0.0f));
    cr_assert(gt(flt, got[9], 7.8f)); /* 1000 / 127, fp16-rounded */
}

Test(vnni, q8_k_rounding_gives_quants_quant_q8_k_bytes)
{
    need_vnni();
    enum { N = 256 * 6 };
    static float x[N];
    static uint8_t ref[N / 256 * 292], got[N / 256 * 292];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        act_row(x, N, seed);
        for (int i = 512; i < 768; i++)
            x[i] = 0.0f; /* a whole zero block */
        if (seed == 3)
            x[1000] = -INFINITY;
        if (seed == 4)
            x[1100] = NAN;
        quants_quant_q8_k(x, ref, N);
        memset(got, 0x5a, sizeof got);
        avx512_vnni_act_q8_k(x, got, N);
        for (int b = 0; b < N / 256; b++)
            cr_assert(eq(int, memcmp(got + 292 * b, ref + 292 * b, 292), 0), "seed %llu: block %d differs",
                      (unsigned long long)seed, b);
    }
    /* the tie: block 1 holds +1000 then -1000; scaled by the first, it is -127 */
    act_row(x, N, 1);
    avx512_vnni_act_q8_k(x, got, N);
    cr_assert(eq(i8, (int8_t)got[292 + 4 + 300 - 256], -127));
    cr_assert(eq(i8, (int8_t)got[292 + 4 + 301 - 256], 127));
}

struct vn_case {
    int type;
    int n;
};

/* Row lengths for the 32-element formats: 37 blocks (two groups of 16, a
 * unit of four in the third, one block left), 39 (three left: a pair and a
 * lone block), 3 (no unit at all); several super-blocks for the K formats. */
static const struct vn_case vn_cases[] = {
    {PLUMB_TYPE_Q4_0, 32 * 37}, {PLUMB_TYPE_Q4_1, 32 * 37}, {PLUMB_TYPE_Q5_0, 32 * 37},
    {PLUMB_TYPE_Q5_1, 32 * 37}, {PLUMB_TYPE_Q8_0, 32 * 37}, {PLUMB_TYPE_Q4_0, 32 * 39},
    {PLUMB_TYPE_Q4_1, 32 * 39}, {PLUMB_TYPE_Q5_0, 32 * 39}, {PLUMB_TYPE_Q5_1, 32 * 39},
    {PLUMB_TYPE_Q8_0, 32 * 39}, {PLUMB_TYPE_Q5_0, 32 * 3},  {PLUMB_TYPE_Q4_1, 32 * 3},
    {PLUMB_TYPE_Q4_K, 256 * 5}, {PLUMB_TYPE_Q5_K, 256 * 5}, {PLUMB_TYPE_Q6_K, 256 * 5},
};

enum { VN_ROWS = 13, VN_TOK = 5, VN_NMAX = 32 * 40 };

static void vn_weights(int type, int n, uint64_t seed, uint8_t *wq, float *w)
{
    uint64_t rng = seed;
    for (int i = 0; i < VN_ROWS * n; i++)
        w[i] = test_bell(&rng) * (1.0f + (float)(i / 32 % 5)); /* scales vary per block */
    dtype_traits(type)->from_float(w, wq, VN_ROWS * n);
}

Test(vnni, matmul_is_the_ggml_sets_product_summed_in_another_order)
{
    need_vnni();
    const struct plumb_kernels *v = kernels_avx512_vnni(), *g = kernels_ggml_ref();
    struct plumb_kernels s;
    cr_assert(eq(int, kernels_resolve(kernels_scalar(), &s, NULL), 0));
    for (size_t ci = 0; ci < sizeof vn_cases / sizeof vn_cases[0]; ci++) {
        const int type = vn_cases[ci].type, n = vn_cases[ci].n;
        const struct dtype_traits *tr = dtype_traits(type);
        size_t row_size;
        cr_assert(dtype_row_size(type, n, &row_size));
        static float w[VN_ROWS * VN_NMAX], wd[VN_ROWS * VN_NMAX], x[VN_TOK * VN_NMAX], scratch[VN_NMAX];
        static uint8_t wq[VN_ROWS * VN_NMAX * 2];
        static float got[VN_TOK * VN_ROWS], ggml[VN_TOK * VN_ROWS], exact[VN_TOK * VN_ROWS];
        vn_weights(type, n, 500 + ci, wq, w);
        tr->to_float(wq, wd, VN_ROWS * n);
        uint64_t rng = 900 + ci;
        for (int i = 0; i < VN_TOK * n; i++)
            x[i] = test_bell(&rng) * (i % 97 == 0 ? 8.0f : 1.0f);
        v->matmul[type](got, VN_ROWS, wq, row_size, x, n, VN_TOK, 0, VN_ROWS, scratch);
        g->matmul[type](ggml, VN_ROWS, wq, row_size, x, n, VN_TOK, 0, VN_ROWS, scratch);
        s.matmul[type](exact, VN_ROWS, wq, row_size, x, n, VN_TOK, 0, VN_ROWS, scratch);
        double worst = 0.0, worst_bound = 1.0;
        int moved = 0;
        for (int t = 0; t < VN_TOK; t++)
            for (int r = 0; r < VN_ROWS; r++) {
                /* each block term is bounded by 3 * max|w| of its block * |x|
                 * (scale part + offset part); both sets round ~n/32 * 8
                 * such terms a few times over */
                double mag = 0.0;
                for (int i = 0; i < n; i++) {
                    double bmax = 0.0;
                    for (int j = i / 32 * 32; j < i / 32 * 32 + 32; j++)
                        bmax = fmax(bmax, fabs(wd[r * n + j]));
                    mag += 3.0 * bmax * fabs(x[t * n + i]) * 1.01;
                }
                double bound = (double)(n / 32 * 8 + 32) * 0x1p-24 * mag;
                double err = fabs((double)got[t * VN_ROWS + r] - ggml[t * VN_ROWS + r]);
                if (err / bound > worst / worst_bound) {
                    worst = err;
                    worst_bound = bound;
                }
                moved += fabs((double)ggml[t * VN_ROWS + r] - exact[t * VN_ROWS + r]) > bound;
            }
        cr_assert(le(dbl, worst, worst_bound), "%s: %g from the ggml set, bound %g", tr->name, worst,
                  worst_bound);
        /* not vacuous: rounding the activations moves most products by more
         * than the bound */
        cr_assert(ge(int, 2 * moved, VN_TOK * VN_ROWS), "%s: only %d of %d products moved",
                  tr->name, moved, VN_TOK * VN_ROWS);
    }
}

Test(vnni, results_do_not_depend_on_batching_or_row_split)
{
    need_vnni();
    const struct plumb_kernels *v = kernels_avx512_vnni();
    for (size_t ci = 0; ci < sizeof vn_cases / sizeof vn_cases[0]; ci++) {
        const int type = vn_cases[ci].type, n = vn_cases[ci].n;
        size_t row_size;
        cr_assert(dtype_row_size(type, n, &row_size));
        static float w[VN_ROWS * VN_NMAX], x[VN_TOK * VN_NMAX], scratch[VN_NMAX];
        static float all[VN_TOK * VN_ROWS], one[VN_TOK * VN_ROWS];
        static uint8_t wq[VN_ROWS * VN_NMAX * 2];
        vn_weights(type, n, 70 + ci, wq, w);
        uint64_t rng = 80 + ci;
        for (int i = 0; i < VN_TOK * n; i++)
            x[i] = test_bell(&rng);
        v->matmul[type](all, VN_ROWS, wq, row_size, x, n, VN_TOK, 0, VN_ROWS, scratch);
        /* one token at a time, rows in ranges that cut tiles of 4 apart */
        static const int cuts[] = {0, 1, 6, 11, VN_ROWS};
        memset(one, 0, sizeof one);
        for (int t = 0; t < VN_TOK; t++)
            for (int c = 0; c < 4; c++)
                v->matmul[type](one + t * VN_ROWS, VN_ROWS, wq, row_size, x + t * n, n, 1, cuts[c],
                                cuts[c + 1], scratch);
        cr_assert(eq(int, memcmp(all, one, sizeof all), 0), "%s: batched and split differ",
                  dtype_traits(type)->name);
    }
}

Test(vnni, reads_nothing_past_the_weight_matrix)
{
    need_vnni();
    const struct plumb_kernels *v = kernels_avx512_vnni();
    const long page = sysconf(_SC_PAGESIZE);
    static float w[VN_ROWS * VN_NMAX], x[VN_NMAX], scratch[VN_NMAX], out[VN_ROWS];
    static uint8_t wq[VN_ROWS * VN_NMAX * 2];
    for (size_t ci = 0; ci < sizeof vn_cases / sizeof vn_cases[0]; ci++) {
        const int type = vn_cases[ci].type, n = vn_cases[ci].n;
        size_t row_size;
        cr_assert(dtype_row_size(type, n, &row_size));
        const size_t bytes = VN_ROWS * row_size;
        const size_t span = (bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
        uint8_t *map = mmap(NULL, span + (size_t)page, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        cr_assert(not(eq(ptr, map, MAP_FAILED)));
        cr_assert(eq(int, mprotect(map + span, (size_t)page, PROT_NONE), 0));
        uint8_t *end_aligned = map + span - bytes; /* the last byte touches the guard page */
        vn_weights(type, n, 40 + ci, wq, w);
        memcpy(end_aligned, wq, bytes);
        uint64_t rng = 3;
        for (int i = 0; i < n; i++)
            x[i] = test_bell(&rng);
        v->matmul[type](out, 1, end_aligned, row_size, x, n, 1, 0, VN_ROWS, scratch);
        cr_assert(isfinite(out[VN_ROWS - 1]), "%s: last row %g", dtype_traits(type)->name,
                  out[VN_ROWS - 1]);
        munmap(map, span + (size_t)page);
    }
}

Test(vnni, float_work_is_the_avx512_sets)
{
    need_vnni();
    const struct plumb_kernels *v = kernels_avx512_vnni(), *a = kernels_avx512();
    cr_assert(eq(str, (char *)v->name, "avx512-vnni"));
    cr_assert(eq(int, v->accuracy, PLUMB_ACCURACY_QUANTIZED));
    cr_assert(eq(ptr, (void *)v->matmul[PLUMB_TYPE_F32], (void *)a->matmul[PLUMB_TYPE_F32]));
    cr_assert(eq(ptr, (void *)v->matmul[PLUMB_TYPE_F16], (void *)a->matmul[PLUMB_TYPE_F16]));
    cr_assert(eq(ptr, (void *)v->attention, (void *)a->attention));
    cr_assert(eq(ptr, (void *)v->rmsnorm, (void *)a->rmsnorm));
    cr_assert(not(eq(ptr, (void *)v->matmul[PLUMB_TYPE_Q4_0], (void *)a->matmul[PLUMB_TYPE_Q4_0])));
    /* named, never picked by auto, hidden with avx512 */
    cr_assert(eq(ptr, (void *)kernels_get("avx512-vnni", NULL), (void *)v));
    cr_assert(not(eq(ptr, (void *)kernels_get("auto", NULL), (void *)v)));
    setenv("PLUMB_KERNELS_DISABLE", "avx512", 1);
    struct plumb_err err = {{0}};
    cr_assert(eq(ptr, (void *)kernels_get("avx512-vnni", &err), NULL));
    cr_assert(not(eq(ptr, strstr(err.msg, "PLUMB_KERNELS_DISABLE hides"), NULL)), "%s", err.msg);
    unsetenv("PLUMB_KERNELS_DISABLE");
}

#else

Test(vnni, x86_64_only)
{
    cr_skip_test("avx512-vnni is built for x86-64 only");
}

#endif
