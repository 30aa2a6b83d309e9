/*
 * dump.h: activation dumps: capturing the forward pass's taps, writing them
 * as gzip-compressed GGUF (`.gguf.gz`), and reading them back.
 *
 * A dump file is a GGUF v3 file, gzip-compressed with zlib: one F32 tensor
 * per tap, named as the tap, in execution order, with ne = [width,
 * n_positions] (every evaluated position); provenance in metadata under
 * `plumb.*`. So any GGUF reader opens it after gunzip, and gzip's CRC-32
 * guards it. Files are written through outfile.h (temporary name, rename).
 *
 * Reading inflates the whole file into memory (refusing more than
 * DUMP_MAX_BYTES decompressed: a gzip bomb stops at the limit), then
 * validates it as GGUF and checks each tap is an F32 tensor of two
 * dimensions whose floats are 4-byte aligned. dump_read maps a regular file
 * rather than copying it; dump_read_memory reads gzip bytes already in
 * memory (tests/fuzz/fuzz_dump.c fuzzes it).
 */
#ifndef PLUMB_DUMP_H
#define PLUMB_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gguf.h"

#define DUMP_MAX_BYTES (UINT64_C(8) << 30) /* decompressed size limit */
#define DUMP_NAME_MAX 64

/* One tap: n_pos rows of width floats. */
struct dump_tap {
    char name[DUMP_NAME_MAX];
    int64_t width;
    int64_t n_pos;
    const float *data;   /* into the dump (read) or owned buffer (capture) */
};

/* Provenance written into a dump's metadata (all borrowed strings). */
struct dump_provenance {
    const char *model_file;       /* plumb.model.file */
    const char *model_sha256;     /* plumb.model.sha256, 64 hex digits */
    const int32_t *tokens;        /* plumb.tokens */
    int64_t n_tokens;
    const char *kernels;          /* plumb.kernels: kernel set name */
    int threads;                  /* plumb.threads */
};

/*
 * A dump being captured or read. Capture: dump_init(), then attach
 * dump_capture_tap (a forward_tap_fn) with the dump as its context; rows are
 * appended per tap in execution order. Read: dump_read().
 */
struct dump {
    struct dump_tap *taps;
    int64_t n_taps, cap_taps;
    float **owned;        /* capture: each tap's growing buffer */
    int64_t *owned_cap;   /* capture: floats allocated per tap */
    /* read: */
    uint8_t *bytes;       /* the inflated file */
    size_t n_bytes;
    struct gguf_ctx gguf;
    bool is_read;
};

void dump_init(struct dump *d);
void dump_free(struct dump *d);

/* forward_tap_fn for capture: ctx is a struct dump *. A tap seen before must
 * keep its width and continue at the next position. */
int dump_capture_tap(void *ctx, const char *name, const float *data, int64_t width, int64_t n_tok,
                     int64_t pos0, struct plumb_err *err);

/* Write d to path (gzip, atomic). Errors name the path. */
int dump_write(const struct dump *d, const struct dump_provenance *p, const char *path,
               struct plumb_err *err);

/* Read and validate a dump. Errors name the path and say what is wrong
 * (not gzip, truncated, CRC mismatch, too large, not GGUF, a tensor that is
 * not F32 [width, n_pos] or whose floats are not 4-byte aligned in the
 * GGUF). dump_free() in either case. */
int dump_read(struct dump *d, const char *path, struct plumb_err *err);

/* The same from n bytes of gzip data in memory (borrowed for the call only:
 * d owns the inflated copy). name stands for the path in messages. */
int dump_read_memory(struct dump *d, const void *gz, size_t n, const char *name,
                     struct plumb_err *err);

/* dump_read_memory refusing more than max_bytes decompressed instead of
 * DUMP_MAX_BYTES (how tests show that a gzip bomb stops at the limit). */
int dump_read_memory_max(struct dump *d, const void *gz, size_t n, uint64_t max_bytes,
                         const char *name, struct plumb_err *err);

/* The tap named name, or NULL. */
const struct dump_tap *dump_find(const struct dump *d, const char *name);

#endif
