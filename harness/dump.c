/*
 * dump.c: capture, write and read activation dumps. See dump.h.
 */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "buildinfo.h"
#include "dtype.h"
#include "outfile.h"
#include "version.h"

void dump_init(struct dump *d)
{
    memset(d, 0, sizeof *d);
}

void dump_free(struct dump *d)
{
    if (d->owned)
        for (int64_t i = 0; i < d->n_taps; i++)
            free(d->owned[i]);
    free(d->owned);
    free(d->owned_cap);
    free(d->taps);
    gguf_close(&d->gguf);
    free(d->bytes);
    memset(d, 0, sizeof *d);
}

const struct dump_tap *dump_find(const struct dump *d, const char *name)
{
    for (int64_t i = 0; i < d->n_taps; i++)
        if (!strcmp(d->taps[i].name, name))
            return &d->taps[i];
    return NULL;
}

/* ---- capture ---- */

static int dump_grow_taps(struct dump *d, struct plumb_err *err)
{
    if (d->n_taps < d->cap_taps)
        return 0;
    int64_t cap = d->cap_taps ? d->cap_taps * 2 : 64;
    struct dump_tap *taps = realloc(d->taps, (size_t)cap * sizeof *taps);
    if (taps)
        d->taps = taps;
    float **owned = taps ? realloc(d->owned, (size_t)cap * sizeof *owned) : NULL;
    if (owned)
        d->owned = owned;
    int64_t *owned_cap = owned ? realloc(d->owned_cap, (size_t)cap * sizeof *owned_cap) : NULL;
    if (!owned_cap)
        return err_set(err, "dump: out of memory");
    d->owned_cap = owned_cap;
    d->cap_taps = cap;
    return 0;
}

int dump_capture_tap(void *ctx, const char *name, const float *data, int64_t width, int64_t n_tok,
                     int64_t pos0, struct plumb_err *err)
{
    struct dump *d = ctx;
    int64_t i = 0;
    while (i < d->n_taps && strcmp(d->taps[i].name, name) != 0)
        i++;
    if (i == d->n_taps) {
        if (strlen(name) >= DUMP_NAME_MAX)
            return err_set(err, "dump: tap name '%s' is too long", name);
        if (dump_grow_taps(d, err) != 0)
            return -1;
        struct dump_tap *t = &d->taps[i];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->width = width;
        d->owned[i] = NULL;
        d->owned_cap[i] = 0;
        d->n_taps++;
    }
    struct dump_tap *t = &d->taps[i];
    if (t->width != width)
        return err_set(err, "dump: tap '%s' changed width from %lld to %lld", name,
                       (long long)t->width, (long long)width);
    if (pos0 != t->n_pos)
        return err_set(err, "dump: tap '%s' continues at position %lld, expected %lld", name,
                       (long long)pos0, (long long)t->n_pos);
    int64_t need = (t->n_pos + n_tok) * width;
    if (need > d->owned_cap[i]) {
        int64_t cap = d->owned_cap[i] ? d->owned_cap[i] * 2 : need;
        if (cap < need)
            cap = need;
        float *buf = realloc(d->owned[i], (size_t)cap * sizeof *buf);
        if (!buf)
            return err_set(err, "dump: out of memory capturing '%s'", name);
        d->owned[i] = buf;
        d->owned_cap[i] = cap;
    }
    memcpy(d->owned[i] + t->n_pos * width, data, (size_t)(n_tok * width) * sizeof(float));
    t->n_pos += n_tok;
    t->data = d->owned[i];
    return 0;
}

/* ---- write ---- */

struct dump_gz {
    struct outfile out;
    z_stream zs;
    uint8_t buf[1 << 16];
};

