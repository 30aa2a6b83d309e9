/*
 * spec.c: reading a tiny-model spec (YAML) into a validated struct spec.
 * See spec.h for the format.
 *
 * yamlin (the strict event reader shared with suites and policies) drives a
 * reader that knows the exact shape of a spec: a mapping of scalars, with one
 * nested mapping of scalars under `types`. Any other node (a sequence, a
 * deeper mapping, an alias, an anchor, a tag) is refused at the event that
 * introduces it, so no input is ever expanded (billion laughs) or walked
 * recursively, and the work done is bounded by the input size, itself capped
 * at SPEC_MAX_BYTES.
 *
 * What this is not: a general YAML loader. Numbers are read by plumb's own
 * grammar (decimal only, yamlin.h), not by YAML 1.1 resolution rules, so
 * `010`, `0x10`, `1_000`, `yes` and `.inf` are errors rather than surprises.
 * What stays here is the spec's own knowledge: its keys and their ranges,
 * tensor type names, and the shape and type checks.
 *
 * Invariant: after spec_parse() returns 0 every field of struct spec holds a
 * checked value; after it returns -1 the struct is zeroed.
 */
#include "spec.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "sha256.h"
#include "yamlin.h"

#define SPEC_MAX_BYTES (UINT32_C(1) << 20) /* largest spec file accepted */
#define SPEC_MAX_RULES 256                 /* entries under `types` */
#define SPEC_MAX_STRING 256                /* bytes in name and in a glob */
#define SPEC_MAX_WEIGHTS (INT64_C(1) << 32) /* elements over all tensors */
#define SPEC_MAX_INIT_SCALE 1e6f

enum spec_kind { SPEC_STRING, SPEC_UINT, SPEC_FLOAT, SPEC_BOOL, SPEC_TYPES };

enum spec_key {
    SPEC_KEY_NAME,
    SPEC_KEY_SEED,
    SPEC_KEY_VOCAB,
    SPEC_KEY_DIM,
    SPEC_KEY_LAYERS,
    SPEC_KEY_HEADS,
    SPEC_KEY_KV_HEADS,
    SPEC_KEY_FFN_DIM,
    SPEC_KEY_CONTEXT,
    SPEC_KEY_ROPE_BASE,
    SPEC_KEY_ROPE_DIMS,
    SPEC_KEY_RMS_EPS,
    SPEC_KEY_INIT_SCALE,
    SPEC_KEY_TIED_OUTPUT,
    SPEC_KEY_TYPES,
    SPEC_KEY_COUNT
};

/* Every top-level key: its value's kind, whether it must be present, and for
 * integers the accepted range. The ranges keep every later product of
 * dimensions far from int64 overflow. */
static const struct spec_key_info {
    const char *name;
    enum spec_kind kind;
    bool required;
    uint64_t min, max;
} spec_keys[SPEC_KEY_COUNT] = {
    [SPEC_KEY_NAME] = {"name", SPEC_STRING, true, 0, 0},
    [SPEC_KEY_SEED] = {"seed", SPEC_UINT, true, 0, UINT64_MAX},
    [SPEC_KEY_VOCAB] = {"vocab", SPEC_UINT, true, 259, UINT64_C(1) << 24},
    [SPEC_KEY_DIM] = {"dim", SPEC_UINT, true, 1, UINT64_C(1) << 20},
    [SPEC_KEY_LAYERS] = {"layers", SPEC_UINT, true, 1, 1024},
    [SPEC_KEY_HEADS] = {"heads", SPEC_UINT, true, 1, UINT64_C(1) << 20},
    [SPEC_KEY_KV_HEADS] = {"kv_heads", SPEC_UINT, false, 1, UINT64_C(1) << 20},
    [SPEC_KEY_FFN_DIM] = {"ffn_dim", SPEC_UINT, true, 1, UINT64_C(1) << 20},
    [SPEC_KEY_CONTEXT] = {"context", SPEC_UINT, true, 1, UINT64_C(1) << 24},
    [SPEC_KEY_ROPE_BASE] = {"rope_base", SPEC_FLOAT, false, 0, 0},
    [SPEC_KEY_ROPE_DIMS] = {"rope_dims", SPEC_UINT, false, 1, UINT64_C(1) << 20},
    [SPEC_KEY_RMS_EPS] = {"rms_eps", SPEC_FLOAT, false, 0, 0},
    [SPEC_KEY_INIT_SCALE] = {"init_scale", SPEC_FLOAT, false, 0, 0},
    [SPEC_KEY_TIED_OUTPUT] = {"tied_output", SPEC_BOOL, false, 0, 0},
    [SPEC_KEY_TYPES] = {"types", SPEC_TYPES, false, 0, 0},
};

