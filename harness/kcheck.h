/*
 * kcheck.h: op-level validation of a kernel set against the scalar
 * specification over a sweep of shapes: plumb's test-backend-ops.
 *
 * For every operation the set fills (every non-NULL entry; for matmul,
 * every weight type) kcheck runs a list of cases: lengths that are and are
 * not multiples of the SIMD widths (1, primes, 2^k +- 1, 4096, 4097) and,
 * for block types, numbers of blocks that are and are not multiples of the
 * usual unrolling; several rows, a row range [r0, r1) of a wider output,
 * batches of 1, 3 and 32 tokens; pointers 4 bytes off (2 for 16-bit and
 * block weights) a 64-byte boundary; inputs of ordinary, large (x4096) and
 * near-zero (x2^-20, a quarter exact zeros) magnitude; and, for the
 * operations the engine calls in place, out aliasing an input. Inputs come
 * from a seeded generator (splitmix64, exact float arithmetic), so a case is
 * the same on every machine; each case's seed depends on its name only, so
 * --op filtering does not change the inputs.
 *
 * Each case runs the scalar kernel and the candidate on the same inputs and
 * checks:
 *   - guard bytes (1 KiB before and after every buffer, inputs included) are
 *     unchanged: a write out of bounds fails the case;
 *   - output elements the operation must not write (rows outside [r0, r1),
 *     the gaps of a strided output, heads outside [h0, h1)) still hold the
 *     marker they were filled with, and every element it must write was
 *     written;
 *   - inputs are unchanged (except those an in-place operation updates);
 *   - where the reference is finite, the candidate is finite;
 *   - the class's metric within its bound (below).
 *
 * Bounds per accuracy class (u = 2^-24, float's unit roundoff):
 *   exact      every output bit-identical: metric max_ulp, bound 0.
 *   simd       metric NMSE = sum (a-b)^2 / sum b^2 (as test-backend-ops),
 *              bound 1e-10 for every operation. Reordering a dot product's
 *              n float terms moves its result by about 0.45 u sum|terms|,
 *              an NMSE near 3e-16 n for random data (see
 *              fixtures/policies/simd.yaml): 1.2e-12 at n = 4096; the
 *              worst case measured for the avx2 and avx512 sets is 7.9e-12
 *              (q5_0, n = 4128, 3 outputs), and 2.2e-12 for the example
 *              plugin, so 1e-10 leaves 12x; an exp or a reciprocal a few
 *              ULP off costs (k u)^2 ~ 1e-14. Dropping one term of 4097
 *              (tools/examples/buggy_kernels.c) costs 1.4e-8 to 2.8e-6:
 *              more than 100x above the bound.
 *              Plus, per element, for matmul
 *                |a-b| <= (2n + 8) u sum_i m_i |x_i|  (+ (n+2) 2^-149)
 *              with m_i = |W[r,i]|, or for formats with a block offset
 *              (q4_1, q5_1, q2_k, q4_k, q5_k) |W[r,i]| + 2 max|W| over the
 *              32 elements around i. Any summation order of n rounded
 *              products is within gamma_n = n u / (1 - n u) times the sum
 *              of the magnitudes of the exact result (Higham, Accuracy and
 *              Stability of Numerical Algorithms, 2nd ed., eq. 3.5), for
 *              the reference and the candidate alike; up to 4 more
 *              roundings per term (gamma_{n+4}) cover a kernel that applies
 *              block scales and offsets separately (d * (sum q x) -
 *              m * (sum x)), whose partial sums are bounded by the
 *              offset-inclusive magnitudes (the offset of a quantized block
 *              is at most its largest |W|); gamma_n + gamma_{n+4} <=
 *              (2n + 8) u for n <= 8192 (the sweep stops at 4352). The
 *              2^-149 term is subnormal rounding. The bound is loose for
 *              large n (NMSE covers those) and tight for small n.
 *   quantized  NMSE <= 5e-4 for matmul (test-backend-ops' bound for
 *              mul_mat, where activations are quantized to 8 bits) and for
 *              attention (two matrix products, over a K/V cache that may be
 *              f16 or q8_0 in llama.cpp's CPU backend); 1e-7 for the other
 *              operations (test-backend-ops' default bound).
 *   every class, per element: add bit-exact (one correctly rounded
 *              operation: nothing can reorder); rope within
 *              4.5 u (|x0 c| + |x1 s|) of the reference (each of the two
 *              terms rounded at most twice, with or without FMA).
 *
 * Crashes and hangs: unless in_process is set, each (operation, type)
 * group runs in a forked child that sends back one result per case. A child
 * killed by a signal or exiting early fails the case it was running
 * ("crashed: SIGSEGV"), one silent past the time limit is killed and fails
 * the case ("timed out"); the group then goes on in a new child from the
 * next case. Children reset SIGSEGV/SIGBUS/SIGFPE/SIGILL to their default
 * action (so a sanitizer's handler does not turn a crash into an exit) and
 * write no core file.
 */
