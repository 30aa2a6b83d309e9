/*
 * test_kcheck.c: op-level validation of kernel sets (harness/kcheck.c).
 *
 * The scalar set passes its own sweep bit for bit; the example plugins
 * behave as their comments say (good passes, buggy fails exactly its tails,
 * crash/hang/oob are caught and named); and small sets written here each
 * carry one bug that exactly one of kcheck's checks exists for: a write
 * before the buffer, rows outside [r0, r1), a changed input, an element left
 * unwritten, an error the per-element bound sees and NMSE does not. The
 * class bounds are pinned: reordered sums pass simd and fail exact; 8-bit
 * activations pass quantized and fail simd.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcheck.h"
#include "kernels_registry.h"
#include "plugin.h"
#include "scalar.h"

TestSuite(kcheck, .timeout = 120);

#define EXAMPLES PLUMB_BUILD_DIR "/examples/"

/* ---- running a check and keeping its results ---- */

struct results {
    struct kcheck_result *v;
    size_t n, cap;
};

static void results_add(void *ctx, const struct kcheck_result *r)
{
    struct results *rs = ctx;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 256;
        rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
        cr_assert(not(eq(ptr, rs->v, NULL)));
    }
    rs->v[rs->n++] = *r;
}

static struct kcheck_summary check_set(const struct plumb_kernels *set, const char *pattern,
                                       double timeout, struct results *rs)
{
    memset(rs, 0, sizeof *rs);
    struct kcheck_options o = {.set = set, .op_pattern = pattern, .timeout = timeout,
                               .on_result = results_add, .ctx = rs};
    struct kcheck_summary s;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, kcheck_run(&o, &s, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, s.passed + s.failed, (int64_t)rs->n));
    return s;
}

static struct kcheck_summary check_plugin(const char *file, const char *pattern, double timeout,
                                          struct results *rs)
{
    struct plugin p;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, plugin_open(&p, file, &err), 0), "%s", err.msg);
    struct kcheck_summary s = check_set(p.set, pattern, timeout, rs);
    plugin_close(&p);
    return s;
}

/* n of a row-length shape ("n=33 rows=7 ..."), or -1. */
static long shape_n(const struct kcheck_result *r)
{
    long n;
    return sscanf(r->shape, "n=%ld", &n) == 1 ? n : -1;
}

