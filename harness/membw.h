/*
 * membw.h: the machine's memory read bandwidth, the roofline of decoding (a
 * decoded token reads every weight once, so no matrix-vector product can
 * run faster than memory delivers its weights).
 *
 * How it is measured: a buffer several times larger than the last-level
 * cache is written once (so its pages exist and are not the shared zero
 * page), then read whole, pass after pass, by the threads of an engine pool,
 * split as the matrix products are split (pool_split, in 64-byte lines).
 * Each thread sums its share as 64-bit words, in four streams at once (its
 * share cut in four, read side by side, as the SIMD matrix products read
 * four rows), into independent accumulators, with 256-bit loads where the
 * CPU has AVX2, else a plain C loop (which compilers may vectorize for the
 * baseline: 128-bit SSE2 on x86-64). Narrower loads and a single stream
 * leave the threads short of the memory's rate. Measured on the 2-core Zen
 * 5 virtual machine plumb is developed on, one thread: one stream of 256-
 * or 512-bit loads 40 GB/s, four streams 41-42, the plain loop (SSE2)
 * 24-33; two threads: four streams about 10% above one. 512-bit loads read
 * no faster than 256-bit ones (alternating passes: within 2%) but leave
 * the core slower for several milliseconds after (a dependent float add
 * 0.74 ns instead of 0.49), which would slow the kernel timed next: they
 * are used only when asked for. A pass's figure is GB/s of 10^9 bytes.
 *
 * On a shared machine the figure moves with the neighbours' traffic (on
 * that virtual machine, two threads read 40 GB/s at one moment and 77 a few
 * seconds later): a benchmark compares a kernel with passes taken during
 * its own timing (membw_pass between timed calls), not with a figure from
 * another moment.
 *
 * The sums are returned, so the reads cannot be optimised away, and the
 * total is a checksum of the whole buffer: word i holds i, so a pass over n
 * words sums to n(n-1)/2 modulo 2^64 whichever loads and split read it.
 *
 * What it is not: a STREAM copy or triad (no writes are timed), nor a
 * latency test.
 */
#ifndef PLUMB_MEMBW_H
#define PLUMB_MEMBW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pool.h"

#define MEMBW_DEFAULT_BYTES ((size_t)1 << 30) /* 1 GiB */
#define MEMBW_DEFAULT_REPS 5

/* The width of the loads a read pass uses. */
enum membw_loads {
    MEMBW_LOADS_BEST = 0, /* AVX2 where the CPU has it, else U64 */
    MEMBW_LOADS_U64,      /* plain C over 64-bit words: every machine */
    MEMBW_LOADS_AVX2,     /* 256-bit (x86-64 with AVX2) */
    MEMBW_LOADS_AVX512    /* 512-bit (x86-64 with AVX-512 F) */
};

/* Whether this CPU can run loads (BEST and U64 always). */
bool membw_loads_supported(enum membw_loads loads);

/* "512-bit", "256-bit", "plain C" (BEST: what it resolves to here). */
const char *membw_loads_name(enum membw_loads loads);

/* Sum of n 64-bit words at p, modulo 2^64, read in four streams with the
 * given loads (which must be supported; BEST picks). p needs no particular
 * alignment. */
uint64_t membw_sum(const uint64_t *p, size_t n, enum membw_loads loads);

struct membw_job;

/* A written buffer ready for timed passes on a pool. */
struct membw {
    struct pool *pool;       /* borrowed */
    struct membw_job *job;   /* the buffer and each thread's sum */
    size_t bytes;            /* read per pass: a whole number of 64-byte lines */
    enum membw_loads loads;  /* resolved: never MEMBW_LOADS_BEST */
};

/*
 * Allocate bytes (0: MEMBW_DEFAULT_BYTES), rounded down to whole 64-byte
 * lines (at least one), write it on the pool's threads and read it once
 * untimed. Returns 0, or -1 with err set (out of memory, unsupported
 * loads); membw_free() in either case.
 */
int membw_init(struct membw *m, struct pool *pool, size_t bytes, enum membw_loads loads,
               struct plumb_err *err);

/* One pass on all of the pool's threads: its GB/s; *checksum (may be NULL)
 * gets the sum of the buffer's words. */
double membw_pass(struct membw *m, uint64_t *checksum);

/* Release the buffer; safe on a zeroed or failed one. */
void membw_free(struct membw *m);

struct membw_result {
    double gbps;          /* median over the passes */
    double min_gbps, max_gbps;
    size_t bytes;         /* read per pass */
    int reps;             /* timed passes */
    int threads;
    enum membw_loads loads; /* as run: never MEMBW_LOADS_BEST */
    uint64_t checksum;    /* sum of the buffer's 64-bit words (mod 2^64), last pass */
};

/* reps passes (0: MEMBW_DEFAULT_REPS) over m into r. */
void membw_passes(struct membw *m, int reps, struct membw_result *r);

/*
 * membw_init, reps passes (0: MEMBW_DEFAULT_REPS), membw_free: the
 * bandwidth at this moment. Returns 0, or -1 with err set.
 */
int membw_measure(struct pool *pool, size_t bytes, int reps, enum membw_loads loads,
                  struct membw_result *r, struct plumb_err *err);

/* The size of the largest CPU cache Linux reports (sysfs), or 0 when it is
 * unknown. */
size_t membw_llc_bytes(void);

#endif
