/*
 * dequant.c: `xc-dequant FILE.gguf OUT.f32`: every tensor of a GGUF file
 * converted to float by plumb's own converters (the dtype table the engine
 * uses), written as raw little-endian binary32, tensor after tensor in file
 * order, n_elements floats each, nothing in between.
 *
 * A helper of the cross-check (tools/crosscheck/check_gguf_py.py compares
 * these floats with gguf-py's dequantizers bit for bit); it is not part of
 * the plumb CLI. Exit 0 when written; 2 with one line `xc-dequant: FILE:
 * reason` when the file is invalid, holds a tensor plumb cannot convert, or
 * the output cannot be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "gguf.h"

/* Convert tensor t and append its floats to fp. Returns 0, or -1 with err
 * set. The conversion goes block by block through a small buffer, so a
 * tensor of any size needs no more memory than one chunk. */
static int dequant_tensor(FILE *fp, const struct gguf_tensor *t, const char *out,
                          struct plumb_err *err)
{
    enum { CHUNK = 1 << 16 }; /* floats per write: a multiple of every block size */
    const struct dtype_traits *tr = dtype_traits(t->type);
    if (!tr || !tr->to_float)
        return err_set(err, "tensor '%s' has type %s, which plumb cannot convert to float",
                       t->name, dtype_name(t->type));
    if (CHUNK % tr->blck_size != 0 || t->n_elements % tr->blck_size != 0)
        return err_set(err, "tensor '%s': %lld elements are not whole blocks of %lld", t->name,
                       (long long)t->n_elements, (long long)tr->blck_size);
    static float buf[CHUNK];
    const char *src = t->data;
    for (int64_t done = 0; done < t->n_elements;) {
        int64_t n = t->n_elements - done < CHUNK ? t->n_elements - done : CHUNK;
        tr->to_float(src + (size_t)(done / tr->blck_size) * tr->type_size, buf, n);
        if (fwrite(buf, sizeof(float), (size_t)n, fp) != (size_t)n)
            return err_set(err, "%s: write failed", out);
        done += n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr, "usage: xc-dequant FILE.gguf OUT.f32\n");
        return argc == 2 ? 0 : 2;
    }
    if (!dtype_host_is_little_endian()) {
        fprintf(stderr, "xc-dequant: this host is big-endian; plumb runs on little-endian hosts\n");
        return 2;
    }
    struct gguf_ctx g;
    struct plumb_err err = {{0}};
    memset(&g, 0, sizeof g);
    FILE *fp = NULL;
    if (gguf_open(&g, argv[1], &err) != 0)
        goto fail;
    fp = fopen(argv[2], "wb");
    if (!fp) {
        err_set(&err, "%s: cannot create", argv[2]);
        goto fail;
    }
    for (uint64_t i = 0; i < g.n_tensors; i++)
        if (dequant_tensor(fp, &g.tensors[i], argv[2], &err) != 0) {
            if (strncmp(err.msg, argv[2], strlen(argv[2])) != 0)
                err_prefix(&err, "%s", argv[1]);
            goto fail;
        }
    if (fclose(fp) != 0) {
        fp = NULL;
        err_set(&err, "%s: write failed", argv[2]);
        goto fail;
    }
    gguf_close(&g);
    return 0;
fail:
    if (fp)
        fclose(fp);
    fprintf(stderr, "xc-dequant: %s\n", err.msg); /* the message names the file */
    gguf_close(&g);
    return 2;
}
