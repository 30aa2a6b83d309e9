/*
 * check.c: running a suite case by case. See check.h.
 */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buildinfo.h"
#include "dump.h"
#include "forward.h"
#include "gen.h"
#include "model.h"
#include "policy.h"
#include "sha256.h"
#include "spec.h"
#include "tokenizer.h"
#include "version.h"

static double check_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

__attribute__((format(printf, 2, 3)))
static void check_note(const struct check_options *o, const char *fmt, ...)
{
    if (!o->note)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->note(o->note_ctx, line);
}

/* mkdir -p for the cache folder. */
static int check_mkdirs(const char *dir, struct plumb_err *err)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return err_set(err, "%s: bad folder name", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return err_set(err, "%s: cannot create folder: %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return err_set(err, "%s: not a folder", buf);
        buf[i] = c;
    }
    return 0;
}

static void check_hex(const void *data, size_t len, char hex[65])
{
    uint8_t d[32];
    sha256(data, len, d);
    sha256_hex(d, hex);
}

/* The fixture for a spec: from the cache, or generated into it. */
static int check_fixture(const struct check_options *o, const char *spec_path, char *out,
                         size_t out_len, struct plumb_err *err)
{
    struct spec s = {0};
    if (spec_load(&s, spec_path, err) != 0)
        return -1;
    char hex[65];
    sha256_hex(s.sha256, hex);
    snprintf(out, out_len, "%s/%.16s-%s.gguf", o->cache_dir, hex, PLUMB_VERSION);
    struct stat st;
    int rc = 0;
    if (stat(out, &st) != 0) {
        rc = check_mkdirs(o->cache_dir, err);
        if (rc == 0)
            rc = gen_write_file(&s, out, 2, err);
    }
    spec_free(&s);
    return rc;
}

/* A golden's provenance must name this fixture and these tokens. */
static int check_golden_matches(const struct dump *golden, const char *golden_path,
                                const char *model_sha, const int32_t *tokens, int64_t n_tokens,
                                struct plumb_err *err)
{
    const struct gguf_value *v = gguf_get(&golden->gguf, "plumb.model.sha256");
    const char *s = NULL;
    size_t len = 0;
    if (!v || gguf_value_str(v, "plumb.model.sha256", &s, &len, NULL) != 0)
        return err_set(err, "%s: no plumb.model.sha256: not a plumb golden", golden_path);
    if (len != 64 || memcmp(s, model_sha, 64) != 0)
        return err_set(err, "%s: recorded from a different fixture (model sha256 %.12s..., this "
                            "fixture is %.12s...); re-record with --update-golden if intended",
                       golden_path, len >= 12 ? s : "?", model_sha);
    const struct gguf_value *t = gguf_get(&golden->gguf, "plumb.tokens");
    if (!t || t->type != GGUF_VTYPE_ARRAY || t->elem_type != GGUF_VTYPE_I32 ||
        t->len != (uint64_t)n_tokens || memcmp(t->data, tokens, (size_t)n_tokens * 4) != 0)
        return err_set(err, "%s: recorded for a different token sequence than the suite's", golden_path);
    return 0;
}

/* One line per tap that differs between the old golden and the new run. */
static void check_note_changes(const struct check_options *o, const char *golden_path,
                               const struct compare_result *diff)
{
    int64_t changed = 0;
    for (int64_t i = 0; i < diff->n_taps; i++) {
        const struct compare_tap *t = &diff->taps[i];
        if (t->missing_in_ref || t->missing_in_cand || t->shape_mismatch) {
            check_note(o, "  %s: %s", t->name,
                       t->missing_in_ref ? "new tap" : t->missing_in_cand ? "tap removed" : "shape changed");
            changed++;
        } else if (t->max_ulp > 0) {
            check_note(o, "  %s: max abs %.3g, max ulp %llu", t->name, t->max_abs,
                       (unsigned long long)t->max_ulp);
            changed++;
        }
    }
    if (changed == 0)
        check_note(o, "%s: unchanged", golden_path);
}