static bool has(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

/* The one line of a result, for assertion messages. */
static const char *line(const struct kcheck_result *r)
{
    static char buf[1024];
    kcheck_format(r, buf, sizeof buf);
    return buf;
}

/* ---- the scalar set and the example plugins ---- */

Test(kcheck, the_scalar_set_passes_its_own_sweep_bit_for_bit)
{
    struct results rs;
    struct kcheck_summary s = check_set(kernels_scalar(), NULL, 0, &rs);
    cr_assert(eq(i64, s.failed, 0));
    cr_assert(gt(i64, s.passed, 400), "%" PRId64 " cases", s.passed);
    const char *ops[] = {"matmul", "rmsnorm", "rope", "softmax", "attention", "silu_mul", "add"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        size_t n = 0;
        for (size_t i = 0; i < rs.n; i++)
            n += !strcmp(rs.v[i].op, ops[k]);
        cr_assert(gt(sz, n, 10), "%s: %zu cases", ops[k], n);
    }
    const char *types[] = {"f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0",
                           "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        size_t n = 0;
        for (size_t i = 0; i < rs.n; i++)
            n += !strcmp(rs.v[i].op, "matmul") && !strcmp(rs.v[i].type, types[k]);
        cr_assert(gt(sz, n, 10), "matmul %s: %zu cases", types[k], n);
    }
    for (size_t i = 0; i < rs.n; i++) {
        cr_assert(eq(str, (char *)rs.v[i].metric, "max_ulp"), "%s", line(&rs.v[i]));
        cr_assert(eq(dbl, rs.v[i].value, 0.0), "%s", line(&rs.v[i]));
        cr_assert(eq(dbl, rs.v[i].max_abs, 0.0), "%s", line(&rs.v[i]));
    }
    free(rs.v);
}

/* The built-in SIMD sets (engine/kernels/) are held to the same sweep. */
Test(kcheck, every_built_in_set_this_cpu_runs_passes_the_sweep)
{
    for (size_t i = 0; i < kernels_count(); i++) {
        if (!kernels_supported(i))
            continue;
        struct results rs;
        struct kcheck_summary s = check_set(kernels_at(i), NULL, 0, &rs);
        for (size_t k = 0; k < rs.n; k++)
            cr_expect(eq(int, rs.v[k].pass, 1), "%s: %s", kernels_at(i)->name, line(&rs.v[k]));
        cr_assert(eq(i64, s.failed, 0), "%s", kernels_at(i)->name);
        free(rs.v);
    }
}

/* kcheck.h: reordering moves a dot product by NMSE ~3e-16 n, 1.2e-12 at
 * n = 4096, so the simd bound 1e-10 leaves ~80x. The good example's worst
 * case must sit there, and every case pass. */
Test(kcheck, the_good_plugin_passes_every_case_well_inside_the_simd_bound)
{
    struct results rs;
    struct kcheck_summary s = check_plugin(EXAMPLES "good_kernels.so", NULL, 0, &rs);
    cr_assert(eq(i64, s.failed, 0));
    cr_assert(gt(i64, s.passed, 60));
    double worst = 0.0;
    for (size_t i = 0; i < rs.n; i++) {
        cr_assert(eq(str, (char *)rs.v[i].op, "matmul"));
        cr_assert(eq(str, (char *)rs.v[i].metric, "NMSE"));
        worst = fmax(worst, rs.v[i].value);
    }
    cr_assert(gt(dbl, worst, 0.0), "the sums are reordered: not every case can be exact");
    cr_assert(lt(dbl, worst, 1e-11), "worst NMSE %g", worst);
    free(rs.v);
}

Test(kcheck, the_buggy_plugin_fails_exactly_the_f32_rows_whose_length_is_not_a_multiple_of_8)
{
    struct results rs;
    struct kcheck_summary s = check_plugin(EXAMPLES "buggy_kernels.so", "matmul", 0, &rs);
    cr_assert(gt(i64, s.failed, 10));
    for (size_t i = 0; i < rs.n; i++) {
        const struct kcheck_result *r = &rs.v[i];
        long n = shape_n(r);
        cr_assert(gt(long, n, 0), "%s", line(r));
        bool tail = !strcmp(r->type, "f32") && n % 8 != 0;
        cr_assert(eq(int, r->pass, !tail), "%s", line(r));
        if (tail) {
            /* kcheck.h: a dropped term costs more than 100x the simd bound */
            cr_assert(gt(dbl, r->value, 100 * r->bound), "%s", line(r));
            cr_assert(eq(str, (char *)r->op, "matmul"));
            cr_assert(has(r->detail, "max |a-b|"), "%s", line(r));
            cr_assert(has(line(r), "matmul f32 n="), "%s", line(r));
        }
    }
    free(rs.v);
}

Test(kcheck, a_crashing_plugin_fails_the_case_it_crashed_in_and_the_others_still_run)
{
    struct results all, rs;
    check_set(kernels_scalar(), "matmul/f32", 0, &all); /* the cases there are */
    struct kcheck_summary s = check_plugin(EXAMPLES "bad/crash_kernels.so", NULL, 0, &rs);
    cr_assert(eq(sz, rs.n, all.n), "every case reported once");
    cr_assert(gt(i64, s.failed, 0));
    for (size_t i = 0; i < rs.n; i++) {
        const struct kcheck_result *r = &rs.v[i];
        cr_assert(eq(str, (char *)r->shape, (char *)all.v[i].shape), "in order");
        if (shape_n(r) == 17) {
            cr_assert(eq(int, r->pass, 0), "%s", line(r));
            cr_assert(eq(str, (char *)r->op, "matmul"));
            cr_assert(eq(str, (char *)r->type, "f32"));
            cr_assert(has(r->detail, "crashed: SIGSEGV (signal 11)"), "%s", line(r));
            cr_assert(eq(str, (char *)r->metric, ""), "no metric for a case that did not finish");
        } else {
            cr_assert(eq(int, r->pass, 1), "%s", line(r));
        }
    }
    free(rs.v);
    free(all.v);
}

Test(kcheck, a_kernel_that_never_returns_is_killed_at_the_time_limit)
{
    struct results rs;
    struct kcheck_summary s = check_plugin(EXAMPLES "bad/hang_kernels.so", NULL, 1.0, &rs);
    cr_assert(eq(i64, s.failed, 1));
    for (size_t i = 0; i < rs.n; i++) {
        const struct kcheck_result *r = &rs.v[i];
        if (!r->pass) {
            cr_assert(eq(str, (char *)r->op, "rmsnorm"));
            cr_assert(eq(str, (char *)r->shape, "n=5"));
            cr_assert(has(r->detail, "timed out after 1 s"), "%s", line(r));
        }
    }
    free(rs.v);
}

Test(kcheck, guard_bytes_catch_a_kernel_writing_past_the_end_of_its_output)
{
    struct results rs;
    check_plugin(EXAMPLES "bad/oob_kernels.so", NULL, 0, &rs);
    for (size_t i = 0; i < rs.n; i++) {
        const struct kcheck_result *r = &rs.v[i];
        long n = shape_n(r);
        cr_assert(eq(int, r->pass, n % 8 == 0), "%s", line(r));
        if (n % 8) {
            /* the values are right: only the guard shows it */
            cr_assert(eq(dbl, r->value, 0.0), "%s", line(r));
            cr_assert(has(r->detail, "out-of-bounds write after the end of"), "%s", line(r));
            char want[64];
            snprintf(want, sizeof want, "up to %ld byte(s) past it", 4 * (8 - n % 8));
            cr_assert(has(r->detail, want), "want '%s': %s", want, line(r));
        }
    }
    free(rs.v);
}

/* ---- one bug each, in sets written here ---- */

static void add_writes_before(float *out, const float *a, const float *b, int64_t n)
{
    scalar_add(out, a, b, n);
    out[-2] = 0.0f;
}

Test(kcheck, guard_bytes_catch_a_write_before_the_start)
{
    struct plumb_kernels set = {.abi = PLUMB_KERNELS_ABI, .name = "t",
                                .accuracy = PLUMB_ACCURACY_EXACT, .add = add_writes_before};
    struct results rs;
    struct kcheck_summary s = check_set(&set, NULL, 0, &rs);
    cr_assert(eq(i64, s.passed, 0));
    cr_assert(has(rs.v[0].detail, "out-of-bounds write before the start of out"), "%s",
              line(&rs.v[0]));
    cr_assert(has(rs.v[0].detail, "up to 8 byte(s) before it"), "%s", line(&rs.v[0]));
    free(rs.v);
}

/* Computes every row up to r1, ignoring r0: a thread's share spills over. */
static void matmul_from_row_0(float *out, int64_t out_stride, const void *w, size_t row_size,
                              const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                              float *scratch)
{
    (void)r0;
    kernels_scalar()->matmul[0](out, out_stride, w, row_size, x, n, n_tok, 0, r1, scratch);
}

Test(kcheck, writing_rows_outside_the_range_fails_only_where_the_range_starts_past_0)
{
    struct plumb_kernels set = {.abi = PLUMB_KERNELS_ABI, .name = "t",
                                .accuracy = PLUMB_ACCURACY_EXACT, .matmul = {[0] = matmul_from_row_0}};
    struct results rs;
    struct kcheck_summary s = check_set(&set, NULL, 0, &rs);
    cr_assert(eq(i64, s.failed, 1));
    for (size_t i = 0; i < rs.n; i++)
        if (!rs.v[i].pass) {
            cr_assert(has(rs.v[i].shape, "rows=[5,16) stride=21"), "%s", line(&rs.v[i]));
            cr_assert(has(rs.v[i].detail, "wrote the output at token 0, row 0, outside"), "%s",
                      line(&rs.v[i]));
        }
    free(rs.v);
}

/* Right output, but normalizes x in place on the way. */
static void rmsnorm_changes_x(float *out, const float *x, const float *w, int64_t n, float eps)
{
    scalar_rmsnorm(out, x, w, n, eps);
    float *xm = (float *)x;
    xm[n - 1] = out[n - 1];
}

/* Leaves the last element alone. */
static void silu_mul_short(float *out, const float *g, const float *u, int64_t n)
{
    scalar_silu_mul(out, g, u, n - 1);
}

Test(kcheck, a_changed_input_and_an_unwritten_element_fail)
{
    struct plumb_kernels set = {.abi = PLUMB_KERNELS_ABI, .name = "t",
                                .accuracy = PLUMB_ACCURACY_SIMD, .rmsnorm = rmsnorm_changes_x,
                                .silu_mul = silu_mul_short};
    struct results rs;
    struct kcheck_summary s = check_set(&set, NULL, 0, &rs);
    cr_assert(eq(i64, s.passed, 0));
    for (size_t i = 0; i < rs.n; i++) {
        const struct kcheck_result *r = &rs.v[i];
        char want[64];
        if (!strcmp(r->op, "rmsnorm"))
            snprintf(want, sizeof want, "changed its input x");
        else if (has(r->shape, "in-place")) /* out is g: "unwritten" is g's own value */
            snprintf(want, sizeof want, "max |a-b|");
        else
            snprintf(want, sizeof want, "did not write the output at i %ld", shape_n(r) - 1);
        cr_assert(has(r->detail, want), "want '%s': %s", want, line(r));
    }
    free(rs.v);
}

/* The scalar result, with output (token 0, row 0) off by 3e-6 relative:
 * invisible in the NMSE of 7 rows (~1e-12), not to the per-element bound
 * for n = 1 ((2n+8) u = 6e-7 relative). */
static void matmul_nudged(float *out, int64_t out_stride, const void *w, size_t row_size,
                          const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                          float *scratch)
{
    kernels_scalar()->matmul[0](out, out_stride, w, row_size, x, n, n_tok, r0, r1, scratch);
    if (r0 == 0 && n == 1)
        out[0] *= 1.000003f;
}

Test(kcheck, the_per_element_bound_catches_what_nmse_lets_through)
{
    struct plumb_kernels set = {.abi = PLUMB_KERNELS_ABI, .name = "t",
                                .accuracy = PLUMB_ACCURACY_SIMD, .matmul = {[0] = matmul_nudged}};
    struct results rs;
    check_set(&set, NULL, 0, &rs);
    size_t failed = 0;
    for (size_t i = 0; i < rs.n; i++) {
        const struct kcheck_result *r = &rs.v[i];
        if (shape_n(r) != 1) {
            cr_assert(eq(int, r->pass, 1), "%s", line(r));
            continue;
        }
        failed++;
        cr_assert(eq(int, r->pass, 0), "%s", line(r));
        cr_assert(le(dbl, r->value, r->bound), "NMSE passes: %s", line(r));
        cr_assert(has(r->detail, "(per-element bound) at token 0, row 0"), "%s", line(r));
    }
    cr_assert(eq(sz, failed, 2));
    free(rs.v);
}

/* F32 matmul summed in 8 lanes: any SIMD kernel's order. */
static void matmul_lanes(float *out, int64_t out_stride, const void *w, size_t row_size,
                         const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                         float *scratch)
{
    (void)scratch;
    for (int64_t r = r0; r < r1; r++) {
        const float *row = (const float *)((const char *)w + (size_t)r * row_size);
        for (int64_t t = 0; t < n_tok; t++) {
            float lane[8] = {0};
            for (int64_t i = 0; i < n; i++)
                lane[i % 8] += row[i] * x[t * n + i];
            out[t * out_stride + r] = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                                      ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        }
    }
}

/* F32 matmul on activations rounded to 8 bits in blocks of 32 (absmax/127,
 * as q8_0): the quantized class. */
static void matmul_q8_activations(float *out, int64_t out_stride, const void *w, size_t row_size,
                                  const float *x, int64_t n, int64_t n_tok, int64_t r0,
                                  int64_t r1, float *scratch)
{
    for (int64_t t = 0; t < n_tok; t++) {
        const float *xt = x + t * n;
        for (int64_t b = 0; b < n; b += 32) {
            int64_t e = b + 32 < n ? b + 32 : n;
            float amax = 0.0f;
            for (int64_t i = b; i < e; i++)
                amax = fmaxf(amax, fabsf(xt[i]));
            float d = amax / 127.0f;
            for (int64_t i = b; i < e; i++)
                scratch[i] = d > 0.0f ? roundf(xt[i] / d) * d : 0.0f;
        }
        for (int64_t r = r0; r < r1; r++) {
            const float *row = (const float *)((const char *)w + (size_t)r * row_size);
            out[t * out_stride + r] = scalar_dot(row, scratch, n);
        }
    }
}

Test(kcheck, reordered_sums_pass_simd_and_fail_exact)
{
    struct plumb_kernels set = {.abi = PLUMB_KERNELS_ABI, .name = "t",
                                .accuracy = PLUMB_ACCURACY_SIMD, .matmul = {[0] = matmul_lanes}};
    struct results rs;
    struct kcheck_summary s = check_set(&set, NULL, 0, &rs);
    cr_assert(eq(i64, s.failed, 0), "simd");
    free(rs.v);
    set.accuracy = PLUMB_ACCURACY_EXACT;
    s = check_set(&set, NULL, 0, &rs);
    cr_assert(gt(i64, s.failed, (int64_t)rs.n / 2), "exact");
    for (size_t i = 0; i < rs.n; i++)
        if (!rs.v[i].pass)
            cr_assert(has(line(&rs.v[i]), ": max_ulp "), "%s", line(&rs.v[i]));
    free(rs.v);
}

/* kcheck.h: test-backend-ops' 5e-4 for a matrix product with 8-bit
 * activations holds on the sweep's inputs (large and tiny included), with
 * room; 1e-10 (simd) does not. */
Test(kcheck, eight_bit_activations_pass_quantized_and_fail_simd)
{
    struct plumb_kernels set = {.abi = PLUMB_KERNELS_ABI, .name = "t",
                                .accuracy = PLUMB_ACCURACY_QUANTIZED,
                                .matmul = {[0] = matmul_q8_activations}};
    struct results rs;
    struct kcheck_summary s = check_set(&set, NULL, 0, &rs);
    cr_assert(eq(i64, s.failed, 0), "quantized");
    double worst = 0.0;
    for (size_t i = 0; i < rs.n; i++)
        worst = fmax(worst, rs.v[i].value);
    cr_assert(lt(dbl, worst, 1e-4), "worst NMSE %g: 5x under the bound", worst);
    free(rs.v);
    set.accuracy = PLUMB_ACCURACY_SIMD;
    s = check_set(&set, NULL, 0, &rs);
    cr_assert(gt(i64, s.failed, (int64_t)rs.n / 2), "simd");
    free(rs.v);
}

/* ---- selection, repeatability, formatting ---- */

Test(kcheck, op_patterns_select_operations_and_types)
{
    struct results rs;
    check_set(kernels_scalar(), "matmul/q8_*", 0, &rs);
    cr_assert(gt(sz, rs.n, 0));
    for (size_t i = 0; i < rs.n; i++)
        cr_assert(eq(str, (char *)rs.v[i].type, "q8_0"), "%s", line(&rs.v[i]));
    free(rs.v);
    check_set(kernels_scalar(), "r*", 0, &rs);
    for (size_t i = 0; i < rs.n; i++)
    {
        bool rms_or_rope = !strcmp(rs.v[i].op, "rmsnorm") || !strcmp(rs.v[i].op, "rope");
        cr_assert(rms_or_rope, "%s", line(&rs.v[i]));
    }
    free(rs.v);

    struct plugin p;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, plugin_open(&p, EXAMPLES "good_kernels.so", &err), 0), "%s", err.msg);
    struct kcheck_options o = {.set = p.set, .op_pattern = "rmsnorm"};
    struct kcheck_summary s;
    cr_assert(eq(int, kcheck_run(&o, &s, &err), -1));
    cr_assert(eq(str, (char *)err.msg, "--op 'rmsnorm' selects none of the operations kernel set 'good' "
                               "fills (matmul f32 q8_0)"));
    plugin_close(&p);
}

