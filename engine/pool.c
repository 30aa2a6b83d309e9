/*
 * pool.c: the worker pool. See pool.h.
 *
 * The caller publishes fn and ctx, sets `pending` and bumps `generation`
 * (a release store, under the mutex so that a sleeping worker cannot miss
 * it); a worker that sees the new generation (acquire) runs its share and
 * decrements `pending`. Both sides first spin on the atomic for up to
 * POOL_SPIN pause instructions (none when the pool has more threads than
 * the process has CPUs) and only then sleep: workers on the `go`
 * condition variable, the caller on `done`. Every sleeper re-checks its
 * condition under the mutex and every waker changes the atomic before it
 * takes the mutex to signal, so no wake-up is lost. The caller runs share 0
 * itself.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "pool.h"

#include <sched.h>
#include <string.h>
#include <unistd.h>

/* About 50-200 microseconds of polling, depending on the cost of a pause. */
#define POOL_SPIN 4096

/* The CPUs this process may run on (its affinity mask, which containers and
 * taskset narrow), or the online count where the mask cannot be read. */
static int pool_cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n < POOL_MAX_THREADS ? n : POOL_MAX_THREADS) : 1;
}

static inline void pool_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spin until *a differs from old or the budget runs out; returns the last value. */
static unsigned long pool_spin_generation(struct pool *p, unsigned long old)
{
    for (int i = 0; i < p->spin; i++) {
        unsigned long g = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != old || atomic_load_explicit(&p->stop, memory_order_relaxed))
            return g;
        pool_pause();
    }
    return old;
}

static void *pool_worker_main(void *arg)
{
    struct pool_worker *w = arg;
    struct pool *p = w->pool;
    unsigned long seen = 0;
    for (;;) {
        unsigned long g = pool_spin_generation(p, seen);
        if (g == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen)
                pthread_cond_wait(&p->go, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);

        p->fn(p->ctx, w->index, p->n_threads);

        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

int pool_init(struct pool *p, int n_threads, struct plumb_err *err)
{
    memset(p, 0, sizeof *p);
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, false);
    if (n_threads < 1 || n_threads > POOL_MAX_THREADS)
        return err_set(err, "threads: %d is out of range 1..%d", n_threads, POOL_MAX_THREADS);
    p->n_threads = 1;
    if (n_threads == 1)
        return 0;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return err_set(err, "threads: cannot create a mutex");
    if (pthread_cond_init(&p->go, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return err_set(err, "threads: cannot create a condition variable");
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        return err_set(err, "threads: cannot create a condition variable");
    }
    p->sync_init = true;
    /* With more threads than CPUs a spinning thread takes the CPU that the
     * thread it waits for needs: sleep at once instead. */
    p->spin = n_threads <= pool_cpus_available() ? POOL_SPIN : 0;
    /* Workers read n_threads for every job: set it before any starts. */
    p->n_threads = n_threads;
    for (int i = 1; i < n_threads; i++) {
        p->workers[i].pool = p;
        p->workers[i].index = i;
        if (pthread_create(&p->workers[i].tid, NULL, pool_worker_main, &p->workers[i]) != 0) {
            pool_free(p);
            return err_set(err, "threads: cannot start thread %d of %d", i + 1, n_threads);
        }
        p->n_started = i;
    }
    return 0;
}

void pool_run(struct pool *p, pool_fn fn, void *ctx)
{
    if (p->n_threads <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, p->n_threads);

    for (int i = 0; i < p->spin; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
        pool_pause();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void pool_free(struct pool *p)
{
    if (p->sync_init) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, true);
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i <= p->n_started; i++)
            pthread_join(p->workers[i].tid, NULL);
        pthread_cond_destroy(&p->go);
        pthread_cond_destroy(&p->done);
        pthread_mutex_destroy(&p->mu);
    }
    memset(p, 0, sizeof *p);
}

void pool_split(long long total, int i, int n, long long *b, long long *e)
{
    *b = total * i / n;
    *e = total * (i + 1) / n;
}