/* gguf_sink_fn: deflate the bytes into the outfile. */
static int dump_gz_sink(void *ctx, const void *data, size_t n, struct plumb_err *err)
{
    struct dump_gz *gz = ctx;
    gz->zs.next_in = (Bytef *)(uintptr_t)data;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        gz->zs.avail_in = chunk;
        n -= chunk;
        do {
            gz->zs.next_out = gz->buf;
            gz->zs.avail_out = sizeof gz->buf;
            if (deflate(&gz->zs, Z_NO_FLUSH) == Z_STREAM_ERROR)
                return err_set(err, "%s: compression failed", gz->out.path);
            if (outfile_write(&gz->out, gz->buf, sizeof gz->buf - gz->zs.avail_out, err) != 0)
                return -1;
        } while (gz->zs.avail_out == 0);
    }
    return 0;
}

static int dump_gz_finish(struct dump_gz *gz, struct plumb_err *err)
{
    int rc;
    do {
        gz->zs.next_out = gz->buf;
        gz->zs.avail_out = sizeof gz->buf;
        rc = deflate(&gz->zs, Z_FINISH);
        if (rc == Z_STREAM_ERROR)
            return err_set(err, "%s: compression failed", gz->out.path);
        if (outfile_write(&gz->out, gz->buf, sizeof gz->buf - gz->zs.avail_out, err) != 0)
            return -1;
    } while (rc != Z_STREAM_END);
    return 0;
}

int dump_write(const struct dump *d, const struct dump_provenance *p, const char *path,
               struct plumb_err *err)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    char date[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);

    gguf_writer_str(&w, "general.architecture", "plumb-dump");
    gguf_writer_str(&w, "plumb.version", PLUMB_VERSION);
    gguf_writer_str(&w, "plumb.model.file", p->model_file ? p->model_file : "");
    gguf_writer_str(&w, "plumb.model.sha256", p->model_sha256 ? p->model_sha256 : "");
    gguf_writer_arr(&w, "plumb.tokens", GGUF_VTYPE_I32, p->tokens, (uint64_t)p->n_tokens);
    gguf_writer_str(&w, "plumb.kernels", p->kernels ? p->kernels : "scalar");
    gguf_writer_u32(&w, "plumb.threads", (uint32_t)p->threads);
    gguf_writer_str(&w, "plumb.compiler", buildinfo_compiler());
    gguf_writer_str(&w, "plumb.cflags", buildinfo_cflags());
    gguf_writer_str(&w, "plumb.arch", buildinfo_arch());
    gguf_writer_str(&w, "plumb.date", date);
    for (int64_t i = 0; i < d->n_taps; i++) {
        const struct dump_tap *t = &d->taps[i];
        int64_t ne[2] = {t->width, t->n_pos};
        gguf_writer_tensor(&w, t->name, PLUMB_TYPE_F32, 2, ne, t->data,
                           (size_t)(t->width * t->n_pos) * sizeof(float));
    }
    if (w.failed) {
        err_set(err, "%s: %s", path, w.err.msg);
        gguf_writer_free(&w);
        return -1;
    }

    struct dump_gz *gz = calloc(1, sizeof *gz);
    if (!gz) {
        gguf_writer_free(&w);
        return err_set(err, "%s: out of memory", path);
    }
    int rc = -1;
    /* windowBits 15 + 16: a gzip header and CRC-32 trailer */
    if (deflateInit2(&gz->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        err_set(err, "%s: cannot start compression", path);
        goto done_nozs;
    }
    if (outfile_open(&gz->out, path, err) != 0)
        goto done;
    if (gguf_writer_write(&w, dump_gz_sink, gz, err) != 0 || dump_gz_finish(gz, err) != 0) {
        outfile_abort(&gz->out);
        goto done;
    }
    rc = outfile_commit(&gz->out, err);
done:
    deflateEnd(&gz->zs);
done_nozs:
    free(gz);
    gguf_writer_free(&w);
    return rc;
}

/* ---- read ---- */

