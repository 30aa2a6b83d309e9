/*
 * dtype.h: ggml tensor types: ids, block geometry, and conversion to and from
 * float.
 *
 * One table of traits, indexed by the ggml type id as it is stored in a GGUF
 * tensor info. Every id ggml currently defines has an entry (name, elements
 * per block, bytes per block), so the GGUF reader can validate and `plumb
 * inspect` can describe any file ggml can read. Conversion functions exist for
 * the types plumb computes with; the others have NULL converters, and code
 * that needs to compute with a tensor asks dtype_can_dequantize() first.
 *
 * Retired ids (4, 5, 31-33, 36-38) and ids past the table are unknown:
 * dtype_traits() returns NULL for them.
 *
 * Conversions are the reference (scalar, no intrinsics) definitions, bit-exact
 * with ggml's reference dequantizers; the quantizers follow ggml's `_ref`
 * rounding. The block layouts are drawn in quants.c.
 *
 * plumb assumes a little-endian host, as GGUF v3 files are little-endian;
 * dtype_host_is_little_endian() lets callers refuse to run elsewhere.
 */
#ifndef PLUMB_DTYPE_H
#define PLUMB_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum plumb_type {
    PLUMB_TYPE_F32 = 0,
    PLUMB_TYPE_F16 = 1,
    PLUMB_TYPE_Q4_0 = 2,
    PLUMB_TYPE_Q4_1 = 3,
    PLUMB_TYPE_Q5_0 = 6,
    PLUMB_TYPE_Q5_1 = 7,
    PLUMB_TYPE_Q8_0 = 8,
    PLUMB_TYPE_Q8_1 = 9,
    PLUMB_TYPE_Q2_K = 10,
    PLUMB_TYPE_Q3_K = 11,
    PLUMB_TYPE_Q4_K = 12,
    PLUMB_TYPE_Q5_K = 13,
    PLUMB_TYPE_Q6_K = 14,
    PLUMB_TYPE_Q8_K = 15,
    PLUMB_TYPE_IQ2_XXS = 16,
    PLUMB_TYPE_IQ2_XS = 17,
    PLUMB_TYPE_IQ3_XXS = 18,
    PLUMB_TYPE_IQ1_S = 19,
    PLUMB_TYPE_IQ4_NL = 20,
    PLUMB_TYPE_IQ3_S = 21,
    PLUMB_TYPE_IQ2_S = 22,
    PLUMB_TYPE_IQ4_XS = 23,
    PLUMB_TYPE_I8 = 24,
    PLUMB_TYPE_I16 = 25,
    PLUMB_TYPE_I32 = 26,
    PLUMB_TYPE_I64 = 27,
    PLUMB_TYPE_F64 = 28,
    PLUMB_TYPE_IQ1_M = 29,
    PLUMB_TYPE_BF16 = 30,
    PLUMB_TYPE_TQ1_0 = 34,
    PLUMB_TYPE_TQ2_0 = 35,
    PLUMB_TYPE_MXFP4 = 39,
    PLUMB_TYPE_NVFP4 = 40,
    PLUMB_TYPE_Q1_0 = 41,
    PLUMB_TYPE_Q2_0 = 42,
    PLUMB_TYPE_COUNT = 43 /* one past the largest id in the table */
};

/* Convert n elements (a multiple of blck_size) from the packed type to float. */
typedef void (*dtype_to_float_fn)(const void *src, float *dst, int64_t n);
/* Convert n floats (a multiple of blck_size) to the packed type. */
typedef void (*dtype_from_float_fn)(const float *src, void *dst, int64_t n);

/*
 * Traits of one type. Invariant: blck_size >= 1 and type_size >= 1 for every
 * entry; to_float and from_float may be NULL.
 */
struct dtype_traits {
    const char *name;       /* ggml's lower-case name: "f32", "q4_k", ... */
    int64_t blck_size;      /* elements per block */
    size_t type_size;       /* bytes per block */
    bool is_quantized;      /* block-quantized (not a plain scalar type) */
    dtype_to_float_fn to_float;
    dtype_from_float_fn from_float;
};

/* Traits of ggml type id `type`, or NULL when the id is retired or unknown. */
const struct dtype_traits *dtype_traits(int64_t type);

/* The fastest quantizer for `type` that gives exactly from_float's bytes on
 * this CPU (a SIMD version where one exists and the CPU has it), or
 * from_float itself; NULL when the type has none. */
dtype_from_float_fn dtype_quantizer(int64_t type);

/* Name of `type` ("q8_0"), or "unknown" for an id without traits. */
const char *dtype_name(int64_t type);

/* Type id for a name, case-insensitive ("Q4_K" and "q4_k"), or -1. */
int dtype_from_name(const char *name);

/* true when `type` has a to_float converter. */
bool dtype_can_dequantize(int64_t type);

/* true when `type` has a from_float quantizer. */
bool dtype_can_quantize(int64_t type);

/*
 * Bytes taken by a row of ne0 elements of `type`. Returns false (and leaves
 * *size alone) when the type is unknown, ne0 < 1, ne0 is not a multiple of the
 * block size, or the size does not fit in size_t.
 */
bool dtype_row_size(int64_t type, int64_t ne0, size_t *size);

/* IEEE binary16 <-> binary32. to_fp16 rounds to nearest even; NaN stays NaN
 * (quiet), overflow becomes Inf, tiny values become subnormals or zero. */
float dtype_fp16_to_fp32(uint16_t h);
uint16_t dtype_fp32_to_fp16(float f);

/* bfloat16 <-> binary32. to_bf16 rounds to nearest even and keeps NaN a
 * quiet NaN with its sign, as ggml's reference conversion does. */
float dtype_bf16_to_fp32(uint16_t h);
uint16_t dtype_fp32_to_bf16(float f);

/* Row converters for the plain float types (also reachable via the table). */
void dtype_f32_to_float(const void *src, float *dst, int64_t n);
void dtype_f32_from_float(const float *src, void *dst, int64_t n);
void dtype_f16_to_float(const void *src, float *dst, int64_t n);
void dtype_f16_from_float(const float *src, void *dst, int64_t n);
void dtype_bf16_to_float(const void *src, float *dst, int64_t n);
void dtype_bf16_from_float(const float *src, void *dst, int64_t n);

/* true on a little-endian host. */
bool dtype_host_is_little_endian(void);

#endif