/*
 * The policy a case is compared under: --tolerances when given; otherwise
 * the one the kernel set's accuracy class names (kernels.h), taken from the
 * folder of the case's own policy: exact -> the case's policy itself,
 * simd -> simd.yaml, quantized -> quantized.yaml (for the shipped suite,
 * fixtures/policies/). Returns the path (the case's, or written into buf),
 * or NULL with err set when it does not fit in buf.
 */
static const char *check_policy_for_class(const struct check_options *o, const char *case_policy,
                                          char *buf, size_t len, struct plumb_err *err)
{
    if (o->policy_override)
        return o->policy_override;
    enum plumb_accuracy acc = o->kernels ? o->kernels->accuracy : PLUMB_ACCURACY_EXACT;
    const char *file = acc == PLUMB_ACCURACY_SIMD        ? "simd.yaml"
                       : acc == PLUMB_ACCURACY_QUANTIZED ? "quantized.yaml"
                                                         : NULL;
    if (!file)
        return case_policy;
    const char *slash = strrchr(case_policy, '/');
    int dir_len = slash ? (int)(slash - case_policy + 1) : 0;
    int w = snprintf(buf, len, "%.*s%s", dir_len, case_policy, file);
    if (w < 0 || (size_t)w >= len) {
        err_set(err, "%s: path too long for the %s policy beside it", case_policy, file);
        return NULL;
    }
    return buf;
}

/* Run one case into rc (errors go into rc->error). Returns 0 or -1. */
static int check_case(const struct check_options *o, const struct suite *suite,
                      const struct suite_case *c, struct report_case *rc, struct plumb_err *err)
{
    char fixture[4096], golden[4096], class_policy[4096];
    struct model m;
    struct forward f;
    struct tokenizer tok;
    struct policy pol;
    struct dump got, want;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    int ret = -1;
    memset(&m, 0, sizeof m);
    memset(&f, 0, sizeof f);
    memset(&tok, 0, sizeof tok);
    memset(&pol, 0, sizeof pol);
    dump_init(&got);
    dump_init(&want);

    snprintf(golden, sizeof golden, "%s/%s.gguf.gz", suite->golden_dir, c->name);
    rc->golden = strdup(golden);
    const char *policy_path = check_policy_for_class(o, c->policy, class_policy,
                                                     sizeof class_policy, err);
    if (!policy_path || policy_load(&pol, policy_path, err) != 0)
        goto done;
    rc->policy = strdup(pol.name);
    if (check_fixture(o, c->fixture, fixture, sizeof fixture, err) != 0)
        goto done;
    if (model_open(&m, fixture, err) != 0)
        goto done;
    if (c->prompt) {
        if (tokenizer_init(&tok, &m.gguf, err) != 0 ||
            tokenizer_encode(&tok, c->prompt, strlen(c->prompt), true, &ids, &n_ids, err) != 0)
            goto done;
    } else {
        /* Name the suite line, not the generated fixture: the ids are the
         * suite's, and the cached fixture is a file the user never wrote. */
        for (int64_t j = 0; j < c->n_tokens; j++)
            if (c->tokens[j] >= m.hp.n_vocab) {
                err_set(err, "%s:%d: %s: tokens[%lld]: token id %d is out of range 0..%lld (the vocabulary of %s)",
                        suite->path, c->line, c->name, (long long)j, (int)c->tokens[j],
                        (long long)m.hp.n_vocab - 1, c->fixture);
                goto done;
            }
        n_ids = (size_t)c->n_tokens;
        ids = malloc(n_ids * sizeof *ids);
        if (!ids) {
            err_set(err, "%s: out of memory", c->name);
            goto done;
        }
        memcpy(ids, c->tokens, n_ids * sizeof *ids);
    }
    rc->n_tokens = (int64_t)n_ids;
    if (forward_init(&f, &m, o->kernels, o->threads, 0, err) != 0)
        goto done;
    forward_set_tap(&f, dump_capture_tap, &got);
    if (o->perturb_tap)
        forward_set_perturb(&f, o->perturb_tap, o->perturb_factor);
    if (forward_eval(&f, ids, (int64_t)n_ids, err) != 0)
        goto done;

    char model_sha[65];
    check_hex(m.gguf.base, m.gguf.size, model_sha);
    const char *base = strrchr(c->fixture, '/');
    struct dump_provenance prov = {.model_file = base ? base + 1 : c->fixture,
                                   .model_sha256 = model_sha,
                                   .tokens = ids,
                                   .n_tokens = (int64_t)n_ids,
                                   .kernels = f.k.name,
                                   .threads = o->threads};

    struct stat st;
    bool have_golden = stat(golden, &st) == 0;
    if (!have_golden) {
        if (!o->record) {
            err_set(err, "%s: golden missing (run 'plumb check --record' to write it)", golden);
            goto done;
        }
        if (o->ci) {
            err_set(err, "%s: golden missing, and goldens are never recorded in CI", golden);
            goto done;
        }
        if (dump_write(&got, &prov, golden, err) != 0)
            goto done;
        check_note(o, "%s: recorded (%lld taps, %zu positions)", golden, (long long)got.n_taps, n_ids);
    }
    if (dump_read(&want, golden, err) != 0)
        goto done;
    if (!o->update &&
        check_golden_matches(&want, golden, model_sha, ids, (int64_t)n_ids, err) != 0)
        goto done;
    if (compare_dumps(&want, &got, &pol, &rc->result, err) != 0)
        goto done;
    if (o->update && have_golden) {
        if (o->ci) {
            err_set(err, "%s: goldens are never replaced in CI", golden);
            goto done;
        }
        check_note(o, "%s: updating; what changed:", golden);
        check_note_changes(o, golden, &rc->result);
        if (dump_write(&got, &prov, golden, err) != 0)
            goto done;
    }
    ret = 0;
done:
    forward_free(&f);
    tokenizer_free(&tok);
    model_close(&m);
    policy_free(&pol);
    dump_free(&got);
    dump_free(&want);
    free(ids);
    return ret;
}