/*
 * Inflate n bytes of gzip data at gz (one gzip member and nothing after it)
 * into d->bytes / d->n_bytes, refusing more than max_bytes of output: the
 * buffer never grows past max_bytes + 1, the one byte too many that proves
 * the limit is exceeded, so a bomb stops as soon as it gets there. name is
 * for messages.
 */
static int dump_inflate(struct dump *d, const uint8_t *gz, size_t n, uint64_t max_bytes,
                        const char *name, struct plumb_err *err)
{
    if (n == 0)
        return err_set(err, "%s: empty file, expected a gzip-compressed GGUF dump", name);
    if (max_bytes >= SIZE_MAX)
        max_bytes = SIZE_MAX - 1;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) /* gzip only */
        return err_set(err, "%s: cannot start decompression", name);
    /* First guess: 4x the input (float data compresses little), within
     * [64 KiB, max_bytes + 1]; then doubling. */
    uint64_t limit = max_bytes + 1;
    uint64_t guess = n < (UINT64_C(1) << 60) ? 4 * (uint64_t)n : limit;
    size_t cap = (size_t)(guess < (1u << 16) ? (1u << 16) : guess);
    if (cap > limit)
        cap = (size_t)limit;
    d->bytes = malloc(cap);
    d->n_bytes = 0;
    size_t fed = 0; /* input bytes handed to zlib so far */
    int rc = -1, zrc = Z_OK;
    if (!d->bytes) {
        err_set(err, "%s: out of memory", name);
        goto done;
    }
    for (;;) {
        if (zs.avail_in == 0 && fed < n) {
            size_t chunk = n - fed > (1u << 30) ? (1u << 30) : n - fed;
            zs.next_in = (Bytef *)(uintptr_t)(gz + fed);
            zs.avail_in = (uInt)chunk;
            fed += chunk;
        }
        if (d->n_bytes == cap) {
            if (cap >= limit) {
                err_set(err, "%s: decompresses to more than %llu bytes; refusing", name,
                        (unsigned long long)max_bytes);
                goto done;
            }
            size_t ncap = (uint64_t)cap * 2 > limit ? (size_t)limit : cap * 2;
            uint8_t *nb = realloc(d->bytes, ncap);
            if (!nb) {
                err_set(err, "%s: out of memory inflating", name);
                goto done;
            }
            d->bytes = nb;
            cap = ncap;
        }
        size_t room = cap - d->n_bytes;
        zs.next_out = d->bytes + d->n_bytes;
        zs.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
        uInt before = zs.avail_out;
        zrc = inflate(&zs, Z_NO_FLUSH);
        d->n_bytes += before - zs.avail_out;
        if (zrc == Z_STREAM_END)
            break;
        if (zrc == Z_DATA_ERROR) {
            err_set(err, "%s: corrupt gzip data (%s)", name,
                    zs.msg ? zs.msg : (n <= 18 ? "not a gzip file" : "bad data"));
            goto done;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            err_set(err, "%s: decompression failed (zlib %d)", name, zrc);
            goto done;
        }
        /* Output room left but no input: the stream stops before its end. */
        if (zs.avail_in == 0 && fed == n && zs.avail_out > 0) {
            err_set(err, "%s: truncated: the gzip stream ends early", name);
            goto done;
        }
    }
    if (d->n_bytes > max_bytes) { /* the stream ended just past the limit */
        err_set(err, "%s: decompresses to more than %llu bytes; refusing", name,
                (unsigned long long)max_bytes);
        goto done;
    }
    if (zs.avail_in > 0 || fed < n) {
        err_set(err, "%s: data after the end of the gzip stream", name);
        goto done;
    }
    rc = 0;
done:
    inflateEnd(&zs);
    return rc;
}

/* Inflate, validate as GGUF, index the taps: what dump_read and
 * dump_read_memory share. d is freshly initialised. */
