/*
 * policy.c: reading a tolerance policy (YAML) into a validated struct
 * policy. See policy.h for the format and the merge rules.
 *
 * yamlin.h's strict event reader walks the whole shape of a policy: a
 * top-level mapping with `defaults` (a mapping of metric: bound) and `taps`
 * (a mapping of glob: mapping of metric: bound). Any other node is refused
 * at the event that introduces it; anchors, aliases and tags are refused by
 * yamlin, so nothing is ever expanded (billion laughs fails at its first
 * anchor) and the work is bounded by the input, capped at POLICY_MAX_BYTES.
 *
 * What this is not: a general YAML loader. Numbers follow yamlin's decimal
 * grammar, so `.inf`, `.nan`, `0x10`, `1_000` and `010` are errors, not
 * values; the range checks of each metric are this file's.
 *
 * Invariant: after policy_parse() returns 0 every bound is finite and in its
 * range, every rule holds the defaults merged with its own keys, and at
 * least one check is set somewhere; after it returns -1 the struct is zeroed.
 */
#include "policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlin.h"

#define POLICY_MAX_BYTES (UINT32_C(1) << 20) /* largest policy file accepted */
#define POLICY_MAX_RULES 1024                /* entries under `taps` */
#define POLICY_MAX_GLOB 256                  /* bytes in a glob */
#define POLICY_MAX_ULP_BOUND (UINT64_C(1) << 32) /* > any two floats' distance */
#define POLICY_MAX_TOP_K (UINT64_C(1) << 24)     /* = the largest vocabulary a spec allows */
#define POLICY_DEFAULT_TOP_K 10

/* How a key's value is read and checked. */
enum policy_kind {
    POLICY_BOUND, /* finite decimal >= 0 */
    POLICY_SHARE, /* finite decimal in [0, 1] */
    POLICY_ULPS,  /* integer in [0, POLICY_MAX_ULP_BOUND] */
    POLICY_K      /* integer in [1, POLICY_MAX_TOP_K] */
};

enum policy_key {
    POLICY_KEY_ATOL,
    POLICY_KEY_RTOL,
    POLICY_KEY_MAX_ULP,
    POLICY_KEY_MAX_ABS,
    POLICY_KEY_MAX_REL,
    POLICY_KEY_MIN_COSINE,
    POLICY_KEY_MAX_NMSE,
    POLICY_KEY_MAX_RMSE,
    POLICY_KEY_MAX_KLD,
    POLICY_KEY_MAX_KLD_MAX,
    POLICY_KEY_MIN_TOP1,
    POLICY_KEY_TOP_K,
    POLICY_KEY_MIN_TOPK,
    POLICY_KEY_COUNT
};

/* Every key of a checks mapping, as spelled in YAML. */
static const char *const policy_key_names[POLICY_KEY_COUNT] = {
    [POLICY_KEY_ATOL] = "atol",         [POLICY_KEY_RTOL] = "rtol",
    [POLICY_KEY_MAX_ULP] = "max_ulp",   [POLICY_KEY_MAX_ABS] = "max_abs",
    [POLICY_KEY_MAX_REL] = "max_rel",   [POLICY_KEY_MIN_COSINE] = "min_cosine",
    [POLICY_KEY_MAX_NMSE] = "max_nmse", [POLICY_KEY_MAX_RMSE] = "max_rmse",
    [POLICY_KEY_MAX_KLD] = "max_kld",   [POLICY_KEY_MAX_KLD_MAX] = "max_kld_max",
    [POLICY_KEY_MIN_TOP1] = "min_top1", [POLICY_KEY_TOP_K] = "top_k",
    [POLICY_KEY_MIN_TOPK] = "min_topk",
};

/* Each key's value kind and the metric it bounds; atol, rtol and top_k are
 * parameters rather than metrics of their own (-1). */
static const struct policy_key_info {
    enum policy_kind kind;
    int metric;
} policy_keys[POLICY_KEY_COUNT] = {
    [POLICY_KEY_ATOL] = {POLICY_BOUND, -1},
    [POLICY_KEY_RTOL] = {POLICY_BOUND, -1},
    [POLICY_KEY_MAX_ULP] = {POLICY_ULPS, POLICY_MAX_ULP},
    [POLICY_KEY_MAX_ABS] = {POLICY_BOUND, POLICY_MAX_ABS},
    [POLICY_KEY_MAX_REL] = {POLICY_BOUND, POLICY_MAX_REL},
    [POLICY_KEY_MIN_COSINE] = {POLICY_SHARE, POLICY_MIN_COSINE},
    [POLICY_KEY_MAX_NMSE] = {POLICY_BOUND, POLICY_MAX_NMSE},
    [POLICY_KEY_MAX_RMSE] = {POLICY_BOUND, POLICY_MAX_RMSE},
    [POLICY_KEY_MAX_KLD] = {POLICY_BOUND, POLICY_MAX_KLD},
    [POLICY_KEY_MAX_KLD_MAX] = {POLICY_BOUND, POLICY_MAX_KLD_MAX},
    [POLICY_KEY_MIN_TOP1] = {POLICY_SHARE, POLICY_MIN_TOP1},
    [POLICY_KEY_TOP_K] = {POLICY_K, -1},
    [POLICY_KEY_MIN_TOPK] = {POLICY_SHARE, POLICY_MIN_TOPK},
};