int check_run(const struct check_options *o, struct suite *suite, struct report *r,
              struct plumb_err *err)
{
    memset(r, 0, sizeof *r);
    if (o->shard_count < 1 || o->shard_index < 1 || o->shard_index > o->shard_count)
        return err_set(err, "--shard %d/%d: expected I/N with 1 <= I <= N", o->shard_index,
                       o->shard_count);
    r->suite = suite->path;
    r->kernels = o->kernels ? o->kernels->name : "scalar";
    r->plumb_version = PLUMB_VERSION;
    r->compiler = buildinfo_compiler();
    r->arch = buildinfo_arch();
    r->cases = calloc(suite->n_cases ? suite->n_cases : 1, sizeof *r->cases);
    if (!r->cases)
        return err_set(err, "%s: out of memory", suite->path);
    for (size_t i = 0; i < suite->n_cases; i++) {
        if ((int)(i % (size_t)o->shard_count) != o->shard_index - 1)
            continue;
        const struct suite_case *c = &suite->cases[i];
        struct report_case *rc = &r->cases[r->n_cases++];
        rc->name = c->name;
        rc->fixture = c->fixture;
        double t0 = check_now();
        struct plumb_err case_err = {{0}};
        if (check_case(o, suite, c, rc, &case_err) != 0) {
            rc->errored = true;
            snprintf(rc->error, sizeof rc->error, "%s", case_err.msg);
        }
        rc->seconds = check_now() - t0;
    }
    return 0;
}

void check_report_free(struct report *r)
{
    for (int64_t i = 0; i < r->n_cases; i++) {
        compare_result_free(&r->cases[i].result);
        free((char *)r->cases[i].policy);
        free((char *)r->cases[i].golden);
    }
    free(r->cases);
    memset(r, 0, sizeof *r);
}