static int dump_load(struct dump *d, const uint8_t *gz, size_t n, uint64_t max_bytes,
                     const char *name, struct plumb_err *err)
{
    d->is_read = true;
    if (dump_inflate(d, gz, n, max_bytes, name, err) != 0)
        return -1;
    /* GGUF offsets in messages count in the inflated bytes: say so. */
    char gname[PLUMB_ERR_MAX];
    snprintf(gname, sizeof gname, "%s (after gunzip)", name);
    if (gguf_open_memory(&d->gguf, d->bytes, d->n_bytes, gname, err) != 0)
        return -1;
    const struct gguf_ctx *g = &d->gguf;
    d->taps = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *d->taps);
    if (!d->taps)
        return err_set(err, "%s: out of memory", name);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = &g->tensors[i];
        if (t->type != PLUMB_TYPE_F32)
            return err_set(err, "%s: tap '%s' has type %s, expected f32", name, t->name,
                           dtype_name(t->type));
        if (t->n_dims != 2)
            return err_set(err, "%s: tap '%s' has %u dimensions, expected 2 [width, positions]",
                           name, t->name, t->n_dims);
        if (strlen(t->name) >= DUMP_NAME_MAX)
            return err_set(err, "%s: tap name '%s' is too long", name, t->name);
        /* Readers use the floats in place: a general.alignment below 4 can
         * put them at an odd address (d->bytes itself is malloc-aligned). */
        uint64_t at = (uint64_t)g->data_offset + t->offset;
        if (at % sizeof(float) != 0)
            return err_set(err, "%s: tap '%s' data at byte %llu of the GGUF is not %zu-byte"
                           " aligned (general.alignment %u)", name, t->name,
                           (unsigned long long)at, sizeof(float), (unsigned)g->alignment);
        struct dump_tap *dt = &d->taps[i];
        snprintf(dt->name, sizeof dt->name, "%s", t->name);
        dt->width = t->ne[0];
        dt->n_pos = t->ne[1];
        dt->data = t->data;
        d->n_taps++;
    }
    return 0;
}

int dump_read_memory_max(struct dump *d, const void *gz, size_t n, uint64_t max_bytes,
                         const char *name, struct plumb_err *err)
{
    dump_init(d);
    if (n > 0 && !gz)
        return err_set(err, "%s: no buffer for %zu bytes", name, n);
    return dump_load(d, gz, n, max_bytes, name, err);
}

int dump_read_memory(struct dump *d, const void *gz, size_t n, const char *name,
                     struct plumb_err *err)
{
    return dump_read_memory_max(d, gz, n, DUMP_MAX_BYTES, name, err);
}

int dump_read(struct dump *d, const char *path, struct plumb_err *err)
{
    dump_init(d);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err_set(err, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int rc;
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
        /* A regular file is mapped, not copied: its pages are read once, by
         * zlib, and memory holds only the inflated dump. */
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            err_set(err, "%s: cannot map: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        close(fd);
        rc = dump_load(d, m, (size_t)st.st_size, DUMP_MAX_BYTES, path, err);
        munmap(m, (size_t)st.st_size);
        return rc;
    }
    /* Anything else (an empty file, a pipe, a directory) is read through,
     * bounded like the output: a gzip stream is never much larger than what
     * it inflates to. */
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= DUMP_MAX_BYTES) {
                err_set(err, "%s: more than %llu bytes; refusing", path,
                        (unsigned long long)DUMP_MAX_BYTES);
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : (1u << 16);
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                err_set(err, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            err_set(err, "%s: read failed: %s", path, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        /* refuse a stream that is not gzip at its first bytes, not after
         * reading all of /dev/zero */
        if (n >= 2 && (buf[0] != 0x1f || buf[1] != 0x8b)) {
            err_set(err, "%s: not a gzip file (a dump is a gzip-compressed GGUF)", path);
            goto fail;
        }
    }
    close(fd);
    rc = dump_load(d, buf, n, DUMP_MAX_BYTES, path, err);
    free(buf);
    return rc;
fail:
    close(fd);
    free(buf);
    return -1;
}