Test(kcheck, inputs_are_the_same_on_every_run_and_follow_the_seed)
{
    struct plugin p;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, plugin_open(&p, EXAMPLES "good_kernels.so", &err), 0), "%s", err.msg);
    struct results a, b, c;
    check_set(p.set, "matmul/f32", 0, &a);
    check_set(p.set, "matmul/f32", 0, &b);
    memset(&c, 0, sizeof c);
    struct kcheck_options o = {.set = p.set, .op_pattern = "matmul/f32", .seed = 7,
                               .on_result = results_add, .ctx = &c};
    struct kcheck_summary s;
    cr_assert(eq(int, kcheck_run(&o, &s, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, a.n, b.n));
    cr_assert(eq(sz, a.n, c.n));
    size_t same_as_seed_7 = 0;
    for (size_t i = 0; i < a.n; i++) {
        cr_assert(eq(dbl, a.v[i].value, b.v[i].value), "%s", line(&a.v[i]));
        same_as_seed_7 += a.v[i].value == c.v[i].value;
    }
    cr_assert(lt(sz, same_as_seed_7, a.n / 2), "another seed, other inputs");
    free(a.v);
    free(b.v);
    free(c.v);
    plugin_close(&p);
}

Test(kcheck, a_result_is_one_line_as_the_cli_prints_it)
{
    struct kcheck_result r = {.op = "matmul", .type = "q4_0", .shape = "n=64 rows=7 tokens=3 unaligned",
                              .metric = "NMSE", .value = 1.234e-14, .bound = 1e-10, .pass = 1};
    char buf[256];
    kcheck_format(&r, buf, sizeof buf);
    cr_assert(eq(str, (char *)buf, "matmul q4_0 n=64 rows=7 tokens=3 unaligned: NMSE 1.2e-14 <= 1e-10 ok"));
    r.value = 2.4e-4;
    r.pass = 0;
    snprintf(r.detail, sizeof r.detail, "max |a-b| 0.31 at token 1, row 6: got 1, expected 0.69");
    kcheck_format(&r, buf, sizeof buf);
    cr_assert(eq(str, (char *)buf, "matmul q4_0 n=64 rows=7 tokens=3 unaligned: NMSE 0.00024 > 1e-10 "
                           "FAIL: max |a-b| 0.31 at token 1, row 6: got 1, expected 0.69"));
    struct kcheck_result crash = {.op = "add", .type = "f32", .shape = "n=17", .pass = 0,
                                  .detail = "crashed: SIGSEGV (signal 11)"};
    kcheck_format(&crash, buf, sizeof buf);
    cr_assert(eq(str, (char *)buf, "add f32 n=17: FAIL: crashed: SIGSEGV (signal 11)"));
    struct kcheck_result exact = {.op = "rope", .type = "f32", .shape = "heads=2 hd=128",
                                  .metric = "max_ulp", .value = 0, .bound = 0, .pass = 1};
    kcheck_format(&exact, buf, sizeof buf);
    cr_assert(eq(str, (char *)buf, "rope f32 heads=2 hd=128: max_ulp 0 <= 0 ok"));
}

Test(kcheck, describe_names_the_operations_a_set_overrides)
{
    char buf[256];
    kcheck_describe(kernels_scalar(), buf, sizeof buf);
    cr_assert(eq(str, (char *)buf, "none"));
    struct plumb_kernels set = *kernels_scalar();
    set.matmul[0] = matmul_lanes;
    set.matmul[8] = matmul_lanes;
    set.rmsnorm = rmsnorm_changes_x;
    kcheck_describe(&set, buf, sizeof buf);
    cr_assert(eq(str, (char *)buf, "matmul f32 q8_0, rmsnorm"));
    cr_assert(eq(str, (char *)kcheck_accuracy_name(PLUMB_ACCURACY_QUANTIZED), "quantized"));
}
