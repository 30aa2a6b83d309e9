/*
 * gen.h: building a synthetic llama GGUF model from a spec.
 *
 * The file holds the llama metadata llama.cpp expects, a small real
 * SentencePiece-style vocabulary (vocab.h), provenance under `plumb.gen.*`
 * (generator version, spec SHA-256, seed), and the tensors of
 * llama_layout.h filled with seeded pseudo-random weights.
 *
 * Determinism: every weight is a pure function of (seed, tensor name,
 * element index), computed with integer arithmetic and exact float
 * operations only (no libm), then converted to the tensor's type by the
 * reference quantizers. So the same spec gives the same bytes on every
 * machine, compiler and thread count.
 *
 * The weight of element j of a tensor named N (row length n):
 *   key  = mix(seed ^ mix(fnv1a64(N)))
 *   r    = mix(key + (j/2 + 1) * 0x9E3779B97F4A7C15)   (splitmix64's mix)
 *   k    = bits 40..63 of r for even j, bits 8..31 for odd j  (24 bits)
 *   u    = (k - 2^23) / 2^23                             uniform in [-1, 1)
 *   matrix weight = u * init_scale * sqrt(3 / n)         (unit output variance)
 *   token embedding = u * init_scale
 *   norm weight     = 1 + u / 8
 * where sqrt is a fixed Newton iteration in double (gen_sqrt), not libm's.
 */
#ifndef PLUMB_GEN_H
#define PLUMB_GEN_H

#include <stdint.h>

#include "err.h"
#include "gguf.h"
#include "llama_layout.h"
#include "spec.h"
#include "vocab.h"

/* A model being generated. Fields are read-only to callers. */
struct gen {
    const struct spec *spec;        /* borrowed */
    struct vocab vocab;
    int64_t n_tensors;
    struct llama_tensor_desc *desc; /* [n_tensors] */
    int *type;                      /* [n_tensors] ggml type of each */
    uint64_t *key;                  /* [n_tensors] PRNG stream key of each */
    float *scale;                   /* [n_tensors] multiplier of u */
    float *offset;                  /* [n_tensors] added after scaling */
    int n_threads;                  /* for filling tensors; output never depends on it */
};

/*
 * Prepare g for spec s and describe the whole file to w (metadata and
 * tensors with fill callbacks that read g: g must outlive the write).
 * Returns 0, or -1 with err set. gen_free(g) in either case.
 */
int gen_describe(struct gen *g, const struct spec *s, int n_threads, struct gguf_writer *w,
                 struct plumb_err *err);

void gen_free(struct gen *g);

/* The float drawn for element j of tensor t, before conversion to its type. */
float gen_weight(const struct gen *g, int64_t t, int64_t j);

/* Generate spec s into path atomically. Errors name the path or the spec. */
int gen_write_file(const struct spec *s, const char *path, int n_threads, struct plumb_err *err);

/* Square root by Newton's method from a fixed start: exact operations only,
 * so the result is the same on every machine. Accurate to within 1 ulp of
 * the double result for 1e-12 <= x <= 1e12. */
double gen_sqrt(double x);

#endif
