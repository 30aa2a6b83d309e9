/*
 * test_pool.c: the worker pool runs every share exactly once per pool_run,
 * in both of its waiting modes (spinning for a job that follows at once,
 * sleeping on the condition variable for one that comes late), and stops
 * cleanly. ThreadSanitizer builds (`make test SAN=thread`) check the
 * memory ordering of the spin path.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "pool.h"

TestSuite(pool, .timeout = 60);

struct tally {
    int n_expected;
    long long count[8];     /* written only by share i */
    atomic_int bad_n;
    long long round;        /* written by the caller between runs */
    long long seen[8];      /* the round each share last saw */
};

static void tally_fn(void *ctx, int i, int n)
{
    struct tally *t = ctx;
    if (n != t->n_expected || i < 0 || i >= n)
        atomic_fetch_add(&t->bad_n, 1);
    else {
        t->count[i]++;
        t->seen[i] = t->round;
    }
}

static void run_rounds(int n_threads, long long rounds, long sleep_ns_every_100)
{
    struct pool p;
    struct plumb_err err = {0};
    cr_assert(eq(int, pool_init(&p, n_threads, &err), 0), "%s", err.msg);
    struct tally t;
    memset(&t, 0, sizeof t);
    t.n_expected = n_threads;
    atomic_init(&t.bad_n, 0);
    for (long long r = 1; r <= rounds; r++) {
        t.round = r;
        pool_run(&p, tally_fn, &t);
        /* Every share has finished this round when pool_run returns. */
        for (int i = 0; i < n_threads; i++)
            cr_assert(eq(i64, t.seen[i], r), "share %d missed round %lld", i, r);
        if (sleep_ns_every_100 && r % 100 == 0) {
            struct timespec ts = {0, sleep_ns_every_100};
            nanosleep(&ts, NULL);
        }
    }
    pool_free(&p);
    cr_assert(eq(int, atomic_load(&t.bad_n), 0));
    for (int i = 0; i < n_threads; i++)
        cr_assert(eq(i64, t.count[i], rounds));
}

Test(pool, back_to_back_runs_use_every_share_once)
{
    run_rounds(2, 100000, 0);
}

Test(pool, more_threads_than_cores)
{
    run_rounds(4, 5000, 0);
}

Test(pool, runs_after_the_workers_fell_asleep)
{
    /* 5 ms is far beyond the spin budget: the workers sleep on `go`. */
    run_rounds(3, 1000, 5000000);
}

Test(pool, one_thread_runs_inline_and_bad_counts_are_refused)
{
    run_rounds(1, 10, 0);
    struct pool p;
    struct plumb_err err = {0};
    cr_assert(eq(int, pool_init(&p, 0, &err), -1));
    cr_assert(ne(ptr, strstr(err.msg, "out of range"), NULL), "%s", err.msg);
    pool_free(&p);
    cr_assert(eq(int, pool_init(&p, POOL_MAX_THREADS + 1, &err), -1));
    pool_free(&p);
}

Test(pool, free_wakes_sleeping_and_spinning_workers)
{
    for (int k = 0; k < 50; k++) {
        struct pool p;
        struct plumb_err err = {0};
        cr_assert(eq(int, pool_init(&p, 4, &err), 0));
        if (k % 2) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        pool_free(&p);  /* returns: all workers joined */
    }
}