#ifndef PLUMB_KCHECK_H
#define PLUMB_KCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kernels.h"

#define KCHECK_DEFAULT_SEED 1
#define KCHECK_DEFAULT_TIMEOUT 10.0 /* seconds per case */

/* One case's outcome. Plain arrays only: children send it through a pipe. */
struct kcheck_result {
    char op[16];       /* "matmul", "rmsnorm", "rope", "softmax", "attention", "silu_mul", "add" */
    char type[16];     /* matmul's weight type ("q4_0"); "f32" for the others */
    char shape[96];    /* "n=33 rows=7 tokens=3 unaligned" */
    char metric[16];   /* "NMSE" or "max_ulp"; empty when the case did not finish */
    double value;      /* the metric */
    double bound;      /* its bound for the set's class */
    double max_abs;    /* max |a-b| over the outputs */
    int pass;          /* 1 pass, 0 fail */
    char detail[256];  /* the first reason it failed, or "" */
};

struct kcheck_options {
    const struct plumb_kernels *set; /* the set under test; NULL entries are not checked */
    const char *op_pattern;          /* fnmatch glob on "op" or "op/type"; NULL for all */
    uint64_t seed;                   /* 0: KCHECK_DEFAULT_SEED */
    double timeout;                  /* seconds per case; <= 0: KCHECK_DEFAULT_TIMEOUT */
    bool in_process;                 /* no fork: a crash takes the caller down (debugging) */
    /* Called with each result, in order, as it arrives. */
    void (*on_result)(void *ctx, const struct kcheck_result *r);
    void *ctx;
};

struct kcheck_summary {
    int64_t passed, failed;
};

/*
 * Check every operation of o->set that o->op_pattern selects. Fills s and
 * calls o->on_result per case. Returns 0 when the check ran (cases may have
 * failed: see s), or -1 with err set when it could not: a set with another
 * ABI version, a pattern that selects no operation the set fills (the
 * message lists those it fills), or fork/pipe failing.
 */
int kcheck_run(const struct kcheck_options *o, struct kcheck_summary *s, struct plumb_err *err);

/*
 * One line for r, as `plumb kernels check` prints it, without indentation
 * or newline: "matmul q4_0 n=64 rows=7 tokens=3 unaligned: NMSE 1.2e-14
 * <= 1e-10 ok", or "... FAIL: reason". Truncated to size.
 */
void kcheck_format(const struct kcheck_result *r, char *buf, size_t size);

/*
 * The operations set fills with something other than the scalar set's own
 * functions, as "matmul f32 q8_0, rmsnorm", or "none". Truncated to size.
 */
void kcheck_describe(const struct plumb_kernels *set, char *buf, size_t size);

/* "exact", "simd", "quantized", or "unknown". */
const char *kcheck_accuracy_name(enum plumb_accuracy a);

#endif