static const char *const policy_metric_names[POLICY_METRIC_COUNT] = {
    [POLICY_ELEMENTWISE] = "atol/rtol",
    [POLICY_MAX_ULP] = "max_ulp",
    [POLICY_MAX_ABS] = "max_abs",
    [POLICY_MAX_REL] = "max_rel",
    [POLICY_MIN_COSINE] = "min_cosine",
    [POLICY_MAX_NMSE] = "max_nmse",
    [POLICY_MAX_RMSE] = "max_rmse",
    [POLICY_MAX_KLD] = "max_kld",
    [POLICY_MAX_KLD_MAX] = "max_kld_max",
    [POLICY_MIN_TOP1] = "min_top1",
    [POLICY_MIN_TOPK] = "min_topk",
};

const char *policy_metric_name(enum policy_metric m)
{
    if ((int)m < 0 || m >= POLICY_METRIC_COUNT)
        return "?";
    return policy_metric_names[m];
}

/* One checks mapping as written, before merging: the values it sets and the
 * 1-based line of each key it names (0 = absent). */
struct policy_map {
    struct policy_checks checks;
    int line[POLICY_KEY_COUNT];
};

/* The state of one parse. */
struct policy_ctx {
    struct yamlin y;
    int defaults_line, taps_line;   /* of the top-level keys, 0 = absent */
    struct policy_map defaults;
    struct policy_map *maps;        /* [n_rules]: each rule as written */
    size_t cap_rules;
};

/* The value of key k into m (the current event is the value). */
static int policy_read_value(struct policy_ctx *c, const char *keypath, enum policy_key k,
                             struct policy_map *m)
{
    char shown[YAMLIN_SHOW_SIZE];
    struct yamlin *y = &c->y;
    const struct policy_key_info *ki = &policy_keys[k];
    struct policy_checks *ch = &m->checks;
    uint64_t u = 0;
    double x = 0.0;
    switch (ki->kind) {
    case POLICY_ULPS:
        if (yamlin_read_uint(y, keypath, 0, POLICY_MAX_ULP_BOUND, &u) < 0)
            return -1;
        x = (double)u; /* exact: u <= 2^32 */
        break;
    case POLICY_K:
        if (yamlin_read_uint(y, keypath, 1, POLICY_MAX_TOP_K, &u) < 0)
            return -1;
        ch->top_k = (int64_t)u;
        return 0;
    case POLICY_BOUND:
    case POLICY_SHARE:
        if (yamlin_read_double(y, keypath, &x) < 0)
            return -1;
        yamlin_show(shown, (const char *)y->ev.data.scalar.value, y->ev.data.scalar.length);
        if (x < 0.0)
            return yamlin_fail(y, yamlin_line(y), keypath, "%s is negative, expected a bound >= 0",
                               shown);
        if (ki->kind == POLICY_SHARE && x > 1.0)
            return yamlin_fail(y, yamlin_line(y), keypath, "%s is out of range, expected 0 to 1",
                               shown);
        break;
    }
    if (k == POLICY_KEY_ATOL || k == POLICY_KEY_RTOL) {
        *(k == POLICY_KEY_ATOL ? &ch->atol : &ch->rtol) = x;
        ch->set[POLICY_ELEMENTWISE] = true;
        return 0;
    }
    ch->set[ki->metric] = true;
    ch->bound[ki->metric] = x;
    return 0;
}

/* A mapping of metric: bound into m; `prefix` ("defaults", "taps: 'Q*'")
 * starts every message. The current event is the mapping's start. */