/* The state of one parse: the YAML reader, and what the keys said. */
struct spec_ctx {
    struct yamlin y;
    int line[SPEC_KEY_COUNT]; /* 1-based line of each key seen, 0 = absent */
    uint64_t u[SPEC_KEY_COUNT];
    float f[SPEC_KEY_COUNT];
    bool b[SPEC_KEY_COUNT];
    int default_line;         /* line of types.default, 0 = absent */
    size_t cap_rules;
};

/* The type named by the current scalar, for the rule `glob`. Refuses names
 * ggml does not know, types plumb has no quantizer for, and the activation
 * types q8_1 and q8_k, which ggml never computes with as weights. */
static int spec_read_type(struct spec_ctx *c, const char *glob, int *out)
{
    char found[YAMLIN_FOUND_SIZE], shown[YAMLIN_SHOW_SIZE];
    char key[300];
    int line = yamlin_line(&c->y);
    snprintf(key, sizeof key, "types: '%s'", yamlin_show(shown, glob, strlen(glob)));
    if (!yamlin_is_scalar(&c->y))
        return yamlin_fail(&c->y, line, key, "expected a tensor type name, found %s",
                           yamlin_found(&c->y, found));
    const char *v = (const char *)c->y.ev.data.scalar.value;
    size_t len = c->y.ev.data.scalar.length;
    int type = memchr(v, '\0', len) ? -1 : dtype_from_name(v);
    if (type < 0)
        return yamlin_fail(&c->y, line, key, "unknown tensor type '%s'",
                           yamlin_show(shown, v, len));
    if (type == PLUMB_TYPE_Q8_1 || type == PLUMB_TYPE_Q8_K)
        return yamlin_fail(&c->y, line, key,
                           "%s cannot be generated: an activation type, not a weight type",
                           dtype_name(type));
    if (!dtype_can_quantize(type))
        return yamlin_fail(&c->y, line, key, "%s cannot be generated: no reference quantizer",
                           dtype_name(type));
    *out = type;
    return 0;
}

/* The `types` mapping: glob -> type name, in file order; `default` sets the
 * type of unmatched 2-D tensors. */
