/*
 * cmd_inspect.c: `plumb inspect FILE.gguf [--json]`: validate a GGUF file and
 * describe it: header, metadata (long arrays summarised in the text form),
 * tensors with type, shape, offset and size, and a verdict. Exit 0 for a
 * valid file, 2 with the one-line reason for an invalid one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dtype.h"
#include "gguf.h"
#include "json.h"
#include "llama_layout.h"

#define INSPECT_ARRAY_SHOWN 8   /* elements of an array shown in text form */
#define INSPECT_STRING_SHOWN 60 /* bytes of a string shown in text form */

static void inspect_help(void)
{
    printf("usage: plumb inspect FILE.gguf [--json]\n\n"
           "Validate FILE.gguf strictly (every count, size and offset against the\n"
           "file) and describe it. Exit 0 when valid, 2 with the reason otherwise.\n\n"
           "  --json   machine-readable output: every metadata value in full\n");
}

/* A scalar as double/int for printing. */
static void inspect_scalar_text(FILE *fp, enum gguf_vtype t, const uint8_t *p)
{
    switch (t) {
    case GGUF_VTYPE_U8: fprintf(fp, "%u", (unsigned)p[0]); break;
    case GGUF_VTYPE_I8: fprintf(fp, "%d", (int)(int8_t)p[0]); break;
    case GGUF_VTYPE_BOOL: fputs(p[0] ? "true" : "false", fp); break;
    case GGUF_VTYPE_U16: { uint16_t v; memcpy(&v, p, 2); fprintf(fp, "%u", (unsigned)v); break; }
    case GGUF_VTYPE_I16: { int16_t v; memcpy(&v, p, 2); fprintf(fp, "%d", (int)v); break; }
    case GGUF_VTYPE_U32: { uint32_t v; memcpy(&v, p, 4); fprintf(fp, "%" PRIu32, v); break; }
    case GGUF_VTYPE_I32: { int32_t v; memcpy(&v, p, 4); fprintf(fp, "%" PRId32, v); break; }
    case GGUF_VTYPE_U64: { uint64_t v; memcpy(&v, p, 8); fprintf(fp, "%" PRIu64, v); break; }
    case GGUF_VTYPE_I64: { int64_t v; memcpy(&v, p, 8); fprintf(fp, "%" PRId64, v); break; }
    case GGUF_VTYPE_F32: { float v; memcpy(&v, p, 4); fprintf(fp, "%.9g", (double)v); break; }
    case GGUF_VTYPE_F64: { double v; memcpy(&v, p, 8); fprintf(fp, "%.17g", v); break; }
    default: fputs("?", fp); break;
    }
}

static void inspect_scalar_json(struct json *j, enum gguf_vtype t, const uint8_t *p)
{
    switch (t) {
    case GGUF_VTYPE_U8: json_uint(j, p[0]); break;
    case GGUF_VTYPE_I8: json_int(j, (int8_t)p[0]); break;
    case GGUF_VTYPE_BOOL: json_bool(j, p[0] != 0); break;
    case GGUF_VTYPE_U16: { uint16_t v; memcpy(&v, p, 2); json_uint(j, v); break; }
    case GGUF_VTYPE_I16: { int16_t v; memcpy(&v, p, 2); json_int(j, v); break; }
    case GGUF_VTYPE_U32: { uint32_t v; memcpy(&v, p, 4); json_uint(j, v); break; }
    case GGUF_VTYPE_I32: { int32_t v; memcpy(&v, p, 4); json_int(j, v); break; }
    case GGUF_VTYPE_U64: { uint64_t v; memcpy(&v, p, 8); json_uint(j, v); break; }
    case GGUF_VTYPE_I64: { int64_t v; memcpy(&v, p, 8); json_int(j, v); break; }
    case GGUF_VTYPE_F32: { float v; memcpy(&v, p, 4); json_f32(j, v); break; }
    case GGUF_VTYPE_F64: { double v; memcpy(&v, p, 8); json_f64(j, v); break; }
    default: json_null(j); break;
    }
}