static int policy_read_checks(struct policy_ctx *c, const char *prefix, struct policy_map *m)
{
    char shown[YAMLIN_SHOW_SIZE], keypath[POLICY_MAX_GLOB + 128];
    struct yamlin *y = &c->y;
    if (yamlin_expect_mapping_start(y, prefix, "a mapping of metric: bound") < 0)
        return -1;
    for (;;) {
        if (yamlin_next(y) < 0)
            return -1;
        if (y->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (yamlin_expect_key(y, prefix) < 0)
            return -1;
        int k = yamlin_key_index(y, policy_key_names, POLICY_KEY_COUNT);
        if (k < 0)
            return yamlin_fail(y, yamlin_line(y), prefix,
                               "unknown key '%s' (expected atol, rtol, max_ulp, max_abs, "
                               "max_rel, min_cosine, max_nmse, max_rmse, max_kld, max_kld_max, "
                               "min_top1, top_k or min_topk)",
                               yamlin_show(shown, (const char *)y->ev.data.scalar.value,
                                           y->ev.data.scalar.length));
        snprintf(keypath, sizeof keypath, "%s: %s", prefix, policy_key_names[k]);
        if (yamlin_once(y, keypath, &m->line[k]) < 0 || yamlin_next(y) < 0 ||
            policy_read_value(c, keypath, (enum policy_key)k, m) < 0)
            return -1;
    }
}

/* Room for one more rule (and its map). */
static int policy_grow(struct policy_ctx *c, struct policy *p)
{
    if (p->n_rules < c->cap_rules)
        return 0;
    size_t cap = c->cap_rules ? 2 * c->cap_rules : 8;
    struct policy_rule *r = realloc(p->rules, cap * sizeof *r);
    if (r)
        p->rules = r;
    struct policy_map *m = r ? realloc(c->maps, cap * sizeof *m) : NULL;
    if (!m)
        return yamlin_fail(&c->y, yamlin_line(&c->y), "taps", "out of memory");
    c->maps = m;
    c->cap_rules = cap;
    return 0;
}

/* The `taps` mapping: glob -> checks, in file order. */
static int policy_read_taps(struct policy_ctx *c, struct policy *p)
{
    char shown[YAMLIN_SHOW_SIZE], prefix[POLICY_MAX_GLOB + 64];
    struct yamlin *y = &c->y;
    if (yamlin_expect_mapping_start(y, "taps", "a mapping of glob: checks") < 0)
        return -1;
    for (;;) {
        if (yamlin_next(y) < 0)
            return -1;
        if (y->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        int line = yamlin_line(y);
        char *glob = NULL;
        if (yamlin_expect_key(y, "taps") < 0 ||
            yamlin_read_text(y, "taps", "a tap name or glob", POLICY_MAX_GLOB, &glob) < 0)
            return -1;
        snprintf(prefix, sizeof prefix, "taps: '%s'", yamlin_show(shown, glob, strlen(glob)));
        int first = 0;
        for (size_t i = 0; i < p->n_rules && !first; i++)
            if (strcmp(p->rules[i].glob, glob) == 0)
                first = p->rules[i].line;
        int rc = 0;
        if (first)
            rc = yamlin_fail(y, line, prefix, "duplicate key (first at line %d)", first);
        else if (p->n_rules == POLICY_MAX_RULES)
            rc = yamlin_fail(y, line, "taps", "more than %d rules", POLICY_MAX_RULES);
        else
            rc = policy_grow(c, p);
        if (rc < 0) {
            free(glob);
            return -1;
        }
        p->rules[p->n_rules] = (struct policy_rule){.glob = glob, .line = line};
        struct policy_map *m = &c->maps[p->n_rules++];
        memset(m, 0, sizeof *m);
        if (yamlin_next(y) < 0 || policy_read_checks(c, prefix, m) < 0)
            return -1;
    }
}

/* The document: one top-level mapping with `defaults` and/or `taps`. */
static int policy_read_top(struct policy_ctx *c, struct policy *p)
{
    static const char *const names[] = {"defaults", "taps"};
    char shown[YAMLIN_SHOW_SIZE];
    struct yamlin *y = &c->y;
    if (yamlin_document_start(y) < 0)
        return -1;
    for (;;) {
        if (yamlin_next(y) < 0)
            return -1;
        if (y->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (yamlin_expect_key(y, NULL) < 0)
            return -1;
        int k = yamlin_key_index(y, names, 2);
        if (k < 0)
            return yamlin_fail(y, yamlin_line(y), NULL,
                               "unknown key '%s' (expected defaults or taps)",
                               yamlin_show(shown, (const char *)y->ev.data.scalar.value,
                                           y->ev.data.scalar.length));
        if (yamlin_once(y, names[k], k == 0 ? &c->defaults_line : &c->taps_line) < 0 ||
            yamlin_next(y) < 0)
            return -1;
        int rc = k == 0 ? policy_read_checks(c, "defaults", &c->defaults)
                        : policy_read_taps(c, p);
        if (rc < 0)
            return -1;
    }
    return yamlin_document_end(y);
}

/*
 * The defaults with rule r's own keys laid over them. Each metric is
 * replaced or inherited on its own; atol and rtol are one check, so a rule
 * naming either replaces both (the one it leaves out is 0); top_k is
 * replaced only when the rule names it.
 */
static struct policy_checks policy_merge(const struct policy_map *defaults,
                                         const struct policy_map *r)
{
    struct policy_checks out = defaults->checks;
    for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
        if (m != POLICY_ELEMENTWISE && r->checks.set[m]) {
            out.set[m] = true;
            out.bound[m] = r->checks.bound[m];
        }
    }
    if (r->checks.set[POLICY_ELEMENTWISE]) {
        out.set[POLICY_ELEMENTWISE] = true;
        out.atol = r->checks.atol;
        out.rtol = r->checks.rtol;
    }
    if (r->line[POLICY_KEY_TOP_K])
        out.top_k = r->checks.top_k;
    return out;
}

static bool policy_sets_any(const struct policy_checks *ch)
{
    for (int m = 0; m < POLICY_METRIC_COUNT; m++)
        if (ch->set[m])
            return true;
    return false;
}

/* Merge every rule; refuse a top_k that no min_topk uses and a policy that
 * checks nothing at all (it would pass anything finite). */
static int policy_finish(struct policy_ctx *c, struct policy *p)
{
    const struct policy_map *d = &c->defaults;
    p->defaults = d->checks;
    bool any = policy_sets_any(&p->defaults);
    bool any_topk = p->defaults.set[POLICY_MIN_TOPK];
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct policy_map *r = &c->maps[i];
        p->rules[i].checks = policy_merge(d, r);
        any = any || policy_sets_any(&r->checks);
        any_topk = any_topk || r->checks.set[POLICY_MIN_TOPK];
        if (r->line[POLICY_KEY_TOP_K] && !p->rules[i].checks.set[POLICY_MIN_TOPK]) {
            char shown[YAMLIN_SHOW_SIZE], key[POLICY_MAX_GLOB + 64];
            const char *g = p->rules[i].glob;
            snprintf(key, sizeof key, "taps: '%s': top_k", yamlin_show(shown, g, strlen(g)));
            return yamlin_fail(&c->y, r->line[POLICY_KEY_TOP_K], key,
                               "has no effect without min_topk");
        }
    }
    if (d->line[POLICY_KEY_TOP_K] && !any_topk)
        return yamlin_fail(&c->y, d->line[POLICY_KEY_TOP_K], "defaults: top_k",
                           "has no effect without min_topk");
    if (!any)
        return yamlin_fail(&c->y, 0, NULL, "the policy sets no checks; give at least one bound "
                           "under defaults or taps");
    return 0;
}

/* "dir/simd.yaml" -> "simd" */
static char *policy_name_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".yaml") == 0)
        len -= 5;
    else if (len > 4 && strcmp(base + len - 4, ".yml") == 0)
        len -= 4;
    return strndup(base, len);
}