static int spec_read_types(struct spec_ctx *c, struct spec *s)
{
    char found[YAMLIN_FOUND_SIZE], shown[YAMLIN_SHOW_SIZE];
    if (yamlin_expect_mapping_start(&c->y, "types", "a mapping of glob: type") < 0)
        return -1;
    for (;;) {
        if (yamlin_next(&c->y) < 0)
            return -1;
        if (c->y.ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        int line = yamlin_line(&c->y);
        char *glob = NULL;
        if (!yamlin_is_scalar(&c->y))
            return yamlin_fail(&c->y, line, "types", "expected a glob, found %s",
                               yamlin_found(&c->y, found));
        if (yamlin_read_text(&c->y, "types", "a glob", SPEC_MAX_STRING, &glob) < 0)
            return -1;
        bool is_default = strcmp(glob, "default") == 0;
        int first = 0;
        if (is_default)
            first = c->default_line;
        for (size_t i = 0; i < s->n_rules && !first; i++)
            if (strcmp(s->rules[i].glob, glob) == 0)
                first = s->rules[i].line;
        if (first) {
            yamlin_fail(&c->y, line, "types", "duplicate key '%s' (first at line %d)",
                        yamlin_show(shown, glob, strlen(glob)), first);
            free(glob);
            return -1;
        }
        if (!is_default && s->n_rules == SPEC_MAX_RULES) {
            free(glob);
            return yamlin_fail(&c->y, line, "types", "more than %d rules", SPEC_MAX_RULES);
        }
        int type = 0;
        if (yamlin_next(&c->y) < 0 || spec_read_type(c, glob, &type) < 0) {
            free(glob);
            return -1;
        }
        if (is_default) {
            free(glob);
            s->default_type = type;
            c->default_line = line;
            continue;
        }
        if (s->n_rules == c->cap_rules) {
            size_t cap = c->cap_rules ? 2 * c->cap_rules : 8;
            struct spec_type_rule *r = realloc(s->rules, cap * sizeof *r);
            if (!r) {
                free(glob);
                return yamlin_fail(&c->y, line, "types", "out of memory");
            }
            s->rules = r;
            c->cap_rules = cap;
        }
        s->rules[s->n_rules++] = (struct spec_type_rule){glob, type, line};
    }
}

/* The top-level mapping, key by key; values land in c (or s for strings
 * and rules). */
static int spec_read_top(struct spec_ctx *c, struct spec *s)
{
    if (yamlin_document_start(&c->y) < 0)
        return -1;
    for (;;) {
        if (yamlin_next(&c->y) < 0)
            return -1;
        if (c->y.ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (yamlin_expect_key(&c->y, NULL) < 0)
            return -1;
        int k = 0;
        while (k < SPEC_KEY_COUNT && !yamlin_scalar_is(&c->y, spec_keys[k].name))
            k++;
        if (k == SPEC_KEY_COUNT)
            return yamlin_unknown_key(&c->y, NULL);
        const struct spec_key_info *ki = &spec_keys[k];
        if (yamlin_once(&c->y, ki->name, &c->line[k]) < 0)
            return -1;
        if (yamlin_next(&c->y) < 0)
            return -1;
        int rc = 0;
        switch (ki->kind) {
        case SPEC_STRING:
            rc = yamlin_read_text(&c->y, ki->name, "a non-empty string", SPEC_MAX_STRING, &s->name);
            break;
        case SPEC_UINT: rc = yamlin_read_uint(&c->y, ki->name, ki->min, ki->max, &c->u[k]); break;
        case SPEC_FLOAT: rc = yamlin_read_float(&c->y, ki->name, &c->f[k]); break;
        case SPEC_BOOL: rc = yamlin_read_bool(&c->y, ki->name, &c->b[k]); break;
        case SPEC_TYPES: rc = spec_read_types(c, s); break;
        }
        if (rc < 0)
            return -1;
    }
    return yamlin_document_end(&c->y);
}

/* Index of the first rule whose glob matches `name`, or -1. */
static long spec_rule_index(const struct spec *s, const char *name)
{
    for (size_t i = 0; i < s->n_rules; i++)
        if (fnmatch(s->rules[i].glob, name, 0) == 0)
            return (long)i;
    return -1;
}

/* The type of t when rule r (or -1: none) is the first match. */
static int spec_type_by_rule(const struct spec *s, const struct llama_tensor_desc *t, long r)
{
    if (r >= 0)
        return s->rules[r].type;
    return t->n_dims == 2 ? s->default_type : PLUMB_TYPE_F32;
}

int spec_tensor_type(const struct spec *s, const struct llama_tensor_desc *t)
{
    return spec_type_by_rule(s, t, spec_rule_index(s, t->name));
}

/* Shape rules in the spec's own words, each blamed on the key to change;
 * llama_layout_check() runs afterwards as the authority. */
static int spec_check_shape(struct spec_ctx *c, struct spec *s)
{
    struct llama_hparams *hp = &s->hp;
    int heads_line = c->line[SPEC_KEY_HEADS];
    if (hp->dim % hp->n_heads != 0)
        return yamlin_fail(&c->y, heads_line, "heads", "%lld does not divide dim %lld",
                           (long long)hp->n_heads, (long long)hp->dim);
    int64_t head_dim = hp->dim / hp->n_heads;
    if (head_dim % 2 != 0)
        return yamlin_fail(&c->y, heads_line, "heads",
                           "head dimension %lld (dim %lld / heads %lld) is odd; RoPE rotates pairs",
                           (long long)head_dim, (long long)hp->dim, (long long)hp->n_heads);
    if (hp->n_heads % hp->n_kv_heads != 0)
        return yamlin_fail(&c->y, c->line[SPEC_KEY_KV_HEADS], "kv_heads",
                           "%lld does not divide heads %lld", (long long)hp->n_kv_heads,
                           (long long)hp->n_heads);
    if (c->line[SPEC_KEY_ROPE_DIMS]) {
        hp->n_rot = (int64_t)c->u[SPEC_KEY_ROPE_DIMS];
        if (hp->n_rot != head_dim)
            return yamlin_fail(&c->y, c->line[SPEC_KEY_ROPE_DIMS], "rope_dims",
                               "%lld is not the head dimension %lld (llama rotates whole heads)",
                               (long long)hp->n_rot, (long long)head_dim);
    } else {
        hp->n_rot = head_dim;
    }
    if (!(hp->rms_eps > 0.0f && hp->rms_eps < 1.0f))
        return yamlin_fail(&c->y, c->line[SPEC_KEY_RMS_EPS], "rms_eps",
                           "%g is out of range, expected 0 < rms_eps < 1", (double)hp->rms_eps);
    if (!(hp->rope_base > 1.0f && hp->rope_base < 1e30f))
        return yamlin_fail(&c->y, c->line[SPEC_KEY_ROPE_BASE], "rope_base",
                           "%g is out of range, expected 1 < rope_base < 1e30",
                           (double)hp->rope_base);
    if (!(s->init_scale > 0.0f && s->init_scale <= SPEC_MAX_INIT_SCALE))
        return yamlin_fail(&c->y, c->line[SPEC_KEY_INIT_SCALE], "init_scale",
                           "%g is out of range, expected 0 < init_scale <= %g",
                           (double)s->init_scale, (double)SPEC_MAX_INIT_SCALE);
    struct plumb_err lerr;
    if (llama_layout_check(hp, &lerr) < 0)
        return yamlin_fail(&c->y, 0, NULL, "%s", lerr.msg);
    return 0;
}

/* Every tensor's type must fit its row (first failure in layout order);
 * every rule must match some tensor; the whole model must stay within
 * SPEC_MAX_WEIGHTS elements. A glob that matches a 1-D norm gives it its type
 * as spec.h says, quantized or not. */
static int spec_check_types(struct spec_ctx *c, struct spec *s)
{
    char shown[YAMLIN_SHOW_SIZE];
    int64_t count = llama_layout_count(&s->hp);
    int64_t weights = 0;
    bool *used = calloc(s->n_rules ? s->n_rules : 1, sizeof *used);
    if (!used)
        return yamlin_fail(&c->y, 0, NULL, "out of memory");
    int rc = 0;
    for (int64_t i = 0; i < count && rc == 0; i++) {
        struct llama_tensor_desc t;
        llama_layout_get(&s->hp, i, &t);
        weights += t.ne[0] * t.ne[1]; /* each <= 2^44, at most ~9000 of them */
        long r = spec_rule_index(s, t.name);
        int type = spec_type_by_rule(s, &t, r);
        int line = r >= 0 ? s->rules[r].line : c->default_line;
        char rule[300];
        if (r >= 0) {
            used[r] = true;
            snprintf(rule, sizeof rule, "'%s' = %s",
                     yamlin_show(shown, s->rules[r].glob, strlen(s->rules[r].glob)),
                     dtype_name(type));
        } else {
            snprintf(rule, sizeof rule, "default = %s", dtype_name(type));
        }
        const struct dtype_traits *tr = dtype_traits(type);
        size_t row;
        if (!dtype_row_size(type, t.ne[0], &row))
            rc = yamlin_fail(&c->y, line, "types",
                             "%s: tensor '%s' row length %lld is not a multiple of %lld", rule,
                             t.name, (long long)t.ne[0], (long long)tr->blck_size);
    }
    for (size_t r = 0; r < s->n_rules && rc == 0; r++)
        if (!used[r])
            rc = yamlin_fail(&c->y, s->rules[r].line, "types", "'%s' matches no tensor",
                             yamlin_show(shown, s->rules[r].glob, strlen(s->rules[r].glob)));
    free(used);
    if (rc == 0 && weights > SPEC_MAX_WEIGHTS)
        rc = yamlin_fail(&c->y, 0, NULL,
                         "the model would hold %lld weights, more than the 2^32 allowed",
                         (long long)weights);
    return rc;
}

/* Defaults, required keys, then the checks above. */
static int spec_finish(struct spec_ctx *c, struct spec *s)
{
    for (int k = 0; k < SPEC_KEY_COUNT; k++)
        if (spec_keys[k].required && !c->line[k])
            return yamlin_fail(&c->y, 0, NULL, "missing required key '%s'", spec_keys[k].name);
    struct llama_hparams *hp = &s->hp;
    s->seed = c->u[SPEC_KEY_SEED];
    hp->n_vocab = (int64_t)c->u[SPEC_KEY_VOCAB];
    hp->dim = (int64_t)c->u[SPEC_KEY_DIM];
    hp->n_layers = (int64_t)c->u[SPEC_KEY_LAYERS];
    hp->n_heads = (int64_t)c->u[SPEC_KEY_HEADS];
    hp->n_kv_heads = c->line[SPEC_KEY_KV_HEADS] ? (int64_t)c->u[SPEC_KEY_KV_HEADS] : hp->n_heads;
    hp->ffn_dim = (int64_t)c->u[SPEC_KEY_FFN_DIM];
    hp->n_ctx = (int64_t)c->u[SPEC_KEY_CONTEXT];
    hp->rope_base = c->line[SPEC_KEY_ROPE_BASE] ? c->f[SPEC_KEY_ROPE_BASE] : 10000.0f;
    hp->rms_eps = c->line[SPEC_KEY_RMS_EPS] ? c->f[SPEC_KEY_RMS_EPS] : 1e-5f;
    hp->tied_output = c->line[SPEC_KEY_TIED_OUTPUT] ? c->b[SPEC_KEY_TIED_OUTPUT] : false;
    s->init_scale = c->line[SPEC_KEY_INIT_SCALE] ? c->f[SPEC_KEY_INIT_SCALE] : 1.0f;
    if (spec_check_shape(c, s) < 0)
        return -1;
    return spec_check_types(c, s);
}

int spec_parse(struct spec *s, const char *text, size_t len, const char *name,
               struct plumb_err *err)
{
    memset(s, 0, sizeof *s);
    s->default_type = PLUMB_TYPE_F32;
    struct spec_ctx c;
    memset(&c, 0, sizeof c);
    if (yamlin_open(&c.y, text, len, name ? name : "spec", "spec", SPEC_MAX_BYTES, err) < 0)
        return -1;
    int rc = spec_read_top(&c, s);
    /* The events are done with; c.y still reports for the checks below. */
    yamlin_close(&c.y);
    if (rc == 0)
        rc = spec_finish(&c, s);
    if (rc == 0) {
        s->path = strdup(c.y.path);
        if (!s->path)
            rc = yamlin_fail(&c.y, 0, NULL, "out of memory");
    }
    if (rc < 0) {
        spec_free(s);
        return -1;
    }
    sha256(text ? text : "", len, s->sha256);
    return 0;
}

int spec_load(struct spec *s, const char *path, struct plumb_err *err)
{
    memset(s, 0, sizeof *s);
    char *buf = NULL;
    size_t n = 0;
    if (yamlin_load_file(path, SPEC_MAX_BYTES, &buf, &n, err) < 0)
        return -1;
    int rc = spec_parse(s, buf, n, path, err);
    free(buf);
    return rc;
}

void spec_free(struct spec *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_rules; i++)
        free(s->rules[i].glob);
    free(s->rules);
    free(s->name);
    free(s->path);
    memset(s, 0, sizeof *s);
}