/* A string in text form: quoted, shortened, control bytes escaped. */
static void inspect_string_text(FILE *fp, const uint8_t *s, uint64_t len)
{
    uint64_t shown = len < INSPECT_STRING_SHOWN ? len : INSPECT_STRING_SHOWN;
    fputc('"', fp);
    for (uint64_t i = 0; i < shown; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(fp, "\\x%02x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
    if (shown < len)
        fprintf(fp, "... (%" PRIu64 " bytes)", len);
}

static void inspect_value_text(FILE *fp, const struct gguf_value *v, int depth)
{
    if (v->type == GGUF_VTYPE_STRING) {
        inspect_string_text(fp, v->data, v->len);
    } else if (v->type == GGUF_VTYPE_ARRAY) {
        fprintf(fp, "[%s x %" PRIu64 "] [", gguf_vtype_name(v->elem_type), v->len);
        uint64_t shown = v->len < INSPECT_ARRAY_SHOWN ? v->len : INSPECT_ARRAY_SHOWN;
        if (depth > 0)
            shown = v->len < 3 ? v->len : 3;
        size_t esize = gguf_vtype_size(v->elem_type);
        for (uint64_t i = 0; i < shown; i++) {
            if (i)
                fputs(", ", fp);
            if (v->elems)
                inspect_value_text(fp, &v->elems[i], depth + 1);
            else
                inspect_scalar_text(fp, v->elem_type, v->data + i * esize);
        }
        fputs(shown < v->len ? ", ...]" : "]", fp);
    } else {
        inspect_scalar_text(fp, v->type, v->data);
    }
}

static void inspect_value_json(struct json *j, const struct gguf_value *v)
{
    if (v->type == GGUF_VTYPE_STRING) {
        json_strn(j, (const char *)v->data, (size_t)v->len);
    } else if (v->type == GGUF_VTYPE_ARRAY) {
        size_t esize = gguf_vtype_size(v->elem_type);
        json_begin_array(j);
        for (uint64_t i = 0; i < v->len; i++) {
            if (v->elems)
                inspect_value_json(j, &v->elems[i]);
            else
                inspect_scalar_json(j, v->elem_type, v->data + i * esize);
        }
        json_end_array(j);
    } else {
        inspect_scalar_json(j, v->type, v->data);
    }
}

static void inspect_shape(char *buf, size_t n, const struct gguf_tensor *t)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t d = 0; d < t->n_dims && used < n; d++)
        used += (size_t)snprintf(buf + used, n - used, d ? " x %" PRId64 : "%" PRId64, t->ne[d]);
}

/* Read a llama hyper-parameter for the verdict; false when absent or odd. */
static bool inspect_u64(const struct gguf_ctx *g, const char *key, int64_t *out)
{
    const struct gguf_value *v = gguf_get(g, key);
    uint64_t u;
    if (!v || gguf_value_u64(v, key, &u, NULL) != 0 || u > INT64_MAX)
        return false;
    *out = (int64_t)u;
    return true;
}

/*
 * For a llama file: compare the tensors with the layout its metadata
 * implies. Writes a one-line summary into msg. This is a description, not a
 * validity check: a GGUF file is valid whatever model it holds.
 */
static void inspect_llama_verdict(const struct gguf_ctx *g, char *msg, size_t n)
{
    struct llama_hparams hp = {0};
    int64_t n_vocab = 0;
    const struct gguf_value *toks = gguf_get(g, "tokenizer.ggml.tokens");
    if (!inspect_u64(g, "llama.vocab_size", &n_vocab) && toks && toks->type == GGUF_VTYPE_ARRAY)
        n_vocab = (int64_t)toks->len;
    hp.n_vocab = n_vocab;
    if (!inspect_u64(g, "llama.embedding_length", &hp.dim) ||
        !inspect_u64(g, "llama.block_count", &hp.n_layers) ||
        !inspect_u64(g, "llama.attention.head_count", &hp.n_heads) ||
        !inspect_u64(g, "llama.feed_forward_length", &hp.ffn_dim) ||
        !inspect_u64(g, "llama.context_length", &hp.n_ctx)) {
        snprintf(msg, n, "llama metadata incomplete (no model shape to check tensors against)");
        return;
    }
    if (!inspect_u64(g, "llama.attention.head_count_kv", &hp.n_kv_heads))
        hp.n_kv_heads = hp.n_heads;
    hp.n_rot = hp.n_heads ? hp.dim / hp.n_heads : 0;
    inspect_u64(g, "llama.rope.dimension_count", &hp.n_rot);
    hp.rope_base = 10000.0f;
    hp.rms_eps = 1e-5f;
    hp.tied_output = gguf_find_tensor(g, "output.weight") < 0;
    struct plumb_err err;
    if (llama_layout_check(&hp, &err) != 0) {
        snprintf(msg, n, "llama metadata inconsistent: %.400s", err.msg);
        return;
    }
    int64_t count = llama_layout_count(&hp);
    for (int64_t i = 0; i < count; i++) {
        struct llama_tensor_desc d;
        llama_layout_get(&hp, i, &d);
        const struct gguf_tensor *t = gguf_get_tensor(g, d.name);
        if (!t) {
            snprintf(msg, n, "llama layout: tensor '%s' missing", d.name);
            return;
        }
        if (t->ne[0] != d.ne[0] || t->ne[1] != d.ne[1] || t->ne[2] != 1 || t->ne[3] != 1) {
            snprintf(msg, n, "llama layout: tensor '%s' has shape %" PRId64 " x %" PRId64
                     ", expected %" PRId64 " x %" PRId64, d.name, t->ne[0], t->ne[1], d.ne[0], d.ne[1]);
            return;
        }
    }
    snprintf(msg, n, "llama model: %" PRId64 " layers, %" PRId64 " heads (%" PRId64
             " kv), dim %" PRId64 ", ffn %" PRId64 ", vocab %" PRId64 ", %s output; all %" PRId64
             " tensors present with the expected shapes", hp.n_layers, hp.n_heads, hp.n_kv_heads,
             hp.dim, hp.ffn_dim, hp.n_vocab, hp.tied_output ? "tied" : "separate", count);
}

