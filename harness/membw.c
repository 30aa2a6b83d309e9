/*
 * membw.c: the memory read bandwidth. See membw.h.
 *
 * The vector read loops are compiled for their instruction sets with
 * function target attributes, not per-file flags, and are called only after
 * cpu.h says the CPU runs them; the rest of this file stays baseline. Each
 * reads four streams and finishes with membw_sum_tail, one plain stream.
 * Integer addition modulo 2^64 is associative, so every loop returns the
 * same sum.
 */
#include "membw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MEMBW_LINE_WORDS 8 /* 64-byte lines, the unit of the split */

static double membw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One stream, eight independent sums: the tails of the loops below. */
static uint64_t membw_sum_tail(const uint64_t *p, size_t n)
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 += p[i];
        a1 += p[i + 1];
        a2 += p[i + 2];
        a3 += p[i + 3];
        a4 += p[i + 4];
        a5 += p[i + 5];
        a6 += p[i + 6];
        a7 += p[i + 7];
    }
    for (; i < n; i++)
        a0 += p[i];
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

/* The four streams of n words: each `part` words (a multiple of step), the
 * rest from 4 * part on left to the tail loop. */
static size_t membw_part(size_t n, size_t step)
{
    return n / 4 / step * step;
}

/* Plain C: four streams, two sums each. */
static uint64_t membw_sum_u64(const uint64_t *p, size_t n)
{
    size_t part = membw_part(n, 2);
    const uint64_t *s0 = p, *s1 = p + part, *s2 = p + 2 * part, *s3 = p + 3 * part;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t i = 0; i < part; i += 2) {
        a0 += s0[i];
        a1 += s0[i + 1];
        a2 += s1[i];
        a3 += s1[i + 1];
        a4 += s2[i];
        a5 += s2[i + 1];
        a6 += s3[i];
        a7 += s3[i + 1];
    }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) +
           membw_sum_tail(p + 4 * part, n - 4 * part);
}

#if defined(__x86_64__)
#define MEMBW_Y(q) _mm256_loadu_si256((const __m256i *)(const void *)(q))

/* 256-bit loads: four streams, two registers (one 64-byte line) each per step. */
__attribute__((target("avx2"))) static uint64_t membw_sum_avx2(const uint64_t *p, size_t n)
{
    size_t part = membw_part(n, 8);
    const uint64_t *s0 = p, *s1 = p + part, *s2 = p + 2 * part, *s3 = p + 3 * part;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;
    for (size_t i = 0; i < part; i += 8) {
        a0 = _mm256_add_epi64(a0, MEMBW_Y(s0 + i));
        a1 = _mm256_add_epi64(a1, MEMBW_Y(s0 + i + 4));
        a2 = _mm256_add_epi64(a2, MEMBW_Y(s1 + i));
        a3 = _mm256_add_epi64(a3, MEMBW_Y(s1 + i + 4));
        a4 = _mm256_add_epi64(a4, MEMBW_Y(s2 + i));
        a5 = _mm256_add_epi64(a5, MEMBW_Y(s2 + i + 4));
        a6 = _mm256_add_epi64(a6, MEMBW_Y(s3 + i));
        a7 = _mm256_add_epi64(a7, MEMBW_Y(s3 + i + 4));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)),
                                 _mm256_add_epi64(_mm256_add_epi64(a4, a5), _mm256_add_epi64(a6, a7)));
    uint64_t lane[4];
    _mm256_storeu_si256((__m256i *)(void *)lane, s);
    /* gcc adds no vzeroupper to a function made AVX by a target attribute:
     * left dirty, the upper halves slow the SSE code that runs next on this
     * thread (on Zen 5 a dependent float add, the scalar kernels' inner
     * step, took 0.74 ns instead of 0.49, for over a second). */
    _mm256_zeroupper();
    return lane[0] + lane[1] + lane[2] + lane[3] + membw_sum_tail(p + 4 * part, n - 4 * part);
}

#define MEMBW_Z(q) _mm512_loadu_si512((const void *)(q))

