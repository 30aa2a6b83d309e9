/*
 * pool.c: the worker pool. See pool.h.
 *
 * One mutex and two condition variables: `go` wakes the workers when the
 * generation counter moves, `done` wakes the caller when the last worker of
 * the generation finishes. The caller runs share 0 itself.
 */
#include "pool.h"

#include <string.h>

static void *pool_worker_main(void *arg)
{
    struct pool_worker *w = arg;
    struct pool *p = w->pool;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);

        fn(ctx, w->index, p->n_threads);

        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

int pool_init(struct pool *p, int n_threads, struct plumb_err *err)
{
    memset(p, 0, sizeof *p);
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
    for (int i = 1; i < n_threads; i++) {
        p->workers[i].pool = p;
        p->workers[i].index = i;
        if (pthread_create(&p->workers[i].tid, NULL, pool_worker_main, &p->workers[i]) != 0) {
            pool_free(p);
            return err_set(err, "threads: cannot start thread %d of %d", i + 1, n_threads);
        }
        p->n_started = i;
    }
    p->n_threads = n_threads;
    return 0;
}

void pool_run(struct pool *p, pool_fn fn, void *ctx)
{
    if (p->n_threads <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, p->n_threads);

    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void pool_free(struct pool *p)
{
    if (p->sync_init) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
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
