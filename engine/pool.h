/*
 * pool.h: a fixed pool of worker threads, created once, that runs one
 * parallel loop at a time.
 *
 * pool_run(p, fn, ctx) calls fn(ctx, i, n) once for every i in [0, n) where
 * n = p->n_threads, worker i on thread i (the caller is worker 0), and
 * returns when all are done. Work is split by the callee from i and n, so
 * which thread computes what is fixed: results never depend on scheduling.
 * A pool of 1 thread starts no threads.
 *
 * Waiting is spin-then-sleep: a worker that has just finished polls for the
 * next job for a bounded number of pause instructions before it sleeps on a
 * condition variable, and the caller polls for the last worker the same way.
 * A decoded token runs a few hundred short parallel loops, and a futex wake
 * per loop costs more than the gap between loops; the bound keeps an idle
 * pool from burning a core, and a pool with more threads than the process
 * has CPUs does not spin at all.
 */
#ifndef PLUMB_POOL_H
#define PLUMB_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "err.h"

#define POOL_MAX_THREADS 256

typedef void (*pool_fn)(void *ctx, int i, int n);

struct pool;

struct pool_worker {
    struct pool *pool;
    int index;
    pthread_t tid;
};

/* A pool must not be moved or copied after pool_init (workers point at it). */
struct pool {
    int n_threads;
    struct pool_worker workers[POOL_MAX_THREADS];
    int n_started;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    bool sync_init;
    int spin;                  /* polls before sleeping; 0 if oversubscribed */
    atomic_ulong generation;   /* bumped for every pool_run (release) */
    atomic_int pending;        /* workers still running this generation */
    atomic_bool stop;
    pool_fn fn;                /* fn and ctx are published by generation */
    void *ctx;
};

/* Start n_threads - 1 workers. Returns 0, or -1 with err set. */
int pool_init(struct pool *p, int n_threads, struct plumb_err *err);

/* Run fn on every worker and wait. */
void pool_run(struct pool *p, pool_fn fn, void *ctx);

/* Stop and join the workers; safe on a zeroed or failed pool. */
void pool_free(struct pool *p);

/* The share [*b, *e) of [0, total) that worker i of n takes. */
void pool_split(long long total, int i, int n, long long *b, long long *e);

#endif