int policy_parse(struct policy *p, const char *text, size_t len, const char *name,
                 struct plumb_err *err)
{
    memset(p, 0, sizeof *p);
    struct policy_ctx c;
    memset(&c, 0, sizeof c);
    c.defaults.checks.top_k = POLICY_DEFAULT_TOP_K;
    const char *path = name ? name : "policy";
    int rc = yamlin_open(&c.y, text, text ? len : 0, path, "policy", POLICY_MAX_BYTES, err);
    if (rc == 0)
        rc = policy_read_top(&c, p);
    yamlin_close(&c.y); /* messages from here on still go through c.y */
    if (rc == 0)
        rc = policy_finish(&c, p);
    if (rc == 0) {
        p->path = strdup(path);
        p->name = policy_name_of(path);
        if (!p->path || !p->name)
            rc = yamlin_fail(&c.y, 0, NULL, "out of memory");
    }
    free(c.maps);
    if (rc < 0) {
        policy_free(p);
        return -1;
    }
    return 0;
}

int policy_load(struct policy *p, const char *path, struct plumb_err *err)
{
    memset(p, 0, sizeof *p);
    char *buf = NULL;
    size_t len = 0;
    if (yamlin_load_file(path, POLICY_MAX_BYTES, &buf, &len, err) < 0)
        return -1;
    int rc = policy_parse(p, buf, len, path, err);
    free(buf);
    return rc;
}

void policy_free(struct policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_rules; i++)
        free(p->rules[i].glob);
    free(p->rules);
    free(p->path);
    free(p->name);
    memset(p, 0, sizeof *p);
}

const struct policy_checks *policy_for_tap(const struct policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_rules; i++)
        if (fnmatch(p->rules[i].glob, name, 0) == 0)
            return &p->rules[i].checks;
    return &p->defaults;
}