/* 512-bit loads: four streams, two registers (two lines) each per step. */
__attribute__((target("avx512f"))) static uint64_t membw_sum_avx512(const uint64_t *p, size_t n)
{
    size_t part = membw_part(n, 16);
    const uint64_t *s0 = p, *s1 = p + part, *s2 = p + 2 * part, *s3 = p + 3 * part;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;
    for (size_t i = 0; i < part; i += 16) {
        a0 = _mm512_add_epi64(a0, MEMBW_Z(s0 + i));
        a1 = _mm512_add_epi64(a1, MEMBW_Z(s0 + i + 8));
        a2 = _mm512_add_epi64(a2, MEMBW_Z(s1 + i));
        a3 = _mm512_add_epi64(a3, MEMBW_Z(s1 + i + 8));
        a4 = _mm512_add_epi64(a4, MEMBW_Z(s2 + i));
        a5 = _mm512_add_epi64(a5, MEMBW_Z(s2 + i + 8));
        a6 = _mm512_add_epi64(a6, MEMBW_Z(s3 + i));
        a7 = _mm512_add_epi64(a7, MEMBW_Z(s3 + i + 8));
    }
    __m512i s = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)),
                                 _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7)));
    uint64_t lane[8];
    _mm512_storeu_si512((void *)lane, s);
    _mm256_zeroupper(); /* see membw_sum_avx2 */
    uint64_t t = 0;
    for (int k = 0; k < 8; k++)
        t += lane[k];
    return t + membw_sum_tail(p + 4 * part, n - 4 * part);
}
#endif

bool membw_loads_supported(enum membw_loads loads)
{
    switch (loads) {
    case MEMBW_LOADS_BEST:
    case MEMBW_LOADS_U64:
        return true;
#if defined(__x86_64__)
    case MEMBW_LOADS_AVX2:
        return cpu_has_avx2();
    case MEMBW_LOADS_AVX512:
        return cpu_has_avx512();
#else
    case MEMBW_LOADS_AVX2:
    case MEMBW_LOADS_AVX512:
        return false;
#endif
    }
    return false;
}

static enum membw_loads membw_resolve(enum membw_loads loads)
{
    if (loads != MEMBW_LOADS_BEST)
        return loads;
    /* not AVX-512, which reads no faster (membw.h) */
    if (membw_loads_supported(MEMBW_LOADS_AVX2))
        return MEMBW_LOADS_AVX2;
    return MEMBW_LOADS_U64;
}

const char *membw_loads_name(enum membw_loads loads)
{
    switch (membw_resolve(loads)) {
    case MEMBW_LOADS_AVX512:
        return "512-bit";
    case MEMBW_LOADS_AVX2:
        return "256-bit";
    default:
        return "plain C";
    }
}

uint64_t membw_sum(const uint64_t *p, size_t n, enum membw_loads loads)
{
    switch (membw_resolve(loads)) {
#if defined(__x86_64__)
    case MEMBW_LOADS_AVX512:
        return membw_sum_avx512(p, n);
    case MEMBW_LOADS_AVX2:
        return membw_sum_avx2(p, n);
#endif
    default:
        return membw_sum_u64(p, n);
    }
}

/* One pass, write or read, over the pool. Each worker's sum sits in its own
 * cache line. */
struct membw_job {
    uint64_t *buf;
    size_t n_lines;
    enum membw_loads loads;
    int write;
    struct {
        uint64_t sum;
        char pad[56];
    } part[POOL_MAX_THREADS];
};

static void membw_worker(void *ctx, int i, int n)
{
    struct membw_job *job = ctx;
    long long b, e;
    pool_split((long long)job->n_lines, i, n, &b, &e);
    size_t w0 = (size_t)b * MEMBW_LINE_WORDS, w1 = (size_t)e * MEMBW_LINE_WORDS;
    if (job->write) {
        for (size_t w = w0; w < w1; w++)
            job->buf[w] = w;
        job->part[i].sum = 0;
    } else {
        job->part[i].sum = membw_sum(job->buf + w0, w1 - w0, job->loads);
    }
}