static void inspect_verdict(const struct gguf_ctx *g, char *msg, size_t n)
{
    const struct gguf_value *arch = gguf_get(g, "general.architecture");
    if (arch && arch->type == GGUF_VTYPE_STRING && arch->len == 5 &&
        !memcmp(arch->data, "llama", 5))
        inspect_llama_verdict(g, msg, n);
    else if (arch && arch->type == GGUF_VTYPE_STRING)
        snprintf(msg, n, "architecture '%.*s' (plumb runs llama only)", (int)(arch->len < 40 ? arch->len : 40),
                 (const char *)arch->data);
    else
        snprintf(msg, n, "no general.architecture (not a model plumb can run)");
}

static int inspect_text(const struct gguf_ctx *g)
{
    printf("file       %s (%zu bytes)\n", g->path, g->size);
    printf("gguf       v%" PRIu32 ", alignment %" PRIu32 ", data section at offset %zu (%zu bytes)\n",
           g->version, g->alignment, g->data_offset, g->data_size);
    printf("metadata   %" PRIu64 " keys\n", g->n_kv);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv *kv = &g->kv[i];
        printf("  %-42s %-7s ", kv->key, gguf_vtype_name(kv->value.type));
        inspect_value_text(stdout, &kv->value, 0);
        putchar('\n');
    }
    printf("tensors    %" PRIu64 "\n", g->n_tensors);
    if (g->n_tensors)
        printf("  %-32s %-8s %-20s %12s %12s\n", "name", "type", "shape (ne)", "offset", "bytes");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = &g->tensors[i];
        char shape[96];
        inspect_shape(shape, sizeof shape, t);
        printf("  %-32s %-8s %-20s %12" PRIu64 " %12zu\n", t->name, dtype_name(t->type), shape,
               t->offset, t->size);
    }
    char verdict[PLUMB_ERR_MAX];
    inspect_verdict(g, verdict, sizeof verdict);
    printf("verdict    valid GGUF v%" PRIu32 "; %s\n", g->version, verdict);
    return CLI_OK;
}

static int inspect_json(const struct gguf_ctx *g)
{
    struct json j;
    json_init(&j, stdout, true);
    json_begin_object(&j);
    json_key(&j, "file"); json_str(&j, g->path);
    json_key(&j, "valid"); json_bool(&j, true);
    json_key(&j, "size"); json_uint(&j, g->size);
    json_key(&j, "version"); json_uint(&j, g->version);
    json_key(&j, "alignment"); json_uint(&j, g->alignment);
    json_key(&j, "data_offset"); json_uint(&j, g->data_offset);
    json_key(&j, "metadata");
    json_begin_array(&j);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv *kv = &g->kv[i];
        json_begin_object(&j);
        json_key(&j, "key"); json_str(&j, kv->key);
        json_key(&j, "type"); json_str(&j, gguf_vtype_name(kv->value.type));
        if (kv->value.type == GGUF_VTYPE_ARRAY) {
            json_key(&j, "elem_type"); json_str(&j, gguf_vtype_name(kv->value.elem_type));
            json_key(&j, "count"); json_uint(&j, kv->value.len);
        }
        json_key(&j, "value"); inspect_value_json(&j, &kv->value);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "tensors");
    json_begin_array(&j);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = &g->tensors[i];
        json_begin_object(&j);
        json_key(&j, "name"); json_str(&j, t->name);
        json_key(&j, "type"); json_str(&j, dtype_name(t->type));
        json_key(&j, "type_id"); json_int(&j, t->type);
        json_key(&j, "shape");
        json_begin_array(&j);
        for (uint32_t d = 0; d < t->n_dims; d++)
            json_int(&j, t->ne[d]);
        json_end_array(&j);
        json_key(&j, "offset"); json_uint(&j, t->offset);
        json_key(&j, "size"); json_uint(&j, t->size);
        json_end_object(&j);
    }
    json_end_array(&j);
    char verdict[PLUMB_ERR_MAX];
    inspect_verdict(g, verdict, sizeof verdict);
    json_key(&j, "verdict"); json_str(&j, verdict);
    json_end_object(&j);
    json_finish(&j); /* a write that failed is main()'s to report, from stdout's error flag */
    return CLI_OK;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            inspect_help();
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            as_json = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("inspect", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage("inspect", "one file at a time, got '%s' and '%s'", path, a);
        }
    }
    if (!path)
        return cli_usage("inspect", "missing FILE.gguf");

    struct gguf_ctx g = {0};
    struct plumb_err err = {{0}};
    if (gguf_open(&g, path, &err) != 0) {
        if (as_json) {
            struct json j;
            json_init(&j, stdout, true);
            json_begin_object(&j);
            json_key(&j, "file"); json_str(&j, path);
            json_key(&j, "valid"); json_bool(&j, false);
            json_key(&j, "error"); json_str(&j, err.msg);
            json_end_object(&j);
            json_finish(&j);
        }
        return cli_error(&err);
    }
    int rc = as_json ? inspect_json(&g) : inspect_text(&g);
    gguf_close(&g);
    return rc;
}