static uint64_t membw_run(struct membw *m)
{
    pool_run(m->pool, membw_worker, m->job);
    uint64_t s = 0;
    for (int i = 0; i < m->pool->n_threads; i++)
        s += m->job->part[i].sum;
    return s;
}

int membw_init(struct membw *m, struct pool *pool, size_t bytes, enum membw_loads loads,
               struct plumb_err *err)
{
    memset(m, 0, sizeof *m);
    m->pool = pool;
    if (bytes == 0)
        bytes = MEMBW_DEFAULT_BYTES;
    if (!membw_loads_supported(loads))
        return err_set(err, "read bandwidth: this CPU cannot run %s loads", membw_loads_name(loads));
    size_t n_lines = bytes / (MEMBW_LINE_WORDS * sizeof(uint64_t));
    if (n_lines == 0)
        return err_set(err, "read bandwidth: a buffer of %zu bytes is under one 64-byte line", bytes);
    size_t size = n_lines * MEMBW_LINE_WORDS * sizeof(uint64_t);
    void *buf = NULL;
    m->job = calloc(1, sizeof *m->job);
    if (!m->job || posix_memalign(&buf, 4096, size) != 0)
        return err_set(err, "read bandwidth: out of memory for a %zu-byte buffer", size);
    m->job->buf = buf;
    m->job->n_lines = n_lines;
    m->job->loads = m->loads = membw_resolve(loads);
    m->bytes = size;
    m->job->write = 1;
    membw_run(m); /* every page written: none left on the zero page */
    m->job->write = 0;
    membw_run(m); /* untimed: page tables and the threads warmed up */
    return 0;
}

double membw_pass(struct membw *m, uint64_t *checksum)
{
    double t0 = membw_now();
    uint64_t sum = membw_run(m);
    double dt = membw_now() - t0;
    if (checksum)
        *checksum = sum;
    return dt > 0 ? (double)m->bytes / dt / 1e9 : 0;
}

void membw_free(struct membw *m)
{
    if (m->job)
        free(m->job->buf);
    free(m->job);
    memset(m, 0, sizeof *m);
}

static int membw_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void membw_passes(struct membw *m, int reps, struct membw_result *r)
{
    enum { MAX_REPS = 1000 };
    double g[MAX_REPS];
    memset(r, 0, sizeof *r);
    if (reps <= 0)
        reps = MEMBW_DEFAULT_REPS;
    if (reps > MAX_REPS)
        reps = MAX_REPS;
    for (int rep = 0; rep < reps; rep++)
        g[rep] = membw_pass(m, &r->checksum);
    qsort(g, (size_t)reps, sizeof *g, membw_cmp_double);
    r->gbps = reps % 2 ? g[reps / 2] : 0.5 * (g[reps / 2 - 1] + g[reps / 2]);
    r->min_gbps = g[0];
    r->max_gbps = g[reps - 1];
    r->bytes = m->bytes;
    r->reps = reps;
    r->threads = m->pool->n_threads;
    r->loads = m->loads;
}

int membw_measure(struct pool *pool, size_t bytes, int reps, enum membw_loads loads,
                  struct membw_result *r, struct plumb_err *err)
{
    struct membw m;
    memset(r, 0, sizeof *r);
    if (membw_init(&m, pool, bytes, loads, err) != 0) {
        membw_free(&m);
        return -1;
    }
    membw_passes(&m, reps, r);
    membw_free(&m);
    return 0;
}

size_t membw_llc_bytes(void)
{
    size_t best = 0;
    for (int i = 0; i < 16; i++) {
        char path[96];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        unsigned long long v = 0;
        char unit = 0;
        int got = fscanf(fp, "%llu%c", &v, &unit);
        fclose(fp);
        if (got < 1)
            continue;
        unsigned long long mul = unit == 'K' ? 1024ull : unit == 'M' ? 1024ull * 1024
                                 : unit == 'G' ? 1024ull * 1024 * 1024 : 1ull;
        if (v <= SIZE_MAX / mul && v * mul > best)
            best = (size_t)(v * mul);
    }
    return best;
}
